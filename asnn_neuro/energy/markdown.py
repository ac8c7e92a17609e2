"""energy.md: the energy estimate as readable Markdown tables."""

from __future__ import annotations


def fmt_num(x: float | int | None, digits: int = 4) -> str:
    """Counts: integers with thousands separators, other values to ``digits`` significant digits."""
    if x is None:
        return "n/a"
    if (float(x).is_integer() or abs(x) >= 1000) and abs(x) < 1e15:
        return f"{round(x):,}"
    return f"{x:.{digits}g}"


def fmt_uj(joules: float | None) -> str:
    """Joules shown in microjoules (µJ)."""
    return "n/a" if joules is None else f"{joules * 1e6:.4g}"


def _pj(joules: float) -> str:
    """A per-operation energy in pJ, or nJ from 1 nJ up."""
    return f"{joules * 1e9:.4g} nJ" if joules >= 1e-9 else f"{joules * 1e12:.4g} pJ"


def _range_lines(result: dict) -> list[str]:
    rng = result.get("loihi_range")
    if not rng:
        return []
    lines = ["", "## Loihi: range over published cost models (dynamic energy per inference)", "",
             "| model | µJ / inference | source |", "|---|---:|---|"]
    for name, m in rng["models"].items():
        lines.append(f"| {name} | {fmt_uj(m['joules_per_inference'])} | {m['source']} |")
    lines.append(f"| **range** | **{fmt_uj(rng['min'])} - {fmt_uj(rng['max'])}** | min - max of the models |")
    st = rng["static"]
    fit = result.get("fit")
    if fit:
        lines += ["", f"Fit: {fit['cores']} cores, {fit['chips']} chip(s) on {fit['chip']} (`asnn fit`)."]
    if st.get("idle_watts") is not None:
        static = ("n/a (needs seconds per inference on the chip)" if st["joules_per_inference"] is None
                  else f"{fmt_uj(st['joules_per_inference'])} µJ")
        lines.append(f"Static (idle) line, separate from the above: {st['idle_watts'] * 1e3:.3g} mW for "
                     f"{st['cores']} cores; per inference {static}.")
    lines += ["", f"Messages: {rng['messages_from']}; graded events {rng['graded']}; {rng['note']}."]
    lines += _time_lines(result.get("loihi_time"))
    return lines


def _time_lines(t: dict | None) -> list[str]:
    """Time and energy side by side on Loihi 2 (min - max)."""
    if not t:
        return []
    from asnn_neuro.fit.timing import fmt_range

    e = t["energy_joules"]

    def uj(pair):
        return "n/a" if pair is None else f"{fmt_uj(pair[0])} - {fmt_uj(pair[1])}"

    io = t["host_io"]
    return ["", "## Loihi 2: time and energy per inference (min - max)", "",
            "| quantity | min - max |", "|---|---|",
            f"| time per step | {fmt_range(*t['step_seconds'])} |",
            f"| latency ({t['steps_per_inference']} steps + {t['pipeline_depth']} pipeline) | "
            f"{fmt_range(*t['latency_seconds'])} |",
            f"| inferences / s | {fmt_range(*t['inferences_per_second'], unit='/s')} |",
            f"| dynamic energy (µJ) | {uj(e['dynamic'])} |",
            f"| static energy (µJ) | {uj(e['static'])} |",
            f"| total energy (µJ) | {uj(e['total'])} |",
            "", f"Time from counted events per core on {t['cores']} cores (docs/loihi_measurements.md: "
            "Loihi 1 per-event latencies and the same scaled by one factor fitted on lava-dl's PilotNet LIF "
            "board run; overlap and no overlap of a core's units). Host I/O is not in the range: "
            f"{fmt_num(io['values_per_step'])} input values per step would take about "
            f"{io['seconds_per_step'] * 1e6:.3g} µs per step at lava-dl's measured host rate, and a Python "
            f"host loop measured at least {io.get('host_loop_floor_seconds', 0) * 1e3:.3g} ms per step (lava-dl "
            "Oxford): the range holds only with the input on chip."] + _measured(t.get("measured"))


def _measured(m: dict | None) -> list[str]:
    """The board measurement of this network file, beside the estimate."""
    if not m:
        return []
    from asnn_neuro.fit.markdown import measured_lines

    return ["", "Measured: " + measured_lines(m)[0]]


