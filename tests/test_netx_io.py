"""NetX HDF5: our round trip, and files the project did not write (lava-dl's own block export)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from tiny_nets import tiny_hybrid_net

from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.deploy.netx.write import write_network
from asnn_neuro.errors import InputError, UnsupportedLayerError

CUBA = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03}


def lava_dl_file(path, with_pool: bool):
    """A small conv net exported with lava-dl's own blocks (not our writer)."""
    torch.manual_seed(1)
    blocks = [slayer.block.cuba.Conv(CUBA, 1, 4, 3, padding=1, weight_scale=2, delay_shift=False)]
    if with_pool:
        blocks.append(slayer.block.cuba.Pool(CUBA, 2, delay_shift=False))
    blocks += [slayer.block.cuba.Flatten(), slayer.block.cuba.Dense(CUBA, 4 * (4 if with_pool else 8) ** 2,
                                                                    10, weight_scale=2, delay_shift=False)]
    x = (torch.rand(2, 1, 8, 8, 6) < 0.4).float()
    with torch.no_grad():
        out = x
        for b in blocks:
            out = b(out)
    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        g = layers.create_group("0")
        g.create_dataset("type", (1,), "S10", [b"input"])
        g.create_dataset("shape", data=np.array([1, 8, 8]))
        for i, b in enumerate(blocks, start=1):
            b.export_hdf5(layers.create_group(str(i)))
    return x, out


def test_reads_lava_dl_export_with_pool_and_runs_bit_exact_in_lava(tmp_path):
    from asnn_neuro.backends.lava.runner import run_lava

    x, slayer_out = lava_dl_file(tmp_path / "foreign.net", with_pool=True)
    net = read_network(tmp_path / "foreign.net")
    assert [layer.type for layer in net.layers] == ["conv", "conv", "dense"]  # pool -> depthwise conv
    assert net.layers[1].paths[0].groups == 4
    net.timesteps = 6
    frames = x.permute(0, 4, 1, 2, 3).to(torch.int64)  # (N, T, C, H, W)
    ref = FixedExecutor(net).run(frames, None, record=2)
    lava, _ = run_lava(net, frames.numpy(), None, record=2, progress=False)
    for a, b in zip(ref.traces, lava.traces):
        assert np.array_equal(a, b)
    assert np.array_equal(ref.scores, lava.scores)
    # the deployed network computes what SLAYER's own fixed-point CUBA model computes
    assert np.array_equal(ref.traces[-1].transpose(0, 2, 1), slayer_out.numpy().astype(np.int64))


def test_lava_dl_loader_refuses_pool_ours_does_not(tmp_path):
    from lava.lib.dl import netx

    lava_dl_file(tmp_path / "foreign.net", with_pool=True)
    with pytest.raises(NotImplementedError):
        netx.hdf5.Network(net_config=str(tmp_path / "foreign.net"))
    assert len(read_network(tmp_path / "foreign.net").layers) == 3


def test_our_format_round_trips_exactly(tmp_path):
    net = tiny_hybrid_net()
    write_network(net, tmp_path / "n.net")
    back = read_network(tmp_path / "n.net")
    assert back.timesteps == 3 and back.meta["encoding"] == "hybrid"
    for a, b in zip(net.layers, back.layers):
        assert a.name == b.name and a.shape == b.shape and a.neuron == b.neuron
        for p, q in zip(a.paths, b.paths):
            assert (p.source, p.kind, p.shift, p.mask, p.graded) == (q.source, q.kind, q.shift, q.mask, q.graded)
            assert np.array_equal(p.weight, q.weight) and np.array_equal(p.bias, q.bias)


def test_stock_layers_of_our_file_load_in_lava_dl(tmp_path):
    """A CUBA network we write loads in lava-dl's own NetX loader."""
    from lava.lib.dl import netx

    rng = np.random.default_rng(0)
    net = ir.Network(
        input=ir.InputSpec(shape=(1, 6, 6)),
        layers=[ir.Layer("c", (2, 6, 6), ir.CubaNeuron(4096, 400, 200),
                         [ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-50, 50, (2, 1, 3, 3)) * 2,
                                  kernel=(3, 3), padding=(1, 1), bias=np.array([3, -3]))]),
                ir.Layer("p", (2, 3, 3), ir.CubaNeuron(4096, 4095, 0),
                         [ir.Path(source=0, kind="conv", weight=np.ones((2, 1, 2, 2), int), kernel=(2, 2),
                                  stride=(2, 2), groups=2)]),
                ir.Layer("d", (4,), ir.CubaNeuron(4096, 400, 200),
                         [ir.Path(source=1, kind="dense", weight=rng.integers(-50, 50, (4, 18)) * 2)])],
        timesteps=4)
    write_network(net, tmp_path / "stock.net")
    loaded = netx.hdf5.Network(net_config=str(tmp_path / "stock.net"))
    assert len(loaded) == 3


@pytest.mark.parametrize("mutate,message", [
    (lambda f: f.__delitem__("layer"), "no 'layer' group"),
    (lambda f: f["layer/1"].__delitem__("weight"), "missing 'weight'"),
    (lambda f: (f["layer/1/type"].__setitem__(0, b"lstm")), "layer type 'lstm' is not supported"),
    (lambda f: (f["layer/1/neuron/type"].__setitem__(0, b"ADRF")), "neuron type 'ADRF'"),
    (lambda f: (f["layer/3"].__delitem__("weight"), f["layer/3"].create_dataset("weight", data=np.ones((5, 3)))),
     "dense weight has shape"),
    (lambda f: (f["layer/1"].__delitem__("weight"),
                f["layer/1"].create_dataset("weight", data=np.full((4, 1, 3, 3), np.nan))), "NaN"),
])
def test_bad_files_give_one_clear_line(tmp_path, mutate, message):
    net = tiny_hybrid_net()
    net.layers[0].neuron = ir.CubaNeuron(4096, 100, 100)
    net.layers[0].paths = net.layers[0].paths[:1]
    write_network(net, tmp_path / "n.net")
    with h5py.File(tmp_path / "n.net", "r+") as f:
        mutate(f)
    with pytest.raises(InputError) as err:
        read_network(tmp_path / "n.net")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(tmp_path / "n.net") in str(err.value)


@pytest.mark.parametrize("content", [b"", b"\x89HDF\r\n\x1a\n" + bytes(100), bytes(range(256)) * 8])
def test_not_hdf5_is_refused(tmp_path, content):
    (tmp_path / "x.net").write_bytes(content)
    with pytest.raises(InputError):
        read_network(tmp_path / "x.net")


def test_truncated_file_is_refused(tmp_path):
    write_network(tiny_hybrid_net(), tmp_path / "n.net")
    data = (tmp_path / "n.net").read_bytes()
    (tmp_path / "t.net").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        read_network(tmp_path / "t.net")


def test_unsupported_is_an_input_error():
    assert issubclass(UnsupportedLayerError, InputError)
