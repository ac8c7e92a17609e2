"""Lower a trained model to the deployable IR: fold batch norm, quantise, schedule.

Each stage of a ``SpikingSequential`` model becomes one IR layer:

Each module type has one rule in ``RULES`` (a SLAYER block with no rule of its own falls back to
``lower_block``):

| stage | IR layer |
|---|---|
| conv/dense block (asnn, lif) | ASNN neuron, one path (graded for the direct-coded first layer) |
| conv/dense block (cuba) | stock CUBA neuron; the weight exponent is absorbed in vThMant |
| HybridConv | ASNN neuron with two paths: graded at t = 0, spikes at t >= 1 (CUBA refused: one scale and bias) |
| SpikeMaxPool | depthwise all-ones conv + CUBA neuron that fires on any input (an OR) |
| Readout | non-spiking ASNN integrator: lam = 1, g[t] = w[t] / T |

Anything else raises ``UnsupportedLayerError`` naming the stage.

``lower`` = ``stage_shapes`` (one float forward pass for the output shape of every stage) +
``lower_stages`` (the rules). The ``Lowering`` remembers where every IR path and layer came from
(``origins``, ``layer_origins``): quantisation-aware training (``deploy.qat``) re-lowers the model
with them and runs the very network the exporter writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from asnn_neuro import encoding as enc
from asnn_neuro import ir
from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip import limits as lim
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.deploy.quantize import (
    DEFAULT_MAX_CLIP,
    quantize_bias,
    quantize_fraction,
    quantize_gain,
    quantize_weights,
)
from asnn_neuro.errors import UnsupportedLayerError
from asnn_neuro.models.blocks import HybridConv, Readout, SpikeMaxPool
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.resnet import BasicBlock
from asnn_neuro.models.spikformer import SpikformerBlock
from asnn_neuro.neurons import asnn

# fires whenever any input in its window spiked: full current decay, threshold 0 (see ir.or_pool)
OR_NEURON = ir.CubaNeuron(i_decay=lim.DECAY_ONE, v_decay=lim.DECAY_ONE - 1, vth_mant=0)


def fold_bn(weight: torch.Tensor, bn: torch.nn.Module | None) -> tuple[np.ndarray, np.ndarray]:
    """(W', b') with BN(conv(x, W)) == conv(x, W') + b' (BN in eval mode)."""
    w = weight.detach().double().cpu()
    out = w.shape[0]
    if bn is None:
        return w.numpy(), np.zeros(out)
    scale = bn.weight.detach().double().cpu() / torch.sqrt(bn.running_var.detach().double().cpu() + bn.eps)
    bias = bn.bias.detach().double().cpu() - scale * bn.running_mean.detach().double().cpu()
    w = w * scale.reshape(out, *([1] * (w.dim() - 1)))
    return w.numpy(), bias.numpy()


def synapse_weight(synapse: torch.nn.Module) -> torch.Tensor:
    """SLAYER synapse weight without its time axis: conv (O, I, kH, kW), dense (O, I)."""
    w = synapse.weight
    if w.dim() == 5:
        w = w[..., 0]
    if isinstance(synapse, slayer.synapse.Dense):
        w = w.reshape(w.shape[0], -1)
    return w


def _geometry(synapse: torch.nn.Module) -> dict:
    if isinstance(synapse, slayer.synapse.Dense):
        return {"kind": "dense"}
    return {
        "kind": "conv",
        "kernel": tuple(int(k) for k in synapse.kernel_size[:2]),
        "stride": tuple(int(k) for k in synapse.stride[:2]),
        "padding": tuple(int(k) for k in synapse.padding[:2]),
        "dilation": tuple(int(k) for k in synapse.dilation[:2]),
        "groups": int(synapse.groups),
    }


@dataclass
class PathOrigin:
    """The model parameters an IR path was quantised from: W' = fold(synapse weight, bn) (/ 255 when
    graded), bias b' from the bn fold, or ``bias`` (a parameter in float units) where given."""

    synapse: torch.nn.Module
    bn: torch.nn.Module | None
    graded: bool
    bias: torch.Tensor | None = None


