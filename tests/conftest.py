"""Shared fixtures: a tiny trained model (trained once per session) and tmp work dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture(scope="session")
def mnist5k():
    from asnn_neuro.data import load_dataset

    return load_dataset("mnist5k", seed=0)


def _small(data, n_train: int):
    from asnn_neuro.data import Dataset

    return Dataset(name=data.name, train_x=data.train_x[:n_train], train_y=data.train_y[:n_train],
                   test_x=data.test_x, test_y=data.test_y, classes=data.classes)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, mnist5k):
    """Train small LeNets (hybrid/asnn T=3 and direct/cuba T=3) on 768 digits for one epoch, and export."""
    from asnn_neuro.deploy.export import export
    from asnn_neuro.training.config import TrainConfig
    from asnn_neuro.training.loop import train

    work = tmp_path_factory.mktemp("exports")
    names = {}
    for enc, neuron in (("hybrid", "asnn"), ("direct", "cuba")):
        name = f"tiny-{enc}-{neuron}"
        cfg = TrainConfig(dataset="mnist5k", encoding=enc, neuron=neuron, timesteps=3, epochs=1, name=name,
                          workdir=str(work), batch_size=32)
        train(cfg, data=_small(mnist5k, 768), show_progress=False)
        export(name, workdir=str(work))
        names[(enc, neuron)] = name
    return Path(work), names
