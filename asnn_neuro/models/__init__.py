"""Trainable spiking models built from lava-dl SLAYER blocks (``build_model`` loads torch on first use)."""

from asnn_neuro.models.names import MODELS, NEURONS
from asnn_neuro.util.lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {"build_model": "registry"})

__all__ = ["MODELS", "NEURONS", "build_model"]
