"""The adaptive spiking neuron (ASNN) as a functional kernel and a SLAYER neuron.

Equations (per layer, per time step t = 0..T-1; the adaptive neuron of arXiv 2408.12407)::

    u_t = lam[t] * u_{t-1} + g[t] * I_t        leak and input gain learned per step
    s_t = H(u_t - theta)                       theta = 1
    u_t = u_t - theta * s_t                    soft reset (by subtraction)

Surrogate gradient: dH/du = a * sig(a (u - theta)) * (1 - sig(a (u - theta))), a = 4.
The reset path is detached by default (the gradient does not flow through s_t into u_t);
with ``reset_grad`` it flows, as in the paper's reference code: du_post/du_pre = 1 - theta dH/du.
The compiled CPU kernel implements the detached reset only; ``reset_grad`` takes the torch path.

``asnn_step`` is one step on plain tensors (readable, used by the tests);
``asnn_dynamics`` is the fused kernel used in training: one pass over time in
the forward, one reverse pass in the backward, no autograd graph per step.
(Quantisation-aware training runs the deployed integers instead: ``deploy.qat``.)
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from asnn_neuro.chip import limits as lim
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.neurons import native

base = slayer.neuron.base


class ASNNState(NamedTuple):
    """Membrane potential u (after reset), same shape as one input frame."""

    u: torch.Tensor


def asnn_step(
    current: torch.Tensor, state: ASNNState, leak: float | torch.Tensor, gain: float | torch.Tensor,
    threshold: float = 1.0,
) -> tuple[torch.Tensor, ASNNState]:
    """One ASNN step: returns (spikes, new state)."""
    u = leak * state.u + gain * current
    spikes = (u >= threshold).to(current.dtype)
    return spikes, ASNNState(u - threshold * spikes)


class _ASNNDynamics(torch.autograd.Function):
    """Fused kernel. On the CPU in float32 it is the compiled C kernel (``asnn_kernel.c``: one
    pass per neuron over its T adjacent steps, no copies). Otherwise (CUDA, float64, no compiler)
    time is moved to the front once so every step touches contiguous memory, and the backward does
    one reverse pass for the state gradient and batched reductions for the rest."""

    @staticmethod
    def forward(ctx, current, leak, gain, threshold: float, alpha: float, reset_grad: bool):
        ctx.threshold = threshold
        ctx.alpha = alpha
        ctx.reset_grad = reset_grad
        lib = None if reset_grad else _native_for(current)  # the C kernel detaches the reset
        ctx.native = lib is not None
        if lib is not None:  # compiled CPU kernel on the time-last layout, no copies
            cur = current.contiguous()
            u_pre, spikes = torch.empty_like(cur), torch.empty_like(cur)
            lam, g = leak.detach().contiguous(), gain.detach().contiguous()
            steps = cur.shape[-1]
            native.check(lib.asnn_forward(cur.data_ptr(), u_pre.data_ptr(), spikes.data_ptr(), cur.numel() // steps,
                                          steps, lam.data_ptr(), g.data_ptr(), threshold,
                                          torch.get_num_threads()), "ASNN")
            ctx.save_for_backward(cur, lam, g, u_pre)
            return spikes
        cur = current.movedim(-1, 0).contiguous()  # (T, ...)
        lam, g = leak.tolist(), gain.tolist()
        u_pre = torch.empty_like(cur)
        spikes = torch.empty_like(cur)
        u = torch.zeros_like(cur[0])
        for t in range(cur.shape[0]):
            u.mul_(lam[t]).add_(cur[t], alpha=g[t])
            u_pre[t] = u
            torch.ge(u, threshold, out=spikes[t])
            u.sub_(spikes[t], alpha=threshold)
        ctx.save_for_backward(cur, leak, gain, u_pre, spikes)
        return spikes.movedim(0, -1)

    @staticmethod
    def backward(ctx, grad_spikes):
        if ctx.native:
            return _native_backward(ctx, grad_spikes)
        cur, leak, gain, u_pre, spikes = ctx.saved_tensors
        theta, alpha = ctx.threshold, ctx.alpha
        steps = cur.shape[0]
        # surrogate a * sig * (1 - sig), built in place to keep full-size temporaries to two
        sig = (u_pre - theta).mul_(alpha).sigmoid_()
        lam = leak.tolist()
        if ctx.reset_grad:  # dL/du_pre[t] = h[t] dL/ds[t] + (1 - theta h[t]) lam[t+1] dL/du_pre[t+1]
            surr = torch.mul(sig, sig).neg_().add_(sig).mul_(alpha)  # h = dH/du
            del sig
            grad_u = surr * grad_spikes.movedim(-1, 0)
            for t in range(steps - 2, -1, -1):
                carry = grad_u[t + 1] * lam[t + 1]
                grad_u[t].add_(carry).sub_(carry * surr[t], alpha=theta)
            del surr
        else:
            grad_u = torch.mul(sig, sig).neg_().add_(sig).mul_(grad_spikes.movedim(-1, 0)).mul_(alpha)
            del sig
            for t in range(steps - 2, -1, -1):  # dL/du_pre[t] += lam[t+1] * dL/du_pre[t+1]
                grad_u[t].add_(grad_u[t + 1], alpha=lam[t + 1])
        flat_g = grad_u.reshape(steps, -1)
        grad_gain = torch.linalg.vecdot(flat_g, cur.reshape(steps, -1))
        grad_leak = torch.zeros_like(leak)
        if steps > 1:  # sum_t dL/du_pre[t] * u_post[t-1], with u_post = u_pre - theta * s
            g1 = flat_g[1:]
            grad_leak[1:] = torch.linalg.vecdot(g1, u_pre[:-1].reshape(steps - 1, -1)) \
                - theta * torch.linalg.vecdot(g1, spikes[:-1].reshape(steps - 1, -1))
        shape = (steps,) + (1,) * (cur.dim() - 1)
        grad_current = grad_u.mul_(gain.reshape(shape)).movedim(0, -1)
        return grad_current, grad_leak, grad_gain, None, None, None


def _native_for(current: torch.Tensor):
    """The compiled kernel when it applies to ``current`` (see ``native.for_tensor``), else None."""
    return native.for_tensor(current)


def _native_backward(ctx, grad_spikes):
    cur, lam, g, u_pre = ctx.saved_tensors
    lib = native.kernel()
    grad = grad_spikes.to(cur.dtype).contiguous()
    grad_cur = torch.empty_like(cur)
    steps = cur.shape[-1]
    grad_leak = torch.empty(steps, dtype=torch.float64)
    grad_gain = torch.empty(steps, dtype=torch.float64)
    native.check(lib.asnn_backward(grad.data_ptr(), cur.data_ptr(), u_pre.data_ptr(), cur.numel() // steps, steps,
                                   lam.data_ptr(), g.data_ptr(), ctx.threshold, ctx.alpha, grad_cur.data_ptr(),
                                   grad_leak.data_ptr(), grad_gain.data_ptr(), torch.get_num_threads()), "ASNN")
    return grad_cur, grad_leak.to(lam.dtype), grad_gain.to(g.dtype), None, None, None


def asnn_dynamics(
    current: torch.Tensor, leak: torch.Tensor, gain: torch.Tensor,
    threshold: float = 1.0, alpha: float = 4.0, reset_grad: bool = False,
) -> torch.Tensor:
    """Spikes (..., T) of ASNN neurons driven by ``current`` (..., T); leak, gain (T,).

    ``reset_grad``: the gradient flows through the soft reset (torch path), else it is detached."""
    steps = current.shape[-1]
    leak = leak.expand(steps) if leak.numel() == 1 else leak
    gain = gain.expand(steps) if gain.numel() == 1 else gain
    if leak.shape[0] != steps or gain.shape[0] != steps:
        raise ValueError(f"schedules of length {leak.shape[0]}/{gain.shape[0]} for {steps} time steps")
    return _ASNNDynamics.apply(current, leak.to(current.dtype), gain.to(current.dtype),
                               float(threshold), float(alpha), bool(reset_grad))


class Neuron(base.Neuron):
    """ASNN neuron for SLAYER blocks (input: N, C, [H, W,] T -> spikes of the same shape).

    timesteps: T, the schedule length; adaptive: per-step lam[t], g[t] (ASNN) or one
    lam, g for all steps (the time-invariant LIF baseline); leak, gain: initial values;
    norm: optional normalisation constructor applied to the input current (batch norm).
    """

    def __init__(
        self, timesteps: int, adaptive: bool = True, threshold: float = 1.0,
        leak: float = 0.5, gain: float = 0.5, alpha: float = 4.0,
        norm=None, dropout=None, requires_grad: bool = True,
    ) -> None:
        super().__init__(
            threshold=threshold, p_scale=1 << 12, w_scale=1 << 6, s_scale=1 << 12,
            norm=norm, dropout=dropout, persistent_state=False, shared_param=True,
            requires_grad=requires_grad,
        )
        self.timesteps = int(timesteps)
        self.adaptive = adaptive
        self.alpha = alpha
        n = self.timesteps if adaptive else 1
        self.leak = torch.nn.Parameter(torch.full((n,), float(leak)), requires_grad=requires_grad)
        self.gain = torch.nn.Parameter(torch.full((n,), float(gain)), requires_grad=requires_grad)
        self.reset_grad = False  # gradient through the soft reset (set by models.method.apply_method)

    def clamp(self) -> None:
        with torch.no_grad():
            self.leak.clamp_(0.0, 1.0)
            self.gain.clamp_(-lim.ASNN_GAIN_LIMIT, lim.ASNN_GAIN_LIMIT)

    @property
    def device(self) -> torch.device:
        return self.leak.device

    def schedule(self, steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(lam, g) expanded to ``steps`` entries (default: T)."""
        steps = steps or self.timesteps
        return self.leak.detach().expand(steps).clone() if self.leak.numel() == 1 else self.leak.detach(), \
            self.gain.detach().expand(steps).clone() if self.gain.numel() == 1 else self.gain.detach()

    @property
    def device_params(self) -> dict:
        """NetX neuron description (the extended 'ASNN' type, see docs/netx_schema.md)."""
        lam, g = self.schedule()
        return {
            "type": "ASNN",
            "leak": (lam * lim.DECAY_ONE).round().int().cpu().numpy(),
            "gain": (g * lim.DECAY_ONE).round().int().cpu().numpy(),
            "vThMant": int(round(self.threshold * lim.STATE_ONE)),
        }

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        if self.shape is None:
            self.shape = current.shape[1:-1]
            self.num_neurons = int(torch.tensor(self.shape).prod())
        if current.shape[-1] != self.timesteps:
            raise ValueError(f"ASNN neuron built for T={self.timesteps} got {current.shape[-1]} steps")
        if self.norm is not None:
            current = self.norm(current)
        if self.requires_grad:
            self.clamp()
        spikes = asnn_dynamics(current, self.leak, self.gain, self.threshold, self.alpha, self.reset_grad)
        if self.drop is not None:
            spikes = self.drop(spikes)
        return spikes
