"""Adaptive resonate-and-fire (lava-dl ``slayer.neuron.adrf``, NetX ``ADRF_PHASE``): a resonator
(no reset) with ALIF's adaptive threshold and refractory term; it fires when the imaginary part
crosses zero upwards with the real part at or above threshold + refractory.

Arithmetic: SLAYER's own fixed-point forward (``resonator`` and ``adaptive_phase_th`` dynamics,
``right_shift_to_zero``) in the chip's units (input << 6; thresholds vThMant << 6), with the file's
sinDecay / cosDecay as SLAYER uses them (lava-dl's NetX loader instead runs ADRF as a plain RF).
The state saturates at 24 bits like Lava's RF, which SLAYER's int64 never reaches within range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array, clip
from asnn_neuro.chip.neurons import alif
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields
from asnn_neuro.chip.neurons.rf import scaled


@dataclass(frozen=True)
class AdaptiveResonateNeuron:
    """sin_decay, cos_decay: 12-bit rotation per step (NetX sinDecay, cosDecay); th_decay,
    ref_decay: 12-bit decays of the threshold's excess and of the refractory term; vth_mant,
    vth_step: the base threshold and its step per spike (NetX vThMant, vThStep; << 6)."""

    sin_decay: int
    cos_decay: int
    th_decay: int
    ref_decay: int
    vth_mant: int
    vth_step: int
    kind: Literal["ADRF"] = "ADRF"

    @property
    def th0(self) -> int:
        return int(self.vth_mant) << lim.LIF_VTH_SHIFT


class AdaptiveResonateState(NamedTuple):
    real: Array
    imag: Array
    th: Array   # adaptive threshold, starts at the base
    ref: Array  # refractory term


def init(p: AdaptiveResonateNeuron, shape: tuple[int, ...], like: Any) -> AdaptiveResonateState:
    d = Drive(0, {}, shape, like)
    return AdaptiveResonateState(d.zeros(), d.zeros(), d.zeros() + p.th0, d.zeros())


def step(p: AdaptiveResonateNeuron, s: AdaptiveResonateState, drive: Drive) -> tuple[Array, AdaptiveResonateState]:
    """Rotate and add the input (real: spike and graded ports, imaginary: the imag port, << 6);
    decay the refractory term and the threshold's excess; fire on an upward zero crossing of the
    imaginary part with real >= threshold + refractory; then step the threshold and the
    refractory term as ALIF does."""
    top = lim.LIF_MAX_UV - 1
    re = clip(scaled(p.cos_decay * s.real) - scaled(p.sin_decay * s.imag)
              + (drive.total() << lim.LIF_ACT_SHIFT), -top, top)
    im = clip(scaled(p.sin_decay * s.real) + scaled(p.cos_decay * s.imag)
              + (drive.total(("imag",)) << lim.LIF_ACT_SHIFT), -top, top)
    th, ref = alif.decay_threshold(p, s.th, s.ref)
    spikes = (re >= th + ref) & (im >= 0) & (s.imag < 0)
    return spikes, AdaptiveResonateState(re, im, *alif.after_spike(p, spikes, th, ref))


def check(p: AdaptiveResonateNeuron, steps: int) -> str | None:
    if not (0 <= p.sin_decay <= lim.DECAY_ONE and abs(p.cos_decay) <= lim.DECAY_ONE):
        return f"ADRF decays (sin {p.sin_decay}, cos {p.cos_decay}) out of range"
    return alif.check(alif.AdaptiveLifNeuron(0, 0, p.th_decay, p.ref_decay, p.vth_mant, p.vth_step), steps)


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> AdaptiveResonateNeuron:
    if f.scalar("gradedSpike", 0):
        raise f.refuse("ADRF with graded spikes is not run (no graded form of its spike)")
    return AdaptiveResonateNeuron(sin_decay=f.scalar("sinDecay"), cos_decay=f.scalar("cosDecay"),
                                  th_decay=f.scalar("thDecay"), ref_decay=f.scalar("refDecay"),
                                  vth_mant=f.scalar("vThMant"), vth_step=f.scalar("vThStep"))


KIND = Kind(name="ADRF", params=AdaptiveResonateNeuron, init=init, step=step, ports=("spike", "graded", "imag"),
            check=check, netx_types=("ADRF_PHASE",), netx_read=netx_read,
            events={"neuron_update": 1, "threshold_update": 1},
            nir_refusal="NIR has no resonator neuron")
