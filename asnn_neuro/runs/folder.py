"""A run folder (``sims/RUN/``, docs/run_format.md): the one writer and the readers.

``write_run`` writes summary.json, counts.npz, outputs.npz and raster.npz at once (a folder is
complete or absent); ``read_run`` gives the ``RunRecord`` back; ``find_run`` turns what a user
typed (a run name in the sims folder, or a run folder) into the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from asnn_neuro import ir
from asnn_neuro.errors import InputError
from asnn_neuro.runs.record import RunRecord
from asnn_neuro.util import atomic
from asnn_neuro.util import outputs as named

SUMMARY = "summary.json"


def write_run(out_dir: str | Path, record: RunRecord, counts: dict[str, np.ndarray],
              outputs: np.ndarray | None, raster: dict[str, np.ndarray] | None = None) -> RunRecord:
    """Write ``out_dir`` (replaced whole, atomically, and only if it is a run folder or ``--force``
    is on: util/outputs.py): summary.json from ``record``, counts.npz, outputs.npz (``output``:
    (samples, *output shape in x, y, z order, T)) and raster.npz."""
    out_dir = Path(out_dir)
    with named.named_dir(out_dir, "simulate") as tmp:
        atomic.write_json(tmp / SUMMARY, record.to_dict())
        np.savez(tmp / "counts.npz", **counts)
        if outputs is not None:
            np.savez(tmp / "outputs.npz", output=outputs)
        if raster:
            np.savez(tmp / "raster.npz", **raster)
    record.run_dir = str(out_dir)
    return record


def find_run(arg: str | Path, simdir: str | Path = "sims") -> Path:
    """A run folder from a run name in ``simdir`` or a path to a run folder."""
    d = Path(arg)
    if d.is_dir() and (d / SUMMARY).exists():
        return d
    d = Path(simdir) / arg
    if not d.is_dir():
        raise InputError(f"{arg}: no run of that name in {simdir}/ (and not a run folder)")
    return d


def read_summary(run_dir: str | Path) -> dict:
    """summary.json of a run as a dict; InputError naming the file when missing or corrupt."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    path = run_dir / SUMMARY
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing (run `asnn simulate` first)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: corrupt JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def read_run(run_dir: str | Path) -> RunRecord:
    """The ``RunRecord`` of a run folder (``run_dir`` set)."""
    record = RunRecord.from_dict(read_summary(run_dir), where=str(Path(run_dir) / SUMMARY))
    record.run_dir = str(run_dir)
    return record


def _arrays(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except Exception as exc:  # zip/format errors from numpy
        raise InputError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None


def read_counts(run_dir: str | Path) -> dict[str, np.ndarray] | None:
    """counts.npz of a run as a dict of arrays, or None when the run did not write one."""
    return _arrays(Path(run_dir) / "counts.npz")


def read_outputs(run_dir: str | Path) -> np.ndarray | None:
    """outputs.npz's ``output`` (samples, *output shape in x, y, z order, T), or None."""
    arrays = _arrays(Path(run_dir) / "outputs.npz")
    return None if arrays is None or "output" not in arrays else arrays["output"]


def load_network(summary: dict | RunRecord, run_dir: str | Path) -> tuple[ir.Network | None, str | None]:
    """The IR of the run's ``network`` file, or (None, why) when it cannot be had (a float run
    of an imported graph ran ``float.npz``, which has no chip network)."""
    ref = summary.network if isinstance(summary, RunRecord) else summary.get("network")
    if not ref:
        return None, "summary.json names no network file"
    if not isinstance(ref, str):
        return None, f"summary.json: 'network' is not a file name ({ref!r:.60})"
    try:
        path = Path(ref) if Path(ref).is_absolute() else Path(run_dir) / ref
        found = path.is_file()
    except (OSError, ValueError):  # a name the OS refuses (NUL byte, too long)
        found = False
    if not found:
        return None, f"network file {ref!r:.200} not found"
    if path.suffix == ".npz":
        return None, f"{path.name} is a float graph (no chip network)"
    from asnn_neuro.deploy.netx.read import read_network

    return read_network(path), None
