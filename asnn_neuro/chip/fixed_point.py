"""The integer arithmetic of the deployed network, in one place.

Every fixed-point computation that runs on Loihi (or in Lava's bit-accurate CPU
models) is written here once, on integer arrays, for numpy *and* torch: the Lava
ProcessModels call these functions with numpy int64 arrays, the fast
fixed-point torch executor calls them with torch int64 tensors. Bit-exactness
between the two backends therefore holds by construction, and the tests pin
the arithmetic itself against hand-computed steps.

Conventions (all integers; the constants come from ``chip.limits``):
- ``DECAY_BITS = 12``: leaks and gains are 12-bit fractions, 4096 == 1.0.
- ``STATE_BITS = 12``: the ASNN membrane state carries 12 fractional bits, so
  the threshold 1.0 is 4096.
- shifts round half up: ``round_shift(x, k) = floor((x + 2**(k-1)) / 2**k)``.
- Lava's stock LIF (CUBA) arithmetic is reproduced exactly, including its
  sign-magnitude decay, 24-bit wrap of the current and clip of the voltage.
"""

from __future__ import annotations

import numpy as np

from asnn_neuro.chip.arrays import Array
from asnn_neuro.chip.arrays import absolute as _abs
from asnn_neuro.chip.arrays import clip as _clip
from asnn_neuro.chip.arrays import is_torch as _is_torch
from asnn_neuro.chip.arrays import sign as _sign
from asnn_neuro.chip.arrays import where as _where
from asnn_neuro.chip.limits import (  # noqa: F401  (re-exported: the arithmetic's own constants)
    CONV_CLAMP,
    DECAY_BITS,
    DECAY_ONE,
    GRADED_LEVELS,
    LIF_ACT_SHIFT,
    LIF_DS_OFFSET,
    LIF_MAX_UV,
    LIF_VTH_SHIFT,
    STATE_BITS,
    STATE_LIMIT,
    STATE_ONE,
)

EXACT_FLOAT32 = 1 << 24  # integers up to this magnitude are exact in float32 sums


def sums_exact_in_float32(weight: np.ndarray, graded: bool) -> bool:
    """True when every synaptic sum of these integer weights (conv (O, I, kH, kW) or dense (O, I))
    over binary spikes, or over graded payloads 0..255 when ``graded``, stays below 2**24, so a
    float32 convolution or matmul computes it exactly (in any order)."""
    w = np.asarray(weight, dtype=np.float64)
    fan = np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max(initial=0) if w.size else 0.0
    return fan * (GRADED_LEVELS if graded else 1) < EXACT_FLOAT32


def round_shift(x: Array, shift: int) -> Array:
    """x * 2**-shift rounded half up (shift > 0), or x * 2**-shift exactly (shift <= 0)."""
    if shift > 0:
        return (x + (1 << (shift - 1))) >> shift
    if shift < 0:
        return x << (-shift)
    return x


def quantize_graded(x: Array) -> Array:
    """Analog values in [0, 1] -> 8-bit graded spike payloads 0..255."""
    if _is_torch(x):
        return (x.clamp(0, 1) * GRADED_LEVELS).round().to(dtype=__import__("torch").int64)
    return np.rint(np.clip(x, 0, 1) * GRADED_LEVELS).astype(np.int64)


def asnn_input(accum: Array, bias: int | Array, gain_q: int, shift: int) -> Array:
    """Synaptic input of one path in state units: round((accum + bias) * gain_q * 2**-shift).

    accum: integer synaptic sum of the path (weights x spikes or x graded payloads);
    bias: the path's folded bias in the same units; gain_q: g[t] * 4096;
    shift: the path's right shift, ``DECAY_BITS - weight_exponent - STATE_BITS``.
    """
    return round_shift((accum + bias) * gain_q, shift)


def asnn_update(u: Array, current: Array, leak_q: int) -> Array:
    """Leak and integrate: u <- round(lam_q * u / 4096) + current, saturated to 24 bits."""
    return _clip(round_shift(u * leak_q, DECAY_BITS) + current, -STATE_LIMIT, STATE_LIMIT)


def asnn_fire(u: Array, threshold_q: int = STATE_ONE, reset_q: int | None = None) -> tuple[Array, Array]:
    """Spike where u >= threshold and soft-reset: subtract ``reset_q`` (default: the threshold).
    Returns (spikes, u)."""
    spikes = u >= threshold_q
    return spikes, u - spikes * (threshold_q if reset_q is None else reset_q)


def lif_decay(x: Array, decay: int) -> Array:
    """Lava LIF decay: sign(x) * ((|x| * (4096 - decay)) >> 12)."""
    return _sign(x) * ((_abs(x) * (DECAY_ONE - decay)) >> DECAY_BITS)


