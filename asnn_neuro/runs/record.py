"""``RunRecord``: what one simulation run did, as typed fields (docs/run_format.md).

It is ``summary.json``, field for field: ``to_dict`` writes the keys INTERFACE.md and
docs/run_format.md name (keys a reader does not know are kept in ``extra`` and written back),
``from_dict`` reads any run folder written so far (absent keys become None). Counts are totals
over all samples; times in seconds; accuracies as fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from asnn_neuro.errors import InputError


@dataclass
class LayerRecord:
    """One population's activity over the run: spikes (SDNN: nonzero messages), the synaptic
    operations its input paths caused, graded multiply-accumulates, spikes per step."""

    name: str
    type: str
    neurons: int
    spikes: int | None
    synops: int | None = None
    graded_macs: int | None = None
    per_step_spikes: list[int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class InputTotals:
    """Input events over all samples: neurons of the input, spikes sent, graded payloads sent."""

    neurons: int
    spikes: int
    graded_events: int


@dataclass
class OutputInfo:
    """What ``outputs`` holds: the output layer, its neurons, and ``spike_counts`` | ``state`` |
    ``message_sums`` (docs/run_format.md)."""

    layer: str
    neurons: int
    values: str


@dataclass
class RunRecord:
    """summary.json of one run (docs/run_format.md); ``run_dir`` is where it lies (not written)."""

    net: str | None
    network: str | None
    backend: str | None
    precision: str | None
    samples: int
    timesteps: int
    dataset: str | None = None
    input_file: str | None = None
    encoding: str | None = None
    neuron: str | None = None
    model: str | None = None
    weight_bits: int | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    agreement: float | None = None
    wall_s: float | None = None
    run_s: float | None = None
    compile_s: float | None = None
    steps: int | None = None
    steps_per_s: float | None = None
    samples_per_s: float | None = None
    latency_steps: int | None = None
    pipeline_fill: bool = False
    stream: str | None = None  # how samples followed each other: reset | fill | continuous (backends/stream.py)
    input: InputTotals | None = None
    layers: list[LayerRecord] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)
    output: OutputInfo | None = None
    outputs: list[list[float]] | None = None
    source: str | None = None  # an imported graph's float run: whose conventions, and its step (s)
    dt: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    run_dir: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The summary.json object (``source``/``dt`` only for float runs of imported graphs)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("extra", "run_dir") or (f.name in ("source", "dt") and getattr(self, f.name) is None):
                continue
            value = getattr(self, f.name)
            if f.name == "layers":
                value = [_layer_dict(lay) for lay in value]
            elif isinstance(value, (InputTotals, OutputInfo)):
                value = dict(vars(value))
            out[f.name] = value
        out.update(self.extra)
        return out

    def summary(self) -> dict[str, Any]:
        """``to_dict`` plus ``run_dir``: what ``evaluate.simulate.simulate`` returns."""
        return {**self.to_dict(), "run_dir": self.run_dir}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "summary.json") -> RunRecord:
        """Read a summary.json object; ``where`` names it in errors (InputError, exit 2)."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object")
        known = {f.name for f in fields(cls)} - {"extra", "run_dir"}
        kw: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        kw["extra"] = {k: v for k, v in data.items() if k not in known}
        for key in ("net", "network", "backend", "precision"):
            kw.setdefault(key, None)
        for key in ("samples", "timesteps"):
            kw[key] = _int(data.get(key), key, where)
        layers = data.get("layers") or []
        if not isinstance(layers, list):
            raise InputError(f"{where}: 'layers' must be a list")
        kw["layers"] = [_layer(entry, i, where) for i, entry in enumerate(layers)]
        inp = data.get("input")
        kw["input"] = (InputTotals(**{k: _int(inp.get(k, 0), f"input.{k}", where) for k in
                                      ("neurons", "spikes", "graded_events")}) if isinstance(inp, dict) else None)
        out = data.get("output")
        kw["output"] = (OutputInfo(layer=str(out.get("layer")), neurons=_int(out.get("neurons"), "output.neurons",
                                   where), values=str(out.get("values"))) if isinstance(out, dict) else None)
        predictions = data.get("predictions") or []
        if not isinstance(predictions, list):
            raise InputError(f"{where}: 'predictions' must be a list")
        kw["predictions"] = predictions
        return cls(**kw)


_LAYER_KEYS = ("name", "type", "neurons", "spikes", "synops", "graded_macs", "per_step_spikes")


def _layer_dict(lay: LayerRecord) -> dict[str, Any]:
    out = {k: getattr(lay, k) for k in _LAYER_KEYS if k in _LAYER_KEYS[:4] or getattr(lay, k) is not None}
    return {**out, **lay.extra}


def _layer(entry: Any, i: int, where: str) -> LayerRecord:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: layers[{i}] must be an object")
    return LayerRecord(name=str(entry.get("name", f"layer{i}")), type=str(entry.get("type", "")),
                       neurons=_int(entry.get("neurons", 0), f"layers[{i}].neurons", where),
                       spikes=entry.get("spikes"), synops=entry.get("synops"), graded_macs=entry.get("graded_macs"),
                       per_step_spikes=entry.get("per_step_spikes"),
                       extra={k: v for k, v in entry.items() if k not in _LAYER_KEYS})


def _int(value: Any, key: str, where: str) -> int:
    if value is None:
        return 0
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value)):
        raise InputError(f"{where}: {key!r} must be an integer, got {value!r:.60}")
    return int(value)
