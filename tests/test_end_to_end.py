"""Real runs: trained tiny models -> NetX -> Lava CPU simulator, bit-exact against SLAYER's fixed point."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.cli import main
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.evaluate.inputs import dataset_frames, resolve_net

pytestmark = pytest.mark.slow


def _lava(net, spikes, graded, record):
    from asnn_neuro.backends.lava.runner import run_lava
    from asnn_neuro.encoding.frames import as_numpy

    return run_lava(net, as_numpy(spikes), as_numpy(graded), record=record, progress=False)[0]


@pytest.mark.parametrize("kind", [("hybrid", "asnn"), ("direct", "cuba")])
def test_lava_run_is_bit_exact_with_fixed_point_slayer(trained, kind):
    work, names = trained
    rnet = resolve_net(names[kind], work)
    spikes, graded, labels, _ = dataset_frames(rnet, "mnist5k", 6)
    ref = FixedExecutor(rnet.net).run(spikes, graded, record=6)
    lava = _lava(rnet.net, spikes, graded, record=6)
    for layer, a, b in zip(rnet.net.layers, ref.traces, lava.traces):
        assert np.array_equal(a, b), layer.name
    assert sum(c.per_neuron.sum() for c in lava.layers) > 0  # the network is not silent
    assert np.array_equal(ref.predictions, lava.predictions)


def test_changing_one_gain_in_the_file_changes_lava_output_from_that_step(trained, tmp_path):
    work, names = trained
    src = work / names[("hybrid", "asnn")] / "network.net"
    rnet = resolve_net(str(src))
    spikes, graded, _, _ = dataset_frames(rnet, "mnist5k", 4)
    base = _lava(rnet.net, spikes, graded, record=4).traces
    for t in (1, 2):
        changed = tmp_path / f"g{t}.net"
        changed.write_bytes(src.read_bytes())
        with h5py.File(changed, "r+") as f:
            conv1 = next(f["layer"][k] for k in f["layer"] if "name" in f["layer"][k]
                         and f["layer"][k]["name"][()] == b"conv1")
            gain = conv1["neuron/gain"][()]
            gain[t] = gain[t] * 3
            conv1["neuron/gain"][...] = gain
        net = read_network(changed)
        net.meta = rnet.net.meta
        out = _lava(net, spikes, graded, record=4).traces[0]  # conv1 spikes (samples, T, neurons)
        differs = np.flatnonzero((out != base[0]).any(axis=(0, 2)))
        assert differs.size and differs[0] == t, f"g[{t}] changed steps {differs.tolist()}"
        if t == 2:  # the last step: nothing before it and nothing else changes
            assert differs.tolist() == [2]


def test_verify_pins_a_perturbed_weight(trained, tmp_path, capsys):
    work, names = trained
    name = names[("direct", "cuba")]
    sims = tmp_path / "sims"
    args = ["--workdir", str(work), "--simdir", str(sims), "--quiet"]
    assert main(["verify", name, "--samples", "5", "--name", "clean", *args]) == 0
    clean = json.loads((sims / "clean" / "verify.json").read_text())
    assert clean["bit_exact_fraction"] == 1.0 and clean["first_divergence"] is None
    net_file = work / name / "network.net"
    backup = net_file.read_bytes()
    try:
        with h5py.File(net_file, "r+") as f:
            conv2 = next(f["layer"][k] for k in f["layer"] if "name" in f["layer"][k]
                         and f["layer"][k]["name"][()] == b"conv2")
            w = conv2["weight"][()]
            w[7, :, 1, 1] = 254  # out channel 7 now fires on any input
            conv2["weight"][...] = w
        assert main(["verify", name, "--samples", "5", "--name", "perturbed", *args]) == 0
    finally:
        net_file.write_bytes(backup)
    bad = json.loads((sims / "perturbed" / "verify.json").read_text())
    fd = bad["first_divergence"]
    assert bad["bit_exact_fraction"] < 1.0
    assert fd["layer"] == "conv2" and fd["neuron_coords"][0] == 7 and fd["sample"] == 0
    assert "first divergence      sample 0, layer 'conv2'" in capsys.readouterr().out


def test_cli_simulate_energy_report_chain(trained, tmp_path):
    work, names = trained
    sims = tmp_path / "sims"
    common = ["--workdir", str(work), "--simdir", str(sims), "--quiet"]
    name = names[("hybrid", "asnn")]
    assert main(["simulate", name, "--samples", "8", "--name", "lava", *common]) == 0
    assert main(["simulate", name, "--samples", "8", "--backend", "executor", "--name", "fixed", *common]) == 0
    lava = json.loads((sims / "lava" / "summary.json").read_text())
    fixed = json.loads((sims / "fixed" / "summary.json").read_text())
    for key in ("net", "backend", "precision", "dataset", "samples", "timesteps", "accuracy",
                "reference_accuracy", "agreement", "wall_s", "steps_per_s", "samples_per_s", "layers"):
        assert key in lava
    assert lava["predictions"] == fixed["predictions"]
    assert [layer["spikes"] for layer in lava["layers"]] == [layer["spikes"] for layer in fixed["layers"]]
    assert all({"name", "type", "neurons", "spikes", "synops"} <= set(layer) for layer in lava["layers"])
    assert main(["energy", "lava", *common]) == 0
    energy = json.loads((sims / "lava" / "energy.json").read_text())
    assert energy["devices"]["loihi"]["joules_per_inference"] > 0
    assert main(["report", "lava", "fixed", "--name", "rep", *common]) == 0
    assert (sims / "rep" / "report.md").is_file() and list((sims / "rep").glob("*.png"))


def test_qat_fine_tune_makes_a_deployable_model(trained, mnist5k, tmp_path, capsys, monkeypatch):
    """`asnn quantize NAME --qat 1`: fine-tunes quantisation-aware into NAME-qat, exports, reports.
    The fine-tune's test accuracy (its quantisation-aware forward) is the exported network's."""
    import shutil

    from asnn_neuro.data import Dataset

    work, names = trained
    src = work / names[("hybrid", "asnn")]
    scratch = tmp_path / "exports"
    shutil.copytree(src, scratch / "m")
    small = Dataset(name=mnist5k.name, train_x=mnist5k.train_x[:768], train_y=mnist5k.train_y[:768],
                    test_x=mnist5k.test_x, test_y=mnist5k.test_y, classes=mnist5k.classes)  # as the fixture
    monkeypatch.setattr("asnn_neuro.training.loop.load_dataset", lambda name, seed=0: small)
    assert main(["quantize", "m", "--qat", "1", "--lava-samples", "0",
                 "--workdir", str(scratch), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "quantisation-aware fine-tuning -> m-qat" in out
    report = json.loads((scratch / "m-qat" / "quantization.json").read_text())
    assert report["samples"] == 1000 and report["float_accuracy"] > 0.5
    assert report["quantized_agreement"] >= 0.95
    history = json.loads((scratch / "m-qat" / "train.json").read_text())["history"]
    n = report["samples"]  # train.json's accuracy is a float32 mean: compare counts of correct digits
    assert round(history[-1]["test_accuracy"] * n) == round(report["quantized_accuracy"] * n)
    assert read_network(scratch / "m-qat" / "network.net").meta["name"] == "m-qat"


def test_quantize_takes_max_clip(trained, tmp_path, capsys):
    """`asnn quantize NAME --max-clip F` lowers with F (more clipping, a finer grid), as export does."""
    import shutil

    work, names = trained
    scratch = tmp_path / "exports"
    shutil.copytree(work / names[("hybrid", "asnn")], scratch / "m")
    common = ["--lava-samples", "0", "--samples", "64", "--workdir", str(scratch), "--quiet"]
    clipped = []
    for clip in ("0", "0.05"):
        assert main(["quantize", "m", "--max-clip", clip, *common]) == 0
        layers = json.loads((scratch / "m" / "quantization.json").read_text())["layers"]
        clipped.append(max(layer["clipped_fraction"] for layer in layers))
    assert clipped[0] == 0 and 0 < clipped[1] <= 0.05
    capsys.readouterr()
    assert main(["quantize", "m", "--max-clip", "1.5", *common]) == 2
    assert "--max-clip must be a fraction in [0, 1)" in capsys.readouterr().err
