"""The paper's LeNet: conv32-pool-conv48-pool-conv64-pool-fc256-readout, with BN.

Any neuron kind (asnn, lif, cuba) and any encoding (hybrid + cuba is refused, see
``models.method.check_encoding``); with a hybrid encoding the first conv is a ``HybridConv``
(own synapse + BN for the analog frame).
Input (N, C, H, W, T) for 28x28, 32x32 (and 8x8 digits); output logits (N, classes).
"""

from __future__ import annotations

import torch

from asnn_neuro import encoding as enc
from asnn_neuro.models.blocks import HybridConv, Readout, SpikeMaxPool, conv_block, dense_block, flatten
from asnn_neuro.models.config import ModelConfig


class SpikingSequential(torch.nn.Module):
    """A chain of named stages; ``forward(x, record=True)`` also returns each stage's spikes."""

    stage_names: list[str]

    def forward(self, x: torch.Tensor, record: bool = False):
        trace: list[torch.Tensor] = []
        for name, stage in zip(self.stage_names, self.stages):
            x = flatten(x) if name == "flatten" else stage(x)
            if record and name != "flatten":
                trace.append(x)
        return (x, trace[:-1]) if record else x


class LeNet(SpikingSequential):
    def __init__(self, cfg: ModelConfig, widths: tuple[int, int, int] = (32, 48, 64), hidden: int = 256):
        super().__init__()
        self.cfg = cfg
        kind, steps = cfg.neuron, cfg.timesteps
        channels, height, width = cfg.in_shape
        stages: list[tuple[str, torch.nn.Module]] = []
        if enc.is_hybrid(cfg.encoding):
            stages.append(("conv1", HybridConv(kind, steps, channels, widths[0])))
        else:
            stages.append(("conv1", conv_block(kind, steps, channels, widths[0])))
        size_h, size_w = height, width
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            stages.append((f"pool{i}", SpikeMaxPool(2)))
            size_h, size_w = size_h // 2, size_w // 2
            stages.append((f"conv{i + 1}", conv_block(kind, steps, cin, cout)))
        stages.append((f"pool{len(widths)}", SpikeMaxPool(2)))
        size_h, size_w = size_h // 2, size_w // 2
        if size_h < 1 or size_w < 1:
            raise ValueError(f"input {height}x{width} is too small for LeNet's three pools")
        stages.append(("flatten", torch.nn.Identity()))
        stages.append(("fc1", dense_block(kind, steps, widths[-1] * size_h * size_w, hidden)))
        stages.append(("readout", Readout(hidden, cfg.classes, steps, per_step=kind == "asnn")))
        self.stage_names = [name for name, _ in stages]
        self.stages = torch.nn.ModuleList(module for _, module in stages)
