"""Torch CPU threads for small batches.

A batch of one or a few samples gives torch's intra-op threads too little work: on a 2-core
machine a batch-1 float32 matrix-vector product took ~15 ms with 2 threads and ~4 us with one,
so lava-dl's 3000-step NTIDIGITS network ran 42 s instead of 2 s in the executor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

SMALL_BATCH = 16  # samples; at or below this a run uses one torch thread


@contextmanager
def threads_for_batch(samples: int) -> Iterator[None]:
    """One torch thread while running ``samples`` <= SMALL_BATCH samples; the old setting after."""
    before = torch.get_num_threads()
    if samples > SMALL_BATCH or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def one_thread_in_worker() -> None:
    """Call first in a Lava process model that computes with torch: Lava forks its workers, and a
    forked child entering torch's intra-op thread pool that the parent already started hangs for
    ever (seen with PilotNet's 200-wide conv); with one thread torch never enters the pool."""
    torch.set_num_threads(1)
