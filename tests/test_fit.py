"""asnn fit: the partitioner against hand-computed cases, our LeNet/ResNet exports, lava-dl's
PilotNet files, the CLI, and the Loihi energy range."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.cli import main
from asnn_neuro.energy.loihi_models import MODELS, loihi_range
from asnn_neuro.fit.census import Census, FitLayer, from_network, read_census
from asnn_neuro.fit.chips import LOIHI1, LOIHI2
from asnn_neuro.fit.partition import partition
from asnn_neuro.fit.run import fit_network
from tests.tiny_nets import tiny_hybrid_net


def _dense(n_in: int, n_out: int, weight: np.ndarray | None = None) -> Census:
    w = np.ones((n_out, n_in), dtype=np.int64) if weight is None else weight
    layer = FitLayer("fc", (n_out,), "CUBA", [ir.Path(source=ir.Stream.SPIKES, kind="dense", weight=w)])
    return Census((n_in,), [layer], "test")


def test_dense_needs_exactly_three_cores_for_synaptic_memory():
    # Loihi 2: 12000 words per core, 16-bit synapses in 64-bit words (4 per word).
    # 3000 inputs x 40 neurons: 1 core needs 3000 x ceil(40/4) = 30000 words; 2 cores (20 each)
    # 3000 x 5 = 15000; 3 cores (14, 14, 12) 3000 x ceil(14/4) = 12000 <= 12000. Neurons (40) and
    # input axons (3000 < 16000) never bind.
    assert (LOIHI2.syn_words, LOIHI2.synapse_bits, LOIHI2.word_bits) == (12000, 16, 64)
    r = partition(_dense(3000, 40), LOIHI2)
    lay = r["layers"][0]
    assert (r["cores"], lay["cores"], lay["slice"]) == (3, 3, [14, 1, 1])
    assert lay["split_by"] == "synaptic_memory"
    assert lay["use_per_core"] == {"neurons": 14, "axons_in": 3000, "axons_out": 14, "synaptic_memory": 12000,
                                   "neuron_groups": 1}
    assert lay["unsplit_utilisation"]["synaptic_memory"] == pytest.approx(30000 / 12000)
    assert lay["unsplit_utilisation"]["neurons"] < 0.01
    # Loihi 1: 2**20 bits = 16384 words: 2 cores (3000 x 5 = 15000) suffice
    assert partition(_dense(3000, 40), LOIHI1)["cores"] == 2


def test_zero_weights_are_not_stored():
    w = np.ones((40, 3000), dtype=np.int64)
    w[:, ::2] = 0  # half the inputs drive nothing: 1500 axons x ceil(20/4) = 7500 words on 2 cores
    lay = partition(_dense(3000, 40, w), LOIHI2)["layers"][0]
    assert lay["cores"] == 2
    assert lay["use_per_core"]["axons_in"] == 1500
    assert lay["use_per_core"]["synaptic_memory"] == 7500


def test_neuron_limit_splits_an_input_layer_and_pow2_rounds_up():
    layer = FitLayer("input", (1, 50, 100), "CUBA", [ir.Path(source=ir.Stream.SPIKES, kind="identity")])
    census = Census((1, 50, 100), [layer], "test")
    fewest = partition(census, LOIHI2)["layers"][0]
    assert fewest["cores"] == 2 and fewest["split_by"] == "neurons"  # 5000 neurons > 4096
    assert fewest["use_per_core"]["neurons"] == 2500
    assert partition(census, LOIHI1)["layers"][0]["cores"] == 5  # 1024 per core: ceil(5000 / 1024)
    assert partition(census, LOIHI1, "pow2")["layers"][0]["cores"] == 8


def test_conv_counts_by_hand():
    # 2x8x8 input, 3x3 conv (padding 1) to 4x8x8: one core reads all 128 input neurons.
    w = np.ones((4, 2, 3, 3), dtype=np.int64)
    w[0] = 0  # one output channel has no synapses
    path = ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=w, kernel=(3, 3), padding=(1, 1))
    census = Census((2, 8, 8), [FitLayer("conv", (4, 8, 8), "CUBA", [path])], "test")
    l2 = partition(census, LOIHI2)["layers"][0]
    assert l2["cores"] == 1 and l2["use_per_core"]["axons_in"] == 128
    assert l2["use_per_core"]["synaptic_memory"] == 14  # shared kernel: 3 x 2 x 9 = 54 synapses, 4 per word
    l1 = partition(census, LOIHI1)["layers"][0]
    assert l1["use_per_core"]["synaptic_memory"] > l2["use_per_core"]["synaptic_memory"]


def test_output_axons_count_destination_cores():
    # 64 neurons -> a dense layer forced onto 3 cores: every source neuron sends to 3 cores
    first = FitLayer("a", (64,), "CUBA", [ir.Path(source=ir.Stream.SPIKES, kind="identity")])
    w = np.ones((40, 64), dtype=np.int64)
    second = FitLayer("b", (40,), "CUBA", [ir.Path(source=0, kind="dense", weight=w)])
    census = Census((64,), [first, second], "test")
    chip = LOIHI2.__class__(**{**LOIHI2.__dict__, "syn_words": 64 * 4})  # 14 neurons/core fit: 64 x 4 words
    r = partition(census, chip)
    assert r["layers"][1]["cores"] == 3
    assert r["layers"][0]["destination_cores_per_neuron"] == 3
    assert r["layers"][0]["use_per_core"]["axons_out"] == 64 * 3


@pytest.mark.parametrize("model", ["lenet", "resnet"])
def test_fit_on_our_exports(model):
    from asnn_neuro.deploy.lower import lower
    from asnn_neuro.models import build_model
    from asnn_neuro.models.config import ModelConfig

    cfg = ModelConfig(model, (1, 28, 28), 10, "asnn", "hybrid", 4)
    net, _ = lower(build_model(cfg).eval(), cfg)
    for chip in ("loihi2", "loihi1"):
        r = fit_network(net, chip)
        assert r["fits"]
        assert len(r["layers"]) == len(net.layers)
        assert r["cores"] == sum(lay["cores"] for lay in r["layers"]) >= len(net.layers)
        assert r["neurons"] == sum(lay.neurons for lay in net.layers)
        for lay in r["layers"]:
            assert all(u <= 1.0 for u in lay["utilisation"].values())
    assert fit_network(net, "loihi1")["cores"] >= fit_network(net, "loihi2")["cores"]


def _lava_dl_gts() -> Path:
    from asnn_neuro.compat.lava_dl_files import shipped_networks

    gts = shipped_networks()
    assert gts is not None, "lava-dl's shipped NetX test networks are not installed"
    return gts


def test_fit_reads_lava_dl_pilotnet_files():
    lif = _lava_dl_gts() / "pilotnet_lif" / "network.net"
    if not lif.exists():
        pytest.skip("lava-dl's test networks are not installed")
    census = read_census(lif)
    assert census.origin == "asnn NetX reader"  # 1-D dense weight, input neuron layer
    assert [lay.neurons for lay in census.layers] == [39600, 76032, 26460, 8064, 5632, 2560, 100, 50, 10, 1]
    r = partition(census, LOIHI2)
    assert r["fits"] and r["chips"] == 1
    assert r["layers"][0]["split_by"] == "neurons"  # 39600 host-driven input neurons
    sdnn = read_census(_lava_dl_gts() / "pilotnet_sdnn" / "network.net")
    assert {lay.neuron for lay in sdnn.layers} == {"SDNN"} and sdnn.origin == "asnn NetX reader"


def test_cli_fit_writes_json_and_md(tmp_path, capsys):
    from asnn_neuro.deploy.netx.write import write_network

    path = write_network(tiny_hybrid_net(), tmp_path / "tiny.net")
    assert main(["fit", str(path), "--simdir", str(tmp_path / "sims"), "--chip", "loihi1"]) == 0
    out = tmp_path / "sims" / "tiny-fit"
    data = json.loads((out / "fit.json").read_text())
    assert data["chip"] == "loihi1" and data["cores"] == 2 and data["read_with"] == "asnn NetX reader"
    assert {row["name"] for row in data["limit_sources"]} >= {"L1_NEURONS_PER_CORE", "L1_SYNAPSE_BITS_PER_CORE"}
    assert "| conv1 |" in (out / "fit.md").read_text()
    assert "2 cores" in capsys.readouterr().out
    for argv in (["fit", str(path), "--chip", "loihi3"], ["fit", str(tmp_path / "missing.net")],
                 ["fit", str(path), "--tiling", "random"]):
        assert main([*argv, "--simdir", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()


def test_every_limit_row_has_source_and_confidence():
    for row in lim.TABLE:
        assert row.source and row.confidence in ("exact", "public", "measured", "inferred")
    names = {row.name for row in lim.TABLE}
    assert set(LOIHI1.limit_rows) <= names and set(LOIHI2.limit_rows) <= names


def test_energy_range_by_hand():
    net = tiny_hybrid_net()
    fit = fit_network(net)
    layers = [{"name": "conv1", "synops": 100.0, "graded_macs": 10.0, "neuron_updates": 432, "spikes": 20.0},
              {"name": "readout", "synops": 0.0, "graded_macs": 0.0, "neuron_updates": 15, "spikes": 0.0}]
    rng = loihi_range(layers, fit, step_seconds=1e-4, steps_per_inference=3)
    sana = next(m for m in MODELS if m.name == "sana-fe-loihi")
    reach = fit["layers"][0]["destination_cores_per_neuron"]
    expect = (100 * 35.5e-12 + 10 * 35.5e-12 + 447 * 72.8e-12 + 20 * 69.3e-12 + 20 * reach * 76.8e-12)
    assert sana.synop == 35.5e-12
    assert rng["models"]["sana-fe-loihi"]["joules_per_inference"] == pytest.approx(expect)
    assert rng["min"] <= rng["models"]["davies2018"]["joules_per_inference"] <= rng["max"]
    assert rng["static"]["joules_per_inference"] == pytest.approx(fit["idle_watts"] * 3e-4)
    assert fit["idle_watts"] == pytest.approx(lim.L2_STATIC_W_PER_CHIP * fit["cores"] / 128)
    assert from_network(net).layers[0].neurons == 144


@pytest.mark.parametrize("name", ["ntidigits/ntidigits.net", "pilotnet_lif/network.net", "pilotnet_sdnn/network.net",
                                  "pilotnet_sdnn/square_network.net"])
def test_fit_every_lava_dl_test_network(name):
    path = _lava_dl_gts() / name
    if not path.exists():
        pytest.skip("lava-dl's test networks are not installed")
    census = read_census(path)
    for chip in (LOIHI2, LOIHI1):
        r = partition(census, chip)
        assert r["fits"] and r["cores"] >= len(census.layers)
        assert r["neurons"] == sum(lay.neurons for lay in census.layers)


def test_fit_lava_dl_mnist_tutorial_network():
    # lava-dl's trained MNIST network (no input layer; our reader refuses it, fit counts the HDF5)
    census = read_census(Path(__file__).parent / "data" / "lava_dl" / "mnist_trained.net")
    assert census.input_shape == (784,) and [lay.neurons for lay in census.layers] == [128, 64, 10]
    r = partition(census, LOIHI2)
    first = r["layers"][0]
    # the 784 x 128 layer is split for synaptic memory, as the compiler's log shows (78 % SynMem on
    # each of its 3 cores); we count 2 cores for it, 4 in total (the board: 5)
    assert first["split_by"] == "synaptic_memory" and first["cores"] == 2
    assert first["use_per_core"]["axons_in"] == 784
    assert r["cores"] == 4
