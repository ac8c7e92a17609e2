"""Quantisation-aware fine-tuning (``asnn quantize NAME --qat EPOCHS``).

While fine-tuning, every synapse sees its weights as the chip will: batch norm is
frozen (eval statistics), the BN scale is folded into the weights, the folded
weights are rounded to ``bits``-bit mantissas with the per-layer power-of-two
exponent the exporter will choose, and unfolded again -- with a straight-through
gradient. ASNN neurons round their state to the 12-bit grid and use 12-bit leak
and gain. The result is a new model ``NAME-qat`` that exports like any other.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import torch

from asnn_neuro import encoding as enc
from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.deploy.export import export
from asnn_neuro.errors import InputError
from asnn_neuro.models.blocks import HybridConv, Readout
from asnn_neuro.neurons import asnn
from asnn_neuro.training import TrainConfig, load_checkpoint, train


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def fake_quant(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Round to ``bits``-bit signed mantissas with the smallest exponent covering max |w| (STE)."""
    top = (1 << (bits - 1)) - 1
    peak = float(w.detach().abs().max())
    if peak == 0:
        return w
    step = 2.0 ** math.ceil(math.log2(peak / (top + 0.5)))
    return torch.clamp(_RoundSTE.apply(w / step), -top - 1, top) * step


def _bn_scale(bn: torch.nn.Module | None, out: int, like: torch.Tensor) -> torch.Tensor:
    if bn is None:
        return torch.ones(out, dtype=like.dtype, device=like.device)
    return (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()


def _hook(bn, bits: int, graded: bool):
    def hook(w: torch.Tensor, descale: bool = False) -> torch.Tensor:
        scale = _bn_scale(bn, w.shape[0], w).reshape(-1, *([1] * (w.dim() - 1)))
        k = fx.GRADED_LEVELS if graded else 1.0
        return fake_quant(w * scale / k, bits) * k / scale
    return hook


def enable(model: torch.nn.Module, bits: int = 8, first_graded: bool = False) -> None:
    """Put the model in quantisation-aware mode (in place)."""
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm3d)):
            m.eval()
            m.track_running_stats = True
            m.momentum = 0.0
        if isinstance(m, asnn.Neuron):
            m.quant_step = 1.0 / fx.STATE_ONE
    first = True
    for m in model.modules():
        for synapse, bn in getattr(m, "synapse_norm_pairs", lambda: [])():
            synapse.pre_hook_fx = _hook(bn, bits, graded=False)
        if isinstance(m, HybridConv):
            m.analog.pre_hook_fx = _hook(m.analog_norm, bits, graded=True)
            m.spiking.pre_hook_fx = _hook(m.spiking_norm, bits, graded=False)
            first = False
        elif isinstance(m, Readout):
            m.synapse.pre_hook_fx = _hook(None, bits, graded=False)
        elif hasattr(m, "synapse") and isinstance(m.synapse, (slayer.synapse.Conv,
                                                                             slayer.synapse.Dense)):
            bn = getattr(m.neuron, "norm", None)
            m.synapse.pre_hook_fx = _hook(bn, bits, graded=first and first_graded)
            first = False


def first_graded(cfg: TrainConfig) -> bool:
    """True when the first layer reads only analog frames (direct coding)."""
    return all(enc.analog_mask(cfg.encoding, cfg.timesteps))


def qat_finetune(name: str, epochs: int, *, workdir: str | Path = "netx_exports", weight_bits: int = 8,
                 lr_scale: float = 0.2, progress: bool = True) -> str:
    """Fine-tune ``name`` quantisation-aware into ``name-qat`` and export it; returns the new name."""
    if epochs < 1:
        raise InputError(f"--qat must be >= 1 epoch, got {epochs}")
    state = load_checkpoint(Path(workdir) / name / "checkpoint.pt")
    base = TrainConfig(**state["train_config"])
    new = f"{name}-qat"
    cfg = TrainConfig(**{**asdict(base), "name": new, "epochs": epochs, "lr": base.lr * lr_scale,
                         "workdir": str(workdir), "init_from": name, "qat_bits": weight_bits})
    train(cfg, show_progress=progress, prepare=lambda model: enable(model, weight_bits, first_graded(cfg)))
    export(new, workdir=workdir, weight_bits=weight_bits)
    return new
