"""asnn compare: rows x seeds in a resumable JSON, mean/std table, notes kept, input checks."""

from __future__ import annotations

import json

import pytest

from asnn_neuro.apps.compare import Settings, check_settings, pending, run_comparison
from asnn_neuro.apps.compare_grid import GRID, Row, parse_row
from asnn_neuro.apps.compare_table import KEEP_MARKER, load_runs, mean_std, write_table
from asnn_neuro.errors import InputError


def _run(row: Row, seed: int, acc: float, s: Settings) -> dict:
    return {"row": row.key, "encoding": row.encoding, "neuron": row.neuron, "timesteps": row.timesteps,
            "variant": row.variant, "seed": seed, "dataset": s.dataset, "model": s.model, "epochs": s.epochs,
            "batch_size": s.batch_size, "lava_samples": s.lava_samples, "float_accuracy": acc,
            "test_samples": 10, "last_epochs_test_accuracy": [acc - 0.01, acc], "train_seconds": 50.0,
            "deployed": True, "fixed_accuracy": acc, "fixed_samples": 10, "input_spikes": 100.0 + seed,
            "spikes": 1000.0, "loihi_uj": 20.0, "lava_samples_run": 5, "lava_agreement": 1.0,
            "lava_accuracy": acc, "seconds": 60.0}


def test_rows_aggregate_over_seeds_and_notes_survive(tmp_path):
    s = Settings(dataset="digits", epochs=1, lava_samples=5, out=str(tmp_path / "cmp.md"))
    hyb, tem = Row("hybrid", "asnn", 4), Row("temporal", "lif", 2)
    write_table(tmp_path / "cmp.md", s, [_run(hyb, 0, 0.98, s), _run(hyb, 1, 0.99, s), _run(tem, 0, 0.5, s)])
    out = tmp_path / "cmp.md"
    out.write_text(out.read_text() + "\n" + KEEP_MARKER + "\n## Reading the table\nASNN wins.\n")
    write_table(out, s, [_run(tem, 0, 0.25, s)])  # a rerun replaces its run, keeps the others
    text = out.read_text()
    # mean 98.5, sample std of (98, 99) = 0.7071; input spikes 100, 101 -> 100.5 +- 0.7 shown as "100 ± 1"
    assert "| hybrid | asnn | 4 | - | 2 (0, 1) | 98.50 ± 0.71 | 98.50 ± 0.71 | 100 ± 1 | 1000 ± 0 | 20.0 ± 0.0 " \
           "| 100.00 ± 0.00 (5) | 1.0 | 1.0 ± 0.0 |" in text
    assert "| temporal | lif | 2 | - | 1 (0) | 25.00 | 25.00 |" in text and "50.00" not in text
    assert text.index("| temporal | lif | 2") < text.index("| hybrid | asnn | 4")  # display order
    assert text.endswith(KEEP_MARKER + "\n## Reading the table\nASNN wins.\n") and text.count(KEEP_MARKER) == 1
    runs = load_runs(tmp_path / "cmp.json")
    assert sorted((r["row"], r["seed"], r["float_accuracy"]) for r in runs) == [
        ("hybrid:asnn:4", 0, 0.98), ("hybrid:asnn:4", 1, 0.99), ("temporal:lif:2", 0, 0.25)]


def test_mean_std_by_hand():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    m, s = mean_std([5.0])
    assert m == 5.0 and s != s  # nan for one seed


def test_resume_skips_finished_runs_with_the_same_settings(tmp_path):
    rows = [Row("hybrid", "asnn", 2), Row("temporal", "asnn", 2)]
    s = Settings(dataset="digits", epochs=1, seeds=2, lava_samples=0, out=str(tmp_path / "cmp.md"), rows=rows)
    assert pending(s) == [(rows[0], 0), (rows[1], 0), (rows[0], 1), (rows[1], 1)]  # seed 0 of every row first
    write_table(tmp_path / "cmp.md", s, [_run(rows[0], 1, 0.9, s)])
    assert pending(s) == [(rows[0], 0), (rows[1], 0), (rows[1], 1)]
    s2 = Settings(**{**s.__dict__, "epochs": 2})  # another epoch count: nothing is done yet
    assert len(pending(s2)) == 4
    # the stored run has no "mixup" key (tables from before it existed): it counts as the default, 0
    assert len(pending(Settings(**{**s.__dict__, "mixup": 1.0}))) == 4


