"""``asnn bench --vs dense``: the bit-exact executor's synaptic work as a fraction of this CPU's dense limit.

For a network and its input, the executor is run once with its synapse calls recorded (kind,
input shape, weights) and then timed on its own (best of ``repeats``). The dense limit is torch's
own float32 ``matmul`` / ``conv2d`` on exactly the recorded shapes and weights, random inputs,
each distinct shape timed over up to 50 calls per round and scaled to all its calls, with the torch threads the
executor uses for that batch: the time this CPU needs for the same multiply-accumulates done
densely. Executor and dense limit alternate, best of ``repeats`` rounds each.
Reported: dense-equivalent MACs, both times,
MAC/s of each and the fraction executor / dense limit, plus the share of non-zero synapse inputs
(the activity an event path could exploit). The path that ran: every synapse is a dense
float32/float64 conv or matmul of the whole input (no event path); the neuron updates, OR pools
and event counts of the layers the compiled kernel takes run fused (``backends/fixed_native``),
the rest as torch ops; the row says how many layers each, and whether the run went step by step
or layer by layer (every layer fused, no recurrence: one synapse call per port over all steps).

Networks: our 28x28 hybrid/asnn LeNet briefly trained on mnist5k (as bench.evaluation does),
and lava-dl's shipped PilotNet LIF and NTIDIGITS networks (their shipped inputs).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro.backends import executor as fe
from asnn_neuro.bench.common import load_avg
from asnn_neuro.compat.lava_dl_files import shipped_networks
from asnn_neuro.util.threads import threads_for_batch


@contextlib.contextmanager
def _recorded(calls: list[dict]) -> Iterator[None]:
    """Within the block, every executor synapse call appends its kind, input and weights to ``calls``."""
    original = fe._Synapse.__call__

    def call(self, x, out_shape, *args, **kwargs):
        p = self.path
        if p.kind in ("dense", "conv"):
            calls.append({"kind": p.kind, "shape": tuple(x.shape), "weight": self.weight, "stride": p.stride,
                          "padding": p.padding, "dilation": p.dilation, "groups": p.groups,
                          "nonzero": float((x != 0).float().mean())})
        return original(self, x, out_shape, *args, **kwargs)

    fe._Synapse.__call__ = call
    try:
        yield
    finally:
        fe._Synapse.__call__ = original


def _dense_op(c: dict, x: torch.Tensor) -> torch.Tensor:
    w = c["w32"]
    if c["kind"] == "dense":
        return x.reshape(x.shape[0], -1) @ w
    return F.conv2d(x, w, stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])


def _macs(c: dict, out: torch.Tensor) -> int:
    if c["kind"] == "dense":
        return int(c["shape"][0] * c["weight"].shape[0] * c["weight"].shape[1])
    w = c["weight"]
    return int(out.numel() * w.shape[1] * w.shape[2] * w.shape[3])


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(label: str, net, spikes, graded, repeats: int = 3) -> dict:
    """Executor time vs the dense limit of the same synapse work (see the module doc). The two are
    timed in alternation, best of ``repeats`` each; the dense ops run with the torch threads the
    executor uses for the same batch (``threads_for_batch``)."""
    calls: list[dict] = []
    with _recorded(calls):
        probe = fe.FixedExecutor(net)
        probe.run(spikes, graded)
    fused = probe.paths().count("fused")
    path = (f"dense conv/matmul; neurons: fused C {fused}/{len(net.layers)} layers, torch {len(net.layers) - fused}; "
            f"by {probe.order}")
    groups: dict[tuple, list[dict]] = {}
    for c in calls:
        groups.setdefault((c["kind"], c["shape"], id(c["weight"])), []).append(c)
    gen = torch.Generator().manual_seed(0)
    work = []  # (call, input, calls of this shape)
    macs = 0
    for same in groups.values():
        c = {**same[0], "w32": same[0]["weight"].to(torch.float32)}
        x = (torch.rand(c["shape"], generator=gen) < 0.5).to(torch.float32)
        macs += len(same) * _macs(c, _dense_op(c, x))
        work.append((c, x, len(same)))

    def dense() -> float:
        total = 0.0
        for c, x, count in work:
            reps = min(count, 50)  # small ops: time several calls, scale to all of them
            with threads_for_batch(x.shape[0]):
                total += count / reps * _seconds(lambda c=c, x=x, reps=reps: [_dense_op(c, x) for _ in range(reps)])
        return total

    exec_s, dense_s = float("inf"), float("inf")
    for _ in range(repeats):
        exec_s = min(exec_s, _seconds(lambda: fe.FixedExecutor(net).run(spikes, graded)))
        dense_s = min(dense_s, dense())
    nonzero = float(np.mean([c["nonzero"] for c in calls])) if calls else 0.0
    return {"net": label, "synapse_calls": len(calls), "dense_equivalent_macs": macs,
            "executor_s": exec_s, "dense_limit_s": dense_s,
            "executor_macs_per_s": macs / exec_s, "dense_macs_per_s": macs / dense_s if dense_s > 0 else None,
            "fraction_of_dense": dense_s / exec_s, "mean_nonzero_input": nonzero, "path": path,
            "torch_threads": torch.get_num_threads(), "load": load_avg()}


def _lenet(samples: int):
    from asnn_neuro.bench.evaluation import _brief_train
    from asnn_neuro.data import load_dataset
    from asnn_neuro.deploy.lower import lower
    from asnn_neuro.encoding.frames import integer_frames
    from asnn_neuro.models.config import ModelConfig
    from asnn_neuro.models.lenet import LeNet

    data = load_dataset("mnist5k")
    mcfg = ModelConfig("lenet", data.shape, data.classes, "asnn", "hybrid", 4)
    torch.manual_seed(0)
    model = LeNet(mcfg)
    with torch.no_grad():
        model.eval()
        model(torch.zeros(2, *mcfg.in_shape, mcfg.timesteps))
    _brief_train(model, data, mcfg, 40, 32)
    net, _ = lower(model, mcfg)
    spikes, graded = integer_frames(data.test_x[:samples], mcfg.encoding, mcfg.timesteps)
    return net, spikes, graded


def _shipped(gts: Path, name: str):
    from asnn_neuro.deploy.netx.read import read_network
    from asnn_neuro.evaluate.inputs import file_frames

    if name == "ntidigits":
        net = read_network(gts / "ntidigits" / "ntidigits.net")
        spikes, graded = file_frames(net, gts / "ntidigits" / "input.npy")
        net.timesteps = spikes.shape[1]
        return net, spikes, graded
    net = read_network(gts / "pilotnet_lif" / "network.net")
    _, graded = file_frames(net, gts / "pilotnet_lif" / "image.npy", timesteps=16)
    net.read_graded_input()
    net.timesteps = 16
    return net, None, graded


def bench_executor_peak(samples: int = 200, repeats: int = 3, log=print) -> dict:
    """Rows for our LeNet (``samples`` mnist5k test images) and lava-dl's PilotNet LIF and NTIDIGITS."""
    rows = []
    cases = [("lenet-28x28-hybrid-asnn", lambda: _lenet(samples))]
    gts = shipped_networks()
    if gts is not None:
        cases += [("pilotnet-lif (lava-dl)", lambda: _shipped(gts, "pilotnet")),
                  ("ntidigits (lava-dl)", lambda: _shipped(gts, "ntidigits"))]
    for label, make in cases:
        net, spikes, graded = make()
        row = measure(label, net, spikes, graded, repeats)
        rows.append(row)
        log(f"  {label}: executor {row['executor_s']:.3f} s, dense limit {row['dense_limit_s']:.3f} s "
            f"({100 * row['fraction_of_dense']:.1f} %), {row['executor_macs_per_s'] / 1e9:.2f} GMAC/s; "
            f"non-zero inputs {100 * row['mean_nonzero_input']:.1f} %; load {row['load'][0]:.1f}")
    return {"rows": rows, "lenet_samples": samples, "repeats": repeats}


def to_markdown(result: dict) -> str:
    lines = ["| net | synapse calls | dense-eq. GMAC | executor s | dense limit s | executor GMAC/s | dense GMAC/s | "
             "fraction | non-zero inputs | path | load (1, 5, 15 min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        dense = f"{r['dense_macs_per_s'] / 1e9:.2f}" if r["dense_macs_per_s"] else "-"
        lines.append(f"| {r['net']} | {r['synapse_calls']} | {r['dense_equivalent_macs'] / 1e9:.3f} | "
                     f"{r['executor_s']:.3f} | {r['dense_limit_s']:.3f} | {r['executor_macs_per_s'] / 1e9:.2f} | "
                     f"{dense} | {100 * r['fraction_of_dense']:.1f} % | {100 * r['mean_nonzero_input']:.1f} % | "
                     f"{r['path']} | {', '.join(f'{v:.2f}' for v in r['load'])} |")
    return "\n".join(lines) + "\n"
