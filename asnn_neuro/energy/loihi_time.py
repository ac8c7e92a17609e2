"""energy.json's ``loihi_time``: time per step, latency, inferences/s and total energy on Loihi 2
from a run's counted events (``fit.timing``), beside the dynamic energy range and any board
measurement of the same network."""

from __future__ import annotations

from asnn_neuro.fit.timing import step_time, timing_summary


def loihi_time(layers: list[dict], fit: dict | None, steps: int, depth: int | None,
               input_per_inference: float, energy_range: dict) -> dict | None:
    """Time and energy side by side (None without a fit or on a chip other than Loihi 2).

    layers: per inference {name, synops, graded_macs, spikes, neuron_updates}; input_per_inference:
    host input events (spikes + graded values) per inference.
    """
    if not fit or fit.get("chip") != "loihi2" or len(fit["layers"]) != len(layers):
        return None
    per_step_in = input_per_inference / steps
    st = step_time(fit, layers, steps, per_step_in)
    out = timing_summary(st, steps, depth, host_values_per_step=per_step_in)
    idle = fit.get("idle_watts")
    lo_s, hi_s = st["min"] * steps, st["max"] * steps  # chip-busy seconds per inference
    static = None if idle is None else [idle * lo_s, idle * hi_s]
    out["energy_joules"] = {
        "dynamic": [energy_range["min"], energy_range["max"]],
        "static": static,
        "total": None if static is None else [energy_range["min"] + static[0], energy_range["max"] + static[1]],
        "static_note": "idle W of the cores used x seconds per inference from this time model",
    }
    out["models"] = {k: {"step_seconds": m["step_seconds"], "binding_layer": m["binding_layer"],
                         "binding_unit": m["binding_unit"]} for k, m in st["models"].items()}
    out["cores"] = fit["cores"]
    return out
