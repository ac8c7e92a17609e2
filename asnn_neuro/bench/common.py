"""Shared benchmark helpers: timing statistics, peak memory, machine facts, profiler summaries."""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import importlib.metadata
import os
import platform
import resource
import statistics
from collections.abc import Iterator, Sequence

import torch

MB = 1024.0 * 1024.0


def load_avg() -> list[float]:
    """1, 5 and 15 minute load averages (runnable processes; compare with the core count)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return [float("nan")] * 3


def spread(values: Sequence[float]) -> dict:
    """Median, min, max and quartiles of repeated measurements (same unit as ``values``)."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"n": 0, "median": float("nan"), "min": float("nan"), "max": float("nan"),
                "q1": float("nan"), "q3": float("nan")}
    if len(vals) >= 2:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    else:
        q1 = q3 = vals[0]
    return {"n": len(vals), "median": statistics.median(vals), "min": vals[0], "max": vals[-1],
            "q1": q1, "q3": q3}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_facts() -> dict:
    """CPU model, logical cores, memory, library versions, torch threads, date and load."""
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as fh:
            mem_gib = round(int(fh.readline().split()[1]) / (1024 * 1024), 1)
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lava_nc": _version("lava-nc"),
        "lava_dl": _version("lava-dl"),
        "numpy": _version("numpy"),
        "torch_threads": torch.get_num_threads(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_at_start": load_avg(),
    }


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _malloc_trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    """Peak resident memory growth of this process over a block, in MiB.

    Method ``VmHWM``: free heap pages are returned to the OS (``malloc_trim``), the
    kernel's high-water mark is reset (``/proc/self/clear_refs`` <- 5), and after the
    block ``VmHWM - VmRSS(before)`` is the growth. Where the reset is not allowed, the
    fallback ``ru_maxrss`` (never reset) only shows growth beyond the process's
    earlier peak and is marked so.
    """

    def __init__(self) -> None:
        self.method = "VmHWM"
        self.growth_mib = float("nan")
        self.peak_mib = float("nan")
        self._base_kib = 0

    def __enter__(self) -> PeakRSS:
        _malloc_trim()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            self.method = "ru_maxrss (not reset: growth beyond the earlier peak only)"
        self._base_kib = _status_kib("VmRSS") or 0
        return self

    def __exit__(self, *exc) -> None:
        if self.method == "VmHWM":
            peak = _status_kib("VmHWM") or 0
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak_mib = peak / 1024.0
        self.growth_mib = max(0.0, (peak - self._base_kib) / 1024.0)


@contextlib.contextmanager
def saved_for_backward(exclude: Sequence[torch.Tensor] = ()) -> Iterator[dict]:
    """Bytes of distinct tensor storages autograd keeps for backward inside the block.

    Parameters (``exclude``) are not counted. The result dict gets ``bytes`` and ``tensors``.
    """
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        with contextlib.suppress(RuntimeError, NotImplementedError):
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
            if ptr not in skip and ptr != 0:
                seen[ptr] = storage.nbytes()
        return t

    out: dict = {"bytes": 0, "tensors": 0}
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield out
    out["bytes"] = int(sum(seen.values()))
    out["tensors"] = len(seen)


def top_ops(prof: torch.profiler.profile, limit: int = 12) -> list[dict]:
    """The ``limit`` ops with the most self CPU time: name, self ms, share of the total, calls."""
    rows = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in rows) or 1.0
    rows.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return [{"op": e.key, "self_ms": round(e.self_cpu_time_total / 1000.0, 2),
             "share": round(e.self_cpu_time_total / total, 4), "calls": int(e.count)} for e in rows[:limit]]


def backward_nodes(prof: torch.profiler.profile, limit: int = 6) -> list[dict]:
    """Autograd nodes by total CPU time (children included): name, ms, share of all self CPU time."""
    prefix = "autograd::engine::evaluate_function: "
    events = list(prof.key_averages())
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = [e for e in events if e.key.startswith(prefix)]
    rows.sort(key=lambda e: e.cpu_time_total, reverse=True)
    return [{"node": e.key[len(prefix):], "ms": round(e.cpu_time_total / 1000.0, 2),
             "share": round(e.cpu_time_total / total, 4)} for e in rows[:limit]]


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run the block with ``threads`` intra-op threads, restoring the old setting after."""
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)
