"""``asnn simulate NAME --backend executor --precision float`` on an imported NIR graph.

Runs the float graph (``netx_exports/NAME/float.npz``) in the float executor: the source
library's own simulation. Fed from ``--input X.npy`` (the graph's input shape in x, y, z order,
time last, as for any foreign network) or from a data set with ``--encoding``. Writes
``sims/RUN/summary.json`` and ``raster.npz`` (the first sample's spikes per neuron node).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.deploy.nir.read import load_float
from asnn_neuro.errors import InputError
from asnn_neuro.evaluate.inputs import ResolvedNet, dataset_frames, file_frames
from asnn_neuro.util import atomic, outputs


def simulate_float(net_arg: str, *, dataset: str, samples: int, name: str | None, input_file: str | None,
                   encoding: str | None, timesteps: int | None, workdir: str | Path, simdir: str | Path,
                   seed: int = 0) -> dict:
    d = Path(workdir) / net_arg
    fg = load_float(d / "float.npz")
    info = json.loads((d / "import.json").read_text()) if (d / "import.json").is_file() else {}
    steps = timesteps or int(info.get("timesteps", 0)) or None
    shell = ir.Network(input=ir.InputSpec(shape=tuple(fg.input_shape)), layers=[], timesteps=steps or 0,
                       meta={"encoding": encoding} if encoding else {})
    labels = None
    if input_file:
        spikes, graded = file_frames(shell, input_file)
        frames = spikes if spikes is not None else graded
    else:
        rnet = ResolvedNet(label=net_arg, path=d / "float.npz", net=shell, checkpoint=None)
        spikes, graded, labels, _ = dataset_frames(rnet, dataset, samples, seed, encoding, steps)
        if graded is not None:
            raise InputError(f"--encoding {encoding}: graded (analog) frames; an imported graph reads spikes")
        frames = spikes
    frames = frames[:samples]
    out_dir = Path(simdir) / (name or f"{net_arg}-float")
    outputs.check_target(out_dir, "simulate")  # before the run, not after it
    t0 = time.perf_counter()
    res = FloatExecutor(fg).run(frames, record=1)
    run_s = time.perf_counter() - t0
    preds = res.predictions
    n, steps = frames.shape[0], frames.shape[1]
    neurons = fg.neurons
    summary = {
        "net": net_arg, "network": str(d / "float.npz"), "backend": "executor", "precision": "float",
        "source": fg.convention.name, "dt": fg.convention.dt,
        "dataset": None if input_file else dataset, "input_file": str(input_file) if input_file else None,
        "samples": int(n), "timesteps": int(steps), "encoding": encoding,
        "accuracy": float(np.mean(preds == labels)) if labels is not None else None,
        "reference_accuracy": None, "agreement": None,
        "wall_s": run_s, "run_s": run_s, "compile_s": 0.0, "steps": int(n * steps),
        "steps_per_s": n * steps / run_s if run_s > 0 else None, "samples_per_s": n / run_s if run_s > 0 else None,
        "layers": [{"name": op.name, "type": op.kind, "neurons": int(np.prod(op.shape)),
                    "spikes": int(round(float(np.sum(c.per_neuron)))) if op.spiking else None}
                   for op, c in zip(neurons, res.layers)],
        "predictions": preds.tolist(),
    }
    with outputs.named_dir(out_dir, "simulate") as tmp:
        atomic.write_json(tmp / "summary.json", summary)
        np.savez(tmp / "raster.npz", **{f"layer{i}": tr[0] for i, tr in enumerate(res.traces or [])})
    summary["run_dir"] = str(out_dir)
    return summary
