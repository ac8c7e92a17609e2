"""Evaluation throughput at chip precision: Lava CPU simulator vs the bit-exact torch executor.

A 28x28 hybrid/asnn LeNet is briefly trained on mnist5k (so that its layers spike), lowered
to the IR, and the same integer input frames are run through ``run_lava`` and
``FixedExecutor``. Lava is run at several sample counts (one compile each) and for two
network sizes; the executor is also timed (and profiled) on 1000 test samples, in its
default batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro import encoding as enc
from asnn_neuro.backends import executor as fe
from asnn_neuro.bench.common import load_avg, top_ops, torch_threads
from asnn_neuro.deploy.lower import lower
from asnn_neuro.encoding.frames import as_numpy, integer_frames
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.models.lenet import LeNet


@dataclass(frozen=True)
class EvalBenchConfig:
    """Sizes of the evaluation benchmark."""

    timesteps: int = 4
    sizes: tuple[tuple[str, tuple[int, int, int], int], ...] = (
        ("small", (8, 12, 16), 64), ("default", (32, 48, 64), 256))
    lava_samples: tuple[int, ...] = (10, 20, 40)
    executor_samples: int = 1000
    train_steps: int = 40
    train_batch: int = 32
    profile_samples: int = 50
    single_thread_too: bool = True  # also time the executor with one torch thread
    executor_repeats: int = 2       # executor timings are the best of this many runs (Lava rows: one more)


def _brief_train(model: torch.nn.Module, data, cfg: ModelConfig, steps: int, batch: int) -> float:
    """Adam (lr 5e-3) for ``steps`` batches of mnist5k training images; returns seconds."""
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, len(data.train_x), (batch,), generator=gen)
        frames = enc.encode(data.train_x[idx], cfg.encoding, cfg.timesteps)
        loss = F.cross_entropy(model(frames), data.train_y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    return time.perf_counter() - t0


def _timed_exec(executor: fe.FixedExecutor, spikes, graded) -> tuple[fe.ExecResult, float]:
    t0 = time.perf_counter()
    res = executor.run(spikes, graded)
    return res, time.perf_counter() - t0


def _bench_size(label: str, widths: tuple[int, int, int], hidden: int, data, cfg: EvalBenchConfig,
                profile: bool, log) -> dict:
    mcfg = ModelConfig("lenet", data.shape, data.classes, "asnn", "hybrid", cfg.timesteps)
    torch.manual_seed(0)
    model = LeNet(mcfg, widths=widths, hidden=hidden)
    with torch.no_grad():
        model.eval()
        model(torch.zeros(2, *mcfg.in_shape, mcfg.timesteps))
    train_s = _brief_train(model, data, mcfg, cfg.train_steps, cfg.train_batch)
    net, _ = lower(model, mcfg)
    out: dict = {"size": label, "widths": list(widths), "hidden": hidden,
                 "neurons": int(sum(layer.neurons for layer in net.layers)),
                 "synapses": int(sum(np.asarray(p.weight).size for layer in net.layers for p in layer.paths
                                     if p.weight is not None)),
                 "train_steps": cfg.train_steps, "train_s": round(train_s, 2), "lava": []}
    n_exec = min(cfg.executor_samples, len(data.test_x))
    spikes, graded = integer_frames(data.test_x[:n_exec], mcfg.encoding, mcfg.timesteps)
    labels = data.test_y[:n_exec].numpy()

    # executor on many samples, in its default batches; best of `executor_repeats`, interleaved
    # with the same run on one torch thread (OpenMP threads are fragile on a shared machine)
    runs: dict[str, list[float]] = {"default": [], "one": []}
    for _ in range(cfg.executor_repeats):
        result, exec_s = _timed_exec(fe.FixedExecutor(net), spikes, graded)
        runs["default"].append(exec_s)
        if cfg.single_thread_too and torch.get_num_threads() > 1:
            with torch_threads(1):
                runs["one"].append(_timed_exec(fe.FixedExecutor(net), spikes, graded)[1])
    exec_s = min(runs["default"])
    out["executor"] = {"samples": n_exec, "seconds": exec_s, "samples_per_s": n_exec / exec_s,
                       "seconds_all": runs["default"], "torch_threads": torch.get_num_threads(),
                       "seconds_1_thread": min(runs["one"]) if runs["one"] else None,
                       "seconds_1_thread_all": runs["one"],
                       "accuracy": float(np.mean(result.predictions == labels)),
                       "spikes_per_sample": float(sum(sum(c.per_sample) for c in result.layers) / n_exec),
                       "load": load_avg()}
    one = f", 1 thread {min(runs['one']):.2f} s" if runs["one"] else ""
    log(f"  executor [{label}] {n_exec} samples: {exec_s:.2f} s (best of {cfg.executor_repeats}){one}")
    if profile:
        k = min(cfg.profile_samples, n_exec)
        s_k = None if spikes is None else spikes[:k]
        g_k = None if graded is None else graded[:k]
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            fe.FixedExecutor(net).run(s_k, g_k)
        out["executor_profile"] = {"samples": k, "top_ops": top_ops(prof, 10)}

    # Lava vs executor on the same samples, growing sample counts
    from asnn_neuro.backends.lava.runner import run_lava

    for n in cfg.lava_samples:
        n = min(n, n_exec)
        s_n = None if spikes is None else spikes[:n]
        g_n = None if graded is None else graded[:n]
        ex_times = []
        for _ in range(cfg.executor_repeats + 1):  # before Lava, whose workers may still be exiting
            ref, ex_s = _timed_exec(fe.FixedExecutor(net), s_n, g_n)
            ex_times.append(ex_s)
        ex_s = min(ex_times)
        res, timing = run_lava(net, as_numpy(s_n), as_numpy(g_n), progress=False)
        row = {"samples": n, "compile_s": timing.compile_s, "run_s": timing.run_s, "steps": timing.steps,
               "ms_per_step": 1000 * timing.run_s / max(1, timing.steps),
               "lava_samples_per_s": n / timing.run_s if timing.run_s > 0 else None,
               "executor_s": ex_s, "executor_samples_per_s": n / ex_s,
               "predictions_agree": bool(np.array_equal(res.predictions, ref.predictions)),
               "counts_agree": all(np.array_equal(a.per_neuron, b.per_neuron)
                                   for a, b in zip(res.layers, ref.layers)),
               "load": load_avg()}
        out["lava"].append(row)
        log(f"  lava [{label}] {n} samples: compile {timing.compile_s:.2f} s, run {timing.run_s:.2f} s "
            f"({row['lava_samples_per_s']:.2f} samples/s); executor {ex_s:.3f} s")
    if len(out["lava"]) >= 2:
        ns = np.array([r["samples"] for r in out["lava"]], dtype=float)
        ts = np.array([r["run_s"] for r in out["lava"]], dtype=float)
        slope, intercept = np.polyfit(ns, ts, 1)
        out["lava_fit"] = {"seconds_per_sample": float(slope), "fixed_seconds": float(intercept)}
    return out


def bench_evaluation(cfg: EvalBenchConfig, profile: bool = True, log=print) -> dict:
    """Lava vs executor for every network size in ``cfg``."""
    from asnn_neuro.data import load_dataset

    data = load_dataset("mnist5k")
    results = {"dataset": "mnist5k", "model": "lenet", "encoding": "hybrid", "neuron": "asnn",
               "timesteps": cfg.timesteps, "weight_bits": 8, "torch_threads": torch.get_num_threads(),
               "sizes": []}
    for label, widths, hidden in cfg.sizes:
        results["sizes"].append(_bench_size(label, widths, hidden, data, cfg, profile, log))
    return results
