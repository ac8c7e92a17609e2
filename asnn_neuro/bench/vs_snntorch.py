"""``asnn bench --vs snntorch``: our LeNet next to the same LeNet written the snnTorch way.

For every neuron kind (cuba, lif, asnn), encoding class (analog ``direct``, spikes ``rate``,
``hybrid``: analog frame 0 then spikes; hybrid + cuba is not a model we build) and T, three
implementations train on the same random batches, in interleaved rounds (A B C A B C ...):

- ``ours``: ``build_model(ModelConfig("lenet", ...))``, SLAYER blocks, time as the last axis
  (cuba: lava-dl's own CUBA blocks on our fused CPU kernel, ``neurons.cuba_cpu``);
- ``snntorch``: the same layers (conv32-pool-conv48-pool-conv64-pool-fc256-readout, BN after
  every synapse, the same hybrid first layer) in snnTorch's idiomatic per-step form: one Python
  loop over time, ``snn.Synaptic`` (cuba: current and voltage state), ``snn.Leaky`` (lif) or
  ``snn.Leaky(learn_beta=True)`` (asnn: snnTorch has no per-step schedule neuron), atan surrogate,
  subtractive reset, readout summed over time;
- ``plain``: bench.training's per-step PyTorch loop of the paper's reference (asnn + hybrid only,
  the configuration it is written for).

Reported: median samples/s of ``repeats`` rounds (and their spread), the peak resident-memory
growth of the last warm-up step, the ratios ours/snnTorch and ours/plain, and the load average
at the end of every row (the machine may be shared: read the ratios with it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from asnn_neuro import encoding as enc
from asnn_neuro.bench.common import PeakRSS, load_avg, spread
from asnn_neuro.bench.training import PlainASNNLeNet, add_lenet_tail
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.registry import build_model
from asnn_neuro.neurons.cuba_cpu import fast_cuba
from asnn_neuro.util.cpu_memory import keep_large_allocations

KINDS = ("cuba", "lif", "asnn")
ENCODINGS = ("direct", "rate", "hybrid")
TARGET_VS_SNNTORCH = 1.5
TARGET_VS_PLAIN = 1.2


@dataclass(frozen=True)
class VsConfig:
    """Sizes of the comparison (steps are Adam steps of ``batch`` samples)."""

    kinds: tuple[str, ...] = KINDS
    encodings: tuple[str, ...] = ENCODINGS
    timesteps: tuple[int, ...] = (4, 8)
    batch: int = 64
    warmup: int = 1
    repeats: int = 2
    steps_per_repeat: int = 1
    in_shape: tuple[int, int, int] = (1, 28, 28)
    classes: int = 10
    pool: int = 2  # distinct random batches cycled through


SMOKE = VsConfig(timesteps=(4,), batch=4, warmup=1, repeats=1, steps_per_repeat=1, in_shape=(1, 8, 8))


class SnnTorchLeNet(torch.nn.Module):
    """Our LeNet's layers with snnTorch neurons, stepped through time the snnTorch way.

    Input: T contiguous (N, C, H, W) frames; output logits (N, classes), the readout summed over time.
    """

    def __init__(self, kind: str, hybrid: bool, in_shape: tuple[int, int, int], classes: int,
                 widths: tuple[int, int, int] = (32, 48, 64), hidden: int = 256) -> None:
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        nn = torch.nn
        c = in_shape[0]
        grad = surrogate.atan()

        def neuron():
            if kind == "cuba":
                return snn.Synaptic(alpha=0.0, beta=0.9, spike_grad=grad)  # our CUBA decays: current 1.0, voltage 0.1
            return snn.Leaky(beta=0.5, spike_grad=grad, learn_beta=kind == "asnn")

        self.hybrid = hybrid
        if hybrid:
            self.conv1_analog = nn.Conv2d(c, widths[0], 3, padding=1, bias=False)
            self.bn1_analog = nn.BatchNorm2d(widths[0])
        self.conv1 = nn.Conv2d(c, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        add_lenet_tail(self, in_shape, widths, hidden, classes)
        self.neurons = nn.ModuleList(neuron() for _ in range(4))

    def _initial(self) -> list[tuple]:
        return [n.init_synaptic() if hasattr(n, "init_synaptic") else (n.init_leaky(),) for n in self.neurons]

    def _step(self, i: int, current: torch.Tensor, state: list[tuple]) -> torch.Tensor:
        spk, *state[i] = self.neurons[i](current, *state[i])
        return spk

    def forward(self, frames: list[torch.Tensor]) -> torch.Tensor:
        state = self._initial()
        out = 0
        for t, x in enumerate(frames):
            cur = self.bn1_analog(self.conv1_analog(x)) if self.hybrid and t == 0 else self.bn1(self.conv1(x))
            s = F.max_pool2d(self._step(0, cur, state), 2)
            s = F.max_pool2d(self._step(1, self.bn2(self.conv2(s)), state), 2)
            s = F.max_pool2d(self._step(2, self.bn3(self.conv3(s)), state), 2)
            s = self._step(3, self.bn4(self.fc1(s.flatten(1))), state)
            out = out + self.readout(s)
        return out


class _Runner:
    """One implementation of one (kind, encoding, T): model, Adam, a pool of pre-encoded batches."""

    def __init__(self, impl: str, kind: str, encoding: str, timesteps: int, cfg: VsConfig, seed: int = 0) -> None:
        torch.manual_seed(seed)
        if impl == "ours":
            self.model = build_model(ModelConfig("lenet", cfg.in_shape, cfg.classes, kind, encoding, timesteps))
            with torch.no_grad(), fast_cuba():  # fixes the SLAYER neurons' shapes, as train does
                self.model.eval()
                self.model(torch.zeros(2, *cfg.in_shape, timesteps))
        elif impl == "snntorch":
            self.model = SnnTorchLeNet(kind, enc.is_hybrid(encoding), cfg.in_shape, cfg.classes)
        else:
            self.model = PlainASNNLeNet(cfg.in_shape, cfg.classes, timesteps)
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(seed + 1)
        self.batches = []
        for _ in range(cfg.pool):
            frames = enc.encode(torch.rand((cfg.batch, *cfg.in_shape), generator=gen), encoding, timesteps)
            y = torch.randint(0, cfg.classes, (cfg.batch,), generator=gen)
            inp = frames if impl == "ours" else [frames[..., t].contiguous() for t in range(timesteps)]
            self.batches.append((inp, y))
        self.i = 0

    def step(self) -> None:
        inp, y = self.batches[self.i % len(self.batches)]
        self.i += 1
        with fast_cuba():
            loss = F.cross_entropy(self.model(inp), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
        self.opt.step()

    def timed(self, steps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - t0

    def peak_mib(self) -> float:
        with PeakRSS() as mem:
            self.step()
        return round(mem.growth_mib, 1)


def _row(kind: str, encoding: str, steps: int, cfg: VsConfig) -> dict:
    impls = ["ours", "snntorch"] + (["plain"] if (kind, encoding) == ("asnn", "hybrid") else [])
    runners = {k: _Runner(k, kind, encoding, steps, cfg) for k in impls}
    peak = {}
    for k, r in runners.items():
        for _ in range(cfg.warmup - 1):
            r.step()
        peak[k] = r.peak_mib()  # the last warm-up step, measured
    rates: dict[str, list[float]] = {k: [] for k in runners}
    n = cfg.batch * cfg.steps_per_repeat
    for _ in range(cfg.repeats):
        for k, r in runners.items():
            rates[k].append(n / r.timed(cfg.steps_per_repeat))
    row: dict = {"kind": kind, "encoding": encoding, "timesteps": steps}
    for k in runners:
        row[k] = {"samples_per_s": spread(rates[k]), "peak_rss_growth_mib": peak[k]}
    median = {k: row[k]["samples_per_s"]["median"] for k in runners}
    row["ratio_vs_snntorch"] = median["ours"] / median["snntorch"]
    if "plain" in median:
        row["ratio_vs_plain"] = median["ours"] / median["plain"]
    row["load"] = load_avg()
    return row


def bench_vs_snntorch(cfg: VsConfig = VsConfig(), log=print) -> dict:
    """Rows of (kind, encoding, T) with samples/s, peak memory and ratios; see the module doc."""
    import snntorch

    keep_large_allocations()
    result: dict = {"snntorch": snntorch.__version__, "batch": cfg.batch, "in_shape": list(cfg.in_shape),
                    "warmup_steps": cfg.warmup, "repeats": cfg.repeats, "steps_per_repeat": cfg.steps_per_repeat,
                    "torch_threads": torch.get_num_threads(), "optimizer": "Adam lr 1e-3",
                    "data": "uniform random images, encoded once, outside timing",
                    "targets": {"vs_snntorch": TARGET_VS_SNNTORCH, "vs_plain": TARGET_VS_PLAIN}, "rows": []}
    for kind in cfg.kinds:
        for encoding in cfg.encodings:
            if kind == "cuba" and enc.is_hybrid(encoding):
                continue  # refused by models.method.check_encoding (not deployable)
            for steps in cfg.timesteps:
                row = _row(kind, encoding, steps, cfg)
                result["rows"].append(row)
                plain = f", plain {row['plain']['samples_per_s']['median']:.1f}" if "plain" in row else ""
                log(f"  {kind:4s} {encoding:6s} T={steps}: ours {row['ours']['samples_per_s']['median']:.1f}, "
                    f"snnTorch {row['snntorch']['samples_per_s']['median']:.1f}{plain} samples/s "
                    f"(x{row['ratio_vs_snntorch']:.2f}; load {row['load'][0]:.1f})")
    rows = result["rows"]
    result["all_vs_snntorch_met"] = all(r["ratio_vs_snntorch"] >= TARGET_VS_SNNTORCH for r in rows)
    plain = [r["ratio_vs_plain"] for r in rows if "ratio_vs_plain" in r]
    result["all_vs_plain_met"] = all(r >= TARGET_VS_PLAIN for r in plain) if plain else None  # None: no plain rows
    return result


def to_markdown(result: dict) -> str:
    """The comparison as a markdown table, load average beside every figure."""
    lines = [f"Training throughput, our LeNet vs snnTorch {result['snntorch']} (batch {result['batch']}, input "
             f"{'x'.join(map(str, result['in_shape']))}, {result['torch_threads']} torch threads, "
             f"{result['repeats']} interleaved rounds of {result['steps_per_repeat']} Adam steps; median samples/s "
             f"[min-max]; peak RSS growth of one step in MiB)", "",
             "| neuron | encoding | T | ours samples/s | snnTorch samples/s | plain loop samples/s | ours / snnTorch "
             "| ours / plain | peak MiB ours / snnTorch | load (1, 5, 15 min) |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def rate(r: dict | None) -> str:
        if r is None:
            return "-"
        s = r["samples_per_s"]
        return f"{s['median']:.1f} [{s['min']:.1f}-{s['max']:.1f}]"

    for row in result["rows"]:
        vs_plain = f"{row['ratio_vs_plain']:.2f}" if "ratio_vs_plain" in row else "-"
        load = ", ".join(f"{v:.2f}" for v in row["load"])
        lines.append(f"| {row['kind']} | {row['encoding']} | {row['timesteps']} | {rate(row['ours'])} | "
                     f"{rate(row['snntorch'])} | {rate(row.get('plain'))} | {row['ratio_vs_snntorch']:.2f} | "
                     f"{vs_plain} | {row['ours']['peak_rss_growth_mib']} / {row['snntorch']['peak_rss_growth_mib']}"
                     f" | {load} |")
    lines.append("")
    plain = {True: "met", False: "NOT met", None: "no plain-loop row in this run"}[result["all_vs_plain_met"]]
    lines.append(f"Target ours/snnTorch >= {result['targets']['vs_snntorch']} in every row: "
                 f"{'met' if result['all_vs_snntorch_met'] else 'NOT met'}; ours/plain >= "
                 f"{result['targets']['vs_plain']}: {plain}.")
    return "\n".join(lines) + "\n"
