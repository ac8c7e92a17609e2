"""Ctrl-C and SIGTERM during a Lava run: exit 130, the Lava runtime and all its worker processes
stopped, no partial run folder, no temporary files left.

``asnn simulate`` runs in its own session (``start_new_session``), so every process it starts --
even one orphaned and re-parented to init -- keeps that session id; /proc is scanned for it
(psutil is not installed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def default_sigint() -> None:
    """In the child: SIGINT back to its default, so Python turns it into KeyboardInterrupt even when
    the test run itself was started with SIGINT ignored (e.g. as a background job of a script)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, session id) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[3])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid in _pids():
        st = _stat(pid)
        if st is not None:
            children.setdefault(st[1], []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def session_members(sid: int) -> set[int]:
    """Live (non-zombie) processes of session ``sid``."""
    out = set()
    for pid in _pids():
        st = _stat(pid)
        if st is not None and st[2] == sid and st[0] != "Z":
            out.add(pid)
    return out


def lava_workers(root: int) -> set[int]:
    """Descendants running the simulation itself (forked Lava process models), not helpers."""
    return {pid for pid in descendants(root) if "asnn_neuro" in _cmdline(pid) and "resource_tracker"
            not in _cmdline(pid)}


@pytest.mark.parametrize("sig,group", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True),
                                       (signal.SIGTERM, True)],
                         ids=["SIGINT", "SIGTERM", "SIGINT-to-group (terminal Ctrl-C)", "SIGTERM-to-group"])
def test_signal_stops_the_lava_run_and_its_workers(trained, tmp_path, sig, group):
    work, names = trained
    name = names[("hybrid", "asnn")]
    sims, scratch = tmp_path / "sims", tmp_path / "tmp"
    scratch.mkdir()
    cmd = [sys.executable, "-m", "asnn_neuro", "simulate", name, "--samples", "400", "--backend", "lava",
           "--workdir", str(work), "--simdir", str(sims), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=default_sigint,
                            env={**os.environ, "TMPDIR": str(scratch)})
    try:
        deadline = time.monotonic() + 300
        while len(lava_workers(proc.pid)) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no Lava workers after 300 s"
            time.sleep(0.2)
        time.sleep(1.5)  # let the run get under way
        workers = descendants(proc.pid)
        assert proc.poll() is None, "the run ended before the signal"
        if group:  # what a terminal's Ctrl-C does: every process of the group gets it, workers included
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = err.decode(errors="replace")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "asnn: interrupted", err
    assert "Traceback" not in err

    deadline = time.monotonic() + 10  # helpers (e.g. multiprocessing's resource tracker) exit on their own
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = session_members(proc.pid)
    assert not left, [(pid, _cmdline(pid)) for pid in left]
    assert not [pid for pid in workers if _stat(pid) is not None and _stat(pid)[0] != "Z"]

    assert not sims.exists() or not any(sims.iterdir()), list(sims.iterdir())  # no (partial) run folder
    assert not any(scratch.iterdir()), list(scratch.iterdir())  # the Lava frame/probe files are gone


def test_an_exception_mid_run_stops_the_workers(trained, monkeypatch):
    """Any exception inside the run loop (here: from the progress bar) still stops the runtime."""
    from asnn_neuro.backends.lava import runner
    from asnn_neuro.encoding.frames import as_numpy
    from asnn_neuro.evaluate.inputs import dataset_frames, resolve_net

    work, names = trained
    rnet = resolve_net(names[("direct", "cuba")], work)
    spikes, graded, _, _ = dataset_frames(rnet, "mnist5k", 100)
    me = os.getpid()

    def workers() -> set[int]:
        return {pid for pid in descendants(me) if "resource_tracker" not in _cmdline(pid)
                and _stat(pid) is not None and _stat(pid)[0] != "Z"}

    assert not workers()
    seen: set[int] = set()

    def failing_bar(iterable, **kwargs):
        for i, item in enumerate(iterable):
            if i == 1:
                seen.update(workers())
                raise RuntimeError("boom")
            yield item

    monkeypatch.setattr(runner, "progress_bar", failing_bar)
    with pytest.raises(RuntimeError, match="boom"):
        runner.run_lava(rnet.net, as_numpy(spikes), as_numpy(graded), progress=False, chunk_samples=5)
    assert seen, "the Lava workers never started"
    deadline = time.monotonic() + 10
    while workers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not workers(), [(pid, _cmdline(pid)) for pid in workers()]
