"""Small conv + dense spiking nets built with snnTorch, Sinabs and SpikingJelly, exported with each
library's own NIR exporter, and their forward passes (every neuron layer's spikes, step by step).

Shared by tests/test_nir_*.py. Each builder returns (model, export(path), forward(x)), where x is
(N, T, C, H, W) float input and forward returns a list of (N, T, neurons) spike arrays, one per
neuron layer in order."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

LIBRARIES = ("snntorch", "sinabs", "spikingjelly")
GAINS = {"snntorch": 3.0, "sinabs": 2.0, "spikingjelly": 12.0}  # random weights x gain: 10-40 % spikes per layer


class Built(NamedTuple):
    """model; export(path) with the library's NIR exporter; forward(x) -> spikes per neuron layer
    (N, T, neurons), no gradients; counts(x) -> output spike counts (N, classes) with gradients."""

    model: torch.nn.Module
    export: Callable[[Path], None]
    forward: Callable[[torch.Tensor], list[np.ndarray]]
    counts: Callable[[torch.Tensor], torch.Tensor]


def _quiet():
    warnings.filterwarnings("ignore")


def _scaled(model: torch.nn.Module, gain: float) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.mul_(gain)


def build(library: str, in_shape=(1, 8, 8), hidden: int = 4, classes: int = 10, timesteps: int = 10,
          gain: float | None = None, seed: int = 0) -> Built:
    """A random conv + dense net of ``library`` (weights scaled by ``gain`` so that every layer spikes)."""
    _quiet()
    torch.manual_seed(seed)
    gain = GAINS[library] if gain is None else gain
    return {"snntorch": _snntorch, "sinabs": _sinabs, "spikingjelly": _spikingjelly}[library](
        in_shape, hidden, classes, timesteps, gain)


def _snntorch(in_shape, hidden, classes, timesteps, gain) -> Built:
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    c, h, w = in_shape
    hh, ww = (h + 1) // 2, (w + 1) // 2
    conv_shape = (hidden, hh, ww)
    # snnTorch's exporter needs per-neuron beta/threshold tensors to type-check its graph
    lif1 = snn.Leaky(beta=torch.full(conv_shape, 0.8), threshold=torch.ones(conv_shape), init_hidden=True)
    lif2 = snn.Leaky(beta=torch.full((classes,), 0.8), threshold=torch.ones(classes), init_hidden=True,
                     output=True)
    model = torch.nn.Sequential(torch.nn.Conv2d(c, hidden, 3, stride=2, padding=1), lif1, torch.nn.Flatten(),
                                torch.nn.Linear(hidden * hh * ww, classes), lif2)
    _scaled(model, gain)
    neurons = (lif1, lif2)

    def export(path: Path) -> None:
        import nir

        nir.write(str(path), export_to_nir(model, torch.zeros(1, *in_shape), ignore_dims=[0]))

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        utils.reset(model)
        outs: list[list[torch.Tensor]] = [[] for _ in neurons]
        for t in range(x.shape[1]):
            h = x[:, t]
            for m in model:
                h = m(h)
                if isinstance(h, tuple):
                    h = h[0]
                if m in neurons:
                    outs[neurons.index(m)].append(h.reshape(h.shape[0], -1))
        return [torch.stack(o, 1) for o in outs]

    return Built(model, export, _no_grad(run), lambda x: run(x)[-1].sum(1))


def _sinabs(in_shape, hidden, classes, timesteps, gain) -> Built:
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike

    c, h, w = in_shape
    iaf1 = sl.IAFSqueeze(num_timesteps=timesteps, spike_fn=SingleSpike)
    iaf2 = sl.IAFSqueeze(num_timesteps=timesteps, spike_fn=SingleSpike)
    model = torch.nn.Sequential(torch.nn.Conv2d(c, hidden, 3, padding=1), iaf1, sl.SumPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(hidden * (h // 2) * (w // 2), classes), iaf2)
    _scaled(model, gain)
    neurons = (iaf1, iaf2)

    def export(path: Path) -> None:
        import nir

        model.reset_states() if hasattr(model, "reset_states") else sinabs.reset_states(model)
        graph = sinabs.to_nir(model, torch.zeros(timesteps, *in_shape))
        graph.infer_types()  # sinabs leaves conv/flatten types open, and nir.write refuses None
        nir.write(str(path), graph)

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        sinabs.reset_states(model)
        n, steps = x.shape[:2]
        h = x.reshape(n * steps, *x.shape[2:])  # Squeeze layers: batch and time folded together
        outs = []
        for m in model:
            h = m(h)
            if m in neurons:
                outs.append(h.reshape(n, steps, -1))
        return outs

    return Built(model, export, _no_grad(run), lambda x: run(x)[-1].sum(1))


def _spikingjelly(in_shape, hidden, classes, timesteps, gain) -> Built:
    from spikingjelly.activation_based import functional, layer, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    c, h, w = in_shape
    lif1 = neuron.LIFNode(tau=2.0)
    lif2 = neuron.LIFNode(tau=2.0)
    model = torch.nn.Sequential(layer.Conv2d(c, hidden, 3, padding=1), lif1, layer.AvgPool2d(2), layer.Flatten(),
                                layer.Linear(hidden * (h // 2) * (w // 2), classes), lif2)
    _scaled(model, gain)
    neurons = (lif1, lif2)

    def export(path: Path) -> None:
        functional.reset_net(model)
        export_to_nir(model, torch.zeros(1, *in_shape), save_path=str(path))
        functional.reset_net(model)

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        functional.reset_net(model)
        outs: list[list[torch.Tensor]] = [[] for _ in neurons]
        for t in range(x.shape[1]):
            h = x[:, t]
            for m in model:
                h = m(h)
                if m in neurons:
                    outs[neurons.index(m)].append(h.reshape(h.shape[0], -1))
        return [torch.stack(o, 1) for o in outs]

    return Built(model, export, _no_grad(run), lambda x: run(x)[-1].sum(1))


def _no_grad(run: Callable[[torch.Tensor], list[torch.Tensor]]) -> Callable[[torch.Tensor], list[np.ndarray]]:
    def forward(x: torch.Tensor) -> list[np.ndarray]:
        with torch.no_grad():
            return [o.numpy() for o in run(x)]
    return forward


def rate_code(images: torch.Tensor, timesteps: int, seed: int) -> torch.Tensor:
    """(N, C, H, W) intensities in [0, 1] -> (N, T, C, H, W) Bernoulli spikes (seeded)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(images.shape[0], timesteps, *images.shape[1:], generator=g) < images[:, None]).float()


def train(built: Built, images: torch.Tensor, labels: torch.Tensor, timesteps: int, epochs: int = 2,
          batch: int = 64, lr: float = 2e-3, seed: int = 0) -> None:
    """A plain training loop in the library's own forward (cross-entropy on output spike counts)."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(built.model.parameters(), lr=lr)
    built.model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed + epoch))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x = rate_code(images[idx], timesteps, seed=seed * 1000 + epoch * 100 + i)
            loss = torch.nn.functional.cross_entropy(built.counts(x), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    built.model.eval()


def random_spikes(n: int, timesteps: int, in_shape=(1, 8, 8), rate: float = 0.3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, timesteps, *in_shape, generator=g) < rate).float()
