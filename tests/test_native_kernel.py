"""The compiled ASNN kernel gives the torch kernel's spikes and gradients (float32, CPU)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from asnn_neuro.neurons import asnn, native
from asnn_neuro.neurons.asnn import asnn_dynamics

pytestmark = pytest.mark.skipif(native.kernel() is None, reason=native.status())


def _run(current, lam, gain, weight):
    current = current.detach().requires_grad_()
    lam, gain = lam.detach().requires_grad_(), gain.detach().requires_grad_()
    spikes = asnn_dynamics(current, lam, gain)
    grads = torch.autograd.grad((spikes * weight).sum(), (current, lam, gain))
    return spikes.detach(), grads


def _case(shape, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    current = torch.randn(*shape, steps, generator=gen) * 1.5
    lam = torch.rand(steps, generator=gen)
    gain = torch.rand(steps, generator=gen) + 0.5
    weight = torch.randn(*shape, steps, generator=gen)
    return current, lam, gain, weight


@pytest.mark.parametrize("steps", [1, 2, 4, 8, 17])
def test_native_matches_torch_kernel(steps, monkeypatch):
    case = _case((6, 5, 7, 3), steps, seed=steps)
    spikes, grads = _run(*case)
    monkeypatch.setattr(asnn, "_native_for", lambda current: None)
    want_spikes, want_grads = _run(*case)
    assert spikes.sum() > 0 and torch.equal(spikes, want_spikes)
    for got, want in zip(grads, want_grads):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-4), (got - want).abs().max()


def test_native_matches_float64_reference():
    current, lam, gain, weight = _case((4, 9, 5), 6, seed=1)
    spikes, grads = _run(current, lam, gain, weight)
    ref_spikes, ref_grads = _run(current.double(), lam.double(), gain.double(), weight.double())  # torch path
    assert torch.equal(spikes, ref_spikes.float())
    for got, want in zip(grads, ref_grads):
        assert torch.allclose(got.double(), want, rtol=1e-4, atol=1e-4)


def test_native_handles_non_contiguous_input_and_grad(monkeypatch):
    current, lam, gain, weight = _case((3, 8, 5), 4, seed=2)
    strided = current.movedim(-1, 0).contiguous().movedim(0, -1)  # time-first memory, time-last view
    assert not strided.is_contiguous()
    spikes, grads = _run(strided, lam, gain, weight.movedim(-1, 0).contiguous().movedim(0, -1))
    monkeypatch.setattr(asnn, "_native_for", lambda current: None)
    want_spikes, want_grads = _run(current, lam, gain, weight)
    assert torch.equal(spikes, want_spikes)
    for got, want in zip(grads, want_grads):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-4)


def test_schedule_gradients_do_not_depend_on_thread_count():
    current, lam, gain, weight = _case((64, 33), 5, seed=3)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _run(current, lam, gain, weight)[1]
        torch.set_num_threads(2)
        two = _run(current, lam, gain, weight)[1]
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one[0], two[0])
    for a, b in zip(one[1:], two[1:]):
        assert torch.allclose(a, b, rtol=1e-6, atol=0)  # double sums in another order, rounded to float32


def test_status_names_the_kernel():
    assert native.status().startswith("native C kernel")


def test_without_a_compiler_training_falls_back_to_the_torch_kernel(tmp_path):
    """A machine with no usable C compiler (here: CC=false, empty cache) still trains, on the torch kernel."""
    code = ("import torch\n"
            "from asnn_neuro.neurons import native\n"
            "from asnn_neuro.neurons.asnn import asnn_dynamics\n"
            "x = torch.randn(2, 3, 4, requires_grad=True)\n"
            "asnn_dynamics(x, torch.full((4,), 0.5), torch.full((4,), 0.9)).sum().backward()\n"
            "assert native.kernel() is None and x.grad is not None\n"
            "print(native.status())\n")
    env = {**os.environ, "CC": "false", "ASNN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith("torch kernel: build failed"), proc.stdout
