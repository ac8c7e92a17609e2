"""Every NIR convention of every exporter, against the library's own forward pass.

Per library (snnTorch, Sinabs, SpikingJelly, Norse, Rockpool), per neuron and reset variant its
exporter supports (tests/nir_variants.py), 3 seeds:
- float executor == the library's forward on 100 % of neuron-steps (every layer, every step);
- fixed point: agreement with the library printed (the 8-bit weight grid flips a few spikes);
  executor == Lava bit for bit on a few chip networks (slow);
- each defect of issue 26 has its own check: recurrent bias at step 0, Sinabs' norm_input gain,
  SpikingJelly's v_reset start, Norse's cells and its dt * tau, Rockpool's LIFTorch, the exporter
  warnings and an imported network running any T.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from nir_variants import VARIANTS, Case, quiet, random_input

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.cli import main
from asnn_neuro.deploy.nir.discrete import discretize
from asnn_neuro.deploy.nir.lower import lower_graph
from asnn_neuro.deploy.nir.read import Op, convention, read_nir

nir = pytest.importorskip("nir")
SEEDS = (0, 1, 2)
SAMPLES, T = 8, 20
MODULE = {"snntorch": "snntorch", "sinabs": "sinabs", "spikingjelly": "spikingjelly", "norse": "norse",
          "rockpool": "rockpool"}


def _needs(library: str) -> None:
    if importlib.util.find_spec(MODULE[library]) is None:
        pytest.skip(f"{library} is not installed (scripts/setup.sh installs it with --no-deps)")
    quiet()


def _case(name: str, seed: int, tmp_path) -> tuple[Case, object]:
    library, source, builder = VARIANTS[name]
    _needs(library)
    case = builder(seed)
    path = tmp_path / f"{name}-{seed}.nir"
    case.export(path)
    return case, read_nir(path, source=source, fix_norse_tau=case.fix_norse_tau)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_float_executor_is_the_library(name, tmp_path):
    """Every neuron layer, every step, 3 seeds: identical to the library's forward (spikes, or the
    leaky integrator's float values)."""
    spikes = total = 0
    for seed in SEEDS:
        case, graph = _case(name, seed, tmp_path)
        x = random_input(SAMPLES, T, seed)
        ours = FloatExecutor(graph).run(x, record=SAMPLES).traces
        theirs = case.forward(x)
        assert len(ours) == len(theirs)
        for layer, (a, b) in enumerate(zip(ours, theirs)):
            assert a.shape == b.reshape(a.shape).shape
            same = float(np.mean(a == b.reshape(a.shape)))
            assert same == 1.0, f"{name} seed {seed} layer {layer}: {100 * same:.2f} % of neuron-steps equal"
        spikes += sum(int((b != 0).sum()) for b in theirs[:2])
        total += sum(b.size for b in theirs[:2])
    assert spikes > 0.03 * total  # the spiking layers are not silent


# no chip neuron for a synaptic current with a subtractive reset (snnTorch's Synaptic, Rockpool) yet
NO_CHIP = {"snntorch-synaptic-rsynaptic": "with a synaptic current and subtractive reset has no chip neuron"}
CHIP = [n for n in VARIANTS if VARIANTS[n][1] != "rockpool" and n not in NO_CHIP]


@pytest.mark.parametrize("name", list(NO_CHIP))
def test_chip_path_refusal_names_why(name, tmp_path):
    _, graph = _case(name, 0, tmp_path)
    low = lower_graph(graph, T)
    assert low.net is None and NO_CHIP[name] in low.refused


