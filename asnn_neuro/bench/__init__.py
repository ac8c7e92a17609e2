"""``asnn bench``: training, chip-precision evaluation and encoding throughput.

``run_bench(smoke, simdir)`` writes ``SIMDIR/bench/bench.json`` and ``bench.md`` (atomically)
and prints the tables. Sections (see docs/benchmarks.md):

1. training samples/s of our SLAYER-block LeNet vs a plain per-step PyTorch loop (T = 4, 8);
2. Lava CPU simulator vs the bit-exact torch executor, samples/s, compile time, scaling;
3. images/s of every input encoding.

``run_vs("snntorch", smoke, simdir)`` (``asnn bench --vs snntorch``) writes
``SIMDIR/bench/vs_snntorch.json`` and ``.md``: our LeNet vs the same LeNet in snnTorch
(bench/vs_snntorch.py); ``run_vs("dense")`` (``--vs dense``) the executor's synaptic work as a
fraction of torch's dense conv/matmul on the same shapes (bench/executor_peak.py).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from asnn_neuro.bench.common import load_avg, machine_facts, torch_threads
from asnn_neuro.bench.encoding_bench import bench_encoding
from asnn_neuro.bench.evaluation import EvalBenchConfig, bench_evaluation
from asnn_neuro.bench.report import to_markdown
from asnn_neuro.bench.training import PlainASNNLeNet, TrainBenchConfig, bench_training
from asnn_neuro.util import atomic

__all__ = ["run_bench", "run_vs", "PlainASNNLeNet", "TrainBenchConfig", "EvalBenchConfig"]

SCHEMA = "asnn-bench/1"
TRAIN_RATIO_TARGET = 0.8     # ours >= 0.8 x the plain loop's samples/s
EXECUTOR_TARGET_S = 10.0     # 1000 mnist5k test samples through FixedExecutor
EXECUTOR_TARGET_SAMPLES = 1000


def _configs(smoke: bool) -> tuple[TrainBenchConfig, EvalBenchConfig, dict]:
    if smoke:
        return (TrainBenchConfig(timesteps=(4,), batch=8, warmup=1, repeats=2, steps_per_repeat=1,
                                 profile_steps=1, pool=2),
                EvalBenchConfig(sizes=(("small", (8, 12, 16), 64),), lava_samples=(3,), executor_samples=16,
                                train_steps=2, train_batch=16, profile_samples=8, executor_repeats=1),
                {"images": 256, "timesteps": 8, "repeats": 1})
    return (TrainBenchConfig(timesteps=(4, 8), batch=64, warmup=3, repeats=7, steps_per_repeat=2,
                             profile_steps=1),
            EvalBenchConfig(),
            {"images": 10_000, "timesteps": 8, "repeats": 3})


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _targets(training: dict, evaluation: dict, smoke: bool) -> dict:
    ratios = {str(r["timesteps"]): r["ratio_ours_over_plain"] for r in training["per_T"]}
    default = next((s for s in evaluation["sizes"] if s["size"] == "default"), evaluation["sizes"][-1])
    ex = default["executor"]
    full = not smoke and ex["samples"] >= EXECUTOR_TARGET_SAMPLES
    return {
        "training_ratio_target": TRAIN_RATIO_TARGET,
        "training_ratio": ratios,
        "training_pass": None if smoke else all(r >= TRAIN_RATIO_TARGET for r in ratios.values()),
        "executor_target_s": EXECUTOR_TARGET_S,
        "executor_size": default["size"],
        "executor_samples": ex["samples"],
        "executor_s": ex["seconds"],
        "executor_pass": (ex["seconds"] < EXECUTOR_TARGET_S) if full else None,
    }


def run_bench(smoke: bool = False, simdir: str | Path = "sims") -> dict:
    """Run all three benchmarks; write SIMDIR/bench/bench.json and bench.md; print the tables."""
    train_cfg, eval_cfg, enc_cfg = _configs(smoke)
    out_dir = Path(simdir) / "bench"
    t0 = time.perf_counter()
    with torch_threads(os.cpu_count() or 1):
        result: dict = {"schema": SCHEMA, "smoke": bool(smoke), "machine": machine_facts()}
        _log(f"bench ({'smoke' if smoke else 'full'}): training throughput")
        result["training"] = bench_training(train_cfg, profile=not smoke, log=_log)
        _log("bench: evaluation at chip precision (Lava vs executor)")
        result["evaluation"] = bench_evaluation(eval_cfg, profile=not smoke, log=_log)
        _log("bench: encoding throughput")
        result["encoding"] = bench_encoding(**enc_cfg, log=_log)
    result["targets"] = _targets(result["training"], result["evaluation"], smoke)
    result["machine"]["load_at_end"] = load_avg()
    result["total_s"] = time.perf_counter() - t0
    text = to_markdown(result)
    atomic.write_json(out_dir / "bench.json", result)
    atomic.write_text(out_dir / "bench.md", text)
    print(text)
    print(f"-> {out_dir}/bench.json, {out_dir}/bench.md")
    return result


def run_vs(other: str, smoke: bool = False, simdir: str | Path = "sims", batch: int | None = None,
           encodings: str | None = None, kinds: str | None = None, timesteps: str | None = None) -> dict:
    """``asnn bench --vs snntorch`` / ``dense`` / ``lava``: write SIMDIR/bench/vs_OTHER.json and .md; print it.
    ``batch``, ``encodings``, ``kinds``, ``timesteps`` (comma-separated): override the snntorch run's sizes."""
    out_dir = Path(simdir) / "bench"
    t0 = time.perf_counter()
    with torch_threads(os.cpu_count() or 1):
        result = {"schema": "asnn-bench-vs/1", "vs": other, "smoke": bool(smoke), "machine": machine_facts()}
        _log(f"bench --vs {other} ({'smoke' if smoke else 'full'})")
        if other == "dense":
            from asnn_neuro.bench import executor_peak as ep

            result.update(ep.bench_executor_peak(samples=16 if smoke else 200, repeats=1 if smoke else 3, log=_log))
            text = ep.to_markdown(result)
        elif other == "lava":
            from asnn_neuro.bench import lava_profile as lp

            result.update(lp.bench_lava_profile(lp.SMOKE if smoke else lp.LavaProfileConfig(), log=_log))
            text = lp.to_markdown(result)
        else:
            from asnn_neuro.bench import vs_snntorch as vs

            result.update(vs.bench_vs_snntorch(_vs_config(smoke, batch, encodings, kinds, timesteps), log=_log))
            text = vs.to_markdown(result)
    result["machine"]["load_at_end"] = load_avg()
    result["total_s"] = time.perf_counter() - t0
    atomic.write_json(out_dir / f"vs_{other}.json", result)
    atomic.write_text(out_dir / f"vs_{other}.md", text)
    print(text)
    print(f"-> {out_dir}/vs_{other}.json, {out_dir}/vs_{other}.md")
    return result