@dataclass
class LayerOrigin:
    """The model module an IR layer came from (``stage``) and the module holding its neuron's
    parameters: an ``asnn.Neuron``, a SLAYER CUBA neuron, a ``Readout`` (gain w[t] / T) or None
    (fixed OR neurons of pools and relays)."""

    stage: torch.nn.Module
    neuron: torch.nn.Module | None


class Lowering:
    """Walks a model's stages, producing IR layers; keeps the per-layer quantisation report."""

    def __init__(self, cfg: ModelConfig, weight_bits: int = 8, max_clip: float = DEFAULT_MAX_CLIP):
        self.cfg = cfg
        self.bits = weight_bits
        self.max_clip = max_clip
        self.T = cfg.timesteps
        self.layers: list[ir.Layer] = []
        self.report: list[dict] = []
        self._float: dict[int, tuple[str, np.ndarray, np.ndarray]] = {}
        self.origins: dict[int, PathOrigin] = {}   # id(path) -> what it was quantised from
        self.layer_origins: list[LayerOrigin] = []  # one per layer
        self._stage: torch.nn.Module | None = None
        self.analog = enc.analog_mask(cfg.encoding, cfg.timesteps)
        self.spiking = enc.spike_mask(cfg.encoding, cfg.timesteps)
        self.always = (1,) * cfg.timesteps  # the mask of a path live at every step

    # -- paths --------------------------------------------------------------------------------
    def path(self, name: str, synapse, bn, source: int, graded: bool, mask: tuple[int, ...],
             min_exponent: int | None = None) -> ir.Path:
        w, b = fold_bn(synapse_weight(synapse), bn)
        if graded:  # the analog value arrives as round(255 x): fold 1/255 into the weights
            w = w / fx.GRADED_LEVELS
        path = ir.Path(source=source, mask=mask, graded=graded, **_geometry(synapse))
        self._float[id(path)] = (name, w, b)
        self.origins[id(path)] = PathOrigin(synapse, bn, graded)
        self.quantize_path(path, min_exponent)
        return path

    def quantize_path(self, path: ir.Path, min_exponent: int | None = None, even_bias: bool = False) -> None:
        """(Re)quantise a path from its float weights; records the report row."""
        name, w, b = self._float[id(path)]
        q = quantize_weights(w, self.bits, self.max_clip, min_exponent=min_exponent)
        bias = quantize_bias(b, q.exponent)
        if even_bias:
            bias = 2 * quantize_bias(b, q.exponent + 1)
        path.weight, path.bias = q.weight, bias
        path.shift, path.grid = -q.exponent, ir.WeightGrid(q.exponent, q.bits)
        label = name + (" (analog)" if path.graded else "")
        self.report = [r for r in self.report if r["name"] != label]
        self.report.append({
            "name": label, "weight_exponent": q.exponent, "weight_bits": q.bits,
            "clipped_fraction": q.clipped_fraction, "range_used": q.range_used,
            "max_abs_weight": float(np.abs(w).max()) if w.size else 0.0,
        })

    def share_exponent(self, paths: list[ir.Path]) -> None:
        """Give paths that drive one neuron port one weight exponent (Lava sums them before the
        neuron's shift): each is quantised on its own clip budget, then all are requantised at the
        coarsest of their exponents, so none clips more than its own budget (identity weights of
        1.0 stay exact)."""
        exp = max(p.grid.exponent for p in paths)
        for p in paths:
            if p.grid.exponent != exp:
                self.quantize_path(p, min_exponent=exp)

    def first_source(self) -> tuple[int, bool, tuple[int, ...]]:
        """Source, graded flag and mask of a single-path first layer."""
        if all(self.analog):
            return ir.Stream.GRADED, True, self.analog
        return ir.Stream.SPIKES, False, self.spiking

    # -- neurons ------------------------------------------------------------------------------
    def asnn_neuron(self, neuron: asnn.Neuron, readout: bool = False) -> ir.AdaptiveNeuron:
        lam, g = neuron.schedule(self.T)
        return ir.AdaptiveNeuron(leak=quantize_fraction(lam, 0.0, 1.0), gain=quantize_gain(g),
                                 threshold=int(round(neuron.threshold * fx.STATE_ONE)), readout=readout)

    def cuba_neuron(self, neuron, paths: list[ir.Path]) -> ir.CubaNeuron:
        """Stock CUBA (Lava LIF): all paths share one weight exponent E, absorbed into vThMant.

        E is raised (coarser weights) until the chip's integer ranges hold by construction:
        vThMant < 2**17, |bias| fits a 13-bit mantissa with bias exponent <= 7, and the
        worst-case synaptic sum shifted by 6 stays inside the 24-bit current.
        """
        theta = float(neuron.threshold)
        need = [max(p.grid.exponent for p in paths), math.ceil(math.log2(theta / lim.LIF_VTH_MAX))]
        bias = sum(np.abs(self._float[id(p)][2]) for p in paths)
        if np.max(bias, initial=0) > 0:
            need.append(math.ceil(math.log2(float(np.max(bias)) / lim.LIF_BIAS_MAX)))
        worst = 0.0  # inputs are never negative (spikes 0/1, payloads 0..255): a sum is bounded by its
        for p in paths:  # positive or its negative weights, whichever is larger
            w = self._float[id(p)][1].reshape(len(self._float[id(p)][1]), -1)
            extreme = max(float(np.clip(w, 0, None).sum(axis=1).max()), float(np.clip(-w, 0, None).sum(axis=1).max()))
            worst += extreme * (fx.GRADED_LEVELS if p.graded else 1)
        if worst > 0:
            need.append(math.ceil(math.log2(worst / lim.LIF_ACCUM_MAX)))
        exp = max(need)
        for p in paths:
            self.quantize_path(p, min_exponent=exp)
        exp = max(p.grid.exponent for p in paths)
        biggest = sum(np.max(np.abs(self._float[id(p)][2]), initial=0) for p in paths) / 2.0 ** exp
        big_bias = biggest > lim.LIF_BIAS_MANT_MAX
        for p in paths:
            self.quantize_path(p, min_exponent=exp, even_bias=big_bias)
        vth = int(round(theta / 2.0 ** exp))
        if vth >= lim.LIF_VTH_MAX:
            raise UnsupportedLayerError(f"CUBA threshold mantissa {vth} exceeds 17 bits (weights too small)")
        return ir.CubaNeuron(i_decay=int(neuron.cx_current_decay), v_decay=int(neuron.cx_voltage_decay),
                             vth_mant=vth)

    def neuron_for(self, neuron, paths: list[ir.Path]) -> ir.Neuron:
        if isinstance(neuron, asnn.Neuron):
            return self.asnn_neuron(neuron)
        if isinstance(neuron, slayer.neuron.cuba.Neuron):
            return self.cuba_neuron(neuron, paths)
        raise UnsupportedLayerError(f"neuron {type(neuron).__name__} has no deployment")

    # -- stages -------------------------------------------------------------------------------
    def add(self, name: str, shape: tuple[int, ...], neuron: ir.Neuron, paths: list[ir.Path],
            params: torch.nn.Module | None = None) -> int:
        """Append a layer; ``params``: the module holding its neuron's parameters (see LayerOrigin)."""
        self.layers.append(ir.Layer(name=name, shape=tuple(int(s) for s in shape), neuron=neuron, paths=paths))
        self.layer_origins.append(LayerOrigin(self._stage, params))
        return len(self.layers) - 1

    def network(self) -> ir.Network:
        cfg = self.cfg
        return ir.Network(input=ir.InputSpec(shape=tuple(cfg.in_shape), graded=any(self.analog)),
                          layers=self.layers, timesteps=cfg.timesteps,
                          meta={"model": cfg.model, "encoding": cfg.encoding, "neuron": cfg.neuron,
                                "classes": cfg.classes})

    def lower_stage(self, name: str, stage: torch.nn.Module, source: ir.Source, shape: tuple[int, ...]) -> int:
        """Append the IR layer(s) of one stage by its rule in ``RULES``; returns the index of the
        stage's output layer. A stage with no rule must be a SLAYER block (synapse + neuron)."""
        self._stage = stage
        for kind, rule in RULES.items():
            if isinstance(stage, kind):
                return rule(self, name, stage, source, shape)
        return lower_block(self, name, stage, source, shape)


