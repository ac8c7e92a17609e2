"""Quantisation: weight mantissas and exponents, biases, BN folding, CUBA range limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_neuro import ir
from asnn_neuro.deploy.lower import fold_bn, lower
from asnn_neuro.deploy.quantize import quantize_bias, quantize_weights
from asnn_neuro.errors import InputError
from asnn_neuro.models import build_model
from asnn_neuro.models.config import ModelConfig


def test_weights_use_the_range_and_are_loihi_synapse_values():
    w = np.array([0.5, -0.25, 0.1, 0.0, -0.49])
    q = quantize_weights(w, bits=8, max_clip=0)
    # largest mantissa 127 covers 0.5 -> exponent of the mantissa is -8 (0.5 / 2**-8 = 128 > 127 -> -7)
    mant = q.weight >> 1
    assert np.all(q.weight % 2 == 0) and mant.max() <= 127 and mant.min() >= -128
    assert np.allclose(q.dequantize(), w, atol=2.0 ** (q.exponent + 1))
    assert q.clipped_fraction == 0.0 and 0.5 < q.range_used <= 1.0


@pytest.mark.parametrize("bits", [4, 5, 6, 7, 8])
def test_fewer_bits_store_multiples_of_the_dropped_bits(bits):
    rng = np.random.default_rng(bits)
    q = quantize_weights(rng.normal(size=1000), bits=bits)
    assert np.all(q.weight % (1 << (9 - bits)) == 0)
    assert np.abs(q.weight).max() <= 256
    assert q.bits == bits


def test_clipping_is_bounded_by_the_stated_fraction():
    w = np.concatenate([np.random.default_rng(0).normal(size=10000), [40.0]])  # one outlier
    q = quantize_weights(w, bits=8, max_clip=1e-3)
    assert q.clipped_fraction <= 1e-3
    assert q.clipped_fraction > 0  # the outlier is clipped instead of wasting the range
    assert quantize_weights(w, bits=8, max_clip=0).clipped_fraction == 0


def test_min_exponent_forces_a_coarser_scale():
    w = np.linspace(-0.1, 0.1, 50)
    fine = quantize_weights(w)
    coarse = quantize_weights(w, min_exponent=fine.exponent + 3)
    assert coarse.exponent == fine.exponent + 3


def test_bad_weights_and_bits_are_input_errors():
    with pytest.raises(InputError):
        quantize_weights(np.array([np.nan, 1.0]))
    with pytest.raises(InputError):
        quantize_weights(np.ones(3), bits=3)


def test_bias_in_accumulator_units():
    assert quantize_bias(np.array([1.0, -0.5]), -4).tolist() == [16, -8]


def test_bn_folding_is_exact_in_eval_mode():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(2, 3, 3, bias=False)
    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-1, 1)
    bn.eval()
    x = torch.randn(4, 2, 6, 6)
    w, b = fold_bn(conv.weight, bn)
    folded = torch.nn.functional.conv2d(x.double(), torch.from_numpy(w)) + torch.from_numpy(b)[:, None, None]
    assert torch.allclose(folded, bn(conv(x)).double(), atol=1e-5)


@pytest.mark.parametrize("neuron,encoding", [("cuba", "direct"), ("asnn", "hybrid"), ("lif", "temporal")])
def test_lowered_lenet_respects_loihi_ranges(neuron, encoding):
    torch.manual_seed(0)
    cfg = ModelConfig("lenet", (1, 28, 28), 10, neuron, encoding, 4)
    model = build_model(cfg)
    model(torch.rand(8, 1, 28, 28, 4))  # fixes shapes and gives BN some statistics
    net, report = lower(model.eval(), cfg)
    assert [layer.name for layer in net.layers] == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc1",
                                                    "readout"]
    assert net.depth() == list(range(1, 9))
    for layer in net.layers:
        for p in layer.paths:
            assert np.abs(p.weight).max() <= 256
        if isinstance(layer.neuron, ir.CubaNeuron):
            assert 0 <= layer.neuron.vth_mant < 2**17
            bias = sum(np.abs(p.bias).max() for p in layer.paths if p.bias is not None)
            assert bias <= 8190
    first = net.layers[0]
    assert [p.graded for p in first.paths] == {"direct": [True], "hybrid": [True, False],
                                               "temporal": [False]}[encoding]
    assert all(r["clipped_fraction"] <= 1e-3 for r in report)
