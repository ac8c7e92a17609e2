"""``asnn compare``: the paper's comparison on an embedded data set, end to end.

{temporal, hybrid} x {lif, asnn} x T in {2, 4, 8}, plus direct coding with stock CUBA
neurons, each trained with the default recipe, exported, run on the bit-exact SLAYER
fixed-point path (all test samples) and on the Lava CPU simulator (``lava_samples``),
with spikes per inference. Writes a Markdown table (with date and machine) and JSON.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from pathlib import Path

from asnn_neuro.evaluate.quantization import export_and_report
from asnn_neuro.evaluate.simulate import simulate
from asnn_neuro.training import train
from asnn_neuro.training.config import TrainConfig
from asnn_neuro.util import atomic

GRID = [(enc, neuron, t) for enc in ("temporal", "hybrid") for neuron in ("lif", "asnn") for t in (2, 4, 8)]
BASELINES = [("direct", "cuba", 4), ("direct", "cuba", 8)]


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def run_comparison(epochs: int = 15, lava_samples: int = 100, dataset: str = "mnist5k", seed: int = 0,
                   workdir: str = "netx_exports", simdir: str = "sims", out: str = "docs/paper_comparison.md",
                   configs: list[tuple[str, str, int]] | None = None, progress: bool = True) -> list[dict]:
    rows = []
    for enc, neuron, steps in configs or (GRID + BASELINES):
        name = f"cmp-{enc}-{neuron}-t{steps}"
        t0 = time.perf_counter()
        tr = train(TrainConfig(dataset=dataset, encoding=enc, neuron=neuron, timesteps=steps, epochs=epochs,
                               seed=seed, name=name, workdir=workdir), show_progress=progress)
        ex = export_and_report(name, workdir=workdir, progress=progress)
        fixed = simulate(name, dataset=dataset, samples=10**6, backend="executor", name=f"{name}-fixed",
                         workdir=workdir, simdir=simdir, progress=progress)
        lava = simulate(name, dataset=dataset, samples=lava_samples, backend="lava", name=f"{name}-lava",
                        workdir=workdir, simdir=simdir, progress=progress)
        spikes = sum(layer["spikes"] for layer in fixed["layers"]) / fixed["samples"]
        rows.append({
            "encoding": enc, "neuron": neuron, "timesteps": steps, "epochs": epochs,
            "slayer_accuracy": tr["test_accuracy"], "fixed_accuracy": ex["accuracy"]["quantized_accuracy"],
            "test_samples": fixed["samples"], "lava_samples": lava["samples"], "lava_accuracy": lava["accuracy"],
            "lava_agreement": lava["agreement"], "lava_slayer_accuracy": lava["reference_accuracy"],
            "spikes_per_inference": spikes, "seconds": time.perf_counter() - t0,
        })
        write_table(rows, out, dataset, epochs, lava_samples)
    return rows


def merged(rows: list[dict], out: str) -> list[dict]:
    """This run's rows over those already in ``out``'s JSON (so ``--only`` reruns update a table)."""
    path = Path(out).with_suffix(".json")
    try:
        old = json.loads(path.read_text()) if path.is_file() else []
    except (OSError, json.JSONDecodeError):
        old = []
    key = ("encoding", "neuron", "timesteps")
    new = {tuple(r[k] for k in key): r for r in rows}
    kept = [r for r in old if isinstance(r, dict) and tuple(r.get(k) for k in key) not in new]
    order = {cfg: i for i, cfg in enumerate(GRID + BASELINES)}
    return sorted(kept + rows, key=lambda r: order.get(tuple(r[k] for k in key), len(order)))


KEEP_MARKER = "<!-- text below this line is kept when asnn compare rewrites the table -->"


def kept_text(out: str) -> str:
    """The hand-written part of an existing table file: from KEEP_MARKER on ('' if none)."""
    try:
        text = Path(out).read_text()
    except OSError:
        return ""
    i = text.find(KEEP_MARKER)
    return "" if i < 0 else text[i:]


def write_table(rows: list[dict], out: str, dataset: str, epochs: int, lava_samples: int) -> None:
    rows = merged(rows, out)
    kept = kept_text(out)
    lines = [
        "# The paper's comparison, reproduced on " + dataset,
        "",
        f"Produced by `asnn compare --epochs {epochs} --lava-samples {lava_samples}` (rows may come from "
        f"several `--only` runs) last updated {datetime.date.today().isoformat()}, {machine()}.",
        "",
        f"Each row: `asnn train` with the default recipe for {epochs} epochs (seed 0), `asnn export`, "
        "the bit-exact fixed-point SLAYER path on all held-out test samples, and the Lava CPU "
        f"simulator (fixed point) on the first {lava_samples} of them. Spikes per inference are all "
        "spikes of all layers (fixed-point run, all test samples).",
        "",
        "| encoding | neuron | T | epochs | SLAYER acc. | fixed-point acc. | Lava acc. (n) | "
        "Lava vs SLAYER agreement | spikes / inference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['encoding']} | {r['neuron']} | {r['timesteps']} | {r['epochs']} | "
            f"{100 * r['slayer_accuracy']:.1f}% | "
            f"{100 * r['fixed_accuracy']:.1f}% | {100 * r['lava_accuracy']:.1f}% ({r['lava_samples']}) | "
            f"{100 * r['lava_agreement']:.1f}% | {r['spikes_per_inference']:.0f} |")
    text = "\n".join(lines) + "\n"
    atomic.write_text(out, text + ("\n" + kept if kept else ""))
    atomic.write_json(Path(out).with_suffix(".json"), rows)
