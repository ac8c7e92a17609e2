"""Small dense spiking nets, one per library, neuron and reset variant its NIR exporter supports,
exported with the library's own exporter, and their forward passes (every neuron layer, step by step).

Shared by tests/test_nir_conventions.py. ``VARIANTS`` maps a case name to (library, the ``--source``
that imports it, builder). A builder takes a seed and returns a ``Case``: export(path) writes the
NIR file, forward(x) runs the library on x (N, T, N_IN) and returns (N, T, neurons) per neuron layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

N_IN, HIDDEN, OUT = 12, 10, 6


class Case(NamedTuple):
    export: Callable[[Path], None]
    forward: Callable[[torch.Tensor], list[np.ndarray]]
    fix_norse_tau: bool = False


def _dense(n_in: int, n_out: int, gain: float, bias: float = 0.0) -> torch.nn.Linear:
    lin = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.mul_(gain)
        lin.bias.mul_(bias)
    return lin


def _write(graph, path: Path) -> None:
    import nir

    nir.write(str(path), graph)


def _stepwise(modules: list, neurons: list, step: Callable) -> Callable[[torch.Tensor], list[np.ndarray]]:
    """forward(x): feed x[:, t] through ``modules`` (``step(m, h, t)`` runs one), collect neuron outputs."""
    def forward(x: torch.Tensor) -> list[np.ndarray]:
        outs: list[list[torch.Tensor]] = [[] for _ in neurons]
        with torch.no_grad():
            for t in range(x.shape[1]):
                h = x[:, t]
                for m in modules:
                    h = step(m, h, t)
                    if m in neurons:
                        outs[neurons.index(m)].append(h.reshape(h.shape[0], -1).clone())
        return [torch.stack(o, 1).numpy() for o in outs]
    return forward


# ---------------------------------------------------------------------------------------- snnTorch
def _snntorch(seed: int, reset: str, recurrent: bool) -> Case:
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    kw = {"reset_mechanism": reset, "init_hidden": True}
    if recurrent:  # all-to-all recurrence with a bias, then one-to-one
        lif1 = snn.RLeaky(beta=torch.full((HIDDEN,), 0.8), threshold=torch.ones(HIDDEN), linear_features=HIDDEN,
                          **kw)
        with torch.no_grad():
            lif1.recurrent.bias.copy_(torch.rand(HIDDEN) * 0.6)
        lif2 = snn.RLeaky(beta=torch.full((OUT,), 0.7), threshold=torch.ones(OUT), all_to_all=False,
                          V=torch.full((OUT,), 0.4), output=True, **kw)
    else:
        lif1 = snn.Leaky(beta=torch.full((HIDDEN,), 0.8), threshold=torch.ones(HIDDEN), **kw)
        lif2 = snn.Leaky(beta=torch.full((OUT,), 0.7), threshold=torch.ones(OUT), output=True, **kw)
    model = torch.nn.Sequential(_dense(N_IN, HIDDEN, 2.5, 0.5), lif1, _dense(HIDDEN, OUT, 5.0, 0.5), lif2)

    def step(m, h, t):
        if t == 0 and m is model[0]:
            utils.reset(model)
        h = m(h)
        return h[0] if isinstance(h, tuple) else h

    return Case(lambda p: _write(export_to_nir(model, torch.zeros(1, N_IN), ignore_dims=[0]), p),
                _stepwise(list(model), [lif1, lif2], step))


def _snntorch_synaptic(seed: int) -> Case:
    """Synaptic (CubaLIF, w_in = tau_syn / dt) then RSynaptic (all-to-all recurrence), subtract."""
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    syn1 = snn.Synaptic(alpha=torch.full((HIDDEN,), 0.6), beta=torch.full((HIDDEN,), 0.8),
                        threshold=torch.ones(HIDDEN), init_hidden=True)
    syn2 = snn.RSynaptic(alpha=torch.full((OUT,), 0.5), beta=torch.full((OUT,), 0.7), threshold=torch.ones(OUT),
                         linear_features=OUT, init_hidden=True, output=True)
    model = torch.nn.Sequential(_dense(N_IN, HIDDEN, 1.5, 0.3), syn1, _dense(HIDDEN, OUT, 2.5, 0.3), syn2)

    def step(m, h, t):
        if t == 0 and m is model[0]:
            utils.reset(model)
        h = m(h)
        return h[0] if isinstance(h, tuple) else h

    return Case(lambda p: _write(export_to_nir(model, torch.zeros(1, N_IN), ignore_dims=[0]), p),
                _stepwise(list(model), [syn1, syn2], step))


# ------------------------------------------------------------------------------------------ Sinabs
def _sinabs(seed: int, neuron: str) -> Case:
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike

    torch.manual_seed(seed)
    if neuron == "lif":  # norm_input=True (Sinabs' default): input gain 1 - exp(-1/tau)
        n1 = sl.LIF(tau_mem=torch.full((HIDDEN,), 4.0), spike_threshold=torch.ones(HIDDEN), spike_fn=SingleSpike)
        n2 = sl.LIF(tau_mem=torch.full((OUT,), 6.0), spike_threshold=torch.ones(OUT), spike_fn=SingleSpike)
        gain = 10.0
    elif neuron == "iaf-expleak":  # ExpLeak: norm_input=False by default
        n1, n2 = sl.IAF(spike_fn=SingleSpike), sl.ExpLeak(tau_mem=torch.full((OUT,), 5.0))
        gain = 2.5
    else:
        n1, n2 = sl.IAF(spike_fn=SingleSpike), sl.IAF(spike_fn=SingleSpike)
        gain = 2.5
    model = torch.nn.Sequential(_dense(N_IN, HIDDEN, gain, 0.5), n1, _dense(HIDDEN, OUT, gain, 0.5), n2)

    def export(path: Path) -> None:
        sinabs.reset_states(model)
        model(torch.zeros(1, 1, N_IN))  # sets the state shapes the exporter reads
        _write(sinabs.to_nir(model, torch.zeros(1, 1, N_IN)), path)

    def forward(x: torch.Tensor) -> list[np.ndarray]:
        sinabs.reset_states(model)
        outs = []
        with torch.no_grad():
            h = x
            for m in model:
                h = m(h)
                if m in (n1, n2):
                    outs.append(h.numpy().copy())
        return outs

    return Case(export, forward)


# ------------------------------------------------------------------------------------ SpikingJelly
def _spikingjelly(seed: int, neuron: str) -> Case:
    from spikingjelly.activation_based import functional, layer
    from spikingjelly.activation_based import neuron as sjn
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    torch.manual_seed(seed)
    if neuron == "lif-vreset":  # v_reset != 0: SpikingJelly starts v at v_reset
        n1, n2 = sjn.LIFNode(tau=3.0, v_reset=-0.4), sjn.LIFNode(tau=2.0, v_reset=-0.2)
        gain = 9.0
    elif neuron == "if":
        n1, n2 = sjn.IFNode(), sjn.IFNode()
        gain = 2.5
    elif neuron == "lif-no-decay-input":  # v <- v - (v - v_reset) / tau + I
        n1, n2 = sjn.LIFNode(tau=2.0, decay_input=False), sjn.LIFNode(tau=3.0, decay_input=False)
        gain = 3.5
    elif neuron == "plif":  # tau = 1 / sigmoid(w), learnt
        n1, n2 = sjn.ParametricLIFNode(init_tau=2.5), sjn.ParametricLIFNode(init_tau=3.0)
        gain = 8.0
    elif neuron == "cubalif":
        n1, n2 = sjn.CUBALIFNode(c_decay=0.5, v_decay=0.75), sjn.CUBALIFNode(c_decay=0.6, v_decay=0.8)
        gain = 2.0
    else:
        n1, n2 = sjn.LIFNode(tau=2.0), sjn.LIFNode(tau=3.0)
        gain = 8.0
    model = torch.nn.Sequential(layer.Linear(N_IN, HIDDEN), n1, layer.Linear(HIDDEN, OUT), n2)
    with torch.no_grad():
        for m in (model[0], model[2]):
            m.weight.mul_(gain)
            m.bias.mul_(0.5)

    def export(path: Path) -> None:
        functional.reset_net(model)
        export_to_nir(model, torch.zeros(1, N_IN), save_path=str(path))
        functional.reset_net(model)

    def step(m, h, t):
        if t == 0 and m is model[0]:
            functional.reset_net(model)
        return m(h)

    return Case(export, _stepwise(list(model), [n1, n2], step))


# ------------------------------------------------------------------------------------------- Norse
def _norse(seed: int, v_leak: float) -> Case:
    from norse.torch import (
        LIBoxCell,
        LIBoxParameters,
        LIFBoxCell,
        LIFBoxParameters,
        LIFCell,
        LIFParameters,
        SequentialState,
    )
    from norse.torch.utils.export_nir import to_nir

    torch.manual_seed(seed)

    def full(n: int, value: float) -> torch.Tensor:  # per-neuron tensors: nir.write refuses scalar ones
        return torch.full((n,), float(value))

    cell = LIFCell(LIFParameters(tau_syn_inv=full(HIDDEN, 200.0), tau_mem_inv=full(HIDDEN, 100.0),
                                 v_leak=full(HIDDEN, v_leak), v_th=full(HIDDEN, 1.0), v_reset=full(HIDDEN, 0.0)))
    box = LIFBoxCell(LIFBoxParameters(tau_mem_inv=full(OUT, 50.0), v_leak=full(OUT, v_leak), v_th=full(OUT, 0.5),
                                      v_reset=full(OUT, 0.0)))
    li = LIBoxCell(LIBoxParameters(tau_mem_inv=full(4, 100.0), v_leak=full(4, v_leak)))
    modules = [_dense(N_IN, HIDDEN, 6.0, 0.5), cell, _dense(HIDDEN, OUT, 16.0, 0.5), box, _dense(OUT, 4, 1.0, 0.5), li]
    states: dict[int, object] = {}

    def step(m, h, t):
        if m in (cell, box, li):
            if t == 0 and m is cell:
                states.clear()
            out, states[id(m)] = m(h, states.get(id(m)))
            return out
        return m(h)

    def export(path: Path) -> None:
        import nir

        graph = to_nir(SequentialState(*modules), torch.zeros(1, N_IN))
        nir.write(str(path), graph)

    return Case(export, _stepwise(modules, [cell, box, li], step), fix_norse_tau=True)


def _norse_iaf(seed: int) -> Case:
    from norse.torch import IAFCell, IAFParameters, SequentialState
    from norse.torch.utils.export_nir import to_nir

    torch.manual_seed(seed)
    cells = [IAFCell(IAFParameters(v_th=torch.full((n,), 1.0), v_reset=torch.zeros(n))) for n in (HIDDEN, OUT)]
    modules = [_dense(N_IN, HIDDEN, 2.0, 0.3), cells[0], _dense(HIDDEN, OUT, 3.0, 0.3), cells[1]]
    states: dict[int, object] = {}

    def step(m, h, t):
        if m in cells:
            if t == 0 and m is cells[0]:
                states.clear()
            out, states[id(m)] = m(h, states.get(id(m)))
            return out
        return m(h)

    return Case(lambda p: _write(to_nir(SequentialState(*modules), torch.zeros(1, N_IN)), p),
                _stepwise(modules, cells, step))


# ---------------------------------------------------------------------------------------- Rockpool
def _rockpool(seed: int, tau_syn: float) -> Case:
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    torch.manual_seed(seed)
    lif1 = LIFTorch(HIDDEN, tau_mem=0.02, tau_syn=tau_syn)
    lif2 = LIFTorch(OUT, tau_mem=0.01, tau_syn=tau_syn)
    lin1, lin2 = LinearTorch((N_IN, HIDDEN), has_bias=False), LinearTorch((HIDDEN, OUT), has_bias=False)
    with torch.no_grad():
        lin1.weight.mul_(0.15)
        lin2.weight.mul_(0.3)
    net = Sequential(lin1, lif1, lin2, lif2)

    def forward(x: torch.Tensor) -> list[np.ndarray]:
        outs = []
        with torch.no_grad():
            h = x
            for m in (lin1, lif1, lin2, lif2):
                m.reset_state() if hasattr(m, "reset_state") else None
                h, _, _ = m(h)
                if m in (lif1, lif2):
                    outs.append(h.numpy().copy())
        return outs

    return Case(lambda p: _write(to_nir(net), p), forward)


def _rockpool_neuron_expsyn(seed: int) -> Case:
    """LinearTorch -> LIFNeuronTorch (LIF, no current) -> LinearTorch -> ExpSynTorch (LI)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import ExpSynTorch, LIFNeuronTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    torch.manual_seed(seed)
    lif = LIFNeuronTorch(HIDDEN, tau_mem=0.02)
    syn = ExpSynTorch(OUT, tau=0.01)
    lin1, lin2 = LinearTorch((N_IN, HIDDEN), has_bias=False), LinearTorch((HIDDEN, OUT), has_bias=False)
    with torch.no_grad():
        lin1.weight.mul_(0.6)
    syn.tau.requires_grad_(False)  # Rockpool's exporter writes ExpSynTorch's tau undetached: nir.write fails else
    net = Sequential(lin1, lif, lin2, syn)

    def forward(x: torch.Tensor) -> list[np.ndarray]:
        outs = []
        with torch.no_grad():
            h = x
            for m in (lin1, lif, lin2, syn):
                m.reset_state() if hasattr(m, "reset_state") else None
                h, _, _ = m(h)
                if m in (lif, syn):
                    outs.append(h.numpy().copy())
        return outs

    return Case(lambda p: _write(to_nir(net), p), forward)


