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
