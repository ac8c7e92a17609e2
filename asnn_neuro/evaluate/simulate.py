"""Simulation stage: run N samples through a deployed network, record what it did.

Backends:
- ``lava``: the Lava CPU simulator (``Loihi2SimCfg``), fixed point (default) or float;
- ``executor``: our integer executor of the deployed network in PyTorch (bit-exact with
  Lava's fixed point, see ``asnn verify``); with ``--precision float`` the trained model
  itself runs instead. ``slayer`` is a deprecated alias of ``executor``;
- ``loihi``: Loihi 2 through lava-loihi when it is installed.

NET is an export name (``netx_exports/NET/network.net``) or a path to any NetX file.
Writes ``sims/RUN/`` through ``evaluate.record`` (docs/run_format.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from asnn_neuro import encoding as enc
from asnn_neuro import ir
from asnn_neuro.backends.results import ExecResult
from asnn_neuro.backends.stream import StreamMode, parse_mode, run_executor
from asnn_neuro.deploy.nir.retime import is_imported, retime
from asnn_neuro.encoding.frames import as_numpy
from asnn_neuro.energy.fanout import layer_counts
from asnn_neuro.errors import InputError
from asnn_neuro.evaluate.inputs import ResolvedNet, dataset_frames, file_frames, resolve_net
from asnn_neuro.evaluate.record import RunSetup, Timing, counts_arrays, output_xyzt, record_run
from asnn_neuro.evaluate.reference import float_model_result, reference_predictions
from asnn_neuro.runs import LayerRecord, OutputInfo, RunRecord
from asnn_neuro.util import outputs
from asnn_neuro.util.names import check_name

__all__ = ["BACKENDS", "PRECISIONS", "canonical_backend", "output_xyzt", "run_backend", "run_frames",
           "run_simulation", "simulate", "validate"]

BACKENDS = ("lava", "executor", "loihi")
DEPRECATED_BACKENDS = {"slayer": "executor"}  # old name -> what it runs
PRECISIONS = ("fixed", "float")
MAX_SAMPLES = 1_000_000


def canonical_backend(backend: str) -> str:
    """The backend's current name (a deprecated alias maps to what it runs)."""
    return DEPRECATED_BACKENDS.get(backend, backend)


def validate_foreign(encoding: str | None, timesteps: int | None, streamed: bool = False) -> None:
    """--encoding / --timesteps for a foreign network: known scheme, a sane number of steps
    (an encoded data set is capped at MAX_TIMESTEPS; a ``streamed`` --input file is not)."""
    if encoding is not None and encoding not in enc.SCHEMES:
        raise InputError(f"unknown encoding '{encoding}'; choose one of: {', '.join(enc.SCHEMES)}")
    if timesteps is not None and timesteps < 1:
        raise InputError(f"--timesteps must be at least 1, got {timesteps}")
    if timesteps is not None and not streamed and timesteps > enc.MAX_TIMESTEPS:
        raise InputError(f"--timesteps must be between 1 and {enc.MAX_TIMESTEPS}, got {timesteps}")


def validate(backend: str, precision: str, samples: int) -> None:
    if canonical_backend(backend) not in BACKENDS:
        raise InputError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision '{precision}'; choose one of: {', '.join(PRECISIONS)}")
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"--samples must be between 1 and {MAX_SAMPLES}, got {samples}")


