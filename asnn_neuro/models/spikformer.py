"""Spikformer (Zhou et al., 2023) from SLAYER blocks; trains with every neuron kind, does not deploy.

Layout (tensors (N, C, H, W, T), tokens are the H x W positions of the last map):

- spiking patch splitting: conv3x3 -> D/4, conv3x3 -> D/2, maxpool, conv3x3 -> D, maxpool (each conv
  + BN + spiking neuron; the first conv is a ``HybridConv`` for hybrid encodings);
- ``block1`` .. ``blockN``: ``x = x + SSA(x); x = x + MLP(x)``; block1 first adds the relative
  position embedding ``x = x + SN(BN(conv3x3(x)))``;
- spiking self-attention (SSA): Q, K, V = SN(BN(linear(x))) (linear = 1x1 conv), per head
  ``A = Q Kᵀ V * scale`` (no softmax; computed as Q (Kᵀ V), the same product), then SN(BN(A))
  (BN stands in for the paper's threshold 0.5) and a linear + BN + SN projection;
- MLP: linear + BN + SN to ``mlp_ratio * D``, linear + BN + SN back to D;
- ``tokens``: mean over the tokens, then the ``Readout``.

Every spiking neuron is the chosen kind (asnn, lif, cuba). Lowering stops at ``blockN.attn``:
Q Kᵀ multiplies two spike tensors, which no fixed synaptic weight expresses (docs/models.md).

Options (``cfg.options``): ``dim`` (D), ``depth`` (blocks), ``heads``, ``mlp_ratio``. Defaults:
32x32 inputs and larger Spikformer-4-256 (dim 256, 4 blocks, 8 heads, mlp 4); smaller inputs
dim 64, 2 blocks, 4 heads, mlp 4.
"""

from __future__ import annotations

import torch

from asnn_neuro import encoding as enc
from asnn_neuro.errors import InputError
from asnn_neuro.models.blocks import HybridConv, Readout, SpikeMaxPool, conv_block
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.lenet import SpikingSequential
from asnn_neuro.models.resnet import check_options, parse_ints, spiking_neuron

LARGE = {"dim": 256, "depth": 4, "heads": 8, "mlp_ratio": 4}
SMALL = {"dim": 64, "depth": 2, "heads": 4, "mlp_ratio": 4}

def spikformer_layout(cfg: ModelConfig) -> dict[str, int]:
    """dim, depth, heads, mlp_ratio from the defaults and ``cfg.options``."""
    check_options(cfg, tuple(LARGE))
    default = LARGE if min(cfg.in_shape[1:]) >= 32 else SMALL
    out = {k: parse_ints(cfg.options.get(k, v), k)[0] for k, v in default.items()}
    if out["dim"] % out["heads"] or out["dim"] % 4:
        raise InputError(f"model option 'dim' ({out['dim']}) must be a multiple of 4 and of "
                         f"heads ({out['heads']})")
    return out


def linear_block(kind: str, timesteps: int, in_features: int, out_features: int) -> torch.nn.Module:
    """Per-token linear + BN + neuron: a 1x1 conv block."""
    return conv_block(kind, timesteps, in_features, out_features, kernel=1, padding=0)


class SpikingSelfAttention(torch.nn.Module):
    """SSA: Q, K, V spike tensors; A = Q Kᵀ V * scale per head; SN(BN(A)); linear projection."""

    def __init__(self, kind: str, timesteps: int, dim: int, heads: int, scale: float = 0.125):
        super().__init__()
        self.heads, self.scale = heads, scale
        self.q = linear_block(kind, timesteps, dim, dim)
        self.k = linear_block(kind, timesteps, dim, dim)
        self.v = linear_block(kind, timesteps, dim, dim)
        self.attn = spiking_neuron(kind, timesteps, dim, norm=True)  # SN(BN(A))
        self.proj = linear_block(kind, timesteps, dim, dim)

    def _heads(self, z: torch.Tensor) -> torch.Tensor:
        n, d, h, w, t = z.shape
        # -> (N, T, heads, L, dh)
        return z.reshape(n, self.heads, d // self.heads, h * w, t).permute(0, 4, 1, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (self._heads(f(x)) for f in (self.q, self.k, self.v))
        a = q @ (k.transpose(-2, -1) @ v) * self.scale  # == (Q Kᵀ) V: no softmax, so associative
        n, d, h, w, t = x.shape
        a = a.permute(0, 2, 4, 3, 1).reshape(n, d, h, w, t)
        return self.proj(self.attn(a))


class SpikformerBlock(torch.nn.Module):
    """x = x + SSA(x); x = x + MLP(x) (block 1 first adds the relative position embedding)."""

    def __init__(self, kind: str, timesteps: int, dim: int, heads: int, mlp_ratio: int, rpe: bool = False):
        super().__init__()
        self.rpe = conv_block(kind, timesteps, dim, dim) if rpe else None
        self.attention = SpikingSelfAttention(kind, timesteps, dim, heads)
        self.mlp = torch.nn.Sequential(linear_block(kind, timesteps, dim, dim * mlp_ratio),
                                       linear_block(kind, timesteps, dim * mlp_ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rpe is not None:
            x = x + self.rpe(x)
        x = x + self.attention(x)
        return x + self.mlp(x)


class TokenMean(torch.nn.Module):
    """(N, D, H, W, T) -> (N, D, T): the mean over the tokens (a rate, not a spike)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class Spikformer(SpikingSequential):
    """Patch splitting -> Spikformer blocks -> token mean -> readout; see the module docstring."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        kind, steps = cfg.neuron, cfg.timesteps
        channels, height, width = cfg.in_shape
        opt = spikformer_layout(cfg)
        dim = opt["dim"]
        if height < 4 or width < 4:
            raise InputError(f"input {height}x{width} is too small for Spikformer's two 2x2 pools")
        first = HybridConv(kind, steps, channels, dim // 4) if enc.is_hybrid(cfg.encoding) \
            else conv_block(kind, steps, channels, dim // 4)
        stages: list[tuple[str, torch.nn.Module]] = [
            ("patch1", first),
            ("patch2", conv_block(kind, steps, dim // 4, dim // 2)),
            ("pool1", SpikeMaxPool(2)),
            ("patch3", conv_block(kind, steps, dim // 2, dim)),
            ("pool2", SpikeMaxPool(2)),
        ]
        for i in range(opt["depth"]):
            stages.append((f"block{i + 1}", SpikformerBlock(kind, steps, dim, opt["heads"], opt["mlp_ratio"],
                                                            rpe=i == 0)))
        stages.append(("tokens", TokenMean()))
        stages.append(("readout", Readout(dim, cfg.classes, steps, per_step=kind == "asnn")))
        self.stage_names = [name for name, _ in stages]
        self.stages = torch.nn.ModuleList(module for _, module in stages)
