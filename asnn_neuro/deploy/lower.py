"""Lower a trained model to the deployable IR: fold batch norm, quantise, schedule.

Each stage of a ``SpikingSequential`` model becomes one IR layer:

| stage | IR layer |
|---|---|
| conv/dense block (asnn, lif) | ASNN neuron, one path (graded for the direct-coded first layer) |
| conv/dense block (cuba) | stock CUBA neuron; the weight exponent is absorbed in vThMant |
| HybridConv | ASNN/CUBA neuron with two paths: graded at t = 0, spikes at t >= 1 |
| SpikeMaxPool | depthwise all-ones conv + CUBA neuron that fires on any input (an OR) |
| Readout | non-spiking ASNN integrator: lam = 1, g[t] = w[t] / T |

Anything else raises ``UnsupportedLayerError`` naming the stage.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from asnn_neuro import encoding as enc
from asnn_neuro import ir
from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.deploy.quantize import DEFAULT_MAX_CLIP, quantize_bias, quantize_fraction, quantize_weights
from asnn_neuro.errors import UnsupportedLayerError
from asnn_neuro.models.blocks import HybridConv, Readout, SpikeMaxPool
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.neurons import asnn

OR_NEURON = ir.CubaNeuron(i_decay=4096, v_decay=4095, vth_mant=0)
LIF_VTH_MAX = (1 << 17) - 1      # vThMant is a 17-bit unsigned mantissa
LIF_BIAS_MAX = 8190              # 13-bit signed mantissa, shifted by at most 7 (= 2 x 4095 in units of 1 << 6)
LIF_ACCUM_MAX = (1 << 17) - 1    # synaptic sum << 6 must stay inside the 24-bit current


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


def _synapse_weight(synapse: torch.nn.Module) -> torch.Tensor:
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
        self.analog = enc.analog_mask(cfg.encoding, cfg.timesteps)
        self.spiking = enc.spike_mask(cfg.encoding, cfg.timesteps)

    # -- paths --------------------------------------------------------------------------------
    def path(self, name: str, synapse, bn, source: int, graded: bool, mask: tuple[int, ...],
             min_exponent: int | None = None) -> ir.Path:
        w, b = fold_bn(_synapse_weight(synapse), bn)
        if graded:  # the analog value arrives as round(255 x): fold 1/255 into the weights
            w = w / fx.GRADED_LEVELS
        path = ir.Path(source=source, mask=mask, graded=graded, **_geometry(synapse))
        self._float[id(path)] = (name, w, b)
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

    def first_source(self) -> tuple[int, bool, tuple[int, ...]]:
        """Source, graded flag and mask of a single-path first layer."""
        if all(self.analog):
            return ir.INPUT_GRADED, True, self.analog
        return ir.INPUT_SPIKES, False, self.spiking

    # -- neurons ------------------------------------------------------------------------------
    def asnn_neuron(self, neuron: asnn.Neuron, readout: bool = False) -> ir.AdaptiveNeuron:
        lam, g = neuron.schedule(self.T)
        return ir.AdaptiveNeuron(leak=quantize_fraction(lam, 0.0, 1.0), gain=quantize_fraction(g, -7.99, 7.99),
                                 threshold=int(round(neuron.threshold * fx.STATE_ONE)), readout=readout)

    def cuba_neuron(self, neuron, paths: list[ir.Path]) -> ir.CubaNeuron:
        """Stock CUBA (Lava LIF): all paths share one weight exponent E, absorbed into vThMant.

        E is raised (coarser weights) until the chip's integer ranges hold by construction:
        vThMant < 2**17, |bias| fits a 13-bit mantissa with bias exponent <= 7, and the
        worst-case synaptic sum shifted by 6 stays inside the 24-bit current.
        """
        theta = float(neuron.threshold)
        need = [max(p.grid.exponent for p in paths), math.ceil(math.log2(theta / LIF_VTH_MAX))]
        bias = sum(np.abs(self._float[id(p)][2]) for p in paths)
        if np.max(bias, initial=0) > 0:
            need.append(math.ceil(math.log2(float(np.max(bias)) / LIF_BIAS_MAX)))
        worst = 0.0  # inputs are never negative (spikes 0/1, payloads 0..255): a sum is bounded by its
        for p in paths:  # positive or its negative weights, whichever is larger
            w = self._float[id(p)][1].reshape(len(self._float[id(p)][1]), -1)
            extreme = max(float(np.clip(w, 0, None).sum(axis=1).max()), float(np.clip(-w, 0, None).sum(axis=1).max()))
            worst += extreme * (fx.GRADED_LEVELS if p.graded else 1)
        if worst > 0:
            need.append(math.ceil(math.log2(worst / LIF_ACCUM_MAX)))
        exp = max(need)
        for p in paths:
            self.quantize_path(p, min_exponent=exp)
        exp = max(p.grid.exponent for p in paths)
        big_bias = sum(np.max(np.abs(self._float[id(p)][2]), initial=0) for p in paths) / 2.0 ** exp > 4095
        for p in paths:
            self.quantize_path(p, min_exponent=exp, even_bias=big_bias)
        vth = int(round(theta / 2.0 ** exp))
        if vth >= LIF_VTH_MAX:
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
    def add(self, name: str, shape: tuple[int, ...], neuron: ir.Neuron, paths: list[ir.Path]) -> int:
        self.layers.append(ir.Layer(name=name, shape=tuple(int(s) for s in shape), neuron=neuron, paths=paths))
        return len(self.layers) - 1

    def lower_stage(self, name: str, stage: torch.nn.Module, source: int, shape: tuple[int, ...]) -> int:
        """Append the IR layer(s) of one stage; returns the index of the stage's output layer.

        A stage may lower itself: ``stage.lower(lowering, name, source, shape) -> int``
        (residual blocks do, adding several layers and skip paths).
        """
        ones = (1,) * self.T
        if hasattr(stage, "lower"):
            return stage.lower(self, name, source, shape)
        if isinstance(stage, HybridConv):
            paths = [
                self.path(name, stage.analog, stage.analog_norm, ir.INPUT_GRADED, True, self.analog),
                self.path(name, stage.spiking, stage.spiking_norm, ir.INPUT_SPIKES, False, self.spiking),
            ]
            return self.add(name, shape, self.neuron_for(stage.neuron, paths), paths)
        if isinstance(stage, SpikeMaxPool):
            channels = shape[0]
            path = ir.Path(source=source, kind="conv", weight=np.ones((channels, 1, stage.kernel, stage.kernel),
                                                                      dtype=np.int64),
                           bias=np.zeros(channels, dtype=np.int64), kernel=(stage.kernel,) * 2,
                           stride=(stage.stride,) * 2, groups=channels, mask=ones)
            return self.add(name, shape, OR_NEURON, [path])
        if isinstance(stage, Readout):
            w = stage.synapse.weight.detach()[..., 0, 0, 0]
            path = self.path(name, stage.synapse, None, source, False, ones)
            q_bias = quantize_bias(stage.bias.detach().double().numpy(), path.grid.exponent)
            path.bias = q_bias
            steps = stage.step_weight.detach().double().numpy() / self.T
            neuron = ir.AdaptiveNeuron(leak=(fx.DECAY_ONE,) * self.T, gain=quantize_fraction(steps, -7.99, 7.99),
                                       readout=True)
            del w
            return self.add(name, shape, neuron, [path])
        synapse = getattr(stage, "synapse", None)
        neuron = getattr(stage, "neuron", None)
        if synapse is None or neuron is None or getattr(stage, "delay", None) is not None:
            raise UnsupportedLayerError(f"layer '{name}' ({type(stage).__name__}) cannot be exported")
        if source == ir.INPUT_SPIKES and not self.layers:
            source, graded, mask = self.first_source()
        else:
            graded, mask = False, ones
        path = self.path(name, synapse, getattr(neuron, "norm", None), source, graded, mask)
        return self.add(name, shape, self.neuron_for(neuron, [path]), [path])


@torch.no_grad()
def lower(model: torch.nn.Module, cfg: ModelConfig, weight_bits: int = 8,
          max_clip: float = DEFAULT_MAX_CLIP) -> tuple[ir.Network, list[dict]]:
    """IR network + per-layer quantisation report of a trained sequential model."""
    if not hasattr(model, "stage_names"):
        raise UnsupportedLayerError(f"model '{cfg.model}' has no sequential stages to export")
    model.eval()
    _, trace = model(torch.zeros(1, *cfg.in_shape, cfg.timesteps), record=True)
    lowering = Lowering(cfg, weight_bits, max_clip)
    source = ir.INPUT_SPIKES
    shapes = iter(t.shape[1:-1] for t in trace)
    for name, stage in zip(model.stage_names, model.stages):
        if name == "flatten":
            continue
        shape = next(shapes, None)
        if shape is None:  # the readout
            shape = (cfg.classes,)
        source = lowering.lower_stage(name, stage, source, tuple(shape))
    net = ir.Network(input=ir.InputSpec(shape=tuple(cfg.in_shape), graded=any(lowering.analog)),
                     layers=lowering.layers, timesteps=cfg.timesteps,
                     meta={"model": cfg.model, "encoding": cfg.encoding, "neuron": cfg.neuron,
                           "classes": cfg.classes})
    return net, lowering.report

