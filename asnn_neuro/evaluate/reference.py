"""The trained float model as a reference: its predictions and event counts on the same
integer input streams the deployed network reads (only for our own exports)."""

from __future__ import annotations

import numpy as np
import torch

from asnn_neuro.backends.results import Counts, ExecResult
from asnn_neuro.encoding.frames import float_frames
from asnn_neuro.evaluate.inputs import ResolvedNet
from asnn_neuro.training import load_model

BATCH = 200  # samples per forward pass


def reference_predictions(rnet: ResolvedNet, spikes, graded) -> np.ndarray | None:
    """The float SLAYER model's predictions on the same integer input streams."""
    if not rnet.ours:
        return None
    model, _, _ = load_model(rnet.checkpoint)
    preds = []
    with torch.no_grad():
        n = (spikes if spikes is not None else graded).shape[0]
        for i in range(0, n, BATCH):
            s = None if spikes is None else spikes[i:i + BATCH]
            g = None if graded is None else graded[i:i + BATCH]
            preds.append(model(float_frames(s, g)).argmax(1).numpy())
    return np.concatenate(preds)


def float_model_result(rnet: ResolvedNet, spikes, graded) -> ExecResult:
    """Counts and scores of the float SLAYER model (``--backend slayer --precision float``)."""
    model, _, _ = load_model(rnet.checkpoint)
    net = rnet.net
    n = (spikes if spikes is not None else graded).shape[0]
    counts = None
    scores = []
    with torch.no_grad():
        for i in range(0, n, BATCH):
            s = None if spikes is None else spikes[i:i + BATCH]
            g = None if graded is None else graded[i:i + BATCH]
            out, trace = model(float_frames(s, g), record=True)
            scores.append(out.numpy())
            if len(trace) != len(net.layers) - 1:
                continue
            if counts is None:
                counts = [Counts(np.zeros(layer.neurons, np.int64), np.zeros(net.timesteps, np.int64), [])
                          for layer in net.layers]
            for c, tr in zip(counts, trace):
                flat = tr.reshape(tr.shape[0], -1, tr.shape[-1])
                c.per_neuron += flat.sum((0, 2)).round().long().numpy()
                c.per_step += flat.sum((0, 1)).round().long().numpy()
                c.per_sample.extend(flat.sum((1, 2)).round().long().tolist())
    if counts is None:
        counts = [Counts(np.zeros(layer.neurons, np.int64), np.zeros(net.timesteps, np.int64), [0] * n)
                  for layer in net.layers]
    else:
        counts[-1].per_sample = [0] * n
    zeros = torch.zeros(1)
    s = spikes if spikes is not None else zeros
    g = graded if graded is not None else zeros
    return ExecResult(scores=np.concatenate(scores), layers=counts,
                      input_spikes=(s != 0).sum((0, 1)).reshape(-1).numpy() if spikes is not None else
                      np.zeros(int(np.prod(net.input.shape)), np.int64),
                      input_graded=(g != 0).sum((0, 1)).reshape(-1).numpy() if graded is not None else
                      np.zeros(int(np.prod(net.input.shape)), np.int64))
