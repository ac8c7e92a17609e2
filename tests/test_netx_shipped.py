"""lava-dl's own shipped test networks (in the lava-dl wheel, ``tests/lava/lib/dl/netx/gts``) run
from their shipped inputs and match the arrays shipped next to them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.compat.lava_dl_files import shipped_networks
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.evaluate.inputs import file_frames


def _gts() -> Path | None:
    return shipped_networks()


GTS = _gts()
pytestmark = pytest.mark.skipif(GTS is None, reason="lava-dl's test networks are not installed")


@pytest.fixture
def one_thread():
    """Batch-1 float32 matvecs are far slower with several threads on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_ntidigits_3000_steps_match_the_shipped_output(one_thread):
    """Delays (up to 62 steps), 3000 steps, a flat (64, 3000) input and an ``average`` readout."""
    net = read_network(GTS / "ntidigits" / "ntidigits.net")
    spikes, graded = file_frames(net, GTS / "ntidigits" / "input.npy")
    assert graded is None and spikes.shape == (1, 3000, 1, 1, 64)
    net.timesteps = 3000
    res = FixedExecutor(net).run(spikes, None, record=1)
    ours = res.traces[2][0]                              # (3000, 242): the last spiking layer
    shipped = np.load(GTS / "ntidigits" / "output.npy").T.astype(np.int64)
    # the shipped array is lava-dl's raw Lava output: 4 steps of pipeline behind the input
    assert ours.sum() == shipped.sum() == 22572
    assert np.array_equal(ours[:-4], shipped[4:])
    # the average readout: each of the 11 groups' spike count
    assert np.array_equal(res.scores[0], ours.reshape(3000, 11, 22).sum((0, 2)))


def test_pilotnet_lif_layers_match_the_shipped_arrays(one_thread):
    """PilotNet LIF driven by its image (the input neuron's bias in lava-dl's test, here a static
    graded frame: the same integers), every spiking layer against its shipped spikes. lava-dl
    made them with a reset every 16 steps, so the first 16 steps of each layer are compared."""
    net = read_network(GTS / "pilotnet_lif" / "network.net")
    assert net.layers[-1].paths[0].weight.shape == (1, 10)  # stored 1-D
    _, graded = file_frames(net, GTS / "pilotnet_lif" / "image.npy", timesteps=16)
    net.read_graded_input()
    net.timesteps = 16
    res = FixedExecutor(net).run(None, graded, record=1)
    names = ["input"] + [f"conv-{i}" for i in range(5)] + [f"fc-{i}" for i in range(3)]
    for i, name in enumerate(names):
        shipped = np.load(GTS / "pilotnet_lif" / f"{name}.npy")
        shipped = shipped.transpose(3, 2, 1, 0) if shipped.ndim == 4 else shipped.T  # (T, C, H, W)
        shipped = shipped.reshape(shipped.shape[0], -1)[i:i + 16].astype(np.int64)  # layer i is i steps late
        assert np.array_equal(res.traces[i][0], shipped), name
    assert res.layers[1].per_neuron.sum() > 0


@pytest.mark.slow
def test_pilotnet_lif_runs_in_our_lava_graph(one_thread):
    """The same 16 steps in our Lava graph: its 200-wide first conv runs in our integer conv
    process (Lava's CPU Conv model breaks past 127), in a forked worker that must not enter the
    parent's torch thread pool (it hung); every layer equal to the executor."""
    from asnn_neuro.backends.lava.runner import run_lava

    net = read_network(GTS / "pilotnet_lif" / "network.net")
    _, graded = file_frames(net, GTS / "pilotnet_lif" / "image.npy", timesteps=16)
    net.read_graded_input()
    net.timesteps = 16
    ex = FixedExecutor(net).run(None, graded, record=1)
    torch.set_num_threads(2)  # the parent's pool is started (the forked conv worker used to hang)
    torch.nn.functional.conv2d(torch.rand(1, 3, 66, 200), torch.rand(24, 3, 5, 5))
    lava, _ = run_lava(net, None, graded.numpy(), precision="fixed", backend="lava", record=1, progress=False)
    assert ex.traces[2].sum() > 0
    for i, (a, b) in enumerate(zip(ex.traces, lava.traces)):
        assert np.array_equal(a, b), f"layer {i}"


@pytest.mark.parametrize("layout", ["xyzT", "NxyzT", "flat", "Nflat", "static"])
def test_input_file_layouts(tmp_path, layout):
    net = ir.Network(input=ir.InputSpec(shape=(2, 3, 4)), layers=[], timesteps=0)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 2, (2, 5, 2, 3, 4))               # (N, T, C, H, W)
    lava = frames.transpose(0, 4, 3, 2, 1)                     # (N, x, y, z, T)
    flat = frames.reshape(2, 5, -1).transpose(0, 2, 1)          # (N, neurons in C, H, W order, T)
    arr = {"xyzT": lava[0], "NxyzT": lava, "flat": flat[0], "Nflat": flat, "static": lava[0, ..., 0]}[layout]
    np.save(tmp_path / "x.npy", arr)
    spikes, graded = file_frames(net, tmp_path / "x.npy", timesteps=5 if layout == "static" else None)
    want = frames[:1] if layout in ("xyzT", "flat") else frames
    if layout == "static":
        want = np.repeat(frames[:1, :1], 5, axis=1)
    assert graded is None and np.array_equal(spikes.numpy(), want)


