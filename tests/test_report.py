"""Report stage: fake-but-consistent runs in, report.md / report.json / PNG plots out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from asnn_neuro import ir
from asnn_neuro.energy import write_energy
from asnn_neuro.energy.fanout import layer_counts
from asnn_neuro.errors import InputError
from asnn_neuro.report import build_report
from asnn_neuro.report.plots import pareto_front

RNG = np.random.default_rng(1)


def tiny_net(steps: int) -> ir.Network:
    """Hybrid input (1, 8, 8) -> conv 4x(4, 4) -> dense readout 10."""
    neuron = ir.AdaptiveNeuron(leak=(4096,) * steps, gain=(4096,) * steps)
    readout = ir.AdaptiveNeuron(leak=(4096,) * steps, gain=(4096,) * steps, readout=True)
    conv = dict(kind="conv", kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    layers = [
        ir.Layer("conv1", (4, 4, 4), neuron, [
            ir.Path(source=ir.Stream.GRADED, weight=RNG.integers(-9, 9, (4, 1, 3, 3)), graded=True, **conv),
            ir.Path(source=ir.Stream.SPIKES, weight=RNG.integers(-9, 9, (4, 1, 3, 3)), **conv),
        ]),
        ir.Layer("fc_out", (10,), readout, [ir.Path(source=0, kind="dense",
                                                     weight=RNG.integers(-9, 9, (10, 64)))]),
    ]
    return ir.Network(ir.InputSpec((1, 8, 8), graded=True), layers, timesteps=steps)


def make_run(root: Path, name: str, encoding: str, neuron: str, steps: int, acc: float,
             raster: bool) -> tuple[Path, ir.Network, dict]:
    net = tiny_net(steps)
    samples = 6
    counts = {
        "input_spikes": RNG.integers(0, steps, 64), "input_graded": RNG.integers(0, 2, 64) * samples,
        "layer0_spikes": RNG.integers(0, steps * samples, 64), "layer1_spikes": np.zeros(10, dtype=np.int64),
        "layer0_per_step": RNG.integers(0, 50, steps), "layer1_per_step": np.zeros(steps, dtype=np.int64),
    }
    rows = layer_counts(net, counts)
    summary = {
        "net": f"tiny-{encoding}", "network": str(root / "absent.net"), "backend": "lava",
        "precision": "fixed",
        "dataset": "mnist5k", "samples": samples, "timesteps": steps, "encoding": encoding, "neuron": neuron,
        "accuracy": acc, "reference_accuracy": acc + 0.01, "agreement": 0.98, "latency_steps": 2,
        "input": {"neurons": 64, "spikes": int(counts["input_spikes"].sum()),
                  "graded_events": int(counts["input_graded"].sum())},
        "layers": rows,
    }
    run = root / name
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary))
    np.savez(run / "counts.npz", **counts)
    if raster:
        graded = np.zeros((steps, 64), dtype=np.uint8)
        graded[0] = RNG.integers(0, 256, 64)
        np.savez(run / "raster.npz", input=graded, layer0=(RNG.random((steps, 64)) < 0.3).astype(np.uint8),
                 layer1=np.zeros((steps, 10), dtype=np.uint8))
    return run, net, summary


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sims")
    specs = [("hyb_asnn_T4", "hybrid", "asnn", 4, 0.95, True), ("rate_lif_T8", "rate", "lif", 8, 0.90, True),
             ("rate_lif_T16", "rate", "lif", 16, 0.93, False)]
    made = [make_run(root, *s) for s in specs]
    write_energy(made[2][0], net=made[2][1])  # one run already has its energy.json
    return made


@pytest.fixture(scope="module")
def report(runs):
    """The report of all three runs, built once; the IR is injected for the runs without energy.json."""
    out = runs[0][0].parent / "cmp"
    data = build_report([r for r, _, _ in runs], out, nets={r.name: n for r, n, _ in runs})
    return out, data


def test_report_writes_files_and_plots(runs, report):
    out, data = report
    for name in ("report.md", "report.json", "accuracy_vs_energy.png", "accuracy_vs_timesteps.png",
                 "firing_rates.png", "raster_hyb_asnn_T4.png", "raster_rate_lif_T8.png"):
        assert (out / name).is_file(), name
    assert not (out / "raster_rate_lif_T16.png").exists()
    assert any("rate_lif_T16" in n and "raster" in n for n in data["notes"])
    for png in out.glob("*.png"):
        img = imread(png)
        assert img.shape[0] > 300 and img.shape[1] > 500, png.name
        assert img[..., :3].std() > 0.02, png.name  # not a blank canvas
    for run, _, _ in runs:
        assert (run / "energy.json").is_file() and (run / "energy.md").is_file()
    md = (out / "report.md").read_text()
    assert "| run | net | backend |" in md and "rate_lif_T8" in md and "leave out" in md


def test_report_json_equals_inputs(runs, report):
    out, _ = report
    data = json.loads((out / "report.json").read_text())
    assert [r["run"] for r in data["runs"]] == [r.name for r, _, _ in runs]
    for row, (run, _, summary) in zip(data["runs"], runs):
        energy = json.loads((run / "energy.json").read_text())
        for key in ("accuracy", "reference_accuracy", "agreement", "encoding", "neuron", "backend",
                    "precision", "net", "timesteps", "samples"):
            assert row[key] == summary[key], key
        n = summary["samples"]
        assert row["spikes_per_inference"] == sum(lay["spikes"] for lay in summary["layers"]) / n
        assert row["synops_per_inference"] == sum(lay["synops"] for lay in summary["layers"]) / n
        assert row["latency_steps"] == summary["latency_steps"] + summary["timesteps"]
        for dev, entry in energy["devices"].items():
            assert row["energy_joules_per_inference"][dev] == entry["joules_per_inference"]
        assert row["ann_joules_per_inference"] == energy["ann_baseline"]["joules_per_inference"]
        ann_j = energy["ann_baseline"]["joules_per_inference"]
        loihi_j = energy["devices"]["loihi"]["joules_per_inference"]
        assert row["snn_to_ann_energy_ratio"] == pytest.approx(loihi_j / ann_j)
        rate0 = summary["layers"][0]["spikes"] / summary["samples"] / (64 * summary["timesteps"])
        assert row["layers"][0]["firing_rate"] == pytest.approx(rate0)


def test_report_rebuild_replaces_previous_report(runs, report, tmp_path):
    out = tmp_path / "again"
    build_report([runs[0][0]], out)  # energy.json exists by now: no IR needed
    assert (out / "raster_hyb_asnn_T4.png").exists()
    build_report([runs[2][0]], out)
    data = json.loads((out / "report.json").read_text())
    assert [r["run"] for r in data["runs"]] == ["rate_lif_T16"]
    assert not (out / "raster_hyb_asnn_T4.png").exists()


def test_missing_run_dir_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no such run directory"):
        build_report([tmp_path / "nope"], tmp_path / "out")


def test_report_refuses_to_overwrite_a_run(runs, tmp_path):
    run = runs[0][0]
    with pytest.raises(InputError, match="overwrite run"):
        build_report([run], run)
    with pytest.raises(InputError, match="not a previous report"):
        build_report([run], runs[1][0])


def test_pareto_front_keeps_undominated_points():
    pts = [(1.0, 90.0), (2.0, 95.0), (3.0, 94.0), (0.5, 80.0), (2.0, 93.0)]
    assert pareto_front(pts) == [3, 0, 1]


def test_wilson_interval_known_values():
    from asnn_neuro.report.plots import wilson_interval

    lo, hi = wilson_interval(0.5, 100)
    assert (round(lo, 4), round(hi, 4)) == (0.4038, 0.5962)
    lo, hi = wilson_interval(1.0, 200)  # 200 of 200 right: the interval still reaches below 98.2 %
    assert hi == 1.0 and 0.981 < lo < 0.982


def test_report_shows_time_and_samples_per_run(report):
    out, _ = report
    md = (out / "report.md").read_text()
    assert "| run | accuracy (%) | n | chip | cores | time / step (µs) |" in md


def test_pareto_front_with_intervals_keeps_unresolved_runs():
    # the cheaper run's accuracy is higher, but within the other's interval: both stay on the front
    pts = [(10.0, 60.0), (11.0, 52.0), (12.0, 40.0)]
    ci = [(42.0, 75.0), (42.0, 61.0), (38.0, 41.0)]
    assert pareto_front(pts) == [0]
    assert pareto_front(pts, ci) == [0, 1]  # run 2's interval lies wholly below run 0's
