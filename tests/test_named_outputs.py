"""Named output folders (issue 21): a command replaces only a folder its own kind made; --force
replaces any folder whole and atomically; a plain file is never replaced; what is written follows
the umask; an unwritable or full output place is bad input (exit 2), found before the work.

The refusals themselves (exit 2, one line, nothing changed) are cases of test_reliability.py.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_nets import tiny_hybrid_net
from tiny_nir import mlp_nir

from asnn_neuro.cli import main
from asnn_neuro.deploy.netx.write import write_network

MARKER = ".asnn-kind"  # asnn_neuro.util.outputs.MARKER: which command made a folder


def kind_of(folder: Path) -> str | None:
    marker = folder / MARKER
    return marker.read_text().strip() if marker.is_file() else None


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    (tmp_path / "work").mkdir()
    (tmp_path / "sims").mkdir()
    mlp_nir(tmp_path / "m.nir")
    write_network(tiny_hybrid_net(), tmp_path / "n.net")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 2, (2, 6, 6, 1, 3)).astype(np.float64))
    yield tmp_path
    os.umask(old)


def asnn(tmp: Path, *argv: str) -> int:
    return main([*argv, "--workdir", str(tmp / "work"), "--simdir", str(tmp / "sims"), "--quiet"])


def hidden(folder: Path) -> list[str]:
    """Leftovers of a replacement: temporary or .old siblings (hidden names) next to the named folders."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_import_replaces_a_trained_model_only_with_force(env, capsys):
    t1 = env / "work" / "t1"
    t1.mkdir()
    (t1 / "checkpoint.pt").write_bytes(b"weights")  # a folder of an older version: no marker
    (t1 / "train.json").write_text("{}")
    assert asnn(env, "import", str(env / "m.nir"), "--name", "t1") == 2
    assert "--force" in capsys.readouterr().err
    assert (t1 / "checkpoint.pt").read_bytes() == b"weights"
    assert asnn(env, "import", str(env / "m.nir"), "--name", "t1", "--force") == 0
    assert sorted(p.name for p in t1.iterdir()) == [MARKER, "float.npz", "import.json", "network.net"]
    assert (t1 / MARKER).read_text() == "import\n"
    assert hidden(env / "work") == []


def test_the_same_kind_replaces_its_own_folder(env):
    for _ in range(2):
        assert asnn(env, "import", str(env / "m.nir"), "--name", "m") == 0
    for _ in range(2):
        assert asnn(env, "simulate", str(env / "n.net"), "--backend", "executor", "--input", str(env / "x.npy"),
                    "--name", "run") == 0
    assert kind_of(env / "work" / "m") == "import" and kind_of(env / "sims" / "run") == "simulate"
    assert hidden(env / "work") == [] and hidden(env / "sims") == []


def test_force_replaces_a_foreign_run_folder_whole(env):
    mine = env / "sims" / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("a user's notes")
    argv = ("simulate", str(env / "n.net"), "--backend", "executor", "--input", str(env / "x.npy"), "--name", "mine")
    assert asnn(env, *argv) == 2
    assert (mine / "notes.txt").is_file()
    assert asnn(env, *argv, "--force") == 0
    assert not (mine / "notes.txt").exists() and (mine / "summary.json").is_file()
    assert hidden(env / "sims") == []


def test_a_plain_file_is_never_replaced_and_nothing_sticks(env):
    plain = env / "work" / "p"
    plain.write_text("mine")
    for extra in ((), ("--force",)):
        assert asnn(env, "import", str(env / "m.nir"), "--name", "p", *extra) == 2
    assert plain.read_text() == "mine"
    assert hidden(env / "work") == []  # no stuck .p.old
    assert asnn(env, "import", str(env / "m.nir"), "--name", "q") == 0  # other names still import


