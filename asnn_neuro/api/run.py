"""A simulation run in Python (``Run``), its energy estimate (``energy``) and reports (``report``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from asnn_neuro.runs import RunRecord, find_run, read_counts, read_outputs, read_run


@dataclass
class Run:
    """One run: its ``RunRecord`` (summary.json) and its folder's arrays, read on first use."""

    record: RunRecord

    @property
    def run_dir(self) -> Path:
        return Path(self.record.run_dir)

    @property
    def accuracy(self) -> float | None:
        """Fraction of samples whose prediction matched the labels (None without labels)."""
        return self.record.accuracy

    @property
    def predictions(self) -> np.ndarray:
        """(samples,) the output neuron with the largest value per sample."""
        return np.asarray(self.record.predictions)

    @property
    def scores(self) -> np.ndarray:
        """(samples, output neurons): summary.json's ``outputs`` (what ``output.values`` says)."""
        return np.asarray(self.record.outputs if self.record.outputs is not None else [])

    @cached_property
    def outputs(self) -> np.ndarray | None:
        """(samples, *output shape in x, y, z order, steps): what the last layer sent, every step."""
        return read_outputs(self.run_dir)

    @cached_property
    def counts(self) -> dict[str, np.ndarray]:
        """counts.npz: ``input_spikes``, ``input_graded``, ``layer{i}_spikes``, ``layer{i}_per_step``."""
        return read_counts(self.run_dir) or {}

    @property
    def spikes(self) -> dict[str, int]:
        """Total spikes per layer over all samples."""
        return {lay.name: int(lay.spikes or 0) for lay in self.record.layers}


def as_run(run: Run | RunRecord | str | Path, simdir: str | Path = "sims") -> Run:
    """A ``Run`` from a run, a record, a run folder or a run name in ``simdir``."""
    if isinstance(run, Run):
        return run
    if isinstance(run, RunRecord):
        return Run(run)
    return Run(read_run(run if Path(run).is_dir() else find_run(run, simdir)))


@dataclass
class Energy:
    """A run's energy estimate (energy.json, written into the run folder): joules per inference
    per device, the Loihi range over the published cost models, and the whole estimate."""

    joules_per_inference: dict[str, float]
    loihi_range: tuple[float, float] | None
    data: dict[str, Any]


def energy(run: Run | RunRecord | str | Path, profiles: Sequence[str | Path] = (),
           simdir: str | Path = "sims") -> Energy:
    """Estimate (and write energy.json / energy.md of) ``run``; ``profiles``: extra device JSONs."""
    from asnn_neuro.energy.estimate import write_energy
    from asnn_neuro.energy.profiles import load_profiles

    r = as_run(run, simdir)
    data = write_energy(r.run_dir, load_profiles([Path(p) for p in profiles]) if profiles else None)
    rng = data.get("loihi_range")
    return Energy(joules_per_inference={k: float(v["joules_per_inference"]) for k, v in data["devices"].items()},
                  loihi_range=(rng["min"], rng["max"]) if rng else None, data=data)


def report(runs: Sequence[Run | RunRecord | str | Path], name: str = "report", simdir: str | Path = "sims") -> dict:
    """Compare ``runs`` in ``simdir/NAME/`` (report.md, report.json, plots); returns report.json."""
    from asnn_neuro.report.build import build_report
    from asnn_neuro.util.names import check_name

    check_name(name, "name")
    return build_report([as_run(r, simdir).run_dir for r in runs], Path(simdir) / name)