def run_backend(rnet: ResolvedNet, spikes, graded, backend: str, precision: str, record: int = 0,
                progress: bool = True, stream: StreamMode = StreamMode.RESET) -> tuple[ExecResult, dict]:
    """Run one backend; returns its result and timing facts (``stream``: backends/stream.py)."""
    net = rnet.net
    backend = canonical_backend(backend)
    if stream != StreamMode.RESET and precision == "float" and backend == "executor":
        raise InputError(f"--stream {stream.value} runs in fixed point (the float model starts every sample "
                         "at rest); use --precision fixed or --stream reset")
    n = (spikes if spikes is not None else graded).shape[0]
    if backend in ("lava", "loihi"):
        from asnn_neuro.backends.lava.runner import run_lava

        res, timing = run_lava(net, as_numpy(spikes), as_numpy(graded), precision=precision, backend=backend,
                               record=record, progress=progress, mode=stream)
        return res, {"compile_s": timing.compile_s, "run_s": timing.run_s, "steps": timing.steps}
    t0 = time.perf_counter()
    if precision == "fixed":
        res = run_executor(net, spikes, graded, stream, record=record)
    else:
        if not rnet.ours:
            raise InputError(f"{rnet.path}: --precision float with --backend executor needs the trained "
                             "model (an asnn-neuro export with its checkpoint)")
        res = float_model_result(rnet, spikes, graded)
    return res, {"compile_s": 0.0, "run_s": time.perf_counter() - t0, "steps": n * net.timesteps}


def file_inputs(rnet: ResolvedNet, input_file: str, samples: int, timesteps: int | None = None):
    """(spikes, graded) from a user's .npy; a graded array makes the network read graded input.
    T is the file's (a static frame is repeated ``timesteps`` times)."""
    spikes, graded = file_frames(rnet.net, input_file, timesteps)
    return checked_frames(rnet, spikes, graded, input_file, samples, timesteps)


def checked_frames(rnet: ResolvedNet, spikes, graded, where: str, samples: int, timesteps: int | None = None):
    """The first ``samples`` of (spikes, graded) frames a user gave (``where``), checked against
    the network: its steps per sample, and graded input only where it reads one stream."""
    net = rnet.net
    steps = (spikes if spikes is not None else graded).shape[1]
    if timesteps is not None and steps != timesteps:
        raise InputError(f"{where}: {steps} time steps, but --timesteps is {timesteps}")
    if net.timesteps and steps != net.timesteps and is_imported(net):
        retime(net, steps)  # an imported NIR network runs any T: the file's
    if net.timesteps and steps != net.timesteps:
        raise InputError(f"{where}: {steps} time steps, but {rnet.path} runs {net.timesteps} per sample")
    if not net.timesteps:
        net.timesteps = steps
    if graded is not None and net.streams() == {ir.Stream.SPIKES, ir.Stream.GRADED}:
        raise InputError(f"{where}: graded (not 0/1) values, but {rnet.path} reads two input "
                         "streams (hybrid coding); give 0/1 spikes, or --dataset")
    if graded is not None:
        net.read_graded_input()
    return (None if spikes is None else spikes[:samples]), (None if graded is None else graded[:samples])


def run_simulation(net_arg: str, *, dataset: str = "mnist5k", samples: int = 100, backend: str = "lava",
                   precision: str = "fixed", name: str | None = None, input_file: str | None = None,
                   encoding: str | None = None, timesteps: int | None = None, workdir: str = "netx_exports",
                   simdir: str = "sims", progress: bool = True, seed: int = 0,
                   input_shape: tuple[int, ...] | None = None, stream: str | None = None) -> RunRecord:
    """Run ``samples`` samples of a data set (or of ``input_file``) on ``backend``; writes
    ``sims/RUN/`` (docs/run_format.md) and returns its ``RunRecord``. ``stream``: reset | fill |
    continuous (backends/stream.py); None: continuous for a NetX file we did not write, else reset."""
    validate(backend, precision, samples)
    backend = canonical_backend(backend)
    validate_foreign(encoding, timesteps, streamed=input_file is not None)
    check_name(name)
    if backend == "executor" and precision == "float" and (Path(workdir) / net_arg / "float.npz").is_file():
        from asnn_neuro.evaluate.simulate_float import simulate_float

        return simulate_float(net_arg, dataset=dataset, samples=samples, name=name, input_file=input_file,
                              encoding=encoding, timesteps=timesteps, workdir=workdir, simdir=simdir, seed=seed)
    rnet = resolve_net(net_arg, workdir, input_shape)
    mode = parse_mode(stream, rnet.net)
    labels = None
    if input_file:
        spikes, graded = file_inputs(rnet, input_file, samples, timesteps)
    else:
        if timesteps and is_imported(rnet.net):
            retime(rnet.net, timesteps)  # the import's T is only the default
        spikes, graded, labels, _ = dataset_frames(rnet, dataset, samples, seed, encoding, timesteps)
        if not rnet.net.timesteps:
            rnet.net.timesteps = timesteps
    out_dir = Path(simdir) / (name or f"{Path(rnet.label).stem}-{backend}")
    return run_frames(rnet, spikes, graded, out_dir, backend=backend, precision=precision, labels=labels,
                      dataset=None if input_file else dataset, input_file=input_file, encoding=encoding,
                      progress=progress, stream=mode)


