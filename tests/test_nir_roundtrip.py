"""Our CUBA network -> NIR (``asnn export --format nir``) -> ``asnn import`` -> the same network and
the same spikes; ASNN networks are refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_nets import tiny_hybrid_net

from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.cli import main
from asnn_neuro.deploy.netx import read_network
from asnn_neuro.deploy.netx.write import write_network

pytest.importorskip("nir")


def cuba_net(seed: int) -> ir.Network:
    """conv (CUBA) -> 2x2 OR pool -> dense (CUBA with a synaptic current), as our export writes them."""
    rng = np.random.default_rng(seed)
    conv = ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-60, 100, (4, 1, 3, 3)) * 2,
                   bias=rng.integers(-5, 10, 4), kernel=(3, 3), padding=(1, 1))
    pool = ir.Path(source=0, kind="conv", weight=np.ones((4, 1, 2, 2), dtype=np.int64), kernel=(2, 2),
                   stride=(2, 2), groups=4, bias=np.zeros(4, dtype=np.int64))
    dense = ir.Path(source=1, kind="dense", weight=rng.integers(-120, 100, (5, 64)) * 2, bias=rng.integers(-9, 9, 5))
    return ir.Network(input=ir.InputSpec(shape=(1, 8, 8)), layers=[
        ir.Layer("conv", (4, 8, 8), ir.CubaNeuron(i_decay=4096, v_decay=1024, vth_mant=200), [conv]),
        ir.Layer("pool", (4, 4, 4), ir.CubaNeuron(i_decay=4096, v_decay=4095, vth_mant=0), [pool]),
        ir.Layer("fc", (5,), ir.CubaNeuron(i_decay=1024, v_decay=512, vth_mant=600), [dense])], timesteps=8)


@pytest.mark.parametrize("seed", [0, 1])
def test_cuba_network_round_trip(seed, tmp_path):
    net = cuba_net(seed)
    work = tmp_path / "exp"
    write_network(net, work / "ours" / "network.net")
    assert main(["export", "ours", "--format", "nir", "--workdir", str(work)]) == 0
    assert main(["import", str(work / "ours" / "network.nir"), "--name", "back", "--workdir", str(work),
                 "--timesteps", "8"]) == 0
    back = read_network(work / "back" / "network.net")
    for a, b in zip(net.layers, back.layers):
        assert a.neuron == b.neuron and a.shape == b.shape
    x = (torch.rand(24, 8, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) < 0.3).long()
    before = FixedExecutor(read_network(work / "ours" / "network.net")).run(x, None, record=24).traces
    after = FixedExecutor(back).run(x, None, record=24).traces
    assert all(0 < tr.mean() < 0.9 for tr in before)  # every layer spikes, none saturates
    for i, (a, b) in enumerate(zip(before, after)):
        assert np.array_equal(a, b), f"layer {i} differs after the round trip"


def test_asnn_network_export_refused(tmp_path, capsys):
    work = tmp_path / "exp"
    write_network(tiny_hybrid_net(), work / "h" / "network.net")
    assert main(["export", "h", "--format", "nir", "--workdir", str(work)]) == 2
    err = capsys.readouterr().err
    assert "ASNN" in err and "conv1" in err and len(err.strip().splitlines()) == 1
    assert not (work / "h" / "network.nir").exists()
