"""The run folder (docs/run_format.md): one RunRecord written by one function for every run.

- a float run of an imported NIR graph writes what every run writes (summary.json with
  ``outputs``, counts.npz, outputs.npz), and its synops are the library's spikes times the
  structural fan-out, so energy has something to count (issue 26, defect 6);
- RunRecord reads and writes summary.json key for key, unknown keys kept;
- energy and report read a run through the run-record module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from nir_models import build, random_spikes

from asnn_neuro.cli import main
from asnn_neuro.energy import estimate
from asnn_neuro.errors import InputError
from asnn_neuro.runs import RunRecord, find_run, read_counts, read_outputs, read_run

nir = pytest.importorskip("nir")
T = 6


def _lava_input(x: torch.Tensor, path) -> None:
    """(N, T, C, H, W) -> the .npy layout of --input: (N, x, y, z, T)."""
    np.save(path, x.numpy().astype(np.int64).transpose(0, 4, 3, 2, 1))


@pytest.fixture(scope="module")
def float_run(tmp_path_factory):
    pytest.importorskip("snntorch")
    tmp = tmp_path_factory.mktemp("float_run")
    built = build("snntorch", seed=1, timesteps=T)
    built.export(tmp / "s.nir")
    work, sims = str(tmp / "exp"), str(tmp / "sims")
    assert main(["import", str(tmp / "s.nir"), "--name", "s", "--source", "snntorch", "--workdir", work,
                 "--timesteps", str(T)]) == 0
    x = random_spikes(5, T, seed=2)
    _lava_input(x, tmp / "in.npy")
    assert main(["simulate", "s", "--backend", "executor", "--precision", "float", "--input", str(tmp / "in.npy"),
                 "--samples", "5", "--workdir", work, "--simdir", sims, "--name", "f", "--quiet"]) == 0
    return tmp / "sims" / "f", built, x


def test_float_run_writes_outputs_and_counts(float_run):
    run, built, x = float_run
    theirs = built.forward(x)  # per neuron layer (N, T, neurons)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outputs"] == theirs[-1].sum(1).tolist()  # spike counts of the output layer
    assert summary["output"] == {"layer": summary["layers"][-1]["name"], "neurons": 10, "values": "spike_counts"}
    out = read_outputs(run)
    assert out.shape == (5, 10, T)  # (samples, x, T)
    np.testing.assert_array_equal(out.transpose(0, 2, 1), theirs[-1])
    counts = read_counts(run)
    for i, spikes in enumerate(theirs):
        np.testing.assert_array_equal(counts[f"layer{i}_spikes"], spikes.sum((0, 1)))
        np.testing.assert_array_equal(counts[f"layer{i}_per_step"], spikes.sum((0, 2)))
        assert summary["layers"][i]["spikes"] == int(spikes.sum())
        assert summary["layers"][i]["per_step_spikes"] == spikes.sum((0, 2)).tolist()


def test_float_run_synops_are_spikes_times_fanout(float_run):
    run, built, x = float_run
    theirs = built.forward(x)
    layers = json.loads((run / "summary.json").read_text())["layers"]
    # input (1, 8, 8) -> conv 3x3, stride 2, padding 1, 4 channels -> (4, 4, 4): each pixel reaches
    # 4 channels x the output positions whose window holds it (rows/columns: 1 or 2 windows)
    per_axis = np.array([1, 2, 1, 2, 1, 2, 1, 1])  # input 7 is in the last window only
    fan = 4 * np.outer(per_axis, per_axis).reshape(-1)
    assert layers[0]["synops"] == int((x.sum((0, 1)).reshape(-1).numpy() * fan).sum())
    assert layers[1]["synops"] == int(theirs[0].sum()) * 10  # dense: every hidden spike reaches 10 outputs
    assert layers[0]["graded_macs"] == layers[1]["graded_macs"] == 0


def test_energy_counts_a_float_run(float_run):
    run, _, _ = float_run
    result = estimate(run)
    summary = read_run(run)
    assert result["per_inference"]["synops"] == sum(lay.synops for lay in summary.layers) / 5
    assert result["devices"]["loihi"]["joules_per_inference"] > 0
    assert main(["energy", str(run)]) == 0  # the command that had nothing to count
    assert json.loads((run / "energy.json").read_text())["per_inference"] == result["per_inference"]


def test_record_round_trips_summary_json(float_run):
    run, _, _ = float_run
    data = json.loads((run / "summary.json").read_text())
    data["neurobench"] = {"footprint": 12}  # a key another stage added
    data["layers"][0]["firing_note"] = "kept"
    record = RunRecord.from_dict(data)
    assert record.source == "snntorch" and record.precision == "float" and record.samples == 5
    assert record.to_dict() == data


def test_record_reads_old_and_fixed_runs():
    old = {"net": "n", "backend": "slayer", "precision": "fixed", "dataset": "mnist5k", "samples": 3,
           "timesteps": 4, "accuracy": 1.0, "layers": [{"name": "a", "type": "dense", "neurons": 2, "spikes": 5,
                                                        "synops": 10}]}
    record = RunRecord.from_dict(old)
    assert record.layers[0].synops == 10 and record.outputs is None and record.input is None
    assert record.to_dict()["layers"] == old["layers"]
    with pytest.raises(InputError, match="samples"):
        RunRecord.from_dict({**old, "samples": float("nan")}, where="x/summary.json")


def test_find_run(tmp_path, float_run):
    run, _, _ = float_run
    assert find_run(str(run)) == run
    assert find_run("f", run.parent) == run.parent / "f"
    with pytest.raises(InputError, match="no run of that name"):
        find_run("nope", tmp_path)


@pytest.mark.parametrize("kind", ["recurrent", "delay"])
def test_float_synops_through_recurrent_edges_and_delays(kind, tmp_path):
    from test_nir_import import _recurrent_or_delayed

    from asnn_neuro.backends.float_executor import FloatExecutor
    from asnn_neuro.deploy.nir.read import read_nir
    from asnn_neuro.evaluate.float_activity import float_layers

    x, (r1, r2) = _recurrent_or_delayed(kind, tmp_path)  # input 5 -> lif1 6 (-> rec -> lif1) -> lif2 3
    res = FloatExecutor(read_nir(tmp_path / "g.nir", source="nir")).run(torch.from_numpy(x))
    lif1, lif2 = float_layers(read_nir(tmp_path / "g.nir", source="nir"), res)
    recurrent = int(r1.sum()) * 6 if kind == "recurrent" else 0  # each lif1 spike reaches all 6 through rec
    assert lif1.synops == int((x != 0).sum()) * 6 + recurrent
    assert lif2.synops == int(r1.sum()) * 3 and (lif1.spikes, lif2.spikes) == (int(r1.sum()), int(r2.sum()))
