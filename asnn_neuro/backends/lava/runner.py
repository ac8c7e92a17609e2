"""Run an IR network on the Lava CPU simulator (or Loihi), streaming samples.

One compile, one network, N samples streamed through it (how each starts: the stream mode),
run in chunks so a progress bar can move. The runtime is stopped on every exit
path: normal end, exceptions, Ctrl-C and SIGTERM (turned into KeyboardInterrupt
while the run is active). A signal during the runtime's start-up is held back until the
runtime exists, then honoured (the runtime is stopped); every worker Lava forks ignores
SIGINT/SIGTERM (the main process stops it) and is killed by Linux if the main process dies.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.backends.results import Counts, ExecResult
from asnn_neuro.backends.stream import StreamMode, lava_period, lava_steps
from asnn_neuro.compat.lava_runtime import allow_lava_start_method, quiet_compiler
from asnn_neuro.errors import InputError
from asnn_neuro.util.lifetime import children_die_with_parent, deferred_signals, sigterm_as_interrupt
from asnn_neuro.util.progress import progress_bar


class LavaRunError(RuntimeError):
    """A Lava ProcessModel raised; carries the first traceback Lava collected."""


@dataclass
class LavaTiming:
    compile_s: float
    run_s: float
    steps: int


def _run_config(backend: str, precision: str):
    """Lava's run configuration: the CPU simulator at ``precision``, or Loihi 2 hardware."""
    if backend == "loihi":
        from asnn_neuro.backends.loihi import hardware_run_config

        return hardware_run_config()
    from lava.magma.core.run_configs import Loihi2SimCfg

    return Loihi2SimCfg(select_tag="fixed_pt" if precision == "fixed" else "floating_pt")


def _lava_error(root) -> LavaRunError:
    runtime = getattr(root, "_runtime", None)
    infra = getattr(runtime, "_messaging_infrastructure", None)
    for actor in getattr(infra, "actors", []) or []:
        exc = getattr(actor, "exception", None)
        if exc:
            tb = exc[1] if isinstance(exc, tuple) else str(exc)
            last = [ln for ln in str(tb).strip().splitlines() if ln.strip()][-1:]
            return LavaRunError(f"a Lava process failed: {last[0] if last else tb}")
    return LavaRunError("a Lava process failed")


def _stop(root, failed: bool = False) -> None:
    """Stop the runtime; after a process failed, only its workers (``root.stop`` would wait for
    the dead process to answer, for ever). A runtime created but never started (interrupted
    before its first run) has workers waiting for a first command that never comes: they are
    killed (they ignore SIGINT/SIGTERM), or joining them would wait for ever."""
    runtime = getattr(root, "_runtime", None)
    if runtime is None:
        return
    started = bool(getattr(runtime, "_is_started", True))
    if not failed and started:
        with contextlib.suppress(Exception):
            root.stop()
    infra = getattr(runtime, "_messaging_infrastructure", None)
    if not started:
        for actor in getattr(infra, "actors", None) or []:
            with contextlib.suppress(Exception):
                actor.kill()
    with contextlib.suppress(Exception):
        infra.stop()


def write_frame_files(net: ir.Network, frames: dict[ir.Stream, np.ndarray], work: Path,
                      mode: StreamMode = StreamMode.RESET) -> dict[ir.Stream, Path]:
    """Each stream's (N, T, *input shape) integer frames as the (steps, x, y, z) int32 ``.npy`` a
    ``FrameSource`` streams, in ``work``; in ``fill`` each sample is followed by zero frames while the
    pipeline drains (``lava_period``)."""
    from asnn_neuro.backends.lava.graph import lava_shape

    period = lava_period(mode, net)
    files: dict[ir.Stream, Path] = {}
    for stream, x in frames.items():
        x = np.asarray(x)
        n, T = x.shape[:2]
        if period > T:
            x = np.concatenate([x, np.zeros((n, period - T, *x.shape[2:]), x.dtype)], 1)
        flat = x.reshape(n * period, *net.input.shape)
        if len(net.input.shape) == 3:
            flat = flat.transpose(0, 3, 2, 1)
        assert flat.shape[1:] == lava_shape(net.input.shape)
        files[stream] = work / f"frames-{stream.value}.npy"
        np.save(files[stream], np.ascontiguousarray(flat, dtype=np.int32))
    return files


