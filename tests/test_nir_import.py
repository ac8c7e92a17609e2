"""NIR import against the real libraries: snnTorch, Sinabs and SpikingJelly build small conv + dense
nets with random weights, export them with their own NIR exporters, and we import them.

- float: our float executor vs the library's own forward, every neuron layer, every step;
- fixed point: our integer executor vs Lava on the imported chip network, bit for bit (slow);
- the CLI: import, simulate (float / fixed), unsupported nodes (exit 2, one line);
- delays and recurrent edges: run by the float executor; a neuron's own recurrent dense edge
  deploys as NetX dense_rec, a Delay after an unbiased CUBA node as its layer's NetX delay
  (executor == Lava on both).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from nir_models import LIBRARIES, build, random_spikes

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.cli import main
from asnn_neuro.deploy.nir.lower import lower_graph
from asnn_neuro.deploy.nir.read import read_nir

nir = pytest.importorskip("nir")
SEEDS = (0, 1, 2)
T = 10


def _needs(library: str) -> None:
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed (pip install -e '.[nir]')")


@pytest.mark.parametrize("library", LIBRARIES)
def test_float_executor_matches_library(library, tmp_path):
    """Identical spikes in every neuron layer at every step, on >= 99 % of neuron-steps (we see 100 %)."""
    _needs(library)
    same = total = active = 0
    for seed in SEEDS:
        _, export, forward, _ = build(library, seed=seed, timesteps=T)
        export(tmp_path / f"{seed}.nir")
        graph = read_nir(tmp_path / f"{seed}.nir", source=library)
        x = random_spikes(16, T, seed=seed)
        ours = FloatExecutor(graph).run(x, record=16).traces
        theirs = forward(x)
        assert len(ours) == len(theirs) == 2
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape
            same += int((a == b).sum())
            total += a.size
            active += int(b.sum())
    assert active > 0.05 * total  # the comparison is not between silent networks
    assert same / total >= 0.99, f"{library}: {same}/{total} neuron-steps identical"


@pytest.mark.parametrize("library", LIBRARIES)
def test_import_writes_chip_network(library, tmp_path):
    _needs(library)
    _, export, _, _ = build(library, seed=0, timesteps=T)
    export(tmp_path / "m.nir")
    rc = main(["import", str(tmp_path / "m.nir"), "--name", "m", "--source", library, "--workdir",
               str(tmp_path / "exp"), "--timesteps", str(T)])
    assert rc == 0
    d = tmp_path / "exp" / "m"
    assert {p.name for p in d.iterdir()} == {"network.net", "float.npz", "import.json", ".asnn-kind"}
    import json

    info = json.loads((d / "import.json").read_text())
    assert info["chip_refused"] is None and len(info["layers"]) == 2
    assert {row["type"] for row in info["nodes"]} >= {"Input", "Conv2d", "Affine", "Output"}


@pytest.mark.slow
@pytest.mark.parametrize("library", LIBRARIES)
def test_fixed_point_executor_matches_lava(library, tmp_path):
    _needs(library)
    from asnn_neuro.backends.lava.runner import run_lava

    for seed in (0, 1):
        _, export, _, _ = build(library, seed=seed, timesteps=T)
        export(tmp_path / f"{seed}.nir")
        net = lower_graph(read_nir(tmp_path / f"{seed}.nir", source=library), timesteps=T).net
        x = random_spikes(6, T, seed=seed + 10).long()
        ours = FixedExecutor(net).run(x, None, record=6)
        lava, _ = run_lava(net, x.numpy(), None, precision="fixed", backend="lava", record=6, progress=False)
        assert sum(int(tr.sum()) for tr in ours.traces) > 0
        for i, (a, b) in enumerate(zip(ours.traces, lava.traces)):
            assert np.array_equal(a, b), f"{library} seed {seed}: layer {i} differs"


def _lava_input(x: torch.Tensor, path) -> None:
    """(N, T, C, H, W) -> the .npy layout of --input: (N, x, y, z, T)."""
    np.save(path, x.numpy().astype(np.int64).transpose(0, 4, 3, 2, 1))


def test_cli_simulate_float_and_fixed(tmp_path):
    _needs("sinabs")
    _, export, forward, _ = build("sinabs", seed=3, timesteps=T)
    export(tmp_path / "s.nir")
    work, sims = str(tmp_path / "exp"), str(tmp_path / "sims")
    assert main(["import", str(tmp_path / "s.nir"), "--name", "s", "--source", "sinabs", "--workdir", work,
                 "--timesteps", str(T)]) == 0
    x = random_spikes(12, T, seed=5)
    _lava_input(x, tmp_path / "in.npy")
    import json

    for args, run in ((["--precision", "float"], "f"), ([], "q")):
        assert main(["simulate", "s", "--backend", "executor", *args, "--input", str(tmp_path / "in.npy"),
                     "--samples", "12", "--workdir", work, "--simdir", sims, "--name", run, "--quiet"]) == 0
    f = json.loads((tmp_path / "sims" / "f" / "summary.json").read_text())
    q = json.loads((tmp_path / "sims" / "q" / "summary.json").read_text())
    theirs = forward(x)[-1].sum(1).argmax(1)
    assert f["predictions"] == theirs.tolist()  # the float run is the library's own answer
    assert f["precision"] == "float" and q["precision"] == "fixed" and len(q["predictions"]) == 12
    assert main(["verify", "s", "--input", str(tmp_path / "in.npy"), "--samples", "4", "--workdir", work,
                 "--simdir", sims, "--name", "v", "--quiet"]) == 0
    v = json.loads((tmp_path / "sims" / "v" / "verify.json").read_text())
    assert v["samples"] == 4 and v["bit_exact_fraction"] == 1.0 and v["executor_accuracy"] is None


def test_unsupported_node_exits_2_naming_it(tmp_path, capsys):
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1, 8])}),
                                "c1": nir.Conv1d(input_shape=8, weight=np.ones((2, 1, 3)), stride=1, padding=0,
                                                 dilation=1, groups=1, bias=np.zeros(2)),
                                "output": nir.Output(output_type={"output": np.array([2, 6])})},
                         edges=[("input", "c1"), ("c1", "output")])
    nir.write(str(tmp_path / "bad.nir"), graph)
    rc = main(["import", str(tmp_path / "bad.nir"), "--name", "bad", "--workdir", str(tmp_path / "exp")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "'c1'" in err and "Conv1d" in err
    assert not (tmp_path / "exp" / "bad").exists()


def _lif(n: int, tau: float = 2e-4, thr: float = 1.0):
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / 1e-4), v_leak=np.zeros(n), v_threshold=np.full(n, thr),
                   v_reset=np.zeros(n))


def _reference(x: np.ndarray, w1, w2, beta: float, wr=None, delay=None) -> tuple[np.ndarray, np.ndarray]:
    """Hand-written loop of the NIR semantics (reset to 0, fire v > 1, one step = dt), float32."""
    n, steps = x.shape[:2]
    v1, v2 = np.zeros((n, w1.shape[0]), np.float32), np.zeros((n, w2.shape[0]), np.float32)
    s1_all, s2_all = [], []
    s1 = np.zeros_like(v1)
    for t in range(steps):
        i1 = x[:, t] @ w1.T + (s1 @ wr.T if wr is not None else 0)
        v1 = np.float32(beta) * v1 + i1
        s1 = (v1 > 1).astype(np.float32)
        v1 = np.where(s1 > 0, 0, v1)
        s1_all.append(s1)
        src = s1 if delay is None else (s1_all[t - delay] if t >= delay else np.zeros_like(s1))
        v2 = np.float32(beta) * v2 + src @ w2.T
        s2 = (v2 > 1).astype(np.float32)
        v2 = np.where(s2 > 0, 0, v2)
        s2_all.append(s2)
    return np.stack(s1_all, 1), np.stack(s2_all, 1)


def _recurrent_or_delayed(kind: str, tmp_path, sizes=(5, 6, 3), seed: int = 1, rate: float = 0.5,
                          samples: int = 8):
    """Input -> fc1 -> lif1 -> fc2 -> lif2 with lif1 -> rec -> lif1 (recurrent) or lif1 -> Delay -> fc2."""
    n_in, n1, n2 = sizes
    rng = np.random.default_rng(seed)
    w1 = (rng.normal(0, 1, (n1, n_in))).astype(np.float32)
    w2 = (rng.normal(0, 1, (n2, n1))).astype(np.float32)
    wr = (rng.normal(0, 0.8 * min(1.0, 6 / n1), (n1, n1))).astype(np.float32)
    nodes = {"input": nir.Input(input_type={"input": np.array([n_in])}), "fc1": nir.Linear(weight=w1),
             "lif1": _lif(n1), "fc2": nir.Linear(weight=w2), "lif2": _lif(n2),
             "output": nir.Output(output_type={"output": np.array([n2])})}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("fc2", "lif2"), ("lif2", "output")]
    if kind == "recurrent":
        nodes["rec"] = nir.Linear(weight=wr)
        edges += [("lif1", "fc2"), ("lif1", "rec"), ("rec", "lif1")]
    else:
        nodes["d"] = nir.Delay(delay=np.full(n1, 2e-4))  # two steps of dt = 1e-4 s
        edges += [("lif1", "d"), ("d", "fc2")]
    nir.write(str(tmp_path / "g.nir"), nir.NIRGraph(nodes=nodes, edges=edges))
    x = (np.random.default_rng(seed + 1).random((samples, 12, n_in)) < rate).astype(np.float32)
    r1, r2 = _reference(x, w1, w2, 0.5, wr if kind == "recurrent" else None, 2 if kind == "delay" else None)
    return x, (r1, r2)


@pytest.mark.parametrize("kind", ["recurrent", "delay"])
def test_recurrent_and_delay_run_in_float(kind, tmp_path):
    x, (r1, r2) = _recurrent_or_delayed(kind, tmp_path)
    graph = read_nir(tmp_path / "g.nir", source="nir")
    s1, s2 = FloatExecutor(graph).run(torch.from_numpy(x), record=8).traces
    assert r2.sum() > 0
    assert np.array_equal(s1, r1) and np.array_equal(s2, r2)


def test_delay_deploys_as_the_source_layers_delay(tmp_path):
    """lif1 -> Delay(2 steps) -> fc2: lif1's NetX ``delay`` (its input arrives 2 steps late, so its
    spikes are the float ones 2 steps later); lif2 follows the float loop."""
    from asnn_neuro.deploy.netx.read import read_network

    x, (r1, r2) = _recurrent_or_delayed("delay", tmp_path, sizes=(50, 60, 30), seed=0, rate=0.3, samples=16)
    assert main(["import", str(tmp_path / "g.nir"), "--name", "g", "--workdir", str(tmp_path / "exp")]) == 0
    net = read_network(tmp_path / "exp" / "g" / "network.net")
    assert net.layers[0].delay.tolist() == [2] * 60 and net.layers[1].delay is None
    s1, s2 = FixedExecutor(net).run(torch.from_numpy(x).long(), None, record=16).traces
    assert not s1[:, :2].any()  # measured, seeds 0-3: 99.7-99.8 % and 98.5-99.0 % (no delay: 67-76 %)
    same1, same2 = (s1[:, 2:] == r1[:, :-2]).mean(), (s2 == r2).mean()
    assert same1 >= 0.99 and same2 >= 0.97, (same1, same2)
    assert s2.sum() > 0.05 * s2.size


def test_delay_of_a_biased_node_is_refused_on_chip(tmp_path):
    """Delaying a neuron's input equals delaying its output only when it has no bias."""
    _recurrent_or_delayed("delay", tmp_path)
    graph = nir.read(str(tmp_path / "g.nir"))
    graph.nodes["fc1"] = nir.Affine(weight=graph.nodes["fc1"].weight, bias=np.full(6, 0.1, np.float32))
    nir.write(str(tmp_path / "b.nir"), graph)
    low = lower_graph(read_nir(tmp_path / "b.nir", source="nir"), timesteps=12)
    assert low.net is None and "the node has a bias" in low.refused
    assert main(["import", str(tmp_path / "b.nir"), "--name", "b", "--workdir", str(tmp_path / "exp")]) == 0
    assert not (tmp_path / "exp" / "b" / "network.net").exists()
    assert (tmp_path / "exp" / "b" / "float.npz").exists()


