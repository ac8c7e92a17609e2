"""report.md: the comparison table, the plots and what the numbers leave out."""

from __future__ import annotations

from asnn_neuro.energy.estimate import EXCLUDED
from asnn_neuro.energy.markdown import fmt_num, fmt_uj


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}"


def _loihi_time(run: dict) -> dict | None:
    """The run's ``loihi_time`` from its energy.json (time model, asnn_neuro/fit/timing.py)."""
    import json
    from pathlib import Path

    try:
        t = json.loads((Path(run["path"]) / "energy.json").read_text()).get("loihi_time")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return t if isinstance(t, dict) else None


def _span(pair, scale: float, digits: str = ".3g") -> str:
    return "n/a" if not pair else f"{pair[0] * scale:{digits}} - {pair[1] * scale:{digits}}"


def _fit_lines(runs: list[dict]) -> list[str]:
    """Accuracy next to the chip fit, Loihi 2 time and energy ranges side by side."""
    rows = [r for r in runs if r.get("fit") or r.get("loihi_energy_range")]
    if not rows:
        return []
    lines = ["## Fit on the chip, Loihi time and energy (min - max)", "",
             "| run | accuracy (%) | n | chip | cores | time / step (µs) | latency (ms) | inferences / s | "
             "Loihi dynamic µJ / inf | static µJ / inf | total µJ / inf |",
             "|---|---:|---:|---|---:|---|---|---|---|---|---|"]
    for r in rows:
        fit = r.get("fit") or {}
        rng = r.get("loihi_energy_range")
        t = _loihi_time(r) or {}
        e = t.get("energy_joules") or {}
        lines.append(f"| {r['run']} | {_pct(r['accuracy'])} | {r.get('samples', '-')} | {fit.get('chip', '-')} | "
                     f"{fmt_num(fit.get('cores'))} | {_span(t.get('step_seconds'), 1e6)} | "
                     f"{_span(t.get('latency_seconds'), 1e3)} | {_span(t.get('inferences_per_second'), 1)} | "
                     f"{'n/a' if not rng else f'{fmt_uj(rng[0])} - {fmt_uj(rng[1])}'} | "
                     f"{_span(e.get('static'), 1e6, '.4g')} | {_span(e.get('total'), 1e6, '.4g')} |")
    lines += ["", "Cores from `asnn fit` (the compiler-like partition, docs/loihi_measurements.md); time from the "
              "counted events per core with Loihi 1 per-event latencies and the same scaled by one factor fitted "
              "on lava-dl's PilotNet LIF board run; dynamic energy spans the published Loihi cost models "
              "(`energy.md`); static = idle power of the cores used x the time range. Measured boards beside "
              "these models: docs/loihi_measurements.md (PilotNet LIF: 152.9 µs per step, 1.09 mJ dynamic). "
              "Accuracies come from each run's own n samples.", ""]
    return lines


def render_report_md(data: dict) -> str:
    """Markdown for a ``build_report`` result dict."""
    devices = data["devices"]
    ann = data["ann_device"]
    head = data["headline_device"]
    cols = (["run", "net", "backend", "precision", "encoding", "neuron", "T", "weight bits",
             "SLAYER ref acc (%)",
             "accuracy (%)", "agreement (%)", "spikes / inf", "synops / inf"]
            + [f"{d} µJ / inf" for d in devices] + [f"ANN {ann} µJ / inf", f"{head} / ANN energy",
                                                      "latency (steps)"])
    lines = [
        f"# Report: {data['name']}",
        "",
        f"{len(data['runs'])} simulation runs compared. Accuracies are on the simulated samples. "
        "Energies are estimates per inference (one sample) from counted spikes and synaptic ops; see each "
        "run's `energy.md` for the per-layer breakdown and sources.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * 6 + "---:|" * (len(cols) - 6),
    ]
    for r in data["runs"]:
        cells = [r["run"], str(r["net"]), str(r["backend"]), str(r["precision"]), str(r["encoding"]),
                 str(r["neuron"]), str(r["timesteps"]), str(r.get("weight_bits") or "-"),
                 _pct(r["reference_accuracy"]), _pct(r["accuracy"]),
                 _pct(r["agreement"]), fmt_num(r["spikes_per_inference"]), fmt_num(r["synops_per_inference"])]
        cells += [fmt_uj(r["energy_joules_per_inference"].get(d)) for d in devices]
        cells += [fmt_uj(r["ann_joules_per_inference"]), fmt_num(r["snn_to_ann_energy_ratio"]),
                  fmt_num(r["latency_steps"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"`{head} / ANN energy` is the SNN's estimated energy on {head} divided by the same network run "
        f"once as a conventional ANN at `{ann}` per-MAC energy; below 1 favours the SNN. Latency is "
        "pipeline depth plus T, in time steps.",
        "",
    ]
    lines += _fit_lines(data["runs"])
    lines += [
        "## Plots",
        "",
    ]
    captions = {
        "accuracy_vs_energy": f"Accuracy vs energy per inference ({head}), Pareto front in red",
        "accuracy_vs_timesteps": "Accuracy vs time steps, one line per encoding + neuron",
        "firing_rates": "Firing rate per layer (spikes per neuron per step)",
    }
    for key, name in data["plots"].items():
        caption = captions.get(key, f"Spike raster of sample 0, run {key.split(':', 1)[-1]}")
        lines += [f"![{caption}]({name})", "", f"*{caption}.*", ""]
    if data["notes"]:
        lines += ["Notes:", ""] + [f"- {n}" for n in data["notes"]] + [""]
    lines += [
        "## What the energy numbers leave out",
        "",
        "They count on-chip computation only. Left out: " + "; ".join(EXCLUDED) + ". "
        "Read them as a comparison between workloads, not as a measurement.",
        "",
        "## Device sources",
        "",
    ]
    lines += [f"- **{name}**: {src}" for name, src in data["sources"].items()]
    return "\n".join(lines) + "\n"
