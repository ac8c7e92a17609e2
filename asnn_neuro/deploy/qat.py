"""Quantisation-aware training: the model's forward *is* the exported network, bit for bit.

``enable(model, bits, max_clip)`` replaces the model's forward (on the instance only: the class,
its state dict and the float path stay untouched) by one that

1. lowers the model with the exporter's own code (``deploy.lower.lower_stages``: BN folding,
   the (1 - max_clip)-quantile weight exponent, the raised exponents of CUBA and residual
   layers, 12-bit schedules). It re-lowers whenever a parameter changed (cached by the
   parameters' version counters), so every training step sees the grid export would write;
2. runs the IR layers of that network on the input streams the deployed network reads (spike
   frames as 0/1, analog frames as round(255 x)), with the integer arithmetic of
   ``chip.fixed_point`` (the functions the executor and the Lava models call): integer synaptic
   sums, ``asnn_input`` / ``asnn_update`` / ``asnn_fire`` for ASNN neurons, ``lif_step`` for CUBA,
   OR for pools and relays;
3. gives every rounded quantity the gradient of a float *shadow* (straight-through estimators):
   the shadow of an integer weight is the BN-folded float weight over 2**exponent, of a bias its
   float value, of leak and gain their float parameters; a layer's spikes carry the gradient of
   the neuron's float dynamics (surrogate) driven by the shadow current.

So scores and spikes of the quantisation-aware forward equal ``FixedExecutor`` on the exported
file exactly (``tests/test_qat.py``), and the readout returns the executor's integer scores
divided by 4096 (the float model's logit units). ``qat_finetune`` (``asnn quantize NAME --qat E``)
fine-tunes a trained model this way into ``NAME-qat`` and exports it.
"""

from __future__ import annotations

import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro import ir
from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip import limits as lim
from asnn_neuro.compat.slayer import slayer
from asnn_neuro.deploy.export import export
from asnn_neuro.deploy.lower import LayerOrigin, Lowering, PathOrigin, lower_stages, stage_shapes, synapse_weight
from asnn_neuro.deploy.quantize import DEFAULT_MAX_CLIP, check_bits
from asnn_neuro.encoding.frames import input_streams
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.models.blocks import Readout
from asnn_neuro.neurons import asnn
from asnn_neuro.training import TrainConfig, load_checkpoint, train


