"""Verification stage: quantised SLAYER (fixed-point executor) vs Lava, spike by spike.

The reference is the trained model, freshly lowered from its checkpoint and run by
the bit-exact executor; Lava runs the exported ``network.net``. So a file that was
altered, or an export that went wrong, shows up as a divergence. (For a foreign
file without a checkpoint both sides read the file.) Both run the same N samples
from the same integer input streams with full traces; every layer is compared at
every step. ``verify.json``: samples,
bit_exact_fraction (samples whose every spike -- and readout state -- matches),
prediction_agreement, first_divergence {sample, layer, step, neuron} or null,
plus per-layer mismatch counts.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.backends.stream import parse_mode, run_executor
from asnn_neuro.encoding.frames import as_numpy
from asnn_neuro.evaluate.inputs import dataset_frames, resolve_net
from asnn_neuro.evaluate.simulate import file_inputs, validate
from asnn_neuro.util import atomic, outputs
from asnn_neuro.util.names import check_name


def neuron_coords(layer: ir.Layer, index: int) -> list[int]:
    return [int(v) for v in np.unravel_index(index, layer.shape)]


def compare(net: ir.Network, ref_traces: list[np.ndarray], lava_traces: list[np.ndarray]) -> dict:
    """Per-sample exactness and the earliest divergence (by sample, then step, then layer)."""
    n = ref_traces[0].shape[0]
    exact = np.ones(n, dtype=bool)
    first = None
    mismatches = []
    for i, (a, b) in enumerate(zip(ref_traces, lava_traces)):
        diff = a.astype(np.int64) != b.astype(np.int64)  # (n, T, neurons)
        mismatches.append({"layer": net.layers[i].name, "values_differing": int(diff.sum()),
                           "samples_differing": int(diff.any(axis=(1, 2)).sum())})
        exact &= ~diff.any(axis=(1, 2))
    bad = np.flatnonzero(~exact)
    if bad.size:
        k = int(bad[0])
        best = None
        for i, (a, b) in enumerate(zip(ref_traces, lava_traces)):
            diff = a[k].astype(np.int64) != b[k].astype(np.int64)
            if diff.any():
                t, j = (int(v) for v in np.argwhere(diff)[0])
                if best is None or t < best[0]:
                    best = (t, i, j)
        t, i, j = best
        layer = net.layers[i]
        first = {"sample": k, "layer": layer.name, "layer_index": i, "step": t, "neuron": j,
                 "neuron_coords": neuron_coords(layer, j),
                 "executor_value": int(ref_traces[i][k, t, j]), "lava_value": int(lava_traces[i][k, t, j])}
    return {"exact": exact, "first_divergence": first, "per_layer": mismatches}


def verify(net_arg: str, *, dataset: str = "mnist5k", samples: int = 100, name: str | None = None,
           workdir: str = "netx_exports", simdir: str = "sims", progress: bool = True,
           input_file: str | None = None, encoding: str | None = None, timesteps: int | None = None,
           stream: str | None = None) -> dict:
    """Executor vs Lava on ``samples`` test images of ``dataset`` (encoded as the export says, or with
    ``encoding``/``timesteps`` for a foreign file), or on the samples of ``input_file`` (.npy, no labels);
    both in the stream mode ``stream`` (default: the file's, backends/stream.py)."""
    validate("lava", "fixed", samples)
    check_name(name)
    rnet = resolve_net(net_arg, workdir)
    net = rnet.net
    mode = parse_mode(stream, net)
    if input_file:
        spikes, graded = file_inputs(rnet, input_file, samples, timesteps)
        labels = None
    else:
        spikes, graded, labels, _ = dataset_frames(rnet, dataset, samples, encoding=encoding, timesteps=timesteps)
    n = (spikes if spikes is not None else graded).shape[0]
    out_dir = Path(simdir) / (name or f"{Path(rnet.label).stem}-verify")
    outputs.check_target(out_dir, "verify")  # before the run, not after it
    ref_net = net
    if rnet.ours and not input_file:  # a file's input may re-route the input paths: both then read the file
        from asnn_neuro.deploy.export import build_network

        ref_net = build_network(Path(rnet.checkpoint).parent.name, Path(rnet.checkpoint).parent.parent,
                                int(net.meta.get("weight_bits", 8)))[0]
    t0 = time.perf_counter()
    ref = run_executor(ref_net, spikes, graded, mode, record=n)
    t_ref = time.perf_counter() - t0
    from asnn_neuro.backends.lava.runner import run_lava

    lava, timing = run_lava(net, as_numpy(spikes), as_numpy(graded), record=n, progress=progress, mode=mode)
    cmp = compare(net, ref.traces, lava.traces)
    result = {
        "net": rnet.label, "network": str(rnet.path), "dataset": None if input_file else dataset,
        "input_file": str(input_file) if input_file else None, "samples": n,
        "timesteps": net.timesteps, "stream": mode.value,
        "bit_exact_fraction": float(cmp["exact"].mean()),
        "prediction_agreement": float(np.mean(ref.predictions == lava.predictions)),
        "first_divergence": cmp["first_divergence"],
        "executor_accuracy": None if labels is None else float(np.mean(ref.predictions == labels)),
        "lava_accuracy": None if labels is None else float(np.mean(lava.predictions == labels)),
        "per_layer": cmp["per_layer"],
        "executor_s": t_ref, "lava_run_s": timing.run_s, "lava_compile_s": timing.compile_s,
    }
    atomic.write_json(outputs.claim(out_dir, "verify") / "verify.json", result)
    result["run_dir"] = str(out_dir)
    return result


def format_verify(result: dict) -> str:
    lines = [
        f"verify {result['net']}: {result['samples']} samples x {result['timesteps']} steps "
        f"({result.get('stream', 'reset')} stream)",
        f"  bit-exact samples     {100 * result['bit_exact_fraction']:.1f}%",
        f"  prediction agreement  {100 * result['prediction_agreement']:.1f}%",
    ]
    if result["executor_accuracy"] is not None:
        lines.append(f"  accuracy              executor {100 * result['executor_accuracy']:.1f}%, "
                     f"Lava {100 * result['lava_accuracy']:.1f}%")
    fd = result["first_divergence"]
    if fd is None:
        lines.append("  first divergence      none: every spike matches")
    else:
        lines.append(f"  first divergence      sample {fd['sample']}, layer '{fd['layer']}', step {fd['step']}, "
                     f"neuron {fd['neuron']} {tuple(fd['neuron_coords'])}: "
                     f"executor {fd['executor_value']} vs Lava {fd['lava_value']}")
    return "\n".join(lines)
