"""Training stage: SLAYER-block models on a data set, seeded, resumable.

``train(TrainConfig)`` -> writes ``netx_exports/NAME/checkpoint.pt`` (after every
epoch, atomically) and ``train.json``. Every random draw of epoch e (shuffle,
augmentation, rate spikes, mixup) comes from a generator seeded with
(seed, e), so an interrupted run resumed with ``--resume`` reaches exactly the
result of an uninterrupted one.

Default recipe (chosen on mnist5k, see the closing notes in docs/): Adam,
lr 5e-3 with a one-epoch warm-up then cosine decay to 0, batch 64, random
translations of up to 2 pixels, label smoothing 0.05; mixup optional.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import atomic, distributed
from . import encoding as enc
from .cpu_memory import keep_large_allocations
from .data import Dataset, load_dataset
from .errors import InputError
from .models import MODELS, NEURONS, build_model
from .models.config import ModelConfig
from .progress import progress_bar

MAX_TIMESTEPS = 256


@dataclass
class TrainConfig:
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
    if cfg.encoding not in enc.SCHEMES:
        raise InputError(f"unknown encoding '{cfg.encoding}'; choose one of: {', '.join(enc.SCHEMES)}")
    if not 1 <= cfg.timesteps <= MAX_TIMESTEPS:
        raise InputError(f"--timesteps must be between 1 and {MAX_TIMESTEPS}, got {cfg.timesteps}")
    if cfg.timesteps < enc.min_timesteps(cfg.encoding):
        raise InputError(
            f"encoding '{cfg.encoding}' needs --timesteps >= {enc.min_timesteps(cfg.encoding)}, got {cfg.timesteps}"
        )
    if cfg.epochs < 1:
        raise InputError(f"--epochs must be >= 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {cfg.batch_size}")
    if not cfg.name or "/" in cfg.name or cfg.name.startswith("."):
        raise InputError(f"--name '{cfg.name}' must be a plain folder name")
    if cfg.model not in MODELS:
        raise InputError(f"unknown model '{cfg.model}'; choose one of: {', '.join(MODELS)}")
    if cfg.neuron not in NEURONS:
        raise InputError(f"unknown neuron '{cfg.neuron}'; choose one of: {', '.join(NEURONS)}")
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {cfg.seed!r}")
    for option, value, high in (("--lr", cfg.lr, 10.0), ("--weight-decay", cfg.weight_decay, 10.0),
                                ("--mixup", cfg.mixup, 1e3)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= high \
                or (option == "--lr" and value == 0):
            low = "(0" if option == "--lr" else "[0"
            raise InputError(f"{option} must be a number in {low}, {high}], got {value!r}")


def generator(seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed * 1_000_003 + epoch)
    return g


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by an integer offset in [-max_shift, max_shift] (zero fill)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen, device=gen.device).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] + offsets[:, :1])  # (n, h)
    cols = (torch.arange(w, device=x.device)[None, :] + offsets[:, 1:])  # (n, w)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def encode_batch(x: torch.Tensor, cfg_model: ModelConfig, calibration, gen: torch.Generator | None):
    return enc.encode(x, cfg_model.encoding, cfg_model.timesteps, generator=gen, calibration=calibration)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg_model: ModelConfig, calibration,
             device: torch.device, batch_size: int = 250, seed: int = 0) -> tuple[float, torch.Tensor]:
    """Accuracy and predictions of the float model on (x, y)."""
    model.eval()
    gen = generator(seed, 10_000_019)
    preds = []
    for i in range(0, len(x), batch_size):
        xb = encode_batch(x[i:i + batch_size], cfg_model, calibration, gen).to(device)
        preds.append(model(xb).argmax(dim=1).cpu())
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    return float((pred == y).float().mean()) if len(y) else float("nan"), pred


BN_CALIBRATION_SAMPLES = 1024


@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, train_x: torch.Tensor, mcfg: ModelConfig, calibration,
                   device: torch.device, gen: torch.Generator, batch_size: int = 256) -> None:
    """Re-estimate batch-norm statistics with the final weights ("precise BN").

    Running averages mix in statistics of early, very different weights; after short training
    that makes eval-mode accuracy collapse. One pass over up to BN_CALIBRATION_SAMPLES training
    images with a cumulative average (momentum None) fixes the statistics to the current weights.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    was_training = model.training
    model.train()
    idx = torch.randperm(len(train_x), generator=gen)[:BN_CALIBRATION_SAMPLES]
    for i in range(0, len(idx), batch_size):
        model(encode_batch(train_x[idx[i:i + batch_size]], mcfg, calibration, gen).to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.train(was_training)


def _lr_lambda(epochs: int, steps_per_epoch: int):
    total = max(1, epochs * steps_per_epoch)
    warm = min(steps_per_epoch, total // 10 + 1)

    def fn(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    return fn


def model_config(cfg: TrainConfig, data: Dataset) -> ModelConfig:
    return ModelConfig(model=cfg.model, in_shape=data.shape, classes=data.classes, neuron=cfg.neuron,
                       encoding=cfg.encoding, timesteps=cfg.timesteps, options=dict(cfg.options))


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True, data: Dataset | None = None) -> dict:
    """Train, checkpoint after every epoch, write train.json; returns its content."""
    validate(cfg)
    keep_large_allocations()
    info = distributed.init_from_env()
    try:
        return _train(cfg, info, resume, show_progress and distributed.is_main(info), data)
    finally:
        distributed.cleanup(info)


def _train(cfg: TrainConfig, info: distributed.DistInfo, resume: bool, show_progress: bool,
           data: Dataset | None) -> dict:
    main_rank = distributed.is_main(info)
    device = distributed.device_for(info, pick_device(cfg.device))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, info.world_size)))
    data = data or load_dataset(cfg.dataset, seed=cfg.seed)
    mcfg = model_config(cfg, data)
    calibration = None
    if cfg.encoding == "temporal-eq":
        calibration = enc.TemporalEqCalibration.fit(data.train_x, cfg.timesteps)
    torch.manual_seed(cfg.seed)
    model = build_model(mcfg).to(device)
    # one forward pass fixes the SLAYER neurons' shapes
    with torch.no_grad():
        model.eval()
        model(torch.zeros(2, *mcfg.in_shape, mcfg.timesteps, device=device))
    if cfg.init_from:
        init = load_checkpoint(Path(cfg.workdir) / cfg.init_from / "checkpoint.pt")
        if ModelConfig.from_dict(init["model_config"]) != mcfg:
            raise InputError(f"--init-from {cfg.init_from}: its model differs from the one requested")
        model.load_state_dict(init["model"])
    if cfg.qat_bits:
        from . import qat

        qat.enable(model, cfg.qat_bits, first_graded=all(enc.analog_mask(cfg.encoding, cfg.timesteps)))
    net = distributed.wrap(model, info)  # DDP under torchrun, the model itself otherwise
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(distributed.shard(torch.arange(len(data.train_x)), info)) / cfg.batch_size)
    amp = cfg.amp and device.type == "cuda"
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg.epochs, steps_per_epoch))
    ckpt_path = cfg.out_dir / "checkpoint.pt"
    history: list[dict] = []
    start_epoch = 0
    if resume:
        if not ckpt_path.is_file():
            raise InputError(f"--resume: no checkpoint at {ckpt_path}")
        state = load_checkpoint(ckpt_path)
        try:
            saved = TrainConfig(**{**state["train_config"], "workdir": cfg.workdir, "name": cfg.name})
        except (KeyError, TypeError) as exc:
            raise InputError(f"--resume: {ckpt_path}: malformed training options ({exc})") from None
        if asdict(saved) != asdict(cfg):
            diff = [k for k in asdict(cfg) if asdict(cfg)[k] != asdict(saved)[k]]
            raise InputError(f"--resume: {ckpt_path} was trained with different options ({', '.join(diff)})")
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            history = list(state["history"])
            start_epoch = int(state["epoch"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise InputError(f"--resume: {ckpt_path}: cannot resume from it ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None
        if not 0 <= start_epoch <= cfg.epochs or len(history) != start_epoch:
            raise InputError(f"--resume: {ckpt_path}: inconsistent epoch count {start_epoch}")
    if main_rank:
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
    train_time = sum(h["seconds"] for h in history)
    seen = sum(h["samples"] for h in history)
    for epoch in range(start_epoch, cfg.epochs):
        gen = generator(cfg.seed, epoch)
        model.train()
        if cfg.qat_bits:
            qat.enable(model, cfg.qat_bits, first_graded=all(enc.analog_mask(cfg.encoding, cfg.timesteps)))
        order = distributed.shard(torch.randperm(len(data.train_x), generator=gen), info)
        if info.enabled:  # each rank draws its own augmentation / spike noise
            gen = generator(cfg.seed, epoch * 1009 + 7919 * (info.rank + 1))
        correct = total = 0
        loss_sum = 0.0
        t0 = time.perf_counter()
        bar = progress_bar(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", enabled=show_progress)
        for b in bar:
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            x, y = data.train_x[idx], data.train_y[idx]
            if cfg.augment:
                x = random_shift(x, cfg.shift, gen)
            xb = encode_batch(x, mcfg, calibration, gen).to(device)
            y = y.to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                if cfg.mixup > 0:
                    lam = float(np.random.default_rng([cfg.seed, epoch, b]).beta(cfg.mixup, cfg.mixup))
                    perm = torch.randperm(len(y), generator=gen).to(device)
                    xb = lam * xb + (1 - lam) * xb[perm]
                    out = net(xb)
                    loss = lam * F.cross_entropy(out, y, label_smoothing=cfg.label_smoothing) + \
                        (1 - lam) * F.cross_entropy(out, y[perm], label_smoothing=cfg.label_smoothing)
                else:
                    out = net(xb)
                    loss = F.cross_entropy(out, y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            correct += int((out.argmax(1) == y).sum())
            total += len(y)
            loss_sum += float(loss.detach()) * len(y)
            if show_progress:
                bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        if not cfg.qat_bits:
            recalibrate_bn(model, data.train_x, mcfg, calibration, device, generator(cfg.seed, 20_000 + epoch))
        seconds = time.perf_counter() - t0
        sums = distributed.all_reduce_sum(torch.tensor([correct, total, loss_sum], dtype=torch.float64), info)
        correct, total, loss_sum = int(sums[0]), int(sums[1]), float(sums[2])
        test_acc, _ = evaluate(model, data.test_x, data.test_y, mcfg, calibration, device)
        history.append({"epoch": epoch + 1, "loss": loss_sum / total, "train_accuracy": correct / total,
                        "test_accuracy": test_acc, "seconds": seconds, "samples": total})
        train_time += seconds
        seen += total
        if show_progress:
            print(f"epoch {epoch + 1}: loss {loss_sum / total:.4f} train {correct / total:.4f} "
                  f"test {test_acc:.4f} ({total / seconds:.0f} samples/s)", flush=True)
        if main_rank:
            save_checkpoint(ckpt_path, model, mcfg, cfg, calibration, epoch + 1, history, opt, sched)
        distributed.barrier(info)
    result = {
        "dataset": cfg.dataset, "model": cfg.model, "encoding": cfg.encoding, "neuron": cfg.neuron,
        "timesteps": cfg.timesteps, "epochs": cfg.epochs, "seed": cfg.seed,
        "train_accuracy": history[-1]["train_accuracy"], "test_accuracy": history[-1]["test_accuracy"],
        "samples_per_s": seen / train_time if train_time > 0 else None,
        "test_samples": len(data.test_y), "device": str(device), "history": history,
        "config": asdict(cfg), "world_size": info.world_size,
    }
    if main_rank:
        atomic.write_json(cfg.out_dir / "train.json", result)
    return result


def save_checkpoint(path: Path, model, mcfg: ModelConfig, cfg: TrainConfig, calibration, epoch: int,
                    history: list, opt=None, sched=None) -> None:
    state = {
        "format": "asnn-neuro-checkpoint/1",
        "model_config": mcfg.to_dict(),
        "train_config": asdict(cfg),
        "model": model.state_dict(),
        "calibration": calibration.to_dict() if calibration is not None else None,
        "epoch": epoch,
        "history": history,
        "optimizer": opt.state_dict() if opt is not None else None,
        "scheduler": sched.state_dict() if sched is not None else None,
    }
    atomic.write_with(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint (train it first with asnn train)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise InputError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != "asnn-neuro-checkpoint/1":
        raise InputError(f"{path}: not an asnn-neuro checkpoint")
    return state


def load_model(path: Path, device: str = "cpu"):
    """(model in eval mode, ModelConfig, calibration or None) from a checkpoint."""
    state = load_checkpoint(path)
    try:
        mcfg = ModelConfig.from_dict(state["model_config"])
        model = build_model(mcfg)
        calibration = None
        if state.get("calibration"):
            calibration = enc.TemporalEqCalibration.from_dict(state["calibration"])
        with torch.no_grad():
            model.eval()
            model(torch.zeros(1, *mcfg.in_shape, mcfg.timesteps))
        model.load_state_dict(state["model"])
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a damaged or foreign state
        raise InputError(f"{path}: cannot rebuild the model ({type(exc).__name__}: "
                         f"{str(exc)[:200]})") from None
    model.eval()
    return model.to(device), mcfg, calibration
