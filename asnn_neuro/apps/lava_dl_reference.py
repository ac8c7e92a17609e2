"""The reference for NetX conformance: lava-dl's own loader (``netx.hdf5.Network``) run on Lava's
CPU simulator in fixed point with every block's output recorded, networks built and exported
with lava-dl's own SLAYER blocks, and our two backends run on the same frames.

Needs lava-dl and Lava (the conformance check compares against them); the executor itself
never imports this module."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from asnn_neuro import ir
from asnn_neuro.backends.stream import StreamMode, parse_mode, run_executor
from asnn_neuro.compat.slayer import slayer

CUBA = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03}


@dataclass
class Timed:
    """Per-layer traces (T, neurons) of one sample and the seconds the run took."""

    traces: list[np.ndarray]
    run_s: float
    compile_s: float = 0.0


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


def _fixed_point_config():
    """Lava's fixed-point CPU models for every process, lava-dl's blocks expanded: the run
    configuration lava-dl's own NetX tests use (``Loihi2SimCfg(select_tag='fixed_pt')`` leaves
    its Input block unexpanded)."""
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


def lava_dl_timed(net_file: Path, frames: np.ndarray, **network_kwargs) -> Timed:
    """Run lava-dl's netx.hdf5.Network on ``frames`` (T, *input shape in Lava's (x, y, z) order);
    each block's output as (T, neurons) in torch (C, H, W) flattening, aligned to the input step
    (each synapse on the way adds one step in Lava)."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc import io

    from asnn_neuro.compat.lava_runtime import allow_lava_start_method, quiet_compiler

    allow_lava_start_method()
    t0 = time.perf_counter()
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
    try:
        with quiet_compiler():
            net.run(condition=RunSteps(num_steps=steps), run_cfg=_fixed_point_config())
        outs = [s.data.get() for s in sinks]
    finally:
        net.stop()
    aligned = []
    for i, out in enumerate(outs):
        out = np.moveaxis(out, -1, 0)  # (steps, *lava shape)
        if out.ndim == 4:
            out = out.transpose(0, 3, 2, 1)
        lag = i + 1 - has_input_block
        aligned.append(out.reshape(steps, -1)[lag:lag + T].astype(np.int64))
    return Timed(aligned, time.perf_counter() - t0)


def lava_dl_run(net_file: Path, frames: np.ndarray, **network_kwargs) -> list[np.ndarray]:
    """``lava_dl_timed``'s traces."""
    return lava_dl_timed(net_file, frames, **network_kwargs).traces


def ours_timed(net: ir.Network, frames: np.ndarray, graded: bool = False,
               mode: StreamMode | None = None) -> tuple[Timed, Timed]:
    """Per-layer traces (T, neurons) of one sample from our executor and our Lava graph, in stream
    ``mode`` (default: the network's; lava-dl's files: ``continuous``, as lava-dl's loader runs)."""
    from asnn_neuro.backends.lava.runner import run_lava

    x = np.asarray(frames)
    if x.ndim == 4:
        x = x.transpose(0, 3, 2, 1)  # (T, x, y, z) -> (T, C, H, W)
    batch = torch.from_numpy(x.astype(np.int64))[None]
    net.timesteps = batch.shape[1]
    spikes, grd = (None, batch) if graded else (batch, None)
    if graded:
        net.read_graded_input()
    mode = parse_mode(mode, net)
    t0 = time.perf_counter()
    ex = run_executor(net, spikes, grd, mode, record=1)
    ex_s = time.perf_counter() - t0
    lava, timing = run_lava(net, None if spikes is None else spikes.numpy(),
                            None if grd is None else grd.numpy(), record=1, progress=False, mode=mode)
    return (Timed([t[0] for t in ex.traces], ex_s),
            Timed([t[0].astype(np.int64) for t in lava.traces], timing.run_s, timing.compile_s))


