"""Trainable spiking models built from lava-dl SLAYER blocks."""

from asnn_neuro.models.registry import MODELS, NEURONS, build_model

__all__ = ["MODELS", "NEURONS", "build_model"]
