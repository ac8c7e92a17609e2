"""Encode stage: static images -> T input frames (``schemes``), and the integer input
streams a deployed network reads (``frames``). ``encode(x, scheme, timesteps)`` is the
public entry point (x: (N, C, H, W) in [0, 1] -> (N, C, H, W, T), time last).
Names load their module on first use; ``names`` (scheme names and descriptions) needs no torch."""

from asnn_neuro.encoding.names import SCHEMES, describe_schemes
from asnn_neuro.util.lazy import lazy_attributes

_LAZY = {name: "schemes" for name in ("MAX_TIMESTEPS", "TemporalEqCalibration", "analog_mask", "encode",
                                      "is_hybrid", "min_timesteps", "spike_mask", "validate_scheme")}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = ["MAX_TIMESTEPS", "SCHEMES", "TemporalEqCalibration", "analog_mask", "describe_schemes", "encode",
           "is_hybrid", "min_timesteps", "spike_mask", "validate_scheme"]
