"""The integer input streams a deployed network reads (encoding/frames.py), for hybrid coding."""

from __future__ import annotations

import torch

from asnn_neuro.data import load_dataset
from asnn_neuro.encoding import encode
from asnn_neuro.encoding.frames import float_frames, integer_frames


def test_hybrid_integer_streams_by_hand():
    # T = 4: graded frame 0 = round(255 x); spike frames on the thresholds 3/4, 1/2, 1/4
    x = torch.tensor([0.0, 0.2, 0.25, 0.5, 0.8]).view(1, 1, 1, 5)
    spikes, graded = integer_frames(x, "hybrid", 4)
    assert spikes.shape == graded.shape == (1, 4, 1, 1, 5) and spikes.dtype == torch.int64
    assert graded[0, :, 0, 0].tolist() == [[0, 51, 64, 128, 204], [0] * 5, [0] * 5, [0] * 5]
    assert spikes[0, :, 0, 0].tolist() == [[0] * 5, [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 1, 0, 0]]
    # the float model is fed exactly these integers back
    back = float_frames(spikes, graded)
    assert torch.equal(back[..., 1:], encode(x, "hybrid", 4)[..., 1:])
    assert torch.equal(back[..., 0], graded[:, 0].float() / 255)


def test_mnist5k_hybrid_input_spikes_per_sample():
    # one spike per pixel with x >= 1/T (counted independently), none for the dark background
    x = load_dataset("mnist5k", seed=0).test_x[:200]
    for T in (2, 4):
        spikes, _ = integer_frames(x, "hybrid", T)
        assert spikes.sum() == (x >= 1 / T).sum()
    per_sample = float(integer_frames(x, "hybrid", 4)[0].sum()) / len(x)
    assert 50 < per_sample < 200  # was 784 (every pixel) when the spike steps were re-gridded
