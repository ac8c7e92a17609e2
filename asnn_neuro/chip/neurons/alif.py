"""Adaptive LIF (lava-dl ``slayer.neuron.alif``, NetX ``ALIF``): CUBA current and voltage with no
reset, an adaptive threshold that steps up on a spike and decays back to its base, and a
refractory term that adds twice the threshold on a spike and decays.

Arithmetic: SLAYER's own fixed-point forward (``leaky_integrator`` and ``adaptive_threshold``
dynamics, ``right_shift_to_zero``), in the chip's units (state = SLAYER's x 4096 = Loihi's
``<< 6`` of the synaptic sum); the current and voltage use ``fixed_point.lif_integrate`` (Lava's
24-bit current wrap and voltage clip, which SLAYER's int64 never reaches within 24 bits).
Limits: those of the stock CUBA (lava-lif), thresholds below 2**23."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array
from asnn_neuro.chip.neurons import cuba
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields
from asnn_neuro.chip.neurons.cuba import CubaState


@dataclass(frozen=True)
class AdaptiveLifNeuron:
    """i_decay, v_decay, th_decay, ref_decay: 12-bit decays (NetX iDecay, vDecay, thDecay,
    refDecay); vth_mant: the base threshold, vth_step: what a spike adds to it (NetX vThMant,
    vThStep; both compared in state units, << 6)."""

    i_decay: int
    v_decay: int
    th_decay: int
    ref_decay: int
    vth_mant: int
    vth_step: int
    kind: Literal["ALIF"] = "ALIF"

    @property
    def th0(self) -> int:
        return int(self.vth_mant) << lim.LIF_VTH_SHIFT


class AdaptiveLifState(NamedTuple):
    u: Array    # current
    v: Array    # voltage (never reset)
    th: Array   # adaptive threshold, starts at the base
    ref: Array  # refractory term


def init(p: AdaptiveLifNeuron, shape: tuple[int, ...], like: Any) -> AdaptiveLifState:
    d = Drive(0, {}, shape, like)
    return AdaptiveLifState(d.zeros(), d.zeros(), d.zeros() + p.th0, d.zeros())


def step(p: AdaptiveLifNeuron, s: AdaptiveLifState, drive: Drive) -> tuple[Array, AdaptiveLifState]:
    """Integrate; decay the refractory term and the threshold's excess over its base (rounding
    toward zero); spike where v >= threshold + refractory; then the threshold steps up by
    vth_step << 6 and the refractory term grows by twice the (pre-step) threshold."""
    u, v = cuba.integrate(p.i_decay, p.v_decay, CubaState(s.u, s.v), drive)
    th, ref = decay_threshold(p, s.th, s.ref)
    spikes = v >= th + ref
    return spikes, AdaptiveLifState(u, v, *after_spike(p, spikes, th, ref))


def decay_threshold(p: Any, th: Array, ref: Array) -> tuple[Array, Array]:
    """SLAYER's adaptive threshold and refractory decays (toward the base th0, toward 0), rounded
    toward zero; ``p`` has th0, th_decay, ref_decay (ALIF, ADRF)."""
    return fx.lif_decay(th - p.th0, p.th_decay) + p.th0, fx.lif_decay(ref, p.ref_decay)


def after_spike(p: Any, spikes: Array, th: Array, ref: Array) -> tuple[Array, Array]:
    """Where a neuron spiked: the threshold steps up by vth_step << 6, the refractory term grows
    by twice the (pre-step) threshold."""
    return th + spikes * (int(p.vth_step) << lim.LIF_VTH_SHIFT), ref + spikes * (2 * th)


def check(p: AdaptiveLifNeuron, steps: int) -> str | None:
    decays = (p.i_decay, p.v_decay, p.th_decay, p.ref_decay)
    if not all(0 <= d <= lim.DECAY_ONE for d in decays):
        return f"ALIF decays {decays} outside [0, {lim.DECAY_ONE}]"
    if not 0 <= p.vth_mant <= lim.LIF_VTH_MAX or not 0 <= p.vth_step <= lim.LIF_VTH_MAX:
        return f"ALIF vThMant {p.vth_mant} / vThStep {p.vth_step} outside Loihi's 17-bit range"
    return None


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> AdaptiveLifNeuron:
    if f.scalar("gradedSpike", 0):
        raise f.refuse("ALIF with graded spikes is not run (no graded form of its spike)")
    return AdaptiveLifNeuron(i_decay=f.scalar("iDecay"), v_decay=f.scalar("vDecay"), th_decay=f.scalar("thDecay"),
                             ref_decay=f.scalar("refDecay"), vth_mant=f.scalar("vThMant"),
                             vth_step=f.scalar("vThStep"))


def netx_write(p: AdaptiveLifNeuron) -> dict[str, Any]:
    return {"type": "ALIF", "iDecay": int(p.i_decay), "vDecay": int(p.v_decay), "thDecay": int(p.th_decay),
            "refDecay": int(p.ref_decay), "vThMant": int(p.vth_mant), "vThStep": int(p.vth_step),
            "refDelay": 1, "gradedSpike": False}


KIND = Kind(name="ALIF", params=AdaptiveLifNeuron, init=init, step=step, check=check, netx_types=("ALIF",),
            netx_read=netx_read, netx_write=netx_write,
            events={"neuron_update": 1, "threshold_update": 1},
            nir_refusal="NIR has no adaptive-threshold neuron")
