"""Spiking ResNet from SLAYER blocks, deployable to the IR (skip paths, relays, shared exponents).

Layout: stem conv (``HybridConv`` for hybrid encodings) -> stages of basic blocks -> flatten ->
``Readout``. The first block of every stage but the first halves the map (stride 2).

Basic block: ``out = SN(BN2(conv2(SN(BN1(conv1(x))))) + shortcut(x))``, shortcut identity, or
BN(conv1x1, stride s) where the shape changes. The block neuron after the add sees one port
with two paths (conv2 and the skip), which must share one weight exponent.

End of the network: no global average pooling (a mean of spikes is not a spike); the last
feature map is flattened into the dense ``Readout``. A dense readout of the flattened map
contains average pooling + fc as the special case of tied weights, so it loses nothing.

Deployment (``deploy.lower.lower_basic_block``) adds three IR layers per block, in this order:

- ``blockN.relay``: depthwise 1x1 conv, weight 1, stride s, OR neuron. It repeats the block's
  input spikes one step later (subsampled by the stride), so that the skip arrives together with
  the main path (x at depth d, conv1 at d+1, the add at d+2);
- ``blockN.conv1``: conv1 + BN1 + neuron, reading x;
- ``blockN.conv2``: the add neuron, with paths [conv2 from conv1, skip from the relay]; the skip is
  a depthwise 1x1 conv of weight 1 (identity) or the BN-folded 1x1 shortcut conv.

Options (``cfg.options``): ``widths`` channels per stage (e.g. ``"16,32,64"``), ``depth`` basic
blocks per stage (one number for all stages, or one per stage), ``stem`` stem channels
(default: ``widths[0]``). Defaults: 32x32 inputs and larger widths 64-128-256, depth 3-3-2 (a
half-width ResNet-19: 17 convs + readout); smaller inputs widths 16-32-64, depth 1-1-1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from asnn_neuro import encoding as enc
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.errors import InputError
from asnn_neuro.models.blocks import HybridConv, Readout, conv_block, neuron_params
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.lenet import SpikingSequential
from asnn_neuro.neurons import asnn

LARGE = {"widths": (64, 128, 256), "depth": (3, 3, 2)}
SMALL = {"widths": (16, 32, 64), "depth": (1, 1, 1)}
OPTIONS = ("widths", "depth", "stem")


def parse_ints(value, name: str) -> tuple[int, ...]:
    """An int, a sequence of ints, or a string like ``"16,32,64"`` / ``"16-32-64"`` -> tuple of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        items: Sequence = [value]
    elif isinstance(value, str):
        items = [s for s in value.replace("-", ",").replace(" ", ",").split(",") if s]
    elif isinstance(value, Sequence):
        items = value
    else:
        raise InputError(f"model option '{name}': expected integers, got {value!r}")
    try:
        out = tuple(int(v) for v in items)
    except (TypeError, ValueError):
        raise InputError(f"model option '{name}': expected integers, got {value!r}") from None
    if not out or min(out) < 1:
        raise InputError(f"model option '{name}': expected positive integers, got {value!r}")
    return out


def check_options(cfg: ModelConfig, known: Sequence[str]) -> None:
    unknown = sorted(set(cfg.options) - set(known))
    if unknown:
        raise InputError(f"model '{cfg.model}': unknown option(s) {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")


def resnet_layout(cfg: ModelConfig) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """(stem channels, widths per stage, blocks per stage) from the defaults and ``cfg.options``."""
    check_options(cfg, OPTIONS)
    default = LARGE if min(cfg.in_shape[1:]) >= 32 else SMALL
    widths = parse_ints(cfg.options.get("widths", default["widths"]), "widths")
    depth = parse_ints(cfg.options.get("depth", default["depth"][:len(widths)]), "depth")
    if len(depth) == 1:
        depth = depth * len(widths)
    if len(depth) != len(widths):
        raise InputError(f"model option 'depth': {len(depth)} values for {len(widths)} stages")
    stem = parse_ints(cfg.options.get("stem", widths[0]), "stem")[0]
    return stem, widths, depth


def spiking_neuron(kind: str, timesteps: int, features: int, norm: bool = False) -> torch.nn.Module:
    """A neuron of ``kind`` for (N, C, H, W, T) input, with or without batch norm on its input."""
    params = neuron_params(kind, timesteps, features, 5, norm=norm)
    return slayer.neuron.cuba.Neuron(**params) if kind == "cuba" else asnn.Neuron(**params)


# ----------------------------------------------------------------------------------------- blocks
class BasicBlock(torch.nn.Module):
    """out = SN(BN2(conv2(SN(BN1(conv1(x))))) + shortcut(x)); input/output (N, C, H, W, T) spikes."""

    def __init__(self, kind: str, timesteps: int, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.in_ch, self.out_ch, self.stride = in_ch, out_ch, stride
        self.conv1 = conv_block(kind, timesteps, in_ch, out_ch, kernel=3, stride=stride, padding=1)
        self.conv2 = slayer.synapse.Conv(out_ch, out_ch, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm3d(out_ch)
        if stride != 1 or in_ch != out_ch:
            self.shortcut = slayer.synapse.Conv(in_ch, out_ch, 1, stride=stride)
            self.shortcut_bn = torch.nn.BatchNorm3d(out_ch)
        else:
            self.shortcut = self.shortcut_bn = None
        self.neuron = spiking_neuron(kind, timesteps, out_ch)  # BNs are in the summands

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.bn2(self.conv2(self.conv1(x)))
        skip = x if self.shortcut is None else self.shortcut_bn(self.shortcut(x))
        return self.neuron(main + skip)


# ------------------------------------------------------------------------------------------ model
class SpikingResNet(SpikingSequential):
    """stem -> basic blocks (``block1`` ...) -> flatten -> readout; see the module docstring."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        kind, steps = cfg.neuron, cfg.timesteps
        channels, height, width = cfg.in_shape
        stem, widths, depth = resnet_layout(cfg)
        first = HybridConv(kind, steps, channels, stem) if enc.is_hybrid(cfg.encoding) \
            else conv_block(kind, steps, channels, stem)
        stages: list[tuple[str, torch.nn.Module]] = [("stem", first)]
        cin, h, w, n = stem, height, width, 0
        for stage, (cout, blocks) in enumerate(zip(widths, depth)):
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                n += 1
                stages.append((f"block{n}", BasicBlock(kind, steps, cin, cout, stride)))
                cin, h, w = cout, (h - 1) // stride + 1, (w - 1) // stride + 1
        if height < 2 ** (len(widths) - 1) or width < 2 ** (len(widths) - 1):
            raise InputError(f"input {height}x{width} is too small for {len(widths)} ResNet stages")
        stages.append(("flatten", torch.nn.Identity()))
        stages.append(("readout", Readout(cin * h * w, cfg.classes, steps, per_step=kind == "asnn")))
        self.stage_names = [name for name, _ in stages]
        self.stages = torch.nn.ModuleList(module for _, module in stages)
