"""lava-dl's sigma-delta neuron (NetX ``SDNN``) as its loader runs it on Lava: ``lava.proc.sdn``'s
Delta, SigmaDelta and Sigma with ReLU, in fixed point.

Limits: the threshold fits int32 (lava-dl netx: vThMant << 12); messages are 24-bit graded spikes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from asnn_neuro.chip.arrays import Array, absolute, where
from asnn_neuro.chip.neurons.base import Drive, Kind, NetxFields

SigmaDeltaRole = Literal["delta", "sigma_delta", "sigma"]


@dataclass(frozen=True)
class SigmaDeltaNeuron:
    """lava-dl's sigma-delta neuron (NetX ``type = 'SDNN'``) as its loader runs it on Lava.

    role: ``delta`` (an input layer: sends the changes of its input), ``sigma_delta`` (sums its
    graded input, adds the bias, ReLU, sends the changes), ``sigma`` (an output layer marked
    ``sigma_output``: sends its running sum); vth_mant: the delta threshold, compared as
    |change| >= vth_mant << (spike_exp + state_exp); spike_exp: fraction bits of a graded spike,
    state_exp: extra fraction bits of the state (lava-dl's defaults 6 and 6). lava-dl's loader
    always uses ReLU and no cumulative error (``cum_error`` False), whatever the file says.
    """

    vth_mant: int = 0
    role: SigmaDeltaRole = "sigma_delta"
    spike_exp: int = 6
    state_exp: int = 6
    cum_error: bool = False
    kind: Literal["SDNN"] = "SDNN"

    @property
    def vth(self) -> int:
        """The threshold in state units."""
        return int(self.vth_mant) << (self.spike_exp + self.state_exp)


class SigmaDeltaState(NamedTuple):
    sigma: Array    # the running sum of the input
    act: Array      # the last activation sent (state units)
    residue: Array  # the change not sent yet
    error: Array    # the cumulative error (cum_error only)


def init(p: Any, shape: tuple[int, ...], like: Any) -> SigmaDeltaState:
    d = Drive(0, {}, shape, like)
    return SigmaDeltaState(d.zeros(), d.zeros(), d.zeros(), d.zeros())


def step(p: SigmaDeltaNeuron, s: SigmaDeltaState, drive: Drive) -> tuple[Array, SigmaDeltaState]:
    """One step: the input (delta: the raw input) and the bias per neuron, in input units. Sends
    delta / sigma-delta: the change >> state_exp, when |change| >= vth; sigma: the running sum."""
    a_in = drive.total()
    if p.role == "sigma":
        sigma = s.sigma + a_in
        return sigma, s._replace(sigma=sigma)
    frac = 1 << (p.spike_exp + p.state_exp)
    sigma = s.sigma
    if p.role == "delta":
        act = a_in * frac
    else:
        sigma = sigma + a_in
        act = sigma + drive.bias() * frac
        act = where(act > 0, act, act * 0)  # ReLU
    delta = act - s.act + s.residue
    error = s.error
    if p.cum_error:
        error = error + delta
        out = where(absolute(error) >= p.vth, delta, delta * 0)
        error = where(out != 0, error * 0, error)
    else:
        out = where(absolute(delta) >= p.vth, delta, delta * 0)
    return out >> p.state_exp, SigmaDeltaState(sigma, act, delta - out, error)


def check(p: SigmaDeltaNeuron, steps: int) -> str | None:
    if not 0 <= p.vth < 1 << 31:
        return f"SDNN vThMant {p.vth_mant} outside [0, 2**19)"
    return None


def netx_read(f: NetxFields, netx_type: str, is_input: bool) -> SigmaDeltaNeuron:
    act = f.text("activation") if f.has("activation") else "relu"
    if act != "relu":
        raise f.refuse(f"SDNN activation '{act}': lava-dl's loader runs every SDNN neuron as ReLU; only "
                     "'relu' is run")
    role = "delta" if is_input else "sigma" if f.has("sigma_output") else "sigma_delta"
    return SigmaDeltaNeuron(vth_mant=f.scalar("vThMant", 0), role=role)


def _sends(p: SigmaDeltaNeuron) -> bool:
    return True


KIND = Kind(name="SDNN", params=SigmaDeltaNeuron, init=init, step=step, sends_values=_sends,
            state_readout=lambda p: p.role == "sigma", check=check, netx_types=("SDNN",), netx_read=netx_read)
