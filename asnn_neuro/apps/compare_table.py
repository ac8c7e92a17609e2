"""The table of ``asnn compare``: every run in a JSON file, rows aggregated over seeds in Markdown.

``docs/paper_comparison.json`` holds one record per (row, seed) run (see ``compare.run_one``);
``docs/paper_comparison.md`` shows, per row, the mean and sample standard deviation over the
seeds that ran with the current settings. Text from ``KEEP_MARKER`` on is hand-written and
survives every rewrite.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from asnn_neuro.apps.compare_stats import render_paired
from asnn_neuro.errors import InputError
from asnn_neuro.util import atomic

if TYPE_CHECKING:
    from asnn_neuro.apps.compare_grid import Settings

KEEP_MARKER = "<!-- text below this line is kept when asnn compare rewrites the table -->"
_ENC_ORDER = ("direct", "rate", "temporal", "temporal-ref", "temporal-eq", "hybrid", "bitplane", "hybrid-bitplane")
_NEURON_ORDER = ("asnn", "lif", "cuba")
_VARIANT_ORDER = ("", "fixed-leak", "no-readout-scale", "per-step-bn", "reset-grad")


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


def load_runs(path: Path) -> list[dict]:
    """The stored run records ([] when the file does not exist); InputError if it is damaged."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable comparison file ({type(exc).__name__})") from None
    if isinstance(runs, dict) and isinstance(runs.get("runs"), list):
        runs = runs["runs"]
    if not isinstance(runs, list) or not all(isinstance(r, dict) and "row" in r and "seed" in r for r in runs):
        # an older table format (one record per row, no seeds): nothing in it can be resumed
        raise InputError(f"{path}: not an asnn compare run list (move it away to start a new table)")
    return runs


def _merge(old: list[dict], new: list[dict]) -> list[dict]:
    keys = {(r["row"], r["seed"]) for r in new}
    return [r for r in old if (r["row"], r["seed"]) not in keys] + list(new)


def _order(key: tuple) -> tuple:
    enc, neuron, steps, variant = key
    return (_ENC_ORDER.index(enc) if enc in _ENC_ORDER else 99, _NEURON_ORDER.index(neuron)
            if neuron in _NEURON_ORDER else 99, steps, _VARIANT_ORDER.index(variant)
            if variant in _VARIANT_ORDER else 99)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for one value)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return mean, std


def _pct(values: list[float]) -> str:
    if not values:
        return "-"
    m, s = mean_std([100 * v for v in values])
    return f"{m:.2f}" if math.isnan(s) else f"{m:.2f} ± {s:.2f}"


def _num(values: list[float], digits: int = 0) -> str:
    if not values:
        return "-"
    m, s = mean_std(values)
    return f"{m:.{digits}f}" if math.isnan(s) else f"{m:.{digits}f} ± {s:.{digits}f}"


def _row_line(runs: list[dict]) -> str:
    r0 = runs[0]
    deployed = [r for r in runs if r.get("deployed")]
    lava = [r for r in deployed if "lava_agreement" in r]
    moved = [100 * (max(r["last_epochs_test_accuracy"]) - min(r["last_epochs_test_accuracy"])) for r in runs]
    lava_text = "-" if not lava else \
        f"{_pct([r['lava_agreement'] for r in lava])} ({sum(r['lava_samples_run'] for r in lava) // len(lava)})"
    return (f"| {r0['encoding']} | {r0['neuron']} | {r0['timesteps']} | {r0['variant'] or '-'} | "
            f"{len(runs)} ({', '.join(str(r['seed']) for r in sorted(runs, key=lambda r: r['seed']))}) | "
            f"{_pct([r['float_accuracy'] for r in runs])} | {_pct([r['fixed_accuracy'] for r in deployed])} | "
            f"{_num([r['input_spikes'] for r in deployed])} | {_num([r['spikes'] for r in deployed])} | "
            f"{_num([r['loihi_uj'] for r in deployed], 1)} | {lava_text} | {max(moved):.1f} | "
            f"{_num([_wall(r) / 60 for r in runs], 1)} |")


def _wall(run: dict) -> float:
    """A run's wall seconds; at least its training seconds (runs resumed before the fix that counts
    the epochs trained before an interruption stored only the resumed part)."""
    return max(run["seconds"], run.get("train_seconds", 0.0))