# ----------------------------------------------------------------------------- straight-through
class _Exact(torch.autograd.Function):
    """The value of ``exact`` with the gradient of ``shadow`` (same shape)."""

    @staticmethod
    def forward(ctx, shadow: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
        return exact.to(dtype=shadow.dtype, device=shadow.device, copy=True)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def straight_through(shadow: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """``exact``'s values, ``shadow``'s gradient."""
    return _Exact.apply(shadow, exact)


# ------------------------------------------------------------------------------- model state
@dataclass
class _Compiled:
    """The exported network of the current parameters, and what each of its parts came from."""

    key: tuple
    net: ir.Network
    lowering: Lowering
    tensors: dict = field(default_factory=dict)  # id(path) -> (weight, bias) as int64 tensors


@dataclass
class QatState:
    """What ``enable`` attaches to a model (``model.qat``)."""

    bits: int
    max_clip: float
    shapes: list[tuple[int, ...]]
    compiled: _Compiled | None = None
    lowerings: int = 0  # how many times the model was re-lowered (for tests and timing)


def enable(model: torch.nn.Module, bits: int = 8, max_clip: float = DEFAULT_MAX_CLIP) -> None:
    """Make ``model``'s forward the exported ``bits``-bit network (in place; idempotent)."""
    check_bits(bits)
    if not 0 <= max_clip < 1:
        raise InputError(f"--max-clip must be a fraction in [0, 1), got {max_clip!r}")
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise UnsupportedLayerError(f"{type(model).__name__} has no model config: it cannot be lowered")
    state = getattr(model, "qat", None)
    if isinstance(state, QatState) and (state.bits, state.max_clip) == (bits, max_clip):
        return
    model.qat = QatState(bits, max_clip, stage_shapes(model, cfg))
    try:
        _current(model)  # refuses a model export would refuse, here rather than in the first step
    except Exception:
        disable(model)
        raise
    model.forward = types.MethodType(_forward, model)


def disable(model: torch.nn.Module) -> None:
    """Back to the float forward."""
    model.__dict__.pop("forward", None)
    model.__dict__.pop("qat", None)


def is_enabled(model: torch.nn.Module) -> bool:
    return isinstance(getattr(model, "qat", None), QatState)


def network(model: torch.nn.Module) -> ir.Network:
    """The IR network the quantisation-aware forward runs now (what export would write)."""
    return _current(model).net


def _clamp_neurons(model: torch.nn.Module) -> None:
    """Keep learnable neuron parameters in range, as the float forward does every step. Through
    ``.data``: a clamp is no parameter change of its own (the step that left the range was), so it
    must not invalidate the lowering cache."""
    for m in model.modules():
        if isinstance(m, asnn.Neuron) and m.requires_grad:
            m.leak.data.clamp_(0.0, 1.0)
            m.gain.data.clamp_(-lim.ASNN_GAIN_LIMIT, lim.ASNN_GAIN_LIMIT)
        elif isinstance(m, slayer.neuron.cuba.Neuron) and m.requires_grad:
            m.clamp()


def _current(model: torch.nn.Module) -> _Compiled:
    state: QatState = model.qat
    _clamp_neurons(model)
    tensors = list(model.parameters()) + list(model.buffers())
    key = tuple((t._version, t.data_ptr(), t.dtype) for t in tensors)
    if state.compiled is None or state.compiled.key != key:
        lowering = lower_stages(model, model.cfg, state.shapes, state.bits, state.max_clip)
        state.compiled = _Compiled(key, lowering.network(), lowering)
        state.lowerings += 1
    return state.compiled


# ------------------------------------------------------------------------------------ forward
def _forward(self: torch.nn.Module, x: torch.Tensor, record: bool = False):
    """(N, C, H, W, T) frames -> readout scores / 4096 (N, classes); with ``record``, also every
    IR layer's output (N, *shape, T) but the last."""
    compiled = _current(self)
    outs = run_network(compiled, x, self.cfg.encoding)
    out = outs[-1]
    return (out, [o.movedim(1, -1) for o in outs[:-1]]) if record else out


def run_network(compiled: _Compiled, x: torch.Tensor, encoding: str) -> list[torch.Tensor]:
    """Every IR layer's output, (N, T, *shape) (the readout: (N, classes), scores / 4096)."""
    net = compiled.net
    spikes, graded = input_streams(x, encoding, net.timesteps)
    streams = {ir.Stream.SPIKES: spikes, ir.Stream.GRADED: graded}
    streams = {k: None if v is None else v.to(x.dtype) for k, v in streams.items()}
    outs: list[torch.Tensor] = []
    for i, layer in enumerate(net.layers):
        origin = compiled.lowering.layer_origins[i]
        for p in layer.paths:
            if not ir.is_input(p.source) and p.source >= i:
                raise UnsupportedLayerError(f"layer '{layer.name}': recurrent paths have no quantisation-aware form")
        sources = [streams[p.source] if ir.is_input(p.source) else outs[p.source] for p in layer.paths]
        pool = ir.or_pool(layer)
        if pool is not None:
            outs.append(_or_layer(layer, pool, sources[0]))
            continue
        accs = [_synapse(compiled, p, layer, src, x.dtype) for p, src in zip(layer.paths, sources)]
        rule = _LAYER_RULES.get(layer.neuron.kind)
        if rule is None:
            raise UnsupportedLayerError(f"layer '{layer.name}': {layer.neuron.kind} neurons have no "
                                        "quantisation-aware form")
        outs.append(rule(layer, origin, accs))
    return outs


def _or_layer(layer: ir.Layer, p: ir.Path, x: torch.Tensor) -> torch.Tensor:
    """A pool or relay (OR of binary spikes): max-pooling where the window tiles the map (the
    executor's shortcut, and the float model's spike max-pool gradient), else conv(x) > 0."""
    n, steps = x.shape[:2]
    flat = x.reshape(n * steps, *x.shape[2:])
    if p.kernel == p.stride and p.padding == (0, 0) and p.dilation == (1, 1) and p.groups == flat.shape[1] \
            and np.asarray(p.weight).shape[1] == 1:
        out = F.max_pool2d(flat, p.kernel, p.stride)
    else:
        w = torch.as_tensor(np.asarray(p.weight), dtype=flat.dtype, device=flat.device)
        acc = F.conv2d(flat, w, stride=p.stride, padding=p.padding, dilation=p.dilation, groups=p.groups)
        out = straight_through(acc, acc.detach() > 0)
    return out.reshape(n, steps, *layer.shape)


# ------------------------------------------------------------------------------------ synapses
@dataclass
class _Acc:
    """One path's synaptic sums over all steps: exact (int64) and differentiable (same values where
    nothing is clamped); bias and exponent of the path."""

    exact: torch.Tensor      # (N, T, *shape) int64, as the executor computes it
    value: torch.Tensor      # (N, T, *shape) float, differentiable w.r.t. weights and inputs
    bias_shadow: torch.Tensor  # float bias in accumulator units, broadcastable to *shape
    exponent: int            # W ~= weight * 2**exponent


def _folded(origin: PathOrigin, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable (W', b') of ``deploy.lower.fold_bn`` (BN statistics frozen)."""
    w = synapse_weight(origin.synapse).to(device=like.device, dtype=like.dtype)
    out = w.shape[0]
    if origin.bn is not None:
        bn = origin.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        b = bn.bias - scale * bn.running_mean
        w = w * scale.reshape(out, *([1] * (w.dim() - 1))).to(like.dtype)
    else:
        b = torch.zeros(out, dtype=like.dtype, device=like.device)
    if origin.bias is not None:
        b = origin.bias
    if origin.graded:
        w = w / fx.GRADED_LEVELS
    return w, b.to(device=like.device, dtype=like.dtype)


def _int_tensors(compiled: _Compiled, p: ir.Path, device) -> tuple[torch.Tensor, torch.Tensor]:
    if id(p) not in compiled.tensors:
        bias = np.zeros(1, np.int64) if p.bias is None else np.asarray(p.bias, np.int64)
        compiled.tensors[id(p)] = (torch.as_tensor(np.asarray(p.weight, np.int64), device=device),
                                   torch.as_tensor(bias, device=device))
    return compiled.tensors[id(p)]


def _synapse(compiled: _Compiled, p: ir.Path, layer: ir.Layer, x: torch.Tensor, dtype: torch.dtype) -> _Acc:
    """Integer synaptic sums of path ``p`` on source activity x (N, T, *src), with gradients."""
    n, steps = x.shape[:2]
    origin = compiled.lowering.origins[id(p)]
    weight_q, bias_q = _int_tensors(compiled, p, x.device)
    w_float, b_float = _folded(origin, x)
    scale = 2.0 ** -p.grid.exponent
    exact_f32 = fx.sums_exact_in_float32(np.asarray(p.weight), p.graded or p.source == ir.Stream.GRADED)
    work = torch.float32 if exact_f32 and dtype == torch.float32 else torch.float64
    w = straight_through((w_float * scale).to(work), weight_q)  # integer values, float gradient
    flat = x.reshape(n * steps, *x.shape[2:]).to(work)
    if p.kind == "dense":
        acc = flat.reshape(n * steps, -1) @ w.T
        exact = acc.detach().round().to(torch.int64)  # integers already (exact sums); round guards
    else:                                               # against a device's inexact algorithms
        acc = F.conv2d(flat, w, stride=p.stride, padding=p.padding, dilation=p.dilation, groups=p.groups)
        exact = acc.detach().round().clamp(-lim.CONV_CLAMP, lim.CONV_CLAMP).to(torch.int64)
    shape = (n, steps, *layer.shape)
    bias_shadow = straight_through(b_float * scale, bias_q.to(b_float.dtype)) if p.bias is not None \
        else torch.zeros_like(b_float)
    return _Acc(exact.reshape(shape), acc.to(dtype).reshape(shape), _per_neuron(bias_shadow, layer.shape),
                p.grid.exponent)


def _per_neuron(bias: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A per-channel (or single, or per-neuron) bias broadcastable to ``shape`` (as ir.summed_bias)."""
    if bias.numel() == 1:
        return bias.reshape(())
    if bias.numel() == int(np.prod(shape)):
        return bias.reshape(shape)
    return bias.reshape(-1, *([1] * (len(shape) - 1)))


def _shadow_current(layer: ir.Layer, accs: list[_Acc], masked: bool) -> torch.Tensor:
    """The float input current (N, T, *shape) in the neuron's real units: sum over paths of
    (acc + bias) * 2**exponent, each path only at the steps its mask lets through."""
    total = None
    for p, a in zip(layer.paths, accs):
        cur = (a.value + a.bias_shadow) * 2.0 ** a.exponent
        if masked and p.mask is not None:
            mask = torch.tensor(p.mask, dtype=cur.dtype, device=cur.device)
            cur = cur * mask.reshape(1, -1, *([1] * len(layer.shape)))
        total = cur if total is None else total + cur
    return total


def _port_sums(layer: ir.Layer, accs: list[_Acc]) -> dict[str, tuple]:
    """Per neuron port: (summed exact sums (N, T, *shape), summed int bias (*shape), shift, mask)."""
    out = {}
    for name, paths in layer.port_groups().items():
        if not paths:
            continue
        exact = sum(accs[layer.paths.index(p)].exact for p in paths)
        bias = torch.as_tensor(ir.summed_bias(paths, layer.shape), device=exact.device)
        out[name] = (exact, bias, paths[0].shift, paths[0].mask)
    return out


# ------------------------------------------------------------------------------------- neurons
def _schedule(param: torch.Tensor, exact: tuple[int, ...]) -> torch.Tensor:
    """A float schedule parameter with the deployed 12-bit values (straight-through)."""
    steps = len(exact)
    value = param.expand(steps) if param.numel() == 1 else param
    return straight_through(value, torch.tensor(exact, dtype=torch.float64) / lim.DECAY_ONE)


@torch.no_grad()
def _asnn_exact(layer: ir.Layer, accs: list[_Acc]) -> tuple[torch.Tensor, torch.Tensor]:
    """The executor's ASNN steps on the exact sums: (spikes (N, T, *shape) int64, final state);
    a readout does not fire."""
    neuron: ir.AdaptiveNeuron = layer.neuron
    ports = _port_sums(layer, accs)
    exact = accs[0].exact
    n, steps = exact.shape[:2]
    spikes = torch.zeros(exact.shape, dtype=torch.int64, device=exact.device)
    u = torch.zeros((n, *layer.shape), dtype=torch.int64, device=exact.device)
    for t in range(steps):
        k = t % neuron.period
        current = torch.zeros_like(u)
        for acc, bias, shift, mask in ports.values():
            if mask is None or mask[k]:
                current = current + fx.asnn_input(acc[:, t], bias, int(neuron.gain[k]), shift)
        u = fx.asnn_update(u, current, int(neuron.leak[k]))
        if not neuron.readout:
            spikes[:, t], u = fx.asnn_fire(u, neuron.threshold)
    return spikes, u


def _asnn_layer(layer: ir.Layer, origin: LayerOrigin, accs: list[_Acc]) -> torch.Tensor:
    """Exact ASNN spikes, shadowed by the float ASNN kernel (surrogate gradient) on the float
    current with the deployed 12-bit leak and gain."""
    neuron: ir.AdaptiveNeuron = layer.neuron
    spikes, _ = _asnn_exact(layer, accs)
    module = origin.neuron
    if not isinstance(module, asnn.Neuron) or neuron.period != spikes.shape[1]:
        raise UnsupportedLayerError(f"layer '{layer.name}': no float ASNN neuron to take gradients from")
    current = _shadow_current(layer, accs, masked=True).movedim(1, -1)
    leak = _schedule(module.leak, neuron.leak).to(current.dtype)
    gain = _schedule(module.gain, neuron.gain).to(current.dtype)
    shadow = asnn.asnn_dynamics(current, leak, gain, neuron.threshold / lim.STATE_ONE, module.alpha)
    return straight_through(shadow.movedim(-1, 1), spikes)


def _readout_layer(layer: ir.Layer, origin: LayerOrigin, accs: list[_Acc]) -> torch.Tensor:
    """The integrator's final state / 4096, shadowed by sum_t g[t] (acc_t + b) 2**e (leak 1)."""
    neuron: ir.AdaptiveNeuron = layer.neuron
    steps = accs[0].exact.shape[1]
    if not isinstance(origin.neuron, Readout) or any(v != lim.DECAY_ONE for v in neuron.leak):
        raise UnsupportedLayerError(f"layer '{layer.name}': only the Readout integrator has a quantisation-aware form")
    _, u = _asnn_exact(layer, accs)
    current = _shadow_current(layer, accs, masked=True)
    gain = _schedule(origin.neuron.step_weight / steps, neuron.gain).to(current.dtype)
    shadow = (current * gain.reshape(1, -1, *([1] * len(layer.shape)))).sum(1)
    return straight_through(shadow, u.to(torch.float64) / lim.STATE_ONE)


def _cuba_layer(layer: ir.Layer, origin: LayerOrigin, accs: list[_Acc]) -> torch.Tensor:
    """Lava's LIF on the summed synaptic input (all paths, every step, as the executor), shadowed
    by the SLAYER CUBA neuron's own float dynamics and surrogate gradient."""
    neuron: ir.CubaNeuron = layer.neuron
    acc = sum(a.exact for a in accs)
    n, steps = acc.shape[:2]
    bias = torch.as_tensor(ir.summed_bias(layer.paths, layer.shape), device=acc.device) << lim.LIF_ACT_SHIFT
    spikes = torch.zeros(acc.shape, dtype=torch.int64, device=acc.device)
    with torch.no_grad():
        u = torch.zeros((n, *layer.shape), dtype=torch.int64, device=acc.device)
        v = torch.zeros_like(u)
        for t in range(steps):
            s, u, v = fx.lif_step(u, v, acc[:, t], neuron.du, neuron.dv, bias, neuron.vth_mant)
            spikes[:, t] = s
    module = origin.neuron
    if not isinstance(module, slayer.neuron.cuba.Neuron):
        raise UnsupportedLayerError(f"layer '{layer.name}': no float CUBA neuron to take gradients from")
    current = _shadow_current(layer, accs, masked=False).movedim(1, -1)
    shadow = _cuba_shadow(module, current)
    return straight_through(shadow.movedim(-1, 1), spikes)


def _adaptive_layer(layer: ir.Layer, origin: LayerOrigin, accs: list[_Acc]) -> torch.Tensor:
    """An ASNN layer: the spiking neuron, or the readout integrator."""
    return (_readout_layer if layer.neuron.readout else _asnn_layer)(layer, origin, accs)


_LAYER_RULES = {"CUBA": _cuba_layer, "ASNN": _adaptive_layer}  # neuron kind -> its quantisation-aware layer


def _cuba_shadow(neuron, current: torch.Tensor) -> torch.Tensor:
    """The SLAYER CUBA neuron's float spikes for an already normalised input current (its
    dynamics and spike function without its norm)."""
    li = slayer.neuron.dynamics.leaky_integrator
    quantize = slayer.utils.quantize
    zeros = torch.zeros(current.shape[:-1], dtype=current.dtype, device=current.device)
    cur = li.dynamics(current, quantize(neuron.current_decay), zeros, neuron.s_scale)
    voltage = li.dynamics(cur, quantize(neuron.voltage_decay), zeros, neuron.s_scale,
                          neuron.threshold + neuron.threshold_eps)
    return slayer.spike.Spike.apply(voltage, neuron.threshold + neuron.threshold_eps,
                                    neuron.tau_rho * slayer.neuron.cuba.TAU_RHO_MULT,
                                    neuron.scale_rho * slayer.neuron.cuba.SCALE_RHO_MULT, False, zeros, 1)


# -------------------------------------------------------------------------------- fine-tuning
def qat_finetune(name: str, epochs: int, *, workdir: str | Path = "netx_exports", weight_bits: int = 8,
                 max_clip: float = DEFAULT_MAX_CLIP, lr_scale: float = 0.2, progress: bool = True) -> str:
    """Fine-tune ``name`` quantisation-aware into ``name-qat`` and export it; returns the new name."""
    if epochs < 1:
        raise InputError(f"--qat must be >= 1 epoch, got {epochs}")
    state = load_checkpoint(Path(workdir) / name / "checkpoint.pt")
    base = TrainConfig(**state["train_config"])
    new = f"{name}-qat"
    cfg = TrainConfig(**{**asdict(base), "name": new, "epochs": epochs, "lr": base.lr * lr_scale,
                         "workdir": str(workdir), "init_from": name, "qat_bits": weight_bits})
    train(cfg, show_progress=progress, prepare=lambda model: enable(model, weight_bits, max_clip))
    export(new, workdir=workdir, weight_bits=weight_bits, max_clip=max_clip)
    return new
