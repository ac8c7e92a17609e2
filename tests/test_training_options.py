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
