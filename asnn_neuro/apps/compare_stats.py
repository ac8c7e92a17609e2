"""Paired statistics of ``asnn compare``: two rows compared on the same held-out images and seeds.

Per seed, McNemar's exact test on the per-image predictions of the two runs: ``b`` images only
row A gets right, ``c`` only row B; under "no difference" each discordant image is a fair coin, so
the two-sided p-value is ``min(1, 2 P[Binomial(b + c, 1/2) <= min(b, c)])``, computed exactly with
integers. Over seeds, the paired mean of the accuracy differences ``d_s = acc_A,s - acc_B,s`` with a
95 % Student-t interval (seed s of both rows shares the data split, the initial weights' seed and
the test images). Minimum detectable differences (two-sided 5 %, 80 % power): per seed
``(z_.975 + z_.8) sqrt(q / n)`` with ``q`` the discordant fraction of the ``n`` images (McNemar's
normal approximation), over seeds ``(t_.975 + t_.8) sd(d) / sqrt(k)`` with ``k - 1`` degrees of
freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from asnn_neuro.training.predictions import unpack

Z_SUM = 1.959963984540054 + 0.8416212335729143  # z_.975 + z_.8


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2 ** n)


@dataclass(frozen=True)
class SeedPair:
    """Row A against row B on one seed's held-out images."""

    seed: int
    n: int
    only_a: int      # images A classifies correctly and B does not
    only_b: int

    @property
    def diff(self) -> float:
        """Accuracy of A minus accuracy of B (fraction)."""
        return (self.only_a - self.only_b) / self.n

    @property
    def p(self) -> float:
        return mcnemar_exact(self.only_a, self.only_b)

    @property
    def mdd(self) -> float:
        """Smallest difference (fraction) McNemar detects with 80 % power at this discordance."""
        return Z_SUM * math.sqrt((self.only_a + self.only_b) / self.n / self.n)


def seed_pair(run_a: dict, run_b: dict, labels: list[int]) -> SeedPair:
    """Compare two runs' stored ``test_predictions`` against the held-out ``labels``."""
    pa, pb = unpack(run_a["test_predictions"]), unpack(run_b["test_predictions"])
    if not len(pa) == len(pb) == len(labels):
        raise ValueError(f"predictions of {len(pa)} / {len(pb)} images for {len(labels)} labels")
    only_a = sum(1 for a, b, y in zip(pa, pb, labels) if a == y and b != y)
    only_b = sum(1 for a, b, y in zip(pa, pb, labels) if b == y and a != y)
    return SeedPair(int(run_a["seed"]), len(labels), only_a, only_b)


@dataclass(frozen=True)
class Paired:
    """Row A against row B over the seeds both have."""

    a: str
    b: str
    seeds: list[SeedPair]

    @property
    def mean(self) -> float:
        return sum(s.diff for s in self.seeds) / len(self.seeds)

    @property
    def sd(self) -> float:
        k = len(self.seeds)
        return math.sqrt(sum((s.diff - self.mean) ** 2 for s in self.seeds) / (k - 1)) if k > 1 else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """95 % Student-t interval of the mean paired difference (nan with one seed)."""
        k = len(self.seeds)
        if k < 2:
            return math.nan, math.nan
        half = stats.t.ppf(0.975, k - 1) * self.sd / math.sqrt(k)
        return self.mean - half, self.mean + half

    @property
    def mdd_seeds(self) -> float:
        """Smallest mean difference the seeds resolve with 80 % power (nan with one seed)."""
        k = len(self.seeds)
        if k < 2:
            return math.nan
        return (stats.t.ppf(0.975, k - 1) + stats.t.ppf(0.8, k - 1)) * self.sd / math.sqrt(k)

    def verdict(self) -> str:
        """``A > B`` / ``A < B`` when the 95 % interval excludes 0 and every seed's McNemar test
        agrees at 5 %; ``no difference resolved`` otherwise (with one seed: its McNemar test alone)."""
        lo, hi = self.interval
        same = all(s.p < 0.05 for s in self.seeds)
        if len(self.seeds) == 1:
            d = self.seeds[0]
            return (f"A {'>' if d.diff > 0 else '<'} B on seed {d.seed} (1 seed only)" if d.p < 0.05
                    else "no difference resolved (1 seed)")
        if len(self.seeds) >= 2 and same and lo > 0 and all(s.diff > 0 for s in self.seeds):
            return "A > B"
        if len(self.seeds) >= 2 and same and hi < 0 and all(s.diff < 0 for s in self.seeds):
            return "A < B"
        return "no difference resolved"


