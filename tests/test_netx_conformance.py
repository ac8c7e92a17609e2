"""NetX conformance: networks built and exported with lava-dl's own SLAYER blocks run in lava-dl's
loader (``netx.hdf5.Network``, Lava fixed point) and in ours (executor and Lava graph); every
layer's spikes must be equal, step for step."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from lava_dl_reference import (
    CUBA,
    export_blocks,
    lava_dl_run,
    ours,
    shaped,
    slayer_blocks,
    slayer_cuba_conv,
    slayer_cuba_dense,
    slayer_cuba_recurrent,
    slayer_dense_forward,
    slayer_other_dense,
    slayer_sigma_delta,
    slayer_transposed,
)

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.backends.stream import StreamMode, run_executor
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.errors import InputError


def assert_layers_equal(ref, ex, lava):
    assert len(ref) == len(ex) == len(lava)
    for i, (a, b, c) in enumerate(zip(ref, ex, lava)):
        assert np.array_equal(a, b), f"layer {i}: executor differs from lava-dl"
        assert np.array_equal(b, c), f"layer {i}: our Lava graph differs from the executor"


@pytest.mark.parametrize("sizes,seed", [([12, 9, 1], 0), ([20, 16, 5], 1)])
def test_no_input_layer_dense_with_axonal_delays(tmp_path, sizes, seed):
    """Two cuba.Dense blocks, the first with per-neuron delays, exported with no input layer."""
    export_blocks(tmp_path / "d.net", slayer_cuba_dense(sizes, seed, delay=True))
    net = read_network(tmp_path / "d.net")
    assert net.input.shape == (sizes[0],) and net.layers[0].delay is not None and net.layers[0].delay.any()
    x = (np.random.default_rng(seed).random((24, sizes[0])) < 0.5).astype(np.int64)
    ref = lava_dl_run(tmp_path / "d.net", x)
    ex, lava = ours(net, x)
    assert sum(int(a.sum()) for a in ref) > 0
    assert_layers_equal(ref, ex, lava)
    from asnn_neuro.deploy.netx.write import write_network

    write_network(net, tmp_path / "ours.net")  # our writer keeps the delays: lava-dl runs the same
    again = lava_dl_run(tmp_path / "ours.net", x)
    assert all(np.array_equal(a, b) for a, b in zip(again, ref))
    assert np.array_equal(read_network(tmp_path / "ours.net").layers[0].delay, net.layers[0].delay)


def test_one_dimensional_dense_weight(tmp_path):
    """A one-output dense layer stored as a flat weight (as in lava-dl's PilotNet LIF)."""
    export_blocks(tmp_path / "d.net", slayer_cuba_dense([10, 8, 1], 3, delay=False))
    with h5py.File(tmp_path / "d.net", "a") as f:
        w = f["layer/1/weight"][()]
        del f["layer/1/weight"]
        f["layer/1"].create_dataset("weight", data=w.reshape(-1))
    net = read_network(tmp_path / "d.net")
    assert net.layers[1].paths[0].weight.shape == (1, 8)
    x = (np.random.default_rng(3).random((16, 10)) < 0.6).astype(np.int64)
    assert_layers_equal(lava_dl_run(tmp_path / "d.net", x), *ours(net, x))


def test_conv_first_without_input_layer_needs_an_input_shape(tmp_path):
    export_blocks(tmp_path / "c.net", slayer_cuba_conv(4))
    with pytest.raises(InputError, match="layer 0: no input layer .* give --input-shape C,H,W"):
        read_network(tmp_path / "c.net")
    net = read_network(tmp_path / "c.net", input_shape=(2, 5, 4))
    x = (np.random.default_rng(4).random((12, 4, 5, 2)) < 0.5).astype(np.int64)  # (T, x, y, z)
    ref = lava_dl_run(tmp_path / "c.net", x, input_shape=(4, 5, 2))
    assert_layers_equal(ref, *ours(net, x))


def test_delays_restart_with_every_sample(tmp_path):
    """Several samples back to back: the Lava graph's delay lines empty at each sample start,
    as the executor (which runs samples independently) does."""
    from asnn_neuro.backends.lava.runner import run_lava

    export_blocks(tmp_path / "d.net", slayer_cuba_dense([8, 6, 3], 5, delay=True))
    net = read_network(tmp_path / "d.net")
    net.timesteps = 10
    x = torch.from_numpy((np.random.default_rng(5).random((3, 10, 8)) < 0.6).astype(np.int64))
    ex = FixedExecutor(net).run(x, None, record=3)
    lava, _ = run_lava(net, x.numpy(), None, record=3, progress=False)
    for a, b in zip(ex.traces, lava.traces):
        assert np.array_equal(a, b)
    assert np.array_equal(ex.scores, lava.scores) and np.array_equal(ex.output, lava.output)


def test_bad_delays_are_refused(tmp_path):
    export_blocks(tmp_path / "d.net", slayer_cuba_dense([8, 6, 3], 5, delay=True))
    with h5py.File(tmp_path / "d.net", "a") as f:
        del f["layer/0/delay"]
        f["layer/0"].create_dataset("delay", data=np.ones(5))
    with pytest.raises(InputError, match="layer 0: delay of 5 values"):
        read_network(tmp_path / "d.net")


@pytest.mark.parametrize("seed,conv", [(0, False), (1, False), (2, True)])
def test_sigma_delta_network(tmp_path, seed, conv):
    """SDNN: a delta-encoding input, ReLU sigma-delta layers with graded messages, a sigma output."""
    blocks, shape = slayer_sigma_delta(seed, conv)
    export_blocks(tmp_path / "sd.net", blocks)
    net = read_network(tmp_path / "sd.net")
    assert [layer.neuron.role for layer in net.layers][0] == "delta" and net.layers[-1].neuron.role == "sigma"
    rng = np.random.default_rng(seed)
    lava_in = shape[::-1] if len(shape) == 3 else shape
    x = np.cumsum(rng.integers(-20, 21, (14, *lava_in)), 0)  # a slowly varying graded signal
    ref = lava_dl_run(tmp_path / "sd.net", x, input_message_bits=16)
    ex, lava = ours(net, x, graded=True)
    assert all(np.abs(a).sum() > 0 for a in ref)
    assert_layers_equal(ref, ex, lava)


def test_sdnn_activation_other_than_relu_is_refused(tmp_path):
    blocks, _ = slayer_sigma_delta(0, False)
    export_blocks(tmp_path / "sd.net", blocks)
    with h5py.File(tmp_path / "sd.net", "a") as f:
        del f["layer/1/neuron/activation"]
        f["layer/1/neuron"].create_dataset("activation", data=b"sigmoid")
    with pytest.raises(InputError, match="layer 1/neuron: SDNN activation 'sigmoid'"):
        read_network(tmp_path / "sd.net")


@pytest.mark.parametrize("block,seed", [("rf", 0), ("rf", 1), ("rf_iz", 0)])
def test_resonate_and_fire(tmp_path, block, seed):
    """slayer.block.rf / rf_iz (a complex dense synapse: real and imaginary weights) as lava-dl's
    loader maps them (Lava RF / RF_IZ), with the integer decays it derives."""
    export_blocks(tmp_path / "rf.net", slayer_other_dense(block, [10, 8, 4], seed))
    net = read_network(tmp_path / "rf.net")
    assert net.layers[0].neuron.izhikevich == (block == "rf_iz")
    x = (np.random.default_rng(seed).random((30, 10)) < 0.4).astype(np.int64)
    ref = lava_dl_run(tmp_path / "rf.net", x)
    assert all(a.sum() > 0 for a in ref)
    assert_layers_equal(ref, *ours(net, x))


@pytest.mark.parametrize("seed", [0, 1])
def test_recurrent_dense_block(tmp_path, seed):
    """cuba.Recurrent (NetX ``dense_rec``): each step also reads the layer's own previous spikes."""
    export_blocks(tmp_path / "r.net", slayer_cuba_recurrent(seed))
    net = read_network(tmp_path / "r.net")
    rec = net.layers[0].paths[1]
    assert rec.source == 0 and np.any(rec.weight)
    x = (np.random.default_rng(seed).random((30, 10)) < 0.4).astype(np.int64)
    ref = lava_dl_run(tmp_path / "r.net", x)
    ex, lava = ours(net, x)
    assert_layers_equal(ref, ex, lava)
    from asnn_neuro.deploy.netx.write import write_network

    write_network(net, tmp_path / "ours.net")  # our writer's dense_rec: lava-dl loads it and runs the same
    again = lava_dl_run(tmp_path / "ours.net", x)
    assert len(again) == len(ref) and all(np.array_equal(a, b) for a, b in zip(again, ref))
    rec.weight = rec.weight * 0  # the recurrence matters: without it the spikes differ
    assert not np.array_equal(ours(net, x)[0][0], ex[0])


def test_recurrent_paths_restart_with_every_sample(tmp_path):
    """Several samples back to back: the last spikes of one sample must not reach the next one
    through the recurrent path in the Lava graph (the executor runs samples independently)."""
    from asnn_neuro.backends.lava.runner import run_lava

    export_blocks(tmp_path / "r.net", slayer_cuba_recurrent(0))
    net = read_network(tmp_path / "r.net")
    net.timesteps = 10
    n_in = int(np.prod(net.input.shape))
    x = torch.from_numpy((np.random.default_rng(6).random((6, 10, n_in)) < 0.5).astype(np.int64))
    x = x.reshape(6, 10, *net.input.shape)
    ex = FixedExecutor(net).run(x, None, record=6)
    assert int(ex.traces[0][:, -1].sum()) > 0  # spikes at a sample's last step: they would leak
    lava, _ = run_lava(net, x.numpy(), None, record=6, progress=False)
    for a, b in zip(ex.traces, lava.traces):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("seed,unpool", [(0, False), (1, True), (2, False)])
def test_conv_transpose_and_unpool_match_slayer(tmp_path, seed, unpool):
    """convT and unpool, which lava-dl's loader refuses: both our backends against SLAYER's own
    fixed-point forward of the same blocks (the independent reference)."""
    blocks, frames, slayer_out = slayer_transposed(seed, unpool)
    export_blocks(tmp_path / "t.net", blocks, input_shape=(1, 8, 8))
    net = read_network(tmp_path / "t.net")
    assert net.layers[1].paths[0].kind == "convT"
    ex, lava = ours(net, frames)
    assert all(s.sum() > 0 for s in slayer_out)
    assert_layers_equal(slayer_out, ex, lava)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("block,kind", [("alif", "ALIF"), ("adrf", "ADRF")])
def test_adaptive_neurons_match_slayer_fixed_point(tmp_path, block, kind, seed):
    """slayer.block.alif / adrf Dense blocks, exported by lava-dl (whose loader cannot load ALIF and
    runs ADRF as a plain RF): ours equal SLAYER's own fixed-point forward of the same blocks, every
    layer and step, on both backends."""
    blocks = slayer_other_dense(block, [10, 8, 4], seed)
    export_blocks(tmp_path / "a.net", blocks)
    net = read_network(tmp_path / "a.net")
    assert [layer.neuron.kind for layer in net.layers] == [kind, kind]
    x = (np.random.default_rng(seed).random((30, 10)) < 0.4).astype(np.int64)
    theirs = slayer_dense_forward(blocks, x)
    assert all(t.sum() > 0 for t in theirs)
    assert_layers_equal(theirs, *ours(net, x))


@pytest.mark.parametrize("kind", ["ADRF_IZHIKEVICH"])
def test_neurons_not_run_are_refused_with_a_reason(tmp_path, kind):
    export_blocks(tmp_path / "d.net", slayer_cuba_dense([6, 4, 2], 0, delay=False))
    with h5py.File(tmp_path / "d.net", "a") as f:
        del f["layer/0/neuron/type"]
        f["layer/0/neuron"].create_dataset("type", data=kind.encode())
    with pytest.raises(InputError, match=f"layer 0: neuron type '{kind}' is not supported .*; "):
        read_network(tmp_path / "d.net")


def test_simulate_cli_runs_a_flat_input_and_records_outputs(tmp_path):
    """`asnn simulate` on a lava-dl file with no input layer and a flat (N, neurons, T) input:
    T from the file, outputs per sample in summary.json, the samples streamed as lava-dl's loader
    runs them (continuous: no reset between them)."""
    import json

    from asnn_neuro.cli import main

    export_blocks(tmp_path / "d.net", slayer_cuba_dense([12, 9, 4], 7, delay=True))
    x = (np.random.default_rng(7).random((3, 12, 40)) < 0.5).astype(np.int64)
    np.save(tmp_path / "x.npy", x)
    assert main(["simulate", str(tmp_path / "d.net"), "--backend", "executor", "--input", str(tmp_path / "x.npy"),
                 "--samples", "3", "--name", "r", "--simdir", str(tmp_path / "sims"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "sims" / "r" / "summary.json").read_text())
    assert summary["timesteps"] == 40 and summary["output"]["values"] == "spike_counts"
    assert summary["stream"] == "continuous"
    net = read_network(tmp_path / "d.net")
    net.timesteps = 40
    res = run_executor(net, torch.from_numpy(x).permute(0, 2, 1), None, StreamMode.CONTINUOUS)
    assert summary["outputs"] == res.scores.tolist() and np.asarray(res.scores).sum() > 0
    at_rest = FixedExecutor(net).run(torch.from_numpy(x).permute(0, 2, 1), None)  # the state carries over
    assert at_rest.scores.tolist() != res.scores.tolist()
    with np.load(tmp_path / "sims" / "r" / "outputs.npz") as f:
        assert f["output"].shape == (3, 4, 40) and np.array_equal(f["output"].sum(-1), res.scores)


def test_simulate_cli_sdnn_records_values_and_graded_operations(tmp_path):
    """An SDNN file with a graded (neurons, T) input: the sigma output's final sums per sample,
    and its graded messages counted as graded MACs (events with a payload), not as spikes."""
    import json

    from asnn_neuro.cli import main

    blocks, _ = slayer_sigma_delta(0, conv=False)
    export_blocks(tmp_path / "sd.net", blocks)
    x = np.cumsum(np.random.default_rng(0).integers(-20, 21, (12, 14)), 1)  # (neurons, T)
    np.save(tmp_path / "x.npy", x)
    assert main(["simulate", str(tmp_path / "sd.net"), "--backend", "executor", "--input", str(tmp_path / "x.npy"),
                 "--samples", "1", "--name", "r", "--simdir", str(tmp_path / "sims"), "--quiet"]) == 0
    s = json.loads((tmp_path / "sims" / "r" / "summary.json").read_text())
    assert s["output"]["values"] == "state" and s["timesteps"] == 14
    ex, _ = ours(read_network(tmp_path / "sd.net"), x.T, graded=True)
    assert s["outputs"] == [ex[-1][-1].tolist()]
    assert s["layers"][1]["graded_macs"] > 0 and s["layers"][1]["synops"] == 0
    assert s["layers"][1]["spikes"] == int((ex[1] != 0).sum())


@pytest.mark.parametrize("stride,padding,dilation,groups", [((2, 2), (1, 1), (1, 1), 1), ((2, 1), (0, 1), (1, 2), 2)])
def test_convT_fanout_counts_every_synapse(stride, padding, dilation, groups):
    """Energy: a transposed conv's fan-out per source neuron equals the outputs a lone spike reaches."""
    from asnn_neuro import ir
    from asnn_neuro.chip import fixed_point as fx
    from asnn_neuro.energy.fanout import fanout

    src, weight = (4, 5, 6), np.ones((4, 3, 3, 3), dtype=np.int64)  # C_out = 3 * groups
    base = [(src[1 + a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * 2 + 1 for a in (0, 1)]
    dst = (3 * groups, *base)
    p = ir.Path(source=0, kind="convT", weight=weight, kernel=(3, 3), stride=stride, padding=padding,
                dilation=dilation, groups=groups)
    fan = fanout(p, src, dst)
    for i in range(int(np.prod(src))):
        x = np.zeros(int(np.prod(src)), dtype=np.int64)
        x[i] = 1
        out = fx.conv_transpose(x.reshape(src), weight, stride, padding, dilation, groups, dst[1:])
        assert int((out != 0).sum()) == fan[i]


@pytest.mark.parametrize("kind", ["sdnn", "cuba"])
def test_biases_with_lava_dl_pipeline_fill(tmp_path, kind):
    """Biased layers: lava-dl's loader (no reset) lets a layer run during the pipeline fill, before
    the input reaches it; both our backends in their default mode for lava-dl's files (continuous)
    and the executor with ``fill=True`` do the same, bit for bit."""
    if kind == "sdnn":
        blocks, _ = slayer_sigma_delta(1, conv=False)
        x = np.cumsum(np.random.default_rng(1).integers(-20, 21, (14, 12)), 0)
    else:
        blocks = slayer_cuba_dense([12, 9, 4], 2, delay=True)
        x = (np.random.default_rng(2).random((20, 12)) < 0.4).astype(np.int64)
    export_blocks(tmp_path / "b.net", blocks)
    with h5py.File(tmp_path / "b.net", "a") as f:  # a bias per neuron (lava-dl's SDNN input and output take none)
        for key in list(f["layer"])[1:-1] if kind == "sdnn" else list(f["layer"]):
            n = int(np.prod(f["layer"][key]["shape"][()]))
            f["layer"][key].create_dataset("bias", data=np.random.default_rng(3).integers(-20, 30, n))
    net = read_network(tmp_path / "b.net")
    ref = lava_dl_run(tmp_path / "b.net", x, **({"input_message_bits": 16} if kind == "sdnn" else {}))
    frames = torch.from_numpy(x)[None]
    if kind == "sdnn":
        net.read_graded_input()
    net.timesteps = x.shape[0]
    args = (None, frames) if kind == "sdnn" else (frames, None)
    filled = FixedExecutor(net, fill=True).run(*args, record=1)
    ex, lava = ours(net, x, graded=kind == "sdnn")  # the file's default: continuous
    for i, a in enumerate(ref):
        assert np.array_equal(a, filled.traces[i][0]), f"layer {i}"
        assert np.array_equal(a, ex[i]) and np.array_equal(a, lava[i]), f"layer {i}"
    at_rest = FixedExecutor(net).run(*args, record=1)  # the biases do act during the fill
    assert any(not np.array_equal(a, b[0]) for a, b in zip(ref, at_rest.traces))


def test_pipeline_fill_runs_on_both_backends_and_not_on_the_float_model(tmp_path):
    from asnn_neuro.cli import main

    export_blocks(tmp_path / "d.net", slayer_cuba_dense([6, 4, 2], 0, delay=False))
    np.save(tmp_path / "x.npy", np.ones((6, 5), dtype=np.int64))
    common = ["--input", str(tmp_path / "x.npy"), "--simdir", str(tmp_path / "sims"), "--quiet", "--pipeline-fill"]
    assert main(["simulate", str(tmp_path / "d.net"), "--backend", "lava", "--name", "l", *common]) == 0
    assert main(["simulate", str(tmp_path / "d.net"), "--backend", "executor", "--name", "e", *common]) == 0
    assert main(["simulate", str(tmp_path / "d.net"), "--backend", "executor", "--precision", "float",
                 "--name", "f", *common]) == 2


def test_conv_delays_match_slayer(tmp_path):
    """A cuba.Conv with per-channel axonal delays, which lava-dl's loader ignores: both backends run
    them and equal SLAYER's own forward (bias-free, so a delayed input is a delayed output)."""
    torch.manual_seed(0)
    S = slayer_blocks()
    blocks = shaped([S.cuba.Conv(CUBA, 1, 3, 3, padding=1, weight_scale=3, delay=True, delay_shift=False),
                     S.cuba.Flatten(), S.cuba.Dense(CUBA, 3 * 6 * 6, 4, weight_scale=3, delay_shift=False)], (1, 6, 6))
    blocks[0].delay.delay.data = torch.tensor([1.0, 4.0, 3.0])
    x = (torch.rand(1, 1, 6, 6, 16) < 0.5).float()
    with torch.no_grad():
        conv = blocks[0](x)
        out = blocks[2](blocks[1](conv))
    export_blocks(tmp_path / "cd.net", blocks, input_shape=(1, 6, 6))
    net = read_network(tmp_path / "cd.net")
    assert net.layers[0].delay[:, 0, 0].tolist() == [1, 4, 3]
    ex, lava = ours(net, x[0].permute(3, 2, 1, 0).numpy().astype(np.int64))
    theirs = [conv[0].permute(3, 0, 1, 2).reshape(16, -1).numpy(), out[0].permute(1, 0).numpy()]
    assert theirs[0].sum() > 0 and theirs[1].sum() > 0
    assert_layers_equal([t.astype(np.int64) for t in theirs], ex, lava)


def test_writers_refuse_what_they_have_no_form_for(tmp_path):
    from asnn_neuro.deploy.netx.write import write_network

    blocks, _ = slayer_sigma_delta(0, conv=False)
    export_blocks(tmp_path / "sd.net", blocks)
    with pytest.raises(InputError, match="layer 'input': writing SDNN neurons is not supported"):
        write_network(read_network(tmp_path / "sd.net"), tmp_path / "out.net")
    assert not (tmp_path / "out.net").exists()


def test_conv_wider_than_lavas_conv_model_runs_in_both(tmp_path):
    """An input 140 wide (Lava's CPU Conv sizes its output in int8 and breaks past 127, as on
    PilotNet's 200-wide frames): our Lava graph computes it with its own integer conv process."""
    from asnn_neuro import ir
    from asnn_neuro.backends.lava.runner import run_lava

    rng = np.random.default_rng(0)
    w = rng.integers(-60, 120, (2, 1, 3, 3))
    layer = ir.Layer(name="c", shape=(2, 3, 138), neuron=ir.CubaNeuron(i_decay=4096, v_decay=1024, vth_mant=2),
                     paths=[ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=w, bias=np.zeros(2, np.int64),
                                    kernel=(3, 3))])
    net = ir.Network(input=ir.InputSpec(shape=(1, 5, 140)), layers=[layer], timesteps=6)
    x = torch.from_numpy((rng.random((2, 6, 1, 5, 140)) < 0.5).astype(np.int64))
    ex = FixedExecutor(net).run(x, None, record=2)
    lava, _ = run_lava(net, x.numpy(), None, precision="fixed", backend="lava", record=2, progress=False)
    assert ex.traces[0].sum() > 100
    assert np.array_equal(ex.traces[0], lava.traces[0])
