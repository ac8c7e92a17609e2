"""The CLI's contract on bad input, every subcommand: exit 2, one line on stderr naming the file
or option, no traceback (unless --debug), and nothing written. Plus: resumed training equals
uninterrupted training, and an interrupted ``asnn train`` leaves a loadable checkpoint.

Each case runs ``asnn_neuro.cli.main`` in-process with ``--workdir``/``--simdir`` inside
tmp_path; the whole tmp_path tree is compared before and after the call.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import torch
from tiny_nets import tiny_hybrid_net
from tiny_nir import conv_nir, delay_nir, mlp_nir, patch

from asnn_neuro import ir
from asnn_neuro.cli import main
from asnn_neuro.deploy.netx.write import write_network

# ------------------------------------------------------------------------------------- builders

def default_sigint() -> None:
    """In the child: SIGINT back to its default, so Python turns it into KeyboardInterrupt even when
    the test run itself was started with SIGINT ignored (e.g. as a background job of a script)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def write_net(e, name: str = "n.net", mutate=None) -> Path:
    path = e.tmp / name
    write_network(tiny_hybrid_net(), path)
    if mutate is not None:
        with h5py.File(path, "r+") as f:
            mutate(f)
    return path


def _replace(f: h5py.File, key: str, value) -> None:
    del f[key]
    f.create_dataset(key, data=value)


def _retype(f: h5py.File, key: str, text: str) -> None:
    del f[key]
    f.create_dataset(key, (1,), "S10", [text.encode()])


def _scaled_weight(value: float):
    def mutate(f):
        w = f["layer/1/weight"][()].astype(np.float64)
        w[0, 0, 0, 0] = value
        _replace(f, "layer/1/weight", w)
    return mutate


NET_MUTATIONS = {
    "no-layer-group": (lambda f: f.__delitem__("layer"), "no 'layer' group"),
    "unknown-layer-type": (lambda f: _retype(f, "layer/1/type", "lstm"), "lstm"),
    "unknown-neuron-type": (lambda f: _retype(f, "layer/1/neuron/type", "ADRF"), "ADRF"),
    "missing-weights": (lambda f: f["layer/1"].__delitem__("weight"), "weight"),
    "nan-weights": (_scaled_weight(np.nan), "NaN"),
    "inf-weights": (_scaled_weight(np.inf), "inf"),
    "shapes-do-not-chain": (lambda f: _replace(f, "layer/3/weight", np.ones((5, 7), np.int64)), "shape"),
}


def write_skip_net(e, name: str = "skip.net") -> Path:
    """A residual conv whose two inputs arrive after different delays (1 and 2 synapses)."""
    rng = np.random.default_rng(3)

    def conv(source, cin=2):
        return ir.Path(source=source, kind="conv", weight=rng.integers(-50, 50, (2, cin, 3, 3)) * 2,
                       kernel=(3, 3), padding=(1, 1))

    cuba = ir.CubaNeuron(4096, 400, 20)
    net = ir.Network(
        input=ir.InputSpec(shape=(1, 6, 6)),
        layers=[ir.Layer("c0", (2, 6, 6), cuba, [conv(ir.Stream.SPIKES, 1)]),
                ir.Layer("c1", (2, 6, 6), cuba, [conv(0)]),
                ir.Layer("c2", (2, 6, 6), cuba, [conv(1), conv(0)]),
                ir.Layer("d", (3,), cuba, [ir.Path(source=2, kind="dense",
                                                   weight=rng.integers(-50, 50, (3, 72)) * 2)])],
        timesteps=3, meta={"encoding": "rate"})
    write_network(net, e.tmp / name)
    return e.tmp / name


def write_input(e, name: str = "x.npy", shape=(2, 6, 6, 1, 3), graded: bool = False, fill=None) -> Path:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256 if graded else 2, shape).astype(np.float64)
    if fill is not None:
        x.reshape(-1)[0] = fill
    np.save(e.tmp / name, x)
    return e.tmp / name


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def idx_files(e, data: bytes) -> None:
    """An mnist:DIR folder whose four IDX files all hold ``data``."""
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        write_bytes(e.tmp / "mn" / name, data)


RANDOM = bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8))


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    """An (untrained) LeNet checkpoint for digits, hybrid coding, ASNN, T=2: what `asnn train` writes."""
    from asnn_neuro.models import build_model
    from asnn_neuro.models.config import ModelConfig
    from asnn_neuro.training.checkpoint import save_checkpoint
    from asnn_neuro.training.config import TrainConfig

    d = tmp_path_factory.mktemp("ckpt")
    cfg = TrainConfig(dataset="digits", encoding="hybrid", neuron="asnn", timesteps=2, epochs=1, name="m",
                      workdir=str(d))
    mcfg = ModelConfig(model="lenet", in_shape=(1, 8, 8), classes=10, neuron="asnn", encoding="hybrid",
                       timesteps=2)
    torch.manual_seed(0)
    model = build_model(mcfg)
    with torch.no_grad():
        model.eval()
        model(torch.zeros(2, 1, 8, 8, 2))
    save_checkpoint(cfg.out_dir / "checkpoint.pt", model, mcfg, cfg, None, 1, [])
    return (cfg.out_dir / "checkpoint.pt").read_bytes()


