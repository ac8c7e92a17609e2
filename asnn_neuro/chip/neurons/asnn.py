"""The ASNN neuron (our Loihi 2 program): per-step leak and gain schedules, soft reset, two
input ports (hybrid coding), optional non-spiking readout whose state is the network output.

Arithmetic: ``fixed_point.asnn_input / asnn_update / asnn_fire``; limits: ``chip.limits``
(ours: 16-bit gains, 24-bit state and threshold)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.arrays import Array
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields


@dataclass(frozen=True)
class AdaptiveNeuron:
    """The ASNN neuron with per-step schedules (length = period = time steps per sample).

    leak, gain: lam[t] and g[t] times 4096; threshold: in state units (4096 == 1.0);
    readout: non-spiking integrator whose state is the network output;
    reset: what a spike subtracts from the state (None: the threshold, the ASNN soft reset).
    """

    leak: tuple[int, ...]
    gain: tuple[int, ...]
    threshold: int = 4096
    readout: bool = False
    reset: int | None = None
    kind: Literal["ASNN"] = "ASNN"

    @property
    def reset_amount(self) -> int:
        """What a spike subtracts from the state, in state units."""
        return int(self.threshold if self.reset is None else self.reset)

    @property
    def period(self) -> int:
        return len(self.leak)


def init(p: Any, shape: tuple[int, ...], like: Any) -> Array:
    """The state u (state units, 12 fraction bits)."""
    return Drive(0, {}, shape, like).zeros()


def step(p: AdaptiveNeuron, u: Array, drive: Drive) -> tuple[Array, Array]:
    """u <- leak[k] u + sum over live ports of gain[k] (acc + bias) >> shift; spike and soft reset
    (a readout sends u instead). k = t mod the schedule's length (a one-step schedule repeats);
    a port's mask (one entry per step of the sample) gates it and its bias."""
    k = drive.t % p.period
    current = drive.zeros()
    for port in ("spike", "graded"):
        d = drive.ports.get(port)
        if d is None or d.acc is None or (d.mask is not None and not d.mask[drive.t % len(d.mask)]):
            continue
        current = current + fx.asnn_input(d.acc, d.bias, int(p.gain[k]), d.shift)
    u = fx.asnn_update(u, current, int(p.leak[k]))
    if p.readout:
        return u, u
    return fx.asnn_fire(u, p.threshold, p.reset_amount)


def check(p: AdaptiveNeuron, steps: int) -> str | None:
    """Ours: schedules of 1 or T steps, leak in [0, 1], 16-bit gain, threshold and reset in (0, 2**23)."""
    if steps and p.period not in (1, steps):
        return f"schedule of {p.period} steps, network has {steps}"
    if min(p.leak) < 0 or max(p.leak) > lim.DECAY_ONE:
        return f"leak outside [0, {lim.DECAY_ONE}]"
    if max(abs(g) for g in p.gain) >= 1 << (lim.ASNN_GAIN_BITS - 1):
        return "gain outside the 16-bit range"
    if not 0 < p.threshold <= lim.ASNN_THRESHOLD_MAX:
        return f"threshold {p.threshold} outside (0, 2**23)"
    if not 0 < p.reset_amount <= lim.ASNN_THRESHOLD_MAX:
        return f"reset {p.reset_amount} outside (0, 2**23)"
    return None


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> AdaptiveNeuron:
    leak = f.ints("leak").reshape(-1)
    gain = f.ints("gain").reshape(-1)
    if leak.size == 0 or leak.size != gain.size:
        raise f.fail(f"ASNN schedules of lengths {leak.size} and {gain.size}")
    return AdaptiveNeuron(leak=tuple(int(v) for v in leak), gain=tuple(int(v) for v in gain),
                          threshold=f.scalar("vThMant"), readout=bool(f.scalar("readout", 0)),
                          reset=f.scalar("reset", None))


def netx_write(p: AdaptiveNeuron) -> dict[str, Any]:
    fields: dict[str, Any] = {"type": "ASNN", "leak": tuple(p.leak), "gain": tuple(p.gain),
                              "vThMant": int(p.threshold), "readout": int(p.readout)}
    if p.reset is not None:
        fields["reset"] = int(p.reset)
    return fields


def _readout(p: AdaptiveNeuron) -> bool:
    return bool(p.readout)


def retime(p: AdaptiveNeuron, steps: int) -> AdaptiveNeuron | str:
    """The same neuron for ``steps`` steps per sample: only a constant schedule stretches."""
    if len(set(p.leak)) > 1 or len(set(p.gain)) > 1:
        return f"its leak/gain schedule changes with the step, so it runs {p.period} steps per sample only"
    return replace(p, leak=(p.leak[0],) * steps, gain=(p.gain[0],) * steps)


KIND = Kind(name="ASNN", params=AdaptiveNeuron, init=init, step=step, sends_values=_readout,
            state_readout=_readout, check=check, label=lambda p: "ASNN readout" if p.readout else "ASNN",
            netx_types=("ASNN",), netx_read=netx_read, netx_write=netx_write, lava="adaptive", retime=retime,
            nir_refusal="the ASNN neuron has per-step leak and gain schedules, which no NIR neuron expresses")