def ours(net: ir.Network, frames: np.ndarray, graded: bool = False,
         mode: StreamMode | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``ours_timed``'s traces."""
    ex, lava = ours_timed(net, frames, graded, mode)
    return ex.traces, lava.traces


def slayer_blocks():
    """lava-dl's ``slayer.block`` module (cuba, sigma_delta, rf, ...)."""
    return slayer.block


def shaped(blocks: list, in_shape: tuple[int, ...], steps: int = 4) -> list:
    """``blocks`` after one forward pass of zeros (SLAYER learns its layer shapes from it)."""
    with torch.no_grad():
        x = torch.zeros(1, *in_shape, steps)
        for b in blocks:
            x = b(x)
    return blocks


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


def slayer_cuba_conv(seed: int) -> list:
    """A CUBA Conv (2 -> 3 channels, 3x3, padding 1) on a (2, 5, 4) input, Flatten, Dense (4)."""
    torch.manual_seed(seed)
    return shaped([slayer.block.cuba.Conv(CUBA, 2, 3, 3, padding=1, weight_scale=3, delay_shift=False),
                   slayer.block.cuba.Flatten(),
                   slayer.block.cuba.Dense(CUBA, 3 * 5 * 4, 4, weight_scale=3, delay_shift=False)], (2, 5, 4))


def slayer_sigma_delta(seed: int, conv: bool) -> tuple[list, tuple[int, ...]]:
    """slayer.block.sigma_delta Input, (Conv, Flatten,) Dense, Output: ReLU, delta thresholds."""
    import torch.nn.functional as F

    torch.manual_seed(seed)
    sd = {"threshold": 0.1 + 0.05 * seed, "activation": F.relu}
    blocks, shape = [slayer.block.sigma_delta.Input(sd)], (12,)
    if conv:
        shape = (2, 6, 5)
        blocks += [slayer.block.sigma_delta.Conv(sd, 2, 4, 3, padding=1, stride=(1, 2), weight_scale=2),
                   slayer.block.sigma_delta.Flatten()]
        n_in = 4 * 6 * 3
    else:
        n_in = 12
    blocks += [slayer.block.sigma_delta.Dense(sd, n_in, 10, weight_scale=2),
               slayer.block.sigma_delta.Output(sd, 10, 3, weight_scale=2)]
    return shaped(blocks, shape), shape


OTHER_NEURONS = {
    "rf": {"threshold": 0.5, "period": 6, "decay": 0.05},
    "rf_iz": {"threshold": 0.5, "period": 6, "decay": 0.05},
    "alif": {"threshold": 1.0, "threshold_step": 0.2, "current_decay": 0.25, "voltage_decay": 0.03,
             "threshold_decay": 0.1, "refractory_decay": 0.1},
    "adrf": {"threshold": 1.0, "threshold_step": 0.2, "period": 8, "decay": 0.1, "threshold_decay": 0.1,
             "refractory_decay": 0.1},
}


def slayer_other_dense(block: str, sizes: list[int], seed: int, weight_scale: int = 4) -> list:
    """Dense blocks of slayer.block.<block> (rf, rf_iz, alif, adrf) with OTHER_NEURONS' parameters."""
    torch.manual_seed(seed)
    mod, prm = getattr(slayer.block, block), OTHER_NEURONS[block]
    return shaped([mod.Dense(prm, a, b, weight_scale=weight_scale, delay_shift=False)
                   for a, b in zip(sizes[:-1], sizes[1:])], (sizes[0],))


def slayer_dense_forward(blocks: list, frames: np.ndarray) -> list[np.ndarray]:
    """SLAYER's own forward (its fixed-point neuron dynamics, quantised weights) of Dense
    ``blocks`` on one sample's frames (T, n): each block's output spikes (T, neurons)."""
    outs = []
    with torch.no_grad():
        x = torch.from_numpy(np.asarray(frames, dtype=np.float32).T[None].copy())
        for b in blocks:
            x = b(x)
            outs.append(x[0].T.numpy().astype(np.int64))
    return outs


def slayer_cuba_recurrent(seed: int) -> list:
    """A cuba.Recurrent block (10 -> 8, NetX ``dense_rec``: input and recurrent weights), then Dense (4)."""
    torch.manual_seed(seed)
    return shaped([slayer.block.cuba.Recurrent(CUBA, 10, 8, weight_scale=3, delay_shift=False),
                   slayer.block.cuba.Dense(CUBA, 8, 4, weight_scale=3, delay_shift=False)], (10,))


def slayer_transposed(seed: int, unpool: bool, steps: int = 10) -> tuple[list, np.ndarray, list[np.ndarray]]:
    """cuba.Conv (1 -> 3, stride 2) then cuba.ConvT (3 -> 2, 3x3, stride 2, padding 1) or cuba.Unpool
    (2), which lava-dl's loader refuses. Returns the blocks, one sample's frames (T, x, y, z) and
    SLAYER's own output of each block (T, neurons), the independent reference for them."""
    torch.manual_seed(seed)
    blocks = [slayer.block.cuba.Conv(CUBA, 1, 3, 3, padding=1, stride=2, weight_scale=3, delay_shift=False)]
    if unpool:
        blocks.append(slayer.block.cuba.Unpool(CUBA, 2, delay_shift=False))
    else:
        blocks.append(slayer.block.cuba.ConvT(CUBA, 3, 2, 3, stride=2, padding=1, weight_scale=3, delay_shift=False))
    x = (torch.rand(1, 1, 8, 8, steps) < 0.5).float()
    outs = []
    with torch.no_grad():
        out = x
        for b in blocks:
            out = b(out)
            outs.append(out[0].permute(3, 0, 1, 2).reshape(steps, -1).numpy().astype(np.int64))
    return blocks, x[0].permute(3, 2, 1, 0).numpy().astype(np.int64), outs