def write_checkpoint(e, name: str = "m", edit=None) -> Path:
    path = e.work / name / "checkpoint.pt"
    write_bytes(path, e.checkpoint)
    if edit is not None:
        state = torch.load(path, weights_only=False)
        edit(state)
        torch.save(state, path)
    return path


def _nan_first_weight(state):
    key = next(k for k in state["model"] if k.endswith("weight"))
    state["model"][key] = torch.full_like(state["model"][key], float("nan"))


def _drop_first_weight(state):
    del state["model"][next(k for k in state["model"] if k.endswith("weight"))]


@pytest.fixture(scope="module")
def run_template(tmp_path_factory) -> Path:
    """A finished run (simulate --backend executor --input) to break for energy/report cases."""
    d = tmp_path_factory.mktemp("run")
    e = SimpleNamespace(tmp=d)
    net, x = write_net(e), write_input(e)
    rc = main(["simulate", str(net), "--backend", "executor", "--input", str(x), "--name", "good",
               "--simdir", str(d / "sims"), "--workdir", str(d), "--quiet"])
    assert rc == 0
    return d / "sims" / "good"


def copy_run(e, name: str = "good", edit_summary=None) -> Path:
    run = e.sims / name
    shutil.copytree(e.run, run)
    if edit_summary is not None:
        summary = json.loads((run / "summary.json").read_text())
        result = edit_summary(summary)
        (run / "summary.json").write_text(json.dumps(summary if result is None else result))
    return run


def _truncated_net_in_summary(e):
    bad = write_bytes(e.tmp / "t.net", write_net(e, "full.net").read_bytes()[:700])

    def edit(summary):
        summary["network"] = str(bad)
    return copy_run(e, edit_summary=edit)


# ---------------------------------------------------------------------------------------- cases
@dataclass
class Case:
    id: str
    argv: str                      # formatted with {tmp}, {work}, {sims}; split on spaces
    setup: object = None           # setup(e) makes the bad input
    expect: tuple[str, ...] = ()   # substrings of the message (formatted like argv)


def net_cases(cmd: str, extra: str) -> list[Case]:
    """The bad network files, for a command that reads one (simulate, verify)."""
    cases = [
        Case(f"{cmd}-missing-file", f"{cmd} {{tmp}}/nope.net {extra}", None, ("{tmp}/nope.net",)),
        Case(f"{cmd}-not-exported", f"{cmd} half {extra}", lambda e: (e.work / "half").mkdir(),
             ("network.net", "not exported")),
        Case(f"{cmd}-empty-file", f"{cmd} {{tmp}}/e.net {extra}",
             lambda e: write_bytes(e.tmp / "e.net", b""), ("{tmp}/e.net", "empty")),
        Case(f"{cmd}-random-bytes", f"{cmd} {{tmp}}/r.net {extra}",
             lambda e: write_bytes(e.tmp / "r.net", RANDOM), ("{tmp}/r.net",)),
        Case(f"{cmd}-truncated-hdf5", f"{cmd} {{tmp}}/t.net {extra}",
             lambda e: write_bytes(e.tmp / "t.net", write_net(e, "full.net").read_bytes()[:1500]),
             ("{tmp}/t.net",)),
    ]
    for name, (mutate, words) in NET_MUTATIONS.items():
        cases.append(Case(f"{cmd}-{name}", f"{cmd} {{tmp}}/n.net {extra}",
                          lambda e, m=mutate: write_net(e, mutate=m), ("{tmp}/n.net", words)))
    return cases


SIM = "--backend executor --input {tmp}/x.npy"
SIMN = "simulate {tmp}/n.net " + SIM
IDX = "train-images-idx3-ubyte"
CKPT = "m/checkpoint.pt"
WCKPT = "{work}/m/checkpoint.pt"
SUMMARY = "{sims}/good/summary.json"


def _sim(e):
    write_net(e)
    write_input(e)


BOMB = (12000, 12000)  # 1.15 GB of float64 declared; a few kB on disk (gzip of the fill value, never written)


def bomb_dataset(f: h5py.File, key: str, shape=BOMB) -> None:
    """Replace dataset ``key`` by a gzip-compressed one declaring ``shape`` float64 (nothing is allocated)."""
    del f[key]
    f.create_dataset(key, shape=shape, dtype=np.float64, compression="gzip", chunks=tuple(min(s, 1000) for s in shape))


