"""A fast CPU path for lava-dl's CUBA neuron, with lava-dl's own results.

lava-dl runs its CUBA neuron on the CPU as two Python loops over time (current, then voltage)
that index ``x[..., t]`` of int64 tensors, then a separate spike function; training a CUBA
LeNet spends most of its time there. This module gives the same numbers faster:

- ``cuba_kernel.c`` (compiled by neurons/native.py) runs both integer recurrences, the reset
  and the spike of each neuron in one pass over its time steps, and in the backward pass
  recomputes them and applies lava-dl's surrogate and leaky-integrator gradients; only the
  input is kept for the backward pass. Forward values are bit-identical to lava-dl's (same
  int64 arithmetic, truncation towards zero, float32 comparisons); gradients equal to float
  rounding (decay gradients are summed in double).
- ``fast_li_fwd`` / ``fast_li_bwd`` replace lava-dl's leaky-integrator loops (used when a
  neuron has a ``norm`` between its current and voltage, as our blocks do): the C kernel, or,
  without a compiler, a torch loop over contiguous time-first memory.

``fast_cuba()`` installs both into lava-dl for the duration of a block (training and the CLI
use it); outside it lava-dl is unchanged. Neurons the fused path does not cover (CUDA,
persistent state, graded spikes, debug mode, first call that sets the neuron's shape) run
lava-dl's own forward.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from asnn_neuro.neurons import native

P_SCALE = 1 << 12  # lava-dl's decay scale: keep = 4096 - decay
MAX_STEPS = 256    # MAX_T in cuba_kernel.c


def _shift_to_zero(x: torch.Tensor, bits: int) -> torch.Tensor:
    sign = 2 * (x > 0) - 1
    return (sign * ((sign * x) >> bits)).to(x.dtype)


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _per_neuron(decay: torch.Tensor, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep int64, backward factor float32) for every neuron of ``shape``, broadcast as lava-dl does."""
    d = decay.detach()
    keep = (P_SCALE - d.to(torch.int64)).broadcast_to(shape).contiguous()
    factor = (1 - d / P_SCALE).to(torch.float32).broadcast_to(shape).contiguous()
    return keep, factor


