"""Build a Lava process graph from the IR (``ir.Network``).

Stock parts are Lava's own processes: ``Conv`` / ``Dense`` synapses and, for
CUBA layers, ``LIFReset`` -- the same processes lava-dl's NetX blocks assemble.
ASNN layers use ``AdaptiveNeuron``; every other neuron kind a ``KindNeuron``, which runs the
kind's own step (``chip.neurons``). Inputs come from ``FrameSource`` processes
(a binary and/or a graded stream), every layer's output goes to a ``SpikeProbe``.

Timing: a layer at depth d (see ``ir.Network.depth``) sees step t of sample k at
Lava step k*P + t + d + 1, P = T (T + latency in the ``fill`` stream mode). When a layer
starts from rest is the stream mode's (``backends.stream``): in ``reset`` CUBA layers reset
with ``reset_offset = (d + 1) % T``, in ``fill`` every layer at each sample's entry (and every
synaptic input is silenced then), in ``continuous`` never. Samples stream through one
compiled network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from lava.magma.core.process.process import AbstractProcess
from lava.proc.conv.process import Conv
from lava.proc.dense.process import Dense
from lava.proc.lif.process import LIF, LIFReset

from asnn_neuro import ir
from asnn_neuro.backends.lava.processes import (
    AdaptiveNeuron,
    FrameSource,
    IntegerConv,
    KindNeuron,
    SampleGate,
    SpikeProbe,
    SynapticDelay,
)
from asnn_neuro.backends.stream import Clock, StreamMode, lava_period
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
from asnn_neuro.deploy.netx.validate import check_conv_shape
from asnn_neuro.errors import UnsupportedLayerError


def lava_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """IR (C, H, W) -> Lava (W, H, C); vectors unchanged."""
    return tuple(shape[::-1]) if len(shape) == 3 else tuple(shape)


def to_lava(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A per-neuron or per-channel array in IR layout -> Lava layout (W, H, C)."""
    arr = np.asarray(arr, dtype=np.int64).reshape(-1)
    if arr.size == 1:
        arr = np.full(int(np.prod(shape)), arr[0])
    elif len(shape) == 3 and arr.size == shape[0]:
        arr = np.broadcast_to(arr[:, None, None], shape).reshape(-1)
    return arr.reshape(shape).transpose(tuple(range(len(shape)))[::-1]).copy() if len(shape) == 3 \
        else arr.reshape(shape).copy()


