"""fit.md: the partition as readable Markdown tables."""

from __future__ import annotations

LIMIT_NAMES = {"neurons": "neurons", "axons_in": "input axons", "axons_out": "output axons",
               "synaptic_memory": "synaptic memory (words)", "neuron_groups": "neuron groups"}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def render_fit_md(r: dict) -> str:
    """Markdown summary of a fit result (fit.json)."""
    verdict = "fits" if r["fits"] else "does NOT fit (a layer exceeds a core even split to single neurons)"
    lines = [
        f"# Fit: {r.get('net', 'network')} on {r['chip']}",
        "",
        f"**{r['cores']} cores, {r['chips']} chip(s)**; {verdict}. Tiling `{r['tiling']}`; "
        f"{r['neurons']:,} neurons; layers read with {r['read_with']}.",
    ]
    if r.get("idle_watts") is not None:
        lines.append(f"Idle (static) power of the cores used: {r['idle_watts'] * 1e3:.3g} mW "
                     "(chip idle power x cores / cores per chip).")
    lines += [
        "",
        "| layer | neuron | shape | cores | slice (C x H x W) | binding limit | "
        + " | ".join(LIMIT_NAMES.values()) + " |",
        "|---|---|---|---:|---|---|" + "---:|" * len(LIMIT_NAMES),
    ]
    for lay in r["layers"]:
        util = " | ".join(_pct(lay["utilisation"][k]) for k in LIMIT_NAMES)
        bind = lay["split_by"] or f"none ({lay['tightest']} tightest)"
        if not lay["fits"]:
            bind += " - DOES NOT FIT"
        lines.append(f"| {lay['name']} | {lay['neuron']} | {'x'.join(map(str, lay['shape']))} | {lay['cores']} | "
                     f"{'x'.join(map(str, lay['slice']))} | {bind} | {util} |")
    lines += [
        "",
        "Utilisation is the largest use over the layer's cores divided by the per-core limit. "
        "The binding limit is the one the whole layer exceeds most on a single core (the reason it is split).",
        "",
        "## Per-core limits used",
        "",
        "| constant | value | what | source | confidence |",
        "|---|---:|---|---|---|",
    ]
    for row in r["limit_sources"]:
        lines.append(f"| {row['name']} | {row['value']:g} | {row['what']} | {row['source']} | {row['confidence']} |")
    if r.get("notes"):
        lines += ["", "Notes: " + "; ".join(r["notes"]) + "."]
    return "\n".join(lines) + "\n"
