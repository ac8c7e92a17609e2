"""Public Loihi board measurements (docs/loihi_measurements.md), as data: copied from their sources.

Used by ``apps.loihi_measurements`` (the doc) and by ``fit`` / ``energy`` to show the measured row
beside the estimate when a network file is one of the measured ones (matched by SHA-256).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

NB = "lava-nc/lava-dl tutorials/lava/lib/dl/netx/"
ROWS: list[dict] = [
    {"name": "pilotnet_lif", "chip": "loihi2", "network": "PilotNet LIF (lava-dl), 10 layers, 16 steps/frame",
     "cores": 74, "core_table": {"input": 13, "conv1": 25, "conv2": 13, "conv3": 3, "conv4": 3, "conv5": 2,
                                 "dense7": 12, "dense8": 1, "dense9": 1, "dense10": 1},
     "fps": 408.91, "steps_per_inference": 16, "step_seconds": 1 / (408.91 * 16), "dynamic_mj": 1.093544,
     "total_mj": 1.661103, "static_w": 0.232078, "source": NB + "pilotnet_snn/benchmark.ipynb (outputs)",
     "file": "lava-dl tests gts/pilotnet_lif/network.net", "can_run": "yes: census + lava-dl's recorded spikes",
     "role": "training: sets L2_SCALE (time), DENSE_SYNAPSE_BITS and the conv column rule (cores)"},
    {"name": "pilotnet_sdnn", "chip": "loihi2", "network": "PilotNet SDNN (lava-dl), input layer on the host",
     "cores": 61, "core_table": {"conv1": 25, "conv2": 13, "conv3": 3, "conv4": 3, "conv5": 2, "dense7": 12,
                                 "dense8": 1, "dense9": 1, "dense10": 1},
     "fps": 16.87, "steps_per_inference": 1, "step_seconds": 1 / 16.87, "dynamic_mj": -0.359587,
     "total_mj": 16.343833, "static_w": 0.281775, "source": NB + "pilotnet_sdnn/benchmark.ipynb (outputs)",
     "file": "tutorials .../pilotnet_sdnn/network.net (skip_layers=1)",
     "can_run": "cores only (no recorded activity; the run is host-I/O bound; dynamic energy below idle)",
     "role": "held out for cores; its frame rate sets T_HOST_VALUE (host I/O line, not in the chip range)"},
    {"name": "mnist", "chip": "loihi2", "network": "MNIST 784-128-64-10 CUBA (lava-dl)", "cores": 5,
     "core_table": {"dense0": 3, "dense1": 1, "dense2": 1}, "source": NB + "mnist/run.ipynb (compiler table)",
     "file": "tests/data/lava_dl/mnist_trained.net", "can_run": "cores", "role": "held out (cores)"},
    {"name": "oxford", "chip": "loihi2", "network": "Oxford 200-256-200 CUBA (lava-dl), input spikes from the host",
     "cores": 5, "core_table": {"dense0": 3, "dense1": 2}, "steps_per_inference": 2000,
     "step_seconds": 16.09 / 2000, "source": NB + "oxford/run.ipynb (compiler table; driver log 'Executing"
     "...Done 16.09s' for 2000 time steps: wall time of the run, host-driven input every step)",
     "file": "tutorials .../oxford/Trained/network.net", "can_run": "cores (our reader refuses the file; no activity)",
     "role": "held out (cores); its time per step is host-loop bound (see the host line)"},
    {"name": "yolo_kp", "chip": "loihi2", "network": "YOLO-KP SDNN, 10 conv layers (lava-dl), 16-chip system",
     "cores": 574, "step_seconds": 46.55 / 100,
     "source": NB + "yolo_kp/run.ipynb (compiler table: neurons at 87.52 % of a core in 9 of 10 layers); "
               "run_eth.ipynb driver log 'Executing...Done 46.55s' for 100 time steps (event camera over Ethernet)",
     "file": None, "can_run": "no: the trained network is not in the repository (a Git LFS pointer)",
     "role": "training: its 87.52 % neuron fill sets CONV_NEURON_CAP = 3584"},
    {"name": "dvs_gesture_loihi1", "chip": "loihi1", "network": "DVS Gesture SNN converted from a DNN (89.64 %)",
     "cores": 37, "source": "Massa, Marchisio, Martina, Shafique, 'An efficient spiking neural network for "
               "recognizing gestures with a DVS camera on the Loihi neuromorphic processor', IJCNN 2020, "
               "arXiv:2006.09985 (abstract: 'occupies only 37 Loihi cores')",
     "file": None, "can_run": "no: an NxSDK/SNN-toolbox model (albertomarchisio/EfficientSNN), not a NetX file",
     "role": "not used"},
    {"name": "kws_loihi1", "chip": "loihi1", "network": "keyword spotter, 2 layers x 256 neurons (Nengo)",
     "fps": 296, "dynamic_mj": 0.081 / 296 * 1e3, "total_mj": 0.110 / 296 * 1e3, "static_w": 0.029,
     "source": "Blouw et al., 'Benchmarking keyword spotting efficiency on neuromorphic hardware', "
               "arXiv:1812.01739 (2019), Table (Loihi: idle 0.029 W, running 0.110 W, dynamic 0.081 W, "
               "296 inf/s, 0.00027 J/inf)",
     "file": None, "can_run": "no: a Nengo model (abr/power_benchmarks), not a NetX file", "role": "not used"},
    {"name": "lif_pair_loihi2", "chip": "loihi2",
     "network": "2 LIF neurons, 1 Dense synapse (source spiking at 25 Hz, no delay), 10^7 steps; energies per step",
     "steps_per_inference": 1, "step_seconds": 11.637382776475679 / 1e7,
     "dynamic_mj": 0.26722025399517835 / 1e7 * 1e3, "total_mj": 2.7646187659818313 / 1e7 * 1e3,
     "static_w": 0.21460215555555556,
     "source": "NECOTIS/TemporalLearningInRSNNs loihi_experiment/res.json ['25']['0'] (mean of 100 runs of "
               "delay.py on an Oheo Gulch board, lava 0.10.0 Profiler energy probe, 10^7 steps: total 2.7646 J, "
               "dynamic 0.2672 J (std 0.1999 J), static power 0.2146 W, total_time 11.637 s = energy / power); "
               "Balafrej, Bahadi, Rouat, Alibart, Neuromorph. Comput. Eng. 2025, doi:10.1088/2634-4386/add293",
     "file": None, "can_run": "no: a Lava process graph (LIF-Dense-LIF), not a NetX file; cores not reported",
     "role": "not used"},
]


# first 16 hex digits of the SHA-256 of the measured network files (lava-dl's tutorial / test copies)
FILE_SHA = {"4a47723327c0c9e1": "pilotnet_lif", "25faef9034a1f6e7": "mnist", "1d41dd816a23b3a2": "oxford",
            "70762a22f80e9a01": "pilotnet_sdnn"}


def measured_for(path: str | Path) -> dict | None:
    """The measured row of the network file at ``path`` (by content), or None."""
    try:
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return None
    name = FILE_SHA.get(sha)
    return None if name is None else next(r for r in ROWS if r["name"] == name)
