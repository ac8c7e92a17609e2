"""A non-spiking CUBA leaky integrator (NIR ``CubaLI``; NIR ``LI`` is the case with no synaptic
current, iDecay 4096): Loihi's CUBA current and voltage with no threshold. The layer sends its
voltage every step, a graded value: a readout whose per-step membrane is the network output.

Arithmetic: ``fixed_point.lif_integrate`` (Lava's bit-accurate LIF without its spike); limits:
the stock CUBA's decays (lava-lif); the voltage saturates at 24 bits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array
from asnn_neuro.chip.neurons import cuba
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields
from asnn_neuro.chip.neurons.cuba import CubaState


@dataclass(frozen=True)
class CubaIntegratorNeuron:
    """i_decay, v_decay: 12-bit decays as in NetX (iDecay 4096: no synaptic current memory)."""

    i_decay: int
    v_decay: int
    kind: Literal["CUBA_LI"] = "CUBA_LI"


def step(p: CubaIntegratorNeuron, s: CubaState, drive: Drive) -> tuple[Array, CubaState]:
    """Integrate (no spike, no reset); the output is the voltage."""
    s = cuba.integrate(p.i_decay, p.v_decay, s, drive)
    return s.v, s


def check(p: CubaIntegratorNeuron, steps: int) -> str | None:
    if not 0 <= p.i_decay <= lim.DECAY_ONE or not 0 <= p.v_decay <= lim.DECAY_ONE:
        return f"decays (iDecay {p.i_decay}, vDecay {p.v_decay}) outside [0, {lim.DECAY_ONE}]"
    return None


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> CubaIntegratorNeuron:
    return CubaIntegratorNeuron(i_decay=f.scalar("iDecay"), v_decay=f.scalar("vDecay"))


def netx_write(p: CubaIntegratorNeuron) -> dict[str, Any]:
    return {"type": "CUBA_LI", "iDecay": int(p.i_decay), "vDecay": int(p.v_decay)}


def _always(p: Any) -> bool:
    return True


KIND = Kind(name="CUBA_LI", params=CubaIntegratorNeuron, init=cuba.init, step=step, sends_values=_always,
            state_readout=_always, check=check, netx_types=("CUBA_LI",), netx_read=netx_read,
            netx_write=netx_write, nir_refusal="written to NIR only through its source graph (CubaLI / LI)")
