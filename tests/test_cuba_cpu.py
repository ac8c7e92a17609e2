"""The fast CPU path of lava-dl's CUBA dynamics is bit-identical to lava-dl's own loop."""

from __future__ import annotations

import pytest
import torch

from asnn_neuro.compat.slayer import slayer
from asnn_neuro.neurons.cuba_cpu import fast_cuba, fast_li_bwd, fast_li_fwd


def _originals():
    li = slayer.neuron.dynamics.leaky_integrator
    return li._li_dynamics_fwd, li._li_dynamics_bwd


@pytest.mark.parametrize("threshold", [-1, 0.8])
@pytest.mark.parametrize("decay", [0, 410, 1024, 4096])
def test_forward_and_backward_match_lava_dl(threshold, decay):
    fwd, bwd = _originals()
    torch.manual_seed(decay)
    x = torch.randn(3, 4, 5, 6, 7) * 0.7
    d = torch.tensor([float(decay)])
    state = torch.zeros(3, 4, 5, 6)
    want = fwd(x, d, state, threshold, 4096, dtype=torch.int64)
    got = fast_li_fwd(x, d, state, threshold, 4096, dtype=torch.int64)
    assert torch.equal(want, got)
    g = torch.randn_like(x)
    for a, b in zip(bwd(g, want, d), fast_li_bwd(g, got, d)):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-6)


def test_fast_path_is_used_only_inside_its_block():
    li = slayer.neuron.dynamics.leaky_integrator
    original = li._li_dynamics_fwd
    assert original is not fast_li_fwd
    with fast_cuba():
        assert li._li_dynamics_fwd is fast_li_fwd
        with fast_cuba():
            assert li._li_dynamics_fwd is fast_li_fwd
        assert li._li_dynamics_fwd is fast_li_fwd
    assert li._li_dynamics_fwd is original
