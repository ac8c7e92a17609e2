"""Simulation stage: run N samples through a deployed network, record what it did.

Backends:
- ``lava``: the Lava CPU simulator (``Loihi2SimCfg``), fixed point (default) or float;
- ``slayer``: PyTorch -- ``--precision fixed`` is the bit-exact fixed-point executor
  (a proven stand-in for Lava, see ``asnn verify``), ``--precision float`` the trained
  SLAYER model itself;
- ``loihi``: Loihi 2 through lava-loihi when it is installed.

NET is an export name (``netx_exports/NET/network.net``) or a path to any NetX file.
Writes ``sims/RUN/summary.json``, ``counts.npz`` and ``raster.npz`` (docs/run_format.md).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asnn_neuro import encoding as enc
from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.backends.results import ExecResult
from asnn_neuro.data import load_dataset
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.encoding.frames import as_numpy, float_frames, integer_frames
from asnn_neuro.energy.fanout import layer_counts
from asnn_neuro.errors import InputError
from asnn_neuro.util import atomic

BACKENDS = ("lava", "slayer", "loihi")
PRECISIONS = ("fixed", "float")
MAX_SAMPLES = 1_000_000


@dataclass
class ResolvedNet:
    """A network file and, when it is one of our exports, its training artefacts."""

    label: str
    path: Path
    net: ir.Network
    checkpoint: Path | None

    @property
    def ours(self) -> bool:
        return self.checkpoint is not None


def resolve_net(arg: str, workdir: str | Path = "netx_exports") -> ResolvedNet:
    """Export name -> netx_exports/NAME/network.net; otherwise a path to a NetX file."""
    as_export = Path(workdir) / arg / "network.net"
    if "/" not in arg and not arg.endswith(".net") and (Path(workdir) / arg).is_dir():
        if not as_export.is_file():
            raise InputError(f"{as_export}: not exported yet (run: asnn export {arg})")
        path = as_export
    else:
        path = Path(arg)
        if not path.exists():
            raise InputError(f"{arg}: no export of that name in {workdir}/ and no such file")
    net = read_network(path)
    try:
        net.depth()
    except ValueError as exc:  # skip paths whose delays differ: no pipeline can run it
        raise InputError(f"{path}: {exc}") from None
    ckpt = path.parent / "checkpoint.pt"
    return ResolvedNet(label=arg, path=path.resolve(), net=net, checkpoint=ckpt if ckpt.is_file() else None)


def calibration_of(net: ir.Network):
    raw = net.meta.get("calibration")
    return enc.TemporalEqCalibration.from_dict(json.loads(raw)) if raw else None


def dataset_frames(rnet: ResolvedNet, dataset: str, samples: int, seed: int = 0, encoding: str | None = None,
                   timesteps: int | None = None):
    """(spikes, graded, labels, x) for the first ``samples`` test images of ``dataset``."""
    net = rnet.net
    scheme = net.meta.get("encoding") or encoding
    steps = net.timesteps or timesteps
    if not scheme or not steps:
        raise InputError(f"{rnet.path}: not an asnn-neuro export; give --encoding and --timesteps "
                         "(or --input FILE.npy)")
    data = load_dataset(dataset, seed=int(net.meta.get("seed", seed)) if rnet.ours else seed)
    if tuple(data.shape) != tuple(net.input.shape) and int(np.prod(data.shape)) != int(np.prod(net.input.shape)):
        raise InputError(f"dataset '{dataset}' has images of shape {data.shape}, "
                         f"but {rnet.path} expects {net.input.shape}")
    n = min(samples, len(data.test_y))
    x = data.test_x[:n].reshape(n, *net.input.shape) if len(net.input.shape) != 3 else data.test_x[:n]
    if len(net.input.shape) != 3:
        x = x.reshape(n, 1, 1, -1)
    spikes, graded = integer_frames(x, scheme, steps, calibration=calibration_of(net), seed=seed)
    if len(net.input.shape) != 3:
        spikes = None if spikes is None else spikes.reshape(n, steps, *net.input.shape)
        graded = None if graded is None else graded.reshape(n, steps, *net.input.shape)
    return spikes, graded, data.test_y[:n].numpy(), data.test_x[:n]


def file_frames(net: ir.Network, path: str | Path):
    """Frames from a .npy shaped like the network input in Lava order with time last."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such input file")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable .npy array ({type(exc).__name__})") from None
    lava = tuple(net.input.shape[::-1]) if len(net.input.shape) == 3 else tuple(net.input.shape)
    if arr.ndim == len(lava) + 1 and arr.shape[:-1] == lava:
        arr = arr[None]
    if arr.ndim != len(lava) + 2 or arr.shape[1:-1] != lava:
        raise InputError(f"{path}: array of shape {arr.shape}; the network input is {lava} (x, y, z) "
                         "with time last, optionally with a leading sample axis")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{path}: contains NaN or inf")
    ints = np.rint(arr).astype(np.int64)
    if len(lava) == 3:
        ints = ints.transpose(0, 4, 3, 2, 1)  # (N, x, y, z, T) -> (N, T, C, H, W)
    else:
        ints = np.moveaxis(ints, -1, 1)
    binary = bool(np.isin(ints, (0, 1)).all())
    frames = torch.from_numpy(ints)
    return (frames, None) if binary else (None, frames)


