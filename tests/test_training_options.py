"""Training options of the paper's method: mixup on raw images, BN statistics, reset gradient."""

from __future__ import annotations

import pytest
import torch

from asnn_neuro.data import Dataset, load_dataset
from asnn_neuro.training.config import TrainConfig
from asnn_neuro.training.loop import train


def _digits(n_train: int = 96, n_test: int = 32) -> Dataset:
    d = load_dataset("digits", seed=0)
    return Dataset(name=d.name, train_x=d.train_x[:n_train], train_y=d.train_y[:n_train],
                   test_x=d.test_x[:n_test], test_y=d.test_y[:n_test], classes=d.classes)


def _record_inputs(seen: list[torch.Tensor]):
    """A ``prepare`` hook that records every training batch the model is fed."""
    def prepare(model: torch.nn.Module) -> None:
        if not getattr(model, "_recorded", False):
            model.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone())
                                            if m.training else None)
            model._recorded = True
    return prepare


@pytest.mark.parametrize("encoding,timesteps", [("hybrid", 3), ("temporal", 3)])
def test_mixup_feeds_binary_spike_frames(tmp_path, encoding, timesteps):
    seen: list[torch.Tensor] = []
    cfg = TrainConfig(dataset="digits", encoding=encoding, neuron="asnn", timesteps=timesteps, epochs=1,
                      name="m", workdir=str(tmp_path), batch_size=32, mixup=1.0, device="cpu")
    train(cfg, data=_digits(), show_progress=False, prepare=_record_inputs(seen))
    assert len(seen) == 3
    first_spike = 1 if encoding == "hybrid" else 0
    for frames in seen:
        assert set(frames[..., first_spike:].unique().tolist()) <= {0.0, 1.0}
    if encoding == "hybrid":  # the analog frame carries the mixed images: values off the 1/16 pixel grid
        analog = torch.cat([f[..., 0].reshape(-1) for f in seen])
        assert ((analog * 16 - (analog * 16).round()).abs() > 1e-3).any()


def test_per_step_batch_norm_is_one_module_called_once_per_step():
    # the reference's semantics: one BatchNorm2d called on each step's (N, C, H, W) in turn
    from asnn_neuro.models.method import PerStepBatchNorm3d

    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4, 5) + torch.arange(5.0) * 2  # every step has its own mean
    ref = torch.nn.BatchNorm2d(3, momentum=0.3)
    ours = PerStepBatchNorm3d(3, momentum=0.3)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-1, 1)
    ours.load_state_dict(ref.state_dict())
    want = torch.stack([ref(x[..., t]) for t in range(5)], -1)
    got = ours(x)
    assert torch.allclose(got, want, atol=1e-5)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        assert torch.allclose(getattr(ours, key).double(), getattr(ref, key).double(), atol=1e-6), key
    assert not torch.allclose(torch.nn.BatchNorm3d(3)(x), got, atol=0.1)  # pooling over time differs
    ours.eval()  # evaluation: the shared running statistics, exactly as plain BatchNorm3d
    plain = torch.nn.BatchNorm3d(3).eval()
    plain.load_state_dict(ours.state_dict())
    assert torch.equal(ours(x), plain(x))


def test_per_step_batch_norm_cumulative_average_matches_the_reference():
    # momentum None (the BN recalibration pass): a plain average over every per-step call
    from asnn_neuro.models.method import PerStepBatchNorm1d

    x = torch.randn(8, 4, 3) * torch.tensor([1.0, 2.0, 3.0])
    ref = torch.nn.BatchNorm1d(4, momentum=None)
    ours = PerStepBatchNorm1d(4, momentum=None)
    for _ in range(2):
        for t in range(3):
            ref(x[..., t])
        ours(x)
    assert torch.allclose(ours.running_var, ref.running_var, atol=1e-6)
    assert torch.allclose(ours.running_mean, ref.running_mean, atol=1e-6)


