"""A size budget for HDF5 files (NetX, NIR), checked before any dataset is read.

A compressed dataset can declare far more values than its file holds: a 17 kB file may
declare 12000 x 12000 float64 (1.15 GB in memory). Every dataset's declared shape and dtype is
checked against the budget from its metadata alone, before anything is read:

- at most ``max_weights()`` values in one dataset and in all datasets of the file together;
- at most 8 bytes per value on average (so a fixed-size string or compound type of huge
  item size cannot pass as "one value").

The budget is ``DEFAULT_MAX_WEIGHTS`` (100 million values: 800 MB as float64, 10x a
ResNet-50), raised by the ``--max-weights`` option or the ``ASNN_MAX_WEIGHTS`` environment
variable (the option wins).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

from asnn_neuro.errors import InputError

DEFAULT_MAX_WEIGHTS = 100_000_000
ENV = "ASNN_MAX_WEIGHTS"
BYTES_PER_VALUE = 8

_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("asnn_max_weights", default=None)


def parse_limit(text: str, where: str) -> int:
    try:
        value = int(str(text).replace("_", ""))
    except ValueError:
        raise InputError(f"{where}: expected a number of values >= 1, got '{text}'") from None
    if value < 1:
        raise InputError(f"{where}: expected a number of values >= 1, got {value}")
    return value


def max_weights() -> int:
    """The budget in force: --max-weights, else $ASNN_MAX_WEIGHTS, else DEFAULT_MAX_WEIGHTS."""
    given = _LIMIT.get()
    if given is not None:
        return given
    env = os.environ.get(ENV)
    return parse_limit(env, f"${ENV}") if env else DEFAULT_MAX_WEIGHTS


@contextlib.contextmanager
def limited(value: int | None) -> Iterator[None]:
    """Within the block the budget is ``value`` (None: the environment's or the default)."""
    token = _LIMIT.set(value)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def _declared(shape: tuple[int, ...] | None) -> int:
    n = 1
    for s in shape or ():
        n *= int(s)
    return n


def check_file(path: str | Path, f) -> None:
    """InputError naming the first dataset of the open h5py file ``f`` that breaks the budget.
    Reads metadata only (shapes, dtypes), never data."""
    import h5py

    limit = max_weights()
    total = [0, 0]  # values, bytes

    def visit(name: str, obj) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        values = _declared(obj.shape)
        size = values * max(1, obj.dtype.itemsize)
        total[0] += values
        total[1] += size
        shape = "x".join(str(s) for s in obj.shape) or "scalar"
        if values > limit or size > limit * BYTES_PER_VALUE:
            raise InputError(f"{path}: dataset '{name}' declares {shape} {obj.dtype} ({values:,} values, "
                             f"{size / 1e6:,.0f} MB), over the budget of {limit:,} values; raise it with "
                             f"--max-weights or ${ENV} if the file is trusted")
        if total[0] > limit or total[1] > limit * BYTES_PER_VALUE:
            raise InputError(f"{path}: the datasets up to '{name}' declare {total[0]:,} values "
                             f"({total[1] / 1e6:,.0f} MB) together, over the budget of {limit:,} values; "
                             f"raise it with --max-weights or ${ENV} if the file is trusted")

    try:
        f.visititems(visit)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises RuntimeError/OSError/KeyError on damaged headers
        raise InputError(f"{path}: corrupt HDF5 file (its object headers cannot be walked: "
                         f"{type(exc).__name__}: {exc})") from None


def check_path(path: str | Path) -> None:
    """``check_file`` for a file on disk (opened read-only for its metadata). A file h5py cannot
    open is left to the caller's reader, which reports it in its own words."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except Exception:  # noqa: BLE001 - not HDF5 (or unreadable): the reader says so
        return
    with f:
        check_file(path, f)
