"""``asnn simulate NAME --backend executor --precision float`` on an imported NIR graph.

Runs the float graph (``netx_exports/NAME/float.npz``) in the float executor: the source
library's own simulation. Fed from ``--input X.npy`` (the graph's input shape in x, y, z order,
time last, as for any foreign network) or from a data set with ``--encoding``. Writes the
run folder every run writes (``evaluate.record``; docs/run_format.md): summary.json with
``outputs``, counts.npz and outputs.npz per neuron node, raster.npz of the first sample.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from asnn_neuro import ir
from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.deploy.nir.read import FloatGraph, Op, load_float
from asnn_neuro.errors import InputError
from asnn_neuro.evaluate.float_activity import float_layers
from asnn_neuro.evaluate.inputs import ResolvedNet, dataset_frames, file_frames
from asnn_neuro.evaluate.record import RunSetup, Timing, record_run
from asnn_neuro.runs import OutputInfo, RunRecord
from asnn_neuro.util import outputs


def simulate_float(net_arg: str, *, dataset: str, samples: int, name: str | None, input_file: str | None,
                   encoding: str | None, timesteps: int | None, workdir: str | Path, simdir: str | Path,
                   seed: int = 0, frames: torch.Tensor | None = None, labels: np.ndarray | None = None) -> RunRecord:
    """Run the float graph of import ``net_arg`` on ``input_file``, a data set, or ``frames``
    (N, T, *input shape, values as the graph reads them; ``labels`` for accuracy)."""
    d = Path(workdir) / net_arg
    fg = load_float(d / "float.npz")
    info = json.loads((d / "import.json").read_text()) if (d / "import.json").is_file() else {}
    steps = timesteps or int(info.get("timesteps", 0)) or None
    shell = ir.Network(input=ir.InputSpec(shape=tuple(fg.input_shape)), layers=[], timesteps=steps or 0,
                       meta={"encoding": encoding} if encoding else {})
    if frames is not None:
        dataset = None
    elif input_file:
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
    n, steps = frames.shape[0], frames.shape[1]
    out_op = _output_neuron(fg)
    setup = RunSetup(net=net_arg, network=str(d / "float.npz"), backend="executor", precision="float",
                     timesteps=int(steps), input_neurons=int(np.prod(fg.input_shape)),
                     dataset=None if input_file else dataset, input_file=str(input_file) if input_file else None,
                     encoding=encoding, latency_steps=0, source=fg.convention.name, dt=fg.convention.dt)
    output = OutputInfo(layer=out_op.name if out_op else fg.output, neurons=int(res.output.shape[-1]),
                        values="spike_counts" if out_op is not None and out_op.spiking else "state")
    out_shape = tuple(fg.op(fg.output).shape) or (int(res.output.shape[-1]),)
    raster = {f"layer{i}": tr[0] for i, tr in enumerate(res.traces or [])}
    raster["input"] = frames[0].reshape(steps, -1).numpy()
    layers = float_layers(fg, res, graded_input=bool(((frames != 0) & (frames != 1)).any()))
    return record_run(out_dir, setup, res, layers, output, out_shape,
                      Timing(wall_s=run_s, run_s=run_s, compile_s=0.0, steps=int(n * steps)), labels=labels,
                      raster=raster)


def _output_neuron(fg: FloatGraph) -> Op | None:
    """The neuron node that feeds the graph's output (through synapse-free nodes), if any."""
    op = fg.op(fg.output)
    while op.inputs and not op.is_neuron:
        op = fg.op(op.inputs[0])
    return op if op.is_neuron else None
