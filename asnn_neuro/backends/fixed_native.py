"""The executor's fused path: one compiled pass per layer and step (``chip/fixed_kernel.c``).

For an ASNN or CUBA layer whose ports are each driven by one float32 conv / dense synapse (or an
identity path), the kernel reads the synapses' float32 sums, clamps them like Lava's conv, runs
the neuron's integer update (``fixed_point``'s arithmetic, state in int32: every state is a
24-bit value), writes the float32 output the next synapse reads, and counts the events, in one
pass; an OR pool of a spiking layer likewise. Any other layer (other neuron kinds, other pooling,
several paths into a port, float64 sums, transposed convs) takes the torch path; so does every
layer when the kernel cannot be built (no C compiler, ``ASNN_NATIVE=0``). The two paths give
the same integers (tests/test_fixed_native.py). ``run_by_layer`` runs a network whose layers
are all fused and not recurrent one layer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons.asnn import AdaptiveNeuron
from asnn_neuro.chip.neurons.cuba import CubaNeuron
from asnn_neuro.neurons import native

EXACT_SUM = 1 << 24  # a float32 synaptic sum is an exact integer below this (fixed_point.EXACT_FLOAT32)
FUSED_KINDS = ("ASNN", "CUBA")  # the neuron kinds the kernel runs (neurons/asnn.py, neurons/cuba.py)


@dataclass
class FusedPort:
    """One driven port: its single path, bias per neuron (int64, accumulator units), the clamp of
    its sums (0: none), the path's shift and per-step mask."""

    path: ir.Path
    bias: torch.Tensor
    clamp: float
    shift: int
    mask: tuple[int, ...] | None
    bias_f64: torch.Tensor | None = None  # ASNN: the bias as float64 (the kernel computes in exact doubles)

    def live(self, t: int) -> bool:
        return self.mask is None or bool(self.mask[t % len(self.mask)])


