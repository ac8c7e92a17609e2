"""The ``Dataset`` container shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Dataset:
    """A train/test split of images in [0, 1] with integer class labels.

    ``train_x``/``test_x`` are float32 (N, C, H, W); ``train_y``/``test_y`` are int64 (N,).
    """

    name: str
    train_x: torch.Tensor = field(repr=False)
    train_y: torch.Tensor = field(repr=False)
    test_x: torch.Tensor = field(repr=False)
    test_y: torch.Tensor = field(repr=False)
    classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one image: (C, H, W)."""
        c, h, w = self.train_x.shape[1:]
        return int(c), int(h), int(w)

    def __str__(self) -> str:
        c, h, w = self.shape
        return (
            f"{self.name}: {len(self.train_y)} train / {len(self.test_y)} test, "
            f"{c}x{h}x{w}, {self.classes} classes"
        )


def images_to_tensor(pixels: np.ndarray, scale: float, shape: tuple[int, int, int]) -> torch.Tensor:
    """Turn (N, ...) integer-valued pixels into float32 (N, C, H, W) divided by ``scale``.

    The division happens in float32, so a uint8 value k becomes exactly float32(k / scale).
    """
    x = np.asarray(pixels).astype(np.float32).reshape((-1, *shape))
    x /= np.float32(scale)
    return torch.from_numpy(np.ascontiguousarray(x))


def labels_to_tensor(labels: np.ndarray) -> torch.Tensor:
    """Turn (N,) integer labels into an int64 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(labels, dtype=np.int64).reshape(-1)))