# ------------------------------------------------------------------------------------------ rules
# One function per module type: (lowering, stage name, module, source layer, output shape) -> the
# index of the stage's output layer. A new trainable module deploys by adding its rule here.
def lower_block(lw: Lowering, name: str, stage: torch.nn.Module, source: ir.Source, shape: tuple[int, ...]) -> int:
    """A SLAYER block: one synapse path (graded for a direct-coded first layer) + its neuron."""
    synapse = getattr(stage, "synapse", None)
    neuron = getattr(stage, "neuron", None)
    if synapse is None or neuron is None or getattr(stage, "delay", None) is not None:
        raise UnsupportedLayerError(f"layer '{name}' ({type(stage).__name__}) cannot be exported")
    if source == ir.Stream.SPIKES and not lw.layers:
        source, graded, mask = lw.first_source()
    else:
        graded, mask = False, lw.always
    path = lw.path(name, synapse, getattr(neuron, "norm", None), source, graded, mask)
    return lw.add(name, shape, lw.neuron_for(neuron, [path]), [path], neuron)


def lower_hybrid(lw: Lowering, name: str, stage: HybridConv, source: ir.Source, shape: tuple[int, ...]) -> int:
    """Hybrid coding's first layer: one neuron, a graded path live at t = 0 and a spike path after."""
    if not isinstance(stage.neuron, asnn.Neuron):  # models.method.check_encoding refuses it earlier
        raise UnsupportedLayerError(f"layer '{name}': hybrid coding needs an asnn or lif neuron (per-step "
                                    "input paths); lava-dl's CUBA neuron cannot confine the analog frame to t = 0")
    paths = [
        lw.path(name, stage.analog, stage.analog_norm, ir.Stream.GRADED, True, lw.analog),
        lw.path(name, stage.spiking, stage.spiking_norm, ir.Stream.SPIKES, False, lw.spiking),
    ]
    return lw.add(name, shape, lw.neuron_for(stage.neuron, paths), paths, stage.neuron)