@dataclass
class FusedLayer:
    """A layer the kernel runs, with its state for the batch being run (int32, (N * neurons,)):
    u (and v for CUBA), the delay ring ((D + 1) * N * neurons, CUBA only) and the events per
    sample and neuron counted so far."""

    neuron: AdaptiveNeuron | CubaNeuron
    shape: tuple[int, ...]
    ports: list[FusedPort]
    bias: torch.Tensor  # CUBA: the summed bias of every port, per neuron
    delay: torch.Tensor | None = None  # CUBA: steps per neuron (int64)
    state: list[torch.Tensor] = field(default_factory=list)
    ring: torch.Tensor | None = None
    count: torch.Tensor | None = None
    events: int = 0  # counted by the last step
    bias_f64: torch.Tensor | None = None  # CUBA: ``bias`` as float64 (the kernel's exact doubles)

    neurons: int = 0
    size: int = 0  # N * neurons of the batch being run

    def __post_init__(self) -> None:
        self.neurons = int(np.prod(self.shape))

    @property
    def is_cuba(self) -> bool:
        return self.neuron.kind == "CUBA"

    def reset(self, n: int) -> None:
        """Resting state and zero counts for a batch of n samples."""
        self.size = size = n * self.neurons
        self.state = [torch.zeros(size, dtype=torch.int32) for _ in range(2 if self.is_cuba else 1)]
        self.count = torch.zeros(size, dtype=torch.int32)
        if self.delay is not None:
            self.ring = torch.zeros((int(self.delay.max()) + 1) * size, dtype=torch.int32)
        p, ports = self.neuron, self.ports + [self.ports[0]] * (2 - len(self.ports))
        clamp = [f.clamp for f in ports]
        if self.is_cuba:
            ring = self.ring
            self.bias_f64 = self.bias.to(torch.float64)
            self._args = (clamp, self.bias.data_ptr(), self.bias_f64.data_ptr(),
                          None if ring is None else ring.data_ptr(), 0 if ring is None else ring.numel() // size,
                          None if self.delay is None else self.delay.data_ptr(), self.state[0].data_ptr(),
                          self.state[1].data_ptr(), p.du + lim.LIF_DS_OFFSET, p.dv,
                          int(p.vth_mant) << lim.LIF_VTH_SHIFT)
        else:
            self._args = (clamp, [f.bias_f64.data_ptr() for f in ports], [f.shift for f in ports],
                          self.state[0].data_ptr(), int(p.threshold), p.reset_amount, int(p.readout))

    def step(self, t: int, accs: list[torch.Tensor | None], n: int, count: bool) -> torch.Tensor:
        """One update at step t from the ports' float32 sums (None: not driven this step).
        Returns the output (N, *shape) float32: spikes, or a readout's state. ``count``: add the
        step's events to ``count`` and ``events`` (a readout counts none)."""
        out = torch.empty((n, *self.shape), dtype=torch.float32)
        accs = [None if a is None else a.contiguous() for a in accs]  # held until the call returns
        ptr = [None if a is None else a.data_ptr() for a in accs]
        self.call(t, ptr[0], ptr[1] if len(ptr) > 1 else None, out.data_ptr(), count)
        return out

    def call(self, t: int, acc0: int | None, acc1: int | None, out: int, count: bool) -> None:
        """``step`` on addresses: the ports' float32 sums (N * neurons each, None: not driven) and
        the output buffer; sets ``events``."""
        lib = native.fixed_kernel()
        p, threads = self.neuron, torch.get_num_threads()
        cnt = self.count.data_ptr() if count and not getattr(p, "readout", False) else None
        if self.is_cuba:
            clamp, bias, bias_f64, ring, slots, delay, u, v, du, dv, vth = self._args
            self.events = lib.cuba_step(self.size, self.neurons, acc0, clamp[0], acc1, clamp[1], bias, bias_f64,
                                        ring, slots, delay, t, u, v, du, dv, vth, out, cnt, threads)
            return
        clamp, bias, shift, u, threshold, reset, readout = self._args
        k = t % p.period
        gain = int(p.gain[k])
        self.events = lib.asnn_step(self.size, self.neurons, acc0, bias[0], clamp[0], gain, shift[0],
                                    acc1, bias[1], clamp[1], gain, shift[1], u, int(p.leak[k]), threshold, reset,
                                    readout, out, cnt, threads)


    def run_steps(self, steps: int, accs: list[torch.Tensor | None], rows: list[torch.Tensor], out: torch.Tensor,
                  events: torch.Tensor) -> None:
        """All steps at once (``run_by_layer``): step t reads port k's sums at row rows[k][t] of
        accs[k] (< 0: not driven), writes out[t]; events[t] (int64) gets its count."""
        lib = native.fixed_kernel()
        p, threads = self.neuron, torch.get_num_threads()
        none = torch.full((steps,), -1, dtype=torch.int64)
        accs, rows = accs + [None] * (2 - len(accs)), rows + [none] * (2 - len(rows))
        a = [None if x is None else x.data_ptr() for x in accs]
        r = [x.data_ptr() for x in rows]
        cnt = None if getattr(p, "readout", False) else self.count.data_ptr()
        if self.is_cuba:
            clamp, bias, bias_f64, ring, slots, delay, u, v, du, dv, vth = self._args
            lib.cuba_steps(steps, self.size, self.neurons, a[0], r[0], clamp[0], a[1], r[1], clamp[1], bias, bias_f64,
                           ring, slots, delay, u, v, du, dv, vth, out.data_ptr(), cnt, events.data_ptr(), threads)
            return
        clamp, bias, shift, u, threshold, reset, readout = self._args
        gain = torch.tensor([int(p.gain[t % p.period]) for t in range(steps)], dtype=torch.int64)
        leak = torch.tensor([int(p.leak[t % p.period]) for t in range(steps)], dtype=torch.int64)
        lib.asnn_steps(steps, self.size, self.neurons, a[0], r[0], bias[0], clamp[0], shift[0], a[1], r[1], bias[1],
                       clamp[1], shift[1], gain.data_ptr(), leak.data_ptr(), u, threshold, reset, readout,
                       out.data_ptr(), cnt, events.data_ptr(), threads)


