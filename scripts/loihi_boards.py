"""Run `fit` and the Loihi energy models on the networks lava-dl measured on Loihi 2 boards.

Writes docs/loihi_boards.json (used by docs/loihi_fit.md). Measurements are copied from lava-dl's
notebooks (lava-nc/lava-dl, tutorials/lava/lib/dl/netx, outputs recorded in the notebooks); they
are compared with, never used to set, our constants.

    python scripts/loihi_boards.py --lava-dl PATH   # a lava-dl checkout (tutorial networks)

PilotNet LIF is read from lava-dl's installed test files (the same file as the tutorial's
pilotnet_snn/network.net); its activity comes from lava-dl's recorded per-layer spike trains of
that network (tests/lava/lib/dl/netx/gts/pilotnet_lif/*.npy, one image, 24 steps).
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.energy.fanout import fanout
from asnn_neuro.energy.loihi_models import loihi_range
from asnn_neuro.fit.census import Census, read_census
from asnn_neuro.fit.run import fit_census
from asnn_neuro.util.atomic import write_json

NOTEBOOKS = "lava-nc/lava-dl tutorials/lava/lib/dl/netx"
MEASURED = {
    "pilotnet_lif": {
        "notebook": "pilotnet_snn/benchmark.ipynb", "cores": 74, "fps": 408.91, "steps_per_inference": 16,
        "total_mj": 1.661103, "dynamic_mj": 1.093544, "static_w": 0.232078,
        "core_table": {"input": 13, "conv1": 25, "conv2": 13, "conv3": 3, "conv4": 3, "conv5": 2,
                       "dense7": 12, "dense8": 1, "dense9": 1, "dense10": 1},
        "note": "the compiler prints 12 cores of 8 neurons for the 100-neuron dense layer and a total of 74"},
    "pilotnet_sdnn": {
        "notebook": "pilotnet_sdnn/benchmark.ipynb", "cores": 61, "fps": 16.87, "steps_per_inference": 1,
        "total_mj": 16.343833, "dynamic_mj": -0.359587, "static_w": 0.281775,
        "core_table": {"conv1": 25, "conv2": 13, "conv3": 3, "conv4": 3, "conv5": 2, "dense7": 12,
                       "dense8": 1, "dense9": 1, "dense10": 1},
        "note": "run with skip_layers=1 (no input layer on chip); the measured dynamic energy is negative "
                "(below the idle reading), i.e. not resolved by the board's power meter"},
    "mnist": {"notebook": "mnist/run.ipynb", "cores": 5, "core_table": {"dense0": 3, "dense1": 1, "dense2": 1},
              "note": "cores only; no power measurement in the notebook"},
    "oxford": {"notebook": "oxford/run.ipynb", "cores": None,
               "note": "no core table; the compiler log reports SynMem violations of 16128 and 16200 words "
                       "(limit 12000) and splits with max_ratio=2"},
}
FILES = {"mnist": "mnist/trained_mnist_network.net", "oxford": "oxford/Trained/network.net",
         "pilotnet_sdnn": "pilotnet_sdnn/network.net"}
GTS_LAYERS = ["input", "conv-0", "conv-1", "conv-2", "conv-3", "conv-4", "fc-0", "fc-1", "fc-2", "fc-3"]


def lava_dl_gts() -> Path:
    import lava.lib.dl as dl

    return Path(list(dl.__path__)[0]).parents[2] / "tests" / "lava" / "lib" / "dl" / "netx" / "gts"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _spikes_chw(path: Path) -> tuple[np.ndarray, int]:
    """Per-neuron spike totals in torch (C, H, W) order, and the number of steps recorded."""
    a = np.load(path)
    if path.name.startswith("fc-3"):  # the last layer is recorded as states; it has no spike output
        return np.zeros(a.shape[0], dtype=np.int64), a.shape[-1]
    steps = a.shape[-1]
    a = a.astype(np.int64).sum(-1)
    return (a.transpose(2, 1, 0) if a.ndim == 3 else a).reshape(-1), steps


def pilotnet_lif_activity(census: Census, gts: Path, steps_per_inference: int) -> list[dict]:
    """Per-layer events per inference from lava-dl's recorded spikes (per-step mean x steps)."""
    spikes, rows = [], []
    for name in GTS_LAYERS:
        counts, steps = _spikes_chw(gts / ("fc-3-s.npy" if name == "fc-3" else f"{name}.npy"))
        spikes.append(counts * (steps_per_inference / steps))
    for i, lay in enumerate(census.layers):
        if spikes[i].size != lay.neurons:
            raise SystemExit(f"{lay.name}: {spikes[i].size} recorded neurons, census has {lay.neurons}")
        synops = 0.0
        for p in lay.paths:
            if isinstance(p.source, int):
                src = census.layers[p.source].shape
                synops += float(np.dot(spikes[p.source], fanout(p, src, lay.shape)))
        rows.append({"name": lay.name, "synops": synops, "graded_macs": 0.0, "spikes": float(spikes[i].sum()),
                     "neuron_updates": lay.neurons * steps_per_inference})
    return rows


