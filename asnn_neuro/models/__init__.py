"""Trainable spiking models built from lava-dl SLAYER blocks."""

from .registry import MODELS, NEURONS, build_model

__all__ = ["MODELS", "NEURONS", "build_model"]
