"""Paired statistics of asnn compare, checked against scipy and by hand."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from asnn_neuro.apps.compare_grid import FASHION_GRID, grid_for
from asnn_neuro.apps.compare_stats import Paired, SeedPair, comparisons, mcnemar_exact, paired, render_paired
from asnn_neuro.training.predictions import pack, unpack


@pytest.mark.parametrize("b,c", [(0, 0), (0, 5), (3, 3), (10, 2), (40, 61), (250, 310), (7, 0)])
def test_mcnemar_exact_is_the_two_sided_binomial_test(b, c):
    want = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(want, rel=1e-9)


def test_mcnemar_by_hand():
    assert mcnemar_exact(0, 5) == 2 / 32  # both tails of Binomial(5, 1/2): 2 * (1/32)
    assert mcnemar_exact(1, 4) == 2 * 6 / 32


def _run(row: str, seed: int, preds: list[int]) -> dict:
    return {"row": row, "seed": seed, "test_predictions": pack(preds)}


def test_seed_pairs_count_the_discordant_images_and_the_interval_is_students():
    labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 10
    a_runs, b_runs, diffs = [], [], []
    for seed, (only_a, only_b) in enumerate([(9, 2), (7, 3), (8, 1)]):
        pa = list(labels)
        pb = list(labels)
        for i in range(only_a):          # B wrong where A is right
            pb[i] = (labels[i] + 1) % 10
        for i in range(50, 50 + only_b):  # A wrong where B is right
            pa[i] = (labels[i] + 1) % 10
        pa[99] = pb[99] = (labels[99] + 3) % 10  # both wrong: not discordant
        a_runs.append(_run("hybrid:asnn:2", seed, pa))
        b_runs.append(_run("temporal:asnn:2", seed, pb))
        diffs.append((only_a - only_b) / 100)
    p = paired(a_runs, b_runs, labels)
    assert [(s.only_a, s.only_b, s.n) for s in p.seeds] == [(9, 2, 100), (7, 3, 100), (8, 1, 100)]
    assert p.mean == pytest.approx(sum(diffs) / 3)
    lo, hi = stats.t.interval(0.95, 2, loc=sum(diffs) / 3, scale=stats.sem(diffs))
    assert p.interval == pytest.approx((lo, hi))
    assert p.seeds[0].p == pytest.approx(stats.binomtest(2, 11, 0.5).pvalue)
    # MDD per seed: (z.975 + z.8) sqrt(discordant fraction / n)
    assert p.seeds[0].mdd == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(0.11 / 100))
    assert p.verdict() == "no difference resolved"  # seed 1: 7 vs 3 is not significant


def test_verdicts():
    strong = [SeedPair(s, 10000, 400, 250) for s in range(3)]
    assert Paired("a", "b", strong).verdict() == "A > B"
    assert Paired("a", "b", [SeedPair(s, 10000, 250, 400 + s) for s in range(3)]).verdict() == "A < B"
    assert Paired("a", "b", strong[:1]).verdict() == "A > B on seed 0 (1 seed only)"
    assert Paired("a", "b", [SeedPair(0, 10000, 300, 290)]).verdict() == "no difference resolved (1 seed)"
    assert math.isnan(Paired("a", "b", strong[:1]).interval[0])


def test_the_fashion_grid_pairs_answer_both_claims():
    rows = [r.key for r in FASHION_GRID]
    assert len(rows) == 18 and grid_for("fashion-mnist") == FASHION_GRID and grid_for("mnist5k") != FASHION_GRID
    pairs = comparisons(rows)
    assert ("hybrid vs temporal", "hybrid:asnn:2", "temporal:asnn:2") in pairs
    assert ("hybrid vs temporal", "hybrid:lif:4:fixed-leak", "temporal-ref:lif:4:fixed-leak") in pairs
    assert ("ASNN vs LIF", "temporal-ref:asnn:4", "temporal-ref:lif:4:fixed-leak") in pairs
    assert len(pairs) == 2 * 3 * 2 + 2 * 3 * 2  # per T: 3 neurons x 2 temporal codes; 3 codes x 2 LIFs


def test_paired_table_renders_only_pairs_with_common_seeds():
    labels = [0, 1] * 50
    runs = [_run("hybrid:asnn:2", 0, labels), _run("temporal:asnn:2", 0, [0] * 100), _run("hybrid:lif:2", 1, labels)]
    text = "\n".join(render_paired(runs, labels))
    assert "| hybrid vs temporal | hybrid asnn T=2 | temporal asnn T=2 | s0: +50.00 (50/0, p=1.8e-15) |" in text
    assert "ASNN vs LIF" not in text  # hybrid lif ran seed 1 only
    assert render_paired(runs, None) == []


def test_predictions_pack_round_trip():
    assert pack([0, 9, 35]) == "09z" and unpack("09z") == [0, 9, 35]
    assert pack([3, 99]) == [3, 99] and unpack([3, 99]) == [3, 99]
