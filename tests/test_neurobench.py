"""NeuroBench metrics computed natively (energy/neurobench.py): the definitions on a tiny net by
hand, the nonzero fan-out of a conv against a brute-force count, and NeuroBench 2.3.0's own harness
on an snnTorch model that we also import through NIR."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_neuro import ir
from asnn_neuro.energy.neurobench import neurobench_metrics, nonzero_fanout


def _cuba() -> ir.CubaNeuron:
    return ir.CubaNeuron(i_decay=0, v_decay=0, vth_mant=10)


def test_metric_definitions_on_a_tiny_net_by_hand():
    w1 = np.array([[1, 0, 2, 0], [0, 3, 0, 0], [1, 1, 1, 1]])  # 5 zeros
    w2 = np.array([[1, 0, 0], [2, 2, 0]])  # 3 zeros
    net = ir.Network(ir.InputSpec((4,)), [
        ir.Layer("a", (3,), _cuba(), [ir.Path(source=ir.Stream.SPIKES, kind="dense", weight=w1)]),
        ir.Layer("b", (2,), _cuba(), [ir.Path(source=0, kind="dense", weight=w2)])], timesteps=2)
    # one sample, T = 2: spikes per neuron summed over the steps
    counts = {"input_spikes": np.array([2, 0, 1, 1]), "layer0_spikes": np.array([1, 0, 2]),
              "layer1_spikes": np.array([0, 1])}
    m = neurobench_metrics(net, counts, samples=1, timesteps=2)
    assert m["parameter_count"] == 18 and m["footprint_bytes"] == 72
    assert m["connection_sparsity"] == round(8 / 18, 3)
    # nonzero synapses per input: (2, 2, 2, 1) -> 2*2 + 0 + 1*2 + 1*1 = 7; per a-neuron (2, 1, 0) -> 1*2 = 2
    assert m["synaptic_operations"] == {"Effective_MACs": 0.0, "Effective_ACs": 9.0, "Dense": (12 + 6) * 2}
    assert m["activation_sparsity"] == pytest.approx(1 - 4 / 10)  # 4 spikes in 5 neurons x 2 steps
    assert m["membrane_updates"] == 10


def test_conv_nonzero_fanout_by_brute_force():
    rng = np.random.default_rng(1)
    w = rng.integers(-2, 3, (3, 2, 3, 3))  # about 1/5 zeros
    p = ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=w, kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    src, dst = (2, 7, 6), (3, 4, 3)
    fan = nonzero_fanout(p, src, dst).reshape(src)
    brute = np.zeros(src, dtype=np.int64)
    for o in range(3):
        for y in range(4):
            for x in range(3):
                for c in range(2):
                    for ky in range(3):
                        for kx in range(3):
                            iy, ix = y * 2 - 1 + ky, x * 2 - 1 + kx
                            if 0 <= iy < 7 and 0 <= ix < 6 and w[o, c, ky, kx] != 0:
                                brute[c, iy, ix] += 1
    assert np.array_equal(fan, brute)


def test_equal_to_neurobench_harness_on_an_snntorch_model_imported_via_nir(tmp_path):
    """NeuroBench 2.3.0's Benchmark on the snnTorch model; ours on the same model read from its NIR
    export and lowered to the chip, with the counts of the same spikes. Every difference is
    accounted for below; the rest is equal."""
    pytest.importorskip("neurobench")
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
    from neurobench.models import SNNTorchModel
    from nir_models import build, random_spikes

    from asnn_neuro.deploy.nir.lower import lower_graph
    from asnn_neuro.deploy.nir.read import read_nir

    n, steps = 8, 10
    model, export, forward, _ = build("snntorch", seed=0, timesteps=steps)
    export(tmp_path / "m.nir")
    net = lower_graph(read_nir(tmp_path / "m.nir", source="snntorch"), timesteps=steps).net
    x = random_spikes(n, steps, seed=0)
    counts = {"input_spikes": x.sum((0, 1)).reshape(-1).numpy().astype(np.int64)}
    counts.update({f"layer{i}_spikes": s.sum((0, 1)).astype(np.int64) for i, s in enumerate(forward(x))})
    ours = neurobench_metrics(net, counts, n, steps)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(n)), batch_size=n)
    theirs = Benchmark(SNNTorchModel(model), loader, [], [], [[Footprint, ConnectionSparsity, ParameterCount],
                       [ActivationSparsity, SynapticOperations, MembraneUpdates]]).run(quiet=True)
    # equal as computed
    assert ours["activation_sparsity"] == pytest.approx(theirs["ActivationSparsity"])
    assert ours["synaptic_operations"]["Dense"] == theirs["SynapticOperations"]["Dense"]
    assert ours["synaptic_operations"]["Effective_MACs"] == theirs["SynapticOperations"]["Effective_MACs"] == 0
    assert ours["membrane_updates"] == theirs["MembraneUpdates"]  # every membrane changes every step here
    # 1. effective ACs: 8-bit quantisation turned a few small weights into zeros (connection sparsity
    #    0.004 vs 0.0); with the model's own float weights in the same network the counts are equal
    conv, lin = model[0], model[3]
    net.layers[0].paths[0].weight = conv.weight.detach().numpy()
    net.layers[1].paths[0].weight = lin.weight.detach().numpy()
    exact = neurobench_metrics(net, counts, n, steps)
    assert exact["synaptic_operations"]["Effective_ACs"] == theirs["SynapticOperations"]["Effective_ACs"]
    assert exact["connection_sparsity"] == theirs["ConnectionSparsity"] == 0.0
    assert ours["synaptic_operations"]["Effective_ACs"] < theirs["SynapticOperations"]["Effective_ACs"]
    # 2. parameters: the chip holds a bias per neuron, torch one per conv channel (64 vs 4)
    assert ours["parameter_count"] - theirs["ParameterCount"] == net.layers[0].neurons - conv.out_channels
    # 3. footprint: NeuroBench also counts the snnTorch neurons' parameters and buffers (beta,
    #    threshold, and the membrane of the last batch); float32 everywhere
    neuron_bytes = sum(b.numel() * b.element_size() for m in (model[1], model[4])
                       for b in [*m.parameters(), *m.buffers()])
    assert theirs["Footprint"] == theirs["ParameterCount"] * 4 + neuron_bytes
    assert ours["footprint_bytes"] == ours["parameter_count"] * 4
