"""How samples follow each other through a network: the three stream modes, shared by both backends.

A layer ``d`` synapses deep (``ir.Network.depth``) handles step ``t`` of sample ``k`` at Lava time
step ``k * period + t + d + 1``. What it does before the sample reaches it is the mode:

- ``reset`` (our files' default; lava-dl's loader built with ``reset_interval = T``): every layer
  starts each sample at rest when the sample's first step reaches it; samples are independent
  and stream back to back (period T).
- ``fill`` (each sample as lava-dl's loader runs it from a fresh start): every layer starts at
  rest at the same moment, when the sample enters the network, and runs the ``d`` steps before the
  input reaches it with its bias (an SDNN layer sends its bias, a CUBA layer with a bias charges).
  Samples are independent: the Lava graph spaces them ``T + latency`` steps apart and silences
  every synaptic input at each sample's first step.
- ``continuous`` (lava-dl's loader as it is: ``reset_interval = None``, the default for NetX files
  we did not write): one stream, nothing ever resets; the first sample sees the pipeline fill and
  sample k + 1 starts with the state sample k left (PilotNet-style frame streams).

For one sample, ``fill`` and ``continuous`` are the same run. A neuron kind's start-up is its own
``init`` (chip/neurons/): the modes only say when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch

from asnn_neuro import ir
from asnn_neuro.backends.results import Counts, ExecResult
from asnn_neuro.errors import InputError


class StreamMode(str, Enum):
    RESET = "reset"
    FILL = "fill"
    CONTINUOUS = "continuous"


MODES = tuple(m.value for m in StreamMode)


def parse_mode(mode: str | StreamMode | None, net: ir.Network) -> StreamMode:
    """``mode`` as a StreamMode; None -> the network's default (``default_mode``)."""
    if mode is None:
        return default_mode(net)
    try:
        return StreamMode(mode)
    except ValueError:
        raise InputError(f"unknown stream mode '{mode}'; choose one of: {', '.join(MODES)}") from None


def default_mode(net: ir.Network) -> StreamMode:
    """``continuous`` (lava-dl's semantics) for a NetX file we did not write, ``reset`` otherwise."""
    return StreamMode.CONTINUOUS if net.meta.get("origin") == "foreign" else StreamMode.RESET


@dataclass(frozen=True)
class Clock:
    """Where one Lava process at pipeline depth ``offset`` is in the stream.

    period: Lava steps per sample (T, or T + latency in ``fill``); steps: the sample's own T."""

    mode: StreamMode
    period: int
    offset: int
    steps: int

    def at(self, time_step: int) -> tuple[int, int, bool, bool]:
        """(sample k, step t, runs now, starts from rest now) at Lava ``time_step`` (from 1).

        t < 0: the pipeline fill before the sample reaches this layer; t >= steps (``fill`` only):
        steps after the sample, whose outputs no later layer keeps."""
        s = time_step - 1 - self.offset
        if self.mode == StreamMode.RESET:
            if s < 0:
                return -1, -1, False, False
            k, t = divmod(s, self.period)
            return k, t, True, t == 0
        if self.mode == StreamMode.FILL:
            k, r = divmod(s + self.offset, self.period)
            return k, r - self.offset, True, r == 0
        if s < 0:
            return 0, s, True, time_step == 1
        k, t = divmod(s, self.period)
        return k, t, True, time_step == 1


def lava_period(mode: StreamMode, net: ir.Network) -> int:
    """Lava steps between two samples' starts."""
    return net.timesteps + max(net.depth()) if mode == StreamMode.FILL else net.timesteps


def lava_steps(mode: StreamMode, net: ir.Network, samples: int) -> int:
    """Lava steps that run ``samples`` samples through every layer."""
    if mode == StreamMode.FILL:
        return samples * lava_period(mode, net)
    return samples * net.timesteps + max(net.depth())


def run_executor(net: ir.Network, spikes: torch.Tensor | None, graded: torch.Tensor | None,
                 mode: StreamMode = StreamMode.RESET, record: int = 0) -> ExecResult:
    """``FixedExecutor`` in ``mode``: ``continuous`` runs the N samples as one stream of N * T steps
    (one sequence, so it is not batched over samples) and splits the result back per sample."""
    from asnn_neuro.backends.executor import FixedExecutor

    if mode != StreamMode.CONTINUOUS:
        return FixedExecutor(net, fill=mode == StreamMode.FILL).run(spikes, graded, record=record)
    ref = spikes if spikes is not None else graded
    if ref is None:
        raise InputError("no input frames")
    n, T = ref.shape[0], ref.shape[1]

    def joined(x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else x.reshape(1, n * T, *x.shape[2:])

    res = FixedExecutor(net, fill=True).run(joined(spikes), joined(graded), record=1 if record else 0)
    return split_stream(net, res, n, T, record)


def split_stream(net: ir.Network, res: ExecResult, n: int, T: int, record: int) -> ExecResult:
    """A one-sequence result of n * T steps -> per-sample counts, scores, output and traces."""
    layers = []
    for c in res.layers:
        per_step = np.asarray(c.per_step).reshape(n, T)
        layers.append(Counts(np.asarray(c.per_neuron), per_step.sum(0), per_step.sum(1).tolist()))
    output = res.output.reshape(n, T, -1)
    scores = output[:, -1].copy() if ir.is_state_readout(net.layers[-1]) else output.sum(1)
    traces = None
    if record and res.traces is not None:
        traces = [tr.reshape(n, T, -1)[:record] for tr in res.traces]
    return ExecResult(scores=scores, layers=layers, input_spikes=res.input_spikes,
                      input_graded=res.input_graded, traces=traces, output=output)
