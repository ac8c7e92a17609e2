"""Model names the CLI accepts, and the one function that builds them."""

from __future__ import annotations

import torch

from ..errors import InputError
from .config import ModelConfig

MODELS = ("lenet", "resnet", "spikformer")
NEURONS = ("asnn", "lif", "cuba")


def build_model(cfg: ModelConfig) -> torch.nn.Module:
    if cfg.neuron not in NEURONS:
        raise InputError(f"unknown neuron '{cfg.neuron}'; choose one of: {', '.join(NEURONS)}")
    if cfg.model == "lenet":
        from .lenet import LeNet

        return LeNet(cfg)
    if cfg.model == "resnet":
        from .resnet import SpikingResNet

        return SpikingResNet(cfg)
    if cfg.model == "spikformer":
        from .spikformer import Spikformer

        return Spikformer(cfg)
    raise InputError(f"unknown model '{cfg.model}'; choose one of: {', '.join(MODELS)}")
