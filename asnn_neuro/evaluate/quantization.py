"""Quantisation report: what fixed point costs, stage by stage, on the same samples.

float SLAYER (the trained PyTorch model) -> quantised SLAYER (the bit-exact fixed-point
executor) -> Lava fixed point (the CPU simulator, on the first ``lava_samples``).
Writes ``netx_exports/NAME/quantization.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.deploy.export import DEFAULT_MAX_CLIP, build_network, export
from asnn_neuro.encoding.frames import as_numpy
from asnn_neuro.errors import InputError
from asnn_neuro.evaluate.inputs import ResolvedNet, dataset_frames
from asnn_neuro.evaluate.reference import reference_predictions
from asnn_neuro.util import atomic


def check_sample_counts(samples: int | None, lava_samples: int) -> None:
    if samples is not None and samples < 1:
        raise InputError(f"--samples must be >= 1 (or left out for all), got {samples}")
    if lava_samples < 0:
        raise InputError(f"--lava-samples must be >= 0, got {lava_samples}")


def quantization_report(name: str, *, workdir: str | Path = "netx_exports", samples: int | None = None,
                        lava_samples: int = 0, weight_bits: int = 8, max_clip: float = DEFAULT_MAX_CLIP,
                        progress: bool = True, prepared=None) -> dict:
    """Float vs fixed-point (executor, optionally Lava) accuracy of ``name`` lowered with
    ``weight_bits`` and ``max_clip``; written to quantization.json."""
    check_sample_counts(samples, lava_samples)
    net, report, _, mcfg, state = prepared or build_network(name, workdir, weight_bits, max_clip)
    d = Path(workdir) / name
    rnet = ResolvedNet(label=name, path=(d / "network.net").resolve(), net=net, checkpoint=d / "checkpoint.pt")
    dataset = state["train_config"]["dataset"]
    spikes, graded, labels, _ = dataset_frames(rnet, dataset, samples or 10**9)
    ref = reference_predictions(rnet, spikes, graded)
    fixed = FixedExecutor(net).run(spikes, graded).predictions
    out = {
        "dataset": dataset, "samples": int(len(labels)), "weight_bits": net.meta.get("weight_bits", weight_bits),
        "float_accuracy": float(np.mean(ref == labels)),
        "quantized_accuracy": float(np.mean(fixed == labels)),
        "quantized_agreement": float(np.mean(fixed == ref)),
        "accuracy_drop_points": 100 * float(np.mean(ref == labels) - np.mean(fixed == labels)),
        "lava_samples": 0, "lava_accuracy": None, "lava_agreement_with_quantized": None,
        "float_accuracy_on_lava_samples": None,
        "layers": [{k: v for k, v in r.items()} for r in report],
    }
    if lava_samples > 0:
        from asnn_neuro.backends.lava.runner import run_lava

        k = min(lava_samples, len(labels))
        s = None if spikes is None else spikes[:k]
        g = None if graded is None else graded[:k]
        res, _ = run_lava(net, as_numpy(s), as_numpy(g), progress=progress)
        out.update({
            "lava_samples": k, "lava_accuracy": float(np.mean(res.predictions == labels[:k])),
            "lava_agreement_with_quantized": float(np.mean(res.predictions == fixed[:k])),
            "float_accuracy_on_lava_samples": float(np.mean(ref[:k] == labels[:k])),
            "quantized_accuracy_on_lava_samples": float(np.mean(fixed[:k] == labels[:k])),
        })
    atomic.write_json(d / "quantization.json", out)
    return out


def export_and_report(name: str, *, workdir: str | Path = "netx_exports", weight_bits: int = 8,
                      max_clip: float = DEFAULT_MAX_CLIP, progress: bool = True) -> dict:
    """``asnn export NAME``: write the network, then measure what fixed point costs on the test set
    (export.json's content, with the quantisation report under ``accuracy``)."""
    built = build_network(name, workdir, weight_bits, max_clip)
    info = export(name, workdir=workdir, weight_bits=weight_bits, max_clip=max_clip, built=built)
    info["accuracy"] = quantization_report(name, workdir=workdir, lava_samples=0, progress=progress, prepared=built)
    return info
