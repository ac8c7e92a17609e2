"""Checks a network read from a file must pass: conv geometry, and every number within what
the chip (and the int64 arithmetic modelling it) can hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.deploy.netx.format import MAX_GEOMETRY, MAX_SHIFT, MAX_TIMESTEPS, MIN_SHIFT
from asnn_neuro.errors import InputError

GEOMETRY_LOW = {"stride": 1, "dilation": 1, "kernel": 1, "padding": 0}


def check_geometry(kind: str, fail, **values) -> None:
    """Conv/pool geometry (stride, dilation, kernel, padding: sequences of ints) within
    [GEOMETRY_LOW, MAX_GEOMETRY]; ``fail(message)`` makes the exception. Shared by the NetX and
    NIR readers, so what one refuses the other never writes."""
    for what, vals in values.items():
        vals = tuple(int(v) for v in vals)
        low = GEOMETRY_LOW[what]
        if not vals or min(vals) < low or max(vals) > MAX_GEOMETRY:
            raise fail(f"{kind} {what} {vals} out of range [{low}, {MAX_GEOMETRY}]")


def check_conv_shape(path: ir.Path, in_shape, out_shape, fail) -> None:
    if len(in_shape) != 3 or len(out_shape) != 3:
        raise fail(f"conv needs (C, H, W) shapes, got {in_shape} -> {out_shape}")
    check_geometry("conv", fail, stride=path.stride, dilation=path.dilation, padding=path.padding,
                   kernel=path.kernel)
    for axis in (0, 1):
        size = (in_shape[1 + axis] + 2 * path.padding[axis] - path.dilation[axis] * (path.kernel[axis] - 1) - 1) \
            // path.stride[axis] + 1
        if size != out_shape[1 + axis]:
            raise fail(f"conv geometry turns {tuple(in_shape)} into {size} along axis {axis}, "
                       f"but the layer's shape is {tuple(out_shape)}")


def check_ranges(path: Path, net: ir.Network) -> None:
    """Refuse numbers outside what the chip (and the int64 arithmetic modelling it) can hold."""
    def fail(layer: ir.Layer, what: str) -> InputError:
        return InputError(f"{path}: layer '{layer.name}': {what}")

    steps = net.timesteps
    if steps and not 1 <= steps <= MAX_TIMESTEPS:
        raise InputError(f"{path}: timesteps {steps} out of range [1, {MAX_TIMESTEPS}]")
    for layer in net.layers:
        n = layer.neuron
        if layer.delay is not None and not isinstance(n, ir.CubaNeuron):
            raise fail(layer, f"delay on a {n.kind} neuron: only CUBA layers take delays")
        if layer.delay is not None and (layer.delay.min() < 0 or layer.delay.max() > lim.AXON_DELAY_MAX):
            raise fail(layer, f"delay outside [0, {lim.AXON_DELAY_MAX}]")
        if isinstance(n, ir.ResonateNeuron):
            if not (0 <= n.sin_decay <= lim.DECAY_ONE and 0 <= abs(n.cos_decay) <= lim.DECAY_ONE
                    and 0 <= n.vth < lim.LIF_MAX_UV):
                raise fail(layer, f"RF parameters out of range (sin {n.sin_decay}, cos {n.cos_decay}, vth {n.vth})")
        elif isinstance(n, ir.SigmaDeltaNeuron):
            if not 0 <= n.vth < 1 << 31:
                raise fail(layer, f"SDNN vThMant {n.vth_mant} outside [0, 2**19)")
        elif isinstance(n, ir.CubaNeuron):
            if not 0 <= n.vth_mant <= lim.LIF_VTH_MAX:
                raise fail(layer, f"vThMant {n.vth_mant} outside Loihi's 17-bit range")
            if not 0 <= n.i_decay <= lim.DECAY_ONE or not 0 <= n.v_decay <= lim.DECAY_ONE:
                raise fail(layer, f"decays (iDecay {n.i_decay}, vDecay {n.v_decay}) outside [0, {lim.DECAY_ONE}]")
        else:
            if steps and n.period not in (1, steps):
                raise fail(layer, f"schedule of {n.period} steps, network has {steps}")
            if min(n.leak) < 0 or max(n.leak) > lim.DECAY_ONE:
                raise fail(layer, f"leak outside [0, {lim.DECAY_ONE}]")
            if max(abs(g) for g in n.gain) >= 1 << (lim.ASNN_GAIN_BITS - 1):
                raise fail(layer, "gain outside the 16-bit range")
            if not 0 < n.threshold <= lim.ASNN_THRESHOLD_MAX:
                raise fail(layer, f"threshold {n.threshold} outside (0, 2**23)")
            if not 0 < n.reset_amount <= lim.ASNN_THRESHOLD_MAX:
                raise fail(layer, f"reset {n.reset_amount} outside (0, 2**23)")
        for p in layer.paths:
            if p.weight is not None and np.abs(p.weight).max(initial=0) >= 1 << 16:
                raise fail(layer, "weights beyond 16 bits")
            if p.bias is not None and np.abs(p.bias).max(initial=0) >= 1 << 24:
                raise fail(layer, "bias beyond 24 bits")
            if not MIN_SHIFT <= p.shift <= MAX_SHIFT:
                raise fail(layer, f"shift {p.shift} outside [{MIN_SHIFT}, {MAX_SHIFT}]")
            if p.mask is not None and ((steps and len(p.mask) != steps) or set(p.mask) - {0, 1}):
                raise fail(layer, f"path mask {list(p.mask)[:8]} is not {steps} zeros/ones")
    try:
        net.depth()
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


