"""What a backend returns: per-layer event counts, output scores and (optionally) traces.

Every backend -- the integer executor, Lava, the float model -- fills the same ``ExecResult``,
so the simulate, verify, energy and report stages never ask which backend ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Counts:
    """Event counts of one population (summed over the samples run)."""

    per_neuron: np.ndarray
    per_step: np.ndarray
    per_sample: list = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.per_neuron += other.per_neuron
        self.per_step += other.per_step
        self.per_sample.extend(other.per_sample)


@dataclass
class ExecResult:
    scores: np.ndarray              # (N, classes): readout state at the last step, or spike counts
    layers: list[Counts]
    input_spikes: np.ndarray        # (input neurons,) binary input events
    input_graded: np.ndarray        # (input neurons,) non-zero graded payloads
    traces: list[np.ndarray] | None = None  # per layer (N, T, neurons) when recorded
    output: np.ndarray | None = None  # (N, T, output neurons): what the last layer sent, every sample

    @property
    def predictions(self) -> np.ndarray:
        return self.scores.argmax(axis=1)
