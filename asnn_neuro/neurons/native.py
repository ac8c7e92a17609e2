"""The compiled CPU kernels, built on first use: ``asnn_kernel.c`` (ASNN dynamics, spike max-pool)
and ``cuba_kernel.c`` (lava-dl's CUBA neuron, see neurons/cuba_cpu.py), and ``chip/fixed_kernel.c``
(the executor's fused fixed-point neuron steps, see backends/fixed_native.py).

The C source has no Python or torch dependency; it is compiled with the system C compiler
(``$CC``, else ``cc``) into ``$ASNN_CACHE`` (default ``~/.cache/asnn_neuro``), under a name
that carries a hash of the source and flags, and loaded with ctypes. The shared library is
written to a temporary name and renamed, so concurrent first uses (DDP workers, pytest
processes) never load a half-written file.

``kernel()`` (and ``cuba_kernel()``) returns the loaded library, or ``None`` when it cannot be
had (no compiler, a failed build, or ``ASNN_NATIVE=0``); callers then use the pure-torch kernel,
which gives the same spikes and gradients. ``status()`` says which one is in use and why.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("asnn_kernel.c")
CUBA_SOURCE = Path(__file__).with_name("cuba_kernel.c")
FIXED_SOURCE = Path(__file__).parent.parent / "chip" / "fixed_kernel.c"
FLAGS = ["-O3", "-fPIC", "-shared", "-fopenmp", "-std=c11", "-fno-math-errno", "-fno-trapping-math"]

MAX_STEPS = 256  # the kernels' scratch holds at most this many time steps (MAX_T in asnn_kernel.c)

_state: dict = {}


def cache_dir() -> Path:
    return Path(os.environ.get("ASNN_CACHE") or Path.home() / ".cache" / "asnn_neuro")


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")


def _build(cc: str, source: Path = SOURCE) -> Path:
    text = source.read_bytes()
    tag = hashlib.sha256(text + " ".join([cc, *FLAGS]).encode()).hexdigest()[:16]
    target = cache_dir() / f"{source.stem}-{tag}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        proc = subprocess.run([cc, *FLAGS, str(source), "-o", tmp, "-lm"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise OSError(f"{cc} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    f32p, f64p, i64 = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
    flt, i32 = ctypes.c_float, ctypes.c_int
    lib.asnn_forward.argtypes = [f32p, f32p, f32p, i64, i64, f32p, f32p, flt, i32]
    lib.asnn_backward.argtypes = [f32p, f32p, f32p, i64, i64, f32p, f32p, flt, flt, f32p, f64p, f64p, i32]
    lib.pool_forward.argtypes = [f32p, f32p, ctypes.c_void_p, i64, i64, i64, i64, i32, i32, i32]
    lib.pool_backward.argtypes = [f32p, ctypes.c_void_p, f32p, i64, i64, i64, i64, i32, i32, i32]
    lib.asnn_forward.restype = lib.asnn_backward.restype = i32
    lib.pool_forward.restype = lib.pool_backward.restype = i32
    return lib


def _bind_cuba(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i64, flt, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_int
    lib.li_forward.argtypes = [p, p, p, i64, i64, i64, p, flt, i32, flt, i32]
    lib.li_backward.argtypes = [p, p, p, p, i64, i64, i64, p, i32]
    lib.cuba_forward.argtypes = [p, p, p, p, i64, i64, i64, p, p, flt, i32, flt, flt, i32]
    lib.cuba_surrogate_arg.argtypes = [p, p, p, p, i64, i64, i64, p, p, flt, i32, flt, flt, flt, i32]
    lib.cuba_backward.argtypes = [p, p, p, p, p, p, p, p, i64, i64, i64, p, p, p, p, flt, i32, flt, flt, flt, i32]
    for f in (lib.li_forward, lib.li_backward, lib.cuba_forward, lib.cuba_surrogate_arg, lib.cuba_backward):
        f.restype = i32
    return lib


def _bind_fixed(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i64, flt, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_int
    lib.asnn_step.argtypes = [i64, i64, p, p, flt, i64, i32, p, p, flt, i64, i32, p, i64, i64, i64, i32, p, p, i32]
    lib.cuba_step.argtypes = [i64, i64, p, flt, p, flt, p, p, p, i64, p, i64, p, p, i64, i64, i64, p, p, i32]
    lib.or_pool.argtypes = [p, i64, i64, i64, i64, i64, p, p, i32]
    lib.tally_sums.argtypes = [p, i64, i64, p, p]
    lib.asnn_step.restype = lib.cuba_step.restype = lib.or_pool.restype = i64
    lib.tally_sums.restype = None
    lib.asnn_steps.argtypes = [i64, i64, i64, p, p, p, flt, i32, p, p, p, flt, i32, p, p, p, i64, i64, i32, p, p, p,
                               i32]
    lib.cuba_steps.argtypes = [i64, i64, i64, p, p, flt, p, p, flt, p, p, p, i64, p, p, p, i64, i64, i64, p, p, p,
                               i32]
    lib.or_pool_steps.argtypes = [i64, p, i64, i64, i64, i64, i64, p, p, p, i32]
    lib.asnn_steps.restype = lib.cuba_steps.restype = lib.or_pool_steps.restype = None
    return lib


def _load(key: str, source: Path, bind) -> ctypes.CDLL | None:
    if key in _state:
        return _state[key]
    lib, why = None, ""
    if os.environ.get("ASNN_NATIVE", "1") == "0":
        why = "disabled by ASNN_NATIVE=0"
    elif (cc := _compiler()) is None:
        why = "no C compiler found ($CC, cc, gcc)"
    else:
        try:
            lib = bind(ctypes.CDLL(str(_build(cc, source))))
            why = f"compiled kernel in {cache_dir()}"
        except (OSError, AttributeError) as exc:
            why = f"build failed ({exc})"
    _state[key], _state[key + "_why"] = lib, why
    return lib


def kernel() -> ctypes.CDLL | None:
    """The compiled ASNN kernel, or None (see ``status()``). Built and loaded once per process."""
    return _load("lib", SOURCE, _bind)


def cuba_kernel() -> ctypes.CDLL | None:
    """The compiled CUBA kernel (``cuba_kernel.c``), or None (see ``status("cuba")``)."""
    return _load("cuba", CUBA_SOURCE, _bind_cuba)


def fixed_kernel() -> ctypes.CDLL | None:
    """The executor's fused fixed-point kernel (``chip/fixed_kernel.c``), or None (see ``status("fixed")``)."""
    return _load("fixed", FIXED_SOURCE, _bind_fixed)


def status(which: str = "asnn") -> str:
    """One line: which ASNN (or, with ``which="cuba"`` / ``"fixed"``, CUBA / executor) kernel the CPU
    uses, and why."""
    key = which if which in ("cuba", "fixed") else "lib"
    lib = {"cuba": cuba_kernel, "fixed": fixed_kernel}.get(key, kernel)()
    return ("native C kernel: " if lib is not None else "torch kernel: ") + _state[key + "_why"]


def for_tensor(x) -> ctypes.CDLL | None:
    """The compiled kernel if it applies to the time-last tensor ``x`` (float32 on the CPU,
    1..MAX_STEPS steps), else None: the caller then takes its torch path."""
    import torch

    if x.device.type != "cpu" or x.dtype != torch.float32 or not 0 < x.shape[-1] <= MAX_STEPS:
        return None
    return kernel()


def check(code: int, what: str) -> None:
    """Raise if a kernel call returned non-zero (bad sizes or out of memory)."""
    if code != 0:
        raise RuntimeError(f"native {what} kernel failed with code {code}")
