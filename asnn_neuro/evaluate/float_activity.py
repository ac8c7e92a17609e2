"""Per neuron node of a float graph: spikes, and the synaptic operations its input caused.

A synop is one event delivered along one synapse, as for chip runs (``energy.fanout``): an
event of a source (the input or a neuron node) counts once per target neuron it reaches
through the synapse nodes between them (Affine, Linear, Conv2d, pools, Flatten, Scale, Delay).
The fan-out is structural (every weight a synapse, zero or not, as the chip stores them),
found by sending each source neuron alone through those nodes with all-ones weights. Events
of spiking sources are synops; the values of non-spiking nodes (LI, CubaLI, I) and graded
input are multiply-accumulates (``graded_macs``).
"""

from __future__ import annotations

import numpy as np
import torch

from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.backends.results import ExecResult
from asnn_neuro.deploy.nir.read import FloatGraph, Op
from asnn_neuro.runs import LayerRecord

CHUNK = 512  # source neurons sent through the graph at once


def _structural(graph: FloatGraph) -> FloatExecutor:
    """An executor of ``graph`` whose synapses are all ones (biases dropped)."""
    ops = []
    for op in graph.ops:
        params = {k: v for k, v in op.params.items() if k != "bias"}
        for key in ("weight", "scale"):
            if key in params and not op.is_neuron:
                params[key] = np.ones_like(np.asarray(params[key], dtype=np.float64))
        ops.append(Op(name=op.name, kind=op.kind, params=params, inputs=op.inputs, shape=op.shape,
                      recurrent=op.recurrent))
    return FloatExecutor(FloatGraph(graph.input_shape, ops, graph.output, graph.convention, graph.source_file))


def _reach(ex: FloatExecutor, graph: FloatGraph, source: str, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """For each neuron node fed by ``source``: how many of its neurons each source neuron reaches."""
    n_src = int(np.prod(shape))
    out: dict[str, np.ndarray] = {}
    for lo in range(0, n_src, CHUNK):
        hi = min(lo + CHUNK, n_src)
        reached = {source: torch.eye(n_src, dtype=torch.float32)[lo:hi].reshape(hi - lo, *shape)}
        for _ in range(2):  # a second pass reaches nodes ordered before a recurrent source
            for op in graph.ops:
                srcs = [s for s in op.inputs if s in reached and s != op.name]
                if op.kind == "Input" or not srcs:
                    continue
                x = reached[srcs[0]]
                for s in srcs[1:]:
                    x = x + reached[s].reshape(x.shape)
                if op.is_neuron:  # the source itself too, when it reads itself through synapses
                    counts = (x.reshape(hi - lo, -1) != 0).sum(1).numpy().astype(np.int64)
                    out.setdefault(op.name, np.zeros(n_src, dtype=np.int64))[lo:hi] = counts
                elif op.kind in ("Delay", "Output"):
                    reached[op.name] = x
                else:
                    reached[op.name] = (ex._apply(op, x, {}, 0) != 0).to(torch.float32)
    return out


def float_layers(graph: FloatGraph, res: ExecResult, graded_input: bool = False) -> list[LayerRecord]:
    """One ``LayerRecord`` per neuron node of ``graph`` (in order) from a float run's result."""
    ex = _structural(graph)
    neurons = graph.neurons
    totals = {op.name: [0, 0] for op in neurons}  # [synops, graded_macs]
    sources: list[tuple[str, tuple[int, ...], np.ndarray, bool]] = [
        (op.name, graph.input_shape, np.asarray(res.input_spikes), graded_input)
        for op in graph.ops if op.kind == "Input"]
    sources += [(op.name, tuple(op.shape), np.asarray(c.per_neuron), not op.spiking)
                for op, c in zip(neurons, res.layers)]
    for name, shape, events, graded in sources:
        if not np.any(events):
            continue
        for target, fan in _reach(ex, graph, name, shape).items():
            totals[target][1 if graded else 0] += int(round(float(np.dot(events.reshape(-1), fan))))
    return [LayerRecord(name=op.name, type=op.kind, neurons=int(np.prod(op.shape)),
                        spikes=int(round(float(np.sum(c.per_neuron)))) if op.spiking else 0,
                        synops=totals[op.name][0], graded_macs=totals[op.name][1])
            for op, c in zip(neurons, res.layers)]
