"""Spatial max pooling of time-last spike tensors (N, C, H, W, T), one window per time step.

``spike_max_pool`` is ``F.max_pool3d`` with kernel (k, k, 1) and stride (s, s, 1): the same values,
the same choice among equal maxima and so the same gradients. On the CPU in float32 it runs the
compiled kernel (``asnn_kernel.c``), which reads each window's T steps as one contiguous vector
and saves a one-byte window position per output for the backward (torch saves an int64 index);
elsewhere, or without the compiled kernel, it is ``F.max_pool3d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from asnn_neuro.neurons import native


class _SpikePool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel: int, stride: int):
        lib = native.kernel()
        x = x.contiguous()
        n, c, h, w, steps = x.shape
        oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
        y = x.new_empty((n, c, oh, ow, steps))
        arg = torch.empty((n, c, oh, ow, steps), dtype=torch.uint8)
        native.check(lib.pool_forward(x.data_ptr(), y.data_ptr(), arg.data_ptr(), n * c, h, w, steps, kernel,
                                      stride, torch.get_num_threads()), "spike pool")
        ctx.save_for_backward(arg)
        ctx.meta = (x.shape, kernel, stride)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        (arg,) = ctx.saved_tensors
        shape, kernel, stride = ctx.meta
        n, c, h, w, steps = shape
        grad_y = grad_y.to(torch.float32).contiguous()
        grad_x = grad_y.new_zeros(shape)
        native.check(native.kernel().pool_backward(grad_y.data_ptr(), arg.data_ptr(), grad_x.data_ptr(), n * c, h,
                                                   w, steps, kernel, stride, torch.get_num_threads()), "spike pool")
        return grad_x, None, None


def spike_max_pool(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Max over k x k windows with stride s of every time step of x (N, C, H, W, T)."""
    if (x.dim() == 5 and 1 <= kernel <= 15 and stride >= 1 and min(x.shape[2:4]) >= kernel
            and native.for_tensor(x) is not None):
        return _SpikePool.apply(x, kernel, stride)
    return F.max_pool3d(x, (kernel, kernel, 1), (stride, stride, 1))