def lower_pool(lw: Lowering, name: str, stage: SpikeMaxPool, source: ir.Source, shape: tuple[int, ...]) -> int:
    """Max pooling of spikes = OR: a depthwise all-ones conv into a neuron that fires on any input."""
    channels = shape[0]
    ones = np.ones((channels, 1, stage.kernel, stage.kernel), dtype=np.int64)
    path = ir.Path(source=source, kind="conv", weight=ones,
                   bias=np.zeros(channels, dtype=np.int64), kernel=(stage.kernel,) * 2,
                   stride=(stage.stride,) * 2, groups=channels, mask=lw.always)
    return lw.add(name, shape, OR_NEURON, [path])


def lower_readout(lw: Lowering, name: str, stage: Readout, source: ir.Source, shape: tuple[int, ...]) -> int:
    """The non-spiking readout: an integrator (leak 1) whose gain g[t] = w[t] / T."""
    path = lw.path(name, stage.synapse, None, source, False, lw.always)
    path.bias = quantize_bias(stage.bias.detach().double().cpu().numpy(), path.grid.exponent)
    lw.origins[id(path)].bias = stage.bias
    steps = stage.step_weight.detach().double().numpy() / lw.T
    neuron = ir.AdaptiveNeuron(leak=(lim.DECAY_ONE,) * lw.T,
                               gain=quantize_gain(steps), readout=True)
    return lw.add(name, shape, neuron, [path], stage)


def lower_basic_block(lw: Lowering, name: str, block: BasicBlock, source: ir.Source, shape: tuple[int, ...]) -> int:
    """A residual block as three layers: relay, conv1 and the add (conv2 + skip); see models/resnet.py.

    The relay (depthwise 1x1, weight 1, stride s, OR neuron) repeats the block's input one step
    later, so the skip arrives together with the main path at the add."""
    s = block.stride
    unit, zero = np.ones((block.in_ch, 1, 1, 1), dtype=np.int64), np.zeros(block.in_ch, dtype=np.int64)
    relay_path = ir.Path(source=source, kind="conv", weight=unit, bias=zero,
                         kernel=(1, 1), stride=(s, s), groups=block.in_ch, mask=lw.always)
    relay = lw.add(f"{name}.relay", (block.in_ch, *shape[1:]), OR_NEURON, [relay_path])
    norm1 = getattr(block.conv1.neuron, "norm", None)
    p1 = lw.path(f"{name}.conv1", block.conv1.synapse, norm1, source, False, lw.always)
    conv1 = lw.add(f"{name}.conv1", shape, lw.neuron_for(block.conv1.neuron, [p1]), [p1], block.conv1.neuron)
    main = lw.path(f"{name}.conv2", block.conv2, block.bn2, conv1, False, lw.always)
    if block.shortcut is None:
        skip = lw.path(f"{name}.skip", identity_synapse(block.out_ch), None, relay, False, lw.always)
    else:  # 1x1 stride-s conv on x == 1x1 stride-1 conv on the relay, which already subsampled x
        skip = lw.path(f"{name}.skip", block.shortcut, block.shortcut_bn, relay, False, lw.always)
        skip.stride = (1, 1)
    paths = [main, skip]
    lw.share_exponent(paths)
    return lw.add(f"{name}.conv2", shape, lw.neuron_for(block.neuron, paths), paths, block.neuron)


