"""Exact synaptic counts of an IR network: fan-out per source neuron, synops, ANN MACs.

A synaptic operation (synop) is one spike (or graded event) delivered along one
synapse. Each source neuron has a fixed fan-out through a path, so the synops a run
caused are ``sum(spikes_per_neuron * fanout)``, exactly, borders included:
padding cells hold no neuron, so an edge pixel of a padded convolution drives fewer
synapses than a centre pixel.

Source neurons are indexed in torch's flattening order: (C, H, W) for maps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from asnn_neuro import ir
from asnn_neuro.errors import InputError


def _numel(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _map_shape(shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    """(C, H, W) of a feature map; a (C, W) map is read as H = 1."""
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    if len(shape) == 2:
        return int(shape[0]), 1, int(shape[1])
    raise InputError(f"{what} shape {tuple(shape)} is not a (C, H, W) feature map")


def axis_window_counts(
    n_in: int, n_out: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """For each input index along one axis: how many output windows contain it (int64, (n_in,))."""
    counts = np.zeros(n_in, dtype=np.int64)
    out = np.arange(n_out, dtype=np.int64)
    for k in range(kernel):  # loop over kernel taps only, never over neurons
        idx = out * stride - padding + k * dilation
        idx = idx[(idx >= 0) & (idx < n_in)]
        counts[idx] += 1  # distinct for a fixed tap since stride >= 1
    return counts


def _spatial_counts(path: ir.Path, src: tuple[int, int, int], dst: tuple[int, int, int]) -> np.ndarray:
    """(H_in, W_in) count of output positions whose window holds each input position."""
    kh, kw = path.kernel
    if path.weight is not None and path.kind == "conv":
        kh, kw = (int(path.weight.shape[-2]), int(path.weight.shape[-1]))
    cy = axis_window_counts(src[1], dst[1], kh, path.stride[0], path.padding[0], path.dilation[0])
    cx = axis_window_counts(src[2], dst[2], kw, path.stride[1], path.padding[1], path.dilation[1])
    return np.outer(cy, cx)


def fanout(path: ir.Path, source_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> np.ndarray:
    """Synapses each source neuron drives in the target layer through ``path`` (int64, flat).

    dense: out features; conv: (output position, output channel) pairs whose receptive
    field holds the neuron (stride, padding, dilation, groups exact); pool: windows
    holding it (same channel); identity: 1.
    """
    n_src = _numel(source_shape)
    if path.kind == "identity":
        return np.ones(n_src, dtype=np.int64)
    if path.kind == "dense":
        out = int(path.weight.shape[0]) if path.weight is not None else _numel(target_shape)
        if path.weight is not None and int(path.weight.shape[1]) != n_src:
            raise InputError(
                f"dense path: weight has {path.weight.shape[1]} inputs but its source has {n_src} neurons"
            )
        return np.full(n_src, out, dtype=np.int64)
    if path.kind in ("conv", "pool"):
        src = _map_shape(source_shape, f"{path.kind} source")
        dst = _map_shape(target_shape, f"{path.kind} target")
        spatial = _spatial_counts(path, src, dst)
        if path.kind == "pool":
            per_channel = 1
        else:
            groups = int(path.groups)
            if src[0] % groups or dst[0] % groups:
                raise InputError(f"conv path: groups={groups} does not divide channels {src[0]} -> {dst[0]}")
            if path.weight is not None and tuple(path.weight.shape[:2]) != (dst[0], src[0] // groups):
                raise InputError(f"conv path: weight shape {tuple(path.weight.shape)} does not fit channels "
                                 f"{src[0]} -> {dst[0]} with groups={groups}")
            per_channel = dst[0] // groups
        return np.broadcast_to(per_channel * spatial, (src[0],) + spatial.shape).reshape(-1).copy()
    if path.kind == "convT":
        src = _map_shape(source_shape, "convT source")
        dst = _map_shape(target_shape, "convT target")
        kh, kw = int(path.weight.shape[-2]), int(path.weight.shape[-1])
        cy = axis_tap_counts(src[1], dst[1], kh, path.stride[0], path.padding[0], path.dilation[0])
        cx = axis_tap_counts(src[2], dst[2], kw, path.stride[1], path.padding[1], path.dilation[1])
        per_channel = int(path.weight.shape[1])
        return np.broadcast_to(per_channel * np.outer(cy, cx), (src[0], src[1], src[2])).reshape(-1).copy()
    raise InputError(f"unknown synapse kind {path.kind!r}")


def axis_tap_counts(n_in: int, n_out: int, kernel: int, stride: int = 1, padding: int = 0,
                    dilation: int = 1) -> np.ndarray:
    """Transposed conv, one axis: for each input index, how many kernel taps land inside the output."""
    idx = np.arange(n_in, dtype=np.int64)[:, None] * stride - padding + np.arange(kernel)[None] * dilation
    return ((idx >= 0) & (idx < n_out)).sum(1).astype(np.int64)


def synops(
    path: ir.Path,
    source_counts: np.ndarray,
    source_shape: tuple[int, ...],
    target_shape: tuple[int, ...],
) -> int:
    """Synaptic operations: sum over source neurons of events x fan-out."""
    counts = np.asarray(source_counts, dtype=np.int64).reshape(-1)
    fan = fanout(path, source_shape, target_shape)
    if counts.size != fan.size:
        raise InputError(f"{path.kind} path: {counts.size} source counts for {fan.size} source neurons")
    return int(np.dot(counts, fan))


def source_shape(net: ir.Network, source: int) -> tuple[int, ...]:
    """Shape of a path's source: a layer, or the network input for Stream.SPIKES / Stream.GRADED."""
    return net.source_shape(source)


