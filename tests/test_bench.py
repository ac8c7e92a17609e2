"""``asnn bench --smoke``: the benchmark runs end to end and writes its two files (no timing asserts)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # trains a few steps and runs Lava


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_smoke(tmp_path, capsys):
    from asnn_neuro.bench import run_bench
    from asnn_neuro.encoding import SCHEMES

    result = run_bench(smoke=True, simdir=tmp_path)
    out = tmp_path / "bench"
    data = json.loads((out / "bench.json").read_text())
    md = (out / "bench.md").read_text()
    assert data["schema"] == result["schema"] and data["smoke"] is True
    for key in ("machine", "training", "evaluation", "encoding", "targets"):
        assert key in data
    assert data["machine"]["logical_cores"] >= 1 and data["machine"]["torch"]

    for row in data["training"]["per_T"]:
        for impl in ("ours", "plain"):
            r = row[impl]
            assert _positive(r["samples_per_s"]["median"]) and r["samples_per_s"]["n"] >= 2
            assert r["samples_per_s"]["min"] <= r["samples_per_s"]["median"] <= r["samples_per_s"]["max"]
            assert _positive(r["saved_for_backward_mib"]) and r["peak_rss_growth_mib"] >= 0
            assert _positive(r["parameters"])
        assert row["ours"]["parameters"] == row["plain"]["parameters"]  # the same network
        assert _positive(row["ratio_ours_over_plain"])

    sizes = data["evaluation"]["sizes"]
    assert sizes
    for size in sizes:
        assert _positive(size["neurons"]) and _positive(size["synapses"])
        assert len(size["lava"]) >= 1
        for r in size["lava"]:
            assert _positive(r["compile_s"]) and _positive(r["run_s"]) and _positive(r["lava_samples_per_s"])
            assert _positive(r["executor_samples_per_s"]) and r["steps"] > r["samples"]
            assert r["predictions_agree"] and r["counts_agree"]  # Lava and the executor are bit-exact
        assert _positive(size["executor"]["samples_per_s"])

    schemes = [r["scheme"] for r in data["encoding"]["schemes"]]
    assert schemes == list(SCHEMES)
    assert all(_positive(r["images_per_s"]["median"]) for r in data["encoding"]["schemes"])

    titles = ("## 1. Training throughput", "## 2. Evaluation at chip precision", "## 3. Encoding throughput",
              "## Where the time goes")
    for title in titles:
        assert title in md
    assert "| 4 | ours" in md and "| 4 | plain" in md
    assert "# asnn-neuro benchmark" in capsys.readouterr().out
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_bench_vs_snntorch_smoke(tmp_path):
    """``asnn bench --vs snntorch --smoke``: every neuron kind and encoding class, both files, the ratios."""
    from asnn_neuro.bench import run_vs

    result = run_vs("snntorch", smoke=True, simdir=tmp_path)
    data = json.loads((tmp_path / "bench" / "vs_snntorch.json").read_text())
    md = (tmp_path / "bench" / "vs_snntorch.md").read_text()
    assert data["rows"] == json.loads(json.dumps(result["rows"]))
    seen = {(r["kind"], r["encoding"]) for r in data["rows"]}
    every = {(k, e) for k in ("cuba", "lif", "asnn") for e in ("direct", "rate", "hybrid")}
    assert seen == every - {("cuba", "hybrid")}  # hybrid + cuba is refused (not deployable)
    for row in data["rows"]:
        for impl in ("ours", "snntorch"):
            assert _positive(row[impl]["samples_per_s"]["median"]) and row[impl]["peak_rss_growth_mib"] >= 0
        ratio = row["ours"]["samples_per_s"]["median"] / row["snntorch"]["samples_per_s"]["median"]
        assert math.isclose(row["ratio_vs_snntorch"], ratio)
        assert ("plain" in row) == ((row["kind"], row["encoding"]) == ("asnn", "hybrid"))
        assert len(row["load"]) == 3
        assert f"| {row['kind']} | {row['encoding']} | {row['timesteps']} |" in md
    assert "load (1, 5, 15 min)" in md


@pytest.mark.parametrize("kind", ["cuba", "lif", "asnn"])
def test_snntorch_lenet_matches_our_layers(kind):
    """The snnTorch LeNet has our LeNet's synapse shapes and trains (gradients reach the first conv)."""
    import torch

    from asnn_neuro.bench.vs_snntorch import SnnTorchLeNet
    from asnn_neuro.models.config import ModelConfig
    from asnn_neuro.models.registry import build_model

    net = SnnTorchLeNet(kind, False, (1, 16, 16), 10)
    ours = build_model(ModelConfig("lenet", (1, 16, 16), 10, kind, "direct", 4))
    theirs = [tuple(p.shape) for p in (net.conv1.weight, net.conv2.weight, net.conv3.weight, net.fc1.weight,
                                       net.readout.weight)]
    mine = [tuple(p.shape[:4] if p.shape[2] > 1 else p.shape[:2]) for n, p in ours.named_parameters()
            if n.endswith("synapse.weight")]
    assert theirs == mine
    out = net([torch.rand(3, 1, 16, 16) for _ in range(4)])
    assert out.shape == (3, 10)
    out.sum().backward()
    assert net.conv1.weight.grad is not None and float(net.conv1.weight.grad.abs().sum()) > 0