def test_method_options_are_applied_to_the_built_model():
    from asnn_neuro.models import build_model
    from asnn_neuro.models.blocks import Readout
    from asnn_neuro.models.config import ModelConfig
    from asnn_neuro.models.method import PerStepBatchNorm3d
    from asnn_neuro.neurons.asnn import Neuron

    cfg = ModelConfig("lenet", (1, 8, 8), 10, "asnn", "hybrid", 3, bn_stats="per-step", reset_grad=True,
                      readout_scale=False)
    model = build_model(cfg)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 5 and all(type(m).__name__.startswith("PerStep") for m in norms)
    assert isinstance(model.stages[0].spiking_norm, PerStepBatchNorm3d)
    assert all(m.reset_grad for m in model.modules() if isinstance(m, Neuron))
    readout = next(m for m in model.modules() if isinstance(m, Readout))
    assert not readout.step_weight.requires_grad and torch.equal(readout.step_weight, torch.ones(3))
    plain = build_model(ModelConfig("lenet", (1, 8, 8), 10, "asnn", "hybrid", 3))
    assert all(type(m) in (torch.nn.BatchNorm1d, torch.nn.BatchNorm3d) for m in plain.modules()
               if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    assert next(m for m in plain.modules() if isinstance(m, Readout)).step_weight.requires_grad


@pytest.mark.parametrize("neuron,option,message", [
    ("cuba", {"reset_grad": True}, "--reset-grad needs --neuron asnn or lif"),
    ("lif", {"readout_scale": False}, "--no-readout-scale applies to --neuron asnn only"),
    ("asnn", {"bn_stats": "time"}, "--bn-stats must be one of pooled, per-step"),
])
def test_method_options_refused_by_name(tmp_path, neuron, option, message):
    from asnn_neuro.errors import InputError

    cfg = TrainConfig(dataset="digits", encoding="direct", neuron=neuron, timesteps=2, epochs=1, name="m",
                      workdir=str(tmp_path), **option)
    with pytest.raises(InputError, match=message):
        train(cfg, data=_digits(), show_progress=False)


@pytest.mark.parametrize("encoding", ["hybrid", "hybrid-bitplane"])
def test_hybrid_coding_with_cuba_neurons_is_refused_before_training_and_at_export(tmp_path, encoding):
    """lava-dl's CUBA neuron has one weight scale and one bias for all inputs: the analog frame's
    weights (payloads 0..255) quantised to zero on the shared grid and its BN bias reached every
    step. Refused by name wherever the pairing can be asked for."""
    from asnn_neuro.apps.compare_grid import parse_row
    from asnn_neuro.deploy.lower import lower
    from asnn_neuro.errors import InputError, UnsupportedLayerError
    from asnn_neuro.models import build_model
    from asnn_neuro.models.blocks import HybridConv
    from asnn_neuro.models.config import ModelConfig

    message = f"--encoding {encoding} with --neuron cuba cannot be deployed"
    cfg = TrainConfig(dataset="digits", encoding=encoding, neuron="cuba", timesteps=3, epochs=1, name="m",
                      workdir=str(tmp_path))
    with pytest.raises(InputError, match=message):
        train(cfg, data=_digits(), show_progress=False)
    assert not (tmp_path / "m").exists()
    model_cfg = ModelConfig("lenet", (1, 8, 8), 10, "cuba", encoding, 3)
    with pytest.raises(InputError, match=message):
        build_model(model_cfg)
    with pytest.raises(InputError, match=message):
        parse_row(f"{encoding}:cuba:3")
    model = build_model(ModelConfig("lenet", (1, 8, 8), 10, "asnn", encoding, 3))
    model.stages[0] = HybridConv("cuba", 3, 1, model.stages[0].analog.out_channels)  # an old checkpoint
    model(torch.rand(2, 1, 8, 8, 3))
    with pytest.raises(UnsupportedLayerError, match="layer 'conv1': hybrid coding needs an asnn or lif neuron"):
        lower(model.eval(), model_cfg)


@pytest.mark.slow
@pytest.mark.parametrize("encoding,neuron,options", [
    ("hybrid", "asnn", {"bn_stats": "per-step", "reset_grad": True, "readout_scale": False}),
    ("direct", "asnn", {}),
    ("direct", "lif", {"reset_grad": True}),
])
def test_method_options_train_export_and_run_bit_exact_in_lava(tmp_path, encoding, neuron, options):
    from asnn_neuro.deploy.export import export
    from asnn_neuro.evaluate.verify import verify

    cfg = TrainConfig(dataset="digits", encoding=encoding, neuron=neuron, timesteps=3, epochs=1, name="m",
                      workdir=str(tmp_path), batch_size=32, device="cpu", **options)
    result = train(cfg, data=_digits(256, 64), show_progress=False)
    assert result["config"]["bn_stats"] == options.get("bn_stats", "pooled")
    info = export("m", workdir=str(tmp_path))
    assert len(info["layers"]) == 8
    v = verify("m", dataset="digits", samples=4, workdir=str(tmp_path), simdir=str(tmp_path / "sims"),
               progress=False)
    assert v["bit_exact_fraction"] == 1.0 and v["prediction_agreement"] == 1.0