@pytest.mark.parametrize("shape", [(2, 7, 1, 1, 5), (2, 1, 1, 7, 5), (7, 1, 1, 5), (2, 7, 5), (7, 5)])
def test_flat_network_inputs_in_any_form(tmp_path, shape):
    """A network with a flat input (7 neurons): (N,) 7, T as well as its (x, y, z) forms."""
    net = ir.Network(input=ir.InputSpec(shape=(7,)), layers=[], timesteps=0)
    frames = np.random.default_rng(1).integers(0, 2, (2, 7, 5))  # (N, neurons, T)
    np.save(tmp_path / "x.npy", frames[: shape[0] if len(shape) == 5 or len(shape) == 3 else 1].reshape(shape))
    spikes, _ = file_frames(net, tmp_path / "x.npy")
    want = frames[: spikes.shape[0]].transpose(0, 2, 1)
    assert spikes.shape[0] == (2 if len(shape) in (3, 5) else 1) and np.array_equal(spikes.numpy(), want)


@pytest.mark.slow
def test_pilotnet_sdnn_matches_lava_dl_without_its_biases(tmp_path, one_thread):
    """lava-dl's PilotNet SDNN (4 conv + 3 dense sigma-delta layers and a sigma output) on a
    varying input, against lava-dl's own loader on Lava: every layer, every step.

    The biases are removed from the copy both run: lava-dl's loader has no reset, so a biased
    layer already fires during the pipeline fill (the steps before the first input reaches
    it), while ours starts every sample at rest when its input arrives."""
    import shutil

    import h5py
    from lava_dl_reference import lava_dl_run, ours

    net_file = tmp_path / "pilotnet_sdnn.net"
    shutil.copy(GTS / "pilotnet_sdnn" / "network.net", net_file)
    with h5py.File(net_file, "a") as f:
        for key in f["layer"]:
            if "bias" in f["layer"][key]:
                del f["layer"][key]["bias"]
    frame = np.load(GTS / "pilotnet_sdnn" / "input.npy")[..., 0]          # (x, y, z)
    rng = np.random.default_rng(0)
    frames = frame[None] + np.cumsum(rng.integers(-8, 9, (5, *frame.shape)), 0)
    ref = lava_dl_run(net_file, frames)
    ex, lava = ours(read_network(net_file), frames, graded=True)
    assert sum(int((a != 0).sum()) for a in ref) > 1000
    for i, (a, b, c) in enumerate(zip(ref, ex, lava)):
        assert np.array_equal(a, b), f"layer {i}: executor differs from lava-dl"
        assert np.array_equal(b, c), f"layer {i}: our Lava graph differs from the executor"


@pytest.mark.slow
def test_pilotnet_sdnn_with_its_biases_matches_lava_dl_as_it_streams(tmp_path, one_thread):
    """The shipped PilotNet SDNN as it is (biases kept), one varying input: lava-dl's loader, our
    executor and our Lava graph in the file's default mode (continuous, as lava-dl runs it), every
    layer, every step; in our reset mode the biased layers start later and differ."""
    import shutil

    from lava_dl_reference import lava_dl_run, ours

    from asnn_neuro.backends.stream import StreamMode

    net_file = tmp_path / "pilotnet_sdnn.net"
    shutil.copy(GTS / "pilotnet_sdnn" / "network.net", net_file)
    frame = np.load(GTS / "pilotnet_sdnn" / "input.npy")[..., 0]
    frames = frame[None] + np.cumsum(np.random.default_rng(0).integers(-8, 9, (5, *frame.shape)), 0)
    ref = lava_dl_run(net_file, frames)
    ex, lava = ours(read_network(net_file), frames, graded=True)
    for i, (a, b, c) in enumerate(zip(ref, ex, lava)):
        assert np.array_equal(a, b), f"layer {i}: executor differs from lava-dl"
        assert np.array_equal(b, c), f"layer {i}: our Lava graph differs from the executor"
    at_rest, _ = ours(read_network(net_file), frames, graded=True, mode=StreamMode.RESET)
    assert any(not np.array_equal(a, b) for a, b in zip(ref, at_rest))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["executor", "lava"])
def test_pilotnet_sdnn_shipped_input_gives_lava_dls_recorded_output_by_default(tmp_path, backend):
    """`asnn simulate` on the shipped PilotNet SDNN and its shipped one-step input cycled for 9
    steps (lava-dl's test feeds it through a RingBuffer): the file's default stream mode gives the
    value lava-dl recorded at its last step (output.npy), on both backends; reset mode does not."""
    import json

    from asnn_neuro.cli import main

    gt = np.load(GTS / "pilotnet_sdnn" / "output.npy").reshape(-1)
    folder = GTS / "pilotnet_sdnn"
    common = ["simulate", str(folder / "network.net"), "--input", str(folder / "input.npy"),
              "--timesteps", str(gt.size), "--backend", backend, "--simdir", str(tmp_path), "--quiet"]
    assert main([*common, "--name", "default"]) == 0
    assert main([*common, "--name", "reset", "--stream", "reset"]) == 0
    default = json.loads((tmp_path / "default" / "summary.json").read_text())
    reset = json.loads((tmp_path / "reset" / "summary.json").read_text())
    assert default["stream"] == "continuous" and default["outputs"] == [[int(gt[-1])]]
    assert reset["outputs"] != default["outputs"]
