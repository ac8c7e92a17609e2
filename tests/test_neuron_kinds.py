"""Neuron kinds (``chip.neurons``): one module each, found through the registry.

- no module outside the kind modules tests a neuron's class (they look its kind up);
- every kind's step gives the same integers on numpy and torch;
- every kind the NetX writer writes reads back equal;
- executor == Lava for the kinds that run on ``KindNeuron`` (slow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from asnn_neuro import ir
from asnn_neuro.chip.neurons import registry
from asnn_neuro.chip.neurons.adrf import AdaptiveResonateNeuron
from asnn_neuro.chip.neurons.alif import AdaptiveLifNeuron
from asnn_neuro.chip.neurons.base import Drive, PortDrive
from asnn_neuro.chip.neurons.cuba_li import CubaIntegratorNeuron
from asnn_neuro.chip.neurons.cuba_sub import SubtractiveCubaNeuron

PACKAGE = Path(__file__).resolve().parents[1] / "asnn_neuro"
KIND_FOLDER = PACKAGE / "chip" / "neurons"
# the neuron classes: every kind's IR node, and the Lava processes that run neurons
NEURON_CLASSES = {k.params.__name__ for k in registry.KINDS.values()} | {"KindNeuron", "LIFReset", "LIF"}


def _class_names(node: ast.AST) -> set[str]:
    """The class names an isinstance's second argument mentions (``ir.CubaNeuron`` -> CubaNeuron)."""
    return {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(node)
            if isinstance(n, (ast.Attribute, ast.Name))}


def test_no_isinstance_on_neuron_classes_outside_the_kind_modules():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if KIND_FOLDER in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
                hit = _class_names(node.args[1]) & NEURON_CLASSES
                if hit:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {sorted(hit)}")
    assert found == []


def test_the_grep_sees_an_isinstance_on_a_neuron_class():
    call = ast.parse("isinstance(n, (ir.CubaNeuron, int))").body[0].value
    assert _class_names(call.args[1]) & NEURON_CLASSES == {"CubaNeuron"}


def test_each_kind_is_registered_under_its_params_kind():
    for name, kind in registry.KINDS.items():
        assert kind.params.__dataclass_params__.frozen, name
        assert kind.params.__dataclass_fields__["kind"].default == name
    assert registry.for_netx_type("RF_PHASE") is registry.get("RF")
    assert registry.for_netx_type("ADRF") is None
    with pytest.raises(KeyError, match="not registered"):
        registry.get("NOPE")


EXAMPLES = {
    "CUBA": ir.CubaNeuron(i_decay=1000, v_decay=300, vth_mant=40),
    "ASNN": ir.AdaptiveNeuron(leak=(3000, 3500, 4000, 4096), gain=(4096, 3000, 5000, 4096), threshold=3000),
    "SDNN": ir.SigmaDeltaNeuron(vth_mant=1),
    "RF": ir.ResonateNeuron(sin_decay=900, cos_decay=3800, vth=2000),
    "CUBA_SUB": SubtractiveCubaNeuron(i_decay=1000, v_decay=300, vth_mant=40),
    "CUBA_LI": CubaIntegratorNeuron(i_decay=1000, v_decay=300),
    "ALIF": AdaptiveLifNeuron(i_decay=1000, v_decay=300, th_decay=500, ref_decay=500, vth_mant=40, vth_step=10),
    "ADRF": AdaptiveResonateNeuron(sin_decay=900, cos_decay=3800, th_decay=500, ref_decay=500, vth_mant=30,
                                   vth_step=10),
}


def _run_kind(params, acc: np.ndarray, to) -> list[np.ndarray]:
    """Outputs of ``params``' kind over acc (T, n), every port driven by acc (scaled per port)."""
    kind = registry.of(params)
    shape = acc.shape[1:]
    like = to(np.zeros(0, dtype=np.int64))
    state = kind.init(params, shape, like)
    outs = []
    for t in range(acc.shape[0]):
        ports = {p: PortDrive(to(acc[t] * (k + 1)), to(np.full(shape, 3 * k, dtype=np.int64)), 4)
                 for k, p in enumerate(kind.ports)}
        out, state = kind.step(params, state, Drive(t, ports, shape, like))
        outs.append(np.asarray(out.numpy() if isinstance(out, torch.Tensor) else out).astype(np.int64))
    return outs


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_kind_steps_the_same_on_numpy_and_torch(name):
    params = EXAMPLES[name]
    assert set(EXAMPLES) == set(registry.KINDS), "every kind has an example here"
    acc = np.random.default_rng(1).integers(-40, 80, (12, 50))
    np_outs = _run_kind(params, acc, lambda a: a)
    t_outs = _run_kind(params, acc, torch.from_numpy)
    assert all(np.array_equal(a, b) for a, b in zip(np_outs, t_outs))
    assert any(o.any() for o in np_outs), "the kind never fired or sent anything"


