"""Bit-exact torch executor of the IR: Loihi fixed point, vectorised over a batch.

It computes, for every sample, step and layer, exactly the integers the Lava
fixed-point graph computes (same kernels from ``fixed_point``, same port sums,
same rounding), but without the pipeline: layer l at step t reads layer l-1 at
step t (the Lava graph does the same one step later per layer). This makes it
the fast way to evaluate a whole test set at chip precision, and the reference
that ``asnn verify`` compares Lava against, spike by spike.

ASNN and CUBA layers fed by float32 conv / dense / identity paths, and OR pools, run their
neuron update, output and event counting in one compiled pass (``fixed_native``,
``chip/fixed_kernel.c``); every other layer, and every layer when no C compiler is at hand or
``native`` is False, runs the torch ops below. Both give the same integers. When every layer
is fused and no path is recurrent (and no pipeline fill), the run goes layer by layer (one
synapse call per port over all steps, ``fixed_native.run_by_layer``) instead of step by step;
``order`` says which ran.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro import ir
from asnn_neuro.backends import fixed_native
from asnn_neuro.backends.results import Counts, ExecResult
from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
from asnn_neuro.chip.neurons.base import Drive, PortDrive
from asnn_neuro.errors import InputError
from asnn_neuro.util.cpu_memory import keep_large_allocations
from asnn_neuro.util.threads import threads_for_batch


def states_shape(layer: ir.Layer, like: torch.Tensor) -> tuple[int, ...]:
    """(N, *layer shape): the shape of a layer's state for a batch like ``like`` (N, ...)."""
    return (like.shape[0], *layer.shape)


class _Synapse:
    """A path's weights, cached in the cheapest float type that keeps every sum exact."""

    def __init__(self, path: ir.Path, wide: bool = False):
        self.path = path
        if path.kind == "identity":
            return
        w = np.asarray(path.weight, dtype=np.float64)
        graded = path.graded or path.source == ir.Stream.GRADED
        # wide: the source sends values beyond 8 bits (sigma-delta messages): float64 keeps them exact
        self.dtype = torch.float32 if not wide and fx.sums_exact_in_float32(w, graded) else torch.float64
        self.weight = torch.as_tensor(w, dtype=self.dtype)
        if path.kind == "dense":
            self.weight = self.weight.T.contiguous()
        self.np_weight = w

    def __call__(self, x: torch.Tensor, out_shape: tuple[int, ...], raw: bool = False) -> torch.Tensor:
        """Integer synaptic sums for a batch of source activity x (N, *src_shape). ``raw`` (a
        float32 conv / dense / identity path, float32 x): the float32 sums, exact integers, not
        yet clamped (what the fused kernel reads)."""
        p, n = self.path, x.shape[0]
        if raw:
            if p.kind == "identity":
                return x.reshape(n, *out_shape)
            if p.kind == "dense":
                return x.reshape(n, -1) @ self.weight
            return F.conv2d(x, self.weight, stride=p.stride, padding=p.padding, dilation=p.dilation, groups=p.groups)
        if p.kind == "identity":
            return x.reshape(n, *out_shape).to(torch.int64)
        if p.kind == "convT":
            return fx.conv_transpose(x.to(torch.int64), self.np_weight, p.stride, p.padding, p.dilation, p.groups,
                                     tuple(out_shape[1:]))
        xf = x.to(self.dtype)  # sums of integers stay exact integers in this float type
        if p.kind == "dense":
            return (xf.reshape(n, -1) @ self.weight).to(torch.int64).reshape(n, *out_shape)
        acc = F.conv2d(xf, self.weight, stride=p.stride, padding=p.padding, dilation=p.dilation, groups=p.groups)
        return acc.clamp(-lim.CONV_CLAMP, lim.CONV_CLAMP).to(torch.int64)


