"""docs/loihi_measurements.json + .md: every public Loihi board measurement we found, and ours beside it.

Rows are copied from their sources (notebook outputs, paper tables). For each row whose network
we can read we run ``fit`` (compiler-like and fewest), the time model and the energy models on
the same counted events. Which rows set a coefficient ("training") and which are held out is
stated per row; the errors of held-out rows are reported separately.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip.measurements import ROWS
from asnn_neuro.compat.lava_dl_files import shipped_networks
from asnn_neuro.energy.fanout import fanout
from asnn_neuro.energy.loihi_models import loihi_range
from asnn_neuro.errors import InputError
from asnn_neuro.fit.census import Census, read_census
from asnn_neuro.fit.run import fit_census
from asnn_neuro.fit.timing import L2_SCALE, step_time


def lava_dl_gts() -> Path:
    gts = shipped_networks()
    if gts is None:
        raise InputError("lava-dl's shipped NetX test networks (tests/lava/lib/dl/netx/gts) are not installed")
    return gts


GTS_LAYERS = ["input", "conv-0", "conv-1", "conv-2", "conv-3", "conv-4", "fc-0", "fc-1", "fc-2", "fc-3"]


def _spikes(path: Path) -> tuple[np.ndarray, int]:
    a = np.load(path)
    if path.name.startswith("fc-3"):
        return np.zeros(a.shape[0]), a.shape[-1]
    steps = a.shape[-1]
    a = a.astype(np.int64).sum(-1)
    return (a.transpose(2, 1, 0) if a.ndim == 3 else a).reshape(-1), steps


def pilotnet_activity(census: Census, gts: Path, steps_per_inference: int) -> list[dict]:
    """Per-layer events per inference from lava-dl's recorded PilotNet LIF spikes (24 steps)."""
    spikes = []
    for name in GTS_LAYERS:
        counts, steps = _spikes(gts / ("fc-3-s.npy" if name == "fc-3" else f"{name}.npy"))
        spikes.append(counts * (steps_per_inference / steps))
    rows = []
    for i, lay in enumerate(census.layers):
        synops = sum(float(np.dot(spikes[p.source], fanout(p, census.layers[p.source].shape, lay.shape)))
                     for p in lay.paths if isinstance(p.source, int) and p.source >= 0)
        rows.append({"name": lay.name, "synops": synops, "graded_macs": 0.0, "spikes": float(spikes[i].sum()),
                     "neuron_updates": lay.neurons * steps_per_inference})
    return rows


def _drop_input(census: Census) -> Census:
    census = copy.deepcopy(census)
    census.layers = census.layers[1:]
    for lay in census.layers:
        for p in lay.paths:
            if isinstance(p.source, int):
                p.source = ir.Stream.SPIKES if p.source == 0 else p.source - 1
    return census


def ours(row: dict, path: Path) -> dict:
    """Our cores (compiler-like, fewest), and for PilotNet LIF time and energy, for one row."""
    census = read_census(path)
    if row["name"] == "pilotnet_sdnn":
        census = _drop_input(census)
    out: dict = {}
    fits = {t: fit_census(census, "loihi2", t) for t in ("compiler", "fewest")}
    for t, f in fits.items():
        out[f"cores_{t}"] = f["cores"]
        out[f"per_layer_{t}"] = {lay["name"]: lay["cores"] for lay in f["layers"]}
    out["cores_ratio"] = {t: fits[t]["cores"] / row["cores"] for t in fits}
    if row["name"] == "pilotnet_lif":
        steps = row["steps_per_inference"]
        acts = pilotnet_activity(census, lava_dl_gts() / "pilotnet_lif", steps)
        st = step_time(fits["compiler"], acts, steps)
        out["step_seconds"] = [st["min"], st["max"]]
        out["step_models"] = {k: m["step_seconds"] for k, m in st["models"].items()}
        measured_cores = copy.deepcopy(fits["compiler"])
        for lay in measured_cores["layers"]:
            lay["cores"] = row["core_table"][lay["name"]]
        geo = math.sqrt(step_time(measured_cores, acts, steps)["models"]["loihi1-events/overlap"]["step_seconds"]
                        * step_time(measured_cores, acts, steps)["models"]["loihi1-events/serial"]["step_seconds"])
        out["l2_scale_refit"] = row["step_seconds"] / geo
        rng = loihi_range(acts, fits["compiler"])
        out["dynamic_mj"] = [rng["min"] * 1e3, rng["max"] * 1e3]
        idle = fits["compiler"]["idle_watts"]
        out["static_mj"] = [idle * st["min"] * steps * 1e3, idle * st["max"] * steps * 1e3]
        out["activity"] = {"synops": sum(a["synops"] for a in acts), "spikes": sum(a["spikes"] for a in acts)}
    return out


