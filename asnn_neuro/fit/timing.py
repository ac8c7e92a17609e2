"""Time per algorithmic step on Loihi from counted events per core (pure: fit + counts in, dict out).

Per layer, its events per step are spread evenly over its cores (``fit``). One core's time::

    t_core = [n * T_NEURON, s * T_SYNOP, o * (T_SPIKE_OUT + r * T_MESSAGE_OUT), m * T_MESSAGE_IN]

n neuron updates, s synaptic events, o spikes out (each sent to r destination cores), m messages
in. The core's units overlap (a pipeline), so its time lies between the largest term
(``overlap``, the max-affine lower bound) and their sum (``serial``). Cores run in parallel and
meet at a barrier, so::

    t_step = max over cores (t_core) + t_sync(cores)

Two coefficient sets (``chip.timing``): Loihi 1's per-event latencies as published, and the same
scaled by one factor fitted on Loihi 2's one time measurement without host I/O (PilotNet LIF).
The range is min and max over {overlap, serial} x {sets}. Host I/O (input values sent from the
host every step) is a separate line: on a board it can dominate (lava-dl's PilotNet SDNN).
"""

from __future__ import annotations

import math

from asnn_neuro.chip import timing as tm

L2_SCALE = 0.496  # fitted: PilotNet LIF measured step / our Loihi 1 estimate (geometric mean of
#                   overlap and serial) on the compiler's own core table; docs/loihi_measurements.md
SETS = {"loihi1-events": 1.0, "loihi2-scaled": L2_SCALE}


def _terms(n: float, s: float, o: float, r: float, m: float, conv: bool) -> dict[str, float]:
    return {"neurons": n * tm.T_NEURON, "synapses": s * (tm.T_SYNOP_CONV if conv else tm.T_SYNOP_DENSE),
            "spikes_out": o * (tm.T_SPIKE_OUT + r * tm.T_MESSAGE_OUT), "messages_in": m * tm.T_MESSAGE_IN}


def core_events(fit: dict, layers: list[dict], steps: int, input_per_step: float = 0.0) -> list[dict]:
    """Per layer: the events of its busiest core in one step (even spread over the layer's cores).

    layers: per inference {name, synops, spikes, neuron_updates} in fit's layer order; steps:
    time steps per inference; input_per_step: host input events per step (to the first layer).
    """
    flay = fit["layers"]
    if len(flay) != len(layers):
        raise ValueError(f"fit has {len(flay)} layers, activity has {len(layers)}")
    out = []
    for i, (f, a) in enumerate(zip(flay, layers)):
        cores = max(1, int(f["cores"]))
        reach = float(f.get("destination_cores_per_neuron", 1))
        if i == 0:
            incoming = input_per_step
        else:
            prev, pf = layers[i - 1], flay[i - 1]
            incoming = prev["spikes"] / steps * min(float(pf.get("destination_cores_per_neuron", 1)), cores)
        out.append({
            "name": f["name"], "cores": cores, "conv": any(k in ("conv", "pool") for k in f.get("kinds", [])),
            "neuron_updates": a["neuron_updates"] / steps / cores,
            "synops": (a["synops"] + a.get("graded_macs", 0.0)) / steps / cores,
            "spikes_out": a["spikes"] / steps / cores, "reach": reach,
            "messages_in": incoming / cores,
        })
    return out


def step_time(fit: dict, layers: list[dict], steps: int, input_per_step: float = 0.0) -> dict:
    """Seconds per step for each coefficient set and overlap assumption, their min and max,
    and which layer's cores bind."""
    events = core_events(fit, layers, steps, input_per_step)
    sync = tm.sync_seconds(fit["cores"])
    models: dict[str, dict] = {}
    for set_name, scale in SETS.items():
        for mode in ("overlap", "serial"):
            per_layer = []
            for e in events:
                t = _terms(e["neuron_updates"], e["synops"], e["spikes_out"], e["reach"], e["messages_in"],
                           e["conv"])
                core = (max(t.values()) if mode == "overlap" else sum(t.values())) * scale
                per_layer.append({"name": e["name"], "core_seconds": core,
                                  "dominant": max(t, key=t.get)})
            busiest = max(per_layer, key=lambda p: p["core_seconds"])
            models[f"{set_name}/{mode}"] = {
                "step_seconds": busiest["core_seconds"] + sync * scale, "sync_seconds": sync * scale,
                "binding_layer": busiest["name"], "binding_unit": busiest["dominant"], "per_layer": per_layer}
    secs = [m["step_seconds"] for m in models.values()]
    return {"models": models, "min": min(secs), "max": max(secs), "events_per_core": events,
            "l2_scale": L2_SCALE}


def host_io_seconds(values_per_step: float) -> float:
    """Host-to-chip time of one step's input values at lava-dl's measured PilotNet SDNN rate."""
    return values_per_step * tm.L2_HOST_FRAME_STEP_S / tm.L2_HOST_FRAME_VALUES


