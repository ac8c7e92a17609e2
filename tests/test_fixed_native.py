"""The executor's fused kernel (backends/fixed_native.py, chip/fixed_kernel.c) against its torch path.

Each network runs twice, once with the eligible layers in the compiled kernel and once with torch
ops only (``native = False``); every integer the executor returns must be equal: scores, the
last layer's output, traces and every event count. The networks push the arithmetic to its
edges: conv sums beyond Lava's 24-bit clamp, CUBA currents that wrap and voltages that saturate,
ASNN states at the 24-bit limit, per-step masks, gain and leak schedules, negative shifts,
per-neuron delays, pipeline fill, recurrent and multi-path ports (those stay on the torch path).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.chip import limits as lim
from asnn_neuro.neurons import native

pytestmark = pytest.mark.skipif(native.fixed_kernel() is None, reason="no C compiler: no fused kernel")

T = 6


def _asnn_net(rng: np.random.Generator, recurrent: bool = True) -> ir.Network:
    """Hybrid ASNN LeNet-like net: two masked conv ports (the graded one's sums pass the conv clamp),
    an OR pool, a dense layer with a recurrent path (torch path; without it every layer is fused
    and the executor runs layer by layer) and a readout."""
    leak = tuple(int(v) for v in rng.integers(2000, 4097, T))
    gain = tuple(int(v) for v in rng.integers(-1000, 9000, T))
    spike_mask = tuple(int(v) for v in rng.integers(0, 2, T))
    return ir.Network(
        input=ir.InputSpec(shape=(1, 8, 8)),
        layers=[
            ir.Layer("c", (3, 8, 8), ir.AdaptiveNeuron(leak, gain, threshold=int(rng.integers(20_000, 200_000))), [
                ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-90, 120, (3, 1, 3, 3)),
                        kernel=(3, 3), padding=(1, 1), bias=rng.integers(-50, 50, 3), shift=-2, mask=spike_mask),
                ir.Path(source=ir.Stream.GRADED, kind="conv", weight=rng.integers(5000, 7000, (3, 1, 3, 3)),
                        kernel=(3, 3), padding=(1, 1), bias=rng.integers(-900, 900, 3), shift=16, graded=True,
                        mask=tuple(1 - m for m in spike_mask))]),
            ir.Layer("p", (3, 4, 4), ir.CubaNeuron(4096, 4095, 0), [
                ir.Path(source=0, kind="conv", weight=np.ones((3, 1, 2, 2), int), kernel=(2, 2), stride=(2, 2),
                        groups=3)]),
            ir.Layer("d", (20,), ir.AdaptiveNeuron(leak[:1], (4096,), threshold=300, reset=200), [
                ir.Path(source=1, kind="dense", weight=rng.integers(-40, 60, (20, 48)), shift=1),
                *([ir.Path(source=2, kind="dense", weight=rng.integers(-20, 20, (20, 20)), shift=1)]
                  if recurrent else [])]),
            ir.Layer("s", (24,), ir.AdaptiveNeuron((4096,), (30000,), threshold=8_000_000), [  # saturates
                ir.Path(source=1, kind="dense", weight=rng.integers(-127, 128, (24, 48)), shift=0)]),
            ir.Layer("e", (16,), ir.AdaptiveNeuron((4096,), (4096,), threshold=512, reset=448), [  # ties u == 512
                ir.Path(source=2, kind="dense", weight=rng.integers(-3, 5, (16, 20)) * 64,
                        bias=rng.integers(-1, 2, 16) * 64, shift=12)]),
            ir.Layer("r", (5,), ir.AdaptiveNeuron((3900,), (4096,), readout=True), [
                ir.Path(source=4, kind="dense", weight=rng.integers(-127, 128, (5, 16)), shift=5)]),
        ],
        timesteps=T)


def _cuba_net(rng: np.random.Generator) -> ir.Network:
    """CUBA net: per-neuron delays, spike and graded ports into one layer, currents that wrap
    (large graded sums << 6) and voltages that saturate, an identity layer."""
    return ir.Network(
        input=ir.InputSpec(shape=(2, 5, 5)),
        layers=[
            ir.Layer("i", (2, 5, 5), ir.CubaNeuron(1500, 3000, 400), [
                ir.Path(source=ir.Stream.SPIKES, kind="identity", bias=rng.integers(-4, 9, 2))]),
            ir.Layer("c", (4, 5, 5), ir.CubaNeuron(int(rng.integers(0, 4097)), 0, 131071), [  # v saturates
                ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-127, 128, (4, 2, 3, 3)) * 64,
                        kernel=(3, 3), padding=(1, 1), bias=rng.integers(-3000, 3000, 4)),
                ir.Path(source=ir.Stream.GRADED, kind="conv", weight=rng.integers(-127, 128, (4, 2, 3, 3)) * 25,
                        kernel=(3, 3), padding=(1, 1), graded=True)],
                delay=rng.integers(0, 4, (4, 5, 5))),
            ir.Layer("d", (30,), ir.CubaNeuron(300, 100, 9), [
                ir.Path(source=1, kind="dense", weight=rng.integers(-127, 128, (30, 100)),
                        bias=rng.integers(-9, 9, 30))],
                delay=rng.integers(0, 6, 30)),
            ir.Layer("o", (7,), ir.CubaNeuron(4096, 4096, 5), [
                ir.Path(source=2, kind="dense", weight=rng.integers(-127, 128, (7, 30)))]),
        ],
        timesteps=T)


def _frames(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    spikes = torch.from_numpy((rng.random((n, T, *shape)) < 0.4).astype(np.int64))
    graded = torch.from_numpy(rng.integers(0, 256, (n, T, *shape)) * (rng.random((n, T, *shape)) < 0.7))
    graded[::3, :, :, 1:4, 1:4] = 255  # bright patches: the largest synaptic sums
    return spikes, graded


def _both(net: ir.Network, spikes, graded, fill: bool):
    fast = FixedExecutor(net, fill=fill)
    slow = FixedExecutor(net, fill=fill)
    slow.native = False
    assert set(slow.paths()) == {"torch"}
    return fast, fast.run(spikes, graded, record=3, batch=7), slow.run(spikes, graded, record=3, batch=7)


def _assert_same(a, b) -> None:
    for name in ("scores", "output", "input_spikes", "input_graded"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for x, y in zip(a.traces, b.traces):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    for x, y in zip(a.layers, b.layers):
        assert np.array_equal(x.per_neuron, y.per_neuron) and np.array_equal(x.per_step, y.per_step)
        assert list(x.per_sample) == list(y.per_sample)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fill", [False, True])
@pytest.mark.parametrize("recurrent", [True, False])
def test_asnn_net_fused_equals_torch(seed: int, fill: bool, recurrent: bool) -> None:
    rng = np.random.default_rng(seed)
    net = _asnn_net(rng, recurrent)
    spikes, graded = _frames(rng, 12, (1, 8, 8))
    fast, a, b = _both(net, spikes, graded, fill)
    assert fast.paths() == ["fused", "fused", "torch" if recurrent else "fused", "fused", "fused", "fused"]
    assert fast.order == ("layer" if not recurrent and not fill else "step")
    _assert_same(a, b)
    assert 0 < int(a.layers[0].per_step.sum()) < 12 * T * 3 * 64  # some spikes, not all
    assert np.abs(a.scores).max() > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fill", [False, True])
def test_cuba_net_fused_equals_torch(seed: int, fill: bool) -> None:
    rng = np.random.default_rng(seed)
    net = _cuba_net(rng)
    spikes, graded = _frames(rng, 9, (2, 5, 5))
    fast, a, b = _both(net, spikes, graded, fill)
    assert fast.paths() == ["fused"] * 4
    assert fast.order == ("step" if fill else "layer")
    _assert_same(a, b)
    assert int(a.layers[1].per_step.sum()) > 0


def test_conv_clamp_and_state_limits_are_reached() -> None:
    """The edge cases the kernel must reproduce do occur in the ASNN net: graded conv sums beyond
    Lava's clamp and states at the 24-bit limit (checked on the torch path's own arithmetic)."""
    rng = np.random.default_rng(0)
    net = _asnn_net(rng)
    spikes, graded = _frames(rng, 12, (1, 8, 8))
    syn = FixedExecutor(net).synapses[id(net.layers[0].paths[1])]
    raw = syn(graded[:, 0].to(torch.float32), (3, 8, 8), raw=True)
    assert float(raw.abs().max()) > lim.CONV_CLAMP


def test_wide_graded_input_takes_the_torch_path() -> None:
    """Graded payloads beyond 8 bits make the sums float64: those layers leave the kernel."""
    rng = np.random.default_rng(3)
    net = _cuba_net(rng)
    spikes, graded = _frames(rng, 4, (2, 5, 5))
    graded[0, 0, 0, 0, 0] = 100_000
    fast, a, b = _both(net, spikes, graded, False)
    assert fast.paths()[1] == "torch"
    _assert_same(a, b)


@pytest.mark.parametrize("make, shape", [(_asnn_net, (1, 8, 8)), (lambda r: _asnn_net(r, False), (1, 8, 8)),
                                         (_cuba_net, (2, 5, 5))])
def test_two_threads_split_large_layers_the_same(make, shape) -> None:
    """Batches large enough (>= 32768 neurons x samples) for the kernel to split a layer over threads."""
    rng = np.random.default_rng(4)
    net = make(rng)
    spikes, graded = _frames(rng, 400, shape)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fast, slow = FixedExecutor(net), FixedExecutor(net)
        slow.native = False
        _assert_same(fast.run(spikes, graded, record=2), slow.run(spikes, graded, record=2))
    finally:
        torch.set_num_threads(before)
