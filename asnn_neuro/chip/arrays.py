"""Array helpers that work on numpy int64 arrays and torch int64 tensors alike.

The chip's arithmetic (``fixed_point`` and the neuron kinds in ``chip.neurons``) is written once
on these, so the Lava process models (numpy) and the executor (torch) run the same code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    import torch

Array = Union[np.ndarray, "torch.Tensor"]  # int64 values; numpy in Lava's models, torch in the executor


def is_torch(x: Array) -> bool:
    return type(x).__module__.startswith("torch")


def where(cond: Array, a: Array, b: Array) -> Array:
    if is_torch(cond):
        import torch

        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def clip(x: Array, lo: int, hi: int) -> Array:
    return x.clamp(lo, hi) if is_torch(x) else np.clip(x, lo, hi)


def absolute(x: Array) -> Array:
    return x.abs() if is_torch(x) else np.abs(x)


def sign(x: Array) -> Array:
    return x.sign() if is_torch(x) else np.sign(x)


def zeros(like: Array, shape: tuple[int, ...]) -> Array:
    """int64 zeros of ``shape``, a torch tensor on ``like``'s device when ``like`` is one."""
    if is_torch(like):
        import torch

        return torch.zeros(shape, dtype=torch.int64, device=like.device)
    return np.zeros(shape, dtype=np.int64)
