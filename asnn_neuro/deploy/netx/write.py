"""Write the IR as NetX HDF5 (lava-dl's exchange format).

Stock layers are written exactly as lava-dl's NetX protocol describes them (``input``,
``conv``, ``dense``, ``flatten``; CUBA neurons), so lava-dl's own ``netx.hdf5.Network``
reads them. Max pooling is written as a depthwise ``conv`` (all-ones kernel, CUBA neuron
with threshold 0): an OR of spikes that every NetX loader runs. The ASNN neuron and extra
input paths use the documented extension (docs/netx_schema.md): ``neuron/type = 'ASNN'``
with ``leak``/``gain`` schedules, and an ``asnn/`` group per layer.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip.neurons import registry
from asnn_neuro.deploy.netx.format import FORMAT
from asnn_neuro.errors import UnsupportedLayerError
from asnn_neuro.util import atomic


def _str(group: h5py.Group, key: str, value: str) -> None:
    group.create_dataset(key, (1,), "S10", [value.encode("ascii")])


def _write_path_fields(g: h5py.Group, path: ir.Path, in_shape: tuple[int, ...]) -> None:
    if path.kind == "conv":
        g.create_dataset("weight", data=path.weight.astype(np.int64))
        g.create_dataset("inChannels", data=int(in_shape[0]))
        g.create_dataset("outChannels", data=int(path.weight.shape[0]))
        g.create_dataset("kernelSize", data=np.array(path.kernel))
        g.create_dataset("stride", data=np.array(path.stride))
        g.create_dataset("padding", data=np.array(path.padding))
        g.create_dataset("dilation", data=np.array(path.dilation))
        g.create_dataset("groups", data=int(path.groups))
    elif path.kind == "dense":
        g.create_dataset("weight", data=path.weight.astype(np.int64))
        g.create_dataset("inFeatures", data=int(path.weight.shape[1]))
        g.create_dataset("outFeatures", data=int(path.weight.shape[0]))
    else:
        raise UnsupportedLayerError(f"path kind '{path.kind}' cannot be written")


def _write_ext_path(g: h5py.Group, path: ir.Path) -> None:
    g.create_dataset("source", data=ir.source_code(path.source))
    g.create_dataset("shift", data=int(path.shift))
    g.create_dataset("mask", data=np.array(path.mask if path.mask is not None else (), dtype=np.int64))
    g.create_dataset("graded", data=int(path.graded))
    g.create_dataset("weightExponent", data=int(path.grid.exponent))
    g.create_dataset("weightBits", data=int(path.grid.bits))


def _write_neuron(g: h5py.Group, neuron: ir.Neuron) -> None:
    """The kind's NetX fields: text as a string, a tuple as an int64 array, a number as a scalar."""
    for key, value in registry.of(neuron).netx_write(neuron).items():
        if isinstance(value, str):
            _str(g, key, value)
        elif isinstance(value, tuple):
            g.create_dataset(key, data=np.array(value, dtype=np.int64))
        else:
            g.create_dataset(key, data=value)


def _shape_of(net: ir.Network, source: int) -> tuple[int, ...]:
    return net.source_shape(source)


def _concat_count(net: ir.Network, i: int) -> int:
    """How many leading paths of layer i come from layers (written as one concatenated synapse);
    a recurrent path (dense_rec's weight_rec) does not count."""
    paths = [p for p in net.layers[i].paths if p.source != i]
    n = 1
    if not ir.is_input(paths[0].source):
        while n < len(paths) and not ir.is_input(paths[n].source):
            n += 1
    where = f"layer '{net.layers[i].name}'"
    if any(not ir.is_input(p.source) for p in paths[n:]):
        raise UnsupportedLayerError(f"{where}: paths from layers must come before input-stream paths")
    if n > 1 and paths[0].source != i - 1:
        raise UnsupportedLayerError(f"{where}: a skip (concat) layer must read the previous layer first")
    return n


