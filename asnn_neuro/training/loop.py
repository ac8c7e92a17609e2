"""Training stage: SLAYER-block models on a data set, seeded, resumable.

``train(TrainConfig)`` -> writes ``netx_exports/NAME/checkpoint.pt`` (after every
epoch, atomically) and ``train.json``. Every random draw of epoch e (shuffle,
augmentation, mixup, rate spikes) comes from a generator seeded with
(seed, e), so an interrupted run resumed with ``--resume`` reaches exactly the
result of an uninterrupted one.

Default recipe (chosen on mnist5k, see README): Adam, lr 5e-3 with a one-epoch
warm-up then cosine decay to 0, batch 64, random translations of up to 2 pixels,
label smoothing 0.05; mixup optional (on the raw images, before encoding).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro import encoding as enc
from asnn_neuro.data import Dataset, load_dataset
from asnn_neuro.errors import InputError
from asnn_neuro.models import build_model
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.method import batch_statistics
from asnn_neuro.neurons.cuba_cpu import fast_cuba
from asnn_neuro.training import distributed, predictions
from asnn_neuro.training.augment import random_shift, reference_augment
from asnn_neuro.training.checkpoint import load_checkpoint, save_checkpoint
from asnn_neuro.training.config import TrainConfig, pick_device, validate
from asnn_neuro.util import atomic, outputs
from asnn_neuro.util.cores import usable_cores
from asnn_neuro.util.cpu_memory import keep_large_allocations
from asnn_neuro.util.progress import progress_bar

# Random streams. Each (seed, stream) pair seeds its own generator, seed * SEED_STRIDE + stream:
# stream e = training epoch e; the strides are primes so that no two (seed, stream) pairs of
# realistic runs (seeds < 1000, epochs < 1000) share a generator.
SEED_STRIDE = 1_000_003
EVAL_STREAM = 10_000_019   # test-set encoding (rate spikes): fixed, so every epoch is scored alike
BN_STREAM = 20_000         # + epoch: the batch-norm recalibration pass after epoch e
RANK_EPOCH, RANK_STRIDE = 1009, 7919  # under torchrun: epoch * 1009 + 7919 * (rank + 1), per rank

Prepare = Callable[[torch.nn.Module], None]


def generator(seed: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator of random stream ``stream`` of run ``seed`` (see SEED_STRIDE)."""
    g = torch.Generator(device=device)
    g.manual_seed(seed * SEED_STRIDE + stream)
    return g


def encode_batch(x: torch.Tensor, cfg_model: ModelConfig, calibration, gen: torch.Generator | None):
    return enc.encode(x, cfg_model.encoding, cfg_model.timesteps, generator=gen, calibration=calibration)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg_model: ModelConfig, calibration,
             device: torch.device, batch_size: int = 250, seed: int = 0,
             eval_bn: str = "running") -> tuple[float, torch.Tensor]:
    """Accuracy and predictions of the float model on (x, y).

    ``eval_bn``: ``running`` (eval mode, the deployed semantics) or ``batch`` (every batch of
    ``batch_size`` test images normalised with its own statistics, as the reference evaluates)."""
    model.eval()
    gen = generator(seed, EVAL_STREAM)
    preds = []
    for i in range(0, len(x), batch_size):
        xb = encode_batch(x[i:i + batch_size], cfg_model, calibration, gen).to(device)
        with batch_statistics(model, eval_bn == "batch"):
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
                       encoding=cfg.encoding, timesteps=cfg.timesteps, options=dict(cfg.options),
                       bn_stats=cfg.bn_stats, reset_grad=cfg.reset_grad, readout_scale=cfg.readout_scale,
                       fixed_leak=cfg.fixed_leak)


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True, data: Dataset | None = None,
          prepare: Prepare | None = None) -> dict:
    """Train, checkpoint after every epoch, write train.json; returns its content.

    ``prepare(model)``, when given, is applied after the model is built and at the start of every
    epoch (quantisation-aware fine-tuning puts its fake-quantisers in this way)."""
    validate(cfg)
    outputs.check_target(cfg.out_dir, "train")  # refuse another command's folder before any work
    if cfg.qat_bits and prepare is None:
        raise InputError(f"'{cfg.name}' is a quantisation-aware fine-tune: continue it with asnn quantize --qat")
    keep_large_allocations()
    info = distributed.init_from_env()
    try:
        with fast_cuba():
            return _train(cfg, info, resume, show_progress and distributed.is_main(info), data, prepare)
    finally:
        distributed.cleanup(info)


@dataclass
class _Run:
    """What one training run carries from epoch to epoch."""

    cfg: TrainConfig
    info: distributed.DistInfo
    device: torch.device
    data: Dataset
    mcfg: ModelConfig
    calibration: enc.TemporalEqCalibration | None
    model: torch.nn.Module
    net: torch.nn.Module            # the model, or its DDP wrapper under torchrun
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    steps_per_epoch: int
    history: list[dict] = field(default_factory=list)
    predictions: torch.Tensor | None = None  # of the last evaluation on the test set

    @property
    def ckpt_path(self) -> Path:
        return self.cfg.out_dir / "checkpoint.pt"


