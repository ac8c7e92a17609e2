"""One report row per simulation run: its ``RunRecord`` + energy.json (computed when absent)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asnn_neuro import ir
from asnn_neuro.energy.estimate import estimate, write_energy
from asnn_neuro.energy.profiles import Profiles
from asnn_neuro.errors import InputError
from asnn_neuro.runs import read_run


@dataclass
class ReportRow:
    """What the report shows of one run: its ``runs.RunRecord`` joined with its energy estimate.
    Energies in joules per inference, accuracies as fractions."""

    run: str
    path: str
    net: str | None
    backend: str | None
    precision: str | None
    dataset: str | None
    encoding: str | None
    neuron: str | None
    timesteps: int
    samples: int
    accuracy: float | None
    reference_accuracy: float | None
    agreement: float | None
    spikes_per_inference: float
    synops_per_inference: float
    graded_macs_per_inference: float
    energy_joules_per_inference: dict[str, float]
    ann_device: str | None
    ann_joules_per_inference: float | None
    ann_macs_per_inference: int | None
    snn_to_ann_energy_ratio: float | None
    latency_steps: int | None
    layers: list[dict] = field(default_factory=list)  # {name, neurons, firing_rate (spikes/neuron/step)}
    has_raster: bool = False
    weight_bits: int | None = None
    fit: dict | None = None                       # {chip, cores, chips, fits, idle_watts} from energy.json
    loihi_energy_range: list[float] | None = None  # [min, max] joules per inference over the cost models

    def to_dict(self) -> dict:
        return asdict(self)


def _read_energy(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: corrupt JSON ({exc}); delete it to recompute") from None
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict) or "per_inference" not in data:
        raise InputError(f"{path}: not an energy estimate of this tool; delete it to recompute")
    return data


def _opt_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_energy(run_dir: Path, net: ir.Network | None = None,
               profiles: Profiles | None = None) -> tuple[dict, bool]:
    """(the run's energy estimate, whether it is new): energy.json when there is one, else computed."""
    energy_path = Path(run_dir) / "energy.json"
    if energy_path.exists():
        return _read_energy(energy_path), False
    return estimate(run_dir, profiles, net), True


def collect_run(run_dir: Path, net: ir.Network | None = None, profiles: Profiles | None = None,
                energy: dict | None = None) -> ReportRow:
    """Read one run (computing and writing its energy.json first if it has none, unless ``energy``
    gives the estimate already)."""
    run_dir = Path(run_dir)
    rec = read_run(run_dir)
    energy_path = run_dir / "energy.json"
    if energy is None:
        energy = _read_energy(energy_path) if energy_path.exists() else write_energy(run_dir, profiles, net)
    per = energy["per_inference"]
    ann = energy.get("ann_baseline") or {}
    joules = {name: float(dev["joules_per_inference"]) for name, dev in energy["devices"].items()}
    return ReportRow(
        run=run_dir.name,
        path=str(run_dir),
        net=rec.net,
        backend=rec.backend,
        precision=rec.precision,
        dataset=rec.dataset,
        encoding=rec.encoding,
        neuron=rec.neuron,
        weight_bits=rec.weight_bits if isinstance(rec.weight_bits, int) else None,
        timesteps=int(energy["timesteps"]),
        samples=int(energy["samples"]),
        accuracy=_opt_float(rec.accuracy),
        reference_accuracy=_opt_float(rec.reference_accuracy),
        agreement=_opt_float(rec.agreement),
        spikes_per_inference=float(per["spikes"]),
        synops_per_inference=float(per["synops"]),
        graded_macs_per_inference=float(per["graded_macs"]),
        energy_joules_per_inference=joules,
        ann_device=ann.get("device"),
        ann_joules_per_inference=_opt_float(ann.get("joules_per_inference")),
        ann_macs_per_inference=ann.get("macs_per_inference"),
        snn_to_ann_energy_ratio=_opt_float(energy.get("snn_to_ann_energy_ratio")),
        latency_steps=energy.get("latency_steps"),
        layers=[{"name": lay["name"], "neurons": lay["neurons"], "firing_rate": lay["firing_rate"]}
                for lay in energy.get("layers", [])],
        has_raster=(run_dir / "raster.npz").exists(),
        fit=energy.get("fit") if isinstance(energy.get("fit"), dict) else None,
        loihi_energy_range=_range(energy.get("loihi_range")),
    )


def _range(rng: object) -> list[float] | None:
    if not isinstance(rng, dict) or _opt_float(rng.get("min")) is None or _opt_float(rng.get("max")) is None:
        return None
    return [float(rng["min"]), float(rng["max"])]