def _expand_conv(path: ir.Path, main: ir.Path, where: str) -> np.ndarray:
    """Weights of a conv path as a groups=1 kernel of ``main``'s geometry (centred, zero border)."""
    w = np.asarray(path.weight, dtype=np.int64)
    if path.groups > 1:
        out, per_in = w.shape[0], w.shape[1]
        per_out = out // path.groups
        full = np.zeros((out, per_in * path.groups, *w.shape[2:]), dtype=np.int64)
        for o in range(out):
            g = o // per_out
            full[o, g * per_in:(g + 1) * per_in] = w[o]
        w = full
    pads = [main.padding[a] - path.padding[a] for a in (0, 1)]
    grow = [main.kernel[a] - path.kernel[a] for a in (0, 1)]
    if path.stride != main.stride or path.dilation != main.dilation or path.dilation != (1, 1) \
            or any(g != 2 * p or p < 0 for g, p in zip(grow, pads)):
        raise UnsupportedLayerError(f"{where}: a concatenated conv path needs the main path's stride and "
                                    f"a centred kernel (got kernel {path.kernel}, padding {path.padding})")
    return np.pad(w, ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])))


def _concat_main(net: ir.Network, i: int, n: int) -> tuple[ir.Path, tuple[int, ...]]:
    """The concatenated synapse of layer i's first n paths, and the concat's shape."""
    layer = net.layers[i]
    paths, main = layer.paths[:n], layer.paths[0]
    where = f"layer '{layer.name}'"
    shapes = [_shape_of(net, p.source) for p in paths]
    if any(p.kind != main.kind or p.kind not in ("conv", "dense") for p in paths):
        raise UnsupportedLayerError(f"{where}: only conv or only dense paths can be concatenated")
    if main.kind == "dense":
        if any(len(s) != 1 for s in shapes):
            raise UnsupportedLayerError(f"{where}: dense concat needs vector sources")
        weight = np.concatenate([np.asarray(p.weight, dtype=np.int64) for p in paths], axis=1)
        return replace(main, weight=weight), (sum(s[0] for s in shapes),)
    if len({s[1:] for s in shapes}) != 1:
        raise UnsupportedLayerError(f"{where}: concatenated sources differ in size: {shapes}")
    weight = np.concatenate([_expand_conv(p, main, where) for p in paths], axis=1)
    return replace(main, weight=weight, groups=1), (sum(s[0] for s in shapes), *shapes[0][1:])


def _total_bias(paths: list[ir.Path], shape: tuple[int, ...]) -> np.ndarray | None:
    """Sum of the paths' biases: one per channel where that holds them all, else one per neuron."""
    if all(p.bias is None for p in paths):
        return None
    total = ir.summed_bias(paths, shape)
    per_channel = total.reshape(shape[0], -1)
    return per_channel[:, 0].copy() if np.all(per_channel == per_channel[:, :1]) else total.reshape(-1)


def _write_native_geometry(pg: h5py.Group, path: ir.Path) -> None:
    """A concatenated conv path's own geometry (the reader crops the centred kernel back)."""
    pg.create_dataset("kernelSize", data=np.array(path.kernel))
    pg.create_dataset("stride", data=np.array(path.stride))
    pg.create_dataset("padding", data=np.array(path.padding))
    pg.create_dataset("dilation", data=np.array(path.dilation))
    pg.create_dataset("groups", data=int(path.groups))


def _recurrent(layer: ir.Layer, i: int) -> ir.Path | None:
    """The path that feeds layer ``i`` its own spikes of the previous step, if any."""
    return next((p for p in layer.paths if p.source == i), None)


def _check_recurrent(layer: ir.Layer, i: int) -> None:
    """A recurrent path is written as lava-dl's ``dense_rec``: one dense input + dense ``weight_rec``."""
    rec = _recurrent(layer, i)
    if rec is None:
        return
    if len(layer.paths) != 2 or layer.paths[1] is not rec or rec.kind != "dense" or layer.paths[0].kind != "dense":
        raise UnsupportedLayerError(f"layer '{layer.name}': a recurrent path is written only as NetX dense_rec "
                                    f"(one dense input, then dense recurrent weights); this layer has paths "
                                    f"{[p.kind for p in layer.paths]} from {[p.source for p in layer.paths]}")