@pytest.mark.parametrize("name", CHIP)
def test_fixed_point_agreement_with_the_library(name, tmp_path):
    """Fixed point (our executor) vs the library: reported (printed), per spiking layer and seed."""
    rows = []
    for seed in SEEDS:
        case, graph = _case(name, seed, tmp_path)
        low = lower_graph(graph, T)
        assert low.net is not None, low.refused
        x = random_input(SAMPLES, T, seed)
        ours = FixedExecutor(low.net).run(x.long(), None, record=SAMPLES).traces
        theirs = case.forward(x)
        for layer, (a, b) in enumerate(zip(ours, theirs)):
            if low.net.layers[layer].neuron.kind == "ASNN" and low.net.layers[layer].neuron.readout:
                continue  # a readout's state is in chip units; the spiking layers are compared
            rows.append((seed, layer, float(np.mean(a.reshape(b.shape) == b))))
    print(f"\nfixed vs {name}: " + ", ".join(f"seed {s} layer {i}: {100 * f:.1f} %" for s, i, f in rows))
    assert rows


def test_rockpool_chip_path_refused_naming_why(tmp_path, capsys):
    case, _ = _case("rockpool-lif", 0, tmp_path)
    rc = main(["import", str(tmp_path / "rockpool-lif-0.nir"), "--name", "r", "--source", "rockpool",
               "--workdir", str(tmp_path / "exp")])
    assert rc == 0
    info = json.loads((tmp_path / "exp" / "r" / "import.json").read_text())
    assert info["network"] is None and "several spikes per step" in info["chip_refused"]
    assert any("v_leak 0 whatever the LIF's bias" in w for w in info["warnings"])
    assert "warning" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "rockpool-lif-0.nir"), "--name", "r2", "--source", "rockpool", "--dt",
                 "2e-3", "--workdir", str(tmp_path / "exp")]) == 0  # r was written for dt = 1 ms
    assert "r does not fit dt 0.002 s" in capsys.readouterr().err


# --------------------------------------------------------------------------- one check per defect
def test_recurrent_bias_reaches_step_0(tmp_path):
    """snnTorch's RLeaky adds its recurrent Linear's bias at step 0 (defect 1)."""
    case, graph = _case("snntorch-rleaky-subtract", 0, tmp_path)
    x = random_input(SAMPLES, T, 0) * 0  # no input: the first spikes come from the recurrent bias alone
    ours = FloatExecutor(graph).run(x, record=SAMPLES).traces[0]
    theirs = case.forward(x)[0]
    assert np.array_equal(ours, theirs.reshape(ours.shape))
    assert theirs[:, :3].sum() > 0


def test_sinabs_lif_input_gain_is_one_minus_decay():
    """Sinabs' norm_input=True: v <- exp(-1/tau) v + (1 - exp(-1/tau)) I (defect 2; the library
    comparison is the 'sinabs-lif' variant above)."""
    lif = Op(name="lif", kind="LIF", inputs=[], shape=(2,),
             params={"tau": np.array([4.0, 6.0]), "r": np.ones(2), "v_leak": np.zeros(2),
                     "v_threshold": np.ones(2), "v_reset": np.zeros(2)})
    d = discretize(lif, convention("sinabs"))
    assert np.allclose(d.beta, np.exp(-1 / np.array([4.0, 6.0])))
    assert np.allclose(d.gain, 1 - np.exp(-1 / np.array([4.0, 6.0])))


def test_spikingjelly_starts_at_v_reset_and_that_is_no_approximation(tmp_path):
    """SpikingJelly starts v at v_reset: the float executor does, and the chip path's shift of
    v_reset to 0 is then exact, so import.json lists no v_reset approximation (defect 3)."""
    case, _ = _case("spikingjelly-lif-vreset", 0, tmp_path)
    work = str(tmp_path / "exp")
    assert main(["import", str(tmp_path / "spikingjelly-lif-vreset-0.nir"), "--name", "sj", "--source",
                 "spikingjelly", "--workdir", work]) == 0
    info = json.loads((tmp_path / "exp" / "sj" / "import.json").read_text())
    assert info["network"] == "network.net"
    assert not any("v_reset" in a for a in info["approximations"]), info["approximations"]
    assert main(["import", str(tmp_path / "spikingjelly-lif-vreset-0.nir"), "--name", "generic", "--source",
                 "nir", "--workdir", work]) == 0  # NIR's generic convention starts at 0: that one is approximated
    generic = json.loads((tmp_path / "exp" / "generic" / "import.json").read_text())
    assert any("v_reset" in a for a in generic["approximations"])