def path_fan_in(path: ir.Path, src_shape: tuple[int, ...]) -> int:
    """Inputs one target neuron reads in a conventional ANN pass (padding included)."""
    if path.kind == "identity":
        return 1
    if path.kind == "dense":
        return int(path.weight.shape[1]) if path.weight is not None else _numel(src_shape)
    if path.kind == "pool":
        return int(path.kernel[0]) * int(path.kernel[1])
    if path.kind == "convT":  # outputs per input: an upper bound on what one output reads
        return int(np.prod(path.weight.shape[1:]))
    if path.kind == "conv":
        c_in = _map_shape(src_shape, "conv source")[0]
        if path.weight is not None:
            return int(np.prod(path.weight.shape[1:]))
        return (c_in // int(path.groups)) * int(path.kernel[0]) * int(path.kernel[1])
    raise InputError(f"unknown synapse kind {path.kind!r}")


def ann_layer_macs(net: ir.Network) -> list[int]:
    """Per layer, MACs of one ANN inference: sum over its paths of target neurons x fan-in.

    Pool windows count their comparisons (fan-in) and identity paths their adds as MACs,
    an upper bound that keeps the ANN baseline simple.
    """
    return [
        sum(layer.neurons * path_fan_in(p, source_shape(net, p.source)) for p in layer.paths)
        for layer in net.layers
    ]


def ann_macs(net: ir.Network) -> int:
    """Multiply-accumulates of one inference of ``net`` run as a conventional ANN (one pass)."""
    return int(sum(ann_layer_macs(net)))


def is_graded(path: ir.Path) -> bool:
    """Whether a path carries graded (analog) events rather than binary spikes."""
    return path.source == ir.Stream.GRADED or bool(path.graded)


def _source_counts(counts: Mapping[str, np.ndarray], source: int, n: int) -> np.ndarray:
    inputs = {ir.Stream.SPIKES: "input_spikes", ir.Stream.GRADED: "input_graded"}
    key = inputs.get(source, f"layer{source}_spikes")
    if key not in counts:
        raise InputError(f"counts.npz: missing array {key!r}")
    arr = np.asarray(counts[key]).reshape(-1)
    if arr.dtype.kind not in "iub":
        raise InputError(f"counts.npz: {key!r} holds {arr.dtype} values, expected integer counts")
    if arr.size != n:
        raise InputError(f"counts.npz: {key!r} has {arr.size} entries, expected {n}")
    return arr


def layer_counts(net: ir.Network, counts: Mapping[str, np.ndarray]) -> list[dict]:
    """Per layer totals over all samples from counts.npz arrays (see docs/run_format.md).

    Returns ``{name, type, neurons, spikes, synops, graded_macs}``: synops are spikes into
    the layer times their fan-out; graded_macs are graded events (Stream.GRADED, graded paths,
    the nonzero messages of SDNN layers) times their fan-out: each carries a payload, so it is
    a multiply-accumulate rather than an add.
    """
    rows = []
    for i, layer in enumerate(net.layers):
        spikes = int(_source_counts(counts, i, layer.neurons).sum())
        n_syn = n_mac = 0
        for p in layer.paths:
            shape = source_shape(net, p.source)
            ops = synops(p, _source_counts(counts, p.source, _numel(shape)), shape, tuple(layer.shape))
            if is_graded(p) or (not ir.is_input(p.source) and ir.sends_values(net.layers[p.source])):
                n_mac += ops
            else:
                n_syn += ops
        rows.append(
            {
                "name": layer.name,
                "type": layer.type,
                "neurons": layer.neurons,
                "spikes": spikes,
                "synops": n_syn,
                "graded_macs": n_mac,
            }
        )
    return rows
