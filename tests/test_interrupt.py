"""Ctrl-C and SIGTERM during a Lava run: exit 130, the Lava runtime and all its worker processes
stopped, no partial run folder, no temporary files left.

``asnn simulate`` runs in its own session (``start_new_session``), so every process it starts --
even one orphaned and re-parented to init -- keeps that session id; /proc is scanned for it
(psutil is not installed).
"""

from __future__ import annotations

import contextlib
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


# ----------------------------------------------------------------------------- issue 21
def _tiny_lava_run(tmp_path: Path, samples: int) -> list[str]:
    """``asnn simulate`` of the tiny hybrid net (6x6 input, T = 3) on Lava, ``samples`` samples."""
    import numpy as np
    from tiny_nets import tiny_hybrid_net

    from asnn_neuro.deploy.netx.write import write_network

    write_network(tiny_hybrid_net(), tmp_path / "n.net")
    x = np.random.default_rng(0).integers(0, 2, (samples, 6, 6, 1, 3)).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    return [sys.executable, "-m", "asnn_neuro", "simulate", str(tmp_path / "n.net"), "--backend", "lava",
            "--input", str(tmp_path / "x.npy"), "--samples", str(samples), "--simdir", str(tmp_path / "sims"),
            "--quiet"]


def _wait_gone(sid: int, seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while session_members(sid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return session_members(sid)


@pytest.mark.parametrize("delay", [0.1, 2.0], ids=["at-0.1s", "at-2s"])
def test_sigint_early_in_a_lava_run_exits_130(tmp_path, delay):
    """Ctrl-C at 0.1 s (Python starting) or 2 s (imports, graph, Lava start-up): exit 130 within
    seconds, nothing of the run left. Before issue 21 a signal during Lava's start-up was dropped."""
    proc = subprocess.Popen(_tiny_lava_run(tmp_path, 3000), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=default_sigint)
    try:
        time.sleep(delay)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # start-up (Lava's compile) may have to finish first
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = err.decode(errors="replace")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "asnn: interrupted", err
    left = _wait_gone(proc.pid, 10)
    assert not left, [(pid, _cmdline(pid)) for pid in left]
    assert not (tmp_path / "sims").exists() or not any((tmp_path / "sims").iterdir())


def test_a_signal_during_lava_start_up_is_honoured(monkeypatch):
    """SIGINT while the runtime is being created (sent from inside that window): the start-up
    finishes, then the run stops with KeyboardInterrupt and every worker is gone (before issue 21
    the signal was ignored and the run went on)."""
    import numpy as np
    from tiny_nets import tiny_hybrid_net

    from asnn_neuro.backends.lava import runner

    spikes = np.random.default_rng(0).integers(0, 2, (5, 3, 1, 6, 6))
    real = runner.quiet_compiler

    @contextlib.contextmanager
    def signal_inside():
        with real():
            os.kill(os.getpid(), signal.SIGINT)  # arrives while create_runtime runs
            yield

    monkeypatch.setattr(runner, "quiet_compiler", signal_inside)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run_lava(tiny_hybrid_net(), spikes, None, progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    me = os.getpid()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [p for p in descendants(me) if "resource_tracker" not in _cmdline(p)
                                           and _stat(p) is not None and _stat(p)[0] != "Z"]:
        time.sleep(0.2)
    left = [p for p in descendants(me) if "resource_tracker" not in _cmdline(p) and _stat(p) is not None
            and _stat(p)[0] != "Z"]
    assert not left, [(p, _cmdline(p)) for p in left]


def test_lava_workers_die_with_a_killed_parent(tmp_path):
    """SIGKILL (or the OOM killer) of the main process: no Lava worker is alive 10 s later."""
    proc = subprocess.Popen(_tiny_lava_run(tmp_path, 20000), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(lava_workers(proc.pid)) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no Lava workers after 300 s"
            time.sleep(0.2)
        workers = descendants(proc.pid)
        proc.kill()
        proc.wait()
        left = _wait_gone(proc.pid, 10)
        assert not left, [(pid, _cmdline(pid)) for pid in left]
        assert not [pid for pid in workers if _stat(pid) is not None and _stat(pid)[0] != "Z"]
    finally:
        for pid in session_members(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_compare_children_die_with_a_killed_parent(tmp_path):
    """asnn compare starts each run with ``_pin``'s pre-exec hook: the child is stopped when the
    comparison's process dies (before: it ran on, re-parented to init)."""
    parent = ("import subprocess, sys, time\n"
              "from asnn_neuro.apps.compare import _pin\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], preexec_fn=_pin(set()))\n"
              "print(p.pid, flush=True)\n"
              "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, start_new_session=True)
    try:
        child = int(proc.stdout.readline())
        assert _stat(child) is not None
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while _stat(child) is not None and _stat(child)[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _stat(child) is None or _stat(child)[0] == "Z", _cmdline(child)
    finally:
        for pid in session_members(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_sigterm_outside_lava_exits_130(tmp_path):
    """SIGTERM (timeout, kill, a service stop) while no Lava run is active: 130, like Ctrl-C."""
    cmd = [sys.executable, "-m", "asnn_neuro", "train", "--dataset", "digits", "--epochs", "200", "--timesteps", "2",
           "--device", "cpu", "--workdir", str(tmp_path / "work"), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "work").exists():  # the training has started (its folder exists)
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err.decode(errors="replace")
    assert err.decode(errors="replace").strip().splitlines()[-1] == "asnn: interrupted"
