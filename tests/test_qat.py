"""Quantisation-aware training runs the exported network: its forward equals the integer executor on
the exported NetX file, bit for bit (scores and every layer's spikes), and it still learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_neuro import encoding as enc
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.deploy import qat
from asnn_neuro.deploy.lower import lower
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.deploy.netx.write import write_network
from asnn_neuro.encoding.frames import float_frames, integer_frames
from asnn_neuro.models import build_model
from asnn_neuro.models.config import ModelConfig

LENET_IN = (1, 8, 8)  # the smallest input LeNet's three pools accept
TINY_RESNET = {"widths": "4,8", "depth": 1}


def _spiking_model(cfg: ModelConfig, dtype=torch.float32) -> torch.nn.Module:
    """An untrained model whose BN statistics make every layer fire (so exactness is not vacuous)."""
    torch.manual_seed(0)
    model = build_model(cfg).to(dtype)
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, *cfg.in_shape, cfg.timesteps, dtype=dtype))
        for mod in model.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.momentum = None
                mod.weight.uniform_(0.8, 1.6)
                mod.bias.uniform_(0.0, 0.4)
        model.train()
        for _ in range(2):
            model(enc.encode(torch.rand(8, *cfg.in_shape, dtype=dtype), cfg.encoding, cfg.timesteps))
    return model.eval()


def _assert_qat_equals_export(model, cfg: ModelConfig, tmp_path, bits: int = 8, samples: int = 4) -> None:
    """QAT forward on the integer input streams == FixedExecutor on the exported file."""
    dtype = next(model.parameters()).dtype
    qat.enable(model, bits=bits)
    exported, _ = lower(model, cfg, weight_bits=bits)
    net = read_network(write_network(exported, tmp_path / "net.net"))
    torch.manual_seed(1)
    spikes, graded = integer_frames(torch.rand(samples, *cfg.in_shape), cfg.encoding, cfg.timesteps, seed=3)
    fixed = FixedExecutor(net).run(spikes, graded, record=samples)
    with torch.no_grad():
        logits, trace = model(float_frames(spikes, graded).to(dtype), record=True)
    scores = logits.double() * 4096
    assert np.array_equal(scores.numpy(), fixed.scores.astype(np.float64))
    assert len(trace) == len(net.layers) - 1
    fired = 0
    for layer, mine, theirs in zip(net.layers, trace, fixed.traces):
        ours = mine.movedim(-1, 1).reshape(samples, cfg.timesteps, -1).numpy()
        assert np.array_equal(ours, theirs), layer.name
        fired += int(theirs.sum())
    assert fired > 0 and len(np.unique(fixed.scores)) > 1


PAIRS = [(e, n) for e in ("hybrid", "direct", "rate") for n in ("asnn", "lif", "cuba")
         if (e, n) != ("hybrid", "cuba")]  # hybrid + cuba is refused (models.method.check_encoding)


@pytest.mark.parametrize("encoding,neuron", PAIRS)
def test_lenet_qat_forward_is_the_exported_network(encoding, neuron, tmp_path):
    cfg = ModelConfig("lenet", LENET_IN, 10, neuron, encoding, 3)
    _assert_qat_equals_export(_spiking_model(cfg), cfg, tmp_path)


@pytest.mark.parametrize("encoding,neuron", [("hybrid", "asnn"), ("direct", "cuba"), ("rate", "lif")])
def test_float64_models_are_exact_too(encoding, neuron, tmp_path):
    cfg = ModelConfig("lenet", LENET_IN, 10, neuron, encoding, 3)
    _assert_qat_equals_export(_spiking_model(cfg, torch.float64), cfg, tmp_path)


def test_4_bit_weights_are_exact(tmp_path):
    cfg = ModelConfig("lenet", LENET_IN, 10, "asnn", "hybrid", 3)
    _assert_qat_equals_export(_spiking_model(cfg), cfg, tmp_path, bits=4)


@pytest.mark.parametrize("encoding,neuron", [("hybrid", "asnn"), ("direct", "cuba")])
def test_resnet_qat_forward_is_the_exported_network(encoding, neuron, tmp_path):
    """Relays, residual adds with a shared exponent, CUBA's raised exponent."""
    cfg = ModelConfig("resnet", (1, 12, 12), 5, neuron, encoding, 3, options=dict(TINY_RESNET))
    _assert_qat_equals_export(_spiking_model(cfg), cfg, tmp_path)


@pytest.mark.parametrize("neuron,encoding,first", [
    ("asnn", "hybrid", ("stages.0.analog.weight", "stages.0.spiking_norm.weight")),
    ("cuba", "direct", ("stages.0.synapse.weight", "stages.0.neuron.norm.weight")),
])
def test_training_steps_reach_every_parameter_and_move_the_grid(neuron, encoding, first, tmp_path):
    """Gradients reach weights, BN and neuron parameters; after an optimiser step the forward
    re-lowers, and it is still the exported network."""
    cfg = ModelConfig("lenet", LENET_IN, 10, neuron, encoding, 3)
    model = _spiking_model(cfg)
    qat.enable(model, bits=8)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = enc.encode(torch.rand(16, *cfg.in_shape), cfg.encoding, cfg.timesteps)
    y = torch.arange(16) % 10
    before = [layer.paths[0].weight.copy() for layer in qat.network(model).layers]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.requires_grad}
    for name in (*first, "stages.7.synapse.weight", "stages.8.synapse.weight", "stages.8.bias"):
        assert grads[name] is not None and grads[name].abs().sum() > 0, name
    if neuron == "asnn":
        assert grads["stages.0.neuron.leak"].abs().sum() > 0 and grads["stages.8.step_weight"].abs().sum() > 0
    lowerings = model.qat.lowerings
    with torch.no_grad():
        model(x)
    assert model.qat.lowerings == lowerings  # nothing changed: the cached network is reused
    opt.step()
    model(x)
    assert model.qat.lowerings == lowerings + 1
    after = [layer.paths[0].weight for layer in qat.network(model).layers]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    _assert_qat_equals_export(model.eval(), cfg, tmp_path)


def test_disable_restores_the_float_forward():
    cfg = ModelConfig("lenet", LENET_IN, 10, "asnn", "hybrid", 3)
    model = _spiking_model(cfg)
    x = enc.encode(torch.rand(2, *cfg.in_shape), cfg.encoding, cfg.timesteps)
    with torch.no_grad():
        ref = model(x)
        qat.enable(model, bits=8)
        assert not torch.equal(model(x), ref)
        qat.disable(model)
        assert torch.equal(model(x), ref)
    assert set(model.state_dict()) == set(build_model(cfg).state_dict())


def test_a_model_export_refuses_is_refused_when_qat_is_enabled():
    """The Spikformer's attention has no fixed-weight form: enable says so, naming the layer, and
    leaves the float forward in place."""
    from asnn_neuro.errors import UnsupportedLayerError

    cfg = ModelConfig("spikformer", (1, 12, 12), 5, "asnn", "hybrid", 3)
    model = build_model(cfg)
    with pytest.raises(UnsupportedLayerError, match=r"layer 'block1\.attn' \(spiking self-attention\)"):
        qat.enable(model)
    assert not qat.is_enabled(model) and "forward" not in model.__dict__
