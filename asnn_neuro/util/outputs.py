"""Named output folders (netx_exports/NAME, sims/RUN): who made them, and when one may be replaced.

Every command that writes a named folder records its kind (``train``, ``import``, ``simulate``,
``verify``, ``report``, ``fit``) in a marker file, ``.asnn-kind``. A command replaces or adds to
only a folder of its own kind (or an empty one); anything else is refused with one line naming
the folder and ``--force``. With ``--force`` the folder is replaced atomically: the new one is
built in a temporary sibling and swapped in with one rename.

A folder written before markers existed is classified by the files it holds (``LEGACY``, first
match wins): checkpoint.pt or train.json -> train, import.json or float.npz -> import, report.json
-> report, verify.json -> verify, fit.json -> fit, summary.json -> simulate. A folder with none of
them (and not empty) is nobody's: refused without ``--force``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

from asnn_neuro.errors import InputError
from asnn_neuro.util import atomic

MARKER = ".asnn-kind"
KINDS = ("train", "import", "simulate", "verify", "report", "fit")
LEGACY: tuple[tuple[str, str], ...] = (
    ("checkpoint.pt", "train"), ("train.json", "train"), ("import.json", "import"), ("float.npz", "import"),
    ("report.json", "report"), ("verify.json", "verify"), ("fit.json", "fit"), ("summary.json", "simulate"))

_FORCE: contextvars.ContextVar[bool] = contextvars.ContextVar("asnn_force", default=False)


@contextlib.contextmanager
def forcing(force: bool) -> Iterator[None]:
    """Within the block, a named folder of another kind may be replaced (the CLI's ``--force``)."""
    token = _FORCE.set(bool(force))
    try:
        yield
    finally:
        _FORCE.reset(token)


def kind_of(folder: str | Path) -> str | None:
    """The kind recorded in ``folder``'s marker, else inferred from its files (see ``LEGACY``);
    None for a folder that is empty or nobody's."""
    folder = Path(folder)
    marker = folder / MARKER
    if marker.is_file():
        try:
            text = marker.read_text().strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        if text in KINDS:
            return text
    for file, kind in LEGACY:
        if (folder / file).exists():
            return kind
    return None


def _is_empty(folder: Path) -> bool:
    return not any(p.name != MARKER for p in folder.iterdir())


def check_writable(folder: str | Path) -> None:
    """InputError unless ``folder`` can be created or written by this process: its nearest existing
    ancestor (or itself) must be a folder we may write into. Writes nothing."""
    folder = Path(folder)
    probe = folder
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"{folder}: cannot write here: {probe} exists and is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{folder}: cannot write here: {probe} is not writable (permissions or a "
                         "read-only file system)")


def check_target(folder: str | Path, kind: str) -> bool:
    """Before any work: may a ``kind`` command write ``folder``? InputError if not (another kind's
    folder without --force, a plain file, an unwritable place). True when it already holds a
    folder that will be replaced."""
    assert kind in KINDS, kind
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError(f"{folder}: exists and is not a folder; remove it or choose another name")
    check_writable(folder.parent if not folder.exists() else folder)
    if not folder.exists():
        return False
    check_writable(folder.parent)
    if _is_empty(folder):
        return True
    found = kind_of(folder)
    if found != kind and not _FORCE.get():
        what = f"made by asnn {found}" if found else "not made by asnn"
        raise InputError(f"{folder}: exists and is not a previous {kind} ({what}); choose another name, or "
                         "pass --force to replace it")
    return True


def write_marker(folder: str | Path, kind: str) -> None:
    atomic.write_text(Path(folder) / MARKER, kind + "\n")


@contextlib.contextmanager
def named_dir(target: str | Path, kind: str) -> Iterator[Path]:
    """Build the whole folder ``target`` in a temporary sibling; on success it replaces ``target``
    (checked with ``check_target`` first) in one rename."""
    check_target(target, kind)
    with atomic.atomic_dir(target) as tmp:
        write_marker(tmp, kind)
        yield tmp


def claim(folder: str | Path, kind: str) -> Path:
    """For commands that add files to a folder in place (train, verify, fit): check it, replace a
    foreign folder under --force (swapped out in one rename), create it, write the marker."""
    folder = Path(folder)
    if check_target(folder, kind) and not _is_empty(folder) and kind_of(folder) != kind:
        with atomic.atomic_dir(folder) as tmp:  # only under --force: an empty folder of our kind takes its place
            write_marker(tmp, kind)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / MARKER).is_file():
        write_marker(folder, kind)
    return folder


def refuse_float_only(workdir: str | Path, name: str) -> None:
    """InputError if export ``name`` is an import whose chip path was refused (float graph only):
    every command that needs the chip network says so, and why, in the same words."""
    import json

    if "/" in name or name.endswith(".net"):
        return
    folder = Path(workdir) / name
    info = folder / "import.json"
    if (folder / "network.net").is_file() or not info.is_file():
        return
    try:
        reason = json.loads(info.read_text()).get("chip_refused")
    except (OSError, ValueError, AttributeError):
        reason = None
    why = reason or "of an unknown reason"
    raise InputError(f"{folder}: float-only import: the chip path was refused because {why}; only "
                     f"'asnn simulate {name} --backend executor --precision float' runs it")
