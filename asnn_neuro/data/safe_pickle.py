"""A restricted unpickler for CIFAR batches: numpy arrays and plain containers, nothing callable else.

Only the globals needed to rebuild a numpy array (and the ``_codecs.encode`` / ``bytes()``
helpers that Python 3's protocol 2 uses for bytes) are resolved; every other global is refused, so a
crafted pickle cannot run code. The pure-Python unpickler is used on an in-memory buffer,
so corrupt length fields cannot make it allocate more than the file holds.
"""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any

import numpy as np

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
    from numpy._core.numeric import _frombuffer
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar
    from numpy.core.numeric import _frombuffer

MAX_RECONSTRUCT_ITEMS = 1024  # numpy pickles rebuild arrays from a (0,)-shaped stub


def _safe_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's array stub constructor, limited to plain ndarrays with a tiny placeholder shape."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError("array reconstruction of a type other than numpy.ndarray")
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(d, int) and 0 <= d <= MAX_RECONSTRUCT_ITEMS for d in dims) or len(dims) > 8:
        raise pickle.UnpicklingError(f"implausible array stub shape {shape!r}")
    return _reconstruct(subtype, dims, dtype)


def _safe_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it to store bytes: str -> latin-1 bytes only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "latin_1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


def _safe_bytes(*args: Any) -> bytes:
    """``bytes()`` as protocol 2 uses it for an empty bytes object; never ``bytes(huge_int)``."""
    if not args:
        return b""
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytes(args[0])
    raise pickle.UnpicklingError("refusing bytes() call with non-bytes arguments")


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _safe_encode,
    ("codecs", "encode"): _safe_encode,
    ("__builtin__", "bytes"): _safe_bytes,
    ("builtins", "bytes"): _safe_bytes,
}
for _module in ("numpy.core", "numpy._core"):
    ALLOWED_GLOBALS[(f"{_module}.multiarray", "_reconstruct")] = _safe_reconstruct
    ALLOWED_GLOBALS[(f"{_module}.multiarray", "scalar")] = scalar
    ALLOWED_GLOBALS[(f"{_module}.numeric", "_frombuffer")] = _frombuffer


class RestrictedUnpickler(pickle._Unpickler):  # pure-Python: no preallocation from corrupt sizes
    """Unpickler that resolves only the globals in ``ALLOWED_GLOBALS``."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}'") from None


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` (Python 2 strings decoded as bytes) allowing only numpy array globals.

    Any failure propagates as whatever exception the unpickler raised; callers wrap it.
    """
    return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
