"""Float executor of an imported NIR graph: the source library's own simulation, step by step.

Runs a ``deploy.nir.read.FloatGraph`` in float32 torch arithmetic with the source library's
conventions (reset, firing comparison, update form; see ``deploy.nir.read.CONVENTIONS``), so
that its spikes can be compared with the library's forward pass neuron by neuron. Recurrent
edges read the previous step's output; ``Delay`` nodes delay their input by round(delay / dt)
steps. Synapses use torch's own ops (``linear``, ``conv2d``, ``avg_pool2d``), as the libraries do.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro.backends.results import Counts, ExecResult
from asnn_neuro.deploy.nir.discrete import Discrete, discretize, unit_gain
from asnn_neuro.deploy.nir.read import FloatGraph, Op
from asnn_neuro.errors import InputError

DTYPE = torch.float32


def _t(a: np.ndarray | None) -> torch.Tensor | None:
    return None if a is None else torch.as_tensor(np.asarray(a, dtype=np.float64)).to(DTYPE)


def delay_steps(op: Op, dt: float) -> np.ndarray:
    """A Delay node's delays in whole steps (NIR gives them in the time unit of dt)."""
    return np.rint(op.params["delay"] / dt).astype(np.int64)


class FloatExecutor:
    """Build once per graph; ``run`` per batch of input frames (N, T, *input shape)."""

    def __init__(self, graph: FloatGraph):
        self.g = graph
        self.conv = graph.convention
        self.discrete: dict[str, dict[str, torch.Tensor | None]] = {}
        for op in graph.ops:
            if op.is_neuron:
                d: Discrete = discretize(op, self.conv)
                self.discrete[op.name] = {k: _t(getattr(d, k)) for k in d.__dataclass_fields__}
                self.discrete[op.name].update(_library_coefficients(op, self.conv))
        self.params = {op.name: {k: _t(v) for k, v in op.params.items()} for op in graph.ops}
        self.shapes = {op.name: op.shape for op in graph.ops}
        self.in_shapes = {op.name: next((self.shapes[s] for s in op.inputs if s not in op.recurrent), op.shape)
                          for op in graph.ops}
        self.extra = {op.name: {"r": _t(op.params.get("r", np.ones(op.shape))),
                                "v_leak": _t(op.params.get("v_leak", np.zeros(op.shape)))}
                      for op in graph.ops if op.is_neuron}
        self.neuron_ops = [op for op in graph.ops if op.is_neuron]

    @torch.no_grad()
    def run(self, frames: torch.Tensor, record: int = 0) -> ExecResult:
        """frames: (N, T, *input shape) input values (spikes 0/1 or currents).

        Returns scores (spike counts of a spiking output, else its last value), per-neuron-op
        counts, the output node's values at every step (N, T, neurons) and, for the first
        ``record`` samples, traces (N, T, neurons) of every neuron op."""
        x = torch.as_tensor(frames).to(DTYPE)
        if tuple(x.shape[2:]) != tuple(self.g.input_shape) and x[0, 0].numel() == int(np.prod(self.g.input_shape)):
            x = x.reshape(x.shape[0], x.shape[1], *self.g.input_shape)
        if tuple(x.shape[2:]) != tuple(self.g.input_shape):
            raise InputError(f"input frames of shape {tuple(x.shape[2:])}, the graph takes {self.g.input_shape}")
        n, steps = x.shape[0], x.shape[1]
        state: dict[str, dict[str, torch.Tensor]] = {}
        prev = self._before_first_step(n)
        traces = {op.name: torch.zeros(n, steps, int(np.prod(op.shape)), dtype=DTYPE) for op in self.neuron_ops}
        out_trace = torch.zeros(n, steps, int(np.prod(self.g.op(self.g.output).shape)), dtype=DTYPE)
        for t in range(steps):
            cur: dict[str, torch.Tensor] = {}
            for op in self.g.ops:
                if op.kind == "Input":
                    cur[op.name] = x[:, t]
                    continue
                total = None
                for src in op.inputs:
                    v = prev[src] if src in op.recurrent else cur[src]
                    total = v if total is None else total + v.reshape(total.shape)
                cur[op.name] = self._apply(op, total, state, t)
            prev = cur
            for op in self.neuron_ops:
                traces[op.name][:, t] = cur[op.name].reshape(n, -1)
            out_trace[:, t] = cur[self.g.output].reshape(n, -1)
        out_op = self._output_neuron()
        spiking = out_op is not None and out_op.spiking
        scores = out_trace.sum(1) if spiking else out_trace[:, -1]
        counts = [Counts(per_neuron=traces[o.name].sum((0, 1)).double().numpy(),
                         per_step=traces[o.name].sum((0, 2)).double().numpy(),
                         per_sample=traces[o.name].sum((1, 2)).double().tolist()) for o in self.neuron_ops]
        keep = min(record, n)
        return ExecResult(scores=scores.double().numpy(), layers=counts,
                          input_spikes=(x != 0).sum((0, 1)).reshape(-1).numpy().astype(np.int64),
                          input_graded=np.zeros(int(np.prod(self.g.input_shape)), dtype=np.int64),
                          traces=[traces[o.name][:keep].numpy() for o in self.neuron_ops] if keep else None,
                          output=out_trace.double().numpy())

    def _before_first_step(self, n: int) -> dict[str, torch.Tensor]:
        """Every op's output at step -1, as read by recurrent edges at step 0: neurons have not
        fired (a non-spiking one shows its starting voltage), synapses apply their bias to that
        (snnTorch's RLeaky adds its recurrent bias at step 0)."""
        prev: dict[str, torch.Tensor] = {}
        for op in self.g.ops:
            zero = torch.zeros(n, *op.shape, dtype=DTYPE)
            if op.is_neuron:
                v0 = self.discrete[op.name]["v0"]
                prev[op.name] = zero if op.spiking or v0 is None else zero + v0
            elif op.kind in ("Input", "Delay") or not op.inputs:
                prev[op.name] = zero
            else:
                total = None
                for src in op.inputs:
                    v = torch.zeros(n, *self.shapes[src], dtype=DTYPE) if src in op.recurrent else prev[src]
                    total = v if total is None else total + v.reshape(total.shape)
                prev[op.name] = self._apply(op, total, {}, 0).reshape(n, *op.shape)
        return prev

    def _output_neuron(self) -> Op | None:
        """The neuron op that feeds the output (through elementwise ops only), if any."""
        op = self.g.op(self.g.output)
        while op.inputs and not op.is_neuron:
            op = self.g.op(op.inputs[0])
        return op if op.is_neuron else None

    def _apply(self, op: Op, x: torch.Tensor, state: dict, t: int) -> torch.Tensor:
        p = self.params[op.name]
        n = x.shape[0]
        k = op.kind
        if k in ("Affine", "Linear"):
            return F.linear(x.reshape(n, -1), p["weight"], p.get("bias"))
        if k == "Conv2d":
            x = x.reshape(n, *self.in_shapes[op.name])
            return F.conv2d(x, p["weight"], p.get("bias"), stride=_pair(op, "stride", 1),
                            padding=_pair(op, "padding", 0), dilation=_pair(op, "dilation", 1),
                            groups=int(op.params.get("groups", np.array(1)).reshape(-1)[0]))
        if k in ("SumPool2d", "AvgPool2d"):
            x = x.reshape(n, *self.in_shapes[op.name])
        if k == "SumPool2d":
            return F.avg_pool2d(x, _pair(op, "kernel_size", 1), _pair(op, "stride", 1), _pair(op, "padding", 0),
                                divisor_override=1)
        if k == "AvgPool2d":
            return F.avg_pool2d(x, _pair(op, "kernel_size", 1), _pair(op, "stride", 1), _pair(op, "padding", 0))
        if k == "Flatten":
            return x.reshape(n, -1)
        if k == "Output":
            return x
        if k == "Scale":
            return x.reshape(n, *op.shape) * p["scale"]
        if k == "Delay":
            return self._delay(op, x.reshape(n, *op.shape), state, t)
        return self._neuron(op, x.reshape(n, *op.shape), state)

    def _delay(self, op: Op, x: torch.Tensor, state: dict, t: int) -> torch.Tensor:
        steps = delay_steps(op, self.conv.dt)
        d = torch.as_tensor(steps)
        depth = int(steps.max(initial=0)) + 1
        s = state.setdefault(op.name, {"buf": torch.zeros(depth, *x.shape, dtype=DTYPE)})
        buf = s["buf"]
        buf[t % depth] = x
        idx = (t - d) % depth
        out = torch.gather(buf.movedim(0, -1).reshape(x.shape[0], -1, depth), 2,
                           idx.reshape(1, -1, 1).expand(x.shape[0], -1, 1)).reshape(x.shape)
        return torch.where(torch.as_tensor(t >= d), out, torch.zeros_like(out))

    def _neuron(self, op: Op, x: torch.Tensor, state: dict) -> torch.Tensor:
        """One step of a neuron op, in the source library's own order of float32 operations."""
        d = self.discrete[op.name]
        c = self.conv
        if op.name not in state:
            v0 = torch.zeros_like(x) if d["v0"] is None else d["v0"].expand_as(x).clone()
            state[op.name] = {"v": v0, "i": torch.zeros_like(x), "spk": torch.zeros_like(x)}
        s = state[op.name]
        thr = d["threshold"]
        if op.kind == "Threshold":
            return ((x > thr) if c.fire == ">" else (x >= thr)).to(DTYPE)
        if d["alpha"] is not None:
            if c.synapse == "jump":  # Norse: i jumps by the input; v reads it; then i decays
                i = s["i"] + d["syn_gain"] * x
                s["i"] = i + d["minus_a_syn"] * i
            elif c.synapse == "exp":  # Rockpool: i <- (i + I) exp(-dt/tau_syn)
                i = s["i"] = (s["i"] + d["w_in"] * x) * d["alpha"]
            else:
                i = s["i"] = d["alpha"] * s["i"] + d["syn_gain"] * x
            x = i
        v = s["v"]
        e = self.extra[op.name]
        if c.form == "divide" and d["steps_tau"] is not None:  # SpikingJelly: v + (r x - (v - v_leak)) / k
            v = v + (x * e["r"] - (v - e["v_leak"])) / d["steps_tau"]
        elif c.form == "norse" and d["a"] is not None:  # v + dt/tau ((v_leak - v) + r i)
            v = v + d["a"] * ((e["v_leak"] - v) + x * e["r"])
        elif c.form == "rockpool" and op.kind == "LI":  # ExpSynTorch: (v + I) exp(-dt/tau)
            v = (v + x * d["unit"]) * d["beta"]
        elif c.form == "rockpool" and op.kind not in ("IF", "I"):  # v exp(-dt/tau) + gain i + v_leak
            v = v * d["beta"] + x * d["gain"] + d["drive"]
        else:
            v = d["beta"] * v + d["gain"] * x
            if torch.any(d["drive"] != 0):
                v = v + d["drive"]
        if thr is None:  # LI, CubaLI, I: the state is the output
            s["v"] = v
            return v
        if c.reset == "subtract-delayed":
            v = v - s["spk"] * thr
        if c.spikes == "multi":  # Rockpool: floor(v / thr) spikes where v >= thr
            spk = (v >= thr).to(DTYPE) * torch.floor(v / thr)
        else:
            spk = ((v > thr) if c.fire == ">" else (v >= thr)).to(DTYPE)
        if c.reset == "zero":
            v = torch.where(spk.bool(), d["v_reset"].expand_as(v), v)
        elif c.reset == "subtract":
            v = v - spk * thr
        s["v"], s["spk"] = v, spk
        return spk