def nir_bomb(e, shape=BOMB) -> Path:
    path = mlp_nir(e.tmp / "bomb.nir")
    with h5py.File(path, "r+") as f:
        bomb_dataset(f, "node/nodes/fc/weight", shape)
    assert path.stat().st_size < 100_000
    return path


def write_dense_net(e, name: str = "n.net") -> Path:
    """One CUBA dense layer reading one input stream (1x6x6, T = 3): it takes graded input too."""
    rng = np.random.default_rng(4)
    net = ir.Network(input=ir.InputSpec(shape=(1, 6, 6)),
                     layers=[ir.Layer("d", (3,), ir.CubaNeuron(4096, 400, 20),
                                      [ir.Path(source=ir.Stream.SPIKES, kind="dense",
                                               weight=rng.integers(-50, 50, (3, 36)) * 2)])],
                     timesteps=3, meta={"encoding": "rate"})
    write_network(net, e.tmp / name)
    return e.tmp / name


def _input_values(*values, shape=(2, 6, 6, 1, 3)):
    """A spike input (0/1) of a one-stream net with its first values replaced."""
    def setup(e):
        write_dense_net(e)
        x = np.random.default_rng(0).integers(0, 2, shape).astype(np.float64)
        x.reshape(-1)[: len(values)] = values
        np.save(e.tmp / "x.npy", x)
    return setup


def _float_only_import(e):
    """work/f: an import whose chip path was refused (a 100-step delay; the chip's are <= 62)."""
    assert main(["import", str(delay_nir(e.tmp / "d.nir", 0.01)), "--name", "f", "--workdir", str(e.work),
                 "--quiet"]) == 0
    assert not (e.work / "f" / "network.net").exists()


def _trained_folder(e, name: str = "t1", marker: bool = False) -> None:
    write_bytes(e.work / name / "checkpoint.pt", e.checkpoint)
    write_bytes(e.work / name / "train.json", b"{}")
    if marker:
        write_bytes(e.work / name / ".asnn-kind", b"train\n")


FLOAT_ONLY = ("{work}/f", "float-only import: the chip path was refused because", "62")
LONG = "n" * 300


