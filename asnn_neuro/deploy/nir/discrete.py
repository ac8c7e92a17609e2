"""NIR's continuous-time neurons as per-step updates (one time step = the convention's ``dt``).

For a neuron with input I (the sum of its incoming edges) each step computes

    i <- alpha * i + syn_gain * I              (CubaLIF / CubaLI only; else i = I)
    v <- beta * v + gain * i + drive           (forward Euler: beta = 1 - dt/tau, gain = dt r / tau,
                                                drive = dt v_leak / tau; IF / I: beta = 1, gain = dt r)

then fires where v > threshold (or >=, by convention) and resets. The conventions differ in
beta and gain (Sinabs: beta = exp(-dt/tau), gain = 1 - beta for LIF, 1 for its ExpLeak (LI);
Rockpool: beta = exp(-dt/tau_mem), gain 1, drive v_leak; its LI: v <- beta (v + I)) and in
syn_gain (Norse: w_in; Rockpool: exp(-dt/tau_syn) w_in).
``Discrete`` holds these per-neuron numbers (float64) and the starting voltage; the float
executor runs them, the chip lowering quantises them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asnn_neuro.deploy.nir.read import Convention, Op


@dataclass
class Discrete:
    """Per-step coefficients of one neuron op (arrays of the op's shape)."""

    beta: np.ndarray
    gain: np.ndarray
    drive: np.ndarray
    alpha: np.ndarray | None = None      # current decay (Cuba models)
    syn_gain: np.ndarray | None = None   # input -> current
    threshold: np.ndarray | None = None  # None: non-spiking (LI, CubaLI, I)
    v_reset: np.ndarray | None = None
    steps_tau: np.ndarray | None = None  # tau / dt, for the 'divide' form
    v0: np.ndarray | None = None         # the voltage before the first step (None: 0)


def unit_gain(gain: np.ndarray) -> np.ndarray:
    """Gains within float32 writing noise of 1 are 1 (Rockpool writes r so that the gain is 1)."""
    return np.where(np.abs(gain - 1.0) < 1e-6, 1.0, gain)


def discretize(op: Op, conv: Convention) -> Discrete:
    """The per-step coefficients of neuron ``op`` under convention ``conv``."""
    p, dt = op.params, conv.dt
    ones = np.ones(op.shape)
    zeros = np.zeros(op.shape)
    if op.kind == "Threshold":
        return Discrete(beta=zeros, gain=ones, drive=zeros, threshold=p["threshold"], v_reset=zeros)
    if op.kind in ("IF", "I"):
        d = Discrete(beta=ones, gain=p["r"] if conv.form == "norse" else dt * p["r"], drive=zeros)  # Norse: v += I
    else:
        tau = conv.tau(p["tau_mem"] if op.kind.startswith("Cuba") else p["tau"])
        a = dt / tau
        if conv.form == "exp":  # Sinabs: LIF (norm_input=True) v <- beta v + (1 - beta) r I; ExpLeak v <- beta v + r I
            beta = np.exp(-a)
            norm = np.ones_like(beta) if op.kind == "LI" else 1.0 - beta
            d = Discrete(beta=beta, gain=norm * p["r"], drive=norm * p["v_leak"])
        elif conv.form == "rockpool":  # r = tau e^(-dt/tau) / dt: LIF v <- beta v + I, LI v <- beta (v + I)
            beta = np.exp(-a)
            unit = unit_gain(a * p["r"] / beta)
            d = Discrete(beta=beta, gain=unit * beta if op.kind == "LI" else unit, drive=p["v_leak"].copy())
        else:
            d = Discrete(beta=1.0 - a, gain=a * p["r"], drive=a * p["v_leak"], steps_tau=tau / dt)
    if op.kind.startswith("Cuba"):
        a_syn = dt / conv.tau(p["tau_syn"])
        w_in = p.get("w_in", ones)
        if conv.synapse == "exp":
            d.alpha = np.exp(-a_syn)
            d.syn_gain = d.alpha * w_in
        else:
            d.alpha = 1.0 - a_syn
            d.syn_gain = w_in * (1.0 if conv.synapse == "jump" else a_syn)
    if op.kind in ("LIF", "CubaLIF", "IF"):
        d.threshold = p["v_threshold"]
        d.v_reset = p.get("v_reset", zeros)
    if conv.start == "v_reset" and d.v_reset is not None and np.any(d.v_reset):
        d.v0 = d.v_reset
    elif conv.start == "v_leak" and np.any(p.get("v_leak", zeros)):
        d.v0 = p["v_leak"]
    return d