def _counts_arrays(net: ir.Network, res: ExecResult) -> dict[str, np.ndarray]:
    arrays = {"input_spikes": res.input_spikes, "input_graded": res.input_graded}
    for i, c in enumerate(res.layers):
        arrays[f"layer{i}_spikes"] = np.asarray(c.per_neuron, dtype=np.int64)
        arrays[f"layer{i}_per_step"] = np.asarray(c.per_step, dtype=np.int64)
    return arrays


def reference_predictions(rnet: ResolvedNet, spikes, graded) -> np.ndarray | None:
    """The float SLAYER model's predictions on the same integer input streams."""
    if not rnet.ours:
        return None
    from asnn_neuro.training.checkpoint import load_model

    model, _, _ = load_model(rnet.checkpoint)
    preds = []
    with torch.no_grad():
        n = (spikes if spikes is not None else graded).shape[0]
        for i in range(0, n, 200):
            s = None if spikes is None else spikes[i:i + 200]
            g = None if graded is None else graded[i:i + 200]
            preds.append(model(float_frames(s, g)).argmax(1).numpy())
    return np.concatenate(preds)


def float_model_result(rnet: ResolvedNet, spikes, graded) -> ExecResult:
    """Counts and scores of the float SLAYER model (``--backend slayer --precision float``)."""
    from asnn_neuro.training.checkpoint import load_model

    model, _, _ = load_model(rnet.checkpoint)
    net = rnet.net
    n = (spikes if spikes is not None else graded).shape[0]
    from asnn_neuro.backends.results import Counts

    counts = None
    scores = []
    with torch.no_grad():
        for i in range(0, n, 200):
            s = None if spikes is None else spikes[i:i + 200]
            g = None if graded is None else graded[i:i + 200]
            out, trace = model(float_frames(s, g), record=True)
            scores.append(out.numpy())
            if len(trace) != len(net.layers) - 1:
                continue
            if counts is None:
                counts = [Counts(np.zeros(layer.neurons, np.int64), np.zeros(net.timesteps, np.int64), [])
                          for layer in net.layers]
            for c, tr in zip(counts, trace):
                flat = tr.reshape(tr.shape[0], -1, tr.shape[-1])
                c.per_neuron += flat.sum((0, 2)).round().long().numpy()
                c.per_step += flat.sum((0, 1)).round().long().numpy()
                c.per_sample.extend(flat.sum((1, 2)).round().long().tolist())
    if counts is None:
        counts = [Counts(np.zeros(layer.neurons, np.int64), np.zeros(net.timesteps, np.int64), [0] * n)
                  for layer in net.layers]
    else:
        counts[-1].per_sample = [0] * n
    zeros = torch.zeros(1)
    s = spikes if spikes is not None else zeros
    g = graded if graded is not None else zeros
    return ExecResult(scores=np.concatenate(scores), layers=counts,
                      input_spikes=(s != 0).sum((0, 1)).reshape(-1).numpy() if spikes is not None else
                      np.zeros(int(np.prod(net.input.shape)), np.int64),
                      input_graded=(g != 0).sum((0, 1)).reshape(-1).numpy() if graded is not None else
                      np.zeros(int(np.prod(net.input.shape)), np.int64))


def validate_run_name(name: str | None) -> None:
    if name is not None and (not name or "/" in name or name.startswith(".")):
        raise InputError(f"--name '{name}' must be a plain folder name")


def validate_foreign(encoding: str | None, timesteps: int | None) -> None:
    """--encoding / --timesteps for a foreign network: known scheme, a sane number of steps."""
    if encoding is not None and encoding not in enc.SCHEMES:
        raise InputError(f"unknown encoding '{encoding}'; choose one of: {', '.join(enc.SCHEMES)}")
    if timesteps is not None and not 1 <= timesteps <= enc.MAX_TIMESTEPS:
        raise InputError(f"--timesteps must be between 1 and {enc.MAX_TIMESTEPS}, got {timesteps}")


def validate(backend: str, precision: str, samples: int) -> None:
    if backend not in BACKENDS:
        raise InputError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision '{precision}'; choose one of: {', '.join(PRECISIONS)}")
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"--samples must be between 1 and {MAX_SAMPLES}, got {samples}")


def run_backend(rnet: ResolvedNet, spikes, graded, backend: str, precision: str, record: int = 0,
                progress: bool = True) -> tuple[ExecResult, dict]:
    """Run one backend; returns its result and timing facts."""
    net = rnet.net
    n = (spikes if spikes is not None else graded).shape[0]
    if backend in ("lava", "loihi"):
        from asnn_neuro.backends.lava.runner import run_lava

        res, timing = run_lava(net, as_numpy(spikes), as_numpy(graded), precision=precision, backend=backend,
                               record=record, progress=progress)
        return res, {"compile_s": timing.compile_s, "run_s": timing.run_s, "steps": timing.steps}
    t0 = time.perf_counter()
    if precision == "fixed":
        res = FixedExecutor(net).run(spikes, graded, record=record)
    else:
        if not rnet.ours:
            raise InputError(f"{rnet.path}: --precision float with --backend slayer needs the trained "
                             "model (an asnn-neuro export with its checkpoint)")
        res = float_model_result(rnet, spikes, graded)
    return res, {"compile_s": 0.0, "run_s": time.perf_counter() - t0, "steps": n * net.timesteps}