def run_frames(rnet: ResolvedNet, spikes, graded, out_dir: Path, *, backend: str, precision: str,
               labels: np.ndarray | None = None, dataset: str | None = None, input_file: str | None = None,
               encoding: str | None = None, progress: bool = True,
               stream: StreamMode | str | None = None) -> RunRecord:
    """Run integer input frames (N, T, *input shape) on ``backend`` and write the run folder
    ``out_dir``; accuracy and the float model's agreement when ``labels`` are given. ``stream``:
    reset | fill | continuous (None: the network's default, backends/stream.py)."""
    outputs.check_target(out_dir, "simulate")  # before the run, not after it
    net = rnet.net
    stream = parse_mode(stream, net)
    t0 = time.perf_counter()
    res, timing = run_backend(rnet, spikes, graded, backend, precision, record=1, progress=progress, stream=stream)
    wall = time.perf_counter() - t0
    ref = reference_predictions(rnet, spikes, graded) if labels is not None else None
    counts = counts_arrays(res)
    layers = [LayerRecord(**row) for row in layer_counts(net, counts)]
    setup = RunSetup(
        net=rnet.label, network=str(rnet.path), backend=backend, precision=precision, timesteps=int(net.timesteps),
        input_neurons=int(np.prod(net.input.shape)), dataset=dataset,
        input_file=str(input_file) if input_file else None, encoding=net.meta.get("encoding", encoding),
        neuron=net.meta.get("neuron"), model=net.meta.get("model"),
        weight_bits=int(net.meta["weight_bits"]) if "weight_bits" in net.meta else None,
        latency_steps=int(max(net.depth())), pipeline_fill=stream == StreamMode.FILL, stream=stream.value)
    output = OutputInfo(layer=net.output.name, neurons=int(net.output.neurons),
                        values="state" if ir.is_state_readout(net.output) else
                        "message_sums" if ir.sends_values(net.output) else "spike_counts")
    raster = {"input": _first_input(spikes, graded)}
    if res.traces is not None:
        for i, tr in enumerate(res.traces):
            raster[f"layer{i}"] = tr[0]
    return record_run(out_dir, setup, res, layers, output, tuple(net.output.shape),
                      Timing(wall_s=wall, run_s=timing["run_s"], compile_s=timing["compile_s"],
                             steps=timing["steps"]), labels=labels, reference=ref, raster=raster,
                      extra={"neurobench": _neurobench(net, counts, len(res.predictions))}, counts=counts)


def simulate(net_arg: str, **options) -> dict:
    """``run_simulation`` returning the summary dict (summary.json's keys and ``run_dir``)."""
    return run_simulation(net_arg, **options).summary()


def _neurobench(net: ir.Network, counts: dict[str, np.ndarray], samples: int) -> dict:
    """NeuroBench's metrics of the run (asnn_neuro/energy/neurobench.py), per sample."""
    from asnn_neuro.energy.neurobench import neurobench_metrics

    return neurobench_metrics(net, counts, samples, int(net.timesteps))


def _first_input(spikes, graded) -> np.ndarray:
    src = spikes if spikes is not None else graded
    frames = src[0].reshape(src.shape[1], -1).numpy()
    if spikes is not None and graded is not None:
        frames = frames + graded[0].reshape(graded.shape[1], -1).numpy()
    return frames