def refuse_attention(lw: Lowering, name: str, block: SpikformerBlock, source: ir.Source,
                     shape: tuple[int, ...]) -> int:
    raise UnsupportedLayerError(ATTENTION_ERROR.format(name=f"{name}.attn"))


def identity_synapse(channels: int) -> torch.nn.Module:
    """A depthwise 1x1 conv of weight 1: the identity skip as a synapse."""
    syn = slayer.synapse.Conv(channels, channels, 1, groups=channels)
    with torch.no_grad():
        syn.weight.fill_(1.0)
    return syn


ATTENTION_ERROR = ("layer '{name}' (spiking self-attention) cannot be exported: Q·Kᵀ multiplies two spike "
                   "tensors, which no fixed synaptic weight can express; see docs/models.md")

RULES: dict[type, Callable[..., int]] = {
    HybridConv: lower_hybrid,
    SpikeMaxPool: lower_pool,
    Readout: lower_readout,
    BasicBlock: lower_basic_block,
    SpikformerBlock: refuse_attention,
}


@torch.no_grad()
def stage_shapes(model: torch.nn.Module, cfg: ModelConfig) -> list[tuple[int, ...]]:
    """Output shape (without batch and time) of every stage but ``flatten``, from one float forward
    pass of a zero input in eval mode (the model's training mode is restored)."""
    if not hasattr(model, "stage_names"):
        raise UnsupportedLayerError(f"model '{cfg.model}' has no sequential stages to export")
    was_training = model.training
    model.eval()
    try:  # the class's own forward: a quantisation-aware model replaces it on the instance
        _, trace = type(model).forward(model, torch.zeros(1, *cfg.in_shape, cfg.timesteps,
                                                          dtype=_dtype(model), device=_device(model)), record=True)
    finally:
        model.train(was_training)
    return [tuple(int(s) for s in t.shape[1:-1]) for t in trace] + [(int(cfg.classes),)]


@torch.no_grad()
def lower_stages(model: torch.nn.Module, cfg: ModelConfig, shapes: list[tuple[int, ...]], weight_bits: int = 8,
                 max_clip: float = DEFAULT_MAX_CLIP) -> Lowering:
    """Apply the rules to every stage (``shapes`` from ``stage_shapes``); the Lowering holds the IR
    layers (``network()``), the quantisation report and the origin of every path and layer."""
    lowering = Lowering(cfg, weight_bits, max_clip)
    source = ir.Stream.SPIKES
    stages = [(name, stage) for name, stage in zip(model.stage_names, model.stages) if name != "flatten"]
    if len(stages) != len(shapes):
        raise UnsupportedLayerError(f"model '{cfg.model}': {len(shapes)} stage shapes for {len(stages)} stages")
    for (name, stage), shape in zip(stages, shapes):
        source = lowering.lower_stage(name, stage, source, shape)
    return lowering


def lower(model: torch.nn.Module, cfg: ModelConfig, weight_bits: int = 8,
          max_clip: float = DEFAULT_MAX_CLIP) -> tuple[ir.Network, list[dict]]:
    """IR network + per-layer quantisation report of a trained sequential model."""
    lowering = lower_stages(model, cfg, stage_shapes(model, cfg), weight_bits, max_clip)
    return lowering.network(), lowering.report


def _dtype(model: torch.nn.Module) -> torch.dtype:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _device(model: torch.nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))
