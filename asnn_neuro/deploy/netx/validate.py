"""Checks a network read from a file must pass: conv geometry, and every number within what
the chip (and the int64 arithmetic modelling it) can hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
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
        kind = registry.of(n)
        if layer.delay is not None and not kind.delay:
            raise fail(layer, f"delay on a {n.kind} neuron: only CUBA layers take delays")
        if layer.delay is not None and (layer.delay.min() < 0 or layer.delay.max() > lim.AXON_DELAY_MAX):
            raise fail(layer, f"delay outside [0, {lim.AXON_DELAY_MAX}]")
        problem = kind.check(n, steps)
        if problem:
            raise fail(layer, problem)
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