class FixedExecutor:
    """Runs an ``ir.Network`` on integer frames. Build once, call ``run`` per batch."""

    def __init__(self, net: ir.Network, fill: bool = False):
        """``fill``: run each sample as lava-dl's loader does from a fresh start (no reset): a layer
        ``d`` synapses deep already runs the ``d`` steps before the input reaches it (the pipeline
        fill), so a bias acts before the first input. Default: every layer starts at rest when
        the sample's first input reaches it (our Lava graph; lava-dl's loader with a reset)."""
        self.net = net
        self.fill = fill
        self.T = net.timesteps
        self.groups = [layer.port_groups() for layer in net.layers]
        self.synapses = {id(p): _Synapse(p, self._wide(p)) for layer in net.layers for p in layer.paths}
        self.biases = [{k: torch.from_numpy(ir.summed_bias(v, layer.shape)) for k, v in g.items()}
                       for layer, g in zip(net.layers, self.groups)]
        self.or_pools = [ir.or_pool(layer) for layer in net.layers]
        self.kinds = [registry.of(layer.neuron) for layer in net.layers]
        # per layer: it sends float32 0/1 spikes (not values)
        self.binary = [not k.sends_values(layer.neuron) for k, layer in zip(self.kinds, net.layers)]
        self.native = True  # run eligible layers in the compiled kernel (False: torch ops only)
        self.fused: list[fixed_native.FusedLayer | None] = [None] * len(net.layers)
        self.order = "step"  # how the last batch ran: "step" (every layer per step) or "layer" (all steps per layer)

    def plan(self) -> list[fixed_native.FusedLayer | fixed_native.FusedPool | None]:
        """Per layer: its fused form (the compiled kernel runs it) or None (torch ops)."""
        if not self.native:
            return [None] * len(self.net.layers)
        return [fixed_native.plan(layer, g, b, self.synapses, self.binary, False) if pool is None
                else fixed_native.plan_pool(layer, pool, self.net.layers[pool.source], self.binary[pool.source])
                for layer, g, b, pool in zip(self.net.layers, self.groups, self.biases, self.or_pools)]

    def paths(self) -> list[str]:
        """Per layer, which path runs its neuron update: "fused" (compiled kernel) or "torch"."""
        return ["torch" if f is None else "fused" for f in self.plan()]

    def _wide(self, p: ir.Path, big_input: bool = False) -> bool:
        if ir.is_input(p.source):
            return big_input and p.source == ir.Stream.GRADED
        return ir.sends_values(self.net.layers[p.source])

    def run(self, spikes: torch.Tensor | None, graded: torch.Tensor | None, record: int = 0,
            batch: int = 200) -> ExecResult:
        """spikes / graded: (N, T, *input shape) integer frames of the two input streams (None if unused).

        Runs in batches of ``batch`` samples; ``record=k`` keeps full traces of the first k samples."""
        ref = spikes if spikes is not None else graded
        if ref is None:
            raise InputError("no input frames")
        if graded is not None and graded.numel() and int(graded.abs().max()) > fx.GRADED_LEVELS:
            for layer in self.net.layers:  # payloads beyond 8 bits: sums in float64
                for p in layer.paths:
                    if p.source == ir.Stream.GRADED:
                        self.synapses[id(p)] = _Synapse(p, wide=True)
        keep_large_allocations()
        parts = []
        with threads_for_batch(min(batch, ref.shape[0])):
            for i in range(0, max(1, ref.shape[0]), batch):
                s = None if spikes is None else spikes[i:i + batch]
                g = None if graded is None else graded[i:i + batch]
                parts.append(self._run(s, g, max(0, min(record - i, batch))))
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        for part in parts[1:]:
            for a, b in zip(first.layers, part.layers):
                a.add(b)
            first.input_spikes = first.input_spikes + part.input_spikes
            first.input_graded = first.input_graded + part.input_graded
            first.output = np.concatenate([first.output, part.output])
            if first.traces is not None and part.traces is not None:
                first.traces = [np.concatenate([a, b]) for a, b in zip(first.traces, part.traces)]
        first.scores = np.concatenate([p.scores for p in parts])
        return first

    @torch.no_grad()
    def _run(self, spikes: torch.Tensor | None, graded: torch.Tensor | None, record: int) -> ExecResult:
        ref = spikes if spikes is not None else graded
        if ref is None:
            raise InputError("no input frames")
        n, steps = ref.shape[0], ref.shape[1]
        zeros = torch.zeros_like(ref, dtype=torch.float32)
        spikes = zeros if spikes is None else spikes.to(torch.float32)
        graded = zeros if graded is None else graded.to(torch.float32)
        layers = self.net.layers
        self.fused = fused = self.plan()
        for f in fused:
            if f is not None:
                f.reset(n)
        states = [None if f is not None else k.init(layer.neuron, (n, *layer.shape), ref)
                  for f, k, layer in zip(fused, self.kinds, layers)]
        # events: per layer, the steps' totals and a per (sample, neuron) tally (the kernel keeps its own)
        step_events = [np.zeros(steps, dtype=np.int64) for _ in layers]
        tally = [None if f is not None or r else torch.zeros((n, layer.neurons))
                 for f, r, layer in zip(fused, (ir.is_state_readout(layer) for layer in layers), layers)]
        lines = [self._delay_line(layer, n) for layer in layers]
        keep = min(int(record), n)
        traces = [torch.zeros((keep, steps, layer.neurons), dtype=torch.int64) for layer in layers] if keep else None
        scores = torch.zeros((n, layers[-1].neurons), dtype=torch.int64)
        output = torch.zeros((n, steps, layers[-1].neurons), dtype=torch.int64)
        readout = [ir.is_state_readout(layer) for layer in layers]
        # a layer's previous output is read only by a recurrent path (a source at or after the reader)
        recurrent = {p.source for i, layer in enumerate(layers) for p in layer.paths
                     if not ir.is_input(p.source) and p.source >= i}
        self.order = "step"
        if not self.fill and not recurrent and steps and all(f is not None for f in fused):
            self.order = "layer"
            outs_all, step_events = fixed_native.run_by_layer(fused, layers, self.synapses, spikes, graded)
            last = outs_all[-1].reshape(steps, n, -1)
            output = last.transpose(0, 1).to(torch.int64).contiguous()
            scores = output[:, -1].clone() if readout[-1] else last.sum(0, dtype=torch.int64)
            if keep:
                traces = [o[:, :keep].reshape(steps, keep, -1).transpose(0, 1).to(torch.int64).contiguous()
                          for o in outs_all]
            return self._result(fused, tally, step_events, readout, scores, output, traces, spikes, graded)
        prev = [torch.zeros((n, *layer.shape)) if i in recurrent else None for i, layer in enumerate(layers)]
        depths = self.net.depth() if self.fill else [0] * len(layers)
        for t in range(-max(depths, default=0), steps):
            outs: list[torch.Tensor] = []
            spk, grd = (spikes[:, t], graded[:, t]) if t >= 0 else (zeros[:, 0], zeros[:, 0])
            for i, layer in enumerate(layers):
                outs.append(prev[i])  # what a recurrent path into layer i reads: its previous step
                if t >= -depths[i]:
                    out = self._step(i, layer, t, spk, grd, outs, states, lines)
                else:  # the pipeline fill: the input has not reached this layer yet
                    out = torch.zeros((n, *layer.shape)) if prev[i] is None else prev[i] * 0
                outs[i] = out
                if t < 0:  # the pipeline fill: not part of the sample
                    continue
                flat = out.reshape(n, -1)
                if fused[i] is not None:  # counted by the kernel
                    step_events[i][t] = fused[i].events
                elif not readout[i]:
                    events = flat != 0  # a spike, or a graded message
                    tally[i].add_(events)  # float32: exact below 2**24 steps
                    step_events[i][t] = int(events.sum())
                if keep:
                    traces[i][:, t] = flat[:keep].to(torch.int64)
            prev = outs
            if t < 0:
                continue
            output[:, t] = outs[-1].reshape(n, -1)  # the copy converts to int64 (exact integers)
            if readout[-1]:
                scores = outs[-1].reshape(n, -1).clone()
            else:
                scores += outs[-1].reshape(n, -1).to(torch.int64)
        return self._result(fused, tally, step_events, readout, scores, output, traces, spikes, graded)

    def _result(self, fused, tally, step_events, readout, scores, output, traces, spikes, graded) -> ExecResult:
        """The run's ExecResult: event counts from the kernel's or the torch path's tallies."""
        n = scores.shape[0]
        counts = []
        layers = self.net.layers
        for i, layer in enumerate(layers):
            c = fused[i].count if fused[i] is not None and not readout[i] else tally[i]
            if c is None:  # a readout: no events
                counts.append(Counts(np.zeros(layer.neurons, dtype=np.int64), step_events[i], [0] * n))
                continue
            if fused[i] is not None:
                per_neuron, per_sample = fixed_native.tally(c, n)
                counts.append(Counts(per_neuron, step_events[i], per_sample))
                continue
            c = c.reshape(n, -1)
            counts.append(Counts(c.sum(0, dtype=torch.int64).numpy(), step_events[i],
                                 c.sum(1, dtype=torch.int64).tolist()))
        return ExecResult(
            scores=scores.numpy(), layers=counts,
            input_spikes=(spikes != 0).sum((0, 1)).reshape(-1).numpy().astype(np.int64),
            input_graded=(graded != 0).sum((0, 1)).reshape(-1).numpy().astype(np.int64),
            traces=[tr.numpy() for tr in traces] if traces is not None else None, output=output.numpy(),
        )

    @staticmethod
    def _delay_line(layer: ir.Layer, n: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(ring of the last D + 1 inputs, delay per neuron) of a layer with NetX delays, or None."""
        if layer.delay is None:
            return None
        delay = torch.from_numpy(np.asarray(layer.delay, dtype=np.int64))
        return torch.zeros((int(layer.delay.max()) + 1, n, *layer.shape), dtype=torch.int64), delay

    def _source(self, src: int, spk, grd, outs) -> torch.Tensor:
        if src == ir.Stream.SPIKES:
            return spk
        if src == ir.Stream.GRADED:
            return grd
        return outs[src]

    def _port_accum(self, paths: list[ir.Path], layer: ir.Layer, spk, grd, outs) -> torch.Tensor | None:
        if not paths:
            return None
        total = None
        for p in paths:
            acc = self.synapses[id(p)](self._source(p.source, spk, grd, outs), layer.shape)
            total = acc if total is None else total + acc
        return total

    def _step(self, i: int, layer: ir.Layer, t: int, spk, grd, outs, states, lines) -> torch.Tensor:
        fused = self.fused[i]
        if isinstance(fused, fixed_native.FusedPool):
            return fused.step(outs[fused.source], count=t >= 0)
        if fused is not None:
            accs = [self.synapses[id(f.path)](self._source(f.path.source, spk, grd, outs), layer.shape, raw=True)
                    if f.live(t) else None for f in fused.ports]
            out = fused.step(t, accs, spk.shape[0], count=t >= 0)
            return out if self.binary[i] else out.to(torch.int64)
        groups = self.groups[i]
        neuron = layer.neuron
        pool = self.or_pools[i]
        if pool is not None:
            x = outs[pool.source]
            if pool.kernel == pool.stride and pool.padding == (0, 0) and pool.dilation == (1, 1) \
                    and pool.groups == x.shape[1] and pool.weight.shape[1] == 1:
                return (F.max_pool2d(x, pool.kernel, pool.stride) > 0).to(torch.float32)
            return (self.synapses[id(pool)](x, layer.shape) > 0).to(torch.float32)
        kind = self.kinds[i]
        ports = {}
        for name, paths in groups.items():
            if not paths:
                continue
            mask = paths[0].mask
            live = mask is None or bool(mask[t % len(mask)])  # a masked port's synapse idles
            acc = self._port_accum(paths, layer, spk, grd, outs) if live else None
            ports[name] = PortDrive(acc, self.biases[i][name], paths[0].shift, mask)
        if lines[i] is not None:  # the delay line holds the summed input of every port
            drive = Drive(t, ports, states_shape(layer, spk), spk)
            acc = fx.delay_push_select(lines[i][0], t, drive.total(), lines[i][1])
            ports = {"spike": PortDrive(acc, drive.bias())}
        out, states[i] = kind.step(neuron, states[i], Drive(t, ports, states_shape(layer, spk), spk))
        return out if kind.sends_values(neuron) else out.to(torch.float32)
