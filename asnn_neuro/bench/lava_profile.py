"""Where the Lava backend's time goes (``asnn bench --vs lava``).

Lava runs every process as its own OS process and synchronises them every time step, so a step
costs (a) the messaging and synchronisation of each process and (b) the arithmetic of the process
models. Three measurements separate them on this machine:

1. *messaging*: chains of k pass-through processes (``FrameSource`` -> k ``SampleGate`` ->
   ``SpikeProbe``, no arithmetic to speak of) for several k: compile seconds and ms per step, and
   a line fit ms/step = base + per_process x processes;
2. *a network*: the bench's 28x28 hybrid/asnn LeNet (untrained weights: Lava's CPU models do the
   same dense work whatever the activity) run for the same steps; its ms per step against what the
   fit predicts for its process count: the rest is the models' arithmetic. The same run with every
   conv in our ``IntegerConv`` instead of Lava's ``Conv`` (``run_lava(conv="integer")``) says how
   much of that arithmetic is Lava's conv model, and checks that the results are the same;
3. *run calls*: the same steps in one ``run`` call and in calls of T steps (how the runner streams
   samples for its progress bar): the cost of one call.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.bench.common import load_avg


@dataclass(frozen=True)
class LavaProfileConfig:
    chain_lengths: tuple[int, ...] = (1, 4, 8, 16)
    shape: tuple[int, ...] = (256,)
    steps: int = 200
    timesteps: int = 4  # T of the network; the run-call test uses calls of T steps
    repeats: int = 3  # chains: best of this many runs (one slow step on a shared machine skews a mean)


SMOKE = LavaProfileConfig(chain_lengths=(1, 2), steps=20, repeats=1)


def _timed_run(root, steps: int, per_call: int) -> tuple[float, float]:
    """(compile s, run s) for ``steps`` Lava steps in calls of ``per_call`` steps; always stops."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    from asnn_neuro.compat.lava_runtime import allow_lava_start_method, quiet_compiler

    allow_lava_start_method()
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    t0 = time.perf_counter()
    try:
        with quiet_compiler():
            root.create_runtime(run_cfg=cfg)
        compile_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        for start in range(0, steps, per_call):
            root.run(condition=RunSteps(num_steps=min(per_call, steps - start)), run_cfg=cfg)
        return compile_s, time.perf_counter() - t1
    finally:
        root.stop()


def _chain(k: int, cfg: LavaProfileConfig, work: Path):
    """FrameSource -> k SampleGate -> SpikeProbe; returns the root."""
    from asnn_neuro.backends.lava.processes import FrameSource, SampleGate, SpikeProbe
    from asnn_neuro.backends.stream import Clock, StreamMode

    frames = work / f"chain{k}.npy"
    rng = np.random.default_rng(k)
    np.save(frames, (rng.random((cfg.steps, *cfg.shape)) < 0.2).astype(np.int32))
    src = FrameSource(shape=cfg.shape, frames_path=str(frames))
    clock = Clock(StreamMode.CONTINUOUS, period=cfg.steps, offset=0, steps=cfg.steps)
    out = src.s_out
    for _ in range(k):
        gate = SampleGate(shape=cfg.shape, clock=clock)
        out.connect(gate.a_in)
        out = gate.a_out
    probe = SpikeProbe(shape=cfg.shape, clock=clock, samples=1, out_path=str(work / f"chain{k}.npz"))
    out.connect(probe.a_in)
    return src


def process_count(net: ir.Network) -> int:
    """Lava processes ``build_graph`` makes for ``net`` in reset mode: input sources, one neuron and
    one probe per layer, one synapse per non-identity path, recurrent gates and delay lines."""
    paths = [(i, p) for i, layer in enumerate(net.layers) for p in layer.paths]
    return (len(net.streams()) + 2 * len(net.layers) + sum(p.kind != "identity" for _, p in paths)
            + sum(p.source == i for i, p in paths) + sum(layer.delay is not None for layer in net.layers))


def _lenet(timesteps: int) -> ir.Network:
    import torch

    from asnn_neuro.deploy.lower import lower
    from asnn_neuro.models.config import ModelConfig
    from asnn_neuro.models.lenet import LeNet

    mcfg = ModelConfig("lenet", (1, 28, 28), 10, "asnn", "hybrid", timesteps)
    torch.manual_seed(0)
    model = LeNet(mcfg, widths=(32, 48, 64), hidden=256).eval()
    with torch.no_grad():
        model(torch.rand(8, *mcfg.in_shape, mcfg.timesteps))  # one forward before lowering, as bench/evaluation does
    return lower(model, mcfg)[0]


def _frames(net: ir.Network, samples: int) -> dict[ir.Stream, np.ndarray]:
    """Random integer input frames (samples, T, *input shape) for each stream the network reads."""
    rng = np.random.default_rng(0)
    return {stream: rng.integers(0, 2 if stream == ir.Stream.SPIKES else 256,
                                 (samples, net.timesteps, *net.input.shape)) for stream in net.streams()}


def _net_root(net: ir.Network, frames: dict[ir.Stream, np.ndarray], work: Path):
    from asnn_neuro.backends.lava.graph import build_graph
    from asnn_neuro.backends.lava.runner import write_frame_files

    return build_graph(net, write_frame_files(net, frames, work), len(next(iter(frames.values()))), work).root


