"""Keep large CPU tensors in the heap instead of fresh mmaps (glibc only).

glibc serves every allocation above ``M_MMAP_THRESHOLD`` (at most 32 MiB by its dynamic rule)
with a fresh ``mmap`` and unmaps it on free, so each new tensor of that size page-faults all
its memory again. A LeNet activation at batch 64, T = 4 is 33.5 MB: in training, every step
re-faulted every such tensor (a 33 MB clone took 17 ms instead of 3 ms). Raising the mmap and
trim thresholds lets freed blocks be reused, as the smaller per-step tensors of a plain
per-step loop already are. Called by ``asnn train``, the benchmark and the fixed-point executor.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LIMIT = 1 << 30  # bytes: blocks below 1 GiB come from the heap and stay there after free

_done: dict[str, bool] = {}


def keep_large_allocations() -> bool:
    """Raise glibc's mmap/trim thresholds once per process; False where not glibc or refused."""
    if "ok" in _done:
        return _done["ok"]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            ok = bool(libc.mallopt(M_MMAP_THRESHOLD, LIMIT)) and bool(libc.mallopt(M_TRIM_THRESHOLD, LIMIT))
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            ok = False
    _done["ok"] = ok
    return ok