def render(runs: list[dict], s: Settings) -> str:
    from asnn_neuro.apps.compare_grid import matches

    current = [r for r in runs if matches(r, s)]
    groups: dict[tuple, list[dict]] = {}
    for r in current:
        groups.setdefault((r["encoding"], r["neuron"], r["timesteps"], r["variant"]), []).append(r)
    total_h = sum(_wall(r) for r in current) / 3600
    subset = f" --train-subset {s.train_subset}" if s.train_subset else ""
    deploy = f" --deploy-samples {s.deploy_samples}" if s.deploy_samples else ""
    fixed_n = f"the first {s.deploy_samples} held-out samples" if s.deploy_samples else "every held-out sample"
    lines = [
        f"# The paper's comparison, reproduced on {s.dataset}",
        "",
        f"Produced by `asnn compare --dataset {s.dataset} --model {s.model} --epochs {s.epochs} "
        f"--seeds {s.seeds} --lava-samples {s.lava_samples}{subset}{deploy}"
        f"{f' --batch-size {s.batch_size}' if s.batch_size != 64 else ''}{f' --mixup {s.mixup:g}' if s.mixup else ''}"
        "` (resumable: the same command continues a "
        f"partial table); last updated {datetime.date.today().isoformat()}, {machine()}. "
        f"{len(current)} runs in {len(groups)} rows so far, {total_h:.1f} h of run wall time.",
        "",
        f"Each run: `asnn train` with the default recipe for {s.epochs} epochs (batch {s.batch_size}"
        f"{f', the first {s.train_subset} training images' if s.train_subset else ''}), "
        f"`asnn export`, the integer executor (fixed point) on {fixed_n} (fixed-point "
        "accuracy, input spikes, all spikes of all layers, Loihi energy per inference) "
        + (f"and the Lava CPU simulator (fixed point) on the first {s.lava_samples} held-out samples "
           "(agreement of its predictions with the float model). " if s.lava_samples else
           "and no Lava run (--lava-samples 0). ")
        + "Float accuracy is on every held-out sample. "
        "Cells: mean ± sample standard deviation "
        "over the seeds; 'moved' is the largest change of held-out accuracy over the last 3 epochs of "
        "any seed (points), the convergence check; wall time is per run.",
        "",
        "| encoding | neuron | T | variant | seeds | float acc. % | fixed-point acc. % | input spikes / inf. | "
        "spikes / inf. | Loihi µJ / inf. | Lava agreement % (n) | moved | wall min / run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(groups, key=_order):
        lines.append(_row_line(groups[key]))
    notes = [r for r in current if not r.get("deployed")]
    for r in notes:
        lines.append(f"\n{r['row']} seed {r['seed']}: not deployed ({r.get('deploy_note', '')})")
    lines += render_paired(current, _labels(s.dataset) if any("test_predictions" in r for r in current) else None)
    lines += _convergence(current)
    return "\n".join(lines) + "\n"


def _labels(dataset: str) -> list[int] | None:
    """The held-out labels of ``dataset`` (None when it cannot be read here)."""
    from asnn_neuro.data import load_dataset

    try:
        return load_dataset(dataset, seed=0).test_y.tolist()
    except InputError:
        return None


def _convergence(runs: list[dict]) -> list[str]:
    """Per-epoch held-out accuracy of every run that stored it (the convergence record)."""
    runs = [r for r in runs if r.get("epoch_test_accuracy")]
    if not runs:
        return []
    lines = ["", "### Held-out accuracy after every epoch (%)", "", "| row | seed | per epoch |", "|---|---|---|"]
    for r in sorted(runs, key=lambda r: (r["row"], r["seed"])):
        lines.append(f"| {r['row']} | {r['seed']} | {' '.join(f'{100 * a:.1f}' for a in r['epoch_test_accuracy'])} |")
    return lines


def write_table(out: Path, s: Settings, new: list[dict] | None = None) -> list[dict]:
    """Merge ``new`` records into ``out``'s JSON, rewrite ``out`` (keeping the notes); all runs."""
    out = Path(out)
    runs = _merge(load_runs(out.with_suffix(".json")), new or [])
    try:
        text = out.read_text() if out.is_file() else ""
    except OSError:
        text = ""
    i = text.find(KEEP_MARKER)
    kept = "" if i < 0 else text[i:]
    atomic.write_json(out.with_suffix(".json"), runs)
    atomic.write_text(out, render(runs, s) + ("\n" + kept if kept else ""))
    return runs
