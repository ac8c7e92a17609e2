"""The NetX conformance matrix: for each feature, a network built and exported with lava-dl's own
blocks (or one lava-dl ships with its tests), run in lava-dl's loader on Lava (fixed point) and in
ours (the Lava graph and the integer executor); every layer's output compared step for step.

``run_matrix`` measures it, ``markdown`` writes docs/netx_conformance.md
(scripts/netx_conformance.py does both)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import h5py
import numpy as np

from asnn_neuro.apps import lava_dl_reference as ref
from asnn_neuro.compat.lava_dl_files import shipped_networks
from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.errors import InputError


@dataclass
class Setup:
    """One matrix entry, ready to run: the file, one sample's frames (T, *input in x, y, z order)."""

    net_file: Path
    frames: np.ndarray
    graded: bool = False
    lava_dl_kwargs: dict = field(default_factory=dict)
    input_shape: tuple[int, ...] | None = None
    shipped: Callable[[list[np.ndarray]], str] | None = None  # our executor traces -> verdict vs another reference
    lava_dl_differs: str = ""  # why lava-dl's loader is no reference for this entry (it runs something else)


@dataclass
class Row:
    feature: str
    lava_dl: str
    lava: str
    executor: str
    layers: int = 0
    steps: int = 0
    seconds: dict = field(default_factory=dict)  # backend -> seconds of one run
    note: str = ""


def _spikes(rng, shape, p=0.5) -> np.ndarray:
    return (rng.random(shape) < p).astype(np.int64)


def _dense_delays(tmp: Path) -> Setup:
    ref.export_blocks(tmp / "n.net", ref.slayer_cuba_dense([20, 16, 5], 1, delay=True))
    return Setup(tmp / "n.net", _spikes(np.random.default_rng(1), (24, 20)))


def _dense_1d(tmp: Path) -> Setup:
    ref.export_blocks(tmp / "n.net", ref.slayer_cuba_dense([10, 8, 1], 3, delay=False))
    with h5py.File(tmp / "n.net", "a") as f:
        w = f["layer/1/weight"][()]
        del f["layer/1/weight"]
        f["layer/1"].create_dataset("weight", data=w.reshape(-1))
    return Setup(tmp / "n.net", _spikes(np.random.default_rng(3), (16, 10), 0.6))


def _conv_no_input(tmp: Path) -> Setup:
    ref.export_blocks(tmp / "n.net", ref.slayer_cuba_conv(4))
    return Setup(tmp / "n.net", _spikes(np.random.default_rng(4), (12, 4, 5, 2)),
                 lava_dl_kwargs={"input_shape": (4, 5, 2)}, input_shape=(2, 5, 4))


def _transposed(unpool: bool) -> Callable[[Path], Setup]:
    def build(tmp: Path) -> Setup:
        blocks, frames, theirs = ref.slayer_transposed(0, unpool)
        ref.export_blocks(tmp / "n.net", blocks, input_shape=(1, 8, 8))

        def check(traces: list[np.ndarray]) -> str:
            return f"{_compare(theirs, traces)} to SLAYER's own forward"
        return Setup(tmp / "n.net", frames, shipped=check)
    return build


def _recurrent(tmp: Path) -> Setup:
    ref.export_blocks(tmp / "n.net", ref.slayer_cuba_recurrent(0))
    return Setup(tmp / "n.net", _spikes(np.random.default_rng(0), (30, 10), 0.4))


def _conv_pool(tmp: Path) -> Setup:
    import torch

    torch.manual_seed(1)
    blocks = ref.shaped([ref.slayer.block.cuba.Conv(ref.CUBA, 1, 4, 3, padding=1, weight_scale=2, delay_shift=False),
                         ref.slayer.block.cuba.Pool(ref.CUBA, 2, delay_shift=False), ref.slayer.block.cuba.Flatten(),
                         ref.slayer.block.cuba.Dense(ref.CUBA, 64, 10, weight_scale=2, delay_shift=False)], (1, 8, 8))
    ref.export_blocks(tmp / "n.net", blocks, input_shape=(1, 8, 8))
    return Setup(tmp / "n.net", _spikes(np.random.default_rng(1), (8, 8, 8, 1), 0.4))


