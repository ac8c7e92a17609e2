"""A faster CPU path for lava-dl's CUBA neuron dynamics, bit-identical to lava-dl's own.

lava-dl runs its leaky integrator on the CPU as a Python loop that indexes
``x[..., t]`` -- time is the last, fastest axis, so every step reads and writes
strided memory. ``fast_li_fwd`` / ``fast_li_bwd`` compute exactly the same integer
recurrences (same int64 arithmetic, same truncation towards zero, same reset) with
time moved to the front once, so each step works on contiguous memory. ``install``
``fast_cuba()`` swaps them into ``lava.lib.dl.slayer.neuron.dynamics.leaky_integrator`` for
the duration of a block (training and the CLI use it); outside it lava-dl is unchanged.
The CUBA neuron class itself is lava-dl's. CUDA keeps lava-dl's own kernels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def _shift_to_zero(x: torch.Tensor, bits: int) -> torch.Tensor:
    sign = 2 * (x > 0) - 1
    return (sign * ((sign * x) >> bits)).to(x.dtype)


def fast_li_fwd(input, decay, state, threshold, w_scale, dtype=torch.int32):
    """Same contract and result as lava-dl's ``_li_dynamics_fwd``."""
    x = input.movedim(-1, 0).contiguous()
    old = (state * w_scale).clone().detach().to(dtype).to(input.device)
    keep = (1 << 12) - decay.clone().detach().to(dtype).to(input.device)
    out = torch.empty_like(x)
    threshold = threshold * w_scale
    for n in range(x.shape[0]):
        new = _shift_to_zero(old * keep, 12) + (w_scale * x[n]).to(dtype)
        old = new * (new < threshold) if threshold > 0 else new
        torch.div(new, w_scale, out=out[n])
    return out.movedim(0, -1).contiguous()


def fast_li_bwd(grad_output, output, decay):
    """Same contract and result as lava-dl's ``_li_dynamics_bwd``."""
    g = grad_output.movedim(-1, 0).contiguous()
    factor = 1 - decay / (1 << 12)
    grad = torch.empty_like(g)
    grad[-1] = g[-1]
    for n in range(g.shape[0] - 2, -1, -1):
        torch.add(factor * grad[n + 1], g[n], out=grad[n])
    grad_input = grad.movedim(0, -1).contiguous()
    grad_decay = grad_input[..., 1:] * output[..., :-1]
    if torch.numel(factor) == 1:
        grad_decay = torch.sum(grad_decay.flatten(), dim=0, keepdim=True)
    else:
        grad_decay = torch.sum(grad_decay, dim=[0, -1])
        if len(grad_decay.shape) != 1:
            grad_decay = torch.sum(grad_decay.reshape(grad_decay.shape[0], -1), dim=1)
    return grad_input, grad_decay


@contextlib.contextmanager
def fast_cuba() -> Iterator[None]:
    """Within the block, lava-dl's leaky integrator runs on the fast CPU path; lava-dl's own
    functions are put back afterwards (nested and repeated use is fine)."""
    from asnn_neuro.compat.slayer import slayer  # the quiet import of lava-dl

    li = slayer.neuron.dynamics.leaky_integrator
    saved = (li._li_dynamics_fwd, li._li_dynamics_bwd)
    li._li_dynamics_fwd, li._li_dynamics_bwd = fast_li_fwd, fast_li_bwd
    try:
        yield
    finally:
        li._li_dynamics_fwd, li._li_dynamics_bwd = saved