def kind_net(neuron_of, seed: int, T: int = 8) -> ir.Network:
    """A 2x8x8 spike input -> conv (4x8x8, bias) -> dense (10) network whose layers' neurons are
    ``neuron_of(index)``, with seeded integer weights that make the layers fire."""
    rng = np.random.default_rng(seed)
    conv = ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=rng.integers(-100, 110, (4, 2, 3, 3)),
                   bias=rng.integers(-20, 40, 4), kernel=(3, 3), padding=(1, 1))
    dense = ir.Path(source=0, kind="dense", weight=rng.integers(-60, 70, (10, 4 * 8 * 8)),
                    bias=rng.integers(-10, 10, 10))
    return ir.Network(input=ir.InputSpec(shape=(2, 8, 8)), timesteps=T,
                      layers=[ir.Layer("conv", (4, 8, 8), neuron_of(0), [conv]),
                              ir.Layer("dense", (10,), neuron_of(1), [dense])])


def executor_equals_lava(net: ir.Network, seed: int, samples: int = 16) -> dict[str, int]:
    """Runs ``samples`` random spike inputs on the executor and on Lava; asserts every layer's
    trace is equal and returns what was compared (values, nonzero values)."""
    from asnn_neuro.backends.executor import FixedExecutor
    from asnn_neuro.backends.lava.runner import run_lava

    rng = np.random.default_rng(100 + seed)
    spikes = (rng.random((samples, net.timesteps, *net.input.shape)) < 0.3).astype(np.int64)
    ref = FixedExecutor(net).run(torch.from_numpy(spikes), None, record=samples)
    lava = run_lava(net, spikes, None, record=samples, progress=False)[0]
    for layer, a, b in zip(net.layers, ref.traces, lava.traces):
        assert np.array_equal(a.astype(np.int64), b.astype(np.int64)), f"seed {seed}, layer {layer.name}"
    return {"values": sum(a.size for a in ref.traces), "nonzero": sum(int(np.count_nonzero(a)) for a in ref.traces)}


NEW_KINDS = {
    "CUBA_SUB": lambda i: SubtractiveCubaNeuron(i_decay=1024 + 1000 * i, v_decay=300, vth_mant=(400, 1500)[i]),
    "CUBA_LI": lambda i: (ir.CubaNeuron(i_decay=1024, v_decay=300, vth_mant=400) if i == 0
                          else CubaIntegratorNeuron(i_decay=2048, v_decay=500)),
    "ALIF": lambda i: AdaptiveLifNeuron(i_decay=1024, v_decay=128, th_decay=400, ref_decay=400,
                                        vth_mant=(300, 1000)[i], vth_step=(100, 300)[i]),
    "ADRF": lambda i: AdaptiveResonateNeuron(sin_decay=3500, cos_decay=1800, th_decay=400, ref_decay=400,
                                             vth_mant=(20, 60)[i], vth_step=(6, 20)[i]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NEW_KINDS))
def test_a_new_kind_runs_the_same_on_the_executor_and_on_lava(name):
    """>= 3 seeds x 16 samples, every layer's every step equal; the layers are not silent."""
    for seed in range(3):
        seen = executor_equals_lava(kind_net(NEW_KINDS[name], seed), seed)
        assert seen["values"] // 50 < seen["nonzero"] < seen["values"] * 0.6, seen  # active, not saturated


@pytest.mark.parametrize("name", sorted(k for k in NEW_KINDS if registry.get(k).netx_write is not None))
def test_a_new_kind_writes_and_reads_back_in_netx(tmp_path, name):
    from asnn_neuro.deploy.netx.read import read_network
    from asnn_neuro.deploy.netx.write import write_network

    net = kind_net(NEW_KINDS[name], 0)
    write_network(net, tmp_path / "k.net")
    back = read_network(tmp_path / "k.net")
    assert [layer.neuron for layer in back.layers] == [layer.neuron for layer in net.layers]


def test_subtractive_reset_keeps_the_excess():
    """One step over threshold: the stock CUBA zeroes v, the subtractive one keeps v - vth << 6."""
    like = np.zeros(0, dtype=np.int64)
    drive = Drive(0, {"spike": PortDrive(np.array([100, 10]))}, (2,), like)
    stock, sub = ir.CubaNeuron(4096, 0, 50), SubtractiveCubaNeuron(4096, 0, 50)
    s1, st1 = registry.of(stock).step(stock, registry.of(stock).init(stock, (2,), like), drive)
    s2, st2 = registry.of(sub).step(sub, registry.of(sub).init(sub, (2,), like), drive)
    assert s1.tolist() == s2.tolist() == [True, False]
    assert st1.v.tolist() == [0, 640] and st2.v.tolist() == [6400 - 3200, 640]