def _sdnn(conv: bool) -> Callable[[Path], Setup]:
    def build(tmp: Path) -> Setup:
        blocks, shape = ref.slayer_sigma_delta(2 if conv else 0, conv)
        ref.export_blocks(tmp / "n.net", blocks)
        lava_in = shape[::-1] if len(shape) == 3 else shape
        frames = np.cumsum(np.random.default_rng(0).integers(-20, 21, (14, *lava_in)), 0)
        return Setup(tmp / "n.net", frames, graded=True, lava_dl_kwargs={"input_message_bits": 16})
    return build


def _ntidigits(tmp: Path) -> Setup:
    gts = shipped_networks()
    x = np.load(gts / "ntidigits" / "input.npy").T.astype(np.int64)  # (3000, 64)
    shipped = np.load(gts / "ntidigits" / "output.npy").T.astype(np.int64)

    def check(traces: list[np.ndarray]) -> str:
        ours = traces[2]
        same = np.array_equal(ours[:-4], shipped[4:])
        return f"{'equal' if same else 'DIFFERENT'} to output.npy ({int(ours.sum())} spikes, 4-step Lava lag)"
    return Setup(gts / "ntidigits" / "ntidigits.net", x, lava_dl_kwargs={"num_layers": 5}, shipped=check)


def _pilotnet_sdnn(biases: bool) -> Callable[[Path], Setup]:
    def build(tmp: Path) -> Setup:
        gts = shipped_networks()
        shutil.copy(gts / "pilotnet_sdnn" / "network.net", tmp / "n.net")
        if not biases:
            with h5py.File(tmp / "n.net", "a") as f:
                for key in f["layer"]:
                    if "bias" in f["layer"][key]:
                        del f["layer"][key]["bias"]
        frame = np.load(gts / "pilotnet_sdnn" / "input.npy")[..., 0]
        frames = frame[None] + np.cumsum(np.random.default_rng(0).integers(-8, 9, (5, *frame.shape)), 0)
        return Setup(tmp / "n.net", frames, graded=True)
    return build


def _other_neuron(block: str, slayer_check: bool = False, lava_dl_differs: str = "") -> Callable[[Path], Setup]:
    """Two Dense blocks of slayer.block.<block> (rf, rf_iz, alif, adrf), exported by lava-dl;
    ``slayer_check``: also compare ours with SLAYER's own forward of the blocks."""
    def build(tmp: Path) -> Setup:
        blocks = ref.slayer_other_dense(block, [10, 8, 4], 0)
        ref.export_blocks(tmp / "n.net", blocks)
        frames = _spikes(np.random.default_rng(0), (30, 10), 0.4)
        if not slayer_check:
            return Setup(tmp / "n.net", frames)
        theirs = ref.slayer_dense_forward(blocks, frames)

        def check(traces: list[np.ndarray]) -> str:
            return f"{_compare(theirs, traces)} to SLAYER's own forward"
        return Setup(tmp / "n.net", frames, shipped=check, lava_dl_differs=lava_dl_differs)
    return build


# (feature, builder, runs lava-dl's loader on it in the default matrix)
CASES: list[tuple[str, Callable[[Path], Setup], bool]] = [
    ("CUBA dense, no input layer, axonal delays (per neuron)", _dense_delays, True),
    ("CUBA dense, 1-D weight (one output)", _dense_1d, True),
    ("CUBA conv first, no input layer (--input-shape)", _conv_no_input, True),
    ("CUBA conv + pool + flatten + dense", _conv_pool, True),
    ("CUBA recurrent dense (cuba.Recurrent, dense_rec)", _recurrent, True),
    ("CUBA conv + convT (stride 2, padding 1)", _transposed(False), True),
    ("CUBA conv + unpool (2x2)", _transposed(True), True),
    ("SDNN Input, Dense, Output (graded, ReLU, delta threshold)", _sdnn(False), True),
    ("SDNN Input, Conv (stride 1x2), Flatten, Dense, Output", _sdnn(True), True),
    ("lava-dl PilotNet SDNN (shipped, biases removed)", _pilotnet_sdnn(False), True),
    ("lava-dl PilotNet SDNN (shipped, with biases: layers run during the pipeline fill)", _pilotnet_sdnn(True), True),
    ("lava-dl NTIDIGITS (shipped: 3000 steps, delays, average)", _ntidigits, False),
    ("RF (slayer.block.rf, RF_PHASE)", _other_neuron("rf"), True),
    ("RF-IZ (slayer.block.rf_iz, RF_IZHIKEVICH)", _other_neuron("rf_iz"), True),
    ("ALIF (slayer.block.alif)", _other_neuron("alif", slayer_check=True), True),
    ("ADRF (slayer.block.adrf, ADRF_PHASE)",
     _other_neuron("adrf", slayer_check=True, lava_dl_differs="as a plain RF, without the adaptive threshold"), True),
]


