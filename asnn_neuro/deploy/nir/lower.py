"""Lower an imported NIR float graph to the chip IR (``ir.Network``) in Loihi fixed point.

Each neuron node becomes one IR layer; the synapse nodes between two neuron nodes (Affine,
Linear, Conv2d, SumPool2d, AvgPool2d, Scale, Flatten) become one path into it. The neuron's
per-step input gain (dt r / tau, and the synaptic gain of Cuba models) is folded into that path's
weights, its leak drive (dt v_leak / tau) and the path bias into the layer bias. Neurons that reset
to ``v_reset`` become Loihi's CUBA neuron (Lava LIF: current decay 4096 when the model has no
synaptic current); neurons that reset by subtraction become our ASNN neuron with a constant
leak (its soft reset), or, with a synaptic current (a subtract-reset ``CubaLIF``, Rockpool's
form), the CUBA_SUB neuron kind; non-spiking LI / I nodes become the ASNN readout integrator, a
``CubaLI`` (with its synaptic current) the CUBA_LI kind, whose voltage is the output every step. Weights are
quantised as our own models are (``deploy.quantize``), and the same range checks apply.

Delays and recurrent edges are kept in the float graph (the float executor runs them). On the chip
path a neuron's own recurrent edge through a dense synapse deploys as NetX ``dense_rec`` (one
dense forward input + the recurrent weights); other recurrent edges are refused. A Delay after a
neuron node deploys as that layer's NetX ``delay`` (its synaptic input arrives late, per neuron):
the same spikes, only later, when the layer is a CUBA neuron with no bias, no recurrent path,
and every reader of it (the Output included) sees the same delay; anything else is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
from asnn_neuro.chip.neurons.cuba_li import CubaIntegratorNeuron
from asnn_neuro.chip.neurons.cuba_sub import SubtractiveCubaNeuron
from asnn_neuro.deploy.nir.discrete import Discrete, discretize
from asnn_neuro.deploy.nir.read import FloatGraph, Op
from asnn_neuro.deploy.quantize import (
    DEFAULT_MAX_CLIP,
    QuantizedWeights,
    quantize_bias,
    quantize_fraction,
    quantize_weights,
)
from asnn_neuro.errors import UnsupportedLayerError

MAX_DENSE_WEIGHTS = 20_000_000  # a synapse chain lowered to a dense matrix may not exceed this


class ChipRefusal(UnsupportedLayerError):
    """The graph runs in the float executor but not on the chip path (the reason names the node)."""


@dataclass
class Lowered:
    """The chip network (or why there is none), what each NIR node became, and the approximations."""

    net: ir.Network | None
    refused: str | None = None
    nodes: list[dict] = field(default_factory=list)
    approximations: list[str] = field(default_factory=list)


@dataclass
class _Chain:
    source: Op                      # a neuron op, or the Input op
    ops: list[Op]                   # synapse ops from the source to the neuron, in order
    delay: np.ndarray | None = None  # a Delay right after the source (steps per source neuron)
    recurrent: bool = False


def _uniform(values: np.ndarray, what: str, op: Op) -> float:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size and np.ptp(v) > 1e-9 * max(1.0, float(np.abs(v).max())):
        raise ChipRefusal(f"node '{op.name}' ({op.kind}): its neurons have different {what} "
                          f"({v.min():.6g}..{v.max():.6g}); Loihi shares one per layer")
    return float(v[0]) if v.size else 0.0


def _trace(fg: FloatGraph, target: Op, start: str, dt: float) -> _Chain:
    ops: list[Op] = []
    delay = None
    x = fg.op(start)
    while not x.is_neuron and x.kind != "Input":
        fwd = [s for s in x.inputs if s not in x.recurrent]
        if len(fwd) != 1 or x.recurrent:
            raise ChipRefusal(f"node '{x.name}' ({x.kind}) sums {len(x.inputs)} inputs before a neuron; the chip "
                              "path sums only at neurons")
        if x.kind == "Delay":
            src = fg.op(fwd[0])
            if not (src.is_neuron or src.kind == "Input"):
                raise ChipRefusal(f"node '{x.name}' (Delay) follows a synapse; only a delay of a neuron's output "
                                  "(axonal delay) maps to the chip")
            delay = np.rint(x.params["delay"] / dt).astype(np.int64)
        else:
            ops.insert(0, x)
        x = fg.op(fwd[0])
    return _Chain(source=x, ops=ops, delay=delay, recurrent=start in target.recurrent)


def _float_chain(ops: list[Op], x: torch.Tensor) -> torch.Tensor:
    """Apply synapse ops in float64 (to probe a chain that has no single conv/dense form)."""
    for op in ops:
        p = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in op.params.items()}
        n = x.shape[0]
        if op.kind in ("Affine", "Linear"):
            x = F.linear(x.reshape(n, -1), p["weight"], p.get("bias"))
        elif op.kind == "Conv2d":
            x = F.conv2d(x, p["weight"], p.get("bias"), stride=_pair(op, "stride"), padding=_pair(op, "padding", 0),
                         dilation=_pair(op, "dilation"), groups=int(op.params["groups"].reshape(-1)[0]))
        elif op.kind == "SumPool2d":
            x = F.avg_pool2d(x, _pair(op, "kernel_size"), _pair(op, "stride"), _pair(op, "padding", 0),
                             divisor_override=1)
        elif op.kind == "AvgPool2d":
            x = F.avg_pool2d(x, _pair(op, "kernel_size"), _pair(op, "stride"), _pair(op, "padding", 0))
        elif op.kind == "Flatten":
            x = x.reshape(n, -1)
        elif op.kind == "Scale":
            x = x.reshape(n, *op.shape) * p["scale"]
    return x


def _pair(op: Op, key: str, default: int = 1) -> tuple[int, int]:
    v = op.params.get(key)
    if v is None:
        return (default, default)
    v = np.asarray(v).reshape(-1)
    return (int(v[0]), int(v[0])) if v.size == 1 else (int(v[0]), int(v[1]))


def _path(chain: _Chain, src_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[dict, np.ndarray]:
    """(path geometry with float 'weight', float bias per output neuron) of a synapse chain."""
    core = [o for o in chain.ops if o.kind != "Flatten"]
    n_out = int(np.prod(out_shape))
    if len(core) == 1 and core[0].kind == "Conv2d" and len(out_shape) == 3:
        op = core[0]
        bias = np.broadcast_to(op.params.get("bias", np.zeros(1)).reshape(-1, 1), (out_shape[0], n_out // out_shape[0]))
        w = op.params["weight"]
        return ({"kind": "conv", "weight": w, "kernel": tuple(w.shape[2:]), "stride": _pair(op, "stride"),
                 "padding": _pair(op, "padding", 0), "dilation": _pair(op, "dilation"),
                 "groups": int(op.params["groups"].reshape(-1)[0])}, bias.reshape(-1).copy())
    if len(core) == 1 and core[0].kind in ("SumPool2d", "AvgPool2d") and len(out_shape) == 3:
        op = core[0]
        k = _pair(op, "kernel_size")
        value = 1.0 if op.kind == "SumPool2d" else 1.0 / (k[0] * k[1])
        w = np.full((src_shape[0], 1, *k), value)
        return ({"kind": "conv", "weight": w, "kernel": k, "stride": _pair(op, "stride"),
                 "padding": _pair(op, "padding", 0), "dilation": (1, 1), "groups": src_shape[0]}, np.zeros(n_out))
    if len(core) == 1 and core[0].kind in ("Affine", "Linear"):
        op = core[0]
        b = op.params.get("bias", np.zeros(1)).reshape(-1)
        return {"kind": "dense", "weight": op.params["weight"]}, np.broadcast_to(b, (n_out,)).copy()
    n_in = int(np.prod(src_shape))
    if n_in * n_out > MAX_DENSE_WEIGHTS:
        kinds = " -> ".join(o.kind for o in chain.ops) or "identity"
        raise ChipRefusal(f"synapse chain {kinds} from '{chain.source.name}' cannot be lowered: as a dense matrix "
                          f"it would hold {n_in * n_out} weights")
    with torch.no_grad():
        zero = _float_chain(chain.ops, torch.zeros(1, *src_shape, dtype=torch.float64)).reshape(-1)
        basis = _float_chain(chain.ops, torch.eye(n_in, dtype=torch.float64).reshape(n_in, *src_shape))
    w = (basis.reshape(n_in, -1) - zero).T.numpy()
    if w.shape != (n_out, n_in):
        raise ChipRefusal(f"synapse chain into a layer of {n_out} neurons gives {w.shape[0]} outputs")
    return {"kind": "dense", "weight": w}, zero.numpy()


def _chip_integers(w: np.ndarray) -> bool:
    """Weights that already are Loihi integers (e.g. a network we exported): kept exactly, exponent 0."""
    w = np.asarray(w, dtype=np.float64)
    return bool(w.size and np.all(w == np.rint(w)) and w.min() >= -256 and w.max() <= 254
                and (np.abs(w).max() <= 127 or not np.any(np.rint(w) % 2)))


def _scale_rows(geom: dict, gain: np.ndarray, shape: tuple[int, ...], op: Op) -> None:
    """Fold a per-neuron input gain into a path's weights (conv: one gain per channel)."""
    w = geom["weight"]
    if geom["kind"] == "dense":
        geom["weight"] = w * gain.reshape(-1, 1)
        return
    per_channel = gain.reshape(shape[0], -1)
    for c in range(shape[0]):
        _uniform(per_channel[c], "input gains within a channel", op)
    geom["weight"] = w * per_channel[:, 0].reshape(-1, 1, 1, 1)


