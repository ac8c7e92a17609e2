"""The encoding schemes' names and one-line descriptions, without torch (for ``--help``)."""

from __future__ import annotations

SCHEMES: tuple[str, ...] = (
    "direct",
    "rate",
    "temporal",
    "temporal-ref",
    "temporal-eq",
    "bitplane",
    "hybrid",
    "hybrid-bitplane",
)

MAX_BITPLANES = 24
_DESCRIPTIONS = {
    "direct": "analog pixel value at every step",
    "rate": "Bernoulli(x) spikes at every step (seeded)",
    "temporal": "one spike per value at the first step i with x >= 1-(i+1)/T",
    "temporal-ref": "the reference's time code: temporal, and the last frame all ones (fired values re-fire)",
    "temporal-eq": "temporal on sigmoid(LayerNorm(x)), thresholds at training-set quantiles",
    "bitplane": f"round(x*(2^T-1)) as T binary digits, MSB first (T <= {MAX_BITPLANES})",
    "hybrid": "step 0 analog x, step k=1..T-1 spikes where x first >= 1-k/T; x < 1/T never fires (T >= 2)",
    "hybrid-bitplane": "step 0 analog x, steps 1..T-1 bit-planes (T >= 2)",
}


def describe_schemes() -> str:
    """One help line per scheme, for ``--help``."""
    width = max(len(s) for s in SCHEMES)
    return "\n".join(f"{s:<{width}}  {_DESCRIPTIONS[s]}" for s in SCHEMES)
