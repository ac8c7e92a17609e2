"""What a training run is asked to do: ``TrainConfig``, its checks, and the device it runs on."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from asnn_neuro import encoding as enc
from asnn_neuro.errors import InputError
from asnn_neuro.models import MODELS, NEURONS
from asnn_neuro.models.method import EVAL_BN, check_encoding, check_method
from asnn_neuro.training.augment import AUGMENTATIONS
from asnn_neuro.util.names import check_name


@dataclass
class TrainConfig:
    """Every option of ``asnn train`` (stored in the checkpoint; ``--resume`` must match it)."""

    dataset: str = "mnist5k"
    model: str = "lenet"
    encoding: str = "hybrid"
    neuron: str = "asnn"
    timesteps: int = 4
    epochs: int = 15
    seed: int = 0
    name: str = "model"
    batch_size: int = 64
    lr: float = 5e-3
    weight_decay: float = 0.0
    augment: bool = True
    shift: int = 2
    label_smoothing: float = 0.05
    mixup: float = 0.0
    device: str = "auto"
    workdir: str = "netx_exports"
    amp: bool = False              # bfloat16 autocast on CUDA (ignored on the CPU)
    init_from: str | None = None   # start from this model's checkpoint (fine-tuning)
    qat_bits: int = 0              # > 0: quantisation-aware training with this many weight bits
    bn_stats: str = "pooled"       # pooled | per-step batch-norm statistics in training
    reset_grad: bool = False       # gradient through the soft reset (asnn, lif)
    readout_scale: bool = True     # False: the reference's ablation, w[t] = 1 (asnn)
    fixed_leak: bool = False       # lif with leak and gain frozen (models.method.FIXED_LEAK / FIXED_GAIN)
    eval_bn: str = "running"       # running | batch: test-batch statistics in evaluation (the reference)
    augmentation: str = "shift"    # shift (random translation by up to `shift`) | reference (flip, rotate, crop)
    mixup_until: int = 0           # > 0: mixup only in epochs 1..mixup_until (the reference: 145 of 200)
    train_subset: int = 0          # > 0: train on the first N training images only
    options: dict = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        return Path(self.workdir) / self.name


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not re.fullmatch(r"cuda(:\d+)?", name):
        raise InputError(f"unknown device '{name}'; choose auto, cpu or cuda[:N]")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine")
    if ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
        raise InputError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


def validate(cfg: TrainConfig) -> None:
    """Raise InputError naming the first option that cannot be trained."""
    enc.validate_scheme(cfg.encoding, cfg.timesteps)
    if cfg.epochs < 1:
        raise InputError(f"--epochs must be >= 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {cfg.batch_size}")
    check_name(cfg.name)
    if cfg.model not in MODELS:
        raise InputError(f"unknown model '{cfg.model}'; choose one of: {', '.join(MODELS)}")
    if cfg.neuron not in NEURONS:
        raise InputError(f"unknown neuron '{cfg.neuron}'; choose one of: {', '.join(NEURONS)}")
    check_method(cfg.neuron, cfg.bn_stats, cfg.reset_grad, cfg.readout_scale, cfg.fixed_leak)
    if cfg.eval_bn not in EVAL_BN:
        raise InputError(f"--eval-bn must be one of {', '.join(EVAL_BN)}, got {cfg.eval_bn!r}")
    if cfg.augmentation not in AUGMENTATIONS:
        raise InputError(f"--augmentation must be one of {', '.join(AUGMENTATIONS)}, got {cfg.augmentation!r}")
    for option, value in (("--mixup-until", cfg.mixup_until), ("--train-subset", cfg.train_subset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{option} must be an integer >= 0 (0 = off), got {value!r}")
    if cfg.mixup_until and not cfg.mixup:
        raise InputError("--mixup-until needs --mixup ALPHA > 0")
    check_encoding(cfg.neuron, cfg.encoding)
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {cfg.seed!r}")
    for option, value, high in (("--lr", cfg.lr, 10.0), ("--weight-decay", cfg.weight_decay, 10.0),
                                ("--mixup", cfg.mixup, 1e3)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= high \
                or (option == "--lr" and value == 0):
            low = "(0" if option == "--lr" else "[0"
            raise InputError(f"{option} must be a number in {low}, {high}], got {value!r}")
