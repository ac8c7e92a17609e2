"""The ASNN neuron: functional step by hand, fused kernel vs autograd, SLAYER block export."""

from __future__ import annotations

import h5py
import pytest
import torch

from asnn_neuro.models.blocks import ASNNConv, ASNNDense, neuron_params
from asnn_neuro.neurons.asnn import ASNNState, Neuron, asnn_dynamics, asnn_step


def test_asnn_step_by_hand():
    state = ASNNState(torch.tensor([0.0, 0.9]))
    s, state = asnn_step(torch.tensor([1.0, 0.5]), state, leak=0.5, gain=0.8)
    # u = 0.5 * u + 0.8 * I = [0.8, 0.85] -> no spikes
    assert s.tolist() == [0.0, 0.0]
    s, state = asnn_step(torch.tensor([1.0, 1.0]), state, leak=0.5, gain=0.8)
    # u = [0.4 + 0.8, 0.425 + 0.8] = [1.2, 1.225] -> both spike, soft reset to [0.2, 0.225]
    assert s.tolist() == [1.0, 1.0]
    assert torch.allclose(state.u, torch.tensor([0.2, 0.225]))


def test_per_step_schedule_changes_only_its_step():
    current = torch.full((1, 1, 4), 0.6)
    lam = torch.tensor([1.0, 1.0, 1.0, 1.0])
    base = asnn_dynamics(current, lam, torch.tensor([1.0, 1.0, 1.0, 1.0]))
    # u: 0.6, 1.2 (spike -> 0.2), 0.8, 1.4 (spike)
    assert base[0, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    changed = asnn_dynamics(current, lam, torch.tensor([2.0, 1.0, 1.0, 1.0]))
    # g[0] = 2 -> u0 = 1.2 spikes at step 0
    assert changed[0, 0].tolist()[0] == 1.0


def _reference(current, lam, gain, alpha=4.0, reset_grad=False):
    u = torch.zeros_like(current[..., 0])
    out = []
    for t in range(current.shape[-1]):
        u = lam[t] * u + gain[t] * current[..., t]
        sig = torch.sigmoid(alpha * (u - 1))
        hard = (u >= 1).to(current.dtype)
        s = hard + sig - sig.detach()  # forward: Heaviside; backward: sigmoid surrogate
        out.append(s)
        u = u - (s if reset_grad else hard)  # reset_grad: the reference's undetached soft reset
    return torch.stack(out, -1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # float32 on the CPU: the native kernel's dtype
def test_reset_gradient_matches_autograd_through_the_reset(dtype):
    torch.manual_seed(1)
    current = torch.randn(4, 7, 5, dtype=dtype, requires_grad=True)
    lam = torch.rand(5, dtype=dtype, requires_grad=True)
    gain = (torch.rand(5, dtype=dtype) + 0.8).requires_grad_()
    w = torch.randn(4, 7, 5, dtype=dtype)
    args = (current, lam, gain)
    got = torch.autograd.grad((asnn_dynamics(*args, reset_grad=True) * w).sum(), args)
    want = torch.autograd.grad((_reference(*args, reset_grad=True) * w).sum(), args)
    detached = torch.autograd.grad((asnn_dynamics(*args) * w).sum(), args)
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    for g, r in zip(got, want):
        assert torch.allclose(g, r, atol=tol, rtol=tol)
    assert not torch.allclose(detached[0], got[0], atol=1e-3)  # the option changes the gradient
    assert torch.equal(asnn_dynamics(*args, reset_grad=True), asnn_dynamics(*args))  # not the spikes


def test_fused_kernel_gradients_match_autograd_reference():
    torch.manual_seed(0)
    current = torch.randn(3, 5, 6, dtype=torch.float64, requires_grad=True)
    lam = torch.rand(6, dtype=torch.float64, requires_grad=True)
    gain = torch.rand(6, dtype=torch.float64, requires_grad=True) + 0.5
    w = torch.randn(3, 5, 6, dtype=torch.float64)
    got = torch.autograd.grad((asnn_dynamics(current, lam, gain) * w).sum(), (current, lam, gain))
    want = torch.autograd.grad((_reference(current, lam, gain) * w).sum(), (current, lam, gain))
    for g, r in zip(got, want):
        assert torch.allclose(g, r, atol=1e-12)


def test_lif_variant_shares_one_leak_and_gain():
    n = Neuron(timesteps=5, adaptive=False)
    assert n.leak.shape == (1,) and n.gain.shape == (1,)
    lam, g = n.schedule()
    assert lam.shape == (5,) and torch.all(lam == lam[0])


@pytest.mark.parametrize("block", ["conv", "dense"])
def test_asnn_blocks_are_slayer_blocks_with_hdf5_export(tmp_path, block):
    if block == "conv":
        b = ASNNConv(neuron_params("asnn", 4, 6, 5), in_features=2, out_features=6, kernel_size=3, padding=1,
                     delay_shift=False)
        x = torch.rand(2, 2, 5, 5, 4)
    else:
        b = ASNNDense(neuron_params("asnn", 4, 6, 3), in_neurons=10, out_neurons=6, delay_shift=False)
        x = torch.rand(2, 10, 4)
    out = b(x)
    assert out.shape[-1] == 4 and set(out.unique().tolist()) <= {0.0, 1.0}
    with h5py.File(tmp_path / "b.h5", "w") as f:
        b.synapse.pre_hook_fx = lambda w, descale=False: w
        b.export_hdf5(f.create_group("layer"))
        assert f["layer/neuron/type"][()] == b"ASNN"
        assert f["layer/neuron/leak"].shape == (4,)