def _conv_models(net: ir.Network, frames: dict[ir.Stream, np.ndarray]) -> dict:
    """``run_lava`` with Lava's Conv and with our IntegerConv: ms per step, and whether every
    prediction and every layer's per-neuron count is the same."""
    from asnn_neuro.backends.lava.runner import run_lava

    runs = {}
    for conv in ("stock", "integer"):
        res, timing = run_lava(net, frames.get(ir.Stream.SPIKES), frames.get(ir.Stream.GRADED), progress=False,
                               conv=conv)
        runs[conv] = (res, 1000 * timing.run_s / timing.steps)
    (a, ms_a), (b, ms_b) = runs["stock"], runs["integer"]
    same = bool(np.array_equal(a.scores, b.scores) and all(np.array_equal(x.per_neuron, y.per_neuron)
                                                           for x, y in zip(a.layers, b.layers)))
    return {"stock_ms_per_step": ms_a, "integer_ms_per_step": ms_b, "same": same, "load": load_avg()}


def bench_lava_profile(cfg: LavaProfileConfig = LavaProfileConfig(), log=print) -> dict:
    """The three measurements of the module docstring (a dict for bench's JSON)."""
    from importlib import metadata

    out: dict = {"steps": cfg.steps, "chain_shape": list(cfg.shape), "chains": [], "repeats": cfg.repeats,
                 "lava_nc": metadata.version("lava-nc")}
    with tempfile.TemporaryDirectory(prefix="asnn-lava-profile-") as tmp:
        work = Path(tmp)
        for k in cfg.chain_lengths:
            runs = [_timed_run(_chain(k, cfg, work), cfg.steps, cfg.steps) for _ in range(cfg.repeats)]
            compile_s, run_s = min(r[0] for r in runs), min(r[1] for r in runs)
            row = {"processes": k + 2, "compile_s": compile_s, "ms_per_step": 1000 * run_s / cfg.steps,
                   "ms_per_step_all": [1000 * r[1] / cfg.steps for r in runs], "load": load_avg()}
            out["chains"].append(row)
            log(f"  chain of {k + 2} processes: compile {compile_s:.2f} s, {row['ms_per_step']:.2f} ms/step")
        procs = np.array([r["processes"] for r in out["chains"]], dtype=float)
        ms = np.array([r["ms_per_step"] for r in out["chains"]])
        per_proc, base = np.polyfit(procs, ms, 1)
        out["messaging_fit"] = {"base_ms": float(base), "ms_per_process": float(per_proc)}
        net = _lenet(cfg.timesteps)
        n = process_count(net)
        samples = max(1, cfg.steps // cfg.timesteps)
        steps = samples * cfg.timesteps + max(net.depth())
        frames = _frames(net, samples)
        compile_s, run_s = _timed_run(_net_root(net, frames, work), steps, steps)
        predicted = base + per_proc * n
        measured = 1000 * run_s / steps
        out["network"] = {"name": "lenet-28x28-hybrid-asnn (untrained)", "processes": n, "layers": len(net.layers),
                          "compile_s": compile_s, "ms_per_step": measured, "messaging_ms_per_step": predicted,
                          "messaging_share": min(1.0, predicted / measured) if measured > 0 else None,
                          "load": load_avg()}
        log(f"  LeNet: {n} processes, compile {compile_s:.2f} s, {measured:.2f} ms/step, of which messaging "
            f"~{predicted:.2f} ms ({100 * out['network']['messaging_share']:.0f} %)")
        out["conv_models"] = _conv_models(net, frames)
        log(f"  LeNet convs: Lava's Conv {out['conv_models']['stock_ms_per_step']:.2f} ms/step, our IntegerConv "
            f"{out['conv_models']['integer_ms_per_step']:.2f} ms/step, same results: {out['conv_models']['same']}")
        _, chunked_s = _timed_run(_net_root(net, frames, work), steps, cfg.timesteps)
        calls = -(-steps // cfg.timesteps)
        out["run_calls"] = {"steps": steps, "one_call_s": run_s, "calls": calls, "chunked_s": chunked_s,
                            "ms_per_call": 1000 * (chunked_s - run_s) / max(1, calls - 1), "load": load_avg()}
        log(f"  run calls: {steps} steps in 1 call {run_s:.2f} s, in {calls} calls {chunked_s:.2f} s")
    return out


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def to_markdown(result: dict) -> str:
    """The tables of ``asnn bench --vs lava``."""
    lines = ["# Where Lava's time goes", "",
             f"Lava {result.get('lava_nc', '')} CPU simulator, fixed point; {result['steps']} steps per chain, "
             f"best of {result.get('repeats', 1)} runs. "
             "Load average (1, 5, 15 min) beside every row.", "",
             "| pass-through processes | compile s | ms / step | load |", "|---|---|---|---|"]
    for r in result["chains"]:
        lines.append(f"| {r['processes']} | {r['compile_s']:.2f} | {r['ms_per_step']:.2f} | {_load(r['load'])} |")
    fit, net, calls = result["messaging_fit"], result["network"], result["run_calls"]
    share = net["messaging_share"]
    lines += ["", f"Fit: ms/step = {fit['base_ms']:.2f} + {fit['ms_per_process']:.3f} x processes.", "",
              "| network | processes | compile s | ms / step | messaging ms / step (fit) | messaging share | load |",
              "|---|---|---|---|---|---|---|",
              f"| {net['name']} | {net['processes']} | {net['compile_s']:.2f} | {net['ms_per_step']:.2f} | "
              f"{net['messaging_ms_per_step']:.2f} | {100 * share:.0f} % | {_load(net['load'])} |",
              "", f"The same LeNet with every conv in our IntegerConv instead of Lava's Conv: "
              f"{result['conv_models']['integer_ms_per_step']:.2f} vs {result['conv_models']['stock_ms_per_step']:.2f} "
              f"ms/step; same predictions and counts: {result['conv_models']['same']}.",
              "", f"Run calls: {calls['steps']} steps in one call {calls['one_call_s']:.2f} s, in {calls['calls']} "
              f"calls {calls['chunked_s']:.2f} s: {calls['ms_per_call']:.1f} ms per extra call.", ""]
    return "\n".join(lines)
