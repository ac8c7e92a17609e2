"""Names the user gives to models and runs: each becomes one folder."""

from __future__ import annotations

from asnn_neuro.errors import InputError

MAX_NAME_BYTES = 200  # a folder name may hold 255 bytes; temporary siblings add a prefix and a suffix


def check_name(name: str | None, option: str = "--name") -> str | None:
    """``name`` unchanged if it is a plain folder name (or None); InputError otherwise."""
    if name is not None and (not name or "/" in name or name.startswith(".") or "\0" in name):
        raise InputError(f"{option} '{name}' must be a plain folder name")
    if name is not None and len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise InputError(f"{option} '{name[:40]}...': {len(name)} characters; a name may hold at most "
                         f"{MAX_NAME_BYTES} bytes")
    return name
