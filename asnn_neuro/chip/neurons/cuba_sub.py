"""CUBA-LIF with subtractive reset: Loihi's CUBA current and voltage decays, but a spike subtracts
the threshold from the voltage instead of zeroing it (Rockpool's ``LIFTorch``, which NIR carries
as a ``CubaLIF``; on Loihi 2 a programmable neuron). One spike per step at most.

Arithmetic: ``fixed_point.lif_integrate`` (Lava's bit-accurate LIF), then v > vth << 6 spikes and
subtracts vth << 6. Limits: those of the stock CUBA (lava-lif)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array
from asnn_neuro.chip.neurons import cuba
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields
from asnn_neuro.chip.neurons.cuba import CubaState


@dataclass(frozen=True)
class SubtractiveCubaNeuron:
    """i_decay, v_decay: 12-bit decays as in NetX (iDecay, vDecay); vth_mant: threshold mantissa
    (spikes where v > vth_mant << 6, and v -= vth_mant << 6)."""

    i_decay: int
    v_decay: int
    vth_mant: int
    kind: Literal["CUBA_SUB"] = "CUBA_SUB"


def step(p: SubtractiveCubaNeuron, s: CubaState, drive: Drive) -> tuple[Array, CubaState]:
    u, v = cuba.integrate(p.i_decay, p.v_decay, s, drive)
    vth = p.vth_mant << lim.LIF_VTH_SHIFT
    spikes = v > vth
    return spikes, CubaState(u, v - spikes * vth)


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> SubtractiveCubaNeuron:
    return SubtractiveCubaNeuron(i_decay=f.scalar("iDecay"), v_decay=f.scalar("vDecay"),
                                 vth_mant=f.scalar("vThMant"))


def netx_write(p: SubtractiveCubaNeuron) -> dict[str, Any]:
    return {"type": "CUBA_SUB", "iDecay": int(p.i_decay), "vDecay": int(p.v_decay), "vThMant": int(p.vth_mant)}


KIND = Kind(name="CUBA_SUB", params=SubtractiveCubaNeuron, init=cuba.init, step=step, delay=True, check=cuba.check,
            netx_types=("CUBA_SUB",), netx_read=netx_read, netx_write=netx_write,
            nir_refusal="NIR's CubaLIF carries no reset mode: a reader would reset to v_reset")