def run_lava(net: ir.Network, spikes: np.ndarray | None, graded: np.ndarray | None, *,
             precision: str = "fixed", backend: str = "lava", record: int = 0, progress: bool = True,
             chunk_samples: int = 25, mode: StreamMode = StreamMode.RESET,
             conv: str = "stock") -> tuple[ExecResult, LavaTiming]:
    """spikes / graded: (N, T, *input shape) integer frames. Returns counts/scores like the executor;
    ``record=k`` keeps the full spike traces of the first k samples (``ExecResult.traces``);
    ``mode``: how samples follow each other (``backends.stream``); ``conv``: see ``build_graph``."""
    allow_lava_start_method()
    from lava.magma.core.run_conditions import RunSteps

    from asnn_neuro.backends.lava.graph import build_graph
    from asnn_neuro.backends.lava.processes import probe_result

    ref = spikes if spikes is not None else graded
    n, T = ref.shape[0], net.timesteps
    if ref.shape[1] != T:
        raise InputError(f"input has {ref.shape[1]} time steps, the network {T}")
    with tempfile.TemporaryDirectory(prefix="asnn-lava-") as tmp:
        work = Path(tmp)
        given = {ir.Stream.SPIKES: spikes, ir.Stream.GRADED: graded}
        files = write_frame_files(net, {s: np.zeros_like(ref) if given[s] is None else given[s]
                                        for s in (ir.Stream.SPIKES, ir.Stream.GRADED) if s in net.streams()},
                                  work, mode)
        if not files:
            raise InputError("the network reads no input stream")
        graph = build_graph(net, files, n, work, record=record, mode=mode, conv=conv)
        total = lava_steps(mode, net, n)
        root = graph.root
        cfg = _run_config(backend, precision)
        failed = False
        t0 = time.perf_counter()
        compile_s = 0.0
        try:
            # A terminal's Ctrl-C reaches the whole process group: workers that died of it would
            # leave the main process waiting for ever, so they ignore it and are stopped by it.
            with sigterm_as_interrupt(), children_die_with_parent():
                with deferred_signals(), quiet_compiler():
                    root.create_runtime(run_cfg=cfg)
                compile_s = time.perf_counter() - t0
                t1 = time.perf_counter()
                chunk = max(1, chunk_samples) * lava_period(mode, net)
                bar = progress_bar(range(0, total, chunk), desc=f"lava ({n} samples)", enabled=progress)
                for start in bar:
                    steps = min(chunk, total - start)
                    try:
                        root.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
                    except RuntimeError as exc:
                        failed = True
                        raise _lava_error(root) from exc
                run_s = time.perf_counter() - t1
        finally:
            _stop(root, failed)
        results = [probe_result(p) for p in graph.probe_paths]
    layers: list[Counts] = []
    traces = [] if record else None
    for layer, res in zip(net.layers, results):
        if ir.is_state_readout(layer):
            layers.append(Counts(np.zeros(layer.neurons, np.int64), np.zeros(T, np.int64), [0] * n))
        else:
            layers.append(Counts(res["per_neuron"], res["per_step"], res["per_sample"].tolist()))
        if record:
            traces.append(res["trace"])
    out = results[-1]["trace"]  # (n, T, classes)
    last = net.layers[-1]
    scores = out[:, -1] if ir.is_state_readout(last) else out.sum(1)
    zeros = np.zeros((n, T, *net.input.shape), dtype=np.int64)
    s = zeros if spikes is None else np.asarray(spikes)
    g = zeros if graded is None else np.asarray(graded)
    result = ExecResult(scores=scores, layers=layers,
                        input_spikes=(s != 0).sum((0, 1)).reshape(-1), input_graded=(g != 0).sum((0, 1)).reshape(-1),
                        traces=traces, output=out.astype(np.int64))
    return result, LavaTiming(compile_s=compile_s, run_s=run_s, steps=total)
