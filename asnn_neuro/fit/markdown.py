"""fit.md: the partition as readable Markdown tables."""

from __future__ import annotations

LIMIT_NAMES = {"neurons": "neurons", "axons_in": "input axons", "axons_out": "output axons",
               "synaptic_memory": "synaptic memory (words)", "neuron_groups": "neuron groups"}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def timing_lines(r: dict) -> list[str]:
    """Plain lines: fewest-cores lower bound, time per step, latency and inferences/s (min - max)."""
    from asnn_neuro.fit.timing import fmt_range

    out = []
    if r.get("cores_fewest") is not None:
        out.append(f"cores: {r['cores']} (compiler-like); lower bound {r['cores_fewest']} (fewest)")
    t = r.get("timing")
    if t:
        out += [f"time per step   {fmt_range(*t['step_seconds'])}",
                f"latency         {fmt_range(*t['latency_seconds'])} ({t['steps_per_inference']} steps "
                f"[{t['steps_from']}] + {t['silent']['pipeline_depth']} pipeline)",
                f"inferences/s    {fmt_range(*t['inferences_per_second'], unit='/s')}",
                f"activity: {t['activity']}; run `asnn energy RUN` for the counted activity's range"]
    out += measured_lines(r.get("measured"))
    return out


def measured_lines(m: dict | None) -> list[str]:
    """The board measurement of this very network file, when there is one."""
    if not m:
        return []
    parts = [f"{m['cores']} cores" if m.get("cores") else None,
             f"{m['step_seconds'] * 1e6:.4g} µs per step" if m.get("step_seconds") else None,
             f"{m['fps']:g} inferences/s" if m.get("fps") else None,
             f"{m['dynamic_mj']:.4g} mJ dynamic per inference" if m.get("dynamic_mj") is not None else None]
    return [f"measured on a {m['chip']} board ({m['name']}): " + ", ".join(p for p in parts if p)
            + f" -- {m['source']}"]


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
    tl = timing_lines(r)
    if tl:
        lines += ["", "On Loihi 2 (docs/loihi_measurements.md: the time model and the boards):", ""]
        lines += [f"- {x}" for x in tl]
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
