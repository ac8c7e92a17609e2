"""Names the user gives to models and runs: each becomes one folder."""

from __future__ import annotations

from asnn_neuro.errors import InputError


def check_name(name: str | None, option: str = "--name") -> str | None:
    """``name`` unchanged if it is a plain folder name (or None); InputError otherwise."""
    if name is not None and (not name or "/" in name or name.startswith(".")):
        raise InputError(f"{option} '{name}' must be a plain folder name")
    return name
