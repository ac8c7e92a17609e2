"""Resonate-and-fire (NetX ``RF_PHASE`` / ``RF_IZHIKEVICH``) as lava-dl's loader runs it: Lava's
RF (fires when the phase crosses zero with the real part above threshold) or RF_IZ (fires when
the imaginary part reaches the threshold, then resets).

Limits: lava's rf models (int16 input ports, 24-bit state); decays 12-bit fractions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array, absolute, clip, sign, where
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields


@dataclass(frozen=True)
class ResonateNeuron:
    """sin_decay, cos_decay: (1 - alpha) sin / cos of the rotation per step, 12-bit fractions (as
    lava-dl derives them from the file's sinDecay / cosDecay); vth: threshold in state units
    (vThMant << 6). Its paths with ``imag`` set drive the imaginary part."""

    sin_decay: int
    cos_decay: int
    vth: int
    izhikevich: bool = False
    state_exp: int = 6
    kind: Literal["RF"] = "RF"


class ResonateState(NamedTuple):
    real: Array
    imag: Array


def init(p: Any, shape: tuple[int, ...], like: Any) -> ResonateState:
    d = Drive(0, {}, shape, like)
    return ResonateState(d.zeros(), d.zeros())


def _wrap16(x: Array) -> Array:
    """Lava's RF input ports hold int16: larger synaptic sums wrap around."""
    return ((x + (1 << 15)) & ((1 << 16) - 1)) - (1 << 15)


def scaled(x: Array) -> Array:
    return sign(x) * (absolute(x) >> lim.DECAY_BITS)


def step(p: ResonateNeuron, s: ResonateState, drive: Drive) -> tuple[Array, ResonateState]:
    """Rotate the state by the 12-bit (sin, cos) decays (each product rounded toward zero), add
    the input << state_exp (real: the spike and graded ports, imaginary: the imag port), saturate
    to 24 bits; then fire (RF: upward zero crossing of the imaginary part with real >= vth; RF-IZ:
    imaginary >= vth, then real = 0 and imaginary = vth - 1)."""
    a_re = _wrap16(drive.total()) << p.state_exp
    a_im = _wrap16(drive.total(("imag",))) << p.state_exp
    top = lim.LIF_MAX_UV - 1
    re = clip(scaled(p.cos_decay * s.real) - scaled(p.sin_decay * s.imag) + a_re, -top, top)
    im = clip(scaled(p.sin_decay * s.real) + scaled(p.cos_decay * s.imag) + a_im, -top, top)
    if p.izhikevich:
        spikes = im >= p.vth
        return spikes, ResonateState(where(spikes, re * 0, re), where(spikes, im * 0 + (p.vth - 1), im))
    return (re >= p.vth) & (im >= 0) & (s.imag < 0), ResonateState(re, im)


def check(p: ResonateNeuron, steps: int) -> str | None:
    if not (0 <= p.sin_decay <= lim.DECAY_ONE and 0 <= abs(p.cos_decay) <= lim.DECAY_ONE
            and 0 <= p.vth < lim.LIF_MAX_UV):
        return f"RF parameters out of range (sin {p.sin_decay}, cos {p.cos_decay}, vth {p.vth})"
    return None


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> ResonateNeuron:
    """The integer decays lava-dl's loader gives Lava's RF process: it turns the file's sinDecay /
    cosDecay into a period and a decay (slayer's ``rf.neuron_params``), and RF back into 12-bit
    sin / cos, truncated (the same float operations, so the same integers)."""
    sin_q, cos_q = f.scalar("sinDecay"), f.scalar("cosDecay")
    sin_f, cos_f = np.float64(sin_q) / lim.DECAY_ONE, np.float64(cos_q) / lim.DECAY_ONE
    alpha = 1 - np.sqrt(sin_f ** 2 + cos_f ** 2)
    frequency = np.arctan2(sin_f, cos_f) / 2 / np.pi
    if not frequency > 0:
        raise f.fail(f"RF decays (sinDecay {sin_q}, cosDecay {cos_q}) give no positive frequency")
    period = 1 / frequency
    sin_d = int(np.int32((1 - alpha) * np.sin(np.pi * 2 * 1 / period) * lim.DECAY_ONE))
    cos_d = int(np.int32((1 - alpha) * np.cos(np.pi * 2 * 1 / period) * lim.DECAY_ONE))
    vth = int(f.scalar("vThMant") * (1 << lim.LIF_ACT_SHIFT))
    return ResonateNeuron(sin_decay=sin_d, cos_decay=cos_d, vth=vth, izhikevich="PHASE" not in netx_type)


KIND = Kind(name="RF", params=ResonateNeuron, init=init, step=step, ports=("spike", "graded", "imag"),
            check=check, netx_types=("RF", "RF_PHASE", "RF_IZHIKEVICH"), netx_read=netx_read)
