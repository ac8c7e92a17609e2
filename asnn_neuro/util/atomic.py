"""Atomic file writes: write to a temporary sibling, then rename.

A reader (or a crash, or Ctrl-C) never sees a half-written artifact: the
target either keeps its old content or gets the complete new one. What is written gets the
permissions the umask gives (typically 0644 files, 0755 folders), as other tools' output does,
not the 0600/0700 of a temporary file. A full disk, a read-only file system or a refused
permission while writing is bad input (InputError naming the target), not an internal failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

WRITE_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                errno.EPERM: "operation not permitted"}


def umask() -> int:
    """The process's umask (read from /proc on Linux, so no other thread sees it change)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


@contextlib.contextmanager
def write_errors_as_input(target: str | Path) -> Iterator[None]:
    """Within the block, an OSError of WRITE_ERRORS becomes InputError('TARGET: cannot write: why')."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        from asnn_neuro.errors import InputError

        raise InputError(f"{target}: cannot write: {WRITE_ERRORS[exc.errno]}") from exc


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in target's folder; rename it onto target on success."""
    target = Path(target)
    with write_errors_as_input(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent)
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        with write_errors_as_input(target):
            yield tmp_path
            if tmp_path.is_file():
                os.chmod(tmp_path, 0o666 & ~umask())
            os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(target: str | Path, data: Any) -> Path:
    return write_text(target, json.dumps(data, indent=2, default=_default) + "\n")


def write_with(target: str | Path, writer: Callable[[Path], None], suffix: str = "") -> Path:
    """Call writer(tmp_path) and move the result onto target (for torch.save, np.save, h5py)."""
    with atomic_path(target, suffix=suffix) as tmp:
        writer(tmp)
    return Path(target)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``; an existing folder there is swapped out in one step and deleted.
    A plain file at ``target`` is refused (InputError): it is not ours to delete."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        from asnn_neuro.errors import InputError

        raise InputError(f"{target}: exists and is not a folder; remove it or choose another name")
    if not target.exists():
        os.replace(new, target)
        return
    if _exchange(new, target):  # new now holds the old folder
        shutil.rmtree(new, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Build a whole folder in a temporary sibling; replace target with it on success."""
    target = Path(target)
    with write_errors_as_input(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        with write_errors_as_input(target):
            yield tmp
            os.chmod(tmp, 0o777 & ~umask())
            replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