def simulate(net_arg: str, *, dataset: str = "mnist5k", samples: int = 100, backend: str = "lava",
             precision: str = "fixed", name: str | None = None, input_file: str | None = None,
             encoding: str | None = None, timesteps: int | None = None, workdir: str = "netx_exports",
             simdir: str = "sims", progress: bool = True, seed: int = 0) -> dict:
    validate(backend, precision, samples)
    validate_foreign(encoding, timesteps)
    validate_run_name(name)
    rnet = resolve_net(net_arg, workdir)
    net = rnet.net
    labels = None
    if input_file:
        spikes, graded = file_frames(net, input_file)
        steps = (spikes if spikes is not None else graded).shape[1]
        if net.timesteps and steps != net.timesteps:
            raise InputError(f"{input_file}: {steps} time steps, but {rnet.path} runs {net.timesteps} "
                             "per sample")
        if not net.timesteps:
            net.timesteps = steps
        if graded is not None and net.streams() == {ir.INPUT_SPIKES, ir.INPUT_GRADED}:
            raise InputError(f"{input_file}: graded (not 0/1) values, but {rnet.path} reads two input "
                             "streams (hybrid coding); give 0/1 spikes, or --dataset")
        if graded is not None:
            for layer in net.layers:
                for p in layer.paths:
                    if ir.is_input(p.source):
                        p.source, p.graded = ir.INPUT_GRADED, True
        n = (spikes if spikes is not None else graded).shape[0]
        if samples < n:
            spikes = None if spikes is None else spikes[:samples]
            graded = None if graded is None else graded[:samples]
    else:
        spikes, graded, labels, _ = dataset_frames(rnet, dataset, samples, seed, encoding, timesteps)
        if not net.timesteps:
            net.timesteps = timesteps
    n = (spikes if spikes is not None else graded).shape[0]
    run_name = name or f"{Path(rnet.label).stem}-{backend}"
    t0 = time.perf_counter()
    res, timing = run_backend(rnet, spikes, graded, backend, precision, record=1, progress=progress)
    wall = time.perf_counter() - t0
    preds = res.predictions
    ref = reference_predictions(rnet, spikes, graded) if labels is not None else None
    counts = _counts_arrays(net, res)
    per_layer = layer_counts(net, counts)
    for entry, c in zip(per_layer, res.layers):
        entry["per_step_spikes"] = [int(v) for v in c.per_step]
    summary = {
        "net": rnet.label, "network": str(rnet.path), "backend": backend, "precision": precision,
        "dataset": None if input_file else dataset, "input_file": str(input_file) if input_file else None,
        "samples": int(n), "timesteps": int(net.timesteps), "encoding": net.meta.get("encoding", encoding),
        "neuron": net.meta.get("neuron"), "model": net.meta.get("model"),
        "weight_bits": int(net.meta["weight_bits"]) if "weight_bits" in net.meta else None,
        "accuracy": float(np.mean(preds == labels)) if labels is not None else None,
        "reference_accuracy": float(np.mean(ref == labels)) if ref is not None else None,
        "agreement": float(np.mean(preds == ref)) if ref is not None else None,
        "wall_s": wall, "run_s": timing["run_s"], "compile_s": timing["compile_s"],
        "steps": timing["steps"],
        "steps_per_s": timing["steps"] / timing["run_s"] if timing["run_s"] > 0 else None,
        "samples_per_s": n / timing["run_s"] if timing["run_s"] > 0 else None,
        "latency_steps": int(max(net.depth())),
        "input": {"neurons": int(np.prod(net.input.shape)), "spikes": int(res.input_spikes.sum()),
                  "graded_events": int(res.input_graded.sum())},
        "layers": per_layer,
        "predictions": preds.tolist(),
    }
    raster = {"input": _first_input(spikes, graded)}
    if res.traces is not None:
        for i, tr in enumerate(res.traces):
            raster[f"layer{i}"] = tr[0]
    out_dir = Path(simdir) / run_name
    with atomic.atomic_dir(out_dir) as tmp:
        atomic.write_json(tmp / "summary.json", summary)
        np.savez(tmp / "counts.npz", **counts)
        np.savez(tmp / "raster.npz", **raster)
    summary["run_dir"] = str(out_dir)
    return summary


def _first_input(spikes, graded) -> np.ndarray:
    src = spikes if spikes is not None else graded
    frames = src[0].reshape(src.shape[1], -1).numpy()
    if spikes is not None and graded is not None:
        frames = frames + graded[0].reshape(graded.shape[1], -1).numpy()
    return frames
