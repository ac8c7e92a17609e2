"""Export stage: checkpoint -> (BN folded, quantised) IR -> NetX HDF5 + reports.

``asnn export NAME`` writes ``netx_exports/NAME/network.net`` and ``export.json``; the CLI
then runs the quantisation report (``evaluate.quantization``: accuracy of the float model vs
the fixed-point network on the test set), which writes ``quantization.json``.
Everything is written atomically; a refused layer leaves nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip.neurons import registry
from asnn_neuro.deploy.lower import lower
from asnn_neuro.deploy.netx.write import write_network
from asnn_neuro.deploy.quantize import DEFAULT_MAX_CLIP, check_bits
from asnn_neuro.errors import InputError
from asnn_neuro.training import load_checkpoint, load_model
from asnn_neuro.util import atomic


def export_dir(name: str, workdir: str | Path = "netx_exports") -> Path:
    d = Path(workdir) / name
    if not (d / "checkpoint.pt").is_file():
        raise InputError(f"{d / 'checkpoint.pt'}: no trained model named '{name}' (run asnn train --name {name})")
    return d


def describe(net: ir.Network) -> list[dict]:
    depths = net.depth()
    out = []
    for layer, depth in zip(net.layers, depths):
        n = layer.neuron
        out.append({
            "name": layer.name, "type": layer.type, "shape": list(layer.shape), "neurons": layer.neurons,
            "neuron": registry.of(n).name_of(n),
            "depth": depth,
            "paths": [{"source": ir.source_code(p.source), "kind": p.kind, "graded": p.graded,
                       "weight_exponent": p.grid.exponent, "weight_bits": p.grid.bits} for p in layer.paths],
        })
    return out


Built = tuple  # (IR network, quantisation report, model, ModelConfig, checkpoint state)


def build_network(name: str, workdir: str | Path = "netx_exports", weight_bits: int = 8,
                  max_clip: float = DEFAULT_MAX_CLIP) -> Built:
    """(IR network, quantisation report, model, ModelConfig, checkpoint state) of an export name."""
    check_bits(weight_bits)
    if not isinstance(max_clip, (int, float)) or not 0 <= max_clip < 1:  # NaN fails both comparisons
        raise InputError(f"--max-clip must be a fraction in [0, 1), got {max_clip!r}")
    d = export_dir(name, workdir)
    model, mcfg, calibration = load_model(d / "checkpoint.pt")
    state = load_checkpoint(d / "checkpoint.pt")
    try:
        net, report = lower(model, mcfg, weight_bits=weight_bits, max_clip=max_clip)
    except InputError as exc:  # NaN weights, a layer the chip cannot hold: name the checkpoint
        raise type(exc)(f"{d / 'checkpoint.pt'}: {exc}") from None
    try:
        tcfg = state["train_config"]
        net.meta.update({"name": name, "dataset": str(tcfg["dataset"]), "seed": int(tcfg["seed"]),
                         "weight_bits": weight_bits})
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{d / 'checkpoint.pt'}: malformed training options "
                         f"({type(exc).__name__}: {exc})") from None
    if calibration is not None:
        net.meta["calibration"] = json.dumps(calibration.to_dict())
    return net, report, model, mcfg, state


def export(name: str, workdir: str | Path = "netx_exports", weight_bits: int = 8,
           max_clip: float = DEFAULT_MAX_CLIP, built: Built | None = None) -> dict:
    """Write ``network.net`` and ``export.json`` of model ``name``; returns export.json's content.
    ``built``: the result of ``build_network`` for the same arguments, when the caller has it."""
    net, report, model, mcfg, state = built or build_network(name, workdir, weight_bits, max_clip)
    d = Path(workdir) / name
    write_network(net, d / "network.net")
    info = {
        "name": name, "network": "network.net", "model": mcfg.model, "encoding": mcfg.encoding,
        "neuron": mcfg.neuron, "timesteps": mcfg.timesteps, "weight_bits": weight_bits,
        "input_shape": list(net.input.shape), "latency_steps": max(net.depth()),
        "neurons": sum(layer.neurons for layer in net.layers),
        "synapses": int(sum(np.asarray(p.weight).size for layer in net.layers for p in layer.paths
                            if p.weight is not None)),
        "layers": describe(net), "quantization": report,
    }
    atomic.write_json(d / "export.json", info)
    return info
