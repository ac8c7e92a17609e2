"""Training throughput: our SLAYER-block LeNet vs a plain per-time-step PyTorch loop.

Both networks are the paper's LeNet for 32x32x3 inputs with hybrid coding and ASNN
neurons: conv32-pool-conv48-pool-conv64-pool-fc256-readout, batch norm after every
synapse, per-step leak/gain lam[t], g[t], soft reset, sigmoid surrogate (a = 4),
per-step readout weights w[t]. "ours" is ``build_model(ModelConfig("lenet", ...))``;
"plain" is written here from the equations (the adaptive neuron of arXiv 2408.12407) the way the
paper's reference code is structured: one Python loop over time steps, a separate
Conv2d/Linear call per step, the neuron state updated per step and the surrogate
gradient taken by autograd through a small per-step ``autograd.Function``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from asnn_neuro import encoding as enc
from asnn_neuro.bench.common import PeakRSS, backward_nodes, load_avg, saved_for_backward, spread, top_ops
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.registry import build_model
from asnn_neuro.util.cpu_memory import keep_large_allocations

THETA = 1.0
ALPHA = 4.0


class _SigmoidSpike(torch.autograd.Function):
    """Heaviside forward, d/du = a sig(a (u - theta)) (1 - sig(a (u - theta))) backward."""

    @staticmethod
    def forward(ctx, u: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(u)
        return (u >= THETA).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (u,) = ctx.saved_tensors
        sig = torch.sigmoid(ALPHA * (u - THETA))
        return grad * ALPHA * sig * (1.0 - sig)


def add_lenet_tail(module: torch.nn.Module, in_shape: tuple[int, int, int], widths: tuple[int, int, int],
                   hidden: int, classes: int) -> None:
    """The bench LeNet's layers after its first conv, on ``module`` in this order (the order the
    seeded initialisation draws in): conv2/bn2, conv3/bn3 (3x3, padding 1, no bias), fc1/bn4 (after
    three 2x2 pools), readout."""
    _, h, w = in_shape
    nn = torch.nn
    module.conv2 = nn.Conv2d(widths[0], widths[1], 3, padding=1, bias=False)
    module.bn2 = nn.BatchNorm2d(widths[1])
    module.conv3 = nn.Conv2d(widths[1], widths[2], 3, padding=1, bias=False)
    module.bn3 = nn.BatchNorm2d(widths[2])
    module.fc1 = nn.Linear(widths[2] * (h // 8) * (w // 8), hidden, bias=False)
    module.bn4 = nn.BatchNorm1d(hidden)
    module.readout = nn.Linear(hidden, classes)


class PlainASNNLeNet(torch.nn.Module):
    """The paper's hybrid-coded ASNN LeNet as a plain per-step PyTorch loop.

    Input: frames (N, C, H, W, T) split into T contiguous (N, C, H, W) tensors; output logits (N, classes).
    Batch norm is called once per step (per-step batch statistics, as a per-step loop does).
    """

    def __init__(self, in_shape: tuple[int, int, int], classes: int, timesteps: int,
                 widths: tuple[int, int, int] = (32, 48, 64), hidden: int = 256) -> None:
        super().__init__()
        c = in_shape[0]
        nn = torch.nn
        self.timesteps = timesteps
        self.conv1_analog = nn.Conv2d(c, widths[0], 3, padding=1, bias=False)
        self.bn1_analog = nn.BatchNorm2d(widths[0])
        self.conv1_spike = nn.Conv2d(c, widths[0], 3, padding=1, bias=False)
        self.bn1_spike = nn.BatchNorm2d(widths[0])
        add_lenet_tail(self, in_shape, widths, hidden, classes)
        self.leak = nn.Parameter(torch.full((4, timesteps), 0.5))   # lam_l[t], layers conv1..fc1
        self.gain = nn.Parameter(torch.full((4, timesteps), 0.5))   # g_l[t]
        self.step_weight = nn.Parameter(torch.ones(timesteps))      # readout w[t]

    def _neuron(self, layer: int, t: int, current: torch.Tensor,
                u: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        drive = self.gain[layer, t] * current
        u = drive if u is None else self.leak[layer, t] * u + drive
        s = _SigmoidSpike.apply(u)
        return s, u - THETA * s.detach()  # soft reset, reset path detached

    def forward(self, frames: list[torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            self.leak.clamp_(0.0, 1.0)
            self.gain.clamp_(-7.99, 7.99)
        state: list[torch.Tensor | None] = [None] * 4
        out = None
        for t, x in enumerate(frames):
            cur = self.bn1_analog(self.conv1_analog(x)) if t == 0 else self.bn1_spike(self.conv1_spike(x))
            s, state[0] = self._neuron(0, t, cur, state[0])
            s, state[1] = self._neuron(1, t, self.bn2(self.conv2(F.max_pool2d(s, 2))), state[1])
            s, state[2] = self._neuron(2, t, self.bn3(self.conv3(F.max_pool2d(s, 2))), state[2])
            s = F.max_pool2d(s, 2).flatten(1)
            s, state[3] = self._neuron(3, t, self.bn4(self.fc1(s)), state[3])
            y = self.step_weight[t] * self.readout(s)
            out = y if out is None else out + y
        return out / self.timesteps


@dataclass(frozen=True)
class TrainBenchConfig:
    """Sizes of the training benchmark (steps are optimiser steps of ``batch`` samples)."""

    timesteps: tuple[int, ...] = (4, 8)
    batch: int = 64
    warmup: int = 3
    repeats: int = 5
    steps_per_repeat: int = 3
    profile_steps: int = 2
    in_shape: tuple[int, int, int] = (3, 32, 32)
    classes: int = 10
    pool: int = 4  # distinct random batches cycled through


class _Runner:
    """One implementation at one T: model, Adam, a pool of pre-encoded random batches."""

    def __init__(self, kind: str, timesteps: int, cfg: TrainBenchConfig, seed: int = 0) -> None:
        self.kind = kind
        torch.manual_seed(seed)
        if kind == "ours":
            mcfg = ModelConfig("lenet", cfg.in_shape, cfg.classes, "asnn", "hybrid", timesteps)
            self.model = build_model(mcfg)
            with torch.no_grad():  # fixes the SLAYER neurons' shapes, as train.py does
                self.model.eval()
                self.model(torch.zeros(2, *cfg.in_shape, timesteps))
        else:
            self.model = PlainASNNLeNet(cfg.in_shape, cfg.classes, timesteps)
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=5e-3)
        gen = torch.Generator().manual_seed(seed + 1)
        self.batches = []
        for _ in range(cfg.pool):
            x = torch.rand((cfg.batch, *cfg.in_shape), generator=gen)
            frames = enc.encode(x, "hybrid", timesteps)  # (N, C, H, W, T)
            y = torch.randint(0, cfg.classes, (cfg.batch,), generator=gen)
            inp = frames if kind == "ours" else [frames[..., t].contiguous() for t in range(timesteps)]
            self.batches.append((inp, y))
        self.i = 0

    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def step(self, split: dict | None = None) -> None:
        """One optimiser step; with ``split`` add forward/backward/optimiser wall seconds to it."""
        inp, y = self.batches[self.i % len(self.batches)]
        self.i += 1
        t0 = time.perf_counter()
        loss = F.cross_entropy(self.model(inp), y)
        t1 = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        self.opt.step()
        if split is not None:
            t3 = time.perf_counter()
            split["forward"] += t1 - t0
            split["backward"] += t2 - t1
            split["optimizer"] += t3 - t2

    def timed(self, steps: int) -> tuple[float, float]:
        """(wall seconds, process CPU seconds of all threads) of ``steps`` optimiser steps."""
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - t0, time.process_time() - c0

    def instrumented_step(self) -> dict:
        """One step measuring peak RSS growth, bytes saved for backward and the fwd/bwd/Adam split."""
        split = {"forward": 0.0, "backward": 0.0, "optimizer": 0.0}
        with PeakRSS() as mem, saved_for_backward(list(self.model.parameters())) as saved:
            self.step(split)
        total = sum(split.values()) or 1.0
        return {"peak_rss_growth_mib": round(mem.growth_mib, 1), "memory_method": mem.method,
                "saved_for_backward_mib": round(saved["bytes"] / (1024 * 1024), 1),
                "time_split": {k: round(v / total, 3) for k, v in split.items()}}


def bench_training(cfg: TrainBenchConfig, profile: bool = True, log=print) -> dict:
    """Interleaved A/B training throughput, peak memory and a time breakdown per T."""
    keep_large_allocations()  # as asnn train does; applies to both implementations
    results: dict = {"batch": cfg.batch, "in_shape": list(cfg.in_shape), "warmup_steps": cfg.warmup,
                     "repeats": cfg.repeats, "steps_per_repeat": cfg.steps_per_repeat,
                     "torch_threads": torch.get_num_threads(), "optimizer": "Adam lr 5e-3",
                     "loss": "cross entropy",
                     "data": "uniform random images, hybrid-encoded once, outside timing",
                     "memory_method": "", "per_T": []}
    for steps in cfg.timesteps:
        runners = {k: _Runner(k, steps, cfg) for k in ("ours", "plain")}
        for r in runners.values():
            for _ in range(cfg.warmup):
                r.step()
        samples: dict[str, list[float]] = {k: [] for k in runners}
        per_cpu_s: dict[str, list[float]] = {k: [] for k in runners}
        n = cfg.batch * cfg.steps_per_repeat
        for _ in range(cfg.repeats):  # A B A B ...
            for k, r in runners.items():
                wall, cpu = r.timed(cfg.steps_per_repeat)
                samples[k].append(n / wall)
                per_cpu_s[k].append(n / cpu if cpu > 0 else float("nan"))
        row: dict = {"timesteps": steps}
        for k, r in runners.items():
            probe = r.instrumented_step()
            results["memory_method"] = probe.pop("memory_method")
            row[k] = {"samples_per_s": spread(samples[k]), "samples_per_cpu_s": spread(per_cpu_s[k]),
                      "parameters": r.parameters(), **probe}
            if profile:
                with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                    for _ in range(cfg.profile_steps):
                        r.step()
                row[k]["top_ops"] = top_ops(prof)
                row[k]["backward_nodes"] = backward_nodes(prof)
        row["ratio_ours_over_plain"] = row["ours"]["samples_per_s"]["median"] / \
            row["plain"]["samples_per_s"]["median"]
        row["ratio_cpu_time"] = row["ours"]["samples_per_cpu_s"]["median"] / \
            row["plain"]["samples_per_cpu_s"]["median"]
        row["load"] = load_avg()
        log(f"  training T={steps}: ours {row['ours']['samples_per_s']['median']:.1f} samples/s, "
            f"plain {row['plain']['samples_per_s']['median']:.1f} samples/s "
            f"(ratio {row['ratio_ours_over_plain']:.2f}, per CPU-second {row['ratio_cpu_time']:.2f}; "
            f"load {row['load'][0]:.1f})")
        results["per_T"].append(row)
        del runners
    return results
