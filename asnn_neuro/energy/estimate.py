"""``asnn energy RUN``: energy per inference from a simulation's spike counts.

Spiking device (joules per inference)::

    E = synops * energy_per_synop + neuron_updates * energy_per_neuron + graded_macs * energy_per_mac

with neuron_updates = neurons x time steps x the update events its neuron kind declares
(``Kind.events``: 1 for CUBA, ASNN, SDNN, RF; 2 for ALIF and ADRF, whose threshold is a second
state updated every step, charged as a second update) for every layer (readout included): the
same formula as KerasSpiking's ModelEnergy, but with exact synop counts. Non-spiking devices are
charged for the same network run once as a conventional ANN (``fanout.ann_layer_macs``)::

    E = macs * energy_per_mac + neurons * energy_per_neuron
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.energy.fanout import ann_layer_macs, layer_counts
from asnn_neuro.energy.loihi_models import loihi_range
from asnn_neuro.energy.profiles import DeviceProfile, Profiles, load_profiles
from asnn_neuro.errors import InputError
from asnn_neuro.runs import RunRecord, load_network, read_counts, read_summary
from asnn_neuro.util.atomic import write_json, write_text

__all__ = ["EXCLUDED", "estimate", "estimate_from", "load_network", "read_counts", "read_summary", "save_energy",
           "write_energy"]

EXCLUDED = (
    "static (leakage) power and the power of idle cores and chips",
    "off-chip I/O: moving input frames onto the device and results off it",
    "spike routing between cores and chips (e.g. Loihi's within-tile and per-hop mesh energies)",
    "host pre-processing: the encoder that turns pixels into spikes or graded events runs on the host",
    "memory access beyond what a per-operation figure contains (the 45 nm ANN figures are arithmetic only)",
)


MAX_COUNT = 2**63  # counts beyond int64 are not a run's


def _number(summary: Mapping, key: str, where: str, minimum: float = 0, maximum: float = MAX_COUNT) -> float:
    value = summary.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(float(value)) and minimum <= value < maximum
    except OverflowError:  # an integer beyond float range
        ok = False
    if not ok:
        raise InputError(f"{where}: {key!r} must be a number in [{minimum}, {maximum:.3g}), "
                         f"got {value!r:.60}")
    return value


def _update_events(net: ir.Network | None, n_layers: int) -> list[dict[str, int]]:
    """Per layer, the events one neuron update costs (its kind's ``events``); one update each
    without the network."""
    if net is None or len(net.layers) != n_layers:
        return [{"neuron_update": 1}] * n_layers
    from asnn_neuro.chip.neurons import registry

    return [dict(registry.of(layer.neuron).events) for layer in net.layers]


def _optional_number(summary: Mapping, key: str, where: str) -> float:
    """A count that may be absent (0) but, when present, must be a finite number >= 0."""
    return 0 if summary.get(key) is None else _number(summary, key, where)


def _summary_rows(summary: Mapping, where: str) -> list[dict]:
    layers = summary.get("layers")
    if not isinstance(layers, list) or not layers:
        raise InputError(f"{where}: 'layers' must be a non-empty list")
    rows = []
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict):
            raise InputError(f"{where}: layers[{i}] must be an object")
        row = {"name": str(entry.get("name", f"layer{i}")), "type": str(entry.get("type", ""))}
        for key in ("neurons", "spikes", "synops"):
            row[key] = int(_number(entry, key, f"{where} layers[{i}]"))
        graded = entry.get("graded_macs") is not None
        row["graded_macs"] = int(_number(entry, "graded_macs", f"{where} layers[{i}]")) if graded else 0
        rows.append(row)
    return rows


def _device_entry(dev: DeviceProfile, parts: list[dict]) -> dict:
    """parts: per layer {name, synop_joules, neuron_joules, mac_joules}; adds joules and totals."""
    for p in parts:
        p["joules"] = p["synop_joules"] + p["neuron_joules"] + p["mac_joules"]
    return {
        "spiking": dev.spiking,
        "joules_per_inference": float(sum(p["joules"] for p in parts)),
        "per_layer": parts,
        "constants": dict(dev.constants),
        "source": dev.source,
        "notes": dev.notes,
    }


def _spiking_device(dev: DeviceProfile, layers: list[dict]) -> dict:
    return _device_entry(dev, [
        {
            "name": lay["name"],
            "synop_joules": lay["synops"] * dev.e_synop,
            "neuron_joules": lay["neuron_updates"] * dev.e_neuron,
            "mac_joules": lay["graded_macs"] * dev.e_mac,
        }
        for lay in layers
    ])


def _ann_baseline(net: ir.Network | None, profiles: Profiles) -> dict:
    if net is None:
        return {"device": profiles.headline_ann, "joules_per_inference": None, "macs_per_inference": None,
                "devices": {}, "note": "no network available: ANN-equivalent MACs not computed"}
    macs = ann_layer_macs(net)
    devices = {
        dev.name: _device_entry(dev, [
            {"name": lay.name, "synop_joules": 0.0, "neuron_joules": lay.neurons * dev.e_neuron,
             "mac_joules": m * dev.e_mac}
            for lay, m in zip(net.layers, macs)
        ])
        for dev in profiles.ann()
    }
    return {
        "device": profiles.headline_ann,
        "joules_per_inference": devices[profiles.headline_ann]["joules_per_inference"],
        "macs_per_inference": int(sum(macs)),
        "per_layer_macs": [{"name": lay.name, "macs": int(m)} for lay, m in zip(net.layers, macs)],
        "devices": devices,
    }


def estimate_from(
    summary: Mapping | RunRecord,
    net: ir.Network | None = None,
    counts: Mapping[str, np.ndarray] | None = None,
    profiles: Profiles | None = None,
    run_name: str | None = None,
    where: str = "summary.json",
) -> dict:
    """Energy estimate (the energy.json dict) from a summary dict, optional IR and counts arrays.

    With both ``net`` and ``counts`` the synops are recomputed exactly from per-neuron spike
    counts; otherwise the summary's per-layer totals are used. All values are per inference
    (totals / samples); joules per inference per device.
    """
    if isinstance(summary, RunRecord):
        summary = summary.to_dict()
    profiles = profiles or load_profiles()
    samples = int(_number(summary, "samples", where, minimum=1))
    steps = int(_number(summary, "timesteps", where, minimum=1, maximum=2**20))
    notes: list[str] = []
    if net is not None and counts is not None:
        rows, origin = layer_counts(net, counts), "counts.npz"
    else:
        rows, origin = _summary_rows(summary, where), "summary.json"
        if net is not None and len(rows) != len(net.layers):
            raise InputError(f"{where}: {len(rows)} layers, but the network has {len(net.layers)}")
    events = _update_events(net, len(rows))
    layers = []
    for row, ev in zip(rows, events):
        per = {k: row[k] / samples for k in ("spikes", "synops", "graded_macs")}
        updates = row["neurons"] * steps * sum(ev.values())
        layers.append({
            "name": row["name"], "type": row["type"], "neurons": row["neurons"], **per,
            "neuron_updates": updates, "update_events": {k: row["neurons"] * steps * v for k, v in ev.items()},
            "firing_rate": per["spikes"] / (row["neurons"] * steps) if row["neurons"] else 0.0,
        })
    inp = summary.get("input") if isinstance(summary.get("input"), dict) else {}
    per_inference = {
        "input_spikes": float(_optional_number(inp, "spikes", f"{where} input")) / samples,
        "input_graded_events": float(_optional_number(inp, "graded_events", f"{where} input")) / samples,
        **{k: sum(row[k] for row in rows) / samples for k in ("spikes", "synops", "graded_macs")},
        "neuron_updates": int(sum(lay["neuron_updates"] for lay in layers)),
    }
    depth = summary.get("latency_steps")
    if depth is not None:
        depth = int(_number(summary, "latency_steps", where))
    if depth is None and net is not None:
        depth = net.depth()[-1]
    if depth is None:
        notes.append("pipeline latency unknown (no latency_steps in summary, no network)")
    devices = {dev.name: _spiking_device(dev, layers) for dev in profiles.spiking()}
    ann = _ann_baseline(net, profiles)
    if net is None:
        notes.append(ann["note"])
    fit = None
    if net is not None:
        from asnn_neuro.fit.run import fit_network

        try:
            fit = fit_network(net)
        except InputError as exc:  # the estimate stands without a fit
            notes.append(f"no chip fit ({exc})")
    rng = loihi_range(layers, fit)
    from asnn_neuro.energy.loihi_time import loihi_time

    host_in = per_inference["input_spikes"] + per_inference["input_graded_events"]
    if counts is not None and not host_in:  # the summary has no input totals: count them
        host_in = sum(float(np.asarray(counts[k]).sum()) for k in ("input_spikes", "input_graded")
                      if k in counts) / samples
    timing = loihi_time(layers, fit, steps, depth, host_in, rng)
    snn_j = devices[profiles.headline_snn]["joules_per_inference"]
    ann_j = ann["joules_per_inference"]
    return {
        "run": run_name,
        "net": summary.get("net"),
        "backend": summary.get("backend"),
        "samples": samples,
        "timesteps": steps,
        "activity_source": origin,
        "per_inference": per_inference,
        "layers": layers,
        "pipeline_latency_steps": depth,
        "latency_steps": None if depth is None else int(depth) + steps,
        "headline_device": profiles.headline_snn,
        "devices": devices,
        "ann_baseline": ann,
        "snn_to_ann_energy_ratio": snn_j / ann_j if ann_j else None,
        "loihi_range": rng,
        "loihi_time": timing,
        "neurobench": _neurobench(net, counts, samples, steps, notes),
        "fit": None if fit is None else {"chip": fit["chip"], "cores": fit["cores"], "chips": fit["chips"],
                                          "fits": fit["fits"], "idle_watts": fit["idle_watts"]},
        "excluded": list(EXCLUDED),
        "notes": notes,
    }


def _neurobench(net: ir.Network | None, counts: Mapping[str, np.ndarray] | None, samples: int, steps: int,
                notes: list[str]) -> dict | None:
    """NeuroBench's metrics (energy/neurobench.py); None without a network."""
    if net is None:
        return None
    from asnn_neuro.energy.neurobench import neurobench_metrics

    try:
        return neurobench_metrics(net, counts, samples, steps)
    except InputError as exc:
        notes.append(f"NeuroBench metrics not computed ({exc})")
        return None


def estimate(run_dir: Path, profiles: Profiles | None = None, net: ir.Network | None = None) -> dict:
    """Energy estimate of ``run_dir`` (its run record, counts.npz and the network if it can)."""
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    counts = read_counts(run_dir)
    why = None
    if net is None:
        net, why = load_network(summary, run_dir)
    result = estimate_from(summary, net, counts, profiles, run_name=run_dir.name,
                           where=str(run_dir / "summary.json"))
    if result.get("loihi_time") and isinstance(summary.get("network"), str):
        from asnn_neuro.chip.measurements import measured_for

        ref = Path(summary["network"])
        row = measured_for(ref if ref.is_absolute() else run_dir / ref)
        if row is not None:
            result["loihi_time"]["measured"] = row
    if why:
        result["notes"].insert(0, why + ": using summary.json totals")
    return result


def write_energy(run_dir: Path, profiles: Profiles | None = None, net: ir.Network | None = None) -> dict:
    """Estimate and write ``energy.json`` and ``energy.md`` into ``run_dir`` (atomically)."""
    return save_energy(run_dir, estimate(run_dir, profiles, net))


def save_energy(run_dir: Path, result: dict) -> dict:
    """Write an ``estimate`` result as ``energy.json`` and ``energy.md`` into ``run_dir`` (atomically)."""
    from asnn_neuro.energy.markdown import render_energy_md

    text = render_energy_md(result)  # rendered first: a failure leaves neither file
    write_json(Path(run_dir) / "energy.json", result)
    write_text(Path(run_dir) / "energy.md", text)
    return result
