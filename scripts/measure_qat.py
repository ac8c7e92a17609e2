"""What quantisation-aware fine-tuning buys: fixed-point accuracy of a trained model before QAT,
after QAT, and after the same extra epochs without QAT (control), at each weight width; and the
time of a QAT training step against a float one (in the training loop).

    python scripts/measure_qat.py BASE --workdir DIR --epochs 2 --bits 8 4

BASE must be a trained model in DIR (``asnn train --name BASE --workdir DIR``). Accuracies are the
integer executor's on the data set's whole test split (what ``asnn quantize --lava-samples 0``
reports). Writes DIR/BASE-qat-measure.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from dataclasses import asdict
from pathlib import Path

from asnn_neuro.data import Dataset, load_dataset
from asnn_neuro.deploy import qat
from asnn_neuro.evaluate.quantization import quantization_report
from asnn_neuro.training import TrainConfig, load_checkpoint, train


def fixed_accuracy(name: str, workdir: Path, bits: int) -> dict:
    r = quantization_report(name, workdir=workdir, samples=None, lava_samples=0, weight_bits=bits, progress=False)
    return {"float": r["float_accuracy"], "fixed": r["quantized_accuracy"], "samples": r["samples"]}


def control(base: str, workdir: Path, epochs: int, lr_scale: float) -> str:
    """The same fine-tune as ``qat_finetune`` (epochs, learning rate, start) without quantisation."""
    cfg = TrainConfig(**load_checkpoint(workdir / base / "checkpoint.pt")["train_config"])
    name = f"{base}-control"
    train(TrainConfig(**{**asdict(cfg), "name": name, "epochs": epochs, "lr": cfg.lr * lr_scale,
                         "workdir": str(workdir), "init_from": base}), show_progress=False)
    return name


def epoch_times(base: str, workdir: Path, bits: int, n_train: int = 1280, reps: int = 2) -> dict:
    """Seconds per training step in the real training loop: one-epoch fine-tunes of ``base`` on its
    first ``n_train`` training digits, float and QAT alternately, ``reps`` times each. A float
    epoch includes the BN recalibration pass that a QAT epoch skips."""
    tcfg = TrainConfig(**load_checkpoint(workdir / base / "checkpoint.pt")["train_config"])
    data = load_dataset(tcfg.dataset, seed=tcfg.seed)
    small = Dataset(name=data.name, train_x=data.train_x[:n_train], train_y=data.train_y[:n_train],
                    test_x=data.test_x[:64], test_y=data.test_y[:64], classes=data.classes)
    steps = -(-n_train // tcfg.batch_size)
    out: dict[str, list[float]] = {"float": [], "qat": []}
    for _ in range(reps):
        for kind in ("float", "qat"):
            cfg = TrainConfig(**{**asdict(tcfg), "name": f"{base}-timing-{kind}", "epochs": 1, "lr": tcfg.lr * 0.2,
                                 "workdir": str(workdir), "init_from": base, "qat_bits": bits if kind == "qat" else 0})
            prepare = (lambda m: qat.enable(m, bits)) if kind == "qat" else None
            r = train(cfg, show_progress=False, data=small, prepare=prepare)
            out[kind].append(r["history"][0]["seconds"] / steps)
    return {**out, "ratio_of_medians": statistics.median(out["qat"]) / statistics.median(out["float"]),
            "steps_per_epoch": steps, "batch": tcfg.batch_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("--workdir", default="netx_exports")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    ap.add_argument("--lr-scale", type=float, default=0.2)
    a = ap.parse_args()
    work = Path(a.workdir)
    result: dict = {"base": a.base, "epochs": a.epochs, "lr_scale": a.lr_scale, "bits": {}}
    result["step_seconds"] = epoch_times(a.base, work, a.bits[0])
    ctl = control(a.base, work, a.epochs, a.lr_scale)
    for bits in a.bits:
        start = f"{a.base}-b{bits}"
        if not (work / start).exists():
            shutil.copytree(work / a.base, work / start)
        tuned = qat.qat_finetune(start, a.epochs, workdir=work, weight_bits=bits, lr_scale=a.lr_scale, progress=False)
        history = json.loads((work / tuned / "train.json").read_text())["history"]
        result["bits"][bits] = {"before": fixed_accuracy(a.base, work, bits), "qat": fixed_accuracy(tuned, work, bits),
                                "control": fixed_accuracy(ctl, work, bits),
                                "qat_epoch_seconds": [h["seconds"] for h in history],
                                "qat_epoch_test_accuracy": [h["test_accuracy"] for h in history]}
    result["control_epoch_seconds"] = [h["seconds"] for h in
                                       json.loads((work / ctl / "train.json").read_text())["history"]]
    (work / f"{a.base}-qat-measure.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