def dense_weights(weight: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """Weights + weight_exp for Lava's bit-accurate Dense, which keeps only even weights in [-256, 254]
    (mixed sign) or [0, 255]; a left shift with a matching exponent keeps the sums exact."""
    w = np.asarray(weight, dtype=np.int64)
    if w.min() >= 0 and w.max() <= 255:
        return w, 0
    if w.min() >= -256 and w.max() <= 254 and not np.any(w % 2):
        return w, 0
    if w.min() >= -128 and w.max() <= 127:
        return w << 1, -1
    raise UnsupportedLayerError(f"{where}: weights in [{w.min()}, {w.max()}] exceed Loihi's 8-bit synapse")


@dataclass
class LavaGraph:
    net: ir.Network
    depths: list[int]
    neurons: list[AbstractProcess] = field(default_factory=list)
    probes: list[SpikeProbe] = field(default_factory=list)
    probe_paths: list[Path] = field(default_factory=list)
    sources: dict[ir.Stream, FrameSource] = field(default_factory=dict)
    mode: StreamMode = StreamMode.RESET
    conv: str = "stock"  # "stock": Lava's Conv process; "integer": our IntegerConv for every conv

    @property
    def root(self) -> AbstractProcess:
        return next(iter(self.sources.values()))

    @property
    def latency(self) -> int:
        return max(self.depths)


def build_graph(net: ir.Network, frame_files: dict[ir.Stream, Path], samples: int, workdir: Path,
                record: int = 0, mode: StreamMode = StreamMode.RESET, conv: str = "stock") -> LavaGraph:
    """Processes for ``net``; ``frame_files`` maps Stream.SPIKES / Stream.GRADED to .npy frame files
    (in ``fill`` mode each sample's frames followed by ``latency`` zero frames). ``conv="integer"``
    runs every conv in our ``IntegerConv`` (the same integers, about 3x fewer ms per step on the
    bench LeNet, docs/benchmarks.md) instead of Lava's own ``Conv``, which stays the default: the
    Lava graph is the reference, so its arithmetic is Lava's wherever Lava has a process for it."""
    if conv not in ("stock", "integer"):
        raise ValueError(f"conv must be 'stock' or 'integer', got {conv!r}")
    T = net.timesteps
    graph = LavaGraph(net=net, depths=net.depth(), mode=mode, conv=conv)
    period = lava_period(mode, net)
    in_shape = lava_shape(net.input.shape)
    for stream, path in frame_files.items():
        graph.sources[stream] = FrameSource(shape=in_shape, frames_path=str(path))
    for i, (layer, depth) in enumerate(zip(net.layers, graph.depths)):
        shape = lava_shape(layer.shape)
        groups = layer.port_groups()
        clock = Clock(mode, period, depth, T)
        neuron = _neuron(layer, shape, groups, clock)
        graph.neurons.append(neuron)
        line = None
        if layer.delay is not None:  # CUBA only (validate.check_ranges): one port, delayed per neuron
            line = SynapticDelay(shape=shape, delay=to_lava(layer.delay, layer.shape), clock=clock,
                                 name=f"{layer.name}.delay")
            line.a_out.connect(neuron.a_in)
        for port_name, paths in groups.items():
            port = getattr(neuron, _PORTS[port_name], neuron.a_in)  # a stock process has one input port
            target_port = line.a_in if line is not None else port
            for p in paths:
                target = target_port
                if _gated(p, i, mode):  # silent when the layer starts from rest
                    gate = SampleGate(shape=shape, clock=clock, name=f"{layer.name}.gate{p.source}")
                    gate.a_out.connect(target)
                    target = gate.a_in
                _connect(graph, net, layer, p, target)
        is_output = i == len(net.layers) - 1
        probe_path = workdir / f"probe{i}.npz"
        probe = SpikeProbe(shape=shape, clock=clock, samples=samples, out_path=str(probe_path),
                           record=samples if is_output else record, graded=ir.sends_values(layer))
        neuron.s_out.connect(probe.a_in)
        graph.probes.append(probe)
        graph.probe_paths.append(probe_path)
    return graph


def lif_bias(bias: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """(bias_mant, bias_exp) for Lava's LIF: effective bias = bias << 6 in 13-bit mantissa form."""
    top = int(np.abs(bias).max(initial=0))
    if top <= lim.LIF_BIAS_MANT_MAX:
        return bias, 6
    if top <= lim.LIF_BIAS_MAX and not np.any(bias % 2):
        return bias >> 1, 7
    raise UnsupportedLayerError(f"{where}: bias up to {top} exceeds Loihi's 13-bit bias mantissa")


_PORTS = {"spike": "a_in", "graded": "a_graded", "imag": "a_imag"}  # IR port -> process port


def _gated(p: ir.Path, i: int, mode: StreamMode) -> bool:
    """Does path ``p`` into layer ``i`` pass a ``SampleGate``: a recurrent path (not in
    ``continuous``), and in ``fill`` every synapse (it holds one step of the previous sample)."""
    if mode == StreamMode.CONTINUOUS:
        return False
    return p.source == i or (mode == StreamMode.FILL and p.kind != "identity")


def _neuron(layer: ir.Layer, shape, groups, clock: Clock) -> AbstractProcess:
    """The layer's neuron process: the kind's dedicated process, or ``KindNeuron`` running its step."""
    builder = _DEDICATED.get(registry.of(layer.neuron).lava, _kind_neuron)
    return builder(layer, shape, groups, clock)


def _kind_neuron(layer: ir.Layer, shape, groups, clock: Clock) -> KindNeuron:
    live = {name: paths for name, paths in groups.items() if paths}
    return KindNeuron(shape=shape, params=layer.neuron, clock=clock, name=layer.name,
                      bias={k: to_lava(ir.summed_bias(v, layer.shape), layer.shape) for k, v in live.items()},
                      shift={k: v[0].shift for k, v in live.items()}, mask={k: v[0].mask for k, v in live.items()})


def _lif_reset(layer: ir.Layer, shape, groups, clock: Clock) -> LIF:
    """Lava's stock LIF (CUBA) as lava-dl's NetX blocks build it: ``LIFReset`` resetting at each
    sample's start for the clock (``reset``, ``fill``), plain ``LIF`` in ``continuous``."""
    n = layer.neuron
    if not 0 <= n.vth_mant <= lim.LIF_VTH_MAX or not -1 <= n.du < lim.DECAY_ONE or not 0 <= n.dv <= lim.DECAY_ONE:
        raise UnsupportedLayerError(f"layer '{layer.name}': CUBA parameters out of Loihi's ranges "
                                    f"(vThMant {n.vth_mant}, iDecay {n.i_decay}, vDecay {n.v_decay})")
    mant, exp = lif_bias(ir.summed_bias(layer.paths, layer.shape), f"layer '{layer.name}'")
    common = dict(shape=shape, vth=int(n.vth_mant), du=int(n.du), dv=int(n.dv), bias_mant=to_lava(mant, layer.shape),
                  bias_exp=exp, name=layer.name)
    if clock.mode == StreamMode.CONTINUOUS:
        return LIF(**common)
    first = 1 if clock.mode == StreamMode.FILL else clock.offset + 1  # Lava step of the sample's first update
    return LIFReset(**common, reset_interval=clock.period, reset_offset=first % clock.period)


def _adaptive(layer: ir.Layer, shape, groups, clock: Clock) -> AdaptiveNeuron:
    """The ASNN neuron's own process (it also has a float model)."""
    n = layer.neuron
    T = clock.steps
    if n.period not in (1, T):
        raise UnsupportedLayerError(f"layer '{layer.name}': schedule of {n.period} steps in a T={T} network")
    spk, grd = groups["spike"], groups["graded"]
    ones = np.ones(T, dtype=np.int64)
    reps = T // n.period  # a one-step schedule repeats every step
    return AdaptiveNeuron(
        shape=shape, leak=np.tile(n.leak, reps), gain=np.tile(n.gain, reps),
        spike_bias=to_lava(ir.summed_bias(spk, layer.shape), layer.shape),
        graded_bias=to_lava(ir.summed_bias(grd, layer.shape), layer.shape),
        spike_shift=spk[0].shift if spk else 0, graded_shift=grd[0].shift if grd else 0,
        spike_mask=np.tile(spk[0].mask, reps) if spk and spk[0].mask else (ones if spk else ones * 0),
        graded_mask=np.tile(grd[0].mask, reps) if grd and grd[0].mask else (ones if grd else ones * 0),
        period=T, clock=clock, readout=n.readout, threshold=int(n.threshold), reset=n.reset_amount,
        name=layer.name,
    )


_DEDICATED = {"lif_reset": _lif_reset, "adaptive": _adaptive}  # a kind's ``lava`` -> its process builder


def _connect(graph: LavaGraph, net: ir.Network, layer: ir.Layer, p: ir.Path, port) -> None:
    src_out = graph.sources[p.source].s_out if ir.is_input(p.source) else graph.neurons[p.source].s_out
    src_shape = net.source_shape(p.source)
    bits = 24 if not ir.is_input(p.source) and ir.sends_values(net.layers[p.source]) else 8 if p.graded else 0
    where = f"layer '{layer.name}'"
    if p.kind == "identity":
        src_out.connect(port)
        return
    if p.kind == "dense":
        weights, exp = dense_weights(p.weight, where)
        syn = Dense(weights=weights, weight_exp=exp, num_weight_bits=8, num_message_bits=bits,
                    name=f"{layer.name}.dense")
        if len(src_shape) == 3:
            src_out.transpose([2, 1, 0]).flatten().connect(syn.s_in)
        else:
            src_out.connect(syn.s_in)
        syn.a_out.connect(port)
        return
    wide = p.kind == "conv" and (graph.conv == "integer"
                                 or max(src_shape[1:]) + 2 * max(p.padding) > 127)  # Lava's Conv: int8 sizes
    if p.kind == "convT" or wide:
        if wide:
            check_conv_shape(p, src_shape, layer.shape, lambda msg: UnsupportedLayerError(f"{where}: {msg}"))
        syn = IntegerConv(in_shape=lava_shape(src_shape), out_shape=lava_shape(layer.shape), weight=p.weight,
                          stride=p.stride, padding=p.padding, dilation=p.dilation, groups=p.groups,
                          transposed=p.kind == "convT", name=f"{layer.name}.{p.kind}")
        src_out.connect(syn.s_in)
        syn.a_out.connect(port)
        return
    if p.kind == "conv":
        # IR (out, in, kH, kW) torch weights -> Lava (out, W, H, in), spatially flipped (see netx).
        weight = np.asarray(p.weight, dtype=np.int64)[:, :, ::-1, ::-1].transpose(0, 3, 2, 1).copy()
        syn = Conv(weight=weight, input_shape=lava_shape(src_shape), padding=p.padding[::-1],
                   stride=p.stride[::-1], dilation=p.dilation[::-1], groups=p.groups, num_message_bits=bits,
                   name=f"{layer.name}.conv")
        if tuple(syn.output_shape) != lava_shape(layer.shape):
            raise UnsupportedLayerError(f"{where}: conv output {tuple(syn.output_shape)} != layer shape")
        src_out.connect(syn.s_in)
        syn.a_out.connect(port)
        return
    raise UnsupportedLayerError(f"{where}: path kind '{p.kind}' has no Lava synapse")