class _Builder:
    def __init__(self, fg: FloatGraph, timesteps: int, weight_bits: int, max_clip: float):
        self.fg = fg
        self.T = timesteps
        self.bits = weight_bits
        self.max_clip = max_clip
        self.out = Lowered(net=None)
        self.index: dict[str, int] = {}
        self.layers: list[ir.Layer] = []
        self.delays: dict[int, np.ndarray] = {}
        self.reads: dict[str, list[np.ndarray | None]] = {}  # neuron -> the delay each reader sees

    def note(self, text: str) -> None:
        if text not in self.out.approximations:
            self.out.approximations.append(text)

    def build(self) -> ir.Network:
        neurons = self.fg.neurons
        if not neurons:
            raise ChipRefusal("the graph has no neuron node")
        if self.fg.convention.spikes == "multi":
            raise ChipRefusal(f"{self.fg.convention.name} neurons send several spikes per step (floor(v / v_th)) and "
                              "reset by subtraction from a synaptic current; no chip neuron kind runs that yet")
        for i, op in enumerate(neurons):
            self.index[op.name] = i
        for op in neurons:
            self.layers.append(self.layer(op))
        out_src = self.fg.op(self.fg.output)
        while not out_src.is_neuron and out_src.inputs:
            out_src = self.fg.op(out_src.inputs[0])
        if out_src.name != neurons[-1].name:
            raise ChipRefusal(f"the output node reads '{out_src.name}', not the last neuron node")
        for i, delay in self.delays.items():
            self.check_delay(neurons[i], self.layers[i], delay, out_src.name == neurons[i].name)
            self.layers[i].delay = delay.reshape(self.layers[i].shape)
        return ir.Network(input=ir.InputSpec(shape=tuple(self.fg.input_shape)), layers=self.layers,
                          timesteps=self.T, meta={"model": "nir", "source": self.fg.convention.name,
                                                  "dt": self.fg.convention.dt})

    def chains(self, op: Op) -> list[_Chain]:
        chains = [_trace(self.fg, op, s, self.fg.convention.dt) for s in op.inputs]
        chains.sort(key=lambda c: c.recurrent)  # forward paths first: the recurrent one is NetX's weight_rec
        recurrent = [c for c in chains if c.recurrent]
        if recurrent and (len(chains) != 2 or len(recurrent) != 1 or recurrent[0].source is not op):
            raise ChipRefusal(f"node '{op.name}' ({op.kind}) has {len(recurrent)} recurrent and "
                              f"{len(chains) - len(recurrent)} forward inputs; the chip path runs one forward input "
                              "plus the neuron's own spikes of the previous step (NetX dense_rec)")
        for c in chains:
            if not c.recurrent:
                self.reads.setdefault(c.source.name, []).append(c.delay)
            if c.delay is not None and np.any(c.delay):
                src = self.index.get(c.source.name)
                if src is None:
                    raise ChipRefusal(f"a Delay on the input before '{op.name}' has no neuron to carry it")
                self.delays[src] = c.delay.reshape(-1)  # check_delay: every reader must see this one
        return chains

    def check_delay(self, op: Op, layer: ir.Layer, delay: np.ndarray, is_output: bool) -> None:
        """A NIR Delay delays a neuron's output; the chip delays the layer's input (NetX ``delay``).
        Equal when the neuron is shift-invariant (no bias, no recurrent path, CUBA) and every reader
        sees the same delay."""
        where = f"a Delay after '{op.name}' ({op.kind})"
        if is_output or any(d is None or not np.array_equal(d.reshape(-1), delay) for d in self.reads[op.name]):
            raise ChipRefusal(f"{where}: some reader of '{op.name}' (another node or the Output) sees it "
                              "undelayed or delayed differently; the chip delays the layer itself")
        if not registry.of(layer.neuron).delay or any(p.source == self.index[op.name] for p in layer.paths):
            raise ChipRefusal(f"{where}: only a CUBA layer without recurrent path takes a delay on the chip")
        if np.any(ir.summed_bias(layer.paths, layer.shape)):
            raise ChipRefusal(f"{where}: the node has a bias (or v_leak drive), so delaying its input is not "
                              "delaying its output")
        if delay.min() < 0 or delay.max() > lim.AXON_DELAY_MAX:
            raise ChipRefusal(f"{where}: {int(delay.max())} steps; the chip's delays are 0..{lim.AXON_DELAY_MAX}")

    def layer(self, op: Op) -> ir.Layer:
        d = discretize(op, self.fg.convention)
        chains = self.chains(op)
        conv = self.fg.convention
        in_gain = d.gain * (d.syn_gain if d.syn_gain is not None else 1.0)
        geoms, bias_v = [], np.zeros(int(np.prod(op.shape)))
        for c in chains:
            src_shape = tuple(self.fg.input_shape) if c.source.kind == "Input" else c.source.shape
            geom, b = _path(c, src_shape, op.shape)
            if c.recurrent and (geom["kind"] != "dense" or geoms[0]["kind"] != "dense" or c.delay is not None):
                raise ChipRefusal(f"node '{op.name}' ({op.kind}): a recurrent input deploys as NetX dense_rec, "
                                  "a dense forward path plus dense recurrent weights without delay; this one "
                                  f"is {geoms[0]['kind']} + {geom['kind']}")
            _scale_rows(geom, in_gain, op.shape, op)
            geom["source"] = ir.Stream.SPIKES if c.source.kind == "Input" else self.index[c.source.name]
            geoms.append(geom)
            bias_v += b * in_gain.reshape(-1)
            self.record(c, op)
        alpha = _uniform(d.alpha, "current decays", op) if d.alpha is not None else 0.0
        if alpha and np.any(bias_v):
            bias_v = bias_v / (1.0 - alpha)
            self.note(f"node '{op.name}' ({op.kind}): a bias entering the synaptic current is applied to the "
                      "voltage at its steady-state value b / (1 - alpha) (Loihi adds the bias to the voltage)")
        beta = _uniform(d.beta, "voltage decays", op)
        drive = d.drive.reshape(-1).copy()
        thr = None if d.threshold is None else _uniform(d.threshold, "thresholds", op)
        if d.v_reset is not None and np.any(d.v_reset):
            v_reset = _uniform(d.v_reset, "reset potentials", op)
            thr -= v_reset
            drive -= (1.0 - beta) * v_reset
            if d.v0 is None or not np.allclose(d.v0, v_reset):  # exact where the library starts at v_reset
                self.note(f"node '{op.name}' ({op.kind}): v_reset {v_reset:g} is moved to 0 (threshold and leak "
                          f"shifted); the state starts at v_reset instead of {conv.name}'s 0")
        elif d.v0 is not None:
            self.note(f"node '{op.name}' ({op.kind}): the state starts at 0 instead of {conv.name}'s "
                      f"{float(np.max(np.abs(d.v0))):g} (v_leak)")
        bias_v += drive
        row = {"node": op.name, "type": op.kind, "ir": f"layer {len(self.layers)} '{op.name}'"}
        if op.kind == "Threshold" or (thr is not None and conv.reset == "zero"):
            neuron, paths = self.cuba(op, geoms, bias_v, beta, alpha, thr, d)
            row["neuron"] = "CUBA (Lava LIF)"
            if conv.fire == ">=":
                self.note(f"{conv.name} fires at v >= threshold; Loihi's CUBA fires at v > threshold")
        elif alpha and (thr is None or conv.reset == "subtract"):
            # a synaptic current: Loihi's CUBA current and voltage, reset by subtraction or no spike at all
            neuron, paths = self.cuba(op, geoms, bias_v, beta, alpha, 0.0 if thr is None else thr, d)
            if thr is None:
                neuron = CubaIntegratorNeuron(i_decay=neuron.i_decay, v_decay=neuron.v_decay)
                row["neuron"] = "CUBA_LI (CUBA integrator, sends its voltage)"
            else:
                neuron = SubtractiveCubaNeuron(i_decay=neuron.i_decay, v_decay=neuron.v_decay, vth_mant=neuron.vth_mant)
                row["neuron"] = "CUBA_SUB (CUBA, subtractive reset)"
                if conv.fire == ">=":
                    self.note(f"{conv.name} fires at v >= threshold; the CUBA_SUB neuron fires at v > threshold")
        else:
            if alpha:
                raise ChipRefusal(f"node '{op.name}' ({op.kind}) with a synaptic current and "
                                  f"{'no spikes' if thr is None else 'subtractive reset'} has no chip neuron "
                                  "(the ASNN neuron has one state)")
            neuron, paths = self.asnn(op, geoms, bias_v, beta, thr)
            row["neuron"] = "ASNN readout (integrator)" if thr is None else "ASNN (constant leak, soft reset)"
            if thr is not None and conv.fire == ">":
                self.note(f"{conv.name} fires at v > threshold; the ASNN neuron fires at v >= threshold")
            if conv.reset == "subtract-delayed" and thr is not None:
                row["reset"] = (f"{conv.name} subtracts the threshold one step late from the undecayed voltage: "
                                "exactly an ASNN neuron that subtracts threshold / beta at once")
        row["decays"] = {"beta": beta, "alpha": alpha}
        self.out.nodes.append(row)
        return ir.Layer(name=op.name, shape=tuple(op.shape), neuron=neuron, paths=paths)

    def record(self, c: _Chain, op: Op) -> None:
        for s in c.ops:
            what = "reshape only" if s.kind == "Flatten" else f"weights of a path into layer '{op.name}'"
            self.out.nodes.append({"node": s.name, "type": s.kind, "ir": what})

    def quantize(self, geoms: list[dict], min_exp: int | None = None) -> tuple[list, int]:
        if (min_exp is None or min_exp <= 0) and all(_chip_integers(g["weight"]) for g in geoms):
            return [QuantizedWeights(np.rint(g["weight"]).astype(np.int64), 0, lim.WEIGHT_BITS_MAX, 0.0, 1.0)
                    for g in geoms], 0
        qs = [quantize_weights(g["weight"], self.bits, self.max_clip, min_exponent=min_exp) for g in geoms]
        exp = max(q.exponent for q in qs)
        if any(q.exponent != exp for q in qs):
            qs = [quantize_weights(g["weight"], self.bits, self.max_clip, min_exponent=exp) for g in geoms]
            exp = max(q.exponent for q in qs)
        return qs, exp

    def make_paths(self, geoms: list[dict], qs: list, bias_int: np.ndarray, asnn: bool) -> list[ir.Path]:
        paths = []
        for k, (g, q) in enumerate(zip(geoms, qs)):
            extra = {key: g[key] for key in ("kernel", "stride", "padding", "dilation", "groups") if key in g}
            paths.append(ir.Path(source=g["source"], kind=g["kind"], weight=q.weight,
                                 bias=bias_int if k == 0 else None, shift=-q.exponent if asnn else 0,
                                 mask=(1,) * self.T if asnn else None, grid=ir.WeightGrid(q.exponent, q.bits),
                                 **extra))
        return paths

    def cuba(self, op, geoms, bias_v, beta, alpha, thr, d: Discrete):
        """Lava LIF: u <- u (1 - iDecay/4096) + acc, v <- v (1 - vDecay/4096) + u + bias, fire v > vth."""
        if thr is None or thr < 0:
            raise ChipRefusal(f"node '{op.name}' ({op.kind}): threshold {thr} must not be negative on Loihi")
        qs, exp = self.quantize(geoms)
        need = [exp, math.ceil(math.log2(thr / lim.LIF_VTH_MAX)) if thr > 0 else exp]
        top = float(np.abs(bias_v).max(initial=0))
        if top > 0:
            need.append(math.ceil(math.log2(top / lim.LIF_BIAS_MAX)))
        worst = sum(max(float(np.clip(g["weight"], 0, None).reshape(len(g["weight"]), -1).sum(1).max()),
                        float(np.clip(-g["weight"], 0, None).reshape(len(g["weight"]), -1).sum(1).max()))
                    for g in geoms)
        if worst > 0:
            need.append(math.ceil(math.log2(worst / lim.LIF_ACCUM_MAX)))
        if max(need) > exp:
            qs, exp = self.quantize(geoms, max(need))
        bias = quantize_bias(bias_v, exp)
        if np.abs(bias).max(initial=0) > lim.LIF_BIAS_MANT_MAX:
            bias = 2 * quantize_bias(bias_v, exp + 1)
        vth = int(round(thr / 2.0 ** exp))
        if not 0 <= vth <= lim.LIF_VTH_MAX:
            raise ChipRefusal(f"node '{op.name}' ({op.kind}): threshold mantissa {vth} outside Loihi's 17 bits")
        i_decay = lim.DECAY_ONE if op.kind == "Threshold" else int(round(lim.DECAY_ONE * (1.0 - alpha)))
        v_decay = lim.DECAY_ONE if op.kind == "Threshold" else int(round(lim.DECAY_ONE * (1.0 - beta)))
        if not (1 <= i_decay <= lim.DECAY_ONE and 0 <= v_decay <= lim.DECAY_ONE):
            raise ChipRefusal(f"node '{op.name}' ({op.kind}): decays (current {alpha:g}, voltage {beta:g}) outside "
                              "what Loihi's 12-bit decays express")
        return (ir.CubaNeuron(i_decay=i_decay, v_decay=v_decay, vth_mant=vth),
                self.make_paths(geoms, qs, bias, asnn=False))

    def asnn(self, op, geoms, bias_v, beta, thr):
        """ASNN neuron: u <- round(leak u) + round((acc + bias) gain 2**-shift), fire u >= threshold."""
        scale = float(lim.STATE_ONE)  # state units per 1.0 of the float voltage
        if thr is not None:
            if thr <= 0:
                raise ChipRefusal(f"node '{op.name}' ({op.kind}): threshold {thr} must be positive")
            scale = min(scale, (lim.STATE_LIMIT >> 1) / thr)
        qs, exp = self.quantize(geoms)
        bias = quantize_bias(bias_v, exp)
        leak = quantize_fraction([beta] * self.T, 0.0, 1.0)
        if abs(beta - leak[0] / lim.DECAY_ONE) > 0.5 / lim.DECAY_ONE + 1e-12:
            raise ChipRefusal(f"node '{op.name}' ({op.kind}): voltage decay {beta:g} outside [0, 1]")
        gain = int(round(scale))
        reset = None
        if thr is not None and self.fg.convention.reset == "subtract-delayed":
            # v_t = beta v_{t-1} + I_t - thr s_{t-1} is exactly the state before reset of a neuron that
            # subtracts thr / beta at once: w_t = v_t - (thr / beta) s_t gives v_t = beta w_{t-1} + I_t
            if beta <= 0:
                raise ChipRefusal(f"node '{op.name}' ({op.kind}): a delayed reset with no leak memory (beta 0)")
            reset = int(round(thr / beta * gain))
            if reset > lim.ASNN_THRESHOLD_MAX:
                raise ChipRefusal(f"node '{op.name}' ({op.kind}): reset {thr / beta:g} exceeds the 24-bit state")
        neuron = ir.AdaptiveNeuron(leak=leak, gain=(gain,) * self.T,
                                   threshold=lim.STATE_ONE if thr is None else int(round(thr * gain)),
                                   readout=thr is None, reset=reset)
        return neuron, self.make_paths(geoms, qs, bias, asnn=True)


def lower_graph(fg: FloatGraph, timesteps: int, weight_bits: int = 8,
                max_clip: float = DEFAULT_MAX_CLIP) -> Lowered:
    """The chip network of ``fg`` (or the reason there is none) with the node mapping."""
    b = _Builder(fg, timesteps, weight_bits, max_clip)
    try:
        b.out.net = b.build()
    except ChipRefusal as exc:
        b.out.net, b.out.refused = None, str(exc)
    mapped = {row["node"] for row in b.out.nodes}
    for op in fg.ops:
        if op.name not in mapped:
            what = {"Input": "input spikes (stream 'spikes')", "Output": "the last layer's output",
                    "Delay": "axonal delay of its source layer"}.get(op.kind, "not on the chip path")
            b.out.nodes.append({"node": op.name, "type": op.kind, "ir": what})
    return b.out
