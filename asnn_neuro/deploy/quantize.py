"""Quantisation to Loihi fixed point: weights, biases, schedules, thresholds.

Weights: signed mantissas of ``bits`` bits (8 default, 4..8 allowed) with a per-layer
power-of-two exponent. They are stored the way Loihi's synapse (and Lava's
bit-accurate Dense) holds mixed-sign weights: ``w = m << (9 - bits)`` in [-256, 254],
so that Lava's own weight truncation is a no-op. The exponent is the finest one
whose range clips at most ``max_clip`` of the weights.
Decays and gains: 12-bit fractions (4096 == 1.0); thresholds and state: integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asnn_neuro.chip import limits as lim
from asnn_neuro.errors import InputError

MIN_BITS, MAX_BITS = lim.WEIGHT_BITS_MIN, lim.WEIGHT_BITS_MAX
DEFAULT_MAX_CLIP = 1e-3  # at most 0.1 % of a layer's weights may saturate


@dataclass(frozen=True)
class QuantizedWeights:
    """Integer weights w with W ~= w * 2**exponent, and how well the range is used."""

    weight: np.ndarray
    exponent: int
    bits: int
    clipped_fraction: float
    range_used: float  # max |mantissa| / largest mantissa

    def dequantize(self) -> np.ndarray:
        return self.weight.astype(np.float64) * 2.0 ** self.exponent


def check_bits(bits: int) -> int:
    if not MIN_BITS <= bits <= MAX_BITS:
        raise InputError(f"--weight-bits must be between {MIN_BITS} and {MAX_BITS}, got {bits}")
    return bits


def quantize_weights(w: np.ndarray, bits: int = 8, max_clip: float = DEFAULT_MAX_CLIP,
                     min_exponent: int | None = None) -> QuantizedWeights:
    """Quantise float weights to ``bits``-bit mantissas with a shared exponent.

    ``min_exponent`` (in the stored-weight convention, i.e. the returned ``exponent``)
    forces a coarser scale where the neuron's integer ranges demand it."""
    check_bits(bits)
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise InputError("weights contain NaN or inf")
    top = (1 << (bits - 1)) - 1
    lo = -(1 << (bits - 1))
    mags = np.abs(w).ravel()
    if mags.size == 0 or mags.max() == 0:
        return QuantizedWeights(np.zeros(w.shape, dtype=np.int64), min_exponent or 0, bits, 0.0, 0.0)
    target = float(np.quantile(mags, 1.0 - max_clip)) if max_clip > 0 else float(mags.max())
    target = max(target, float(mags.max()) * 1e-6)
    exp = math.ceil(math.log2(target / (top + 0.5)))
    shift = lim.WEIGHT_STORE_BITS - bits
    if min_exponent is not None:
        exp = max(exp, min_exponent + shift)
    while True:  # the quantile is a target; make sure the clip bound holds
        mant = np.rint(w / 2.0 ** exp)
        clipped = float(np.mean((mant > top) | (mant < lo)))
        if clipped <= max_clip:
            break
        exp += 1
    mant = np.clip(mant, lo, top).astype(np.int64)
    return QuantizedWeights(
        weight=mant << shift,
        exponent=exp - shift,
        bits=bits,
        clipped_fraction=clipped,
        range_used=float(np.abs(mant).max() / top),
    )


def quantize_bias(b: np.ndarray, exponent: int) -> np.ndarray:
    """Bias in accumulator units of a path whose weights have ``exponent``."""
    b = np.asarray(b, dtype=np.float64)
    if not np.all(np.isfinite(b)):
        raise InputError("bias contains NaN or inf")
    return np.rint(b / 2.0 ** exponent).astype(np.int64)


def quantize_fraction(x, lo: float, hi: float) -> tuple[int, ...]:
    """12-bit fractions (x * 4096, rounded) of a schedule, clamped to [lo, hi]."""
    arr = np.clip(np.asarray(x, dtype=np.float64), lo, hi)
    return tuple(int(v) for v in np.rint(arr * lim.DECAY_ONE))


def quantize_gain(g) -> tuple[int, ...]:
    """12-bit fractions of an ASNN gain schedule, within the neuron's 16-bit gain range."""
    return quantize_fraction(g, -lim.ASNN_GAIN_LIMIT, lim.ASNN_GAIN_LIMIT)