def _names(option: str, value: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    from asnn_neuro.errors import InputError

    names = tuple(e.strip() for e in value.split(",") if e.strip())
    if not names or any(e not in allowed for e in names):
        raise InputError(f"--{option} {value}: choose from {', '.join(allowed)}")
    return names


def _vs_config(smoke: bool, batch: int | None, encodings: str | None, kinds: str | None,
               timesteps: str | None = None):
    from asnn_neuro.bench import vs_snntorch as vs
    from asnn_neuro.errors import InputError

    cfg = vs.SMOKE if smoke else vs.VsConfig()
    if batch is not None:
        if batch < 1:
            raise InputError(f"--batch must be >= 1, got {batch}")
        cfg = dataclasses.replace(cfg, batch=batch)
    if encodings:
        cfg = dataclasses.replace(cfg, encodings=_names("encodings", encodings, vs.ENCODINGS))
    if kinds:
        cfg = dataclasses.replace(cfg, kinds=_names("kinds", kinds, vs.KINDS))
    if timesteps:
        try:
            steps = tuple(int(v) for v in timesteps.split(","))
        except ValueError:
            steps = ()
        if not steps or any(not 1 <= v <= 256 for v in steps):
            raise InputError(f"--timesteps {timesteps}: comma-separated integers in 1..256")
        cfg = dataclasses.replace(cfg, timesteps=steps)
    return cfg