VARIANTS: dict[str, tuple[str, str, Callable[[int], Case]]] = {
    "snntorch-leaky-subtract": ("snntorch", "snntorch", lambda s: _snntorch(s, "subtract", False)),
    "snntorch-leaky-zero": ("snntorch", "nir", lambda s: _snntorch(s, "zero", False)),
    "snntorch-rleaky-subtract": ("snntorch", "snntorch", lambda s: _snntorch(s, "subtract", True)),
    "snntorch-synaptic-rsynaptic": ("snntorch", "snntorch", _snntorch_synaptic),
    "sinabs-iaf": ("sinabs", "sinabs", lambda s: _sinabs(s, "iaf")),
    "sinabs-lif": ("sinabs", "sinabs", lambda s: _sinabs(s, "lif")),
    "sinabs-iaf-expleak": ("sinabs", "sinabs", lambda s: _sinabs(s, "iaf-expleak")),
    "spikingjelly-lif": ("spikingjelly", "spikingjelly", lambda s: _spikingjelly(s, "lif")),
    "spikingjelly-lif-vreset": ("spikingjelly", "spikingjelly", lambda s: _spikingjelly(s, "lif-vreset")),
    "spikingjelly-if": ("spikingjelly", "spikingjelly", lambda s: _spikingjelly(s, "if")),
    "spikingjelly-lif-no-decay-input": ("spikingjelly", "spikingjelly",
                                        lambda s: _spikingjelly(s, "lif-no-decay-input")),
    "spikingjelly-plif": ("spikingjelly", "spikingjelly", lambda s: _spikingjelly(s, "plif")),
    "spikingjelly-cubalif": ("spikingjelly", "spikingjelly", lambda s: _spikingjelly(s, "cubalif")),
    "norse-cell-box-li": ("norse", "norse", lambda s: _norse(s, 0.0)),
    "norse-v-leak": ("norse", "norse", lambda s: _norse(s, 0.3)),
    "norse-iaf": ("norse", "norse", _norse_iaf),
    "rockpool-lif": ("rockpool", "rockpool", lambda s: _rockpool(s, 0.01)),
    "rockpool-lif-slow-syn": ("rockpool", "rockpool", lambda s: _rockpool(s, 0.05)),
    "rockpool-lifneuron-expsyn": ("rockpool", "rockpool", _rockpool_neuron_expsyn),
}


def quiet() -> None:
    warnings.filterwarnings("ignore")


def random_input(n: int, steps: int, seed: int, rate: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 + seed)
    return (torch.rand(n, steps, N_IN, generator=g) < rate).float()
