"""The compiled spike max-pool equals F.max_pool3d with a time extent of 1: values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from asnn_neuro.neurons import native
from asnn_neuro.neurons.spike_pool import spike_max_pool

pytestmark = pytest.mark.skipif(native.kernel() is None, reason=native.status())


def _both(x, kernel, stride, weight):
    out = []
    for fn in (lambda v: spike_max_pool(v, kernel, stride),
               lambda v: F.max_pool3d(v, (kernel, kernel, 1), (stride, stride, 1))):
        v = x.detach().clone().requires_grad_()
        y = fn(v)
        (y * weight).sum().backward()
        out.append((y.detach(), v.grad))
    return out


@pytest.mark.parametrize("kernel,stride,steps", [(2, 2, 4), (2, 2, 1), (3, 2, 8), (2, 1, 3), (3, 3, 5)])
def test_binary_spikes_with_ties_match_max_pool3d(kernel, stride, steps):
    gen = torch.Generator().manual_seed(kernel * 10 + stride + steps)
    x = (torch.rand(3, 4, 9, 7, steps, generator=gen) < 0.3).float()  # many equal maxima (0s and 1s)
    h, w = (9 - kernel) // stride + 1, (7 - kernel) // stride + 1
    weight = torch.randn(3, 4, h, w, steps, generator=gen)
    (y, g), (y_ref, g_ref) = _both(x, kernel, stride, weight)
    assert torch.equal(y, y_ref)
    assert torch.allclose(g, g_ref, atol=1e-6)  # overlapping windows add in a different order


def test_real_values_and_non_contiguous_input_match():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 8, 8, 4, generator=gen).movedim(-1, 0).contiguous().movedim(0, -1)
    assert not x.is_contiguous()
    weight = torch.randn(2, 3, 4, 4, 4, generator=gen)
    (y, g), (y_ref, g_ref) = _both(x, 2, 2, weight)
    assert torch.equal(y, y_ref) and torch.equal(g, g_ref)
