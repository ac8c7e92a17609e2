"""Host-side input streams for the deployed network: encoded frames as integers.

The encoder runs on the host (as on Loihi, where an embedded core or the host
feeds the chip). Analog frames become 8-bit graded payloads round(255 x) on the
graded stream; spike frames become 0/1 on the binary stream.
"""

from __future__ import annotations

import numpy as np
import torch

from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.encoding import schemes as enc


def integer_frames(x: torch.Tensor, scheme: str, timesteps: int, calibration=None,
                   seed: int = 0) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(spikes, graded) as (N, T, C, H, W) int64 tensors (None where the scheme has no such stream)."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    frames = enc.encode(x, scheme, timesteps, generator=gen, calibration=calibration)  # (N, C, H, W, T)
    return input_streams(frames, scheme, timesteps)


def input_streams(frames: torch.Tensor, scheme: str,
                  timesteps: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Encoded float frames (N, C, H, W, T) -> (spikes, graded) (N, T, C, H, W) int64: spike steps
    rounded to 0/1, analog steps to graded payloads round(255 x)."""
    frames = frames.detach().permute(0, 4, 1, 2, 3)
    analog = torch.tensor(enc.analog_mask(scheme, timesteps), dtype=torch.bool, device=frames.device)
    spikes = graded = None
    if (~analog).any():
        spikes = torch.where(analog[None, :, None, None, None], 0, frames).round().to(torch.int64)
    if analog.any():
        graded = torch.where(analog[None, :, None, None, None], fx.quantize_graded(frames), 0).to(torch.int64)
    return spikes, graded


def float_frames(spikes: torch.Tensor | None, graded: torch.Tensor | None) -> torch.Tensor:
    """The (N, C, H, W, T) float input the trained model sees, rebuilt from the integer streams."""
    total = None
    if spikes is not None:
        total = spikes.to(torch.float32)
    if graded is not None:
        g = graded.to(torch.float32) / fx.GRADED_LEVELS
        total = g if total is None else total + g
    return total.permute(0, 2, 3, 4, 1)


def as_numpy(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.numpy()