CASES: list[Case] = [
    # ---------------------------------------------------------------- train
    Case("train-unknown-dataset", "train --dataset nosuch", None, ("nosuch",)),
    Case("train-dataset-dir-missing", "train --dataset mnist:{tmp}/nodir", None, ("{tmp}/nodir",)),
    Case("train-dataset-empty-file", "train --dataset mnist:{tmp}/mn", lambda e: idx_files(e, b""), (IDX,)),
    Case("train-dataset-random-bytes", "train --dataset mnist:{tmp}/mn", lambda e: idx_files(e, RANDOM),
         (IDX,)),
    Case("train-unknown-encoding", "train --dataset digits --encoding nosuch", None, ("nosuch",)),
    Case("train-unknown-model", "train --dataset digits --model nosuch", None, ("nosuch",)),
    Case("train-unknown-neuron", "train --dataset digits --neuron nosuch", None, ("nosuch",)),
    Case("train-unknown-device", "train --dataset digits --device tpu", None, ("tpu",)),
    Case("train-bad-cuda-device", "train --dataset digits --device cuda:x", None, ("cuda:x",)),
    Case("train-timesteps-0", "train --dataset digits --timesteps 0", None, ("--timesteps",)),
    Case("train-timesteps-negative", "train --dataset digits --timesteps -3", None, ("--timesteps",)),
    Case("train-timesteps-absurd", "train --dataset digits --timesteps 100000", None, ("--timesteps",)),
    Case("train-timesteps-not-a-number", "train --timesteps four", None, ("--timesteps",)),
    Case("train-hybrid-needs-2-steps", "train --dataset digits --encoding hybrid --timesteps 1", None,
         ("--timesteps",)),
    Case("train-epochs-0", "train --dataset digits --epochs 0", None, ("--epochs",)),
    Case("train-batch-size-0", "train --dataset digits --batch-size 0", None, ("--batch-size",)),
    Case("train-lr-nan", "train --dataset digits --lr nan", None, ("--lr",)),
    Case("train-lr-negative", "train --dataset digits --lr -1", None, ("--lr",)),
    Case("train-seed-negative", "train --dataset digits --seed -1", None, ("--seed",)),
    Case("train-bad-name", "train --dataset digits --name ../escape", None, ("--name",)),
    Case("train-bad-model-option", "train --dataset digits --model-option widths", None, ("--model-option",)),
    Case("train-resume-without-checkpoint", "train --dataset digits --name m --resume", None,
         ("--resume", "checkpoint.pt")),
    Case("train-resume-empty-checkpoint", "train --dataset digits --name m --resume",
         lambda e: write_bytes(e.work / "m" / "checkpoint.pt", b""), (WCKPT,)),
    Case("train-resume-random-checkpoint", "train --dataset digits --name m --resume",
         lambda e: write_bytes(e.work / "m" / "checkpoint.pt", RANDOM), (WCKPT,)),
    Case("train-resume-other-options", "train --dataset digits --name m --epochs 3 --resume",
         lambda e: write_checkpoint(e), (WCKPT, "epochs")),
    Case("train-workdir-is-a-file", "train --dataset digits --workdir {tmp}/file",
         lambda e: write_bytes(e.tmp / "file", b"x"), ("--workdir",)),
    # ---------------------------------------------------------------- export
    Case("export-missing-model", "export nosuch", None, ("{work}/nosuch/checkpoint.pt",)),
    Case("export-empty-checkpoint", "export m", lambda e: write_bytes(e.work / CKPT, b""), (WCKPT,)),
    Case("export-random-checkpoint", "export m", lambda e: write_bytes(e.work / CKPT, RANDOM), (WCKPT,)),
    Case("export-truncated-checkpoint", "export m",
         lambda e: write_bytes(e.work / CKPT, e.checkpoint[: len(e.checkpoint) // 2]), (WCKPT,)),
    Case("export-foreign-checkpoint", "export m",
         lambda e: (e.work.joinpath("m").mkdir(), torch.save({"a": 1}, e.work / CKPT)), (WCKPT,)),
    Case("export-missing-weights", "export m --no-eval",
         lambda e: write_checkpoint(e, edit=_drop_first_weight), (WCKPT,)),
    Case("export-nan-weights", "export m --no-eval",
         lambda e: write_checkpoint(e, edit=_nan_first_weight), (WCKPT, "NaN")),
    Case("export-unknown-model", "export m --no-eval",
         lambda e: write_checkpoint(e, edit=lambda s: s["model_config"].update(model="nosuch")),
         (WCKPT, "nosuch")),
    Case("export-weight-bits-3", "export m --weight-bits 3", write_checkpoint, ("--weight-bits",)),
    Case("export-max-clip-2", "export m --max-clip 2", write_checkpoint, ("--max-clip",)),
    Case("export-max-clip-nan", "export m --max-clip nan", write_checkpoint, ("--max-clip",)),
    # ---------------------------------------------------------------- quantize
    Case("quantize-missing-model", "quantize nosuch", None, ("{work}/nosuch/checkpoint.pt",)),
    Case("quantize-random-checkpoint", "quantize m", lambda e: write_bytes(e.work / CKPT, RANDOM), (WCKPT,)),
    Case("quantize-nan-weights", "quantize m --lava-samples 0",
         lambda e: write_checkpoint(e, edit=_nan_first_weight), (WCKPT, "NaN")),
    Case("quantize-samples-0", "quantize m --samples 0", write_checkpoint, ("--samples",)),
    Case("quantize-lava-samples-negative", "quantize m --lava-samples -1", write_checkpoint,
         ("--lava-samples",)),
    Case("quantize-weight-bits-9", "quantize m --weight-bits 9", write_checkpoint, ("--weight-bits",)),
    # ---------------------------------------------------------------- simulate
    *net_cases("simulate", SIM),
    Case("simulate-skip-delays-differ", "simulate {tmp}/skip.net " + SIM,
         lambda e: (write_skip_net(e), write_input(e)), ("{tmp}/skip.net", "delays")),
    Case("simulate-dataset-shape-mismatch", "simulate {tmp}/n.net --backend executor --dataset digits",
         lambda e: write_net(e), ("digits", "{tmp}/n.net")),
    Case("simulate-unknown-dataset", "simulate {tmp}/n.net --backend executor --dataset nosuch",
         lambda e: write_net(e), ("nosuch",)),
    Case("simulate-unknown-backend", "simulate {tmp}/n.net --backend nosuch", _sim, ("backend", "nosuch")),
    Case("simulate-unknown-precision", f"{SIMN} --precision nosuch", _sim, ("precision",)),
    Case("simulate-unknown-encoding", f"{SIMN} --encoding nosuch", _sim, ("nosuch",)),
    Case("simulate-loihi-not-installed", "simulate {tmp}/n.net --backend loihi --input {tmp}/x.npy", _sim,
         ("loihi",)),
    Case("simulate-float-needs-checkpoint", f"{SIMN} --precision float", _sim, ("--precision",)),
    Case("simulate-timesteps-0", f"{SIMN} --timesteps 0", _sim, ("--timesteps",)),
    Case("simulate-timesteps-absurd", f"{SIMN} --timesteps 100000", _sim, ("--timesteps",)),
    Case("simulate-samples-0", f"{SIMN} --samples 0", _sim, ("--samples",)),
    Case("simulate-samples-negative", f"{SIMN} --samples -5", _sim, ("--samples",)),
    Case("simulate-samples-not-a-number", f"{SIMN} --samples many", _sim, ("--samples",)),
    Case("simulate-bad-run-name", f"{SIMN} --name ../escape", _sim, ("--name",)),
    Case("simulate-input-missing", "simulate {tmp}/n.net --backend executor --input {tmp}/nope.npy",
         lambda e: write_net(e), ("{tmp}/nope.npy",)),
    Case("simulate-input-empty", SIMN,
         lambda e: (write_net(e), write_bytes(e.tmp / "x.npy", b"")), ("{tmp}/x.npy",)),
    Case("simulate-input-random-bytes", SIMN,
         lambda e: (write_net(e), write_bytes(e.tmp / "x.npy", RANDOM)), ("{tmp}/x.npy",)),
    Case("simulate-input-nan", SIMN,
         lambda e: (write_net(e), write_input(e, fill=np.nan)), ("{tmp}/x.npy", "NaN")),
    Case("simulate-input-wrong-shape", SIMN,
         lambda e: (write_net(e), write_input(e, shape=(2, 7, 6, 1, 3))), ("{tmp}/x.npy", "shape")),
    Case("simulate-input-wrong-steps", SIMN,
         lambda e: (write_net(e), write_input(e, shape=(2, 6, 6, 1, 5))), ("{tmp}/x.npy", "time steps")),
    Case("simulate-graded-input-into-hybrid", SIMN,
         lambda e: (write_net(e), write_input(e, graded=True)), ("{tmp}/x.npy", "graded")),
    # ---------------------------------------------------------------- verify
    *net_cases("verify", "--samples 2"),
    Case("verify-dataset-shape-mismatch", "verify {tmp}/n.net --dataset digits", lambda e: write_net(e),
         ("digits", "{tmp}/n.net")),
    Case("verify-unknown-dataset", "verify {tmp}/n.net --dataset nosuch", write_net, ("nosuch",)),
    Case("verify-samples-0", "verify {tmp}/n.net --samples 0", lambda e: write_net(e), ("--samples",)),
    Case("verify-bad-run-name", "verify {tmp}/n.net --name ../escape", lambda e: write_net(e), ("--name",)),
    # ---------------------------------------------------------------- energy
    Case("energy-missing-run", "energy nosuch", None, ("nosuch",)),
    Case("energy-no-summary", "energy good", lambda e: (e.sims / "good").mkdir(), (SUMMARY,)),
    Case("energy-empty-summary", "energy good",
         lambda e: write_bytes(copy_run(e) / "summary.json", b""), (SUMMARY,)),
    Case("energy-random-summary", "energy good",
         lambda e: write_bytes(copy_run(e) / "summary.json", RANDOM), (SUMMARY,)),
    Case("energy-summary-not-an-object", "energy good",
         lambda e: copy_run(e, edit_summary=lambda s: [1, 2]), (SUMMARY,)),
    Case("energy-summary-nan-samples", "energy good",
         lambda e: copy_run(e, edit_summary=lambda s: s.update(samples=float("nan"))),
         (SUMMARY, "samples")),
    Case("energy-summary-absurd-timesteps", "energy good",
         lambda e: copy_run(e, edit_summary=lambda s: s.update(timesteps=1e300)),
         (SUMMARY, "timesteps")),
    Case("energy-summary-bad-input-counts", "energy good",
         lambda e: copy_run(e, edit_summary=lambda s: s["input"].update(spikes="many")),
         (SUMMARY, "spikes")),
    Case("energy-corrupt-counts", "energy good",
         lambda e: write_bytes(copy_run(e) / "counts.npz", RANDOM), ("{sims}/good/counts.npz",)),
    Case("energy-truncated-network", "energy good", _truncated_net_in_summary, ("{tmp}/t.net",)),
    Case("energy-profile-missing", "energy good --profile {tmp}/nope.json", lambda e: copy_run(e),
         ("{tmp}/nope.json",)),
    Case("energy-profile-empty", "energy good --profile {tmp}/p.json",
         lambda e: (copy_run(e), write_bytes(e.tmp / "p.json", b"")), ("{tmp}/p.json",)),
    Case("energy-profile-random-bytes", "energy good --profile {tmp}/p.json",
         lambda e: (copy_run(e), write_bytes(e.tmp / "p.json", RANDOM)), ("{tmp}/p.json",)),
    Case("energy-profile-nan-constant", "energy good --profile {tmp}/p.json",
         lambda e: (copy_run(e), write_bytes(e.tmp / "p.json", json.dumps({"devices": {"x": {
             "spiking": True, "source": "s", "constants": {"energy_per_synop": float("nan"),
                                                          "energy_per_neuron": 1, "energy_per_mac": 1}}}}
         ).encode())), ("{tmp}/p.json",)),
    # ---------------------------------------------------------------- report
    Case("report-missing-run", "report nosuch", None, ("nosuch",)),
    Case("report-one-bad-run-among-good", "report good bad",
         lambda e: (copy_run(e), write_bytes(copy_run(e, "bad") / "summary.json", b"{")),
         ("{sims}/bad/summary.json",)),
    Case("report-corrupt-energy", "report good",
         lambda e: write_bytes(copy_run(e) / "energy.json", b'{"devices": 3'), ("{sims}/good/energy.json",)),
    Case("report-run-twice", "report good {sims}/good", lambda e: copy_run(e), ("twice",)),
    Case("report-name-not-a-report", "report good --name other",
         lambda e: (copy_run(e), write_bytes(e.sims / "other" / "notes.txt", b"x")), ("{sims}/other",)),
    Case("report-bad-name", "report good --name ../escape", lambda e: copy_run(e), ("--name",)),
    # ---------------------------------------------------------------- demo, doctor, bench, compare, usage
    Case("demo-unknown-option", "demo --bogus", None, ("--bogus",)),
    Case("demo-workdir-is-a-file", "demo --fast --workdir {tmp}/file",
         lambda e: write_bytes(e.tmp / "file", b"x"), ("--workdir",)),
    Case("doctor-unknown-option", "doctor --bogus", None, ("--bogus",)),
    Case("bench-unknown-option", "bench --bogus", None, ("--bogus",)),
    Case("bench-simdir-is-a-file", "bench --smoke --simdir {tmp}/file",
         lambda e: write_bytes(e.tmp / "file", b"x"), ("--simdir",)),
    Case("compare-bad-only", "compare --only hybrid-asnn", None, ("--only",)),
    # ---------------------------------------------------------------- issue 21: named folders
    Case("import-over-a-trained-model", "import {tmp}/m.nir --name t1",
         lambda e: (_trained_folder(e), mlp_nir(e.tmp / "m.nir")), ("{work}/t1", "asnn train", "--force")),
    Case("import-over-a-marked-trained-model", "import {tmp}/m.nir --name t1",
         lambda e: (_trained_folder(e, marker=True), mlp_nir(e.tmp / "m.nir")), ("{work}/t1", "--force")),
    Case("import-name-is-a-plain-file", "import {tmp}/m.nir --name plain",
         lambda e: (write_bytes(e.work / "plain", b"x"), mlp_nir(e.tmp / "m.nir")), ("{work}/plain", "not a folder")),
    Case("import-name-is-a-plain-file-force", "import {tmp}/m.nir --name plain --force",
         lambda e: (write_bytes(e.work / "plain", b"x"), mlp_nir(e.tmp / "m.nir")), ("{work}/plain", "not a folder")),
    Case("import-name-300-chars", f"import {{tmp}}/m.nir --name {LONG}", lambda e: mlp_nir(e.tmp / "m.nir"),
         ("--name", "300 characters")),
    Case("simulate-name-300-chars", f"{SIMN} --name {LONG}", _sim, ("--name", "300 characters")),
    Case("simulate-over-a-report", f"{SIMN} --name rep",
         lambda e: (_sim(e), write_bytes(e.sims / "rep" / "report.json", b"{}")), ("{sims}/rep", "asnn report")),
    Case("simulate-over-a-foreign-folder", f"{SIMN} --name mine",
         lambda e: (_sim(e), write_bytes(e.sims / "mine" / "notes.txt", b"x")), ("{sims}/mine", "--force")),
    Case("report-over-a-run", "report good --name good2",
         lambda e: (copy_run(e), copy_run(e, "good2")), ("{sims}/good2", "asnn simulate")),
    Case("train-over-an-import", "train --dataset digits --name f", _float_only_import, ("{work}/f", "asnn import")),
    # ---------------------------------------------------------------- issue 21: size bombs
    Case("import-nir-size-bomb", "import {tmp}/bomb.nir --name b", nir_bomb,
         ("{tmp}/bomb.nir", "node/nodes/fc/weight", "12000x12000", "--max-weights")),
    Case("simulate-netx-size-bomb", SIMN,
         lambda e: (write_net(e, mutate=lambda f: bomb_dataset(f, "layer/1/weight")), write_input(e)),
         ("{tmp}/n.net", "layer/1/weight", "12000x12000")),
    Case("fit-netx-size-bomb", "fit {tmp}/n.net",
         lambda e: write_net(e, mutate=lambda f: bomb_dataset(f, "layer/1/weight")), ("{tmp}/n.net", "layer/1/weight")),
    Case("import-nir-over-a-lowered-budget", "import {tmp}/bomb.nir --name b --max-weights 1000",
         lambda e: nir_bomb(e, (40, 40)), ("{tmp}/bomb.nir", "node/nodes/fc/weight", "1,000")),
    # ---------------------------------------------------------------- issue 21: NIR geometry and values
    *[Case(f"import-{name}", "import {tmp}/g.nir --name g", setup, ("{tmp}/g.nir", *words)) for name, setup, words in (
        ("conv-dilation-0", lambda e: conv_nir(e.tmp / "g.nir", dilation=0), ("'conv'", "dilation")),
        ("conv-dilation-negative", lambda e: conv_nir(e.tmp / "g.nir", dilation=-1), ("'conv'", "dilation")),
        ("conv-stride-2-62", lambda e: conv_nir(e.tmp / "g.nir", stride=2 ** 62), ("'conv'", "stride")),
        ("conv-stride-0", lambda e: patch(conv_nir(e.tmp / "g.nir"), **{"conv/stride": [0, 0]}), ("'conv'", "stride")),
        ("pool-kernel-0", lambda e: conv_nir(e.tmp / "g.nir", pool_kernel=0, pool_stride=2), ("'pool'", "kernel")),
        ("pool-stride-0", lambda e: patch(conv_nir(e.tmp / "g.nir", pool_kernel=2), **{"pool/stride": [0, 0]}),
         ("'pool'", "stride")),
        ("delay-1e6-s", lambda e: delay_nir(e.tmp / "g.nir", 1e6), ("'d'", "Delay", "1024")),
        ("lif-tau-0", lambda e: mlp_nir(e.tmp / "g.nir", tau=0.0), ("'lif'", "'tau'", "> 0")),
    )],
    # ---------------------------------------------------------------- issue 21: input values
    Case("simulate-input-1e30", SIMN, _input_values(1e30), ("{tmp}/x.npy", "1e+30", "graded range")),
    Case("simulate-input-2-62", SIMN, _input_values(2.0 ** 62), ("{tmp}/x.npy", "graded range")),
    Case("simulate-input-2-32-plus-3", SIMN, _input_values(2.0 ** 32 + 3), ("{tmp}/x.npy", "graded range")),
    Case("simulate-input-fraction", SIMN, _input_values(0.5), ("{tmp}/x.npy", "0.5", "whole number")),
    Case("simulate-input-0-samples", SIMN, _input_values(shape=(0, 6, 6, 1, 3)), ("{tmp}/x.npy", "no samples")),
    Case("verify-input-2-32-plus-3", "verify {tmp}/n.net --input {tmp}/x.npy --samples 2",
         _input_values(2.0 ** 32 + 3), ("{tmp}/x.npy", "graded range")),
    # ---------------------------------------------------------------- issue 21: float-only imports
    Case("fit-float-only-import", "fit f", _float_only_import, FLOAT_ONLY),
    Case("verify-float-only-import", "verify f --samples 2", _float_only_import, FLOAT_ONLY),
    Case("export-nir-float-only-import", "export f --format nir", _float_only_import, FLOAT_ONLY),
    Case("export-float-only-import", "export f", _float_only_import, FLOAT_ONLY),
    Case("quantize-float-only-import", "quantize f", _float_only_import, FLOAT_ONLY),
    Case("compare-unknown-encoding", "compare --dataset digits --only nosuch:asnn:2", None, ("nosuch",)),
    Case("unknown-command", "frobnicate", None, ("frobnicate",)),
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() or p.is_dir()}


@dataclass
class Env:
    tmp: Path
    work: Path
    sims: Path
    run: Path
    checkpoint: bytes = field(repr=False)


@pytest.fixture
def env(tmp_path, monkeypatch, checkpoint_bytes, run_template):
    monkeypatch.chdir(tmp_path)  # a default path the CLI might fall back on stays inside tmp_path
    e = Env(tmp=tmp_path, work=tmp_path / "work", sims=tmp_path / "sims", run=run_template,
            checkpoint=checkpoint_bytes)
    e.work.mkdir()
    e.sims.mkdir()
    return e


def _argv(e, case: Case) -> list[str]:
    words = case.argv.format(tmp=e.tmp, work=e.work, sims=e.sims).split()
    common = ["--workdir", str(e.work), "--simdir", str(e.sims), "--quiet"]
    if words[0] == "frobnicate":
        return words
    return [words[0], *common, *words[1:]]  # the case's own --workdir/--simdir come later and win


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_one_line(env, case, capsys):
    if case.setup is not None:
        case.setup(env)
    before = snapshot(env.tmp)
    rc = main(_argv(env, case))
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, f"exit {rc}: {err}"
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("asnn: error: ")
    for word in case.expect:
        assert word.format(tmp=env.tmp, work=env.work, sims=env.sims) in lines[0], lines[0]
    assert snapshot(env.tmp) == before, "the failed command wrote or changed files"
    assert not [p for p in env.tmp.rglob("*") if p.name.endswith(".tmp")]


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no command" in err


def test_debug_shows_the_traceback(env, capsys):
    write_bytes(env.tmp / "e.net", b"")
    rc = main(["simulate", str(env.tmp / "e.net"), "--backend", "executor", "--debug",
               "--simdir", str(env.sims)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback (most recent call last)" in err and "InputError" in err
    assert err.strip().splitlines()[-1] == f"asnn: error: {env.tmp / 'e.net'}: empty file"


def test_good_input_still_works(env, capsys):
    """The cases above fail for their one defect: the same command on good input succeeds."""
    _sim(env)
    assert main(["simulate", str(env.tmp / "n.net"), *SIM.format(tmp=env.tmp).split(), "--name", "ok",
                 "--simdir", str(env.sims), "--quiet"]) == 0
    assert main(["energy", "ok", "--simdir", str(env.sims), "--quiet"]) == 0
    assert main(["report", "ok", "--simdir", str(env.sims), "--quiet"]) == 0
    assert (env.sims / "report" / "report.md").is_file()


# ------------------------------------------------------------------------------- training resume
def _digits_subset(n_train: int = 320, n_test: int = 100):
    from asnn_neuro.data import Dataset, load_dataset

    d = load_dataset("digits", seed=0)
    return Dataset(name=d.name, train_x=d.train_x[:n_train], train_y=d.train_y[:n_train],
                   test_x=d.test_x[:n_test], test_y=d.test_y[:n_test], classes=d.classes)


@pytest.mark.slow
def test_resumed_training_equals_uninterrupted(tmp_path, monkeypatch):
    """2 epochs in one go == 1 epoch, interrupted, then --resume to the end of the same 2-epoch run."""
    import asnn_neuro.training.loop as training
    from asnn_neuro.training.checkpoint import load_checkpoint
    from asnn_neuro.training.config import TrainConfig
    from asnn_neuro.training.loop import train

    data = _digits_subset()

    def cfg(workdir):
        return TrainConfig(dataset="digits", encoding="hybrid", neuron="asnn", timesteps=2, epochs=2,
                           name="r", workdir=str(workdir), batch_size=32, device="cpu")

    full = train(cfg(tmp_path / "full"), data=data, show_progress=False)

    real_save = training.save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C right after the first epoch's checkpoint

    monkeypatch.setattr(training, "save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cfg(tmp_path / "split"), data=data, show_progress=False)
    monkeypatch.undo()
    split_dir = tmp_path / "split" / "r"
    assert load_checkpoint(split_dir / "checkpoint.pt")["epoch"] == 1
    assert sorted(p.name for p in split_dir.iterdir()) == [".asnn-kind", "checkpoint.pt"]  # no train.json, no temp
    resumed = train(cfg(tmp_path / "split"), resume=True, data=data, show_progress=False)

    a = load_checkpoint(tmp_path / "full" / "r" / "checkpoint.pt")
    b = load_checkpoint(split_dir / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 2
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    written = [json.loads((tmp_path / d / "r" / "train.json").read_text()) for d in ("full", "split")]
    for result in (full, resumed, *written):
        assert len(result["history"]) == 2
    for key in ("train_accuracy", "test_accuracy"):
        assert full[key] == resumed[key] == written[0][key] == written[1][key]
    for h_full, h_resumed in zip(written[0]["history"], written[1]["history"]):
        for key in ("epoch", "loss", "train_accuracy", "test_accuracy", "samples"):
            assert h_full[key] == h_resumed[key], key


def test_resume_refuses_other_options(tmp_path, checkpoint_bytes):
    """--resume continues the same run; a different --epochs (another LR schedule) is refused."""
    from asnn_neuro.errors import InputError
    from asnn_neuro.training.config import TrainConfig
    from asnn_neuro.training.loop import train

    write_bytes(tmp_path / "m" / "checkpoint.pt", checkpoint_bytes)
    cfg = TrainConfig(dataset="digits", encoding="hybrid", neuron="asnn", timesteps=2, epochs=2, name="m",
                      workdir=str(tmp_path))
    with pytest.raises(InputError, match="epochs"):
        train(cfg, resume=True, data=_digits_subset(64, 10), show_progress=False)


@pytest.mark.slow
def test_interrupted_train_leaves_a_loadable_checkpoint(tmp_path):
    from asnn_neuro.training.checkpoint import load_checkpoint, load_model

    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "asnn_neuro", "train", "--dataset", "digits", "--encoding", "hybrid",
           "--timesteps", "2", "--epochs", "200", "--batch-size", "64", "--name", "int", "--device", "cpu",
           "--workdir", str(work), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=default_sigint,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ckpt = work / "int" / "checkpoint.pt"
    try:
        deadline = time.monotonic() + 300
        while not ckpt.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip().splitlines()[-1] == "asnn: interrupted"
    assert "Traceback" not in err.decode()
    state = load_checkpoint(ckpt)
    assert state["epoch"] >= 1 and len(state["history"]) == state["epoch"]
    model, mcfg, _ = load_model(ckpt)
    assert mcfg.timesteps == 2
    # no temp file, no train.json
    assert sorted(p.name for p in (work / "int").iterdir()) == [".asnn-kind", "checkpoint.pt"]
    assert (work / "int" / ".asnn-kind").read_text() == "train\n"  # marked as a trained model