def _neurobench_lines(nb: dict | None) -> list[str]:
    """NeuroBench's metrics (per sample), as energy/neurobench.py computes them."""
    if not nb:
        return []
    lines = ["", "## NeuroBench metrics (per sample; NeuroBench 2.3.0 definitions)", "",
             "| metric | value |", "|---|---:|",
             f"| parameter count | {fmt_num(nb['parameter_count'])} |",
             f"| footprint (bytes, float32 parameters) | {fmt_num(nb['footprint_bytes'])} |",
             f"| connection sparsity | {nb['connection_sparsity']:.3f} |"]
    if "synaptic_operations" in nb:
        so = nb["synaptic_operations"]
        lines += [f"| activation sparsity | {nb['activation_sparsity']:.4f} |",
                  f"| synaptic operations: effective ACs | {fmt_num(so['Effective_ACs'])} |",
                  f"| synaptic operations: effective MACs | {fmt_num(so['Effective_MACs'])} |",
                  f"| synaptic operations: dense | {fmt_num(so['Dense'])} |",
                  f"| membrane updates (upper bound) | {fmt_num(nb['membrane_updates'])} |"]
    lines += ["", "Effective operations count only nonzero weights reached by nonzero events (the synops above "
              "count every synapse a spike reaches); membrane updates are neurons x steps, NeuroBench's upper "
              "bound (it counts only membranes that changed)."]
    return lines


def render_energy_md(result: dict) -> str:
    """Markdown summary of an ``estimate_from`` result."""
    per = result["per_inference"]
    head = result["headline_device"]
    ann = result["ann_baseline"]
    lines = [
        f"# Energy estimate: {result.get('run') or 'run'}",
        "",
        f"Network `{result.get('net')}`, backend `{result.get('backend')}`, {result['samples']} samples, "
        f"T = {result['timesteps']} steps per sample. All numbers are **per inference** (one sample), "
        f"counted from `{result['activity_source']}`.",
        "",
        f"- input spikes: {fmt_num(per['input_spikes'])}; graded input events: "
        f"{fmt_num(per['input_graded_events'])}",
        f"- spikes: {fmt_num(per['spikes'])}; synaptic ops: {fmt_num(per['synops'])}; "
        f"graded MACs: {fmt_num(per['graded_macs'])}; neuron updates: {fmt_num(per['neuron_updates'])}",
        f"- latency: {fmt_num(result['latency_steps'])} steps "
        f"(pipeline depth {fmt_num(result['pipeline_latency_steps'])} + T)",
        f"- ANN-equivalent: {fmt_num(ann['macs_per_inference'])} MACs, "
        f"{fmt_uj(ann['joules_per_inference'])} µJ on `{ann['device']}`; "
        f"SNN ({head}) / ANN energy ratio: {fmt_num(result['snn_to_ann_energy_ratio'])}",
        "",
        "## Energy per inference by device",
        "",
        "| device | runs as | µJ / inference | per synop | per neuron update | per MAC |",
        "|---|---|---:|---:|---:|---:|",
    ]
    rows = [(name, "SNN (events)", dev) for name, dev in result["devices"].items()]
    rows += [(name, "ANN (one pass)", dev) for name, dev in ann.get("devices", {}).items()]
    for name, kind, dev in rows:
        c = dev["constants"]
        synop = _pj(c["energy_per_synop"]) if dev["spiking"] else "-"
        lines.append(f"| {name} | {kind} | {fmt_uj(dev['joules_per_inference'])} | {synop} | "
                     f"{_pj(c['energy_per_neuron'])} | {_pj(c['energy_per_mac'])} |")
    lines += _range_lines(result)
    lines += _neurobench_lines(result.get("neurobench"))
    dev_names = list(result["devices"])
    lines += [
        "",
        "## Per layer (per inference)",
        "",
        "| layer | type | neurons | spikes | spikes/neuron/step | synops | graded MACs | neuron updates | "
        + " | ".join(f"µJ {d}" for d in dev_names) + " |",
        "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(dev_names),
    ]
    for i, lay in enumerate(result["layers"]):
        joules = " | ".join(fmt_uj(result["devices"][d]["per_layer"][i]["joules"]) for d in dev_names)
        lines.append(
            f"| {lay['name']} | {lay['type']} | {fmt_num(lay['neurons'])} | {fmt_num(lay['spikes'])} | "
            f"{lay['firing_rate']:.4g} | {fmt_num(lay['synops'])} | {fmt_num(lay['graded_macs'])} | "
            f"{fmt_num(lay['neuron_updates'])} | {joules} |"
        )
    lines += [
        "",
        "## What this estimate leaves out",
        "",
        "This counts only on-chip computation: synaptic operations, neuron updates and graded "
        "multiply-accumulates, each at a published per-operation energy. It leaves out "
        + "; ".join(result["excluded"])
        + ". Every layer's neurons are charged an update on every step, active or not; the input "
        "(spike or graded sources fed by the encoder) is charged none. The ANN baselines count "
        "one conventional forward pass, with pooling comparisons and identity adds counted as MACs. "
        "On real hardware the left-out terms can dominate, so treat these figures as lower bounds "
        "that compare workloads, not as measured chip energy.",
    ]
    if result.get("notes"):
        lines += ["", "Notes: " + "; ".join(result["notes"]) + "."]
    lines += ["", "## Sources", ""]
    for name, _, dev in rows:
        lines.append(f"- **{name}**: {dev['source']} {dev.get('notes', '')}".rstrip())
    return "\n".join(lines) + "\n"
