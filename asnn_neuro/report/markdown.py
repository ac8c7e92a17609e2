"""report.md: the comparison table, the plots and what the numbers leave out."""

from __future__ import annotations

from asnn_neuro.energy.estimate import EXCLUDED
from asnn_neuro.energy.markdown import fmt_num, fmt_uj


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}"


def _fit_lines(runs: list[dict]) -> list[str]:
    """Accuracy next to the chip fit (`asnn fit`) and the Loihi energy range, for runs that have them."""
    rows = [r for r in runs if r.get("fit") or r.get("loihi_energy_range")]
    if not rows:
        return []
    lines = ["## Fit on the chip and Loihi energy range", "",
             "| run | accuracy (%) | chip | cores | chips | Loihi dynamic µJ / inf (min - max) |",
             "|---|---:|---|---:|---:|---|"]
    for r in rows:
        fit = r.get("fit") or {}
        rng = r.get("loihi_energy_range")
        span = "n/a" if not rng else f"{fmt_uj(rng[0])} - {fmt_uj(rng[1])}"
        lines.append(f"| {r['run']} | {_pct(r['accuracy'])} | {fit.get('chip', '-')} | "
                     f"{fmt_num(fit.get('cores'))} | {fmt_num(fit.get('chips'))} | {span} |")
    lines += ["", "Cores from `asnn fit` (per-core limits in docs/loihi_fit.md); the energy range spans the "
              "published Loihi cost models in each run's `energy.md` (dynamic energy only; static power is a "
              "separate line there).", ""]
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