def write_network(net: ir.Network, path: str | Path) -> Path:
    """Write ``net`` as NetX HDF5 at ``path`` (atomically).

    A layer with several paths from layers (a residual add) is written as the protocol's
    ``concat`` layer (previous layer + ``layers`` ids) followed by one conv whose weight is the
    concatenation along input channels (narrower kernels centred, depthwise ones expanded);
    each path's own geometry, bias, shift and mask are kept in the ``asnn/pathK`` groups.
    """

    for i, layer in enumerate(net.layers):  # what lava-dl files bring and this writer has no form for
        if registry.of(layer.neuron).netx_write is None:
            raise UnsupportedLayerError(f"layer '{layer.name}': writing {layer.neuron.kind} neurons is not supported")
        if any(p.kind == "convT" or p.imag for p in layer.paths):
            raise UnsupportedLayerError(f"layer '{layer.name}': writing transposed convs or complex paths is not "
                                        "supported")
        _check_recurrent(layer, i)

    def writer(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["timesteps"] = int(net.timesteps)
            for key, value in net.meta.items():
                f.attrs[key] = value
            layers = f.create_group("layer")
            idx = 0
            g = layers.create_group(str(idx))
            _str(g, "type", "input")
            g.create_dataset("shape", data=np.array(net.input.shape))
            g.create_dataset("asnn/graded", data=int(net.input.graded))
            h5_index: dict[int, int] = {}
            for i, layer in enumerate(net.layers):
                n_cat = _concat_count(net, i)
                main = layer.paths[0]
                in_shape = _shape_of(net, main.source)
                bias = main.bias
                if n_cat > 1:
                    main, in_shape = _concat_main(net, i, n_cat)
                    bias = _total_bias(layer.paths[:n_cat], layer.shape)
                    idx += 1
                    cg = layers.create_group(str(idx))
                    _str(cg, "type", "concat")
                    cg.create_dataset("shape", data=np.array(in_shape))
                    extra = [h5_index[p.source] for p in layer.paths[1:n_cat]]
                    cg.create_dataset("layers", data=np.array(extra))
                elif main.kind == "dense" and len(in_shape) > 1:
                    idx += 1
                    fl = layers.create_group(str(idx))
                    _str(fl, "type", "flatten")
                    fl.create_dataset("shape", data=np.array([int(np.prod(in_shape))]))
                rec = _recurrent(layer, i)
                if rec is not None:
                    bias = _total_bias(layer.paths, layer.shape)
                idx += 1
                h5_index[i] = idx
                g = layers.create_group(str(idx))
                _str(g, "type", "dense_rec" if rec is not None else main.kind)
                g.create_dataset("shape", data=np.array(layer.shape))
                g.create_dataset("name", data=layer.name)
                _write_path_fields(g, main, in_shape)
                if rec is not None:
                    g.create_dataset("weight_rec", data=rec.weight.astype(np.int64))
                if bias is not None and np.any(bias):
                    g.create_dataset("bias", data=np.asarray(bias, dtype=np.int64))
                if layer.delay is not None:  # steps per neuron: the synaptic input arrives late
                    g.create_dataset("delay", data=np.asarray(layer.delay, dtype=np.int64).reshape(-1))
                _write_neuron(g.create_group("neuron"), layer.neuron)
                ext = g.create_group("asnn")
                ext.create_dataset("index", data=i)
                if rec is not None:  # its shift, mask, grid and own bias (lava-dl reads weight_rec only)
                    _write_ext_path(rg := ext.create_group("rec"), rec)
                    if rec.bias is not None:
                        rg.create_dataset("bias", data=np.asarray(rec.bias, dtype=np.int64))
                for k, path in enumerate(layer.paths[:1] if rec is not None else layer.paths):
                    pg = ext.create_group(f"path{k}")
                    _write_ext_path(pg, path)
                    if path.bias is not None:
                        pg.create_dataset("bias", data=np.asarray(path.bias, dtype=np.int64))
                    if k >= n_cat:
                        _str(pg, "type", path.kind)
                        _write_path_fields(pg, path, _shape_of(net, path.source))
                    elif n_cat > 1 and path.kind == "conv":
                        _write_native_geometry(pg, path)

    return atomic.write_with(path, writer, suffix=".net")


