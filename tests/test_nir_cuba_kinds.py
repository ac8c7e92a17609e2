"""NIR neurons with a synaptic current that the stock CUBA cannot run, on the chip path: a
subtract-reset ``CubaLIF`` (Rockpool's LIFTorch form; read here with Sinabs' subtract convention)
becomes the CUBA_SUB neuron kind, a non-spiking ``CubaLI`` readout the CUBA_LI kind, whose
voltage is the output at every step. Checked: the float graph and the chip network agree (spikes
of the hidden layer, the readout's membrane up to the weight scale), and executor == Lava."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_neuro.backends.executor import FixedExecutor
from asnn_neuro.backends.float_executor import FloatExecutor
from asnn_neuro.deploy.nir.lower import lower_graph
from asnn_neuro.deploy.nir.read import read_nir

nir = pytest.importorskip("nir")
T = 12


def _graph(path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_in, n_hid, n_out = 6, 8, 3
    one = np.ones

    def cuba(n, thr):
        return dict(tau_syn=one(n) * 2.0, tau_mem=one(n) * 4.0, r=one(n) * 4.0, v_leak=np.zeros(n),
                    w_in=one(n) * 2.0, **({} if thr is None else {"v_threshold": one(n) * thr,
                                                                 "v_reset": np.zeros(n)}))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=rng.normal(0.15, 0.3, (n_hid, n_in)), bias=np.zeros(n_hid)),
        "lif": nir.CubaLIF(**cuba(n_hid, 1.0)),
        "fc2": nir.Affine(weight=rng.normal(0.1, 0.4, (n_out, n_hid)), bias=np.zeros(n_out)),
        "li": nir.CubaLI(**cuba(n_out, None)),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "output")]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges))


@pytest.mark.slow
def test_subtract_reset_cuba_lif_and_cuba_li_readout_on_the_chip_path(tmp_path):
    from asnn_neuro.backends.lava.runner import run_lava

    for seed in range(3):
        _graph(tmp_path / f"{seed}.nir", seed)
        graph = read_nir(tmp_path / f"{seed}.nir", source="sinabs")
        low = lower_graph(graph, timesteps=T)
        assert low.refused is None, low.refused
        net = low.net
        assert [layer.neuron.kind for layer in net.layers] == ["CUBA_SUB", "CUBA_LI"]
        x = (torch.from_numpy(np.random.default_rng(50 + seed).random((16, T, 6))) < 0.5).long()
        ours = FixedExecutor(net).run(x, None, record=16)
        lava, _ = run_lava(net, x.numpy(), None, record=16, progress=False)
        for i, (a, b) in enumerate(zip(ours.traces, lava.traces)):
            assert np.array_equal(a, b.astype(np.int64)), f"seed {seed}: layer {i}: executor != Lava"
        assert np.array_equal(ours.output, lava.output)  # the readout's voltage, every step
        floats = FloatExecutor(graph).run(x.float(), record=16).traces
        spikes = ours.traces[0]
        assert 0.05 < spikes.mean() < 0.8
        assert (spikes == floats[0]).mean() > 0.98, f"seed {seed}: hidden spikes differ from the float graph"
        membrane = ours.output.reshape(-1).astype(np.float64)
        reference = floats[1].reshape(-1)
        assert np.corrcoef(membrane, reference)[0, 1] > 0.995, f"seed {seed}: readout membrane"