def _compare(a: list[np.ndarray], b: list[np.ndarray]) -> str:
    if len(a) != len(b):
        return f"DIFFERENT ({len(a)} vs {len(b)} layers)"
    bad = [i for i, (x, y) in enumerate(zip(a, b)) if x.shape != y.shape or not np.array_equal(x, y)]
    return "equal" if not bad else f"DIFFERENT (layers {bad})"


def run_case(feature: str, build: Callable[[Path], Setup], with_lava_dl: bool, tmp: Path) -> Row:
    """Run one entry in lava-dl's loader (when ``with_lava_dl``) and in both our backends."""
    setup = build(tmp)
    try:
        net = read_network(setup.net_file, setup.input_shape)
    except InputError as exc:
        why = str(exc).split(": ", 2)[-1]
        lava_dl = _lava_dl_verdict(setup) if with_lava_dl else "not run"
        return Row(feature, lava_dl, "refused", "refused", steps=int(setup.frames.shape[0]), note=why)
    ex, lava = ref.ours_timed(net, setup.frames, setup.graded)  # lava-dl's files: the continuous stream
    row = Row(feature, "not run", _compare(ex.traces, lava.traces), "", layers=len(ex.traces),
              steps=int(setup.frames.shape[0]),
              seconds={"executor": ex.run_s, "lava": lava.run_s, "lava compile": lava.compile_s})
    if with_lava_dl:
        try:
            theirs = ref.lava_dl_timed(setup.net_file, setup.frames, **setup.lava_dl_kwargs)
        except NotImplementedError as exc:
            row.lava_dl = f"refuses ({exc})"
            row.executor = "equal to our Lava graph" if row.lava == "equal" else row.lava
        except Exception as exc:  # noqa: BLE001 - lava-dl's own failure, reported as it is
            row.lava_dl = f"cannot load ({type(exc).__name__})"
            row.executor = "equal to our Lava graph" if row.lava == "equal" else row.lava
        else:
            row.seconds["lava-dl"] = theirs.run_s
            n = len(theirs.traces)  # lava-dl may run fewer layers (num_layers)
            row.lava_dl = "runs"
            if setup.lava_dl_differs:
                row.lava_dl = f"runs ({setup.lava_dl_differs}: not a reference)"
                row.executor = "equal to our Lava graph" if row.lava == "equal" else row.lava
            else:
                row.executor = _compare(theirs.traces, ex.traces[:n])
    if setup.shipped is not None:
        row.executor = (row.executor + "; " if row.executor else "") + setup.shipped(ex.traces)
    row.lava = "equal to the executor" if row.lava == "equal" else row.lava
    return row


def _lava_dl_verdict(setup: Setup) -> str:
    try:
        ref.lava_dl_timed(setup.net_file, setup.frames, **setup.lava_dl_kwargs)
    except Exception as exc:  # noqa: BLE001 - lava-dl's own refusal, reported as it is
        return f"cannot load ({type(exc).__name__})"
    return "runs"


def run_matrix(workdir: Path, full: bool = False, progress: Callable[[str], None] | None = None) -> list[Row]:
    """Every entry of ``CASES``; ``full`` also runs lava-dl's loader where it is slow (NTIDIGITS)."""
    rows = []
    gts = shipped_networks()
    for k, (feature, build, with_lava_dl) in enumerate(CASES):
        if gts is None and ("lava-dl PilotNet" in feature or "NTIDIGITS" in feature):
            continue
        tmp = workdir / f"case{k}"
        tmp.mkdir(parents=True, exist_ok=True)
        if progress:
            progress(feature)
        rows.append(run_case(feature, build, with_lava_dl or full, tmp))
    return rows


