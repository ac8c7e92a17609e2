"""``asnn demo``: the whole chain on the embedded mnist5k set, in a few minutes on 2 cores.

Trains two small LeNets -- the paper's hybrid coding with ASNN neurons, and direct
coding with lava-dl's stock CUBA neurons -- exports both to NetX, runs them on the
Lava CPU simulator (fixed point) and on the bit-exact SLAYER path, estimates
energy and writes a comparison report.
"""

from __future__ import annotations

import time
from pathlib import Path

from asnn_neuro.energy.estimate import write_energy
from asnn_neuro.evaluate.quantization import export_and_report
from asnn_neuro.evaluate.simulate import simulate
from asnn_neuro.report.build import build_report
from asnn_neuro.training import train
from asnn_neuro.training.config import TrainConfig

DEMO_MODELS = (
    {"name": "demo-hybrid-asnn", "encoding": "hybrid", "neuron": "asnn", "timesteps": 4},
    {"name": "demo-direct-cuba", "encoding": "direct", "neuron": "cuba", "timesteps": 4},
)


def run_demo(fast: bool = False, workdir: str = "netx_exports", simdir: str = "sims", progress: bool = True) -> dict:
    t0 = time.perf_counter()
    epochs, lava_samples = (1, 20) if fast else (4, 200)
    runs: list[Path] = []
    lines = []
    for spec in DEMO_MODELS:
        name = spec["name"]
        print(f"[demo] training {name} ({spec['encoding']} coding, {spec['neuron']} neurons, "
              f"T={spec['timesteps']}, {epochs} epochs)", flush=True)
        tr = train(TrainConfig(epochs=epochs, workdir=workdir, **spec), show_progress=progress)
        print(f"[demo] exporting {name} to NetX HDF5", flush=True)
        ex = export_and_report(name, workdir=workdir, progress=progress)
        for backend, samples in (("lava", lava_samples), ("executor", 1000)):
            print(f"[demo] simulating {name} on {backend} ({samples} samples)", flush=True)
            s = simulate(name, samples=samples, backend=backend, name=f"{name}-{backend}", workdir=workdir,
                         simdir=simdir, progress=progress)
            e = write_energy(Path(s["run_dir"]))
            runs.append(Path(s["run_dir"]))
            lines.append(f"  {name:18s} {backend:6s} {s['samples']:5d} samples  accuracy {100 * s['accuracy']:6.2f}%  "
                         f"agreement with SLAYER {100 * s['agreement']:6.2f}%  "
                         f"Loihi {e['devices']['loihi']['joules_per_inference'] * 1e6:8.2f} uJ/inference")
        lines.append(f"  {name:18s} trained to {100 * tr['test_accuracy']:.2f}% (float), "
                     f"{100 * ex['accuracy']['quantized_accuracy']:.2f}% fixed point")
    out = Path(simdir) / "demo-report"
    build_report(runs, out)
    print("\n".join(["[demo] results:"] + lines))
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s. Outputs:\n"
          f"  models and NetX files: {workdir}/demo-*/ (network.net, export.json, quantization.json)\n"
          f"  simulation runs:       {simdir}/demo-*-lava/, {simdir}/demo-*-executor/ (summary.json, energy.md)\n"
          f"  comparison report:     {out}/report.md (+ PNG plots)")
    return {"runs": [str(r) for r in runs], "report": str(out)}
