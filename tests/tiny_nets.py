"""Small hand-made networks shared by the format, fuzz and reliability tests."""

from __future__ import annotations

import numpy as np

from asnn_neuro import ir


def tiny_hybrid_net() -> ir.Network:
    """A hybrid-coded ASNN network in our own format: 1x6x6 input, graded + spike paths into a
    4-channel conv (T = 3), then a 5-class readout."""
    rng = np.random.default_rng(0)
    conv_g = ir.Path(source=ir.Stream.GRADED, kind="conv", weight=rng.integers(-100, 100, (4, 1, 3, 3)) * 2,
                     bias=rng.integers(-50, 50, 4), kernel=(3, 3), padding=(1, 1), shift=7, mask=(1, 0, 0),
                     graded=True, grid=ir.WeightGrid(-7))
    conv_s = ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-100, 100, (4, 1, 3, 3)) * 2,
                     bias=rng.integers(-50, 50, 4), kernel=(3, 3), padding=(1, 1), shift=5, mask=(0, 1, 1),
                     grid=ir.WeightGrid(-5))
    dense = ir.Path(source=0, kind="dense", weight=rng.integers(-100, 100, (5, 4 * 6 * 6)) * 2,
                    bias=rng.integers(-9, 9, 5), shift=6, mask=(1, 1, 1), grid=ir.WeightGrid(-6))
    return ir.Network(
        input=ir.InputSpec(shape=(1, 6, 6), graded=True),
        layers=[ir.Layer("conv1", (4, 6, 6), ir.AdaptiveNeuron(leak=(2000, 2100, 2200), gain=(3000, 2500, 1000)),
                         [conv_g, conv_s]),
                ir.Layer("readout", (5,), ir.AdaptiveNeuron(leak=(4096,) * 3, gain=(1365,) * 3, readout=True),
                         [dense])],
        timesteps=3, meta={"encoding": "hybrid", "neuron": "asnn"})