def test_executor_dense_limit_counts_the_synapse_work():
    """``--vs dense`` on a small hand-made net: MACs counted from the executor's own synapse calls."""
    import sys
    from pathlib import Path

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_nets import tiny_hybrid_net

    from asnn_neuro.bench.executor_peak import measure, to_markdown

    net = tiny_hybrid_net()
    steps = net.timesteps
    gen = torch.Generator().manual_seed(0)
    spikes = (torch.rand(5, steps, 1, 6, 6, generator=gen) < 0.3).float()
    graded = torch.randint(0, 256, (5, steps, 1, 6, 6), generator=gen).float()
    row = measure("tiny", net, spikes, graded, repeats=1)
    # per sample and step, masked paths skipped: conv_g at step 0, conv_s at steps 1.., dense every step
    conv = 4 * 6 * 6 * 1 * 3 * 3
    dense = 5 * 4 * 6 * 6
    assert row["dense_equivalent_macs"] == 5 * (conv * steps + dense * steps)
    # step by step: 2 live paths per step; layer by layer (every layer fused): one call per path
    assert row["synapse_calls"] == (3 if row["path"].endswith("by layer") else 2 * steps)
    assert _positive(row["executor_s"]) and _positive(row["dense_limit_s"]) and _positive(row["fraction_of_dense"])
    assert 0 < row["mean_nonzero_input"] <= 1
    assert "| tiny |" in to_markdown({"rows": [row]})


@pytest.mark.slow
def test_bench_vs_lava_smoke(tmp_path):
    """``asnn bench --vs lava --smoke``: chains, the fit, the LeNet row, the conv models (the same
    results with our IntegerConv as with Lava's Conv) and the run-call row; no timing asserted."""
    from asnn_neuro.bench import run_vs

    result = run_vs("lava", smoke=True, simdir=tmp_path)
    data = json.loads((tmp_path / "bench" / "vs_lava.json").read_text())
    assert [r["processes"] for r in data["chains"]] == [3, 4]
    assert data["network"]["processes"] == result["network"]["processes"] > 10
    assert data["conv_models"]["same"] is True
    assert all(data["run_calls"][k] > 0 for k in ("one_call_s", "chunked_s"))
    assert "# Where Lava's time goes" in (tmp_path / "bench" / "vs_lava.md").read_text()


def test_process_count_is_what_the_graph_builds(tmp_path):
    """``lava_profile.process_count`` equals the processes ``build_graph`` connects (walked from the
    sources through every port), for a net with a recurrent path and a delay line."""
    from lava_dl_reference import export_blocks, slayer_cuba_dense, slayer_cuba_recurrent

    from asnn_neuro.backends.lava.graph import build_graph
    from asnn_neuro.bench.lava_profile import process_count
    from asnn_neuro.deploy.netx.read import read_network

    export_blocks(tmp_path / "d.net", slayer_cuba_dense([8, 6, 3], 5, delay=True))
    export_blocks(tmp_path / "r.net", slayer_cuba_recurrent(0))
    for f in ("d.net", "r.net"):
        net = read_network(tmp_path / f)
        net.timesteps = 4
        np.save(tmp_path / "x.npy", np.zeros((4, *net.input.shape[::-1]), dtype=np.int32))
        graph = build_graph(net, {s: tmp_path / "x.npy" for s in net.streams()}, 1, tmp_path)
        seen, todo = set(), list(graph.sources.values())
        while todo:
            proc = todo.pop()
            if id(proc) in seen:
                continue
            seen.add(id(proc))
            for port in proc.out_ports:
                todo += [p.process for p in port.get_dst_ports()]
        assert process_count(net) == len(seen), f