def _decay_grad(rows: torch.Tensor, decay: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Per-row decay gradients (double) reduced the way lava-dl's ``_li_dynamics_bwd`` reduces them."""
    per_neuron = rows.view(-1, *shape).sum(0)
    if decay.numel() == 1:
        return per_neuron.sum().reshape(1).to(decay.dtype)
    return per_neuron.reshape(shape[0], -1).sum(1).to(decay.dtype)


def _state_rows(state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The initial state of every row (float32, contiguous; no copy for lava-dl's full-shape states)."""
    return state.to(torch.float32).broadcast_to(x.shape[:-1]).contiguous()


def fast_li_fwd(input, decay, state, threshold, w_scale, dtype=torch.int32):
    """Same contract and result as lava-dl's ``_li_dynamics_fwd``."""
    lib = native.cuba_kernel()
    if (lib is not None and dtype == torch.int64 and input.device.type == "cpu" and input.dtype == torch.float32
            and input.dim() >= 2 and 0 < input.shape[-1] <= MAX_STEPS):
        x = input.contiguous()
        shape = tuple(x.shape[1:-1])
        keep, _ = _per_neuron(decay, shape)
        out = torch.empty_like(x)
        th = threshold * w_scale
        neurons = max(1, keep.numel())
        native.check(lib.li_forward(x.data_ptr(), out.data_ptr(), _ptr(_state_rows(state, x)), x.numel() // x.shape[-1],
                                    x.shape[-1], neurons, keep.data_ptr(), float(w_scale), int(th > 0), float(th),
                                    torch.get_num_threads()), "leaky integrator")
        return out
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
    lib = native.cuba_kernel()
    if (lib is not None and grad_output.device.type == "cpu" and grad_output.dtype == torch.float32
            and output.dtype == torch.float32 and grad_output.dim() >= 2 and grad_output.shape == output.shape):
        g, out = grad_output.contiguous(), output.contiguous()
        shape = tuple(g.shape[1:-1])
        _, factor = _per_neuron(decay, shape)
        grad_input = torch.empty_like(g)
        rows = g.numel() // g.shape[-1]
        per_row = torch.empty(rows, dtype=torch.float64)
        native.check(lib.li_backward(g.data_ptr(), out.data_ptr(), grad_input.data_ptr(), per_row.data_ptr(), rows,
                                     g.shape[-1], max(1, factor.numel()), factor.data_ptr(),
                                     torch.get_num_threads()), "leaky integrator")
        return grad_input, _decay_grad(per_row, decay, shape)
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


@dataclass(frozen=True)
class _Spec:
    """What the fused kernel needs besides tensors (all float32 values as lava-dl uses them)."""

    shape: tuple[int, ...]   # neuron shape (without batch and time)
    w: float                 # state scale (s_scale, 4096)
    theta_w: float           # reset threshold x w (compared in float32)
    theta: float             # spike threshold
    amp: float               # scale_rho / 2 / tau_rho
    tau: float               # tau_rho


class _CubaFn(torch.autograd.Function):
    """Input current (or normalised current when ``cdecay`` is None) -> spikes, one C pass each way."""

    @staticmethod
    def forward(ctx, x, cdecay, vdecay, spec: _Spec, cstate, vstate):
        lib = native.cuba_kernel()
        x = x.contiguous()
        rows, steps = x.numel() // x.shape[-1], x.shape[-1]
        ckeep, cfac = _per_neuron(cdecay, spec.shape) if cdecay is not None else (None, None)
        vkeep, vfac = _per_neuron(vdecay, spec.shape)
        spikes = torch.empty_like(x)
        native.check(lib.cuba_forward(x.data_ptr(), spikes.data_ptr(), _ptr(cstate), _ptr(vstate), rows, steps,
                                      vkeep.numel(), _ptr(ckeep), vkeep.data_ptr(), spec.w, int(spec.theta_w > 0),
                                      spec.theta_w, spec.theta, torch.get_num_threads()), "CUBA forward")
        ctx.save_for_backward(x, cdecay, vdecay, ckeep, cfac, vkeep, vfac, cstate, vstate)
        ctx.spec = spec
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):
        x, cdecay, vdecay, ckeep, cfac, vkeep, vfac, cstate, vstate = ctx.saved_tensors
        spec: _Spec = ctx.spec
        lib, threads = native.cuba_kernel(), torch.get_num_threads()
        ds = grad_spikes.contiguous()
        rows, steps = x.numel() // x.shape[-1], x.shape[-1]
        # lava-dl's surrogate is exp(-|v - theta| / tau): the argument from the kernel, exp from torch on a
        # tensor of lava-dl's shape, so that the gradients are lava-dl's bit for bit
        e = torch.empty_like(x)
        native.check(lib.cuba_surrogate_arg(x.data_ptr(), e.data_ptr(), _ptr(cstate), _ptr(vstate), rows, steps,
                                            vkeep.numel(), _ptr(ckeep), vkeep.data_ptr(), spec.w,
                                            int(spec.theta_w > 0), spec.theta_w, spec.theta, spec.tau, threads),
                     "CUBA surrogate")
        torch.exp(e, out=e)
        gx = torch.empty_like(x)
        want_c = cdecay is not None and ctx.needs_input_grad[1]
        want_v = ctx.needs_input_grad[2]
        gcd = torch.empty(rows, dtype=torch.float64) if want_c else None
        gvd = torch.empty(rows, dtype=torch.float64) if want_v else None
        native.check(lib.cuba_backward(
            ds.data_ptr(), e.data_ptr(), x.data_ptr(), gx.data_ptr(), _ptr(gcd), _ptr(gvd), _ptr(cstate),
            _ptr(vstate), rows, steps, vkeep.numel(), _ptr(ckeep), vkeep.data_ptr(), _ptr(cfac), vfac.data_ptr(),
            spec.w, int(spec.theta_w > 0), spec.theta_w, spec.theta, spec.amp, threads), "CUBA backward")
        grad_c = _decay_grad(gcd, cdecay, spec.shape) if want_c else None
        grad_v = _decay_grad(gvd, vdecay, spec.shape) if want_v else None
        return gx, grad_c, grad_v, None, None, None


def _spec(neuron, shape: tuple[int, ...]) -> _Spec:
    from asnn_neuro.compat.slayer import slayer

    cuba = slayer.neuron.cuba
    theta = neuron.threshold + neuron.threshold_eps     # a Python float, as lava-dl passes it
    tau = torch.tensor(neuron.tau_rho * cuba.TAU_RHO_MULT, dtype=torch.float32)
    scale = torch.tensor(neuron.scale_rho * cuba.SCALE_RHO_MULT, dtype=torch.float32)
    return _Spec(shape=shape, w=float(neuron.s_scale), theta_w=float(torch.tensor(theta * neuron.s_scale,
                 dtype=torch.float32)), theta=float(torch.tensor(theta, dtype=torch.float32)),
                 amp=float(scale / 2 / tau), tau=float(tau))


def _fusable(neuron, x: torch.Tensor) -> bool:
    return (native.cuba_kernel() is not None and x.device.type == "cpu" and x.dtype == torch.float32
            and x.dim() >= 3 and 0 < x.shape[-1] <= MAX_STEPS and neuron.shape is not None
            and tuple(x.shape[1:-1]) == tuple(neuron.shape) and not neuron.persistent_state
            and not neuron.graded_spike and not neuron.debug and isinstance(neuron.threshold, float)
            and neuron.current_state.dtype == torch.float32 and neuron.voltage_state.dtype == torch.float32
            and _broadcasts(neuron.current_decay, x) and _broadcasts(neuron.voltage_decay, x))


def _broadcasts(decay: torch.Tensor, x: torch.Tensor) -> bool:
    try:
        return torch.broadcast_shapes(decay.shape, x.shape[1:-1]) == x.shape[1:-1] and decay.dim() <= x.dim() - 2
    except RuntimeError:
        return False


def _states(neuron, x: torch.Tensor) -> None:
    """The state bookkeeping of lava-dl's ``Neuron.dynamics`` (batch change, first shape)."""
    batch_shape = x.shape[:-1]
    if neuron.current_state.shape[0] != x.shape[0]:
        neuron.current_state = torch.zeros(batch_shape, dtype=neuron.current_state.dtype)
        neuron.voltage_state = torch.zeros(batch_shape, dtype=neuron.voltage_state.dtype)
    if tuple(neuron.current_state.shape[1:]) != tuple(neuron.shape):
        neuron.current_state = neuron.current_state * torch.ones(batch_shape, dtype=neuron.current_state.dtype)
        neuron.voltage_state = neuron.voltage_state * torch.ones(batch_shape, dtype=neuron.voltage_state.dtype)


def cuba_forward(neuron, x: torch.Tensor, original) -> torch.Tensor:
    """``slayer.neuron.cuba.Neuron.forward`` on the fused kernel where it applies, else ``original``."""
    if not _fusable(neuron, x):
        return original(neuron, x)
    from asnn_neuro.compat.slayer import slayer

    quantize, li = slayer.utils.quantize, slayer.neuron.dynamics.leaky_integrator
    _states(neuron, x)
    if neuron.requires_grad:
        neuron.clamp()
    shape = tuple(neuron.shape)
    spec = _spec(neuron, shape)
    vstate = _state_rows(neuron.voltage_state, x)
    if neuron.norm is None:
        spikes = _CubaFn.apply(x, quantize(neuron.current_decay), quantize(neuron.voltage_decay), spec,
                               _state_rows(neuron.current_state, x), vstate)
    else:
        current = li.dynamics(x, quantize(neuron.current_decay), neuron.current_state.contiguous(), neuron.s_scale)
        spikes = _CubaFn.apply(neuron.norm(current), None, quantize(neuron.voltage_decay), spec, None, vstate)
    return neuron.drop(spikes) if neuron.drop is not None else spikes


@contextlib.contextmanager
def fast_cuba() -> Iterator[None]:
    """Within the block, lava-dl's CUBA neuron and leaky integrator run on the fast CPU paths; lava-dl's own
    functions are put back afterwards (nested and repeated use is fine)."""
    from asnn_neuro.compat.slayer import slayer  # the quiet import of lava-dl

    li, neuron = slayer.neuron.dynamics.leaky_integrator, slayer.neuron.cuba.Neuron
    saved = (li._li_dynamics_fwd, li._li_dynamics_bwd, neuron.forward)
    original = neuron.forward if not getattr(neuron.forward, "fast_cuba", False) else neuron.forward.original

    def forward(self, input):
        return cuba_forward(self, input, original)

    forward.fast_cuba, forward.original = True, original
    li._li_dynamics_fwd, li._li_dynamics_bwd, neuron.forward = fast_li_fwd, fast_li_bwd, forward
    try:
        yield
    finally:
        li._li_dynamics_fwd, li._li_dynamics_bwd, neuron.forward = saved
