"""Fuzzing the readers: mutated NetX HDF5 files and mutated run summaries.

The rule under test: whatever bytes or structure a file holds, ``read_network`` returns a
network or raises ``InputError`` (never anything else); a network that reads runs in the
fixed-point executor or raises ``InputError``; and the CLI (``asnn simulate``, ``asnn energy``)
exits 0 or 2 -- never 1, never with a traceback.

Seeds: three valid files -- our own ASNN/hybrid export, our own CUBA export, and a
hand-written lava-dl-style file with ``pool``/``concat``/``average`` layers -- mutated by
byte flips and truncation, and structurally through h5py (datasets deleted or replaced by
arrays of random shape, dtype and NaN/inf/huge values, type strings and shapes changed,
layers renamed or duplicated, root attributes changed).

Bounded: hypothesis with a fixed number of examples per test, derandomised (the same cases
every run), no deadline and no example database, so a run takes well under a minute on two
cores. ``ASNN_FUZZ_SCALE=8 ASNN_FUZZ_RANDOM=1`` makes an exploratory run: eight times the
examples, a fresh random draw. Outcomes are tallied per test;
``ASNN_FUZZ_STATS=FILE`` writes the tally as JSON (docs/reliability.md quotes it).

Known reader bugs (``KNOWN``) would be tallied instead of failing the fuzz tests; the five found
so far (stride 0, short mask, huge shift, huge timesteps, huge vThMant) are fixed and pinned as
regular tests at the end of this file. Were a new one listed, a fix would show up as a pass and the entry
must then be removed. ``ASNN_FUZZ_STRICT=1`` makes them fail the fuzz tests too;
``ASNN_FUZZ_COLLECT=1`` (exploration) tallies new failures with a first reproduction each
instead of stopping at the first, and fails only in the closing statistics test.
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import json
import os
import shutil
import traceback
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny_nets import tiny_hybrid_net

from asnn_neuro import ir
from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.cli import main
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.deploy.netx.write import write_network
from asnn_neuro.errors import InputError

STATS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
STRICT = os.environ.get("ASNN_FUZZ_STRICT") == "1"
COLLECT = os.environ.get("ASNN_FUZZ_COLLECT") == "1"  # exploration: tally new failures, fail only at the end
EXAMPLES: dict[str, str] = {}  # first reproduction of each new failure (COLLECT mode)
SCALE = float(os.environ.get("ASNN_FUZZ_SCALE", "1"))  # more examples for an exploratory run
FUZZ = dict(deadline=None, database=None, derandomize=os.environ.get("ASNN_FUZZ_RANDOM") != "1",
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                   HealthCheck.filter_too_much])

# (exception type, file, function of the innermost asnn_neuro frame) -> the xfail test pinning it;
# only signatures seen in fuzz runs, so that a new bug in the same place is not hidden
KNOWN: dict[tuple[str, str, str], str] = {}  # all reader bugs found so far are fixed


# ------------------------------------------------------------------------------------ seed files
def cuba_ir() -> ir.Network:
    """Our CUBA network: conv, max pool (a depthwise conv), dense."""
    rng = np.random.default_rng(1)
    return ir.Network(
        input=ir.InputSpec(shape=(1, 6, 6)),
        layers=[ir.Layer("c", (2, 6, 6), ir.CubaNeuron(4096, 400, 20),
                         [ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-50, 50, (2, 1, 3, 3)) * 2,
                                  kernel=(3, 3), padding=(1, 1), bias=np.array([3, -3]))]),
                ir.Layer("p", (2, 3, 3), ir.CubaNeuron(4096, 4095, 0),
                         [ir.Path(source=0, kind="conv", weight=np.ones((2, 1, 2, 2), int), kernel=(2, 2),
                                  stride=(2, 2), groups=2)]),
                ir.Layer("d", (4,), ir.CubaNeuron(4096, 400, 20),
                         [ir.Path(source=1, kind="dense", weight=rng.integers(-50, 50, (4, 18)) * 2)])],
        timesteps=4, meta={"encoding": "rate", "neuron": "cuba"})


def _lava_dl_layer(group: h5py.Group, idx: int, kind: str, shape, neuron: bool = True, **data) -> h5py.Group:
    g = group.create_group(str(idx))
    g.create_dataset("type", (1,), "S10", [kind.encode()])
    g.create_dataset("shape", data=np.array(shape))
    for key, value in data.items():
        g.create_dataset(key, data=value)
    if neuron:
        n = g.create_group("neuron")
        n.create_dataset("type", data="CUBA")
        n.create_dataset("iDecay", data=1024)
        n.create_dataset("vDecay", data=123)
        n.create_dataset("vThMant", data=80)
        n.create_dataset("refDelay", data=1)
        n.create_dataset("gradedSpike", data=False)
    return g


def write_lava_dl_style(path: Path) -> None:
    """The layout lava-dl's block export writes, with the protocol's pool, concat and average."""
    rng = np.random.default_rng(2)
    conv = dict(stride=np.array([1, 1]), padding=np.array([1, 1]), dilation=np.array([1, 1]), groups=1)

    def w(*shape):
        return rng.normal(0, 40, shape).astype(np.float32)

    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        _lava_dl_layer(layers, 0, "input", [1, 6, 6], neuron=False)
        _lava_dl_layer(layers, 1, "conv", [4, 6, 6], weight=w(4, 1, 3, 3),
                       kernelSize=np.array([3, 3]), inChannels=1, outChannels=4, **conv)
        _lava_dl_layer(layers, 2, "concat", [8, 6, 6], neuron=False, layers=np.array([1]))
        _lava_dl_layer(layers, 3, "conv", [4, 6, 6], weight=w(4, 8, 3, 3),
                       kernelSize=np.array([3, 3]), inChannels=8, outChannels=4, **conv)
        _lava_dl_layer(layers, 4, "pool", [4, 3, 3], weight=np.full((1, 1, 2, 2), 64.0, np.float32),
                       kernelSize=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]),
                       dilation=np.array([1, 1]))
        _lava_dl_layer(layers, 5, "flatten", [36, 1, 1], neuron=False)
        _lava_dl_layer(layers, 6, "dense", [10], weight=w(10, 36),
                       inFeatures=36, outFeatures=10)
        _lava_dl_layer(layers, 7, "average", [5], neuron=False)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzz-seeds")
    out = {"asnn": d / "asnn.net", "cuba": d / "cuba.net", "lava-dl": d / "lava_dl.net"}
    write_network(tiny_hybrid_net(), out["asnn"])
    write_network(cuba_ir(), out["cuba"])
    write_lava_dl_style(out["lava-dl"])
    for p in out.values():  # every seed is valid and runs
        _run_executor(read_network(p))
    return out


def _members(path: Path) -> tuple[list[str], list[str]]:
    """(datasets, groups) of an HDF5 file, as paths."""
    datasets, groups = [], []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: (datasets if isinstance(obj, h5py.Dataset) else groups).append(name))
    return sorted(datasets), sorted(groups)


_counter = itertools.count()


@contextlib.contextmanager
def scratch(tmp_dir: Path, data: bytes | None = None, src: Path | None = None):
    """A fresh file per example (hypothesis runs many examples in one test call)."""
    path = tmp_dir / f"case{next(_counter)}.net"
    if src is not None:
        shutil.copyfile(src, path)
    else:
        path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- outcome checking
def _origin(exc: BaseException) -> tuple[str, str, str]:
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if "asnn_neuro" in fr.filename]
    last = frames[-1] if frames else None
    return (type(exc).__name__, Path(last.filename).name if last else "?", last.name if last else "?")


def _unexpected(test: str, exc: BaseException, what: str) -> str:
    """Tally a non-InputError: a known bug (counted) or a new one (raises AssertionError)."""
    key = _origin(exc)
    if key in KNOWN and not STRICT:
        STATS[test][f"known bug ({KNOWN[key]})"] += 1
        return "known"
    STATS[test]["UNEXPECTED"] += 1
    if COLLECT:
        EXAMPLES.setdefault(f"{test}: {key}", f"{what}: {exc!r:.300}")
        return "unexpected"
    raise AssertionError(f"{what}: {type(exc).__name__}: {exc} at {key[1]}:{key[2]}\n"
                         + "".join(traceback.format_exception(exc)))


def _frames(net: ir.Network, n: int = 2):
    """Small random input streams matching the network input (None where a stream is unused)."""
    steps = net.timesteps if 1 <= net.timesteps <= 16 else 3
    gen = torch.Generator().manual_seed(0)
    shape = (n, steps, *net.input.shape)
    streams = {p.source for layer in net.layers for p in layer.paths}
    spikes = (torch.rand(shape, generator=gen) < 0.3).to(torch.int64) if ir.Stream.SPIKES in streams else None
    graded = torch.randint(0, 256, shape, generator=gen) if ir.Stream.GRADED in streams else None
    if spikes is None and graded is None:
        spikes = torch.zeros(shape, dtype=torch.int64)
    return spikes, graded


def _small_enough(net: ir.Network) -> bool:
    neurons = int(np.prod(net.input.shape)) + sum(layer.neurons for layer in net.layers)
    return neurons <= 200_000


def _run_executor(net: ir.Network) -> None:
    spikes, graded = _frames(net)
    FixedExecutor(net).run(spikes, graded, record=1)


def check_file(test: str, path: Path, what: str) -> tuple[ir.Network | None, str]:
    """read_network (and, if it reads, the executor): InputError or success only.

    Returns (the network if it read and ran, else None; the outcome)."""
    STATS[test]["cases"] += 1
    try:
        net = read_network(path)
    except InputError as exc:
        STATS[test]["read: InputError"] += 1
        if "\n" in str(exc):  # the CLI prints it on one line; counted to see how often it happens
            STATS[test]["read: InputError message with a newline"] += 1
        return None, "input error"
    except Exception as exc:  # noqa: BLE001
        return None, _unexpected(test, exc, f"{what}: read_network")
    STATS[test]["read: ok"] += 1
    if not _small_enough(net):
        STATS[test]["run: skipped (too big)"] += 1
        return None, "too big"
    try:
        _run_executor(net)
    except InputError:
        STATS[test]["run: InputError"] += 1
        return None, "input error"
    except Exception as exc:  # noqa: BLE001
        return None, _unexpected(test, exc, f"{what}: FixedExecutor")
    STATS[test]["run: ok"] += 1
    return net, "ok"


# ------------------------------------------------------------------------------- byte mutations
@settings(max_examples=int(150 * SCALE), **FUZZ)
@given(seed=st.sampled_from(["asnn", "cuba", "lava-dl"]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1, exclude_max=True)),
       data=st.data())
def test_byte_mutations_read_or_input_error(seeds, tmp_path_factory, seed, flips, cut, data):
    raw = bytearray(seeds[seed].read_bytes())
    for where, xor in flips:
        raw[int(where * len(raw))] ^= xor
    if cut is not None:
        raw = raw[:int(cut * len(raw))]
    tmp = tmp_path_factory.getbasetemp()
    with scratch(tmp, data=bytes(raw)) as path:
        check_file("bytes", path, f"{seed} with flips {flips}, cut {cut}")


# -------------------------------------------------------------------------- structural mutations
EXTREMES = [0, -1, 1, 2, 7, 255, 4096, 2**31, -2**31, 2**62, -2**62, 1e30, -1e30, 0.5,
            float("nan"), float("inf"), float("-inf"), True]
TYPE_NAMES = ["input", "conv", "dense", "pool", "flatten", "average", "concat", "CUBA", "ASNN", "LOIHI",
              "", "lstm", "SDNN", "conv\x00", "é", "con\nv"]


def _array(kind: str, shape: tuple[int, ...], fill: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "S":
        names = [t.encode("utf-8") for t in TYPE_NAMES]
        return np.array([names[i] for i in rng.integers(0, len(names), int(np.prod(shape)))],
                        dtype="S8").reshape(shape)
    if fill == "huge":
        values = rng.choice([2**40, -2**40, 2**62, -2**62], size=shape)
    elif fill == "zeros":
        values = np.zeros(shape)
    elif fill == "negative":
        values = -rng.integers(1, 10, size=shape)
    else:
        values = rng.integers(-300, 300, size=shape)
    arr = np.asarray(values).astype(np.dtype(kind) if kind != "bool" else bool)
    if kind in ("f8", "f4") and fill in ("nan", "inf") and arr.size:
        arr.reshape(-1)[rng.integers(0, arr.size)] = np.nan if fill == "nan" else np.inf
    return arr


arrays = st.builds(
    lambda kind, shape, fill, seed: _array(kind, tuple(shape), fill, np.random.default_rng(seed)),
    st.sampled_from(["i8", "i1", "u1", "f8", "f4", "bool", "S"]),
    st.lists(st.integers(0, 6), max_size=4),
    st.sampled_from(["small", "huge", "zeros", "negative", "nan", "inf"]),
    st.integers(0, 2**16))


@st.composite
def mutation(draw, datasets: list[str], groups: list[str]):
    op = draw(st.sampled_from(["delete", "replace", "scalar", "type", "shape", "attr", "rename", "copy",
                               "geometry"]))
    if op == "delete":
        return op, draw(st.sampled_from(datasets + groups)), None
    if op == "replace":
        return op, draw(st.sampled_from(datasets)), draw(arrays)
    if op == "scalar":
        return op, draw(st.sampled_from(datasets)), draw(st.sampled_from(EXTREMES))
    if op == "type":
        targets = [d for d in datasets if d.endswith("/type")]
        value = draw(st.sampled_from(TYPE_NAMES))
        return op, draw(st.sampled_from(targets)), (value, draw(st.sampled_from(["S10", "object", "int"])))
    if op == "shape":
        targets = [d for d in datasets if d.rsplit("/", 1)[-1] in ("shape", "kernelSize", "layers")]
        return op, draw(st.sampled_from(targets)), draw(st.lists(st.integers(-2, 40), max_size=4))
    if op == "geometry":
        targets = [d for d in datasets if d.rsplit("/", 1)[-1] in
                   ("stride", "padding", "dilation", "groups", "shift", "mask", "source", "vThMant", "leak",
                    "gain", "iDecay", "vDecay", "index", "inFeatures", "outFeatures")]
        return op, draw(st.sampled_from(targets)), draw(st.lists(st.integers(-3, 9) | st.sampled_from(
            [2**20, 2**40, -2**40]), min_size=0, max_size=4))
    if op == "attr":
        key = draw(st.sampled_from(["timesteps", "format", "encoding", "calibration"]))
        return op, key, draw(st.sampled_from([0, -1, 1, 2, 3, 64, 2**40, "asnn-netx/1", "x", 1.5]))
    layer_keys = sorted({g.split("/")[1] for g in groups if g.count("/") == 1})
    if op == "rename":
        return op, f"layer/{draw(st.sampled_from(layer_keys))}", draw(st.sampled_from(["9", "x", "-1", "01"]))
    return op, f"layer/{draw(st.sampled_from(layer_keys))}", draw(st.sampled_from(layer_keys + ["9"]))


def apply_mutation(f: h5py.File, op: str, target: str, value) -> bool:
    """Apply one mutation; False when its target is already gone (an earlier mutation removed it)."""
    try:
        if op == "attr":
            f.attrs[target] = value
            return True
        if target not in f:
            return False
        if op == "delete":
            del f[target]
            return True
        parent, name = f[target].parent, target.rsplit("/", 1)[-1]
        if op == "rename":
            if value in parent:
                del parent[value]
            parent.move(name, value)
            return True
        if op == "copy":
            if value in parent:
                del parent[value]
            f.copy(f[target], parent, name=value)
            return True
        del parent[name]
        if op == "replace":
            parent.create_dataset(name, data=value)
        elif op == "scalar":
            parent.create_dataset(name, data=value)
        elif op == "type":
            text, storage = value
            if storage == "S10":
                parent.create_dataset(name, (1,), "S10", [text.encode("utf-8")[:10]])
            elif storage == "object":
                parent.create_dataset(name, data=text)
            else:
                parent.create_dataset(name, data=len(text))
        else:  # shape, geometry
            parent.create_dataset(name, data=np.array(value, dtype=np.int64))
        return True
    except (KeyError, ValueError, TypeError, OSError, RuntimeError):
        return False  # h5py refused to make this mutation; the file stays as it was


@st.composite
def structural(draw):
    seed = draw(st.sampled_from(sorted(_MEMBERS)))
    datasets, groups = _MEMBERS[seed]
    muts = draw(st.lists(mutation(datasets, groups), min_size=1, max_size=3))
    return seed, muts


_MEMBERS: dict[str, tuple[list[str], list[str]]] = {}


@pytest.fixture(scope="module")
def members(seeds):
    for name, path in seeds.items():
        _MEMBERS[name] = _members(path)
    return _MEMBERS


def _mutated(seeds, tmp: Path, case) -> contextlib.AbstractContextManager[Path]:
    seed, muts = case

    @contextlib.contextmanager
    def cm():
        with scratch(tmp, src=seeds[seed]) as path:
            with h5py.File(path, "r+") as f:
                for op, target, value in muts:
                    apply_mutation(f, op, target, value)
            yield path

    return cm()


@settings(max_examples=int(200 * SCALE), **FUZZ)
@given(case=st.data())
def test_structural_mutations_read_or_input_error(seeds, members, tmp_path_factory, case):
    seed, muts = case.draw(structural())
    with _mutated(seeds, tmp_path_factory.getbasetemp(), (seed, muts)) as path:
        check_file("structure", path, f"{seed} with mutations {muts}")


# ------------------------------------------------------------------------------------ CLI: simulate
def _cli(argv: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, err.getvalue()


def _check_cli(test: str, rc: int, err: str, what: str) -> None:
    STATS[test][f"exit {rc}"] += 1
    if COLLECT and (rc not in (0, 2) or "Traceback" in err):
        STATS[test]["UNEXPECTED"] += 1
        EXAMPLES.setdefault(f"{test}: exit {rc} {err.strip()[-120:]}", what)
        return
    assert rc in (0, 2), f"{what}: exit {rc}: {err}"
    assert "Traceback" not in err, f"{what}: {err}"
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, f"{what}: {err!r}"


def _input_npy(net: ir.Network, path: Path) -> None:
    """A .npy input for ``net``: graded values when it reads only the graded stream, else 0/1 spikes."""
    spikes, graded = _frames(net)
    x = (graded if spikes is None else spikes).numpy()
    if len(net.input.shape) == 3:  # (N, T, C, H, W) -> (N, x, y, z, T)
        x = x.transpose(0, 4, 3, 2, 1)
    else:
        x = np.moveaxis(x, 1, -1)
    np.save(path, x)


@settings(max_examples=int(60 * SCALE), **FUZZ)
@given(case=st.data())
def test_cli_simulate_on_mutated_files_exits_0_or_2(seeds, members, tmp_path_factory, case):
    seed, muts = case.draw(structural())
    tmp = tmp_path_factory.getbasetemp()
    with _mutated(seeds, tmp, (seed, muts)) as path:
        what = f"{seed} with mutations {muts}"
        net, outcome = check_file("cli-simulate", path, what)
        if outcome == "known":
            return  # the CLI would report the same known bug as exit 1
        x = tmp / f"{path.stem}.npy"
        sims = tmp / f"{path.stem}-sims"
        try:
            # an input that fits the network when it reads and runs, the seed's input otherwise
            _input_npy(net if net is not None else read_network(seeds[seed]), x)
            rc, err = _cli(["simulate", str(path), "--backend", "executor", "--input", str(x), "--name", "run",
                            "--simdir", str(sims), "--workdir", str(tmp / "no-exports"), "--quiet"])
            _check_cli("cli-simulate", rc, err, what)
            if rc == 2:
                assert not (sims / "run").exists(), f"{what}: partial run folder"
        finally:
            x.unlink(missing_ok=True)
            shutil.rmtree(sims, ignore_errors=True)


# -------------------------------------------------------------------------------------- CLI: energy
@pytest.fixture(scope="module")
def good_run(seeds, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("fuzz-run")
    net = read_network(seeds["asnn"])
    _input_npy(net, tmp / "x.npy")
    rc, err = _cli(["simulate", str(seeds["asnn"]), "--backend", "executor", "--input", str(tmp / "x.npy"),
                    "--name", "run", "--simdir", str(tmp / "sims"), "--workdir", str(tmp), "--quiet"])
    assert rc == 0, err
    return tmp / "sims" / "run"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.sampled_from(
        [0, -1, 1, 1e308, float("nan"), float("inf"), float("-inf"), 0.5]) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
SUMMARY_KEYS = ["samples", "timesteps", "network", "layers", "input", "latency_steps", "net", "backend",
                "predictions", "accuracy"]
LAYER_KEYS = ["name", "type", "neurons", "spikes", "synops", "graded_macs"]


@st.composite
def summary_mutation(draw):
    where = draw(st.sampled_from(["top", "layer", "input", "whole"]))
    if where == "whole":
        return where, None, draw(JSON_VALUES)
    keys = {"top": SUMMARY_KEYS, "layer": LAYER_KEYS, "input": ["spikes", "graded_events", "neurons"]}[where]
    key = draw(st.sampled_from(keys))
    delete = draw(st.booleans())
    return where, key, ("<delete>" if delete else draw(JSON_VALUES))


def _mutate_summary(summary: dict, mutations) -> object:
    for where, key, value in mutations:
        if where == "whole":
            return value
        target = summary
        if where == "layer":
            target = summary["layers"][0] if isinstance(summary.get("layers"), list) and summary["layers"] \
                and isinstance(summary["layers"][0], dict) else None
        elif where == "input":
            target = summary.get("input") if isinstance(summary.get("input"), dict) else None
        if target is None:
            continue
        if value == "<delete>":
            target.pop(key, None)
        else:
            target[key] = value
    return summary


@settings(max_examples=int(120 * SCALE), **FUZZ)
@given(mutations=st.lists(summary_mutation(), min_size=1, max_size=3),
       counts=st.sampled_from(["keep", "delete", "corrupt", "reshape", "float"]),
       network=st.sampled_from(["keep", "delete", "corrupt"]))
def test_cli_energy_on_mutated_summary_exits_0_or_2(good_run, tmp_path_factory, mutations, counts, network):
    run = tmp_path_factory.getbasetemp() / f"energy{next(_counter)}" / "run"
    shutil.copytree(good_run, run)
    try:
        summary = _mutate_summary(json.loads((run / "summary.json").read_text()), mutations)
        (run / "summary.json").write_text(json.dumps(summary))
        if counts == "delete":
            (run / "counts.npz").unlink()
        elif counts == "corrupt":
            (run / "counts.npz").write_bytes(b"PK\x03\x04" + bytes(40))
        elif counts == "float":
            with np.load(run / "counts.npz") as z:
                arrays = {k: z[k] for k in z.files}
            arrays["input_spikes"] = np.full(arrays["input_spikes"].shape, np.nan)
            np.savez(run / "counts.npz", **arrays)
        elif counts == "reshape":
            with np.load(run / "counts.npz") as z:
                arrays = {k: z[k] for k in z.files}
            arrays["layer0_spikes"] = arrays["layer0_spikes"][:3]
            np.savez(run / "counts.npz", **arrays)
        if network != "keep" and isinstance(summary, dict):
            net_file = Path(json.loads((good_run / "summary.json").read_text())["network"])
            local = run / "network.net"
            if network == "corrupt":
                local.write_bytes(net_file.read_bytes()[:300])
            summary["network"] = str(local)
            (run / "summary.json").write_text(json.dumps(summary))
        STATS["cli-energy"]["cases"] += 1
        rc, err = _cli(["energy", str(run), "--simdir", str(run.parent), "--quiet"])
        what = f"summary mutations {mutations}, counts {counts}, network {network}"
        _check_cli("cli-energy", rc, err, what)
        if rc == 2:
            assert not (run / "energy.json").exists() and not (run / "energy.md").exists(), what
    finally:
        shutil.rmtree(run.parent, ignore_errors=True)


# -------------------------------------------------- reader bugs the fuzzer found (fixed), pinned
def _replace(src: Path, dst: Path, dataset: str, value) -> Path:
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        parent, name = f[dataset].parent, dataset.rsplit("/", 1)[-1]
        del parent[name]
        parent.create_dataset(name, data=value)
    return dst


def _read_and_run(path: Path) -> None:
    """What ``asnn simulate --backend executor`` does with a file: read it, run it."""
    _run_executor(read_network(path))


def test_known_stride_zero(seeds, tmp_path):
    bad = _replace(seeds["cuba"], tmp_path / "stride0.net", "layer/1/stride", np.array([0, 0]))
    with pytest.raises(InputError, match="stride"):
        _read_and_run(bad)


def test_known_short_mask(seeds, tmp_path):
    bad = _replace(seeds["asnn"], tmp_path / "mask.net", "layer/1/asnn/path0/mask", np.array([1]))
    with pytest.raises(InputError, match="mask"):
        _read_and_run(bad)


@pytest.mark.parametrize("shift", [70, 2**40])
def test_known_huge_shift(seeds, tmp_path, shift):
    bad = _replace(seeds["asnn"], tmp_path / "shift.net", "layer/1/asnn/path0/shift", shift)
    with pytest.raises(InputError, match="shift"):
        _read_and_run(bad)


def test_known_huge_timesteps(seeds, tmp_path):
    bad = tmp_path / "steps.net"
    shutil.copyfile(seeds["lava-dl"], bad)
    with h5py.File(bad, "r+") as f:
        f.attrs["timesteps"] = 2**40
    with pytest.raises(InputError, match="timesteps"):
        _read_and_run(bad)


def test_known_huge_threshold(seeds, tmp_path):
    bad = _replace(seeds["cuba"], tmp_path / "vth.net", "layer/1/neuron/vThMant", 2**62)
    with pytest.raises(InputError, match="vThMant|threshold"):
        _read_and_run(bad)


# ---------------------------------------------------------------------------------- tally + report
def test_fuzz_statistics():
    """Runs last in this module: report the tally (and write it where ASNN_FUZZ_STATS says)."""
    stats = {test: dict(sorted(c.items())) for test, c in sorted(STATS.items())}
    if EXAMPLES:
        stats["new failures"] = EXAMPLES
    print("\nfuzz statistics:", json.dumps(stats, indent=1))
    if os.environ.get("ASNN_FUZZ_STATS"):
        Path(os.environ["ASNN_FUZZ_STATS"]).write_text(json.dumps(stats, indent=2) + "\n")
    for test, c in STATS.items():
        assert c["UNEXPECTED"] == 0, test
