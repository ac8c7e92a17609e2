"""Encode stage: static images -> T input frames (``schemes``), and the integer input
streams a deployed network reads (``frames``). ``encode(x, scheme, timesteps)`` is the
public entry point (x: (N, C, H, W) in [0, 1] -> (N, C, H, W, T), time last)."""

from asnn_neuro.encoding.schemes import (
           MAX_TIMESTEPS,
           SCHEMES,
           TemporalEqCalibration,
           analog_mask,
           describe_schemes,
           encode,
           is_hybrid,
           min_timesteps,
           spike_mask,
           validate_scheme,
)

__all__ = ["MAX_TIMESTEPS", "SCHEMES", "TemporalEqCalibration", "analog_mask", "describe_schemes", "encode",
           "is_hybrid", "min_timesteps", "spike_mask", "validate_scheme"]
