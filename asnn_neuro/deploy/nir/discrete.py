"""NIR's continuous-time neurons as per-step updates (one time step = the convention's ``dt``).

For a neuron with input I (the sum of its incoming edges) each step computes

    i <- alpha * i + syn_gain * I              (CubaLIF / CubaLI only; else i = I)
    v <- beta * v + gain * i + drive           (forward Euler: beta = 1 - dt/tau, gain = dt r / tau,
                                                drive = dt v_leak / tau; IF / I: beta = 1, gain = dt r)

then fires where v > threshold (or >=, by convention) and resets. ``Discrete`` holds these
per-neuron numbers (float64); the float executor runs them, the chip lowering quantises them.
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


def discretize(op: Op, conv: Convention) -> Discrete:
    """The per-step coefficients of neuron ``op`` under convention ``conv``."""
    p, dt = op.params, conv.dt
    ones = np.ones(op.shape)
    zeros = np.zeros(op.shape)
    if op.kind == "Threshold":
        return Discrete(beta=zeros, gain=ones, drive=zeros, threshold=p["threshold"], v_reset=zeros)
    if op.kind in ("IF", "I"):
        d = Discrete(beta=ones, gain=dt * p["r"], drive=zeros)
    else:
        tau = p["tau_mem"] if op.kind.startswith("Cuba") else p["tau"]
        a = dt / tau
        beta = np.exp(-a) if conv.form == "exp" else 1.0 - a
        d = Discrete(beta=beta, gain=a * p["r"], drive=a * p["v_leak"], steps_tau=tau / dt)
    if op.kind.startswith("Cuba"):
        a_syn = dt / p["tau_syn"]
        d.alpha = 1.0 - a_syn
        d.syn_gain = a_syn * p.get("w_in", ones)
    if op.kind in ("LIF", "CubaLIF", "IF"):
        d.threshold = p["v_threshold"]
        d.v_reset = p.get("v_reset", zeros)
    return d
