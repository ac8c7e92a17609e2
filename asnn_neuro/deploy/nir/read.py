"""Read a NIR graph (the ``nir`` package's HDF5 file) into a float graph.

NIR describes neurons in continuous time and leaves three things to the simulator that ran
the model: the time step ``dt``, how a neuron resets (to ``v_reset``, or by subtracting the
threshold) and whether it fires at ``v > v_th`` or ``v >= v_th``. Each library that writes
NIR has its own answer (``CONVENTIONS``); ``--source`` picks one, ``--dt`` overrides its step.
The float graph keeps the node parameters as NIR wrote them plus the convention; the float
executor (``backends.float_executor``) runs it, ``deploy.nir.lower`` turns it into the chip IR.

Every problem raises ``InputError`` (exit 2) naming the file, the node and its type.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from asnn_neuro.chip.limits import MAX_TIMESTEPS
from asnn_neuro.deploy.netx.validate import check_geometry
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.util.h5budget import check_file


@dataclass(frozen=True)
class Convention:
    """How one library discretises NIR's continuous-time neurons.

    dt: the step (s) the library wrote its time constants with;
    reset: 'zero' (v <- v_reset), 'subtract' (v <- v - v_th at once) or 'subtract-delayed'
    (snnTorch: the threshold is subtracted at the next step, from the undecayed state);
    fire: '>' or '>=';
    form: 'beta' (v <- beta v + g I + drive), 'divide' (SpikingJelly: v <- v + (r I - (v - v_leak)) / k,
    k = tau / dt), 'exp' (Sinabs LIF: beta = exp(-dt / tau), input gain 1 - beta: norm_input),
    'norse' (v <- v + dt/tau ((v_leak - v) + r i)) or 'rockpool' (beta = exp(-dt / tau_mem), gain 1);
    start: the voltage before the first step: 'zero', 'v_reset' (SpikingJelly) or 'v_leak' (Norse);
    synapse: how input enters a Cuba current: 'euler' (i <- (1 - dt/tau_syn) i + dt/tau_syn w_in I),
    'jump' (Norse: i <- (1 - dt/tau_syn) i + w_in I) or 'exp' (Rockpool: i <- exp(-dt/tau_syn) (i + w_in I));
    spikes: 'single' (0/1 per step) or 'multi' (Rockpool: floor(v / v_th) spikes, each subtracting v_th);
    dt_tau: the file's time constants are dt * tau (Norse 1.1.0's exporter; ``--fix-norse-tau``).
    """

    name: str
    dt: float
    reset: str
    fire: str
    form: str
    start: str = "zero"
    synapse: str = "euler"
    spikes: str = "single"
    dt_tau: bool = False

    def tau(self, written: np.ndarray) -> np.ndarray:
        """A time constant (s) as the library meant it, from the value the file holds."""
        return written / self.dt if self.dt_tau else written


CONVENTIONS: dict[str, Convention] = {
    "nir": Convention("nir", 1e-4, "zero", ">", "beta"),
    "snntorch": Convention("snntorch", 1e-4, "subtract-delayed", ">", "beta"),
    "sinabs": Convention("sinabs", 1.0, "subtract", ">=", "exp"),
    "spikingjelly": Convention("spikingjelly", 1e-4, "zero", ">=", "divide", start="v_reset"),
    "norse": Convention("norse", 1e-3, "zero", ">", "norse", start="v_leak", synapse="jump"),
    "rockpool": Convention("rockpool", 1e-3, "subtract", ">=", "rockpool", synapse="exp", spikes="multi"),
}

NEURON_KINDS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold")
SYNAPSE_KINDS = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Scale", "Flatten")
OTHER_KINDS = ("Input", "Output", "Delay")
SUPPORTED = NEURON_KINDS + SYNAPSE_KINDS + OTHER_KINDS
SPIKING = ("LIF", "CubaLIF", "IF", "Threshold")


@dataclass
class Op:
    """One node of the float graph: its NIR type, float parameters, inputs and output shape.

    inputs: names of the nodes whose outputs are summed into this one; ``recurrent`` names those
    among them read from the previous step (edges that close a cycle).
    """

    name: str
    kind: str
    params: dict[str, np.ndarray]
    inputs: list[str]
    shape: tuple[int, ...] = ()
    recurrent: list[str] = field(default_factory=list)

    @property
    def is_neuron(self) -> bool:
        return self.kind in NEURON_KINDS

    @property
    def spiking(self) -> bool:
        return self.kind in SPIKING


@dataclass
class FloatGraph:
    """A NIR graph in evaluation order (inputs before consumers, recurrent edges aside)."""

    input_shape: tuple[int, ...]
    ops: list[Op]
    output: str
    convention: Convention
    source_file: str = ""

    def op(self, name: str) -> Op:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)

    @property
    def neurons(self) -> list[Op]:
        return [o for o in self.ops if o.is_neuron]


def convention(source: str, dt: float | None = None) -> Convention:
    """The convention of ``source``, with ``dt`` (s) overriding its step when given."""
    if source not in CONVENTIONS:
        raise InputError(f"--source '{source}': choose one of {', '.join(CONVENTIONS)}")
    c = CONVENTIONS[source]
    if dt is not None:
        if not np.isfinite(dt) or dt <= 0:
            raise InputError(f"--dt must be a positive number of seconds, got {dt}")
        c = replace(c, dt=float(dt))
    return c


def _array(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


_PARAMS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "I": ("r",),
    "Threshold": ("threshold",),
    "Affine": ("weight", "bias"),
    "Linear": ("weight",),
    "Conv2d": ("weight", "bias", "stride", "padding", "dilation", "groups"),
    "SumPool2d": ("kernel_size", "stride", "padding"),
    "AvgPool2d": ("kernel_size", "stride", "padding"),
    "Scale": ("scale",),
    "Flatten": ("start_dim", "end_dim"),
    "Delay": ("delay",),
    "Input": (),
    "Output": (),
}


def _params(path: Path, name: str, kind: str, node) -> dict[str, np.ndarray]:
    out = {}
    for key in _PARAMS[kind]:
        value = getattr(node, key, None)
        if value is None:
            continue
        if key == "padding" and isinstance(value, str):
            raise UnsupportedLayerError(f"{path}: node '{name}' ({kind}): padding '{value}' is not supported "
                                        "(give explicit numbers)")
        arr = _array(value)
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{path}: node '{name}' ({kind}): '{key}' contains NaN or inf")
        if key.startswith("tau") and np.any(arr <= 0):
            raise InputError(f"{path}: node '{name}' ({kind}): '{key}' must be > 0 (a time constant in "
                             f"seconds), got {float(arr.min()):g}")
        out[key] = arr
    return out


def _pair(value: np.ndarray | None, default: int) -> tuple[int, int]:
    if value is None:
        return (default, default)
    v = np.asarray(value).reshape(-1)
    return (int(v[0]), int(v[0])) if v.size == 1 else (int(v[0]), int(v[1]))


def read_nir(path: str | Path, source: str = "nir", dt: float | None = None,
             fix_norse_tau: bool = False) -> FloatGraph:
    """Read ``path`` (a NIR HDF5 file) with the conventions of ``source``
    (``fix_norse_tau``: the file's time constants are dt * tau, as Norse 1.1.0 writes them)."""
    path = Path(path)
    conv = convention(source, dt)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        import nir
    except ImportError:
        raise InputError("reading NIR needs the 'nir' package (pip install -e '.[nir]')") from None
    _precheck(path)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # its shape arithmetic on odd files
            warnings.simplefilter("ignore")
            graph = nir.read(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure of the reader is a bad file
        try:  # Norse and Rockpool write a batched input type [1, n] that nir's own type check refuses
            graph = nir.read(str(path), type_check=False)
        except Exception:  # noqa: BLE001
            raise InputError(f"{path}: not a readable NIR file ({type(exc).__name__}: {exc})") from None
    return from_nir_graph(graph, replace(conv, dt_tau=fix_norse_tau), path)


_EULER_FORMS = ("beta", "norse", "divide")  # forms whose decay 1 - dt/tau needs tau >= dt


def _check_taus(path: Path, ops: list[Op], conv: Convention) -> None:
    """Refuse time constants shorter than the step, where they make a forward-Euler decay negative."""
    if conv.form not in _EULER_FORMS:
        return
    for op in ops:
        for key in ("tau", "tau_mem", "tau_syn"):
            if key not in op.params or not np.any(conv.tau(op.params[key]) < conv.dt):
                continue
            tau = float(conv.tau(op.params[key]).min())
            hint = ("Norse 1.1.0's exporter writes dt * tau (e.g. 1e-05 for a 10 ms neuron at dt 1 ms): "
                    "add --fix-norse-tau" if conv.name == "norse" and not conv.dt_tau else
                    "give the step the file was written with (--dt)")
            raise InputError(f"{path}: node '{op.name}' ({op.kind}): {key} {tau:.6g} s is shorter than the step "
                             f"dt {conv.dt:g} s (decay 1 - dt/tau = {1 - conv.dt / tau:.6g}); {hint}")


_GEOMETRY_KEYS = {"stride": "stride", "dilation": "dilation", "padding": "padding", "kernel_size": "kernel"}


def _precheck(path: Path) -> None:
    """Before the nir library reads anything: every dataset within the size budget, and conv/pool
    geometry sane (the library would divide by it), each refused naming the node."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except Exception:  # noqa: BLE001 - nir.read reports an unreadable file in its own words
        return
    with f:
        check_file(path, f)
        nodes = f.get("node/nodes")
        for name, g in (nodes.items() if isinstance(nodes, h5py.Group) else ()):
            kind = g.get("type") if isinstance(g, h5py.Group) else None
            kind = kind[()] if isinstance(kind, h5py.Dataset) else None
            kind = kind.decode(errors="replace") if isinstance(kind, bytes) else str(kind)
            if kind not in ("Conv2d", "SumPool2d", "AvgPool2d"):
                continue
            values = {what: np.asarray(g[key][()]).reshape(-1) for key, what in _GEOMETRY_KEYS.items()
                      if isinstance(g.get(key), h5py.Dataset) and g[key].dtype.kind in "iuf" and g[key].size}
            check_geometry(kind, lambda msg, n=name, k=kind: InputError(f"{path}: node '{n}' ({k}): {msg}"),
                           **values)


def from_nir_graph(graph, conv: Convention, path: Path | str = "<graph>") -> FloatGraph:
    """The float graph of an in-memory ``nir.NIRGraph`` (a tau below dt is refused where it would
    make a forward-Euler decay negative; ``conv.dt_tau`` reads Norse 1.1.0's dt * tau)."""
    path = Path(path)
    nodes = dict(graph.nodes)
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind == "NIRGraph":
            raise UnsupportedLayerError(f"{path}: node '{name}' has type NIRGraph (a nested subgraph), "
                                        "which the importer does not flatten")
        if kind not in SUPPORTED:
            raise UnsupportedLayerError(f"{path}: node '{name}' has type {kind}, which is not supported "
                                        f"(supported: {', '.join(SUPPORTED)})")
    inputs = [n for n, node in nodes.items() if type(node).__name__ == "Input"]
    outputs = [n for n, node in nodes.items() if type(node).__name__ == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise InputError(f"{path}: the graph needs exactly one Input and one Output node, "
                         f"has {len(inputs)} and {len(outputs)}")
    edges = [(str(a), str(b)) for a, b in graph.edges]
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise InputError(f"{path}: edge {a} -> {b} names a node that is not in the graph")
    order, back = _order(inputs[0], nodes, edges, path)
    ops: list[Op] = []
    for name in order:
        node = nodes[name]
        kind = type(node).__name__
        srcs = [a for a, b in edges if b == name]
        ops.append(Op(name=name, kind=kind, params=_params(path, name, kind, node), inputs=srcs,
                      recurrent=[a for a in srcs if (a, name) in back]))
    _check_taus(path, [o for o in ops if o.is_neuron], conv)
    in_type = nodes[inputs[0]].input_type.get("input")
    in_shape = tuple(int(v) for v in np.asarray(in_type).reshape(-1)) if in_type is not None else ()
    if len(in_shape) in (2, 4) and in_shape[0] == 1:  # a leading batch axis of 1 (Norse, Rockpool)
        in_shape = in_shape[1:]
    if len(in_shape) not in (1, 3) or min(in_shape, default=0) < 1:
        raise InputError(f"{path}: input node '{inputs[0]}' has shape {list(in_shape)}; expected (C, H, W) or (n,)")
    fg = FloatGraph(input_shape=in_shape, ops=ops, output=outputs[0], convention=conv, source_file=str(path))
    _infer_shapes(fg, path)
    for op in fg.ops:  # a delay no run can see the end of: refused before a run allocates it
        if op.kind == "Delay" and float(op.params["delay"].max(initial=0)) / conv.dt > MAX_TIMESTEPS:
            raise InputError(f"{path}: node '{op.name}' (Delay): {float(op.params['delay'].max()):g} s is "
                             f"{float(op.params['delay'].max()) / conv.dt:.3g} steps of dt {conv.dt:g} s; a run "
                             f"has at most {MAX_TIMESTEPS} steps (the chip delays at most 62)")
    return fg


def _order(start: str, nodes: dict, edges: list[tuple[str, str]], path: Path) -> tuple[list[str], set]:
    """Depth-first from the input: back edges are recurrent; the rest sorted topologically."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    stack = [(start, iter(succ[start]))]
    state[start] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[node] = 2
            stack.pop()
        elif state.get(nxt) == 1:
            back.add((node, nxt))
        elif nxt not in state:
            state[nxt] = 1
            stack.append((nxt, iter(succ[nxt])))
    unreached = [n for n in nodes if n not in state]
    if unreached:
        raise InputError(f"{path}: node '{unreached[0]}' ({type(nodes[unreached[0]]).__name__}) is not "
                         "reachable from the input")
    forward = [(a, b) for a, b in edges if (a, b) not in back]
    indeg = {n: 0 for n in nodes}
    for _, b in forward:
        indeg[b] += 1
    ready, order = [start], []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for a, b in forward:
            if a == n:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    for a, b in back:
        if type(nodes[b]).__name__ not in NEURON_KINDS and type(nodes[b]).__name__ not in SYNAPSE_KINDS:
            raise UnsupportedLayerError(f"{path}: recurrent edge {a} -> {b} into a {type(nodes[b]).__name__} node")
    return order, back


def _conv_out(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _infer_shapes(fg: FloatGraph, path: Path) -> None:
    """Each op's output shape from the input shape (NIR files often leave conv types open)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for op in fg.ops:
        where = f"{path}: node '{op.name}' ({op.kind})"
        fwd = [shapes[s] for s in op.inputs if s not in op.recurrent]
        if op.kind == "Input":
            op.shape = fg.input_shape
            shapes[op.name] = op.shape
            continue
        if not fwd:
            raise InputError(f"{where}: has no input")
        if len({int(np.prod(s)) for s in fwd}) != 1:
            raise InputError(f"{where}: its inputs have different sizes {fwd}")
        ins = fwd[0]
        p = op.params
        if op.kind in ("Affine", "Linear"):
            w = p["weight"]
            if w.ndim != 2 or w.shape[1] != int(np.prod(ins)):
                raise InputError(f"{where}: weight {w.shape} does not take an input of {int(np.prod(ins))} values")
            if "bias" in p and p["bias"].size not in (1, w.shape[0]):
                raise InputError(f"{where}: bias of {p['bias'].size} values for {w.shape[0]} outputs")
            op.shape = (w.shape[0],)
        elif op.kind == "Conv2d":
            w = p["weight"]
            groups = int(p.get("groups", np.array(1)).reshape(-1)[0])
            if w.ndim != 4 or len(ins) != 3 or groups < 1 or w.shape[1] * groups != ins[0]:
                raise InputError(f"{where}: weight {w.shape} (groups {groups}) does not take an input {ins}")
            k, s = w.shape[2:], _pair(p.get("stride"), 1)
            pad, d = _pair(p.get("padding"), 0), _pair(p.get("dilation"), 1)
            check_geometry("conv", lambda msg, at=where: InputError(f"{at}: {msg}"), stride=s, dilation=d, padding=pad,
                           kernel=k)
            op.shape = (w.shape[0], _conv_out(ins[1], k[0], s[0], pad[0], d[0]),
                        _conv_out(ins[2], k[1], s[1], pad[1], d[1]))
        elif op.kind in ("SumPool2d", "AvgPool2d"):
            if len(ins) != 3:
                raise InputError(f"{where}: pooling needs a (C, H, W) input, got {ins}")
            k, s, pad = _pair(p.get("kernel_size"), 1), _pair(p.get("stride"), 1), _pair(p.get("padding"), 0)
            if "stride" not in p or p["stride"].size == 0:
                s = k
            check_geometry("pool", lambda msg, at=where: InputError(f"{at}: {msg}"), kernel=k, stride=s, padding=pad)
            op.params["kernel_size"], op.params["stride"], op.params["padding"] = (np.array(k), np.array(s),
                                                                                  np.array(pad))
            op.shape = (ins[0], _conv_out(ins[1], k[0], s[0], pad[0]), _conv_out(ins[2], k[1], s[1], pad[1]))
        elif op.kind == "Flatten":
            start = int(p.get("start_dim", np.array(0)).reshape(-1)[0])
            if start > 0:  # NIR's dims exclude the batch axis; some writers count it
                start = 0
            op.shape = (int(np.prod(ins)),)
        elif op.kind == "Output":
            op.shape = ins
        else:  # neurons, Scale, Delay: elementwise, parameters broadcast to the input
            op.shape = ins
            for key, value in p.items():
                if value.size not in (1, int(np.prod(ins))):
                    raise InputError(f"{where}: '{key}' has {value.size} values for {int(np.prod(ins))} "
                                     "neurons")
                op.params[key] = np.broadcast_to(value.reshape(-1) if value.size > 1 else value.reshape(()),
                                                 (int(np.prod(ins)),)).reshape(ins).copy()
            if op.kind == "Delay" and (np.any(op.params["delay"] < 0)):
                raise InputError(f"{where}: negative delay")
        shapes[op.name] = op.shape
    for op in fg.ops:
        for s in op.recurrent:
            if int(np.prod(shapes[s])) != int(np.prod(op.shape if op.is_neuron else shapes[op.inputs[0]])):
                raise InputError(f"{path}: recurrent edge {s} -> {op.name}: sizes do not match")


# ------------------------------------------------------------------------------ float.npz
def save_float(fg: FloatGraph, target: Path) -> None:
    """Write the float graph to ``target`` (an .npz: parameters as arrays, structure as JSON)."""
    arrays = {}
    structure = []
    for i, op in enumerate(fg.ops):
        for key, value in op.params.items():
            arrays[f"op{i}.{key}"] = np.asarray(value)
        structure.append({"name": op.name, "kind": op.kind, "inputs": op.inputs, "recurrent": op.recurrent,
                          "shape": list(op.shape), "params": list(op.params)})
    meta = {"input_shape": list(fg.input_shape), "output": fg.output, "ops": structure,
            "convention": fg.convention.__dict__, "source_file": fg.source_file}
    with open(target, "wb") as f:
        np.savez(f, graph=np.array(json.dumps(meta)), **arrays)


def load_float(path: Path) -> FloatGraph:
    """Read a float graph written by ``save_float``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["graph"]))
            ops = [Op(name=o["name"], kind=o["kind"], inputs=list(o["inputs"]), recurrent=list(o["recurrent"]),
                      shape=tuple(o["shape"]), params={k: np.array(z[f"op{i}.{k}"]) for k in o["params"]})
                   for i, o in enumerate(meta["ops"])]
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a float graph written by asnn import ({type(exc).__name__})") from None
    return FloatGraph(input_shape=tuple(meta["input_shape"]), ops=ops, output=meta["output"],
                      convention=Convention(**meta["convention"]), source_file=meta.get("source_file", ""))
