"""Several published Loihi cost models over the same event counts: energy as a range, not a point.

Each model prices one inference's events (joules)::

    E = synops * synop + graded_macs * graded + neuron_updates * neuron
        + spikes * spike + messages * message

messages = spikes x destination cores of the spiking neuron (from ``fit``); without a fit every
spike is one message. A graded event is priced as a binary synop: no source we found gives a
payload-dependent cost. Static (idle) power is a separate line: idle watts of the cores the
network uses (``fit``) x seconds per inference, which only a board run gives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CostModel:
    """Joules per event of one published model."""

    name: str
    synop: float
    graded: float
    neuron: float
    spike: float
    message: float
    source: str
    notes: str


MODELS: tuple[CostModel, ...] = (
    CostModel(
        name="davies2018", synop=23.6e-12, graded=23.6e-12, neuron=81e-12, spike=0.0, message=1.7e-12,
        source="Davies et al., 'Loihi: a neuromorphic manycore processor with on-chip learning', IEEE Micro "
               "38(1), 2018, Table 2 (Loihi 1, pre-silicon, 0.75 V)",
        notes="23.6 pJ per synaptic spike op (min), 81 pJ per active neuron update charged every step, "
              "1.7 pJ within-tile spike energy per message (mesh hops of 3.0-4.2 pJ not counted)"),
    CostModel(
        name="sana-fe-loihi", synop=35.5e-12, graded=35.5e-12, neuron=72.8e-12, spike=69.3e-12,
        message=76.8e-12,
        source="SLAM-Lab/SANA-FE arch/loihi.yaml (Boyle et al., 'SANA-FE: Simulating Advanced Neuromorphic "
               "Architectures for Fast Exploration', 2023-2025): Loihi 1 per-event energies calibrated against "
               "the chip",
        notes="35.5 pJ per synaptic event, 72.8 pJ per active neuron update (every step; inactive is 51.2 pJ), "
              "69.3 pJ per spiking neuron, 76.8 pJ per output axon message (one per destination core)"),
)
LOIHI2_NOTE = ("no public per-operation energy figures for Loihi 2 were found; both models are Loihi 1 "
               "figures, so the range is a Loihi 1-technology estimate of the same events")


def model_joules(model: CostModel, layers: list[dict], reach: list[int] | None) -> dict:
    """One model's joules per inference, per layer and in total; layers: per-inference counts."""
    parts = []
    for i, lay in enumerate(layers):
        messages = lay["spikes"] * (reach[i] if reach else 1)
        parts.append({
            "name": lay["name"],
            "joules": (lay["synops"] * model.synop + lay["graded_macs"] * model.graded
                       + lay["neuron_updates"] * model.neuron + lay["spikes"] * model.spike
                       + messages * model.message),
            "messages": messages,
        })
    return {"joules_per_inference": float(sum(p["joules"] for p in parts)), "per_layer": parts,
            "constants": {k: v for k, v in asdict(model).items() if k not in ("name", "source", "notes")},
            "source": model.source, "notes": model.notes}


def loihi_range(layers: list[dict], fit: dict | None, step_seconds: float | None = None,
                steps_per_inference: int | None = None) -> dict:
    """energy.json's ``loihi_range``: each model, min and max dynamic energy, and the static line."""
    reach = [lay["destination_cores_per_neuron"] for lay in fit["layers"]] if fit else None
    if reach is not None and len(reach) != len(layers):
        reach = None
    models = {m.name: model_joules(m, layers, reach) for m in MODELS}
    joules = [m["joules_per_inference"] for m in models.values()]
    static = {"idle_watts": None, "cores": None, "joules_per_inference": None,
              "note": "no fit: cores unknown"}
    if fit:
        static = {"idle_watts": fit.get("idle_watts"), "cores": fit["cores"], "chip": fit["chip"],
                  "joules_per_inference": None,
                  "note": "idle W of one chip x cores used / cores per chip; x seconds per inference, "
                          "which only a board run gives"}
        if step_seconds and steps_per_inference and fit.get("idle_watts") is not None:
            static["joules_per_inference"] = fit["idle_watts"] * step_seconds * steps_per_inference
            static["seconds_per_inference"] = step_seconds * steps_per_inference
    return {"models": models, "min": min(joules), "max": max(joules), "static": static,
            "messages_from": "fit (destination cores per neuron)" if reach else "one message per spike",
            "graded": "priced as binary synops (no payload-dependent source)", "note": LOIHI2_NOTE}
