"""A model trained in each library's own API (mnist5k, 2 epochs, rate-coded T = 8), exported with its
own NIR exporter, imported with ``asnn import``: the Loihi fixed-point network must agree with the
library's float forward on >= 98 % of 300 held-out predictions, the float executor must reproduce
the library, and Lava must match our integer executor bit for bit. Slow (about a minute per library)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from nir_models import LIBRARIES, build, rate_code, train

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.cli import main
from asnn_neuro.data import load_dataset
from asnn_neuro.deploy.netx import read_network
from asnn_neuro.deploy.nir.read import load_float

pytest.importorskip("nir")
T = 8
SAMPLES = 300


@pytest.mark.slow
@pytest.mark.parametrize("library", LIBRARIES)
def test_trained_model_agrees_on_chip(library, tmp_path):
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed (pip install -e '.[nir]')")
    data = load_dataset("mnist5k")
    built = build(library, in_shape=(1, 28, 28), hidden=8, timesteps=T, gain=1.0, seed=0)
    train(built, data.train_x, data.train_y, T, epochs=2, lr=5e-3)
    built.export(tmp_path / "m.nir")
    work = tmp_path / "exp"
    assert main(["import", str(tmp_path / "m.nir"), "--name", "m", "--source", library, "--workdir", str(work),
                 "--timesteps", str(T)]) == 0
    x = rate_code(data.test_x[:SAMPLES], T, seed=7)
    theirs = built.forward(x)[-1].sum(1).argmax(1)
    accuracy = float(np.mean(theirs == data.test_y[:SAMPLES].numpy()))
    assert accuracy > 0.7  # it learned something: agreement on a random net would say little
    floats = FloatExecutor(load_float(work / "m" / "float.npz")).run(x).predictions
    net = read_network(work / "m" / "network.net")
    fixed = FixedExecutor(net).run(x.long(), None)
    agree_float = float(np.mean(floats == theirs))
    agree_fixed = float(np.mean(fixed.predictions == theirs))
    print(f"{library}: accuracy {accuracy:.4f}, float executor agreement {agree_float:.4f}, "
          f"fixed point agreement {agree_fixed:.4f} on {SAMPLES} samples")
    assert agree_float >= 0.99
    assert agree_fixed >= 0.98

    from asnn_neuro.backends.lava.runner import run_lava

    few = x[:10].long()
    ours = FixedExecutor(net).run(few, None, record=10)
    lava, _ = run_lava(net, few.numpy(), None, precision="fixed", backend="lava", record=10, progress=False)
    for i, (a, b) in enumerate(zip(ours.traces, lava.traces)):
        assert np.array_equal(a, b), f"{library}: layer {i} differs between the executor and Lava"
