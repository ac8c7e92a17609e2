"""What it takes to rebuild a model: stored in every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ModelConfig:
    model: str                       # lenet | resnet | spikformer
    in_shape: tuple[int, int, int]   # (C, H, W)
    classes: int
    neuron: str                      # asnn | lif | cuba
    encoding: str
    timesteps: int
    options: dict = field(default_factory=dict)  # model-specific (depth, width, ...)
    bn_stats: str = "pooled"         # pooled | per-step (see models.method)
    reset_grad: bool = False         # gradient through the soft reset
    readout_scale: bool = True       # the ASNN readout's per-step scale w[t]
    fixed_leak: bool = False         # lif: leak and gain frozen (see models.method)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        data = dict(data)
        data["in_shape"] = tuple(data["in_shape"])
        return cls(**data)
