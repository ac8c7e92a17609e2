"""Training-image augmentations: the default random translation and the reference's recipe.

``reference_augment`` is what the paper's reference code applies to every training image
(ASNNGIT/com.py, torchvision): a horizontal flip with probability 1/2, a rotation by an angle
drawn uniformly from [0, 25] degrees (counter-clockwise, nearest neighbour, zero fill, about the
image centre) and a random crop of the original size from the image padded by 5 pixels of zeros
(a translation by -5..5 pixels per axis). Here it runs on whole batches, drawing from ``gen``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("shift", "reference")
REF_FLIP_P = 0.5
REF_MAX_DEGREES = 25.0
REF_CROP_PADDING = 5


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by an integer offset in [-max_shift, max_shift] (zero fill)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen, device=gen.device).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] + offsets[:, :1])  # (n, h)
    cols = (torch.arange(w, device=x.device)[None, :] + offsets[:, 1:])  # (n, w)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate each image (N, C, H, W) counter-clockwise by ``degrees`` (N,): nearest, zero fill."""
    n, _, h, w = x.shape
    a = degrees.to(torch.float64) * (math.pi / 180.0)
    cos, sin = torch.cos(a), torch.sin(a)
    zero = torch.zeros_like(a)
    # output pixel (normalised coordinates) -> the input pixel it shows, corrected for the aspect ratio
    theta = torch.stack([torch.stack([cos, -sin * (h / w), zero], -1),
                         torch.stack([sin * (w / h), cos, zero], -1)], 1).to(x.dtype).to(x.device)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def reference_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The reference's flip -> rotation (0..25 degrees) -> crop with padding 5, per image."""
    n = x.shape[0]
    flip = (torch.rand(n, generator=gen, device=gen.device) < REF_FLIP_P).to(x.device)
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    degrees = torch.rand(n, generator=gen, device=gen.device, dtype=torch.float64) * REF_MAX_DEGREES
    x = rotate(x, degrees)
    return random_shift(x, REF_CROP_PADDING, gen)
