"""Process lifetime: signals become a clean interrupt, and child processes die with their parent.

- ``sigterm_as_interrupt()``: SIGTERM (``timeout``, ``kill``, a systemd stop) raises
  KeyboardInterrupt like Ctrl-C, so cleanup runs and the CLI exits 130.
- ``deferred_signals()``: within the block SIGINT/SIGTERM are remembered, not acted on; at its end
  the first one is raised as KeyboardInterrupt. For a step that must not be cut in half (Lava's
  runtime start-up: stopped half-way it leaves workers nobody can stop).
- ``die_with_parent()``: in a child, ask Linux to SIGKILL it when its parent dies
  (``PR_SET_PDEATHSIG``), so a SIGKILLed or OOM-killed parent leaves no worker running.
- ``children_die_with_parent()``: within the block, every ``os.fork`` child (multiprocessing
  workers included) calls ``die_with_parent`` and ignores SIGINT/SIGTERM (its parent stops it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signal_handlers(handlers: dict) -> Iterator[bool]:
    """Within the block, ``handlers`` ({signal: handler}) replace the current ones; restored after.
    Yields False (and changes nothing) outside the main thread, where Python sets no handlers."""
    try:
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    except ValueError:  # not in the main thread
        yield False
        return
    try:
        yield True
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt (so cleanup runs)."""
    return signal_handlers({signal.SIGTERM: _raise_interrupt})


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT/SIGTERM within the block are held back and raised as KeyboardInterrupt when it ends
    (also when it ends by an exception: the interrupt then wins)."""
    pending: list[int] = []

    def remember(signum, frame):
        pending.append(signum)

    with signal_handlers({sig: remember for sig in STOP_SIGNALS}):
        try:
            yield
        finally:
            if pending:
                raise KeyboardInterrupt(f"signal {pending[0]} (held during start-up)")
    # a signal that came in between the handlers' restore and here is handled by the restored ones


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL) -> None:
    """In a child: be sent ``sig`` when the parent dies (Linux; a no-op elsewhere). ``parent``: the
    pid the child was forked from; if it is already gone the child exits at once."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_GUARD = {"armed": 0, "registered": False, "parent": 0}


def _after_fork_in_child() -> None:
    if not _GUARD["armed"]:
        return
    _GUARD["armed"] = 0  # the child's own children are its business
    for sig in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_IGN)
    die_with_parent(_GUARD["parent"])


@contextlib.contextmanager
def children_die_with_parent() -> Iterator[None]:
    """Every process forked within the block ignores SIGINT/SIGTERM (the parent stops it) and is
    killed when this process dies, however it dies."""
    if not _GUARD["registered"]:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _GUARD["registered"] = True
    _GUARD["armed"] += 1
    _GUARD["parent"] = os.getpid()
    try:
        yield
    finally:
        _GUARD["armed"] -= 1
