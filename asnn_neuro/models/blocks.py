"""SLAYER blocks for every neuron kind, plus the few pieces SLAYER lacks.

A block is a synapse (SLAYER ``synapse.Conv``/``synapse.Dense``) + batch norm +
a neuron, composed the lava-dl way:

- ``asnn`` / ``lif``: ``ASNNConv`` / ``ASNNDense`` -- lava-dl ``AbstractConv`` /
  ``AbstractDense`` blocks whose neuron is our ``neurons.asnn.Neuron``
  (per-step schedules for asnn, one shared lam/g for lif);
- ``cuba``: lava-dl's own ``slayer.block.cuba.Conv`` / ``Dense``.

Batch norm lives in the neuron's ``norm`` slot (lava-dl's place for it); cuba
neurons use a full current decay so that the folded BN bias is exactly a
Loihi voltage bias. All blocks run without SLAYER's one-step ``delay_shift``:
the Lava graph's pipeline latency is handled by per-layer phase offsets.

Extra pieces: ``HybridConv`` (hybrid coding's first layer: the analog frame 0
has its own synapse and BN, the spike frames share another), ``SpikeMaxPool``
(max of binary spikes == OR; deployed as a depthwise conv with a stock CUBA
neuron that fires on any input) and ``Readout`` (non-spiking dense output with
per-step weights w[t]: y = mean_t w[t] * o_t).
"""

from __future__ import annotations

import functools

import torch

from asnn_neuro.compat.slayer import slayer
from asnn_neuro.neurons import asnn
from asnn_neuro.neurons.spike_pool import spike_max_pool

CUBA_PARAMS = {"threshold": 1.0, "current_decay": 1.0, "voltage_decay": 0.1, "tau_grad": 0.5, "scale_grad": 1.0}


def _norm(features: int, dims: int):
    return functools.partial(torch.nn.BatchNorm3d if dims == 5 else torch.nn.BatchNorm1d, features)


def neuron_params(kind: str, timesteps: int, features: int, dims: int, norm: bool = True) -> dict:
    """Constructor arguments of the neuron for a block of ``kind``."""
    params: dict = {"norm": _norm(features, dims)} if norm else {}
    if kind == "cuba":
        return {**CUBA_PARAMS, **params}
    return {"timesteps": timesteps, "adaptive": kind == "asnn", **params}


class _ASNNBlock(torch.nn.Module):
    """Mixin that puts an ASNN neuron into a lava-dl abstract block."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.neuron = asnn.Neuron(**self.neuron_params)
        self.delay = None
        del self.neuron_params


class ASNNConv(_ASNNBlock, slayer.block.base.AbstractConv):
    """Conv synapse + BN + ASNN neuron, a SLAYER block (``export_hdf5`` included)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.synapse = slayer.synapse.Conv(**self.synapse_params)
        del self.synapse_params


class ASNNDense(_ASNNBlock, slayer.block.base.AbstractDense):
    """Dense synapse + BN + ASNN neuron, a SLAYER block."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.synapse = slayer.synapse.Dense(**self.synapse_params)
        del self.synapse_params


def conv_block(kind: str, timesteps: int, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1,
               padding: int = 1, norm: bool = True) -> torch.nn.Module:
    params = neuron_params(kind, timesteps, out_ch, 5, norm)
    args = dict(in_features=in_ch, out_features=out_ch, kernel_size=kernel, stride=stride, padding=padding,
                pre_hook_fx=None, delay_shift=False)
    if kind == "cuba":
        return slayer.block.cuba.Conv(params, **args)
    return ASNNConv(params, **args)


def dense_block(kind: str, timesteps: int, in_features: int, out_features: int,
                norm: bool = True) -> torch.nn.Module:
    params = neuron_params(kind, timesteps, out_features, 3, norm)
    args = dict(in_neurons=in_features, out_neurons=out_features, pre_hook_fx=None, delay_shift=False)
    if kind == "cuba":
        return slayer.block.cuba.Dense(params, **args)
    return ASNNDense(params, **args)


class HybridConv(torch.nn.Module):
    """First layer for hybrid coding: frame 0 (analog) and frames 1.. (spikes) have own synapse + BN."""

    def __init__(self, kind: str, timesteps: int, in_ch: int, out_ch: int, kernel: int = 3, padding: int = 1):
        super().__init__()
        self.analog = slayer.synapse.Conv(in_ch, out_ch, kernel, padding=padding)
        self.analog_norm = torch.nn.BatchNorm3d(out_ch)
        self.spiking = slayer.synapse.Conv(in_ch, out_ch, kernel, padding=padding)
        self.spiking_norm = torch.nn.BatchNorm3d(out_ch)
        params = neuron_params(kind, timesteps, out_ch, 5, norm=False)
        self.neuron = slayer.neuron.cuba.Neuron(**params) if kind == "cuba" else asnn.Neuron(**params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        analog = self.analog_norm(self.analog(x[..., :1]))
        spikes = self.spiking_norm(self.spiking(x[..., 1:]))
        return self.neuron(torch.cat([analog, spikes], dim=-1))


class SpikeMaxPool(torch.nn.Module):
    """Max pooling of spikes over space, per time step (an OR for binary spikes)."""

    def __init__(self, kernel: int = 2, stride: int | None = None):
        super().__init__()
        self.kernel = kernel
        self.stride = stride or kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spike_max_pool(x, self.kernel, self.stride)  # (N, C, H, W, T), each step pooled alone


class Readout(torch.nn.Module):
    """Non-spiking dense readout: y = mean_t(w[t] * (W h_t + b)); w[t] learnable if ``per_step``."""

    def __init__(self, in_features: int, classes: int, timesteps: int, per_step: bool):
        super().__init__()
        self.synapse = slayer.synapse.Dense(in_features, classes)
        self.bias = torch.nn.Parameter(torch.zeros(classes))
        self.step_weight = torch.nn.Parameter(torch.ones(timesteps), requires_grad=per_step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.synapse(x) + self.bias[:, None]
        return (out * self.step_weight).mean(dim=-1)


def flatten(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W, T) -> (N, C*H*W, T) in torch (C, H, W) order, as NetX's flatten."""
    return x.reshape(x.shape[0], -1, x.shape[-1])
