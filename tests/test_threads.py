"""The executor runs small batches on one torch thread and restores the caller's setting."""

from __future__ import annotations

import torch

from asnn_neuro.backends import executor as ex_mod
from asnn_neuro.util.threads import SMALL_BATCH, threads_for_batch


def test_small_batches_run_on_one_thread_and_restore_the_setting():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads_for_batch(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for_batch(SMALL_BATCH + 1):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_executor_run_uses_one_thread_for_one_sample(monkeypatch):
    seen = []

    def fake_run(self, s, g, record):
        seen.append(torch.get_num_threads())
        return "result"

    monkeypatch.setattr(ex_mod.FixedExecutor, "_run", fake_run)
    executor = object.__new__(ex_mod.FixedExecutor)  # _run is all run() calls for one batch
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert executor.run(torch.zeros(1, 3, 4), None) == "result"
        assert executor.run(torch.zeros(64, 3, 4), None) == "result"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 2]