def lif_integrate(u: Array, v: Array, a_in: Array, du: int, dv: int, bias: Array | int) -> tuple[Array, Array]:
    """The decay-and-integrate half of Lava's bit-accurate LIF (PyLifModelBitAcc): returns the new
    (u, v) before any spike. Like Loihi, the current decay adds a 1-bit offset (``ds_offset =
    1``), so the effective current decay is du + 1 (NetX's iDecay); the current wraps at 24 bits,
    the voltage saturates."""
    u = lif_decay(u, du + LIF_DS_OFFSET) + (a_in << LIF_ACT_SHIFT)
    u = _where(u > LIF_MAX_UV, u - 2 * LIF_MAX_UV, u)
    u = _where(u <= -LIF_MAX_UV, u + 2 * LIF_MAX_UV, u)
    v = lif_decay(v, dv) + u + bias
    return u, _clip(v, -LIF_MAX_UV + 1, LIF_MAX_UV - 1)


def lif_step(
    u: Array, v: Array, a_in: Array, du: int, dv: int, bias: Array | int, vth_mant: int
) -> tuple[Array, Array, Array]:
    """One step of Lava's bit-accurate LIF (PyLifModelBitAcc): ``lif_integrate``, then a spike
    where v > vth_mant << 6, which resets v to 0. Returns (spikes, u, v)."""
    u, v = lif_integrate(u, v, a_in, du, dv, bias)
    spikes = v > (vth_mant << LIF_VTH_SHIFT)
    v = _where(spikes, v * 0, v)
    return spikes, u, v


def delay_push_select(ring: Array, t: int, value: Array, delay: Array) -> Array:
    """One step of a per-neuron synaptic delay line (Loihi's axon delay, Lava's ``DelayDense``).

    ring: (D + 1, ...) the inputs of the last D + 1 steps (slot ``s % (D + 1)`` holds step s),
    updated in place with ``value`` (the synaptic input of step ``t``); delay: steps per neuron,
    broadcastable to ``value``. Returns the input of step ``t - delay``: 0 before the line's first
    step, whose slot (zeros when the line starts) has not been written yet."""
    slots = ring.shape[0]
    ring[t % slots] = value
    lag = t - delay
    if _is_torch(ring):
        import torch

        idx = (lag % slots).expand(1, *value.shape)
        out = torch.gather(ring, 0, idx)[0]
    else:
        idx = np.broadcast_to(np.asarray(lag % slots), (1, *value.shape))
        out = np.take_along_axis(ring, idx, axis=0)[0]
    return out


def _exact_conv(x: Array, weight: np.ndarray, op) -> Array:
    """``op(x, w)`` on float64 copies of x ((N,) C, H, W) and weight (sums of integers in float64
    are exact), rounded and clamped to 24 bits like Lava's fixed-point conv; torch in, torch out."""
    import torch

    is_t = _is_torch(x)
    xt = x if is_t else torch.from_numpy(np.asarray(x, dtype=np.int64))
    batched = xt.dim() == 4
    xf = (xt if batched else xt[None]).to(torch.float64)
    out = op(xf, torch.as_tensor(np.asarray(weight, dtype=np.float64)))
    out = out.round().clamp(-CONV_CLAMP, CONV_CLAMP).to(torch.int64)
    out = out if batched else out[0]
    return out if is_t else out.numpy()


def conv2d(x: Array, weight: np.ndarray, stride: tuple[int, int], padding: tuple[int, int],
           dilation: tuple[int, int], groups: int) -> Array:
    """Integer convolution of x ((N,) C, H, W), weight in torch's (C_out, C_in / groups, kH, kW)
    layout, clamped to 24 bits like Lava's fixed-point conv."""
    import torch.nn.functional as F

    return _exact_conv(x, weight, lambda xf, w: F.conv2d(xf, w, stride=stride, padding=padding, dilation=dilation,
                                                          groups=groups))


def conv_transpose(x: Array, weight: np.ndarray, stride: tuple[int, int], padding: tuple[int, int],
                   dilation: tuple[int, int], groups: int, out_hw: tuple[int, int]) -> Array:
    """Integer transposed convolution (NetX ``convT`` / ``unpool``) of x ((N,) C, H, W), weight in
    torch's (C_in, C_out / groups, kH, kW) layout, cropped or extended to ``out_hw``; clamped to
    24 bits like Lava's fixed-point conv."""
    import torch.nn.functional as F

    def op(xf, w):
        base = [(xf.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * (w.shape[2 + a] - 1) + 1
                for a in (0, 1)]
        extra = [max(0, out_hw[a] - base[a]) for a in (0, 1)]
        out = F.conv_transpose2d(xf, w, stride=stride, padding=padding, dilation=dilation, groups=groups,
                                 output_padding=tuple(extra))
        return out[..., :out_hw[0], :out_hw[1]]

    return _exact_conv(x, weight, op)
