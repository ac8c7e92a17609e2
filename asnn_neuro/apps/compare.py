"""``asnn compare``: the paper's comparison, end to end, rows x seeds, resumable and parallel.

Each run (a row of ``compare_grid`` and a seed): ``asnn train`` with the default recipe, ``asnn
export`` (float and fixed-point accuracy on every held-out sample), the integer executor on every
held-out sample (input spikes, all spikes, Loihi energy per inference) and the Lava CPU simulator
on the first ``lava_samples`` (agreement with the float model). Every finished run is stored in
the table's JSON at once, so an interrupted comparison resumes where it stopped (a half-trained
run continues from its last epoch checkpoint); ``workers`` runs go in parallel as separate
processes, each pinned to its own share of the CPU cores.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from asnn_neuro.apps.compare_grid import SETTINGS_KEYS, Row, Settings, check_row, matches
from asnn_neuro.apps.compare_table import load_runs, write_table
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.util.cores import usable_cores
from asnn_neuro.util.lifetime import die_with_parent

CONVERGENCE_EPOCHS = 3  # each run stores its held-out accuracy over its last epochs (the table's 'moved')


def default_workers() -> int:
    """Parallel runs when cores allow: one per two usable cores (a LeNet run uses two well)."""
    return max(1, usable_cores() // 2)


def check_settings(s: Settings) -> None:
    """Raise InputError naming the first option that cannot work, before anything runs."""
    from asnn_neuro.data import load_dataset
    from asnn_neuro.models import MODELS

    if isinstance(s.train_subset, bool) or not isinstance(s.train_subset, int) or s.train_subset < 0:
        raise InputError(f"--train-subset must be an integer >= 0 (0 = all), got {s.train_subset!r}")
    for option, value in (("--epochs", s.epochs), ("--seeds", s.seeds), ("--workers", s.workers),
                          ("--batch-size", s.batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{option} must be an integer >= 1, got {value!r}")
    if isinstance(s.mixup, bool) or not isinstance(s.mixup, (int, float)) or not 0 <= s.mixup <= 1e3:
        raise InputError(f"--mixup must be a number in [0, 1000], got {s.mixup!r}")
    if isinstance(s.deploy_samples, bool) or not isinstance(s.deploy_samples, int) or s.deploy_samples < 0:
        raise InputError(f"--deploy-samples must be an integer >= 0 (0 = every held-out sample), "
                         f"got {s.deploy_samples!r}")
    if not isinstance(s.lava_samples, int) or s.lava_samples < 0:
        raise InputError(f"--lava-samples must be an integer >= 0, got {s.lava_samples!r}")
    if s.model not in MODELS:
        raise InputError(f"unknown model '{s.model}'; choose one of: {', '.join(MODELS)}")
    if not s.rows:
        raise InputError("no rows to run")
    for row in s.rows:
        check_row(row, f"row {row.key}")
    out = Path(s.out)
    if out.suffix != ".md":
        raise InputError(f"--out {s.out}: the table is a Markdown file (.md); its runs go next to it as .json")
    if out.exists() and not out.is_file():
        raise InputError(f"--out {s.out}: exists and is not a file")
    if out.parent.exists() and not out.parent.is_dir():
        raise InputError(f"--out {s.out}: {out.parent} is not a directory")
    for option, d in (("--workdir", s.workdir), ("--simdir", s.simdir)):
        if Path(d).exists() and not Path(d).is_dir():
            raise InputError(f"{option} {d}: exists and is not a directory")
    load_dataset(s.dataset, seed=0)  # a bad spec or unreadable files: one line, before any training
    runs_json = out.with_suffix(".json")
    if runs_json.exists():
        load_runs(runs_json)  # a damaged file is refused here, not overwritten


def pending(s: Settings) -> list[tuple[Row, int]]:
    """(row, seed) pairs not yet in the table's JSON with these settings: seed 0 of every row in grid
    order, then seed 1, ... (a partial table already has every row, paired on the same seeds)."""
    done = {(r["row"], r["seed"]) for r in load_runs(Path(s.out).with_suffix(".json")) if matches(r, s)}
    return [(row, seed) for seed in range(s.seeds) for row in s.rows if (row.key, seed) not in done]


def run_one(row: Row, seed: int, s: Settings) -> dict:
    """Train, export, run on the executor and on Lava one (row, seed); returns its record."""
    from asnn_neuro.deploy.export import export
    from asnn_neuro.energy import estimate
    from asnn_neuro.evaluate.quantization import export_and_report
    from asnn_neuro.evaluate.simulate import simulate
    from asnn_neuro.training import train
    from asnn_neuro.training.config import TrainConfig

    t0 = time.perf_counter()
    name = row.run_name(seed)
    cfg = TrainConfig(dataset=s.dataset, model=s.model, encoding=row.encoding, neuron=row.neuron,
                      timesteps=row.timesteps, epochs=s.epochs, seed=seed, name=name, batch_size=s.batch_size,
                      mixup=s.mixup, train_subset=s.train_subset, device=s.device, workdir=s.workdir,
                      **row.options)
    tr = None
    earlier = 0.0  # training seconds of the epochs an interrupted earlier call finished
    if (Path(s.workdir) / name / "checkpoint.pt").is_file():
        try:  # continue an interrupted run (its options must match, else it is trained afresh)
            earlier = _checkpoint_seconds(Path(s.workdir) / name / "checkpoint.pt")
            tr = train(cfg, resume=True, show_progress=s.progress)
        except InputError:
            tr, earlier = None, 0.0
    if tr is None:
        tr = train(cfg, show_progress=s.progress)
    t0 -= earlier  # a resumed run's wall time includes the epochs trained before the interruption
    history = [h["test_accuracy"] for h in tr["history"]]
    record = {
        "row": row.key, "encoding": row.encoding, "neuron": row.neuron, "timesteps": row.timesteps,
        "variant": row.variant, "seed": seed, **{k: getattr(s, k) for k in SETTINGS_KEYS},
        "float_accuracy": tr["test_accuracy"], "test_samples": tr["test_samples"],
        "last_epochs_test_accuracy": history[-CONVERGENCE_EPOCHS:], "epoch_test_accuracy": history,
        "train_seconds": sum(h["seconds"] for h in tr["history"]),
        "test_predictions": tr["test_predictions"],  # float model, one per held-out image (paired tests)
    }
    samples = min(s.deploy_samples or tr["test_samples"], tr["test_samples"])
    try:
        if s.deploy_samples:  # the executor's accuracy on the first deploy_samples images stands for it
            export(name, workdir=s.workdir)
        else:
            ex = export_and_report(name, workdir=s.workdir, progress=s.progress)
    except UnsupportedLayerError as exc:  # e.g. the Spikformer: float accuracy only
        record.update(deployed=False, deploy_note=str(exc), seconds=time.perf_counter() - t0)
        return record
    fixed = simulate(name, dataset=s.dataset, samples=samples, backend="executor", name=f"{name}-fixed",
                     workdir=s.workdir, simdir=s.simdir, progress=s.progress)
    energy = estimate(Path(fixed["run_dir"]))
    n = fixed["samples"]
    record.update(
        deployed=True, fixed_samples=n,
        fixed_accuracy=fixed["accuracy"] if s.deploy_samples else ex["accuracy"]["quantized_accuracy"],
        input_spikes=fixed["input"]["spikes"] / n, spikes=sum(layer["spikes"] for layer in fixed["layers"]) / n,
        loihi_uj=1e6 * energy["devices"]["loihi"]["joules_per_inference"],
    )
    if s.lava_samples:
        lava = simulate(name, dataset=s.dataset, samples=s.lava_samples, backend="lava", name=f"{name}-lava",
                        workdir=s.workdir, simdir=s.simdir, progress=s.progress)
        record.update(lava_samples_run=lava["samples"], lava_agreement=lava["agreement"],
                      lava_accuracy=lava["accuracy"])
    record["seconds"] = time.perf_counter() - t0
    return record


def _checkpoint_seconds(path: Path) -> float:
    """Training seconds of the epochs stored in a checkpoint (0 when it cannot be read)."""
    from asnn_neuro.training.checkpoint import load_checkpoint

    try:
        return float(sum(h["seconds"] for h in load_checkpoint(path)["history"]))
    except (InputError, KeyError, TypeError, ValueError):
        return 0.0


def run_comparison(s: Settings) -> list[dict]:
    """Run every pending (row, seed), in parallel when ``s.workers > 1``; rewrite the table after each."""
    check_settings(s)
    todo = pending(s)
    out = Path(s.out)
    if not todo:
        write_table(out, s)
        return []
    if s.workers == 1:
        records = []
        for row, seed in todo:
            records.append(run_one(row, seed, s))
            write_table(out, s, records[-1:])
        return records
    return _run_parallel(todo, s)


def _core_sets(workers: int) -> list[set[int]]:
    """Split this process's cores into ``workers`` disjoint sets (round robin)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < workers:
        return [set(cores)] * workers
    return [set(cores[i::workers]) for i in range(workers)]