def markdown(rows: list[Row], command: str) -> str:
    """docs/netx_conformance.md."""
    versions = {d: _version(d) for d in ("lava-dl", "lava-nc", "torch")}
    lines = [
        "# NetX conformance",
        "",
        f"Generated by `{command}` against lava-dl {versions['lava-dl']} (lava-nc {versions['lava-nc']}, "
        f"torch {versions['torch']}), {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "Each network is built and exported with lava-dl's own blocks (or shipped with lava-dl's tests),",
        "run for one sample in lava-dl's `netx.hdf5.Network` on Lava's CPU simulator (fixed point) and",
        "in ours: the Lava graph (`--backend lava`) and the integer executor (`--backend executor`).",
        "'equal' means every layer's output (spikes or graded messages) is equal at every step.",
        "",
        "| feature | lava-dl netx | ours: Lava graph | ours: executor | layers x steps | s per sample "
        "(executor / our Lava / lava-dl) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r.seconds
        secs = " / ".join(f"{s[k]:.2f}" if k in s else "-" for k in ("executor", "lava", "lava-dl"))
        size = f"{r.layers} x {r.steps}" if r.layers else "-"
        ex = r.executor + (f" ({r.note})" if r.note else "")
        lines.append(f"| {r.feature} | {r.lava_dl} | {r.lava} | {ex} | {size} | {secs} |")
    lines += [
        "",
        "Notes:",
        "- Delays follow lava-dl's loader: a layer's `delay` (one per output neuron) delays that",
        "  neuron's synaptic input (`DelayDense`); values are clamped to 0..62 as lava-dl does. A conv",
        "  layer's `delay` (per channel or neuron), which lava-dl's loader ignores, is run the same way",
        "  (equal to SLAYER's own forward: tests/test_netx_conformance.py::test_conv_delays_match_slayer).",
        "- convT / unpool: lava-dl's loader refuses them; ours are compared with SLAYER's own forward",
        "  of the same blocks (its fixed-point CUBA neuron), layer by layer and step by step.",
        "- lava-dl's loader has no reset: during the pipeline fill a layer with a bias already runs",
        "  (SDNN layers send their bias before the input reaches them). Both our backends run a file",
        "  we did not write the same way by default (`--stream continuous`, docs/stream_modes.md), so",
        "  the PilotNet SDNN with its biases is compared as lava-dl runs it; the copy without biases",
        "  is kept as the entry that also holds in our `reset` mode (lava-dl with `reset_interval`).",
        "- NTIDIGITS: lava-dl's loader (with `--full`) runs its 5 NetX layers without the `average`",
        "  readout, which it refuses; ours runs the average too. Its executor entry is also compared",
        "  with the shipped `output.npy` (lava-dl's raw Lava output, 4 steps of pipeline behind).",
        "- Seconds are one run of one sample on this machine (Lava's compile not included, lava-dl's",
        "  included); they show the order of magnitude, not a benchmark.",
        "- PilotNet LIF (shipped): the executor equals the shipped per-layer spike arrays (the first 16",
        "  steps, before lava-dl's reset; tests/test_netx_shipped.py), and so does our Lava graph, every",
        "  layer: Lava's CPU Conv model overflows int8 on the 200-wide input (lava-dl's own test runs it",
        "  on Loihi only), so convs wider than 127 run in our own integer conv process there.",
        "- ALIF: lava-dl exports it but its loader cannot load it (no neuron mapping). ADRF: lava-dl's",
        "  loader runs it as a plain RF neuron (it matches 'RF' in the type name), dropping the adaptive",
        "  threshold, so its 'runs' is not a reference. Ours runs both (the ALIF and ADRF neuron kinds,",
        "  chip/neurons/) and is compared with SLAYER's own fixed-point forward of the same blocks,",
        "  layer by layer and step by step (also for 3 seeds each:",
        "  tests/test_netx_conformance.py::test_adaptive_neurons_match_slayer_fixed_point).",
        "  ADRF_IZHIKEVICH stays refused (the ADRF kind has no Izhikevich form).",
        "- RF / RF-IZ: as lava-dl maps them (Lava's RF / RF_IZ behind a complex dense synapse), with",
        "  the integer sin / cos decays lava-dl derives through floats from the file's sinDecay /",
        "  cosDecay (one less than the file's value in some cases) and Lava's int16 input ports.",
    ]
    return "\n".join(lines) + "\n"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
