"""Spikformer: layout, softmax-free spiking self-attention, training, and the export refusal."""

from __future__ import annotations

import pytest
import torch

from asnn_neuro.deploy.lower import lower
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.models import build_model
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.spikformer import SpikformerBlock, SpikingSelfAttention, spikformer_layout

TINY = {"dim": 16, "depth": 1, "heads": 2, "mlp_ratio": 2}


def _cfg(encoding="hybrid", neuron="asnn", shape=(1, 12, 12), options=None) -> ModelConfig:
    return ModelConfig(model="spikformer", in_shape=shape, classes=5, neuron=neuron, encoding=encoding,
                       timesteps=3, options=dict(TINY if options is None else options))


def test_default_layouts_follow_the_input_size():
    big = ModelConfig(model="spikformer", in_shape=(3, 32, 32), classes=10, neuron="asnn", encoding="hybrid",
                      timesteps=4)
    assert spikformer_layout(big) == {"dim": 256, "depth": 4, "heads": 8, "mlp_ratio": 4}
    small = ModelConfig(model="spikformer", in_shape=(1, 28, 28), classes=10, neuron="asnn",
                        encoding="hybrid", timesteps=4)
    assert spikformer_layout(small) == {"dim": 64, "depth": 2, "heads": 4, "mlp_ratio": 4}
    with pytest.raises(InputError, match="heads"):
        spikformer_layout(_cfg(options={"dim": 24, "heads": 5}))
    with pytest.raises(InputError, match="unknown option"):
        spikformer_layout(_cfg(options={"blocks": 2}))


@pytest.mark.parametrize("encoding,neuron", [("hybrid", "asnn"), ("direct", "cuba"), ("rate", "lif")])
def test_forward_and_backward_for_every_neuron_kind(encoding, neuron):
    cfg = _cfg(encoding, neuron)
    model = build_model(cfg)
    logits, trace = model(torch.rand(2, *cfg.in_shape, cfg.timesteps), record=True)
    assert logits.shape == (2, 5)
    assert model.stage_names == ["patch1", "patch2", "pool1", "patch3", "pool2", "block1", "tokens",
                                 "readout"]
    assert tuple(trace[-1].shape) == (2, 16, 3)  # token mean: (N, dim, T)
    logits.sum().backward()
    assert model.stages[5].attention.q.synapse.weight.grad is not None
    assert isinstance(model.stages[5], SpikformerBlock) and model.stages[5].rpe is not None


class _Const(torch.nn.Module):
    def __init__(self, value: torch.Tensor):
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value


def test_attention_is_q_kt_v_times_scale_without_softmax():
    torch.manual_seed(0)
    attn = SpikingSelfAttention("asnn", 2, dim=4, heads=2, scale=0.125)
    q, k, v = ((torch.rand(1, 2, 3, 2, 2) > 0.5).float() for _ in range(3))  # (N, heads, L, dh, T)
    captured = {}
    attn.attn.register_forward_hook(lambda mod, inp, out: captured.setdefault("a", inp[0]))
    for name, z in (("q", q), ("k", k), ("v", v)):  # heads-major channels, tokens on H
        setattr(attn, name, _Const(z.permute(0, 1, 3, 2, 4).reshape(1, 4, 3, 1, 2)))
    attn(torch.zeros(1, 4, 3, 1, 2))
    a = captured["a"]  # (N, dim, H, W, T) with H*W = L tokens
    for t in range(2):
        for h in range(2):
            qt, kt, vt = (z[0, h, :, :, t] for z in (q, k, v))
            expected = (qt @ kt.T) @ vt * 0.125  # (L, dh)
            assert torch.allclose(a[0, 2 * h:2 * h + 2, :, 0, t].T, expected)


def test_lowering_refuses_the_attention_layer_by_name():
    cfg = _cfg("hybrid", "asnn")
    model = build_model(cfg)
    message = r"layer 'block1\.attn' \(spiking self-attention\)"
    with pytest.raises(UnsupportedLayerError, match=message) as err:
        lower(model, cfg)
    assert "Q·Kᵀ multiplies two spike tensors" in str(err.value) and "docs/models.md" in str(err.value)


@pytest.mark.slow
def test_spikformer_trains_one_epoch_beyond_chance_and_refuses_export(tmp_path):
    from asnn_neuro.data import Dataset, load_dataset
    from asnn_neuro.training import train
    from asnn_neuro.training.checkpoint import load_model
    from asnn_neuro.training.config import TrainConfig

    data = load_dataset("mnist5k")
    data = Dataset(name=data.name, train_x=data.train_x[:1000], train_y=data.train_y[:1000],
                   test_x=data.test_x[:300], test_y=data.test_y[:300], classes=data.classes)
    cfg = TrainConfig(model="spikformer", encoding="hybrid", neuron="asnn", timesteps=4, epochs=1, name="sf",
                      workdir=str(tmp_path), batch_size=16, options={"dim": 32, "depth": 1, "heads": 2})
    result = train(cfg, data=data, show_progress=False)
    assert result["test_accuracy"] > 0.25  # chance is 0.1 (one short epoch of a transformer)
    model, mcfg, _ = load_model(cfg.out_dir / "checkpoint.pt")
    with pytest.raises(UnsupportedLayerError, match=r"'block1\.attn'"):
        lower(model, mcfg)
