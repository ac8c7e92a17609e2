"""The Python API (``import asnn_neuro as an``, docs/python_api.md) against the real libraries.

- the worked example of docs/python_api.md runs as written (snnTorch -> NIR graph object ->
  executor and Lava -> energy -> report), in a fresh process;
- ``an.load`` takes an export name, a NetX file, a NIR file and a ``nir.NIRGraph``;
- a run's accuracy, outputs and counts are the library's own, and the chip run's the CLI's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nir_models import build, random_spikes

import asnn_neuro as an
from asnn_neuro.cli import main
from asnn_neuro.errors import InputError
from asnn_neuro.runs import RunRecord

nir = pytest.importorskip("nir")
ROOT = Path(__file__).resolve().parents[1]
T = 6


@pytest.mark.slow
def test_the_documented_example_runs(tmp_path):
    pytest.importorskip("snntorch")
    text = (ROOT / "docs" / "python_api.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(code) == 1
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code[0]], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    printed = re.findall(r"```text\n(fixed point agrees.*?)```", text, re.S)[0]
    assert out.stdout.splitlines() == printed.splitlines()  # the numbers the page shows
    assert (tmp_path / "sims" / "snn-demo-report" / "report.md").is_file()


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    pytest.importorskip("snntorch")
    tmp = tmp_path_factory.mktemp("api")
    built = build("snntorch", seed=4, timesteps=T)
    built.export(tmp / "s.nir")
    return tmp, built


def test_load_takes_every_kind_of_network(imported):
    tmp, built = imported
    work = str(tmp / "exp")
    graph = nir.read(str(tmp / "s.nir"))
    from_graph = an.load(graph, name="g", source="snntorch", timesteps=T, workdir=work)
    from_file = an.load(str(tmp / "s.nir"), source="snntorch", timesteps=T, workdir=work)
    assert from_graph.ref == "g" and from_file.ref == "s"
    assert from_graph.info["file"] == "<nir.NIRGraph>" and from_graph.chip and from_graph.float_graph
    by_name = an.load("s", workdir=work)
    by_file = an.load(str(tmp / "exp" / "s" / "network.net"), workdir=work)
    assert by_name.info["source"] == "snntorch" and by_file.info == {} and by_file.chip
    assert by_name.ir.layers[-1].neurons == by_file.ir.layers[-1].neurons == 10
    with pytest.raises(InputError, match="no export of that name"):
        an.load("nosuch", workdir=work)
    with pytest.raises(InputError, match="give name="):
        an.import_nir(graph, workdir=work)


def test_simulate_float_is_the_library_and_fixed_is_the_cli(imported):
    tmp, built = imported
    work, sims = str(tmp / "exp"), str(tmp / "sims")
    net = an.load(str(tmp / "s.nir"), source="snntorch", timesteps=T, workdir=work)
    x = random_spikes(6, T, seed=9)  # (N, T, C, H, W)
    theirs = built.forward(x)
    labels = theirs[-1].sum(1).argmax(1)
    labels[:2] = (labels[:2] + 1) % 10  # two wrong labels: accuracy 4/6
    run = net.simulate(x, labels, precision="float", simdir=sims)
    assert run.accuracy == pytest.approx(4 / 6)
    assert np.array_equal(run.scores, theirs[-1].sum(1))
    assert np.array_equal(run.outputs, theirs[-1].transpose(0, 2, 1))
    assert [int(run.counts[f"layer{i}_spikes"].sum()) for i in range(2)] == [int(t.sum()) for t in theirs]
    fixed = net.simulate(x.numpy().reshape(6, T, -1), simdir=sims, name="fixed")  # flat (N, T, neurons)
    np.save(tmp / "in.npy", x.numpy().astype(np.int64).transpose(0, 4, 3, 2, 1))
    assert main(["simulate", "s", "--backend", "executor", "--input", str(tmp / "in.npy"), "--samples", "6",
                 "--workdir", work, "--simdir", sims, "--name", "cli", "--quiet"]) == 0
    cli = json.loads((tmp / "sims" / "cli" / "summary.json").read_text())
    assert fixed.record.outputs == cli["outputs"] and fixed.record.layers == RunRecord.from_dict(cli).layers
    assert fixed.accuracy is None and isinstance(fixed.record, RunRecord)
    e = an.energy(fixed)
    assert e.joules_per_inference["loihi"] > 0 and (fixed.run_dir / "energy.json").is_file()
    assert an.energy(str(fixed.run_dir)).data["per_inference"] == e.data["per_inference"]
    assert an.fit(net)["cores"] >= 2
    rep = an.report([run, fixed, "cli"], name="rep", simdir=sims)
    assert [r["run"] for r in rep["runs"]] == [f"{net.ref}-executor-float", "fixed", "cli"]


def test_bad_input_is_one_clear_error(imported):
    tmp, _ = imported
    net = an.load(str(tmp / "s.nir"), source="snntorch", timesteps=T, workdir=str(tmp / "exp"))
    with pytest.raises(InputError, match=r"x: array of shape \(2, 6, 5\)"):
        net.simulate(np.zeros((2, T, 5)), simdir=str(tmp / "sims"))
    with pytest.raises(InputError, match="labels: 1 labels for 2 samples"):
        net.simulate(np.zeros((2, T, 64)), [0], simdir=str(tmp / "sims"))
    with pytest.raises(InputError, match="unknown backend"):
        net.simulate(np.zeros((2, T, 64)), backend="gpu", simdir=str(tmp / "sims"))


@pytest.mark.slow
def test_a_trained_export_runs_as_the_cli_runs_it(trained, tmp_path):
    from asnn_neuro.evaluate.inputs import dataset_frames, resolve_net
    from asnn_neuro.runs import read_run

    work, names = trained
    name = names[("direct", "cuba")]
    net = an.load(name, workdir=str(work))
    assert net.info["encoding"] == "direct" and net.chip and not net.float_graph
    run = net.simulate("mnist5k", samples=16, simdir=str(tmp_path))
    assert main(["simulate", name, "--backend", "executor", "--samples", "16", "--workdir", str(work),
                 "--simdir", str(tmp_path), "--name", "cli", "--quiet"]) == 0
    cli = read_run(tmp_path / "cli")
    assert run.record.outputs == cli.outputs and run.record.layers == cli.layers
    assert run.accuracy == cli.accuracy is not None and run.record.agreement == cli.agreement is not None
    _, graded, labels, _ = dataset_frames(resolve_net(name, str(work)), "mnist5k", 16)  # direct coding: analog
    frames = net.simulate(graded, labels, simdir=str(tmp_path), name="frames")
    assert frames.record.outputs == cli.outputs and frames.accuracy == cli.accuracy


def test_train_checks_its_options_before_training(tmp_path):
    with pytest.raises(InputError, match="unknown encoding 'morse'"):
        an.train("x", encoding="morse", workdir=str(tmp_path))


def test_simulate_streams_a_lava_dl_file_as_the_cli_does(tmp_path):
    """A lava-dl file loaded by path: ``simulate`` on arrays defaults to the file's stream mode
    (continuous, as lava-dl's loader), like ``asnn simulate``; ``stream=`` overrides it."""
    import h5py
    from lava_dl_reference import export_blocks, slayer_cuba_dense

    export_blocks(tmp_path / "d.net", slayer_cuba_dense([6, 4, 2], 0, delay=False))
    with h5py.File(tmp_path / "d.net", "a") as f:
        for key in f["layer"]:
            f["layer"][key].create_dataset("bias", data=np.full(int(np.prod(f["layer"][key]["shape"][()])), 25))
    net = an.load(str(tmp_path / "d.net"), workdir=str(tmp_path / "exp"))
    x = (np.random.default_rng(0).random((3, 6, 6)) < 0.5).astype(np.int64)  # (samples, steps, neurons)
    default = net.simulate(x, simdir=str(tmp_path / "sims"), name="a")
    reset = net.simulate(x, simdir=str(tmp_path / "sims"), name="b", stream="reset")
    assert default.record.stream == "continuous" and reset.record.stream == "reset"
    np.save(tmp_path / "x.npy", x.transpose(0, 2, 1))  # the CLI's layout: time last
    assert main(["simulate", str(tmp_path / "d.net"), "--backend", "executor", "--input", str(tmp_path / "x.npy"),
                 "--simdir", str(tmp_path / "sims"), "--name", "c", "--quiet"]) == 0
    cli = json.loads((tmp_path / "sims" / "c" / "summary.json").read_text())
    assert cli["outputs"] == default.scores.tolist() != reset.scores.tolist()
