"""Stream modes (``backends.stream``): reset, fill and continuous, the same in both backends.

- the clock: which sample and step a process at depth d handles at each Lava step, by hand;
- executor == Lava, every layer, every step, several samples, in every mode, for the stock
  CUBA process, KindNeuron kinds, the ASNN process (hybrid), delay lines and recurrent paths;
- continuous equals lava-dl's own loader on a stream of several samples with biases;
- a file we did not write defaults to continuous, ours to reset; the CLI takes --stream.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from lava_dl_reference import export_blocks, lava_dl_run, slayer_cuba_dense, slayer_cuba_recurrent
from test_neuron_kinds import NEW_KINDS, kind_net
from tiny_nets import tiny_hybrid_net

from asnn_neuro import ir
from asnn_neuro.backends.stream import Clock, StreamMode, default_mode, lava_steps, parse_mode, run_executor
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.errors import InputError


def test_clock_by_hand():
    # depth 2, T = 3: reset starts sample 0 at Lava step 3 (1 + depth), from rest at t = 0
    reset = Clock(StreamMode.RESET, period=3, offset=2, steps=3)
    assert [reset.at(s) for s in (1, 2, 3, 5, 6)] == [
        (-1, -1, False, False), (-1, -1, False, False), (0, 0, True, True), (0, 2, True, False), (1, 0, True, True)]
    # fill, latency 2: period 5; every layer starts from rest when the sample enters (Lava step 1, 6, ...)
    fill = Clock(StreamMode.FILL, period=5, offset=2, steps=3)
    assert [fill.at(s) for s in (1, 2, 3, 5, 6, 8)] == [
        (0, -2, True, True), (0, -1, True, False), (0, 0, True, False), (0, 2, True, False), (1, -2, True, True),
        (1, 0, True, False)]
    # continuous: from rest once, at Lava step 1, then never again
    cont = Clock(StreamMode.CONTINUOUS, period=3, offset=2, steps=3)
    assert [cont.at(s) for s in (1, 2, 3, 6)] == [(0, -2, True, True), (0, -1, True, False), (0, 0, True, False),
                                                  (1, 0, True, False)]


def _nets() -> dict[str, ir.Network]:
    nets = {"CUBA (stock LIF)": kind_net(lambda i: ir.CubaNeuron(i_decay=1024, v_decay=300,
                                                                 vth_mant=(400, 1500)[i]), 0, T=5),
            "SDNN": kind_net(lambda i: ir.SigmaDeltaNeuron(vth_mant=1), 1, T=5),  # graded input below
            "ALIF": kind_net(NEW_KINDS["ALIF"], 2, T=5),
            "CUBA_LI": kind_net(NEW_KINDS["CUBA_LI"], 3, T=5),
            "ASNN hybrid": tiny_hybrid_net()}
    nets["SDNN"].read_graded_input()
    return nets


def _inputs(net: ir.Network, n: int, seed: int):
    rng = np.random.default_rng(seed)
    shape = (n, net.timesteps, *net.input.shape)
    spikes = (rng.random(shape) < 0.3).astype(np.int64)
    graded = rng.integers(0, 255, shape) if ir.Stream.GRADED in net.streams() else None
    if ir.Stream.SPIKES not in net.streams():
        spikes = None
    return spikes, graded


def _both(net: ir.Network, spikes, graded, mode: StreamMode):
    from asnn_neuro.backends.lava.runner import run_lava

    n = (spikes if spikes is not None else graded).shape[0]
    ex = run_executor(net, None if spikes is None else torch.from_numpy(spikes),
                      None if graded is None else torch.from_numpy(graded), mode, record=n)
    lava, timing = run_lava(net, spikes, graded, record=n, progress=False, mode=mode)
    assert timing.steps == lava_steps(mode, net, n)
    return ex, lava


def _assert_equal(ex, lava, what: str) -> None:
    for i, (a, b) in enumerate(zip(ex.traces, lava.traces)):
        assert np.array_equal(a.astype(np.int64), b.astype(np.int64)), f"{what}: layer {i}"
    for i, (a, b) in enumerate(zip(ex.layers, lava.layers)):
        assert np.array_equal(a.per_neuron, b.per_neuron) and np.array_equal(a.per_step, b.per_step), f"{what} {i}"
        assert list(a.per_sample) == list(b.per_sample), f"{what}: layer {i} per sample"
    assert np.array_equal(ex.scores, lava.scores), what


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(StreamMode))
def test_executor_equals_lava_in_every_mode(mode):
    for name, net in _nets().items():
        spikes, graded = _inputs(net, 4, seed=len(name))
        ex, lava = _both(net, spikes, graded, mode)
        assert sum(int(np.count_nonzero(t)) for t in ex.traces) > 50, name
        _assert_equal(ex, lava, f"{name} ({mode.value})")


@pytest.mark.slow
def test_modes_differ_where_they_should():
    """Biases act during the fill (fill != reset); state carries into the next sample (continuous
    != fill); for the first sample fill == continuous; every sample of fill is the same run alone."""
    net = kind_net(lambda i: ir.CubaNeuron(i_decay=1024, v_decay=300, vth_mant=(400, 1500)[i]), 0, T=5)
    spikes, _ = _inputs(net, 4, seed=9)
    x = torch.from_numpy(spikes)
    runs = {m: run_executor(net, x, None, m, record=4) for m in StreamMode}
    first = [t[0] for t in runs[StreamMode.FILL].traces]
    assert all(np.array_equal(a, t[0]) for a, t in zip(first, runs[StreamMode.CONTINUOUS].traces))
    assert any(not np.array_equal(a, t[0]) for a, t in zip(first, runs[StreamMode.RESET].traces))
    later = [not np.array_equal(a[1:], b[1:]) for a, b in
             zip(runs[StreamMode.FILL].traces, runs[StreamMode.CONTINUOUS].traces)]
    assert any(later)
    alone = run_executor(net, x[2:3], None, StreamMode.FILL, record=1)
    assert all(np.array_equal(a[2], b[0]) for a, b in zip(runs[StreamMode.FILL].traces, alone.traces))


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(StreamMode))
def test_delays_and_recurrence_in_every_mode(tmp_path, mode):
    export_blocks(tmp_path / "d.net", slayer_cuba_dense([8, 6, 3], 5, delay=True))
    export_blocks(tmp_path / "r.net", slayer_cuba_recurrent(0))
    for f in ("d.net", "r.net"):
        with h5py.File(tmp_path / f, "a") as h:  # biases, so the fill matters
            for key in h["layer"]:
                n = int(np.prod(h["layer"][key]["shape"][()]))
                h["layer"][key].create_dataset("bias", data=np.random.default_rng(3).integers(-20, 40, n))
        net = read_network(tmp_path / f)
        net.timesteps = 6
        spikes = (np.random.default_rng(5).random((3, 6, *net.input.shape)) < 0.5).astype(np.int64)
        _assert_equal(*_both(net, spikes, None, mode), f"{f} ({mode.value})")


@pytest.mark.slow
def test_continuous_equals_lava_dls_loader_over_several_samples(tmp_path):
    """Three samples streamed through lava-dl's own loader (no reset, biases) == our continuous
    run of the same three samples, in both backends, every layer and step."""
    export_blocks(tmp_path / "b.net", slayer_cuba_dense([12, 9, 4], 2, delay=True))
    with h5py.File(tmp_path / "b.net", "a") as f:
        for key in f["layer"]:
            n = int(np.prod(f["layer"][key]["shape"][()]))
            f["layer"][key].create_dataset("bias", data=np.random.default_rng(3).integers(-20, 30, n))
    n, T = 3, 7
    x = (np.random.default_rng(2).random((n * T, 12)) < 0.4).astype(np.int64)
    theirs = lava_dl_run(tmp_path / "b.net", x)  # per layer (n * T, neurons)
    net = read_network(tmp_path / "b.net")
    assert default_mode(net) == StreamMode.CONTINUOUS
    net.timesteps = T
    ex, lava = _both(net, x.reshape(n, T, 12), None, StreamMode.CONTINUOUS)
    assert sum(int(t.sum()) for t in theirs) > 20
    for i, ref in enumerate(theirs):
        assert np.array_equal(ref.reshape(n, T, -1), ex.traces[i]), f"executor, layer {i}"
        assert np.array_equal(ex.traces[i], lava.traces[i].astype(np.int64)), f"Lava, layer {i}"


def test_defaults_follow_who_wrote_the_file(tmp_path):
    from asnn_neuro.deploy.netx.write import write_network

    export_blocks(tmp_path / "theirs.net", slayer_cuba_dense([8, 6, 3], 0, delay=False))
    theirs = read_network(tmp_path / "theirs.net")
    assert theirs.meta["origin"] == "foreign" and default_mode(theirs) == StreamMode.CONTINUOUS
    write_network(tiny_hybrid_net(), tmp_path / "ours.net")
    assert default_mode(read_network(tmp_path / "ours.net")) == StreamMode.RESET
    theirs.timesteps = 4
    write_network(theirs, tmp_path / "rewritten.net")  # a lava-dl network we re-wrote stays lava-dl's
    assert default_mode(read_network(tmp_path / "rewritten.net")) == StreamMode.CONTINUOUS
    assert parse_mode("fill", theirs) == StreamMode.FILL
    with pytest.raises(InputError, match="unknown stream mode 'nope'"):
        parse_mode("nope", theirs)


def test_cli_modes_match_the_module():
    from asnn_neuro.backends.stream import MODES
    from asnn_neuro.cli import STREAM_MODES

    assert STREAM_MODES == MODES


@pytest.mark.slow
def test_simulate_records_the_mode_and_both_backends_agree(tmp_path):
    import json

    from asnn_neuro.cli import main

    export_blocks(tmp_path / "d.net", slayer_cuba_dense([6, 4, 2], 0, delay=False))
    with h5py.File(tmp_path / "d.net", "a") as f:
        for key in f["layer"]:
            n = int(np.prod(f["layer"][key]["shape"][()]))
            f["layer"][key].create_dataset("bias", data=np.full(n, 25))
    np.save(tmp_path / "x.npy", (np.random.default_rng(0).random((3, 6, 5)) < 0.5).astype(np.int64))
    common = ["--input", str(tmp_path / "x.npy"), "--simdir", str(tmp_path / "sims"), "--quiet"]
    seen = {}
    for backend in ("executor", "lava"):
        for stream in (None, "reset", "fill"):
            name = f"{backend}-{stream}"
            extra = [] if stream is None else ["--stream", stream]
            assert main(["simulate", str(tmp_path / "d.net"), "--backend", backend, "--name", name, *extra,
                         *common]) == 0
            summary = json.loads((tmp_path / "sims" / name / "summary.json").read_text())
            assert summary["stream"] == (stream or "continuous")
            assert summary["pipeline_fill"] == (stream == "fill")
            seen[name] = summary["outputs"]
    for stream in (None, "reset", "fill"):
        assert seen[f"executor-{stream}"] == seen[f"lava-{stream}"]
    assert seen["executor-reset"] != seen["executor-fill"]
    assert main(["simulate", str(tmp_path / "d.net"), "--backend", "lava", "--pipeline-fill", "--name", "alias",
                 *common]) == 0
    assert json.loads((tmp_path / "sims" / "alias" / "summary.json").read_text())["stream"] == "fill"
