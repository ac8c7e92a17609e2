"""A partition that imitates the Loihi 2 compiler's, from its printed logs (``--tiling compiler``).

What the lava-dl notebooks' compiler output shows (docs/loihi_measurements.md):

- conv and input layers are cut along x (width) only, into power-of-two column blocks that keep
  every row and channel, the widest block with at most ``CONV_NEURON_CAP`` neurons (PilotNet
  LIF: blocks of 16, 4, 4, 8, 8, 16 columns = 3168, 3072, 2160, 2688, 2048, 2048 neurons; 13, 25,
  13, 3, 3, 2 cores, all six reproduced by this rule); a layer whose single column exceeds the cap
  is also cut along y (power-of-two rows);
- a dense layer starts as one abstract core and is split by ``max_ratio`` = ceil(use / limit)
  until it fits ("Final max_ratio=6 ... allocation=61440", then 12800, then fits: 12 cores for
  PilotNet's 2560->100 layer); its synaptic memory stores every weight, zeros included, at
  ``DENSE_SYNAPSE_BITS`` per synapse in 64-bit words per input axon (61440 = 2560 x 24 words for
  100 neurons).

Both constants were read from PilotNet LIF's log only; MNIST, Oxford and PilotNet SDNN are
held out (their errors are in docs/loihi_measurements.md).
"""

from __future__ import annotations

import math

import numpy as np

from asnn_neuro.fit.census import Census
from asnn_neuro.fit.chips import ChipSpec

CONV_NEURON_CAP = 3584        # 7/8 of 4096: YOLO-KP's compiler table fills conv cores to 87.52 %
DENSE_SYNAPSE_BITS = 15.36    # 61440 words x 64 bits / (2560 axons x 100 neurons), PilotNet LIF log
WORD_BITS = 64


def dense_words(axons: int, neurons: int) -> int:
    """Compiler-like synaptic words of a dense block: every weight stored, per input axon."""
    return int(axons) * math.ceil(neurons * DENSE_SYNAPSE_BITS / WORD_BITS - 1e-9)


def conv_tile(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(ct, ht, wt) for a conv/input layer of (C, H, W): power-of-two column (and if needed row)
    blocks holding at most CONV_NEURON_CAP neurons, all channels kept."""
    c, h, w = shape
    col = c * h
    if col > CONV_NEURON_CAP:  # even one column is too big: cut rows too
        ht = 1 << int(math.floor(math.log2(max(1, CONV_NEURON_CAP // c)))) if c <= CONV_NEURON_CAP else 1
        return (min(c, CONV_NEURON_CAP), min(h, ht), 1)
    wt = 1 << int(math.floor(math.log2(CONV_NEURON_CAP // col)))
    return (c, h, min(w, wt))


def dense_tile(layer, census: Census, chip: ChipSpec) -> tuple[int, int, int]:
    """(ct, 1, 1) for a dense layer by repeated max_ratio splits."""
    n = layer.neurons
    axons = 0
    for p in layer.paths:
        if p.kind == "dense":
            axons += int(np.asarray(p.weight).reshape(n, -1).shape[1])
        else:
            axons += n
    parts = 1
    for _ in range(64):
        per = math.ceil(n / parts)
        ratio = max(dense_words(axons, per) / chip.syn_words, per / CONV_NEURON_CAP, axons / chip.axons_in)
        if ratio <= 1.0:
            break
        parts *= math.ceil(ratio)
        parts = min(parts, n)
    return (math.ceil(n / parts), 1, 1)


def compiler_tile(layer, census: Census, chip: ChipSpec, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The slice shape the compiler-like rule gives one layer."""
    if all(p.kind == "dense" for p in layer.paths) and shape[1] == shape[2] == 1:
        return dense_tile(layer, census, chip)
    return conv_tile(shape)