def train_subset(data: Dataset, n: int) -> Dataset:
    """The first ``n`` training images of ``data`` (all when ``n`` is 0); the test set is kept whole."""
    if not n:
        return data
    if n > len(data.train_y):
        raise InputError(f"--train-subset {n}: {data.name} has only {len(data.train_y)} training images")
    return Dataset(name=f"{data.name}[:{n}]", train_x=data.train_x[:n], train_y=data.train_y[:n],
                   test_x=data.test_x, test_y=data.test_y, classes=data.classes)


def _build(cfg: TrainConfig, info: distributed.DistInfo, data: Dataset | None, prepare: Prepare | None) -> _Run:
    """Data, model (initialised or loaded), optimiser and schedule of a run."""
    device = distributed.device_for(info, pick_device(cfg.device))
    torch.set_num_threads(max(1, usable_cores() // max(1, info.world_size)))
    data = train_subset(data or load_dataset(cfg.dataset, seed=cfg.seed), cfg.train_subset)
    mcfg = model_config(cfg, data)
    calibration = None
    if cfg.encoding == "temporal-eq":
        calibration = enc.TemporalEqCalibration.fit(data.train_x, cfg.timesteps)
    torch.manual_seed(cfg.seed)
    model = build_model(mcfg).to(device)
    with torch.no_grad():  # one forward pass fixes the SLAYER neurons' shapes
        model.eval()
        model(torch.zeros(2, *mcfg.in_shape, mcfg.timesteps, device=device))
    if cfg.init_from:
        init = load_checkpoint(Path(cfg.workdir) / cfg.init_from / "checkpoint.pt")
        if ModelConfig.from_dict(init["model_config"]) != mcfg:
            raise InputError(f"--init-from {cfg.init_from}: its model differs from the one requested")
        model.load_state_dict(init["model"])
    if prepare is not None:
        prepare(model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = math.ceil(len(distributed.shard(torch.arange(len(data.train_x)), info)) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg.epochs, steps))
    return _Run(cfg, info, device, data, mcfg, calibration, model, distributed.wrap(model, info), opt, sched, steps)


def _resume(run: _Run) -> None:
    """Load model, optimiser, schedule and history from the run's checkpoint; options must match."""
    cfg, path = run.cfg, run.ckpt_path
    if not path.is_file():
        raise InputError(f"--resume: no checkpoint at {path}")
    state = load_checkpoint(path)
    try:
        saved = TrainConfig(**{**state["train_config"], "workdir": cfg.workdir, "name": cfg.name})
    except (KeyError, TypeError) as exc:
        raise InputError(f"--resume: {path}: malformed training options ({exc})") from None
    if asdict(saved) != asdict(cfg):
        diff = [k for k in asdict(cfg) if asdict(cfg)[k] != asdict(saved)[k]]
        raise InputError(f"--resume: {path} was trained with different options ({', '.join(diff)})")
    try:
        run.model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        run.sched.load_state_dict(state["scheduler"])
        run.history = list(state["history"])
        epoch = int(state["epoch"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"--resume: {path}: cannot resume from it ({type(exc).__name__}: "
                         f"{str(exc)[:200]})") from None
    if not 0 <= epoch <= cfg.epochs or len(run.history) != epoch:
        raise InputError(f"--resume: {path}: inconsistent epoch count {epoch}")


def _loss(out: torch.Tensor, y: torch.Tensor, smoothing: float) -> torch.Tensor:
    return F.cross_entropy(out, y, label_smoothing=smoothing)


def mixup_draw(cfg: TrainConfig, epoch: int, batch: int, n: int, gen: torch.Generator) -> tuple[float, torch.Tensor]:
    """Mixup weight lambda ~ Beta(alpha, alpha) (alpha = 1: U(0, 1), the reference's) and partner order."""
    lam = float(np.random.default_rng([cfg.seed, epoch, batch]).beta(cfg.mixup, cfg.mixup))
    return lam, torch.randperm(n, generator=gen)


def mix_images(x: torch.Tensor, lam: float, perm: torch.Tensor) -> torch.Tensor:
    """lam * x + (1 - lam) * x[perm] on images in [0, 1] (stays in [0, 1]), before any encoding."""
    return (lam * x + (1 - lam) * x[perm.to(x.device)]).clamp_(0.0, 1.0)


def _train_epoch(run: _Run, epoch: int, show_progress: bool) -> dict:
    """One pass over the (sharded) training set; returns the epoch's totals on this rank."""
    cfg, info = run.cfg, run.info
    gen = generator(cfg.seed, epoch)
    run.model.train()
    order = distributed.shard(torch.randperm(len(run.data.train_x), generator=gen), info)
    if info.enabled:  # each rank draws its own augmentation / spike noise
        gen = generator(cfg.seed, epoch * RANK_EPOCH + RANK_STRIDE * (info.rank + 1))
    amp = cfg.amp and run.device.type == "cuda"
    correct = total = 0
    loss_sum = 0.0
    bar = progress_bar(range(run.steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", enabled=show_progress)
    for b in bar:
        idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
        x, y = run.data.train_x[idx], run.data.train_y[idx].to(run.device)
        if cfg.augment:
            x = reference_augment(x, gen) if cfg.augmentation == "reference" else random_shift(x, cfg.shift, gen)
        lam, perm = 1.0, None
        # mix the RAW images, then encode (as the reference): spikes stay 0/1
        if cfg.mixup > 0 and (not cfg.mixup_until or epoch < cfg.mixup_until):
            lam, perm = mixup_draw(cfg, epoch, b, len(y), gen)
            x = mix_images(x, lam, perm)
        xb = encode_batch(x, run.mcfg, run.calibration, gen).to(run.device)
        with torch.autocast(device_type=run.device.type, dtype=torch.bfloat16, enabled=amp):
            out = run.net(xb)
            loss = _loss(out, y, cfg.label_smoothing)
            if perm is not None:
                y_b = y[perm.to(run.device)]
                loss = lam * loss + (1 - lam) * _loss(out, y_b, cfg.label_smoothing)
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        run.sched.step()
        correct += int((out.argmax(1) == y).sum())
        total += len(y)
        loss_sum += float(loss.detach()) * len(y)
        if show_progress:
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
    return {"correct": correct, "total": total, "loss_sum": loss_sum}


def _train(cfg: TrainConfig, info: distributed.DistInfo, resume: bool, show_progress: bool,
           data: Dataset | None, prepare: Prepare | None) -> dict:
    run = _build(cfg, info, data, prepare)
    if resume:
        _resume(run)
    if distributed.is_main(info):
        outputs.claim(cfg.out_dir, "train")
    for epoch in range(len(run.history), cfg.epochs):
        if prepare is not None:
            prepare(run.model)
        t0 = time.perf_counter()
        totals = _train_epoch(run, epoch, show_progress)
        if prepare is None:  # a quantisation-aware fine-tune keeps the statistics it started from
            recalibrate_bn(run.model, run.data.train_x, run.mcfg, run.calibration, run.device,
                           generator(cfg.seed, BN_STREAM + epoch))
        seconds = time.perf_counter() - t0
        sums = distributed.all_reduce_sum(torch.tensor([totals["correct"], totals["total"], totals["loss_sum"]],
                                                       dtype=torch.float64), info)
        correct, total, loss_sum = int(sums[0]), int(sums[1]), float(sums[2])
        test_acc, run.predictions = evaluate(run.model, run.data.test_x, run.data.test_y, run.mcfg,
                                             run.calibration, run.device, eval_bn=cfg.eval_bn)
        run.history.append({"epoch": epoch + 1, "loss": loss_sum / total, "train_accuracy": correct / total,
                            "test_accuracy": test_acc, "seconds": seconds, "samples": total})
        if show_progress:
            print(f"epoch {epoch + 1}: loss {loss_sum / total:.4f} train {correct / total:.4f} "
                  f"test {test_acc:.4f} ({total / seconds:.0f} samples/s)", flush=True)
        if distributed.is_main(info):
            save_checkpoint(run.ckpt_path, run.model, run.mcfg, cfg, run.calibration, epoch + 1, run.history,
                            run.opt, run.sched)
        distributed.barrier(info)
    return _finish(run)


def _finish(run: _Run) -> dict:
    """train.json of a finished run (written by the main rank)."""
    cfg, history = run.cfg, run.history
    train_time = sum(h["seconds"] for h in history)
    if run.predictions is None:  # resumed after its last epoch: score the test set once more
        _, run.predictions = evaluate(run.model, run.data.test_x, run.data.test_y, run.mcfg, run.calibration,
                                      run.device, eval_bn=cfg.eval_bn)
    seen = sum(h["samples"] for h in history)
    result = {
        "dataset": cfg.dataset, "model": cfg.model, "encoding": cfg.encoding, "neuron": cfg.neuron,
        "timesteps": cfg.timesteps, "epochs": cfg.epochs, "seed": cfg.seed,
        "train_accuracy": history[-1]["train_accuracy"], "test_accuracy": history[-1]["test_accuracy"],
        "samples_per_s": seen / train_time if train_time > 0 else None,
        "test_samples": len(run.data.test_y), "device": str(run.device), "history": history,
        "config": asdict(cfg), "world_size": run.info.world_size,
        "test_predictions": predictions.pack(run.predictions.tolist()),
    }
    if distributed.is_main(run.info):
        atomic.write_json(cfg.out_dir / "train.json", result)
    return result
