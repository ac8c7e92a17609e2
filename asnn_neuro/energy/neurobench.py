"""NeuroBench's workload and static metrics, computed natively over a network and a run's counts.

Definitions follow NeuroBench 2.3.0 (neurobench.metrics), per sample:

- ``parameter_count``: weights + biases of the connection layers (conv, dense);
- ``footprint_bytes``: those parameters at 4 bytes each (NeuroBench sums ``numel x element_size``
  of a float32 torch model's parameters and buffers; a network read from a file has no torch
  buffers, so neuron parameters are left out, see docs/loihi_measurements.md's NeuroBench check);
- ``connection_sparsity``: zero weights / all weights of the conv and dense layers (3 decimals);
- ``activation_sparsity``: 1 - spikes / (neurons x time steps), over all spiking layers;
- ``synaptic_operations``: ``Effective_ACs`` = binary events x nonzero synapses they reach,
  ``Effective_MACs`` the same for graded (non-binary) events, ``Dense`` = every synapse at every
  step (zero weights and silent inputs included), over conv and dense layers (pools and identity
  paths are not synapses in NeuroBench);
- ``membrane_updates``: neurons x time steps. NeuroBench counts the first step's neurons plus, after
  it, only the neuron-steps whose membrane changed; a run's spike counts cannot tell an unchanged
  membrane, so this is NeuroBench's upper bound (equal when every membrane changes every step, as
  a leaky neuron's does while it is nonzero).

Pure: no torch model, no hooks (SLAYER synapses subclass Conv3d, which NeuroBench's hooks would
count wrongly for our own models).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro import ir
from asnn_neuro.energy.fanout import fanout, is_graded

SYNAPSE_KINDS = ("conv", "dense")


def _chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    if len(shape) == 2:
        return int(shape[0]), 1, int(shape[1])
    return int(np.prod(shape)), 1, 1


def nonzero_fanout(path: ir.Path, src_shape: tuple[int, ...], dst_shape: tuple[int, ...]) -> np.ndarray:
    """Nonzero synapses each source neuron drives through a conv or dense path (flat, torch order)."""
    w = np.asarray(path.weight) != 0
    if path.kind == "dense":
        return w.reshape(int(np.prod(dst_shape)), -1).sum(0).astype(np.int64)
    _, h_in, w_in = _chw(src_shape)
    c_out, h_out, w_out = _chw(dst_shape)
    ones = torch.ones(1, c_out, h_out, w_out, dtype=torch.float64)
    kern = torch.as_tensor(w.astype(np.float64))
    # unpadded transposed conv: window coverage over the padded input, then cut the padding off
    back = F.conv_transpose2d(ones, kern, stride=path.stride, dilation=path.dilation, groups=int(path.groups))
    ph, pw = path.padding
    back = back[:, :, ph:ph + h_in, pw:pw + w_in]
    if back.shape[-2:] != (h_in, w_in):  # the last rows/columns no window reaches
        back = F.pad(back, (0, w_in - back.shape[-1], 0, h_in - back.shape[-2]))
    return np.rint(back.reshape(-1).numpy()).astype(np.int64)


def static_metrics(net: ir.Network) -> dict:
    """parameter_count, footprint_bytes (float32) and connection_sparsity of ``net``."""
    params = zeros = weights = 0
    for lay in net.layers:
        for p in lay.paths:
            if p.kind not in SYNAPSE_KINDS or p.weight is None:
                continue
            w = np.asarray(p.weight)
            weights += w.size
            zeros += int((w == 0).sum())
            params += w.size + (0 if p.bias is None else np.asarray(p.bias).size)
    return {"parameter_count": int(params), "footprint_bytes": int(params * 4),
            "connection_sparsity": round(zeros / weights, 3) if weights else 0.0}


def _source_counts(counts: Mapping[str, np.ndarray], source: int) -> np.ndarray | None:
    key = {ir.Stream.SPIKES: "input_spikes", ir.Stream.GRADED: "input_graded"}.get(source, f"layer{source}_spikes")
    return None if key not in counts else np.asarray(counts[key], dtype=np.int64).reshape(-1)


def workload_metrics(net: ir.Network, counts: Mapping[str, np.ndarray], samples: int, timesteps: int) -> dict:
    """Per-sample activation sparsity, synaptic operations and membrane updates from counts.npz arrays.

    counts: ``layerI_spikes`` (per neuron, summed over samples and steps), ``input_spikes`` /
    ``input_graded`` (events into the network, same form).
    """
    spikes = updates = 0
    acs = macs = dense = 0
    for i, lay in enumerate(net.layers):
        sc = _source_counts(counts, i)
        if sc is not None and lay.neuron.kind != "SDNN" and not getattr(lay.neuron, "readout", False):
            spikes += int(sc.sum())
            updates += lay.neurons * timesteps * samples
        for p in lay.paths:
            if p.kind not in SYNAPSE_KINDS or p.weight is None:
                continue
            src_shape = net.source_shape(p.source)
            fan = fanout(p, src_shape, tuple(lay.shape))
            dense += int(fan.sum()) * timesteps * samples
            ev = _source_counts(counts, p.source)
            if ev is None:
                continue
            ops = int(np.dot(ev, nonzero_fanout(p, src_shape, tuple(lay.shape))))
            graded = is_graded(p) or (not ir.is_input(p.source) and ir.sends_values(net.layers[p.source]))
            macs, acs = (macs + ops, acs) if graded else (macs, acs + ops)
    n = max(1, samples)
    return {
        "activation_sparsity": 1.0 - spikes / updates if updates else 0.0,
        "synaptic_operations": {"Effective_MACs": macs / n, "Effective_ACs": acs / n, "Dense": dense / n},
        "membrane_updates": updates / n,
        "membrane_updates_note": "neurons x steps: NeuroBench's upper bound (it counts only changed membranes)",
    }


def neurobench_metrics(net: ir.Network, counts: Mapping[str, np.ndarray] | None, samples: int,
                       timesteps: int) -> dict:
    """energy.json's ``neurobench``: static metrics always, workload metrics when counts exist."""
    out = {"definitions": "NeuroBench 2.3.0 (neurobench.metrics), per sample; see asnn_neuro/energy/neurobench.py",
           **static_metrics(net)}
    if counts is not None:
        out.update(workload_metrics(net, counts, samples, timesteps))
    return out