def test_recurrent_edge_deploys_as_dense_rec(tmp_path):
    """lif1's own recurrent Linear becomes NetX dense_rec: the file reads back to the same network,
    and its fixed-point spikes follow the hand-written float loop (60 + 30 neurons, 16 samples,
    12 steps). Measured: lif1 98.7-99.2 %, lif2 95.7-96.8 % of neuron-steps equal over seeds 0-3
    (the feed-forward net without rec: 99.7 / 98.5 %: a flipped spike is fed back); the executor
    with the recurrent path left out: 91-93 / 85-88 %."""
    import h5py

    from asnn_neuro.deploy.netx.read import read_network

    x, ref = _recurrent_or_delayed("recurrent", tmp_path, sizes=(50, 60, 30), seed=0, rate=0.3, samples=16)
    low = lower_graph(read_nir(tmp_path / "g.nir", source="nir"), timesteps=12)
    assert low.refused is None
    assert main(["import", str(tmp_path / "g.nir"), "--name", "g", "--workdir", str(tmp_path / "exp")]) == 0
    file = tmp_path / "exp" / "g" / "network.net"
    with h5py.File(file) as f:
        kinds = [f["layer"][k]["type"][0].decode() for k in sorted(f["layer"], key=int)]
        assert kinds == ["input", "dense_rec", "dense"]
        assert f["layer/1/weight_rec"].shape == (60, 60)
    net = read_network(file)
    assert [p.source for p in net.layers[0].paths] == [low.net.layers[0].paths[0].source, 0]
    for mine, theirs in zip(net.layers, low.net.layers):
        assert mine.neuron == theirs.neuron
        for a, b in zip(mine.paths, theirs.paths):
            assert np.array_equal(a.weight, b.weight) and (a.shift, a.mask, a.source) == (b.shift, b.mask, b.source)
    traces = FixedExecutor(net).run(torch.from_numpy(x).long(), None, record=16).traces
    same = [float((ours == theirs).mean()) for ours, theirs in zip(traces, ref)]
    assert same[0] >= 0.98 and same[1] >= 0.95, same
    assert all(t.sum() > 0.05 * t.size for t in traces)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["recurrent", "delay"])
def test_recurrent_edge_and_delay_are_bit_exact_in_lava(kind, tmp_path):
    """Executor == Lava on the written file (dense_rec, or a delayed layer), 8 samples back to back."""
    from asnn_neuro.backends.lava.runner import run_lava
    from asnn_neuro.deploy.netx.read import read_network

    x, _ = _recurrent_or_delayed(kind, tmp_path)
    assert main(["import", str(tmp_path / "g.nir"), "--name", "g", "--workdir", str(tmp_path / "exp")]) == 0
    net = read_network(tmp_path / "exp" / "g" / "network.net")
    spikes = torch.from_numpy(x[:, :net.timesteps]).long()  # the import's T (10)
    ours = FixedExecutor(net).run(spikes, None, record=8)
    lava, _ = run_lava(net, spikes.numpy(), None, precision="fixed", backend="lava", record=8, progress=False)
    assert sum(int(t.sum()) for t in ours.traces) > 0
    for a, b in zip(ours.traces, lava.traces):
        assert np.array_equal(a, b)
