"""Device energy profiles: per-operation constants (joules) with their citations, read from JSON.

The built-in table is ``profiles.json`` beside this file, the single source of these numbers.
Users add or override devices with their own JSON file of the same schema::

    {"devices": {"my-chip": {"spiking": true,
                             "constants": {"energy_per_synop": 1e-11, "energy_per_neuron": 5e-11,
                                           "energy_per_mac": 1e-11},
                             "source": "datasheet, 2024", "notes": "..."}}}

Spiking devices need ``energy_per_synop``, ``energy_per_neuron`` and ``energy_per_mac`` (graded
event x synapse). Non-spiking devices need ``energy_per_mac`` and ``energy_per_neuron``: they are
charged for the ANN-equivalent pass. Extra constants are kept and shown but not used.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from asnn_neuro.errors import InputError

BUILTIN = Path(__file__).with_name("profiles.json")
SPIKING_KEYS = ("energy_per_synop", "energy_per_neuron", "energy_per_mac")
ANN_KEYS = ("energy_per_mac", "energy_per_neuron")


@dataclass(frozen=True)
class DeviceProfile:
    """One device: joules per synop / neuron update / MAC, and where the numbers come from."""

    name: str
    spiking: bool
    constants: dict[str, float]
    source: str
    notes: str = ""

    @property
    def e_synop(self) -> float:
        return self.constants.get("energy_per_synop", 0.0)

    @property
    def e_neuron(self) -> float:
        return self.constants["energy_per_neuron"]

    @property
    def e_mac(self) -> float:
        return self.constants["energy_per_mac"]


@dataclass
class Profiles:
    """All known devices, in file order, and the headline SNN and ANN devices for reports."""

    devices: dict[str, DeviceProfile] = field(default_factory=dict)
    headline_snn: str = "loihi"
    headline_ann: str = "ann-45nm"

    def spiking(self) -> list[DeviceProfile]:
        return [d for d in self.devices.values() if d.spiking]

    def ann(self) -> list[DeviceProfile]:
        return [d for d in self.devices.values() if not d.spiking]


def _parse_device(name: str, spec: object, where: str) -> DeviceProfile:
    if not isinstance(spec, dict):
        raise InputError(f"{where}: device {name!r} must be a JSON object")
    spiking = spec.get("spiking")
    if not isinstance(spiking, bool):
        raise InputError(f"{where}: device {name!r} needs \"spiking\": true or false")
    consts = spec.get("constants")
    if not isinstance(consts, dict):
        raise InputError(f"{where}: device {name!r} needs a \"constants\" object (joules per operation)")
    for key in SPIKING_KEYS if spiking else ANN_KEYS:
        if key not in consts:
            raise InputError(f"{where}: device {name!r} is missing constant {key!r}")
    clean: dict[str, float] = {}
    for key, value in consts.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{where}: device {name!r} constant {key!r} must be a finite number of joules")
        if value < 0:
            raise InputError(f"{where}: device {name!r} constant {key!r} is negative ({value})")
        clean[key] = float(value)
    source = spec.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"{where}: device {name!r} needs a \"source\" (citation with year)")
    notes = spec.get("notes", "")
    return DeviceProfile(name, spiking, clean, source, notes if isinstance(notes, str) else str(notes))


def _read(path: Path, into: Profiles) -> None:
    where = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{where}: energy profile file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict) or not data["devices"]:
        raise InputError(f"{where}: expected an object with a non-empty \"devices\" object")
    for name, spec in data["devices"].items():
        into.devices[name] = _parse_device(name, spec, where)
    headline = data.get("headline", {})
    if isinstance(headline, dict):
        into.headline_snn = headline.get("snn", into.headline_snn)
        into.headline_ann = headline.get("ann", into.headline_ann)


def load_profiles(extra: list[Path] | None = None) -> Profiles:
    """The built-in profiles plus those in ``extra`` files (later files override by name)."""
    profiles = Profiles()
    for path in [BUILTIN, *(extra or [])]:
        _read(Path(path), profiles)
    for role, name in (("snn", profiles.headline_snn), ("ann", profiles.headline_ann)):
        dev = profiles.devices.get(name)
        if dev is None or dev.spiking != (role == "snn"):
            raise InputError(f"energy profiles: headline {role} device {name!r} is not a known "
                             f"{'spiking' if role == 'snn' else 'non-spiking'} device")
    return profiles
