"""Model names the CLI accepts, and the one function that builds them."""

from __future__ import annotations

import torch

from asnn_neuro.errors import InputError
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.names import MODELS, NEURONS

__all__ = ["MODELS", "NEURONS", "build_model"]


def build_model(cfg: ModelConfig) -> torch.nn.Module:
    """The model ``cfg`` names, switched to its training semantics (``models.method``)."""
    from asnn_neuro.models.method import apply_method, check_encoding, check_method

    if cfg.neuron not in NEURONS:
        raise InputError(f"unknown neuron '{cfg.neuron}'; choose one of: {', '.join(NEURONS)}")
    check_method(cfg.neuron, cfg.bn_stats, cfg.reset_grad, cfg.readout_scale, cfg.fixed_leak)
    check_encoding(cfg.neuron, cfg.encoding)
    model = _build(cfg)
    return apply_method(model, cfg.bn_stats, cfg.reset_grad, cfg.readout_scale, cfg.fixed_leak)


def _build(cfg: ModelConfig) -> torch.nn.Module:
    if cfg.model == "lenet":
        from asnn_neuro.models.lenet import LeNet

        return LeNet(cfg)
    if cfg.model == "resnet":
        from asnn_neuro.models.resnet import SpikingResNet

        return SpikingResNet(cfg)
    if cfg.model == "spikformer":
        from asnn_neuro.models.spikformer import Spikformer

        return Spikformer(cfg)
    raise InputError(f"unknown model '{cfg.model}'; choose one of: {', '.join(MODELS)}")