def timing_summary(step: dict, steps_per_inference: int, pipeline_depth: int | None,
                   host_values_per_step: float = 0.0) -> dict:
    """Time per step, latency per inference and inferences/s (min/max) from ``step_time``.

    Latency of one inference = (steps + pipeline depth) steps; throughput = one inference per
    ``steps`` steps (inputs follow each other, as in lava-dl's benchmarks).
    """
    depth = int(pipeline_depth or 0)
    lo, hi = step["min"], step["max"]
    io = host_io_seconds(host_values_per_step) if host_values_per_step else 0.0
    return {
        "step_seconds": [lo, hi],
        "latency_seconds": [lo * (steps_per_inference + depth), hi * (steps_per_inference + depth)],
        "inferences_per_second": [1.0 / (hi * steps_per_inference), 1.0 / (lo * steps_per_inference)],
        "steps_per_inference": steps_per_inference, "pipeline_depth": depth,
        "host_io": {"values_per_step": host_values_per_step, "seconds_per_step": io,
                    "host_loop_floor_seconds": tm.L2_HOST_LOOP_STEP_S,
                    "note": "not in the range: input values sent from the host each step at lava-dl's "
                            "measured PilotNet SDNN rate; a Python host loop measured at least 8.05 ms per "
                            "step (lava-dl Oxford), so with input from the host it dominates"},
        "binding": {k: (m["binding_layer"], m["binding_unit"]) for k, m in step["models"].items()},
    }


def saturated_activity(fit: dict, census_layers: list, steps: int) -> tuple[list[dict], list[dict]]:
    """Activity bounds without a run: (silent, saturated) per layer per inference.

    silent: no spikes (neuron updates only); saturated: every neuron spikes every step and every
    synapse it drives is an event (synops = neurons x dense fan-out, from fit's words is not
    possible, so fan-out = the next layer's neurons for dense, kernel taps x out channels for conv).
    """
    silent, full = [], []
    for f in fit["layers"]:
        n = int(f["neurons"])
        silent.append({"name": f["name"], "synops": 0.0, "spikes": 0.0, "neuron_updates": n * steps})
        full.append({"name": f["name"], "synops": 0.0, "spikes": float(n * steps), "neuron_updates": n * steps})
    for j, lay in enumerate(census_layers):
        for p in lay.paths:
            src = p.source
            n_src = fit["layers"][src]["neurons"] if isinstance(src, int) and src >= 0 else 0
            if not n_src:
                continue
            full[j]["synops"] += float(n_src) * steps * _fanout(p, fit["layers"][j])
    return silent, full


def _fanout(path, dst: dict) -> float:
    """Synapses one source neuron drives on a path (dense: destination neurons; conv: taps x outs
    divided by stride area)."""
    if path.kind == "dense":
        return float(dst["neurons"])
    if path.kind == "identity":
        return 1.0
    kh, kw = path.kernel if path.weight is None else path.weight.shape[-2:]
    sh, sw = path.stride
    outs = dst["shape"][0] if path.kind == "conv" else 1
    return float(kh * kw * outs) / max(1, sh * sw) / max(1, int(getattr(path, "groups", 1) or 1)
                                                          if path.kind == "conv" else 1)


def fmt_range(lo: float, hi: float, unit: str = "s") -> str:
    """'a - b unit' with SI prefixes (µs, ms) chosen from the upper value."""
    if unit == "s":
        scale, name = (1e6, "µs") if hi < 1e-3 else (1e3, "ms") if hi < 1 else (1.0, "s")
        return f"{lo * scale:.3g} - {hi * scale:.3g} {name}"
    return f"{lo:.3g} - {hi:.3g} {unit}" if math.isfinite(hi) else f"{lo:.3g} - inf {unit}"


def fit_time_bounds(fit: dict, census) -> dict:
    """fit.json's ``timing`` without a run: time per step between a silent network (neuron updates
    and barrier only) and a saturated one (every neuron spikes every step); a run's counted
    activity (``asnn energy``) narrows it."""
    steps = int(census.timesteps or 1)
    silent, full = saturated_activity(fit, census.layers, steps)
    lo = step_time(fit, silent, steps)
    hi = step_time(fit, full, steps)
    depth = len(fit["layers"])
    return {
        "activity": "bounds: silent (no spikes) to saturated (every neuron spikes every step)",
        "steps_per_inference": steps, "steps_from": "the file's timesteps" if census.timesteps else "assumed 1",
        "silent": timing_summary(lo, steps, depth), "saturated": timing_summary(hi, steps, depth),
        "step_seconds": [lo["min"], hi["max"]],
        "latency_seconds": [lo["min"] * (steps + depth), hi["max"] * (steps + depth)],
        "inferences_per_second": [1.0 / (hi["max"] * steps), 1.0 / (lo["min"] * steps)],
        "l2_scale": L2_SCALE,
    }