def _inverse_tau(written: np.ndarray, conv) -> torch.Tensor:
    """1 / tau in float32; from Norse 1.1.0's dt * tau (= dt / tau_inv in float32) by the inverse division."""
    if conv.dt_tau:
        return torch.tensor(conv.dt, dtype=DTYPE) / _t(written)
    return _t(1.0 / np.asarray(written))


def _library_coefficients(op: Op, conv) -> dict[str, torch.Tensor | None]:
    """Float32 coefficients computed as the source library computes them (exp of a float32 tau;
    Sinabs' 1 - beta; Norse's dt / tau and -dt / tau_syn), so the steps round as the library's do."""
    out: dict[str, torch.Tensor | None] = {"a": None, "minus_a_syn": None, "w_in": None}
    if op.kind not in ("LIF", "CubaLIF", "LI", "CubaLI"):
        return out
    p = op.params
    tau = _t(conv.tau(p["tau_mem"] if op.kind.startswith("Cuba") else p["tau"]))
    if conv.form in ("exp", "rockpool"):
        beta = torch.exp(-conv.dt / tau)
        out["beta"] = beta
        out["unit"] = _t(unit_gain(conv.dt / conv.tau(p["tau"]) * p["r"] * np.exp(conv.dt / conv.tau(p["tau"])))
                         if op.kind == "LI" else np.ones(op.shape))
        if conv.form == "exp":  # Sinabs: LIF normalises its input (norm_input=True), ExpLeak does not
            out["gain"] = _t(p["r"]) if op.kind == "LI" else (1 - beta) * _t(p["r"])
    elif conv.form == "norse":  # Norse keeps 1 / tau (float32) and multiplies by dt
        out["a"] = conv.dt * _inverse_tau(p["tau_mem" if op.kind.startswith("Cuba") else "tau"], conv)
    if op.kind.startswith("Cuba"):
        out["w_in"] = _t(p.get("w_in", np.ones(op.shape)))
        if conv.synapse == "exp":
            out["alpha"] = torch.exp(-conv.dt / _t(conv.tau(p["tau_syn"])))
        elif conv.synapse == "jump":
            out["minus_a_syn"] = -conv.dt * _inverse_tau(p["tau_syn"], conv)
    return out


def _pair(op: Op, key: str, default: int) -> tuple[int, int]:
    v = op.params.get(key)
    if v is None:
        return (default, default)
    v = np.asarray(v).reshape(-1)
    return (int(v[0]), int(v[0])) if v.size == 1 else (int(v[0]), int(v[1]))
