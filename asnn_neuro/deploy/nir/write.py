"""``asnn export NAME --format nir``: a deployed CUBA network as a NIR graph.

Each IR layer becomes its synapse nodes (``Conv2d`` with groups for conv and pool paths,
``Flatten`` + ``Affine`` for dense ones) feeding one ``CubaLIF`` node; several paths into a layer
are several edges into it (NIR sums them). With one step = ``DT`` seconds:

    tau_syn = DT 4096 / iDecay, tau_mem = DT 4096 / vDecay, r = tau_mem / DT, w_in = tau_syn / DT,
    v_threshold = vThMant, weights and biases = the deployed integers (Lava scales them all by 2**6).

Loihi adds the bias to the voltage, NIR's Cuba models add it to the current: the bias is written
as b (1 - alpha) (alpha = 1 - iDecay/4096), so that its steady state is the same (exact when
iDecay = 4096, our default). Importing the file with ``--source nir`` gives back the same integers.

Refused, with the reason: the ASNN neuron (per-step leak and gain schedules, a per-step path mask:
NIR has no time-varying neuron, and a reader that ignored an extension would run a different
network), graded (8-bit payload) input paths, axonal delays and recurrent paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.util import atomic

DT = 1e-4  # seconds per step in the written time constants (the common NIR choice)
NO_DECAY_TAU = 1e30  # tau_mem (in steps) written for vDecay = 0: a leak of 1e-30 per step


def _refuse(layer: ir.Layer, why: str) -> UnsupportedLayerError:
    return UnsupportedLayerError(f"layer '{layer.name}': {why}; NIR export refused (see docs/nir.md)")


def _ungrouped(p: ir.Path, in_channels: int) -> np.ndarray:
    """A grouped conv's weight as the equivalent full one (NIR 1.0's type check ignores groups)."""
    w = np.asarray(p.weight, dtype=np.float64)
    if p.groups == 1:
        return w
    out, per_in = w.shape[0], w.shape[1]
    full = np.zeros((out, in_channels, *w.shape[2:]))
    per_out = out // p.groups
    for o in range(out):
        g = o // per_out
        full[o, g * per_in:(g + 1) * per_in] = w[o]
    return full


def to_nir_graph(net: ir.Network):
    """The ``nir.NIRGraph`` of ``net`` (stock CUBA layers only)."""
    try:
        import nir
    except ImportError:
        raise InputError("writing NIR needs the 'nir' package (pip install -e '.[nir]')") from None
    nodes = {"input": nir.Input(input_type={"input": np.array(net.input.shape)})}
    edges: list[tuple[str, str]] = []
    names = [f"layer{i}" for i in range(len(net.layers))]
    for i, layer in enumerate(net.layers):
        n = layer.neuron
        kind = registry.of(n)
        if kind.nir != "CubaLIF":  # the one node this writer builds
            raise _refuse(layer, kind.nir_refusal or f"{n.kind} neurons are not exported to NIR")
        if any(p.kind == "convT" for p in layer.paths):
            raise _refuse(layer, "transposed convolutions are not exported to NIR")
        if layer.delay is not None and np.any(layer.delay):
            raise _refuse(layer, "axonal delays are not exported")
        alpha = 1.0 - n.i_decay / lim.DECAY_ONE
        bias = ir.summed_bias(layer.paths, layer.shape).astype(np.float64) * (1.0 - alpha)
        for k, p in enumerate(layer.paths):
            if p.graded or p.source == ir.Stream.GRADED:
                raise _refuse(layer, "graded (8-bit payload) input paths have no NIR form")
            if p.source == i:
                raise _refuse(layer, "recurrent paths are not exported")
            src = "input" if ir.is_input(p.source) else names[p.source]
            src_shape = net.source_shape(p.source)
            node = f"{names[i]}.path{k}"
            b = bias if k == 0 else np.zeros_like(bias)
            if p.kind == "conv":
                per_channel = b.reshape(layer.shape[0], -1)
                if np.ptp(per_channel, axis=1).max(initial=0) > 0:
                    raise _refuse(layer, "a per-neuron bias on a conv layer has no NIR Conv2d form")
                nodes[node] = nir.Conv2d(input_shape=tuple(src_shape[1:]), weight=_ungrouped(p, src_shape[0]),
                                         stride=p.stride, padding=p.padding, dilation=p.dilation, groups=1,
                                         bias=per_channel[:, 0].copy())
            elif p.kind == "dense":
                if len(src_shape) > 1:
                    flat = f"{node}.flatten"
                    nodes[flat] = nir.Flatten(input_type={"input": np.array(src_shape)}, start_dim=0, end_dim=-1)
                    edges.append((src, flat))
                    src = flat
                nodes[node] = nir.Affine(weight=np.asarray(p.weight, dtype=np.float64), bias=b.reshape(-1).copy())
            else:
                raise _refuse(layer, f"path kind '{p.kind}' is not exported")
            edges.append((src, node))
            edges.append((node, names[i]))
        shape = layer.shape
        tau_syn = DT * lim.DECAY_ONE / n.i_decay
        tau_mem = DT * lim.DECAY_ONE / n.v_decay if n.v_decay else DT * NO_DECAY_TAU
        full = np.ones(shape)
        nodes[names[i]] = nir.CubaLIF(tau_syn=full * tau_syn, tau_mem=full * tau_mem, r=full * tau_mem / DT,
                                      v_leak=full * 0.0, v_threshold=full * float(n.vth_mant),
                                      v_reset=full * 0.0, w_in=full * tau_syn / DT)
    nodes["output"] = nir.Output(output_type={"output": np.array(net.layers[-1].shape)})
    edges.append((names[-1], "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def write_nir(net: ir.Network, target: str | Path) -> Path:
    """Write ``net`` as a NIR file at ``target`` (atomically)."""
    import nir

    graph = to_nir_graph(net)
    return atomic.write_with(target, lambda tmp: nir.write(str(tmp), graph), suffix=".nir")


def export_nir(name: str, workdir: str | Path = "netx_exports") -> Path:
    """``netx_exports/NAME/network.net`` -> ``netx_exports/NAME/network.nir``."""
    from asnn_neuro.deploy.netx import read_network

    d = Path(workdir) / name
    if not (d / "network.net").is_file():
        raise InputError(f"{d / 'network.net'}: not exported yet (run: asnn export {name})")
    net = read_network(d / "network.net")
    try:
        return write_nir(net, d / "network.nir")
    except UnsupportedLayerError as exc:
        raise UnsupportedLayerError(f"{d / 'network.net'}: {exc}") from None
