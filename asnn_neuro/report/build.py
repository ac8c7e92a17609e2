"""``asnn report RUN [RUN ...] --name OUT``: compare runs in report.md, report.json and PNG plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from asnn_neuro import ir
from asnn_neuro.energy.estimate import save_energy
from asnn_neuro.energy.profiles import Profiles, load_profiles
from asnn_neuro.errors import InputError
from asnn_neuro.report.collect import ReportRow, collect_run, run_energy
from asnn_neuro.report.markdown import render_report_md
from asnn_neuro.report.plots import make_plots
from asnn_neuro.runs import read_run
from asnn_neuro.util.atomic import write_json, write_text
from asnn_neuro.util.outputs import check_target, named_dir


def _check_dirs(run_dirs: list[Path], out_dir: Path) -> None:
    if not run_dirs:
        raise InputError("report: give at least one run directory")
    names = set()
    for r in run_dirs:
        if not r.is_dir():
            raise InputError(f"{r}: no such run directory")
        if r.name in names:
            raise InputError(f"{r}: run name {r.name!r} given twice")
        names.add(r.name)
        if r.resolve() == out_dir.resolve():
            raise InputError(f"{out_dir}: the report would overwrite run {r.name}; choose another --name")
    check_target(out_dir, "report")


def _sources(records: list[ReportRow], profiles: Profiles) -> dict[str, str]:
    used = {d for r in records for d in r.energy_joules_per_inference} | {r.ann_device for r in records}
    return {name: dev.source for name, dev in profiles.devices.items() if name in used}


def build_report(
    run_dirs: Sequence[Path],
    out_dir: Path,
    nets: Mapping[str, ir.Network] | None = None,
    profiles: Profiles | None = None,
) -> dict:
    """Write report.md, report.json and PNG plots for ``run_dirs`` into ``out_dir`` (replaced whole).

    ``nets`` maps a run's directory name to its IR, for runs whose energy.json must be computed
    and whose ``network`` file cannot be read; runs that lack energy.json get it written.
    """
    run_dirs = [Path(r) for r in run_dirs]
    out_dir = Path(out_dir)
    _check_dirs(run_dirs, out_dir)
    profiles = profiles or load_profiles()
    nets = nets or {}
    # every run is read (and its energy estimated) before anything is written: a bad run
    # among good ones leaves no energy.json behind in the good ones
    energies = [run_energy(r, nets.get(r.name), profiles) for r in run_dirs]
    for r in run_dirs:
        read_run(r)
    for r, (energy, new) in zip(run_dirs, energies):
        if new:
            save_energy(r, energy)
    records = [collect_run(r, nets.get(r.name), profiles, energy)
               for r, (energy, _) in zip(run_dirs, energies)]
    devices = list(dict.fromkeys(d for r in records for d in r.energy_joules_per_inference))
    with named_dir(out_dir, "report") as tmp:
        plots, notes = make_plots(records, tmp, profiles.headline_snn)
        data = {
            "name": out_dir.name,
            "headline_device": profiles.headline_snn,
            "ann_device": profiles.headline_ann,
            "devices": devices,
            "runs": [r.to_dict() for r in records],
            "plots": plots,
            "notes": notes,
            "sources": _sources(records, profiles),
        }
        write_json(tmp / "report.json", data)
        write_text(tmp / "report.md", render_report_md(data))
    return data
