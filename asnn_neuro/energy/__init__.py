"""Energy stage: exact synaptic counts, device profiles and the per-inference energy estimate."""

from asnn_neuro.energy.estimate import estimate, estimate_from, write_energy
from asnn_neuro.energy.fanout import ann_macs, fanout, layer_counts, synops
from asnn_neuro.energy.profiles import DeviceProfile, Profiles, load_profiles
from asnn_neuro.util.lazy import callable_stage

__all__ = [
    "DeviceProfile",
    "Profiles",
    "ann_macs",
    "estimate",
    "estimate_from",
    "fanout",
    "layer_counts",
    "load_profiles",
    "synops",
    "write_energy",
]

callable_stage(__name__)  # asnn_neuro.energy(...) is asnn_neuro.api.energy(...)