def test_grid_is_the_issue_grid():
    keys = {r.key for r in GRID}
    for enc in ("direct", "temporal", "hybrid"):
        for neuron in ("asnn", "lif"):
            assert {f"{enc}:{neuron}:{t}" for t in (2, 4, 7)} <= keys
    assert {"bitplane:asnn:4", "bitplane:lif:4", "hybrid-bitplane:asnn:4", "hybrid-bitplane:lif:4",
            "direct:cuba:4", "hybrid:asnn:4:no-readout-scale", "hybrid:asnn:4:per-step-bn",
            "hybrid:asnn:7:per-step-bn", "hybrid:asnn:4:reset-grad", "hybrid:asnn:7:reset-grad"} <= keys
    assert len(keys) == len(GRID) == 28


@pytest.mark.parametrize("text,message", [
    ("hybrid-asnn", "expected ENCODING:NEURON:T"),
    ("nosuch:asnn:2", "unknown encoding 'nosuch'"),
    ("hybrid:asnn:1", "needs --timesteps >= 2"),
    ("hybrid:spiky:4", "unknown neuron 'spiky'"),
    ("hybrid:asnn:4:fast", "unknown variant 'fast'"),
    ("hybrid:cuba:4:reset-grad", "--reset-grad needs --neuron asnn or lif"),
])
def test_only_rows_are_checked(text, message):
    with pytest.raises(InputError, match=message):
        parse_row(text)


@pytest.mark.parametrize("change,message", [
    ({"out": "table.txt"}, "Markdown"),
    ({"workers": 0}, "--workers must be an integer >= 1"),
    ({"seeds": 0}, "--seeds"),
    ({"dataset": "cifar10:/nonexistent-dir"}, "nonexistent"),
    ({"model": "vgg"}, "unknown model 'vgg'"),
    ({"train_subset": -1}, "--train-subset must be an integer >= 0"),
    ({"deploy_samples": 1.5}, "--deploy-samples must be an integer >= 0"),
])
def test_settings_are_checked_before_anything_runs(tmp_path, change, message):
    s = Settings(**{"dataset": "digits", "out": str(tmp_path / "t.md"), **change})
    with pytest.raises(InputError, match=message):
        check_settings(s)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_or_old_format_json_is_refused_not_overwritten(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps([{"encoding": "hybrid", "slayer_accuracy": 0.9}]))
    s = Settings(dataset="digits", out=str(tmp_path / "t.md"))
    with pytest.raises(InputError, match="not an asnn compare run list"):
        check_settings(s)
    (tmp_path / "t.json").write_text("{")
    with pytest.raises(InputError, match="not a readable comparison file"):
        check_settings(s)


@pytest.mark.slow
def test_parallel_runs_then_resume_runs_nothing(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the children's records go
    rows = [Row("hybrid", "asnn", 2), Row("direct", "lif", 2)]
    s = Settings(dataset="digits", epochs=1, seeds=1, lava_samples=3, workers=2, progress=False, rows=rows,
                 workdir=str(tmp_path / "w"), simdir=str(tmp_path / "s"), out=str(tmp_path / "cmp.md"))
    records = run_comparison(s)
    assert sorted(r["row"] for r in records) == ["direct:lif:2", "hybrid:asnn:2"]
    for r in records:
        assert r["deployed"] and r["fixed_samples"] == 360 and r["lava_samples_run"] == 3
        assert r["spikes"] > 0 and r["loihi_uj"] > 0 and r["seconds"] > 0
        assert len(r["test_predictions"]) == 360 and len(r["epoch_test_accuracy"]) == 1
    hybrid = next(r for r in records if r["encoding"] == "hybrid")
    direct = next(r for r in records if r["encoding"] == "direct")
    assert 0 < hybrid["input_spikes"] < 64 and direct["input_spikes"] == 0  # direct: graded input only
    assert not list(tmp_path.glob("asnn-compare-*"))  # the children's records are cleaned up
    assert run_comparison(s) == []  # resumed: every run is in the table already
    assert "| hybrid | asnn | 2 | - | 1 (0) |" in (tmp_path / "cmp.md").read_text()


def test_a_resumed_runs_wall_time_is_at_least_its_training_time(tmp_path):
    s = Settings(dataset="digits", epochs=1, lava_samples=5, out=str(tmp_path / "cmp.md"))
    run = {**_run(Row("hybrid", "asnn", 2), 0, 0.9, s), "seconds": 14.0, "train_seconds": 69.0}
    text = write_table(tmp_path / "cmp.md", s, [run]) and (tmp_path / "cmp.md").read_text()
    assert "| 1.1 |" in text and "| 0.2 |" not in text  # 69 s, not the 14 s of the resumed part