def paired(runs_a: list[dict], runs_b: list[dict], labels: list[int]) -> Paired | None:
    """Pair two rows' runs by seed (None when they share no seed with stored predictions)."""
    by_seed = {r["seed"]: r for r in runs_b if r.get("test_predictions") is not None}
    pairs = [seed_pair(r, by_seed[r["seed"]], labels) for r in sorted(runs_a, key=lambda r: r["seed"])
             if r.get("test_predictions") is not None and r["seed"] in by_seed]
    if not pairs:
        return None
    return Paired(runs_a[0]["row"], runs_b[0]["row"], pairs)


def _label(row: str) -> str:
    enc, neuron, steps, *variant = row.split(":")
    return f"{enc} {neuron}{' ' + variant[0] if variant else ''} T={steps}"


# (claim, row A template, row B template): {n} is the neuron (with its variant), {e} the encoding, {t} T
def comparisons(rows: list[str]) -> list[tuple[str, str, str]]:
    """The row pairs the paper's two claims are about, among ``rows`` (keys ENC:NEURON:T[:VARIANT])."""
    present = set(rows)
    out = []
    for row in rows:
        enc, neuron, steps, *variant = row.split(":")
        tail = ":".join([neuron, steps, *variant])
        if enc == "hybrid":  # claim 1: hybrid coding against temporal coding, same neuron and T
            for other in ("temporal", "temporal-ref"):
                if f"{other}:{tail}" in present:
                    out.append(("hybrid vs temporal", row, f"{other}:{tail}"))
    for row in rows:
        enc, neuron, steps, *variant = row.split(":")
        if neuron == "asnn" and not variant:  # claim 2: ASNN against time-invariant neurons
            for other in (f"{enc}:lif:{steps}", f"{enc}:lif:{steps}:fixed-leak"):
                if other in present:
                    out.append(("ASNN vs LIF", row, other))
    return out


def _pts(v: float, sign: bool = True) -> str:
    return "-" if math.isnan(v) else (f"{100 * v:+.2f}" if sign else f"{100 * v:.2f}")


def render_paired(runs: list[dict], labels: list[int] | None) -> list[str]:
    """Markdown lines of the paired table ([] without labels or stored predictions)."""
    if labels is None:
        return []
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(r["row"], []).append(r)
    lines = []
    for claim, a, b in comparisons(list(groups)):
        p = paired(groups[a], groups[b], labels)
        if p is None:
            continue
        if not lines:
            lines = ["", "### Paired differences (same seeds, same held-out images)", "",
                     f"A - B in accuracy points on the {len(labels)} held-out images. Per seed: the difference and "
                     "McNemar's exact p (b = images only A gets right, c = only B). Over seeds: mean, 95 % "
                     "t-interval, and the minimum detectable difference (MDD, 5 % two-sided, 80 % power) per "
                     "seed and over the seeds. See asnn_neuro/apps/compare_stats.py.", "",
                     "| claim | A | B | per seed: A - B (b/c, p) | mean A - B | 95 % interval | MDD seed / "
                     "seeds | verdict |", "|---|---|---|---|---|---|---|---|"]
        lo, hi = p.interval
        per_seed = "; ".join(f"s{s.seed}: {_pts(s.diff)} ({s.only_a}/{s.only_b}, p={s.p:.2g})" for s in p.seeds)
        mdd_seed = sum(s.mdd for s in p.seeds) / len(p.seeds)
        lines.append(f"| {claim} | {_label(a)} | {_label(b)} | {per_seed} | {_pts(p.mean)} | "
                     f"{'-' if math.isnan(lo) else f'[{_pts(lo)}, {_pts(hi)}]'} | "
                     f"{_pts(mdd_seed, False)} / {_pts(p.mdd_seeds, False)} | {p.verdict()} |")
    return lines