@dataclass
class FusedPool:
    """An OR-pool layer (``ir.or_pool``: kernel == stride, no padding, one channel per group) of
    a spiking source, run by the kernel: a 1 where any input of the window is > 0."""

    source: int
    shape: tuple[int, ...]  # (C, H', W')
    kernel: tuple[int, int]
    count: torch.Tensor | None = None
    events: int = 0

    def reset(self, n: int) -> None:
        self.count = torch.zeros(n * int(np.prod(self.shape)), dtype=torch.int32)

    def step(self, x: torch.Tensor, count: bool) -> torch.Tensor:
        """The pooled spikes (N, C, H', W') float32 of x (N, C, H, W) float32."""
        x = x.contiguous()
        n, c, h, w = x.shape
        out = torch.empty((n, *self.shape), dtype=torch.float32)
        self.call(x.data_ptr(), n * c, h, w, out.data_ptr(), count)
        return out

    def run_steps(self, x: torch.Tensor, out: torch.Tensor, events: torch.Tensor) -> None:
        """All steps at once: x (T, N, C, H, W) float32 contiguous -> out (T, N, C, H', W')."""
        steps, n, c, h, w = x.shape
        native.fixed_kernel().or_pool_steps(steps, x.data_ptr(), n * c, h, w, self.kernel[0], self.kernel[1],
                                            out.data_ptr(), self.count.data_ptr(), events.data_ptr(),
                                            torch.get_num_threads())

    def call(self, x: int, planes: int, h: int, w: int, out: int, count: bool) -> None:
        """``step`` on addresses (x: planes * h * w float32); sets ``events``."""
        self.events = native.fixed_kernel().or_pool(x, planes, h, w, self.kernel[0], self.kernel[1], out,
                                                    self.count.data_ptr() if count else None,
                                                    torch.get_num_threads())


def tally(count: torch.Tensor, n: int) -> tuple[np.ndarray, list[int]]:
    """(events per neuron (int64), per sample) of an (n * neurons,) int32 tally."""
    neurons = count.numel() // max(n, 1)
    per_neuron, per_sample = np.zeros(neurons, dtype=np.int64), np.zeros(n, dtype=np.int64)
    native.fixed_kernel().tally_sums(count.data_ptr(), n, neurons, per_neuron.ctypes.data, per_sample.ctypes.data)
    return per_neuron, per_sample.tolist()


