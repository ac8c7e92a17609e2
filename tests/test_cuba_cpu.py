"""The fast CPU path of lava-dl's CUBA neuron gives lava-dl's own results.

Every comparison is against lava-dl's code run in the same process (outside ``fast_cuba()``):
forward values and input gradients bit for bit, decay gradients (summed in another order) to
float rounding, exported files byte for byte.
"""

from __future__ import annotations

import copy
import hashlib

import pytest
import torch
import torch.nn.functional as F

from asnn_neuro.compat.slayer import slayer
from asnn_neuro.neurons import cuba_cpu, native
from asnn_neuro.neurons.cuba_cpu import fast_cuba, fast_li_bwd, fast_li_fwd

needs_kernel = pytest.mark.skipif(native.cuba_kernel() is None, reason=native.status("cuba"))


def _originals():
    li = slayer.neuron.dynamics.leaky_integrator
    return li._li_dynamics_fwd, li._li_dynamics_bwd


def _close(a: torch.Tensor | None, b: torch.Tensor | None) -> None:
    assert a is not None and b is not None
    assert a.shape == b.shape
    scale = float(a.abs().max()) or 1.0
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-6 * scale), float((a - b).abs().max())


@pytest.mark.parametrize("native_kernel", [True, False])
@pytest.mark.parametrize("threshold", [-1, 0.8])
@pytest.mark.parametrize("decay", [0, 410, 1024, 4096, "per-channel"])
def test_leaky_integrator_matches_lava_dl(threshold, decay, native_kernel, monkeypatch):
    if native_kernel and native.cuba_kernel() is None:
        pytest.skip(native.status("cuba"))
    if not native_kernel:
        monkeypatch.setattr(native, "cuba_kernel", lambda: None)  # the pure-torch fallback
    fwd, bwd = _originals()
    torch.manual_seed(7)
    x = torch.randn(3, 4, 5, 6, 7) * 0.7
    d = torch.randint(0, 4097, (6,)).float() if decay == "per-channel" else torch.tensor([float(decay)])
    state = torch.randn(3, 4, 5, 6) * 0.3
    want = fwd(x, d, state, threshold, 4096, dtype=torch.int64)
    got = fast_li_fwd(x, d, state, threshold, 4096, dtype=torch.int64)
    assert torch.equal(want, got)
    g = torch.randn_like(x)
    for a, b in zip(bwd(g, want, d), fast_li_bwd(g, got, d)):
        _close(a, b)


def _neuron(shared: bool, norm_channels: int | None, **extra) -> torch.nn.Module:
    params = dict(threshold=1.0, current_decay=0.25 if shared else (0.1, 0.4),
                  voltage_decay=0.03 if shared else (0.02, 0.1), tau_grad=0.5, scale_grad=1.0,
                  shared_param=shared, requires_grad=True, **extra)
    if norm_channels:
        params["norm"] = lambda: torch.nn.BatchNorm3d(norm_channels)
    return slayer.neuron.cuba.Neuron(**params)


def _both(module: torch.nn.Module, x0: torch.Tensor, grad: torch.Tensor | None = None):
    """(output, input grad, module) of lava-dl's path and of the fast path, from equal copies."""
    module(x0)  # first call: lava-dl sets the shape (and draws per-channel decays)
    twin = copy.deepcopy(module)
    results = []
    for m, fast in ((module, False), (twin, True)):
        x = x0.clone().requires_grad_()
        if fast:
            with fast_cuba():
                y = m(x)
        else:
            y = m(x)
        g = torch.randn_like(y, generator=torch.Generator().manual_seed(3)) if grad is None else grad
        (y * g).sum().backward()
        results.append((y, x.grad, m))
    return results


@needs_kernel
@pytest.mark.parametrize("shared", [True, False], ids=["scalar-decay", "per-channel-decay"])
@pytest.mark.parametrize("shape,norm", [((8, 12, 6), None), ((4, 5, 6, 7, 8), None), ((4, 5, 6, 7, 4), 5)],
                         ids=["dense", "conv", "conv-bn"])
def test_neuron_matches_lava_dl(shared, shape, norm):
    if not shared and len(shape) == 5 and shape[1] != shape[3]:
        shape = (shape[0], shape[1], shape[2], shape[1], shape[4])  # lava-dl broadcasts (C,) against W
    torch.manual_seed(11)
    x0 = torch.randn(shape) * 0.8 + 0.35
    (y, gx, m), (y2, gx2, m2) = _both(_neuron(shared, norm), x0)
    assert "_CubaFn" in type(y2.grad_fn).__name__  # the fused kernel ran
    assert 0.05 < float(y.mean()) < 0.95          # spikes and silences both present
    assert torch.equal(y, y2)
    assert torch.equal(gx, gx2)
    for name in ("current_decay", "voltage_decay"):
        _close(getattr(m, name).grad, getattr(m2, name).grad)
    if norm:
        assert torch.equal(m.norm.weight.grad, m2.norm.weight.grad)
        assert torch.equal(m.norm.running_mean, m2.norm.running_mean)


