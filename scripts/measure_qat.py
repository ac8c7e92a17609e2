"""What quantisation-aware fine-tuning buys: fixed-point accuracy of a trained model before QAT,
after QAT, and after the same extra epochs without QAT (control), at each weight width; and the
time of one QAT training step against one float step.

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
import time
from dataclasses import asdict
from pathlib import Path

import torch

from asnn_neuro.deploy import qat
from asnn_neuro.encoding import encode
from asnn_neuro.evaluate.quantization import quantization_report
from asnn_neuro.training import TrainConfig, load_checkpoint, load_model, train
from asnn_neuro.training.loop import BN_STREAM, generator


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


def step_times(base: str, workdir: Path, steps: int, bits: int) -> dict:
    """Median seconds of one training step (forward, backward, Adam), float and QAT, interleaved."""
    from asnn_neuro.data import load_dataset

    model, mcfg, _ = load_model(workdir / base / "checkpoint.pt")
    tcfg = TrainConfig(**load_checkpoint(workdir / base / "checkpoint.pt")["train_config"])
    data = load_dataset(tcfg.dataset, seed=tcfg.seed)
    gen = generator(tcfg.seed, BN_STREAM)
    qmodel, _, _ = load_model(workdir / base / "checkpoint.pt")
    qat.enable(qmodel, bits)
    times: dict[str, list[float]] = {"float": [], "qat": []}
    for i in range(steps + 1):
        idx = torch.randint(0, len(data.train_x), (tcfg.batch_size,), generator=gen)
        x = encode(data.train_x[idx], mcfg.encoding, mcfg.timesteps, generator=gen)
        y = data.train_y[idx]
        for key, m in (("float", model), ("qat", qmodel)):
            m.train()
            opt = torch.optim.Adam(m.parameters(), lr=1e-6)
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i:  # the first step of each warms up
                times[key].append(time.perf_counter() - t0)
    out = {k: statistics.median(v) for k, v in times.items()}
    out["ratio"] = out["qat"] / out["float"]
    out["steps"] = steps
    out["batch"] = tcfg.batch_size
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("--workdir", default="netx_exports")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    ap.add_argument("--lr-scale", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=10, help="training steps timed for each of float and QAT")
    a = ap.parse_args()
    work = Path(a.workdir)
    result: dict = {"base": a.base, "epochs": a.epochs, "lr_scale": a.lr_scale, "bits": {}}
    result["step_seconds"] = step_times(a.base, work, a.steps, a.bits[0])
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
