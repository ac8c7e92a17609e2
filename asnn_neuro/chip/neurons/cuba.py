"""Loihi's stock CUBA-LIF (Lava ``LIF``, NetX ``CUBA``): current and voltage decay, reset to zero.

Arithmetic: ``fixed_point.lif_step`` (Lava's ``PyLifModelBitAcc``); limits: ``chip.limits``
(lava-lif: 12-bit decays, 17-bit vThMant)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields


@dataclass(frozen=True)
class CubaNeuron:
    """Loihi's stock CUBA-LIF (Lava ``LIF``), as NetX describes it.

    i_decay, v_decay: 12-bit decays as written in NetX (Lava's du = i_decay - 1, dv = v_decay);
    vth_mant: threshold mantissa (compared as v > vth_mant << 6).
    """

    i_decay: int
    v_decay: int
    vth_mant: int
    ref_delay: int = 1
    graded_spike: bool = False
    kind: Literal["CUBA"] = "CUBA"

    @property
    def du(self) -> int:
        return int(self.i_decay) - 1

    @property
    def dv(self) -> int:
        return int(self.v_decay)


class CubaState(NamedTuple):
    u: Array  # current, 24 bits (<< 6)
    v: Array  # voltage, 24 bits


def init(p: Any, shape: tuple[int, ...], like: Any) -> CubaState:
    d = Drive(0, {}, shape, like)
    return CubaState(d.zeros(), d.zeros())


def integrate(i_decay: int, v_decay: int, s: CubaState, drive: Drive) -> CubaState:
    """Lava's bit-accurate LIF decay and integration without its spike (``fixed_point.lif_integrate``):
    the summed input << 6 enters the current, the bias << 6 the voltage. For the CUBA family."""
    u, v = fx.lif_integrate(s.u, s.v, drive.total(), int(i_decay) - 1, int(v_decay), drive.bias() << lim.LIF_ACT_SHIFT)
    return CubaState(u, v)


def step(p: CubaNeuron, state: CubaState, drive: Drive) -> tuple[Array, CubaState]:
    """Lava's bit-accurate LIF step on the summed input of every port, bias << 6."""
    s, u, v = fx.lif_step(state.u, state.v, drive.total(), p.du, p.dv, drive.bias() << lim.LIF_ACT_SHIFT,
                          p.vth_mant)
    return s, CubaState(u, v)


def check(p: CubaNeuron, steps: int) -> str | None:
    """lava-lif: vThMant 17 bits unsigned, decays in [0, 4096]."""
    if not 0 <= p.vth_mant <= lim.LIF_VTH_MAX:
        return f"vThMant {p.vth_mant} outside Loihi's 17-bit range"
    if not 0 <= p.i_decay <= lim.DECAY_ONE or not 0 <= p.v_decay <= lim.DECAY_ONE:
        return f"decays (iDecay {p.i_decay}, vDecay {p.v_decay}) outside [0, {lim.DECAY_ONE}]"
    return None


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> CubaNeuron:
    return CubaNeuron(i_decay=f.scalar("iDecay"), v_decay=f.scalar("vDecay"), vth_mant=f.scalar("vThMant"),
                      ref_delay=f.scalar("refDelay", 1), graded_spike=bool(f.scalar("gradedSpike", 0)))


def netx_write(p: CubaNeuron) -> dict[str, Any]:
    return {"type": "CUBA", "iDecay": int(p.i_decay), "vDecay": int(p.v_decay), "vThMant": int(p.vth_mant),
            "refDelay": int(p.ref_delay), "gradedSpike": bool(p.graded_spike)}


KIND = Kind(name="CUBA", params=CubaNeuron, init=init, step=step, delay=True, check=check,
            netx_types=("CUBA", "LOIHI"), netx_read=netx_read, netx_write=netx_write, nir="CubaLIF",
            lava="lif_reset")
