"""The one place a simulation's result becomes a run folder, for every backend and precision.

``record_run`` turns a backend's ``ExecResult`` plus what ran (``RunSetup``) into a
``runs.RunRecord`` and writes it with ``runs.write_run``: summary.json, counts.npz,
outputs.npz and raster.npz (docs/run_format.md), fixed-point and float runs alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asnn_neuro.backends.results import ExecResult
from asnn_neuro.runs import InputTotals, LayerRecord, OutputInfo, RunRecord, write_run


@dataclass
class RunSetup:
    """What ran: the network as the user named it and the file that ran, the backend, the
    input (a data set or a file), and facts about the network the summary repeats."""

    net: str
    network: str
    backend: str
    precision: str
    timesteps: int
    input_neurons: int
    dataset: str | None = None
    input_file: str | None = None
    encoding: str | None = None
    neuron: str | None = None
    model: str | None = None
    weight_bits: int | None = None
    latency_steps: int | None = None
    pipeline_fill: bool = False
    stream: str | None = None
    source: str | None = None
    dt: float | None = None


@dataclass
class Timing:
    """Seconds: the whole call, the backend's run, its compile; steps run (samples x T)."""

    wall_s: float
    run_s: float
    compile_s: float
    steps: int


def counts_arrays(res: ExecResult) -> dict[str, np.ndarray]:
    """counts.npz: input events per input neuron, spikes per neuron and per step of each layer."""
    arrays = {"input_spikes": np.asarray(res.input_spikes), "input_graded": np.asarray(res.input_graded)}
    for i, c in enumerate(res.layers):
        arrays[f"layer{i}_spikes"] = np.rint(np.asarray(c.per_neuron)).astype(np.int64)
        arrays[f"layer{i}_per_step"] = np.rint(np.asarray(c.per_step)).astype(np.int64)
    return arrays


def output_xyzt(output: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(N, T, neurons in C, H, W order) -> (N, *shape in x, y, z order, T), INTERFACE.md's layout."""
    out = np.asarray(output).reshape(output.shape[0], output.shape[1], *shape)
    return out.transpose(0, *range(out.ndim - 1, 1, -1), 1)


def _fraction(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    return None if a is None or b is None else float(np.mean(np.asarray(a) == np.asarray(b)))


def record_run(out_dir: str | Path, setup: RunSetup, res: ExecResult, layers: list[LayerRecord],
               output: OutputInfo, output_shape: tuple[int, ...], timing: Timing, labels: np.ndarray | None = None,
               reference: np.ndarray | None = None, raster: dict[str, np.ndarray] | None = None,
               extra: dict | None = None, counts: dict[str, np.ndarray] | None = None) -> RunRecord:
    """Build the run's ``RunRecord`` (accuracy against ``labels``, agreement with ``reference``
    predictions; ``extra``: more summary.json keys, e.g. ``neurobench``) and write its folder
    ``out_dir``; returns the record (``run_dir`` set). ``counts``: ``counts_arrays(res)`` when the
    caller already built it."""
    preds = np.asarray(res.predictions)
    n = len(preds)
    for lay, c in zip(layers, res.layers):
        lay.per_step_spikes = [int(round(float(v))) for v in np.asarray(c.per_step)]
    record = RunRecord(
        net=setup.net, network=setup.network, backend=setup.backend, precision=setup.precision,
        dataset=setup.dataset, input_file=setup.input_file, samples=n, timesteps=int(setup.timesteps),
        encoding=setup.encoding, neuron=setup.neuron, model=setup.model, weight_bits=setup.weight_bits,
        accuracy=_fraction(preds, labels), reference_accuracy=_fraction(reference, labels),
        agreement=_fraction(preds, reference),
        wall_s=timing.wall_s, run_s=timing.run_s, compile_s=timing.compile_s, steps=int(timing.steps),
        steps_per_s=timing.steps / timing.run_s if timing.run_s > 0 else None,
        samples_per_s=n / timing.run_s if timing.run_s > 0 else None,
        latency_steps=setup.latency_steps, pipeline_fill=bool(setup.pipeline_fill), stream=setup.stream,
        input=InputTotals(neurons=int(setup.input_neurons), spikes=int(np.sum(res.input_spikes)),
                          graded_events=int(np.sum(res.input_graded))),
        layers=layers, predictions=preds.tolist(), output=output,
        outputs=np.asarray(res.scores).reshape(n, -1).tolist(), source=setup.source, dt=setup.dt,
        extra=dict(extra or {}),
    )
    outputs = None if res.output is None else output_xyzt(res.output, output_shape)
    return write_run(out_dir, record, counts_arrays(res) if counts is None else counts, outputs, raster)