def test_norse_tau_below_dt_exits_2_unless_fixed(tmp_path, capsys):
    """Norse 1.1.0 writes dt * tau (1e-5 s for a 10 ms neuron): refused naming the node, or read with
    --fix-norse-tau (defect 4)."""
    _case("norse-cell-box-li", 0, tmp_path)
    path, work = str(tmp_path / "norse-cell-box-li-0.nir"), str(tmp_path / "exp")
    rc = main(["import", path, "--name", "n", "--source", "norse", "--workdir", work])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "node '1' (CubaLIF)" in err and "--fix-norse-tau" in err
    assert not (tmp_path / "exp" / "n").exists()
    assert main(["import", path, "--name", "n", "--source", "norse", "--fix-norse-tau", "--workdir", work]) == 0
    info = json.loads((tmp_path / "exp" / "n" / "import.json").read_text())
    assert info["conventions"]["dt_tau"] is True and info["network"] == "network.net"


def test_snntorch_import_warns_that_zero_reset_is_not_in_the_file(tmp_path, capsys):
    """snnTorch's exporter writes the same LIF for reset 'subtract' and 'zero': a one-line warning
    naming --source nir (defect 7); the zero-reset model imported that way is exact (variants)."""
    _case("snntorch-leaky-zero", 0, tmp_path)
    rc = main(["import", str(tmp_path / "snntorch-leaky-zero-0.nir"), "--name", "s", "--source", "snntorch",
               "--workdir", str(tmp_path / "exp")])
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert rc == 0 and len(warnings) == 1 and "--source nir" in warnings[0]


def test_imported_network_runs_the_input_files_T(tmp_path):
    """Imported with the default T = 10, run with a 30-step input file in float (the library's own
    answer) and in fixed point (defect 8)."""
    from nir_models import build, random_spikes

    _needs("sinabs")
    _, export, forward, _ = build("sinabs", seed=3, timesteps=30)
    export(tmp_path / "s.nir")
    work, sims = str(tmp_path / "exp"), str(tmp_path / "sims")
    assert main(["import", str(tmp_path / "s.nir"), "--name", "s", "--source", "sinabs", "--workdir", work]) == 0
    x = random_spikes(4, 30, seed=5)
    np.save(tmp_path / "in.npy", x.numpy().astype(np.int64).transpose(0, 4, 3, 2, 1))  # (N, x, y, z, T)
    for args, run in ((["--precision", "float"], "f"), ([], "q")):
        assert main(["simulate", "s", "--backend", "executor", *args, "--input", str(tmp_path / "in.npy"),
                     "--samples", "4", "--workdir", work, "--simdir", sims, "--name", run, "--quiet"]) == 0
        summary = json.loads((tmp_path / "sims" / run / "summary.json").read_text())
        assert summary["timesteps"] == 30
    f = json.loads((tmp_path / "sims" / "f" / "summary.json").read_text())
    assert f["predictions"] == forward(x)[-1].sum(1).argmax(1).tolist()


# ----------------------------------------------------------------------- fixed point == Lava (slow)
@pytest.mark.slow
@pytest.mark.parametrize("name", ["snntorch-rleaky-subtract", "sinabs-lif", "spikingjelly-lif-vreset",
                                  "norse-cell-box-li"])
def test_fixed_point_executor_matches_lava(name, tmp_path):
    """One compiled network streaming 4 samples: executor == Lava, every layer, every step."""
    from asnn_neuro.backends.lava.runner import run_lava

    _, graph = _case(name, 0, tmp_path)
    net = lower_graph(graph, 12).net
    x = random_input(4, 12, 5).long()
    ours = FixedExecutor(net).run(x, None, record=4)
    lava, _ = run_lava(net, x.numpy(), None, precision="fixed", backend="lava", record=4, progress=False)
    assert sum(int((tr != 0).sum()) for tr in ours.traces) > 0
    for i, (a, b) in enumerate(zip(ours.traces, lava.traces)):
        assert np.array_equal(a, b), f"{name}: layer {i} differs"
