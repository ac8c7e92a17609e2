"""The CLI surface: help everywhere, usage errors exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asnn_neuro.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "usage: asnn " + command in capsys.readouterr().out


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "asnn_neuro", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "simulate" in out.stdout


@pytest.mark.parametrize("argv,needle", [
    (["train", "--encoding", "morse"], "unknown encoding 'morse'"),
    (["train", "--neuron", "hh", "--epochs", "1"], "unknown neuron 'hh'"),
    (["train", "--timesteps", "0"], "--timesteps"),
    (["train", "--timesteps", "100000"], "--timesteps"),
    (["train", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["nonsense"], "invalid choice"),
])
def test_usage_errors_exit_2_with_one_line(argv, needle, capsys, tmp_path):
    assert main(argv + ["--workdir", str(tmp_path)] if argv[0] == "train" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_loihi_backend_without_lava_loihi_exits_2(trained, capsys, tmp_path):
    work, names = trained
    rc = main(["simulate", names[("direct", "cuba")], "--backend", "loihi", "--samples", "2", "--workdir", str(work),
               "--simdir", str(tmp_path), "--quiet"])
    assert rc == 2 and "lava-loihi is not installed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_fresh_cli_prints_only_its_own_line(tmp_path):
    """lava-dl's import notices (Prophesee toolbox, CUDA runtime) stay hidden: a failing command
    run in a fresh interpreter says one line on stderr and nothing on stdout."""
    out = subprocess.run([sys.executable, "-m", "asnn_neuro", "simulate", str(tmp_path / "nope.net"), "--backend",
                          "executor", "--simdir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "nope.net" in out.stderr


def test_backend_slayer_is_a_deprecated_alias_of_executor(tmp_path, capsys):
    import numpy as np

    from asnn_neuro import ir
    from asnn_neuro.deploy.netx import write_network

    net = ir.Network(input=ir.InputSpec(shape=(3,)), timesteps=2, layers=[
        ir.Layer("d", (2,), ir.CubaNeuron(4096, 0, 1), [ir.Path(source=ir.Stream.SPIKES, kind="dense",
                                                              weight=np.array([[100, 0, 0], [0, 100, 100]]))])])
    path = write_network(net, tmp_path / "n.net")
    np.save(tmp_path / "x.npy", np.ones((3, 2), dtype=np.int64))
    assert main(["simulate", str(path), "--backend", "slayer", "--input", str(tmp_path / "x.npy"), "--name", "r",
                 "--simdir", str(tmp_path), "--quiet"]) == 0
    assert "deprecated" in capsys.readouterr().err
    import json

    assert json.loads((tmp_path / "r" / "summary.json").read_text())["backend"] == "executor"