@needs_kernel
def test_large_values_take_the_exact_int64_path():
    """Values beyond 2^40 (scaled) leave the double-precision lanes; results stay lava-dl's."""
    torch.manual_seed(5)
    x0 = torch.randn(3, 40, 6) * 3e8
    x0[1] = torch.randn(40, 6) * 0.5  # a block of ordinary values next to the large ones
    (y, gx, _), (y2, gx2, _) = _both(_neuron(True, None), x0)
    assert torch.equal(y, y2)
    assert torch.equal(gx, gx2)


@needs_kernel
def test_unsupported_options_use_lava_dl_forward():
    """Persistent state and graded spikes are lava-dl's own code path, still correct."""
    torch.manual_seed(2)
    x0 = torch.randn(4, 6, 5) + 0.5
    for extra in ({"persistent_state": True}, {"graded_spike": True}):
        (y, gx, _), (y2, gx2, _) = _both(_neuron(True, None, **extra), x0)
        assert "_CubaFn" not in type(y2.grad_fn).__name__
        assert torch.equal(y, y2)
        _close(gx, gx2)


def _params() -> dict:
    return {"threshold": 1.0, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 0.5, "scale_grad": 1.0,
            "requires_grad": True}


@needs_kernel
@pytest.mark.parametrize("delay_shift", [False, True])
@pytest.mark.parametrize("delay", [False, True])
def test_blocks_with_delay_options_match_lava_dl(delay, delay_shift):
    torch.manual_seed(4)
    blocks = [slayer.block.cuba.Dense(_params(), 30, 20, delay=delay, delay_shift=delay_shift),
              slayer.block.cuba.Conv(_params(), 2, 3, 3, padding=1, delay=delay, delay_shift=delay_shift)]
    inputs = [(torch.rand(6, 30, 10) < 0.4).float(), (torch.rand(3, 2, 7, 7, 6) < 0.4).float()]
    for block, x0 in zip(blocks, inputs):
        if delay:
            with torch.no_grad():
                block.delay.delay.uniform_(0, 3)
        (y, gx, b), (y2, gx2, b2) = _both(block, x0)
        assert torch.equal(y, y2) and float(y.sum()) > 0
        assert torch.equal(gx, gx2)
        assert torch.equal(b.synapse.weight.grad, b2.synapse.weight.grad)
        if delay:
            _close(b.delay.delay.grad, b2.delay.delay.grad)


def _export_hash(tmp_path, fast: bool) -> str:
    """sha256 of the NetX file of a fixed-seed CUBA LeNet after three Adam steps on fixed data."""
    from asnn_neuro.deploy.lower import lower
    from asnn_neuro.deploy.netx.write import write_network
    from asnn_neuro.models import build_model
    from asnn_neuro.models.config import ModelConfig

    cfg = ModelConfig("lenet", (1, 16, 16), 10, "cuba", "direct", 4)
    gen = torch.Generator().manual_seed(9)
    x = torch.rand(16, 1, 16, 16, 4, generator=gen)
    y = torch.randint(0, 10, (16,), generator=gen)
    torch.manual_seed(1)
    model = build_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    with fast_cuba() if fast else _nothing():
        for _ in range(3):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    net, _ = lower(model, cfg)
    path = tmp_path / f"{'fast' if fast else 'lava_dl'}.net"
    write_network(net, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@needs_kernel
def test_exported_file_is_byte_identical(tmp_path):
    """Training through the fast path exports exactly the file lava-dl's own path exports."""
    assert _export_hash(tmp_path, fast=True) == _export_hash(tmp_path, fast=False)


def test_fast_path_is_used_only_inside_its_block():
    li, neuron = slayer.neuron.dynamics.leaky_integrator, slayer.neuron.cuba.Neuron
    original, forward = li._li_dynamics_fwd, neuron.forward
    assert original is not fast_li_fwd
    with fast_cuba():
        assert li._li_dynamics_fwd is fast_li_fwd and neuron.forward.original is forward
        with fast_cuba():
            assert li._li_dynamics_fwd is fast_li_fwd and neuron.forward.original is forward
        assert li._li_dynamics_fwd is fast_li_fwd
    assert li._li_dynamics_fwd is original and neuron.forward is forward
    assert cuba_cpu.MAX_STEPS == native.MAX_STEPS
