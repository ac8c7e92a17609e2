"""The reference for NetX conformance: lava-dl's own loader (``netx.hdf5.Network``) run on Lava's
CPU simulator in fixed point, with every block's output recorded; and small networks built and
exported with lava-dl's own SLAYER blocks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch

from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.compat.slayer import slayer

CUBA = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03}


def export_blocks(path: Path, blocks: list, input_shape: tuple[int, ...] | None = None) -> None:
    """Write ``blocks`` with lava-dl's ``export_hdf5`` (an ``input`` layer only if ``input_shape``)."""
    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        offset = 0
        if input_shape is not None:
            g = layers.create_group("0")
            g.create_dataset("type", (1,), "S10", [b"input"])
            g.create_dataset("shape", data=np.array(input_shape))
            offset = 1
        for i, b in enumerate(blocks):
            b.export_hdf5(layers.create_group(str(i + offset)))


def _FixedPoint():
    """Lava's fixed-point CPU models for every process, sub-process models (lava-dl's blocks)
    expanded: the run configuration lava-dl's own NetX tests use (Loihi2SimCfg with
    select_tag='fixed_pt' leaves lava-dl's SDNN Input block unexpanded)."""
    from lava.magma.core.run_configs import RunConfig

    class FixedPoint(RunConfig):
        def __init__(self) -> None:
            super().__init__(custom_sync_domains=None)

        def select(self, _proc, proc_models):
            for pm in proc_models:
                if "fixed_pt" in pm.tags:
                    return pm
            raise AssertionError("no fixed-point ProcessModel")

    return FixedPoint()


def lava_dl_run(net_file: Path, frames: np.ndarray, **network_kwargs) -> list[np.ndarray]:
    """Run lava-dl's netx.hdf5.Network on ``frames`` (T, *input shape in Lava's (x, y, z) order);
    returns each block's output as (T, neurons) in torch (C, H, W) flattening, aligned to the
    input step (each block adds one step of synapse delay in Lava)."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc import io

    from asnn_neuro.compat.lava_runtime import allow_lava_start_method, quiet_compiler

    allow_lava_start_method()
    net = netx.hdf5.Network(net_config=str(net_file), **network_kwargs)
    T = frames.shape[0]
    steps = T + len(net.layers) + 1
    data = np.zeros((*frames.shape[1:], steps))
    data[..., :T] = np.moveaxis(frames, 0, -1)
    source = io.source.RingBuffer(data=data)
    has_input_block = type(net.layers[0]).__name__ == "Input"
    # lava-dl's Input block leaves its own port unconnected: its tests drive the neuron directly
    source.s_out.connect(net.layers[0].neuron.a_in if has_input_block else net.inp)
    sinks = []
    for layer in net.layers:
        sink = io.sink.RingBuffer(shape=layer.out.shape, buffer=steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    cfg = _FixedPoint()
    try:
        with quiet_compiler():
            net.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
        outs = [s.data.get() for s in sinks]
    finally:
        net.stop()
    aligned = []
    for i, out in enumerate(outs):
        out = np.moveaxis(out, -1, 0)  # (steps, *lava shape)
        if out.ndim == 4:
            out = out.transpose(0, 3, 2, 1)
        lag = i + 1 - has_input_block  # one step per synapse on the way
        aligned.append(out.reshape(steps, -1)[lag:lag + T].astype(np.int64))
    return aligned


def ours(net: ir.Network, frames: np.ndarray, graded: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-layer traces (T, neurons) of one sample from our executor and our Lava graph."""
    from asnn_neuro.backends.lava.runner import run_lava

    x = np.asarray(frames)
    if x.ndim == 4:
        x = x.transpose(0, 3, 2, 1)  # (T, x, y, z) -> (T, C, H, W)
    batch = torch.from_numpy(x.astype(np.int64))[None]
    net.timesteps = batch.shape[1]
    spikes, grd = (None, batch) if graded else (batch, None)
    if graded:
        net.read_graded_input()
    ex = FixedExecutor(net).run(spikes, grd, record=1)
    lava, _ = run_lava(net, None if spikes is None else spikes.numpy(), None if grd is None else grd.numpy(),
                       record=1, progress=False)
    return [t[0] for t in ex.traces], [t[0].astype(np.int64) for t in lava.traces]


def slayer_cuba_dense(sizes: list[int], seed: int, delay: bool) -> list:
    """CUBA Dense blocks (lava-dl's SLAYER), with random axonal delays 0..7 in all but the last."""
    torch.manual_seed(seed)
    blocks = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        d = delay and k < len(sizes) - 2
        blocks.append(slayer.block.cuba.Dense(CUBA, a, b, weight_scale=3, delay=d, delay_shift=False))
    shaped(blocks, (sizes[0],))  # SLAYER sizes the delays on the first pass
    for b in blocks:
        if b.delay is not None:
            b.delay.delay.data = torch.randint(0, 8, b.delay.delay.shape).float()
    return blocks


def shaped(blocks: list, in_shape: tuple[int, ...], steps: int = 4) -> list:
    """``blocks`` after one forward pass of zeros (SLAYER learns its layer shapes from it)."""
    with torch.no_grad():
        x = torch.zeros(1, *in_shape, steps)
        for b in blocks:
            x = b(x)
    return blocks
