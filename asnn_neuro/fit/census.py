"""What the partitioner needs of a network: per layer its shape, neuron type and synaptic paths.

A network comes from our NetX reader when it can read the file; files it refuses (e.g. SDNN
neurons) are read here directly from the HDF5: fit needs only shapes, weights and the neuron
type, never the neuron's arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.util.h5budget import check_file


@dataclass
class FitLayer:
    """A population to place: shape in torch order, neuron type name, paths into it."""

    name: str
    shape: tuple[int, ...]
    neuron: str
    paths: list[ir.Path]

    @property
    def neurons(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class Census:
    """The layers of one network; ``origin`` says how they were read."""

    input_shape: tuple[int, ...]
    layers: list[FitLayer]
    origin: str
    timesteps: int | None = None
    notes: list[str] = field(default_factory=list)


def from_network(net: ir.Network, origin: str = "asnn NetX reader") -> Census:
    """Census of an IR network."""
    layers = [FitLayer(lay.name, tuple(lay.shape), lay.neuron.kind, list(lay.paths)) for lay in net.layers]
    return Census(tuple(net.input.shape), layers, origin, net.timesteps or None)


def read_census(path: str | Path) -> Census:
    """Census of a NetX file: our reader first; the file's HDF5 directly when the reader refuses it."""
    from asnn_neuro.deploy.netx.read import read_network

    path = Path(path)
    try:
        return from_network(read_network(path))
    except (UnsupportedLayerError, InputError) as exc:
        if not path.is_file():
            raise
        why = " ".join(str(exc).replace(str(path), "").split()).lstrip(": ")
        census = _read_hdf5(path)
        census.notes.append(f"read from the HDF5 directly (the asnn reader refuses this file: {why})")
        return census


def _text(g, key: str) -> str:
    v = g[key][()]
    v = v[0] if isinstance(v, np.ndarray) and v.size == 1 else v
    return v.decode() if isinstance(v, bytes) else str(v)


def _ints(g, key: str, default=None) -> np.ndarray:
    if key not in g:
        if default is None:
            raise KeyError(key)
        return np.asarray(default)
    return np.asarray(g[key][()]).reshape(-1).astype(np.int64)


def _pair(g, key: str, default: int) -> tuple[int, int]:
    v = _ints(g, key, [default, default])
    return (int(v[0]), int(v[-1]))


def _neuron(g) -> str:
    return _text(g["neuron"], "type") if "neuron" in g and "type" in g["neuron"] else "none"


def _implied_input(g, kind: str, where: str) -> tuple[int, ...]:
    """Input shape of a first layer that has no input layer before it (dense or conv)."""
    if kind == "dense":
        return (int(np.asarray(g["weight"][()]).reshape(int(np.prod(_ints(g, "shape"))), -1).shape[1]),)
    if kind == "conv":
        w = np.asarray(g["weight"][()])
        c, h, wd = (int(v) for v in _ints(g, "shape"))
        (sh, sw), (ph, pw), (dh, dw) = _pair(g, "stride", 1), _pair(g, "padding", 0), _pair(g, "dilation", 1)
        return (int(w.shape[1]) * int(_ints(g, "groups", [1])[0]),
                (h - 1) * sh - 2 * ph + dh * (w.shape[2] - 1) + 1, (wd - 1) * sw - 2 * pw + dw * (w.shape[3] - 1) + 1)
    raise InputError(f"{where}: the first layer must be an input, dense or conv layer")


def _read_hdf5(path: Path) -> Census:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            check_file(path, f)  # the size budget, before any dataset is read
            return _census_of(path, f)
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise InputError(f"{path}: cannot count its layers ({type(exc).__name__}: {exc})") from None


def _census_of(path: Path, f) -> Census:
    group = f["layer"]
    keys = sorted(group.keys(), key=int)
    layers: list[FitLayer] = []
    source: ir.Source = ir.Stream.SPIKES
    shape: tuple[int, ...] | None = None
    input_shape: tuple[int, ...] | None = None
    for k in keys:
        g = group[k]
        kind = _text(g, "type")
        where = f"{path}: layer {k}"
        if kind == "input":
            input_shape = shape = tuple(int(s) for s in _ints(g, "shape"))
            if "neuron" in g:  # a lava-dl Input block: neurons driven one-to-one by the host
                layers.append(FitLayer("input", shape, _neuron(g), [ir.Path(source=ir.Stream.SPIKES,
                                                                               kind="identity")]))
                source = 0
            continue
        if shape is None:  # no input layer (lava-dl allows it): the host feeds the first layer
            input_shape = shape = _implied_input(g, kind, where)
        if kind == "flatten":
            shape = (int(np.prod(shape)),)
            continue
        out_shape = tuple(int(s) for s in _ints(g, "shape"))
        if kind in ("dense", "average"):
            n_out, n_in = int(np.prod(out_shape)), int(np.prod(shape))
            if kind == "average":
                w = np.kron(np.eye(n_out, dtype=np.int64), np.ones((1, n_in // n_out), dtype=np.int64))
            else:
                w = np.asarray(g["weight"][()]).reshape(n_out, n_in)
            p = ir.Path(source=source, kind="dense", weight=w)
            out_shape = (n_out,)
        elif kind == "conv":
            w = np.asarray(g["weight"][()])
            if w.ndim == 5:  # lava-dl may store (out, in, kH, kW, 1)
                w = w[..., 0]
            p = ir.Path(source=source, kind="conv", weight=w, kernel=(int(w.shape[-2]), int(w.shape[-1])),
                        stride=_pair(g, "stride", 1), padding=_pair(g, "padding", 0),
                        dilation=_pair(g, "dilation", 1), groups=int(_ints(g, "groups", [1])[0]))
        elif kind == "pool":
            p = ir.Path(source=source, kind="pool", kernel=_pair(g, "kernelSize", 1),
                        stride=_pair(g, "stride", 1), padding=_pair(g, "padding", 0))
        else:
            raise UnsupportedLayerError(f"{where}: layer type '{kind}' is not counted by fit "
                                        "(input, conv, dense, pool, average, flatten)")
        layers.append(FitLayer(f"{kind}{k}", out_shape, _neuron(g), [p]))
        source, shape = len(layers) - 1, out_shape
    if input_shape is None or not layers:
        raise InputError(f"{path}: no input layer or no layers after it")
    return Census(input_shape, layers, "HDF5 (fit census)")