def plan_pool(layer: ir.Layer, pool: ir.Path, source: ir.Layer, binary: bool) -> FusedPool | None:
    """The fused form of an OR-pool layer whose source layer sends float32 spikes (``binary``),
    or None: the same cases the torch path runs as ``max_pool2d(x) > 0``."""
    if not binary or native.fixed_kernel() is None or len(layer.shape) != 3 or len(source.shape) != 3:
        return None
    if tuple(pool.kernel) != tuple(pool.stride) or tuple(pool.padding) != (0, 0) or tuple(pool.dilation) != (1, 1) \
            or np.asarray(pool.weight).shape[1] != 1 or pool.groups != source.shape[0]:
        return None
    (c, h, w), (kh, kw) = source.shape, pool.kernel
    if tuple(layer.shape) != (c, h // kh, w // kw):
        return None
    return FusedPool(pool.source, tuple(layer.shape), (int(pool.kernel[0]), int(pool.kernel[1])))


def _exact_in_double(bias: torch.Tensor, gains: tuple[int, ...], shift: int) -> bool:
    """Every ASNN port input (acc + bias) * gain * 2**-shift of a float32-exact sum (|acc| < 2**24)
    stays below 2**52 (so the kernel's double arithmetic is exact)."""
    big = (EXACT_SUM + (int(bias.abs().max()) if bias.numel() else 0)) * max(abs(int(g)) for g in gains)
    return big << max(0, -shift) < 1 << 52


def plan(layer: ir.Layer, groups: dict[str, list[ir.Path]], biases: dict[str, torch.Tensor], synapses: dict,
         float_out: list[bool], pooled: bool) -> FusedLayer | None:
    """The fused form of ``layer``, or None when it takes the torch path. ``synapses``: the
    executor's ``_Synapse`` per path id; ``float_out[j]``: layer j sends float32 0/1 spikes."""
    p = layer.neuron
    if pooled or p.kind not in FUSED_KINDS or groups.get("imag"):
        return None
    if native.fixed_kernel() is None:
        return None
    if p.kind == "ASNN" and layer.delay is not None:
        return None
    ports = []
    for name in ("spike", "graded"):
        paths = groups.get(name) or []
        if not paths:
            continue
        if len(paths) > 1:
            return None
        path = paths[0]
        syn = synapses[id(path)]
        if path.kind == "identity":
            src_float = ir.is_input(path.source) or float_out[path.source]
            if not src_float or layer.delay is not None:
                return None
            clamp = 0.0
        elif path.kind in ("conv", "dense") and syn.dtype == torch.float32:
            clamp = float(lim.CONV_CLAMP) if path.kind == "conv" else 0.0
        else:
            return None
        bias = biases[name].reshape(-1).contiguous()
        port = FusedPort(path, bias, clamp, int(path.shift), path.mask)
        if p.kind == "ASNN":
            if path.kind == "identity" or not _exact_in_double(bias, p.gain, port.shift):
                return None
            port.bias_f64 = bias.to(torch.float64)
        ports.append(port)
    if not ports:
        return None
    total = sum((f.bias for f in ports[1:]), ports[0].bias).contiguous()
    if p.kind == "CUBA" and int(total.abs().max()) >= 1 << 40:  # the kernel's doubles: bias << 6 exact
        return None
    delay = None
    if layer.delay is not None:
        try:
            d = torch.from_numpy(np.asarray(layer.delay, dtype=np.int64))
            delay = torch.broadcast_to(d, tuple(layer.shape)).reshape(-1).contiguous()
        except RuntimeError:
            return None
        if int(delay.min()) < 0:
            return None
    return FusedLayer(p, tuple(layer.shape), ports, total, delay)


def run_by_layer(fused: list, layers: list[ir.Layer], synapses: dict, spikes: torch.Tensor,
                 graded: torch.Tensor) -> tuple[list[torch.Tensor], list[np.ndarray]]:
    """Every step of one layer before the next layer (a network without recurrent paths or
    pipeline fill, every layer fused): one synapse call per port over the N x (live steps) frames,
    then one kernel call per step. spikes / graded: (N, T, ...) float32. Returns per layer its
    outputs (T, N, *shape) float32 and its events per step."""
    n, steps = spikes.shape[0], spikes.shape[1]
    streams = {ir.Stream.SPIKES: spikes.transpose(0, 1).contiguous(),
               ir.Stream.GRADED: graded.transpose(0, 1).contiguous()}
    outs: list[torch.Tensor] = []
    events: list[np.ndarray] = []
    for layer, f in zip(layers, fused):
        out = torch.empty((steps, n, *layer.shape), dtype=torch.float32)
        ev = torch.zeros(steps, dtype=torch.int64)
        if isinstance(f, FusedPool):
            f.run_steps(outs[f.source].contiguous(), out, ev)
        else:
            accs, rows = [], []
            for port in f.ports:
                live = [t for t in range(steps) if port.live(t)]
                row = torch.full((steps,), -1, dtype=torch.int64)
                row[live] = torch.arange(len(live))
                rows.append(row)
                if not live:  # masked at every step
                    accs.append(None)
                    continue
                src = streams[port.path.source] if ir.is_input(port.path.source) else outs[port.path.source]
                x = src if len(live) == steps else src[live]
                acc = synapses[id(port.path)](x.reshape(len(live) * n, *x.shape[2:]), tuple(layer.shape), raw=True)
                accs.append(acc.contiguous())
            f.run_steps(steps, accs, rows, out, ev)
        outs.append(out)
        events.append(ev.numpy())
    return outs, events
