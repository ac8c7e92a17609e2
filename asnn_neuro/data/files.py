"""Reading dataset files: directories, optional ``.gz`` twins, one-line error messages."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from asnn_neuro.errors import InputError


def one_line(exc: BaseException, limit: int = 160) -> str:
    """A short single-line description of ``exc`` for embedding in an InputError."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def dataset_dir(kind: str, directory: str) -> Path:
    """The absolute path of a ``kind:DIR`` directory; InputError if it is missing or not a directory."""
    if not directory.strip():
        raise InputError(f"{kind}: needs a directory, e.g. '{kind}:/path/to/files'")
    path = Path(directory).expanduser().absolute()
    if not path.exists():
        raise InputError(f"{kind}: {path}: no such directory")
    if not path.is_dir():
        raise InputError(f"{kind}: {path}: not a directory")
    return path


def find_raw_or_gz(kind: str, directory: Path, name: str) -> Path:
    """``directory/name`` if present, else ``directory/name.gz``; InputError naming both if neither."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise InputError(f"{kind}: {directory}: missing {name} (or .gz)")


def read_bytes(kind: str, path: Path) -> bytes:
    """The whole content of ``path``, gunzipped when its name ends in ``.gz``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{kind}: {path}: cannot read: {one_line(exc)}") from exc
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{kind}: {path}: bad gzip data: {one_line(exc)}") from exc
