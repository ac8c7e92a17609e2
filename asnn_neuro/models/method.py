"""Training-semantics switches of the paper's method, applied to any built model.

- ``bn_stats``: ``pooled`` (one set of batch statistics over N, H, W and T: every step is
  normalised alike) or ``per-step`` (the reference's semantics: in training each time step is
  normalised with its own batch statistics over N, H, W; the running statistics are shared by
  all steps and used in evaluation). Evaluation -- and so deployment, where batch norm folds into
  weights and bias -- is the same for both: one set of running statistics.
- ``reset_grad``: let the gradient flow through the soft reset of asnn/lif neurons (the
  reference) instead of detaching it.
- ``readout_scale``: the ASNN readout's learnable per-step scale w[t]; off, w[t] stays 1 (the
  reference's own "ASNN off" switch, which keeps the per-step leak and gain).
- ``fixed_leak``: the classical LIF baseline for ``--neuron lif``: leak and input gain frozen at
  ``FIXED_LEAK`` and ``FIXED_GAIN`` in every layer (``lif`` alone learns one leak and gain per layer;
  neither is the textbook neuron). 0.7 is the ``leak_mem`` the reference declares for its plain
  LIF but never uses; gain 1 is the textbook ``u <- lam u + I`` -- the batch norm before every
  neuron learns the input scale, so a constant gain would only rescale its affine weight.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from asnn_neuro.errors import InputError

BN_STATS = ("pooled", "per-step")
EVAL_BN = ("running", "batch")
FIXED_LEAK = 0.7   # the reference's declared (unused) leak_mem
FIXED_GAIN = 1.0   # u <- lam u + I: the batch norm in front learns the scale


def check_method(neuron: str, bn_stats: str, reset_grad: bool, readout_scale: bool,
                 fixed_leak: bool = False) -> None:
    """Raise InputError naming the first option that does not apply to ``neuron``."""
    if fixed_leak and neuron != "lif":
        raise InputError(f"--fixed-leak applies to --neuron lif only (got {neuron}): it freezes the LIF "
                         f"leak at {FIXED_LEAK} and the gain at {FIXED_GAIN}")
    if bn_stats not in BN_STATS:
        raise InputError(f"--bn-stats must be one of {', '.join(BN_STATS)}, got {bn_stats!r}")
    if reset_grad and neuron not in ("asnn", "lif"):
        raise InputError(f"--reset-grad needs --neuron asnn or lif (lava-dl's {neuron} neuron has its own reset)")
    if not readout_scale and neuron != "asnn":
        raise InputError(f"--no-readout-scale applies to --neuron asnn only ({neuron} has no per-step readout "
                         "scale)")


HYBRID_CUBA_ERROR = (
    "--encoding {encoding} with --neuron cuba cannot be deployed: lava-dl's CUBA neuron gives all its "
    "inputs one weight scale and one constant bias, but the analog frame (payloads 0..255, its own "
    "batch-norm bias at t = 0 only) needs its own, so on the chip it would quantise to zero; use "
    "--neuron asnn or lif (their input paths switch per step)")


def check_encoding(neuron: str, encoding: str) -> None:
    """Raise InputError when ``encoding`` cannot be deployed with ``neuron`` (hybrid + cuba)."""
    from asnn_neuro.encoding import is_hybrid

    if neuron == "cuba" and is_hybrid(encoding):
        raise InputError(HYBRID_CUBA_ERROR.format(encoding=encoding))


class _PerStepNorm:
    """Batch norm over a time-last tensor (N, C, ..., T) with per-step batch statistics in training.

    Each step t is normalised with the mean and (biased) variance of x[..., t] over every axis but
    C; the running statistics are updated once per step, in step order, exactly as T calls of one
    batch-norm module (momentum, or a cumulative average when momentum is None). Evaluation uses
    the shared running statistics (the base class's forward)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.track_running_stats:
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim() - 1)]
        mean = x.mean(dims, keepdim=True)                      # (1, C, 1.., T)
        var = x.var(dims, unbiased=False, keepdim=True)
        y = (x - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            y = y * self.weight.view(shape) + self.bias.view(shape)
        self._update_running(mean.detach(), var.detach(), x.numel() // (x.shape[1] * x.shape[-1]))
        return y

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
        mean = mean.reshape(mean.shape[1], -1)                 # (C, T)
        var = var.reshape(var.shape[1], -1) * (count / max(count - 1, 1))
        for t in range(mean.shape[1]):
            self.num_batches_tracked.add_(1)
            f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.mul_(1 - f).add_(mean[:, t], alpha=f)
            self.running_var.mul_(1 - f).add_(var[:, t], alpha=f)


class PerStepBatchNorm1d(_PerStepNorm, torch.nn.BatchNorm1d):
    """``BatchNorm1d`` on (N, C, T) with per-step training statistics (state dict unchanged)."""


class PerStepBatchNorm3d(_PerStepNorm, torch.nn.BatchNorm3d):
    """``BatchNorm3d`` on (N, C, H, W, T) with per-step training statistics (state dict unchanged)."""


_PER_STEP = {torch.nn.BatchNorm1d: PerStepBatchNorm1d, torch.nn.BatchNorm3d: PerStepBatchNorm3d}


def _per_step_norms(model: torch.nn.Module) -> None:
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            cls = _PER_STEP.get(type(child))
            if cls is None:
                continue
            new = cls(child.num_features, eps=child.eps, momentum=child.momentum, affine=child.affine,
                      track_running_stats=child.track_running_stats)
            new.load_state_dict(child.state_dict())
            setattr(parent, name, new)


def freeze_leak(neuron: torch.nn.Module) -> None:
    """Fix an LIF neuron's leak and gain at FIXED_LEAK / FIXED_GAIN; they are no longer trained."""
    with torch.no_grad():
        neuron.leak.fill_(FIXED_LEAK)
        neuron.gain.fill_(FIXED_GAIN)
    neuron.leak.requires_grad_(False)
    neuron.gain.requires_grad_(False)


def apply_method(model: torch.nn.Module, bn_stats: str = "pooled", reset_grad: bool = False,
                 readout_scale: bool = True, fixed_leak: bool = False) -> torch.nn.Module:
    """Switch a freshly built model to the requested training semantics (in place; returns it)."""
    from asnn_neuro.models.blocks import Readout
    from asnn_neuro.neurons import asnn

    if bn_stats == "per-step":
        _per_step_norms(model)
    for m in model.modules():
        if isinstance(m, asnn.Neuron):
            m.reset_grad = bool(reset_grad)
            if fixed_leak:
                freeze_leak(m)
        if isinstance(m, Readout) and not readout_scale:
            with torch.no_grad():
                m.step_weight.fill_(1.0)
            m.step_weight.requires_grad_(False)
    return model


@contextlib.contextmanager
def batch_statistics(model: torch.nn.Module, enabled: bool = True) -> Iterator[None]:
    """Inside: every batch norm of ``model`` normalises with the current batch's statistics.

    This is how the reference scores its test set (it never calls ``.eval()``): pooled norms use
    the batch's statistics over N, H, W and T, per-step norms each step's own. The running
    statistics and the modules' train/eval flags are restored on exit, so deployment (which folds
    the running statistics) is unaffected."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)] \
        if enabled else []
    saved = [(m.training, {k: v.clone() for k, v in m.state_dict().items()}) for m in norms]
    try:
        for m in norms:
            m.train()
        yield
    finally:
        for m, (training, state) in zip(norms, saved):
            m.load_state_dict(state)
            m.train(training)