def test_outputs_follow_the_umask(env):
    """Files 0644 and folders 0755 under umask 022 (a temporary file's 0600/0700 before)."""
    assert asnn(env, "import", str(env / "m.nir"), "--name", "m") == 0
    assert asnn(env, "simulate", str(env / "n.net"), "--backend", "executor", "--input", str(env / "x.npy"),
                "--name", "run") == 0
    for folder in (env / "work" / "m", env / "sims" / "run"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
        for f in folder.iterdir():
            assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


# --------------------------------------------------------------------------- unwritable / full
def _tmpfs_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=8k none /mnt"],
                           capture_output=True)
    return probe.returncode == 0


ONE_PROCESS = """
import sys
from asnn_neuro.cli import main
for line in sys.argv[1:]:
    print("rc", main(line.split()), flush=True)
"""


def run_on_tmpfs(tmp: Path, mount: Path, size: str, readonly: bool, prepare: str, commands: list[str]):
    """Run asnn ``commands`` (one process) with ``mount`` a fresh tmpfs of ``size`` (made read-only
    after ``prepare``, a shell line); returns (exit codes, stderr lines, files left in the tmpfs)."""
    mount.mkdir(exist_ok=True)
    script = (f"mount -t tmpfs -o size={size},mode=755 none {mount} && {prepare} && "
              + (f"mount -o remount,ro {mount} && " if readonly else "")
              + f"{sys.executable} -c '{ONE_PROCESS}' " + " ".join(f'"{c}"' for c in commands)
              + f"; echo left: $(find {mount} -name '*.tmp' -o -name '*.old' | sort)")
    out = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=tmp)
    codes = [int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("rc ")]
    left = [line for line in out.stdout.splitlines() if line.startswith("left:")]
    return codes, [ln for ln in out.stderr.splitlines() if ln.strip()], left


@pytest.mark.slow
@pytest.mark.skipif(not _tmpfs_works(), reason="needs root and unshare to mount a private tmpfs")
def test_read_only_output_is_refused_before_the_work(env):
    """import, simulate, energy, report, fit and train on a read-only file system: exit 2 naming
    the place, before any work (the tmpfs is private to the command's mount namespace)."""
    ro = env / "ro"
    common = f"--workdir {ro}/work --simdir {ro}/sims --quiet"
    prep = (f"mkdir -p {ro}/work {ro}/sims && {sys.executable} -m asnn_neuro simulate {env}/n.net --backend executor "
            f"--input {env}/x.npy --name good --simdir {ro}/sims --quiet > /dev/null")
    cmds = [f"import {env}/m.nir --name m {common}",
            f"simulate {env}/n.net --backend executor --input {env}/x.npy --name r {common}",
            f"energy good {common}", f"report good --name rep {common}", f"fit {env}/n.net {common}",
            f"train --dataset digits --epochs 1 --name t {common}"]
    codes, err, left = run_on_tmpfs(env, ro, "4m", True, prep, cmds)
    assert codes == [2] * len(cmds), err
    assert len(err) == len(cmds) and all(line.startswith("asnn: error: ") for line in err), err
    assert all(str(ro) in line and ("not writable" in line or "read-only" in line) for line in err), err


@pytest.mark.slow
@pytest.mark.skipif(not _tmpfs_works(), reason="needs root and unshare to mount a private tmpfs")
def test_a_full_disk_is_bad_input_naming_the_path(env):
    """8 kB of tmpfs: the import's and the run's files do not fit -> exit 2 naming the folder, and no
    temporary file left behind."""
    full = env / "full"
    common = f"--workdir {full}/work --simdir {full}/sims --quiet"
    cmds = [f"import {env}/m.nir --name m {common}",
            f"simulate {env}/n.net --backend executor --input {env}/x.npy --name r {common}"]
    codes, err, left = run_on_tmpfs(env, full, "8k", False, "true", cmds)
    assert codes == [2, 2], err
    assert str(full / "work" / "m") in err[0] and "no space left" in err[0], err
    assert str(full / "sims" / "r") in err[1] and "no space left" in err[1], err
    assert left == ["left:"], left