def board(name: str, path: Path, skip_input: bool = False) -> dict:
    census = read_census(path)
    if skip_input and census.layers and census.layers[0].name == "input":
        census.layers = census.layers[1:]
        for lay in census.layers:
            for p in lay.paths:
                if isinstance(p.source, int):
                    p.source = ir.Stream.SPIKES if p.source == 0 else p.source - 1
        census.notes.append("input layer dropped (the board ran it with skip_layers=1)")
    fits = {tiling: fit_census(census, "loihi2", tiling) for tiling in ("fewest", "pow2")}
    m = MEASURED[name]
    entry = {
        "name": name, "file": path.name, "sha256_16": _sha(path), "read_with": census.origin,
        "notes": census.notes, "measured": {**m, "source": f"{NOTEBOOKS}/{m['notebook']}"},
        "ours": {t: {"cores": f["cores"], "chips": f["chips"], "fits": f["fits"],
                     "per_layer": {lay["name"]: lay["cores"] for lay in f["layers"]},
                     "binding": {lay["name"]: lay["split_by"] for lay in f["layers"]},
                     "unsplit_synaptic_words": {lay["name"]: round(lay["unsplit_utilisation"]["synaptic_memory"]
                                                                   * f["limits_per_core"]["synaptic_memory"])
                                                for lay in f["layers"]}}
                 for t, f in fits.items()},
        "loihi1_cores": fit_census(census, "loihi1", "fewest")["cores"],
    }
    if m.get("cores"):
        entry["cores_ratio_ours_to_measured"] = {t: fits[t]["cores"] / m["cores"] for t in fits}
    if name == "pilotnet_lif":
        steps = m["steps_per_inference"]
        rows = pilotnet_lif_activity(census, lava_dl_gts() / "pilotnet_lif", steps)
        step_s = 1.0 / (m["fps"] * steps)
        rng = loihi_range(rows, fits["fewest"], step_seconds=step_s, steps_per_inference=steps)
        dyn = m["dynamic_mj"] * 1e-3
        entry["activity"] = {"source": "lava-dl gts/pilotnet_lif/*.npy (one image, 24 recorded steps, scaled to "
                                       f"{steps} steps per inference)", "layers": rows,
                             "synops": sum(r["synops"] for r in rows), "spikes": sum(r["spikes"] for r in rows)}
        entry["energy"] = {
            "models_mj": {k: v["joules_per_inference"] * 1e3 for k, v in rng["models"].items()},
            "range_mj": [rng["min"] * 1e3, rng["max"] * 1e3],
            "ratio_to_measured_dynamic": [rng["min"] / dyn, rng["max"] / dyn],
            "static_line": {**rng["static"], "seconds_per_inference_from": "the board's measured frame rate"},
            "measured_static_mj": m["static_w"] / m["fps"] * 1e3,
        }
        st = rng["static"]["joules_per_inference"]
        entry["energy"]["total_range_mj"] = [(rng["min"] + st) * 1e3, (rng["max"] + st) * 1e3]
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lava-dl", default=None, help="a lava-dl checkout (for the tutorial networks)")
    ap.add_argument("--out", default="docs/loihi_boards.json")
    a = ap.parse_args()
    boards = [board("pilotnet_lif", lava_dl_gts() / "pilotnet_lif" / "network.net")]
    pending = []
    for name, rel in FILES.items():
        path = Path(a.lava_dl or "", "tutorials/lava/lib/dl/netx", rel)
        if name == "mnist" and not a.lava_dl:
            path = Path(__file__).parents[1] / "tests" / "data" / "lava_dl" / "mnist_trained.net"
        if path.is_file():
            boards.append(board(name, path, skip_input=(name == "pilotnet_sdnn")))
        else:
            pending.append(f"{name}: needs --lava-dl (tutorials/lava/lib/dl/netx/{rel})")
    write_json(Path(a.out), {"boards": boards, "pending": pending,
                             "note": "measured figures from lava-dl's notebooks; ours from asnn fit / the "
                                     "Loihi cost models; nothing here is fitted to the measurements"})
    for b in boards:
        ours = b["ours"]
        print(f"{b['name']:14s} measured {b['measured'].get('cores')} cores; ours fewest {ours['fewest']['cores']}, "
              f"pow2 {ours['pow2']['cores']}" + (f"; energy {b['energy']['range_mj'][0]:.3g}-"
                                                 f"{b['energy']['range_mj'][1]:.3g} mJ vs measured dynamic "
                                                 f"{b['measured']['dynamic_mj']:.3g} mJ" if "energy" in b else ""))
    print(f"-> {a.out}" + (f" (pending: {'; '.join(pending)})" if pending else ""))
    assert all(math.isfinite(b["ours"]["fewest"]["cores"]) for b in boards)


if __name__ == "__main__":
    main()