def _run_parallel(todo: list[tuple[Row, int]], s: Settings) -> list[dict]:
    """One child process per run (``python -m asnn_neuro.apps.compare_worker``), ``s.workers`` at a time.

    The parent alone writes the table; a child writes its record to a file the parent reads. A
    child that fails is reported with its log and the others go on; the failure is raised at the end."""
    workers = min(s.workers, len(todo))
    cores = _core_sets(workers)
    free = list(range(workers))
    queue = list(todo)
    running: dict[subprocess.Popen, tuple[Row, int, int, Path, Path]] = {}
    records, failures = [], []
    tmp = Path(tempfile.mkdtemp(prefix="asnn-compare-"))
    child_settings = asdict(s) | {"workers": 1, "progress": False, "rows": []}
    try:
        while queue or running:
            while queue and free:
                row, seed = queue.pop(0)
                slot = free.pop(0)
                result, log = tmp / f"{row.run_name(seed)}.json", tmp / f"{row.run_name(seed)}.log"
                job = json.dumps({"row": asdict(row), "seed": seed, "settings": child_settings,
                                  "result": str(result)})
                env = dict(os.environ, OMP_NUM_THREADS=str(max(1, len(cores[slot]))))
                with open(log, "w") as fh:
                    proc = subprocess.Popen([sys.executable, "-m", "asnn_neuro.apps.compare_worker", job],
                                            stdout=fh, stderr=subprocess.STDOUT, env=env,
                                            preexec_fn=_pin(cores[slot]))
                running[proc] = (row, seed, slot, result, log)
                if s.progress:
                    print(f"compare: started {row.key} seed {seed} on cores {sorted(cores[slot])}", flush=True)
            time.sleep(0.5)
            for proc in [p for p in running if p.poll() is not None]:
                row, seed, slot, result, log = running.pop(proc)
                free.append(slot)
                if proc.returncode == 0 and result.is_file():
                    records.append(json.loads(result.read_text()))
                    write_table(Path(s.out), s, records[-1:])
                    if s.progress:
                        print(f"compare: finished {row.key} seed {seed} "
                              f"({records[-1]['seconds']:.0f} s)", flush=True)
                else:
                    tail = log.read_text()[-2000:] if log.is_file() else ""
                    failures.append(f"{row.key} seed {seed} (exit {proc.returncode}): {tail.strip()[-400:]}")
    finally:
        for proc in running:
            proc.terminate()
        for proc in running:
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)  # the children's records and logs (read above)
    if failures:
        raise RuntimeError("asnn compare: runs failed: " + " | ".join(failures))
    return records


def _pin(cores: set[int]):
    parent = os.getpid()

    def pin() -> None:  # in the child, before exec: it is stopped (SIGTERM) if this process dies
        die_with_parent(parent, signal.SIGTERM)
        if cores and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cores)
    return pin