def build(files: dict[str, Path]) -> dict:
    """The JSON body: rows with measured and ours, and the held-out errors."""
    rows = []
    for row in ROWS:
        entry = {"measured": row}
        path = files.get(row["name"])
        if path is not None and Path(path).is_file():
            entry["ours"] = ours(row, Path(path))
        rows.append(entry)
    held = [e for e in rows if "ours" in e and e["measured"]["role"].startswith("held out")]
    errs = {t: {e["measured"]["name"]: e["ours"]["cores_ratio"][t] - 1 for e in held} for t in ("compiler", "fewest")}
    return {"rows": rows, "l2_scale_used": L2_SCALE,
            "held_out_cores_error": errs,
            "held_out_time_error": None, "held_out_energy_error": None,
            "note": "time and energy have one runnable Loihi 2 row each (PilotNet LIF); it sets the time "
                    "factor, so no held-out time row exists; energy models are not fitted to any row, so "
                    "PilotNet LIF is held out for energy"}


def _r(x, fmt="{:.3g}"):
    return "-" if x is None else fmt.format(x)


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e6:.4g} µs" if seconds < 1e-3 else f"{seconds * 1e3:.4g} ms"


def render(data: dict) -> str:
    """docs/loihi_measurements.md from ``build``'s result."""
    L = ["# Loihi board measurements and our estimates", "",
         "Generated by `python scripts/loihi_measurements.py` (asnn_neuro/apps/loihi_measurements.py). "
         "Measured numbers are copied from the sources named per row; ours come from `fit --tiling compiler` "
         "(default) and `fewest` (lower bound), the time model (asnn_neuro/fit/timing.py, coefficients in "
         "asnn_neuro/chip/timing.py) and the Loihi energy models (asnn_neuro/energy/loihi_models.py).", "",
         "## Measured rows", "",
         "| row | chip | network | cores | time / step | inf / s | dynamic mJ / inf | total mJ / inf | "
         "static W | can we run it | role | source |",
         "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for e in data["rows"]:
        m = e["measured"]
        step = m.get("step_seconds")
        L.append(f"| {m['name']} | {m['chip']} | {m['network']} | {_r(m.get('cores'), '{}')} | "
                 f"{_time(step)} | {_r(m.get('fps'), '{:g}')} | "
                 f"{_r(m.get('dynamic_mj'), '{:.4g}')} | {_r(m.get('total_mj'), '{:.4g}')} | "
                 f"{_r(m.get('static_w'), '{:g}')} | {m['can_run']} | {m['role']} | {m['source']} |")
    n = len(data["rows"])
    L += ["", f"{n} measured rows (goal: 8)." if n >= 8 else
          f"{n} measured rows (goal was 8: we found no further public board measurement whose numbers we could "
          "read; papers we found report Loihi 2 results only as ratios or in tables we could not retrieve).",
          "", "## Ours / measured", "",
          "| row | cores compiler-like (ratio) | cores fewest (ratio) | time / step ours (min - max) | "
          "dynamic mJ ours (min - max) | static mJ ours |", "|---|---:|---:|---|---|---|"]
    for e in data["rows"]:
        o = e.get("ours")
        if not o:
            continue
        m = e["measured"]
        t = o.get("step_seconds")
        step = m.get("step_seconds")
        tcell = "-" if not t else (f"{t[0] * 1e6:.4g} - {t[1] * 1e6:.4g} µs (x {t[0] / step:.2f} - "
                                   f"{t[1] / step:.2f})")
        d = o.get("dynamic_mj")
        dcell = "-" if not d else (f"{d[0]:.3g} - {d[1]:.3g} (x {d[0] / m['dynamic_mj']:.2f} - "
                                   f"{d[1] / m['dynamic_mj']:.2f})")
        s = o.get("static_mj")
        scell = "-" if not s else f"{s[0]:.3g} - {s[1]:.3g}"
        L.append(f"| {m['name']} | {o['cores_compiler']} ({o['cores_ratio']['compiler']:.2f}) | "
                 f"{o['cores_fewest']} ({o['cores_ratio']['fewest']:.2f}) | {tcell} | {dcell} | {scell} |")
    L += ["", "Per layer (compiler-like / measured):", ""]
    for e in data["rows"]:
        o, m = e.get("ours"), e["measured"]
        if o and m.get("core_table"):
            cells = ", ".join(f"{k} {o['per_layer_compiler'].get(k, '?')}/{v}" for k, v in m["core_table"].items())
            L.append(f"- {m['name']}: {cells}")
    errs = data["held_out_cores_error"]
    L += ["", "## Held-out errors", "",
          "Cores (held out: " + ", ".join(errs["compiler"]) + "): compiler-like "
          + ", ".join(f"{k} {v * 100:+.0f} %" for k, v in errs["compiler"].items())
          + "; fewest " + ", ".join(f"{k} {v * 100:+.0f} %" for k, v in errs["fewest"].items()) + ". "
          "Goal 15 %: met on PilotNet SDNN and MNIST, not on Oxford (the compiler puts its 256-neuron layer on "
          "3 cores where our dense rule gives 2).", "",
          "Time: no held-out row. The only Loihi 2 time measurement without host I/O is PilotNet LIF, and it "
          f"sets the one Loihi 2 factor (L2_SCALE = {data['l2_scale_used']}: Loihi 2 events about 2x faster "
          "than Loihi 1's published latencies). The Loihi 1 keyword spotter's 296 inf/s cannot be run (no "
          "NetX file). The time range of a network is therefore a model with one calibration point, not a "
          "validated one; the 25 % goal cannot be checked with public data we could find.", "",
          "Host I/O (held out: Oxford). Every other Loihi 2 time we found has the host in the loop: PilotNet SDNN "
          "59.3 ms per step (a 200 x 66 x 3 frame per step; the notebook names the input path as the "
          "bottleneck), Oxford 8.05 ms per step (at most 200 input spikes per step), YOLO-KP 465 ms per step "
          "(an event camera over Ethernet, 16 chips). Our host line prices values per step at PilotNet SDNN's "
          "rate (1.50 µs per value): for Oxford that is at most 0.30 ms, 96 % under the measured 8.05 ms. "
          "So a Lava run that feeds the chip from Python every step costs milliseconds per step whatever "
          "the network; our chip time range applies only when the input is on chip (as in the PilotNet LIF "
          "benchmark, which drives its input layer by bias). `energy.json` states the host line separately "
          "with this floor.", "",
          "Energy: PilotNet LIF is held out (no energy coefficient is fitted to it); our dynamic range is "
          "above the board's 1.09 mJ (ratio in the table). The 25 % goal is not met: both energy models are "
          "Loihi 1 per-event figures and no public Loihi 2 per-event energy exists.", "",
          "## How the compiler partitions (what the logs show)", "",
          "- conv and input layers: cut along x only into power-of-two column blocks keeping all rows and "
          "channels (PilotNet: `Conv(16, 66, 3)`, `Conv(4, 32, 24)`, ... in the compiler's table), at most "
          "3584 neurons per core (YOLO-KP's layers sit at 87.52 % = 3584 / 4096);",
          "- dense layers: one abstract core per layer, split by `max_ratio = ceil(use / limit)` until it fits "
          "(PilotNet's 2560->100 layer: 61440 words -> ratio 6 -> 12800 words -> ratio 2 -> 12 cores); every "
          "weight is stored, zeros included, at about 15.36 bits per synapse (61440 words x 64 bits / 256000 "
          "synapses). Oxford's log (16128 words for 256 x 200, 16200 for 200 x 256) implies about 20.2 bits "
          "per synapse there, so the width depends on something we do not model; it does not explain our "
          "one miss, though: at 20.2 bits the 256-neuron layer split in 2 needs 200 x 41 = 8200 words and "
          "fits, yet the compiler uses 3 cores of 85 neurons (its log's last violation, 16000 words on one "
          "core, does not tell us why).",
          "- OzU-CAST/LoihiScalingEfficiency (README) describes the same iterative splitting of an abstract "
          "core until the constraint database is satisfied.", "",
          "## Time model", "",
          "Per core and step: neuron updates x 9.7 ns, synaptic events x 3.1 ns (conv) / 3.8 ns (dense), spikes "
          "out x (30 ns + destination cores x 5.1 ns), messages in x 16 ns (Loihi 1, SANA-FE's loihi.yaml / "
          "Davies 2018); a core's time is the largest term (units overlap) or their sum (no overlap); the step "
          "is the busiest core plus barrier sync (0.6-1.8 µs by tiles, SANA-FE). The Loihi 2 set multiplies "
          "all by L2_SCALE. The 2026 runtime model of Timcheck, Pierro and Shrestha (arXiv 2601.10035) has the "
          "same max-affine form with Loihi 2 microbenchmarked constants; we could not read its constants, so "
          "they are not used.", ""]
    return "\n".join(L)
