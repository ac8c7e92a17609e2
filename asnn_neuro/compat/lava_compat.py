"""Make lava-nc 0.10.0 importable on Python 3.11+.

lava-nc 0.10.0 declares ``Requires-Python <3.11``. The only breakage seen on the
train -> export -> NetX -> Lava CPU path is in ``lava/magma/compiler/var_model.py``:
three dataclasses use an instance of ``ByteEncoder`` as a field default, which
Python 3.11 rejects (``ValueError: mutable default ... use default_factory``).
This module rewrites those defaults to ``field(default_factory=ByteEncoder)``.

The fix is idempotent, refuses any lava-nc version other than the one it was
written for, and must run *before* anything imports ``lava.magma``; it therefore
never imports lava itself. Run it with ``python -m asnn_neuro.compat.lava_compat``.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

KNOWN_VERSION = "0.10.0"
RELATIVE_FILE = "lava/magma/compiler/var_model.py"
BROKEN = "ByteEncoder = ByteEncoder()"
FIXED = "ByteEncoder = field(default_factory=ByteEncoder)"
IMPORT_BROKEN = "from dataclasses import dataclass, InitVar\n"
IMPORT_FIXED = "from dataclasses import dataclass, InitVar, field\n"


class CompatError(RuntimeError):
    """The installed lava-nc is not the version this fix knows."""


def needs_fix() -> bool:
    """True on Python versions that reject unhashable dataclass defaults."""
    return sys.version_info >= (3, 11)


def var_model_path() -> Path:
    """Locate lava-nc's var_model.py without importing lava."""
    try:
        version = metadata.version("lava-nc")
    except metadata.PackageNotFoundError as exc:
        raise CompatError("lava-nc is not installed; run the set-up (make setup)") from exc
    if version != KNOWN_VERSION:
        raise CompatError(
            f"lava-nc {version} is installed, but the Python 3.11 fix knows only "
            f"lava-nc {KNOWN_VERSION}; install lava-nc=={KNOWN_VERSION}"
        )
    path = Path(str(metadata.distribution("lava-nc").locate_file(RELATIVE_FILE)))
    if not path.is_file():
        raise CompatError(f"lava-nc {version} is installed but {path} is missing")
    return path


def patch_source(text: str) -> str:
    """Return var_model.py's text with the mutable defaults fixed (idempotent)."""
    if BROKEN not in text:
        if FIXED in text:
            return text
        raise CompatError("var_model.py has neither the known defect nor the fix")
    if IMPORT_BROKEN not in text:
        raise CompatError("var_model.py does not import dataclasses as expected")
    text = text.replace(IMPORT_BROKEN, IMPORT_FIXED, 1)
    return text.replace(BROKEN, FIXED)


def is_patched() -> bool:
    """True when the installed lava-nc imports on this Python."""
    if not needs_fix():
        return True
    return BROKEN not in var_model_path().read_text()


def apply() -> bool:
    """Fix the installed lava-nc in place. Returns True if a file was changed."""
    if not needs_fix():
        return False
    path = var_model_path()
    text = path.read_text()
    fixed = patch_source(text)
    if fixed == text:
        return False
    tmp = path.with_suffix(".py.asnn-tmp")
    tmp.write_text(fixed)
    tmp.replace(path)
    for cached in path.parent.glob("__pycache__/var_model.*.pyc"):
        cached.unlink()
    return True


def main() -> int:
    try:
        changed = apply()
    except CompatError as exc:
        print(f"asnn lava-compat: {exc}", file=sys.stderr)
        return 3
    if not needs_fix():
        print("asnn lava-compat: Python < 3.11, nothing to fix")
    else:
        print("asnn lava-compat: " + ("patched var_model.py" if changed else "already patched"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
