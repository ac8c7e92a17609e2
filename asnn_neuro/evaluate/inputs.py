"""What a run is fed: the network (an export name or any NetX file) and its input frames,
from a data set (encoded as the network was trained) or from a user's ``.npy`` array."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asnn_neuro import encoding as enc
from asnn_neuro import ir
from asnn_neuro.data import load_dataset
from asnn_neuro.deploy.netx import read_network
from asnn_neuro.encoding.frames import integer_frames
from asnn_neuro.errors import InputError
from asnn_neuro.util.outputs import refuse_float_only


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


def resolve_net(arg: str, workdir: str | Path = "netx_exports",
                input_shape: tuple[int, ...] | None = None) -> ResolvedNet:
    """Export name -> netx_exports/NAME/network.net; otherwise a path to a NetX file
    (``input_shape``: for a file without an input layer, see ``read_network``)."""
    as_export = Path(workdir) / arg / "network.net"
    if "/" not in arg and not arg.endswith(".net") and (Path(workdir) / arg).is_dir():
        if not as_export.is_file():
            refuse_float_only(workdir, arg)
            raise InputError(f"{as_export}: not exported yet (run: asnn export {arg})")
        path = as_export
    else:
        path = Path(arg)
        if not path.exists():
            raise InputError(f"{arg}: no export of that name in {workdir}/ and no such file")
    net = read_network(path, input_shape)
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


GRADED_MIN, GRADED_MAX = -(1 << 23), (1 << 23) - 1  # a graded spike's payload on Loihi 2: 24-bit signed


def check_input_values(arr: np.ndarray, path: str | Path) -> None:
    """InputError (one line, naming the first offending value) unless every value of an input file
    is finite, whole and within the graded range (see ``file_frames``)."""
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{path}: contains NaN or inf")
    for mask, why in ((arr != np.floor(arr), "is not a whole number: spikes are 0/1 and graded payloads "
                       "integers (an image in [0, 1] is sent as round(255 x))"),
                      ((arr < GRADED_MIN) | (arr > GRADED_MAX), f"is outside the chip's graded range "
                       f"[{GRADED_MIN}, {GRADED_MAX}] (24-bit signed messages)")):
        if mask.any():
            where = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), arr.shape))
            raise InputError(f"{path}: value {arr[where]:g} at index {list(where)} {why}")


def file_frames(net: ir.Network, path: str | Path, timesteps: int | None = None):
    """(spikes, graded) frames (N, T, *input shape) from a .npy: the network input in Lava's
    (x, y, z) order with time last, or flat (neurons, T) in the order a dense layer reads it
    (C, H, W), each with or without a leading sample axis (a flat network input also as (n, 1, 1)
    or (1, 1, n)); or one static (x, y, z) frame, or a file of one step, repeated
    for ``timesteps`` steps. 0/1 values are spikes, anything else graded payloads.

    The values must be whole numbers (a fraction is refused, not rounded: an image in [0, 1] is sent
    as round(255 x), which is for the user to choose) and graded payloads must fit the chip's
    24-bit signed messages, [-2**23, 2**23 - 1] (beyond it Lava keeps 32 bits, the executor 64, the
    chip 24: three different answers). A file with no samples (or no steps) is refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such input file")
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable .npy array ({type(exc).__name__})") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{path}: array of {arr.dtype}, not numbers")
    lava = tuple(net.input.shape[::-1]) if len(net.input.shape) == 3 else tuple(net.input.shape)
    n_in = int(np.prod(lava))
    flat = False
    if len(lava) == 1 and arr.ndim in (4, 5) and sorted(arr.shape[-4:-1]) == [1, 1, n_in]:
        arr = arr.reshape(*arr.shape[:-4], n_in, arr.shape[-1])  # a flat input in (x, y, z) form
    if arr.shape == lava and timesteps and len(lava) > 1:
        arr = np.repeat(np.asarray(arr)[None, ..., None], timesteps, axis=-1)  # a static frame
    elif arr.ndim == len(lava) + 1 and arr.shape[:-1] == lava:
        arr = arr[None]
    elif arr.ndim in (2, 3) and arr.shape[-2] == n_in and len(lava) > 1:
        arr, flat = (arr[None] if arr.ndim == 2 else arr), True
    if not flat and (arr.ndim != len(lava) + 2 or arr.shape[1:-1] != lava):
        raise InputError(f"{path}: array of shape {arr.shape}; the network input is {lava} (x, y, z) "
                         f"or {n_in} neurons, with time last, optionally with a leading sample axis")
    if arr.size == 0:
        raise InputError(f"{path}: array of shape {arr.shape} holds no samples (or no time steps)")
    if timesteps and arr.shape[-1] == 1 < timesteps:  # one step, cycled as lava-dl's RingBuffer source does
        arr = np.repeat(np.asarray(arr), timesteps, axis=-1)
    arr = np.asarray(arr, dtype=np.float64)
    check_input_values(arr, path)
    ints = arr.astype(np.int64)
    if flat:
        ints = np.moveaxis(ints, -1, 1).reshape(ints.shape[0], ints.shape[-1], *net.input.shape)
    elif len(lava) == 3:
        ints = ints.transpose(0, 4, 3, 2, 1)  # (N, x, y, z, T) -> (N, T, C, H, W)
    else:
        ints = np.moveaxis(ints, -1, 1)
    binary = bool(np.isin(ints, (0, 1)).all())
    frames = torch.from_numpy(ints)
    return (frames, None) if binary else (None, frames)


def array_frames(shape: tuple[int, ...], x, where: str = "x", integer: bool = True):
    """(spikes, graded) frames (N, T, *shape) from an array-like ``x`` shaped (N, T, *shape) in
    torch order (C, H, W) or (N, T, neurons): 0/1 values are spikes, anything else graded
    payloads (rounded to integers when ``integer``, as the chip reads them)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{where}: array of {arr.dtype}, not numbers")
    n_in = int(np.prod(shape))
    if arr.ndim == 3 and arr.shape[2] == n_in:
        arr = arr.reshape(arr.shape[0], arr.shape[1], *shape)
    if arr.ndim != len(shape) + 2 or tuple(arr.shape[2:]) != tuple(shape) or 0 in arr.shape[:2]:
        raise InputError(f"{where}: array of shape {arr.shape}; expected (samples, steps, *{tuple(shape)}) "
                         f"or (samples, steps, {n_in})")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{where}: contains NaN or inf")
    binary = bool(np.isin(arr, (0, 1)).all())
    frames = torch.from_numpy(np.rint(arr).astype(np.int64) if integer or binary else arr.astype(np.float32))
    return (frames, None) if binary else (None, frames)
