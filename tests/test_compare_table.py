"""asnn compare's table file: rows merge across --only runs, hand-written notes survive rewrites."""

from __future__ import annotations

import json

from asnn_neuro.apps.compare import KEEP_MARKER, write_table


def _row(enc: str, neuron: str, steps: int, acc: float) -> dict:
    return {"encoding": enc, "neuron": neuron, "timesteps": steps, "epochs": 1, "slayer_accuracy": acc,
            "fixed_accuracy": acc, "test_samples": 10, "lava_samples": 5, "lava_accuracy": acc,
            "lava_agreement": 1.0, "lava_slayer_accuracy": acc, "spikes_per_inference": 12.0, "seconds": 1.0}


def test_rerun_updates_its_row_keeps_others_and_the_notes(tmp_path):
    out = tmp_path / "cmp.md"
    write_table([_row("hybrid", "asnn", 4, 0.5), _row("temporal", "lif", 2, 0.25)], str(out), "d", 1, 5)
    out.write_text(out.read_text() + "\n" + KEEP_MARKER + "\n## Reading the table\nASNN wins.\n")
    write_table([_row("hybrid", "asnn", 4, 0.75)], str(out), "d", 1, 5)
    text = out.read_text()
    assert "| hybrid | asnn | 4 | 1 | 75.0% |" in text and "50.0%" not in text
    assert "| temporal | lif | 2 | 1 | 25.0% |" in text
    assert text.index("| temporal | lif | 2") < text.index("| hybrid | asnn | 4")  # grid order
    assert text.endswith(KEEP_MARKER + "\n## Reading the table\nASNN wins.\n")
    assert text.count(KEEP_MARKER) == 1
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [(r["encoding"], r["slayer_accuracy"]) for r in rows] == [("temporal", 0.25), ("hybrid", 0.75)]
