"""Read NetX HDF5 (ours or lava-dl's) into the IR.

Our own files, and any lava-dl file made of input, conv, dense, pool, flatten, average and
concat layers with CUBA neurons (the protocol's ``pool``/``average``/``concat`` that lava-dl's
loader refuses are lowered to paths: pool -> depthwise conv, concat -> one path per
concatenated source, average -> a non-spiking readout). Every problem raises ``InputError``
naming the file and the layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from asnn_neuro import ir
from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
from asnn_neuro.deploy.netx.format import FORMAT, MAX_TIMESTEPS, SUPPORTED_TYPES
from asnn_neuro.deploy.netx.validate import check_conv_shape, check_ranges
from asnn_neuro.errors import InputError, UnsupportedLayerError
from asnn_neuro.util.h5budget import check_file


class _Fields:
    """One layer's ``neuron`` group as a neuron kind reads it (``chip.neurons.base.NetxFields``)."""

    def __init__(self, r: _Reader, g: h5py.Group, where: str):
        self.r, self.g, self.where = r, g, where

    def scalar(self, key: str, default=...) -> int:
        return self.r.scalar(self.g, key, self.where, default is ..., None if default is ... else default)

    def ints(self, key: str) -> np.ndarray:
        return self.r.ints(self.g, key, self.where)

    def text(self, key: str) -> str:
        return self.r.text(self.g, key, self.where + "/neuron")

    def has(self, key: str) -> bool:
        return key in self.g

    def fail(self, what: str) -> InputError:
        return self.r.fail(self.where, what)

    def refuse(self, what: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{self.r.path}: {self.where}/neuron: {what}")


class _Reader:
    def __init__(self, path: Path, f: h5py.File):
        self.path = path
        self.f = f

    def fail(self, where: str, what: str) -> InputError:
        return InputError(f"{self.path}: {where}: {what}")

    def get(self, g: h5py.Group, key: str, where: str, required: bool = True):
        if key not in g:
            if required:
                raise self.fail(where, f"missing '{key}'")
            return None
        obj = g[key]
        if not isinstance(obj, h5py.Dataset):
            raise self.fail(where, f"'{key}' is not a dataset")
        try:
            value = obj[()]
        except Exception as exc:  # noqa: BLE001 - corrupt data inside a valid container
            raise self.fail(where, f"'{key}' is unreadable ({type(exc).__name__})") from None
        return value

    def text(self, g: h5py.Group, key: str, where: str) -> str:
        value = self.get(g, key, where)
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise self.fail(where, f"'{key}' is not a string")
            value = value.reshape(-1)[0]
        if isinstance(value, bytes):
            try:
                value = value.decode("ascii")
            except UnicodeDecodeError:
                raise self.fail(where, f"'{key}' is not ASCII") from None
            if not value.isprintable():
                raise self.fail(where, f"'{key}' is {value!r}, not a printable name")
            return value
        if isinstance(value, str):
            return value
        raise self.fail(where, f"'{key}' is not a string")

    def ints(self, g: h5py.Group, key: str, where: str, required: bool = True, default=None) -> np.ndarray:
        value = self.get(g, key, where, required)
        if value is None:
            return default
        arr = np.asarray(value)
        if arr.dtype.kind not in "iufb":
            raise self.fail(where, f"'{key}' is not numeric")
        if not np.all(np.isfinite(arr)):
            raise self.fail(where, f"'{key}' contains NaN or inf")
        if arr.dtype.kind == "f" and np.any(np.abs(arr) > 2**40):
            raise self.fail(where, f"'{key}' has absurd values")
        return np.rint(arr).astype(np.int64) if arr.dtype.kind == "f" else arr.astype(np.int64)

    def source(self, g, where) -> ir.Source:
        """A path's stored source: a layer index, or -1 / -2 for the input streams."""
        code = self.scalar(g, "source", where)
        try:
            return ir.source_from_code(code)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def scalar(self, g, key, where, required=True, default=None) -> int:
        arr = self.ints(g, key, where, required, None)
        if arr is None:
            return default
        if arr.size != 1:
            raise self.fail(where, f"'{key}' should be a single number, has shape {arr.shape}")
        return int(arr.reshape(-1)[0])

    def pair(self, g, key, where, default: int) -> tuple[int, int]:
        arr = self.ints(g, key, where, required=False)
        if arr is None:
            return (default, default)
        arr = arr.reshape(-1)
        if arr.size == 1:
            return (int(arr[0]), int(arr[0]))
        if arr.size != 2:
            raise self.fail(where, f"'{key}' should have 1 or 2 entries")
        return (int(arr[0]), int(arr[1]))  # stored (y, x), i.e. torch's (h, w)

    def shape(self, g, where) -> tuple[int, ...]:
        arr = self.ints(g, "shape", where).reshape(-1)
        if arr.size == 0 or arr.size > 3 or np.any(arr < 1) or np.prod(arr) > 50_000_000:
            raise self.fail(where, f"invalid shape {arr.tolist()}")
        return tuple(int(s) for s in arr)  # stored in torch order (C, H, W), as lava-dl writes it

    def neuron(self, g: h5py.Group, where: str, is_input: bool = False) -> ir.Neuron:
        if "neuron" not in g or not isinstance(g["neuron"], h5py.Group):
            raise self.fail(where, "missing 'neuron' description")
        n = g["neuron"]
        netx_type = self.text(n, "type", where + "/neuron")
        kind = registry.for_netx_type(netx_type)
        if kind is None or kind.netx_read is None:
            raise UnsupportedLayerError(f"{self.path}: {where}: neuron type '{netx_type}' is not supported "
                                        f"(supported: {', '.join(registry.netx_types())})"
                                        f"{_refusal_reason(netx_type)}")
        return kind.netx_read(_Fields(self, n, where), netx_type, is_input)

    def conv_path(self, g, where, source, in_shape, out_shape, weight=None, groups=None) -> ir.Path:
        if weight is None:
            weight = self.ints(g, "weight", where)
        if weight.ndim == 5:
            weight = weight[..., 0] if weight.shape[-1] == 1 else weight[:, :, 0]
        if weight.ndim != 4:
            raise self.fail(where, f"conv weight has shape {weight.shape}, expected (out, in, kH, kW)")
        groups = groups or self.scalar(g, "groups", where, False, 1)
        if groups < 1 or in_shape[0] % groups or weight.shape[0] != out_shape[0] \
                or weight.shape[1] * groups != in_shape[0]:
            raise self.fail(where, f"conv weight {weight.shape} (groups {groups}) does not connect "
                                   f"{in_shape} to {out_shape}")
        path = ir.Path(source=source, kind="conv", weight=weight, kernel=tuple(weight.shape[2:]),
                       stride=self.pair(g, "stride", where, 1), padding=self.pair(g, "padding", where, 0),
                       dilation=self.pair(g, "dilation", where, 1), groups=groups)
        check_conv_shape(path, in_shape, out_shape, lambda msg: self.fail(where, msg))
        return path

    def dense_path(self, g, where, source, in_shape, out_shape, weight=None) -> ir.Path:
        if weight is None:
            weight = self.ints(g, "weight", where)
        n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
        if weight.ndim == 1 and weight.size == n_out * n_in:  # lava-dl stores a one-row dense flat
            weight = weight.reshape(n_out, n_in)
        weight = weight.reshape(weight.shape[0], -1) if weight.ndim > 1 else weight
        if weight.ndim != 2 or weight.shape != (n_out, n_in):
            raise self.fail(where, f"dense weight has shape {weight.shape}, expected ({n_out}, {n_in}) "
                                   f"for input {in_shape}")
        return ir.Path(source=source, kind="dense", weight=weight)


def read_network(path: str | Path, input_shape: tuple[int, ...] | None = None) -> ir.Network:
    """Read a NetX HDF5 file (ours or lava-dl's) into the IR.

    ``input_shape`` (torch order: (C, H, W) or (n,)) is the input of a file without an ``input``
    layer whose first layer does not tell it (a conv); a dense first layer gives its own fan-in,
    as in lava-dl's loader."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    try:
        f = h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable HDF5 file ({type(exc).__name__})") from None
    with f:
        check_file(path, f)  # the size budget, from metadata only, before any dataset is read
        try:
            return _read(path, f, input_shape)
        except InputError:
            raise
        except (KeyError, ValueError, TypeError, OSError, RuntimeError, IndexError) as exc:
            raise InputError(f"{path}: malformed NetX description ({type(exc).__name__}: {exc})") from None


def _layer_keys(path: Path, f: h5py.File) -> list[str]:
    """The layer group's keys '0'..'N-1' in order (InputError otherwise)."""
    if "layer" not in f or not isinstance(f["layer"], h5py.Group):
        raise InputError(f"{path}: no 'layer' group (not a NetX network)")
    group = f["layer"]
    keys = sorted((k for k in group.keys()), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0))
    if not keys or any(not k.isdigit() for k in keys) or [int(k) for k in keys] != list(range(len(keys))):
        raise InputError(f"{path}: layer group must hold layers 0..N-1, found {list(group.keys())[:8]}")
    return keys


def _file_attrs(path: Path, f: h5py.File) -> tuple[bool, dict, int | None]:
    """(written by us, the other attributes as metadata, the file's time steps or None)."""
    ours = f.attrs.get("format") == FORMAT
    meta = {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
            for k, v in f.attrs.items() if k not in ("format", "timesteps")}
    try:
        timesteps = int(f.attrs.get("timesteps", 0)) or None
    except (TypeError, ValueError):
        raise InputError(f"{path}: the 'timesteps' attribute is not an integer") from None
    if timesteps is not None and not 1 <= timesteps <= MAX_TIMESTEPS:
        raise InputError(f"{path}: timesteps {timesteps} out of range [1, {MAX_TIMESTEPS}]")
    # who gave the network its meaning (its default stream mode, backends/stream.py): a file we
    # wrote keeps the origin it recorded (a lava-dl network we re-wrote is still lava-dl's)
    meta["origin"] = str(meta.get("origin", "asnn-neuro")) if ours else "foreign"
    return ours, meta, timesteps


@dataclass
class _Walk:
    """What reading the layers in order has built so far."""

    r: _Reader
    ours: bool
    meta: dict
    given_shape: tuple[int, ...] | None
    input_spec: ir.InputSpec | None = None
    layers: list[ir.Layer] = field(default_factory=list)
    h5_to_ir: dict[int, int] = field(default_factory=dict)  # HDF5 layer index -> IR layer (or input)
    current: ir.Source = ir.Stream.SPIKES                    # the source the next layer reads from
    current_shape: tuple[int, ...] | None = None
    pending_concat: list[ir.Source] | None = None

    def layer(self, k: str, g) -> None:
        """Read HDF5 layer ``k`` (group ``g``)."""
        r, where = self.r, f"layer {k}"
        if not isinstance(g, h5py.Group):
            raise r.fail(where, "is not a group")
        kind = r.text(g, "type", where)
        if kind not in SUPPORTED_TYPES:
            raise UnsupportedLayerError(f"{r.path}: {where}: layer type '{kind}' is not supported "
                                        f"(supported: {', '.join(SUPPORTED_TYPES)})")
        name = r.get(g, "name", where, required=False)
        name = name.decode() if isinstance(name, bytes) else str(name) if name is not None else f"{kind}{k}"
        if kind == "input":
            return self.input_layer(k, g, where)
        if self.input_spec is None:
            if kind == "flatten":
                return  # the input is flattened anyway: its shape comes from the next layer
            self.input_spec = ir.InputSpec(shape=_inferred_input(r, g, where, kind, self.given_shape))
            self.current_shape = self.input_spec.shape
        if kind == "flatten":
            self.h5_to_ir[int(k)] = self.current
            self.current_shape = (int(np.prod(self.current_shape)),)
            return
        if kind == "concat":
            return self.concat(k, g, where)
        shape = r.shape(g, where)
        if kind in ("dense", "dense_rec", "average"):
            shape = (int(np.prod(shape)),)
        if kind == "average":
            self.layers.append(self.average(name, shape[0], where))
        else:
            self.layers.append(self.neuron_layer(g, where, kind, name, shape))
        self.current = len(self.layers) - 1
        self.h5_to_ir[int(k)] = self.current
        self.current_shape = shape

    def input_layer(self, k: str, g, where: str) -> None:
        """The ``input`` layer; lava-dl's Input block also carries a neuron: a spiking layer of its own."""
        r = self.r
        if int(k) != 0:
            raise r.fail(where, "input layer must come first")
        shape = r.shape(g, where)
        graded = bool(r.scalar(g["asnn"], "graded", where, False, 0)) if "asnn" in g else False
        self.input_spec = ir.InputSpec(shape=shape, graded=graded)
        self.current_shape = shape
        self.h5_to_ir[0] = ir.Stream.SPIKES
        if "neuron" in g:
            neuron = r.neuron(g, where, is_input=True)
            # its 'weight' / 'bias' are a host-side transform of the data (x -> weight x + bias)
            # that lava-dl's loader does not apply (its Input neuron has no bias): kept as a note
            transform = {key: r.ints(g, key, where, False) for key in ("weight", "bias")}
            self.meta["input_transform"] = json.dumps({k: v.reshape(-1).tolist() for k, v in transform.items()
                                                       if v is not None})
            path_ = ir.Path(source=ir.Stream.SPIKES, kind="identity")
            self.layers.append(ir.Layer(name="input", shape=shape, neuron=neuron, paths=[path_]))
            self.current = self.h5_to_ir[0] = 0

    def concat(self, k: str, g, where: str) -> None:
        """A ``concat`` layer: the next neuron layer reads the current source and the listed ones."""
        sources = [self.current]
        for j in self.r.ints(g, "layers", where).reshape(-1):
            if int(j) not in self.h5_to_ir:
                raise self.r.fail(where, f"concat refers to layer {int(j)} that is not before it")
            sources.append(self.h5_to_ir[int(j)])
        self.pending_concat = sources
        self.current_shape = self.r.shape(g, where)
        self.h5_to_ir[int(k)] = self.current

    def average(self, name: str, groups: int, where: str) -> ir.Layer:
        """An ``average`` readout: each group's spike count so far (state 1 == one spike, up to 2**23),
        the same every step: a one-step schedule that fits any T (the file's, or its input's)."""
        n_in = int(np.prod(self.current_shape))
        if n_in % groups:
            raise self.r.fail(where, f"cannot average {n_in} neurons into {groups} groups")
        weight = np.kron(np.eye(groups, dtype=np.int64), np.ones((1, n_in // groups), dtype=np.int64))
        neuron = ir.AdaptiveNeuron(leak=(lim.DECAY_ONE,), gain=(lim.DECAY_ONE,), readout=True)
        p = ir.Path(source=self.current, kind="dense", weight=weight, mask=(1,), shift=lim.DECAY_BITS)
        return ir.Layer(name=name, shape=(groups,), neuron=neuron, paths=[p])

    def neuron_layer(self, g, where: str, kind: str, name: str, shape: tuple[int, ...]) -> ir.Layer:
        """A synapse (dense, conv, ...) + neuron layer, with its delays and recurrent weights."""
        r = self.r
        neuron = r.neuron(g, where)
        sources = self.pending_concat or [_own_source(r, g, where, self.current, len(self.layers), self.ours)]
        self.pending_concat = None
        in_shapes = [self.input_spec.shape if ir.is_input(s) else self.layers[s].shape for s in sources]
        if "imag" in registry.of(neuron).ports:  # a resonator: real and imaginary weights
            paths = _complex_paths(r, g, where, kind, sources, in_shapes, self.current_shape, shape)
        else:
            paths = _read_paths(r, g, where, kind, sources, in_shapes, self.current_shape, shape, self.ours,
                                self.input_spec.shape)
        if kind == "dense_rec":  # lava-dl's recurrent block: its own spikes of the previous step
            own = len(self.layers)
            rec = r.dense_path(g, where, own, shape, shape, weight=r.ints(g, "weight_rec", where))
            rg = _group(_group(g, "asnn"), "rec") if self.ours else None
            if rg is not None:  # our files: the path's shift, mask, grid and own bias
                _read_ext(r, rg, where, rec)
                if rec.source != own:
                    raise r.fail(where, f"recurrent path source {rec.source} is not the layer itself ({own})")
                rec.bias = r.ints(rg, "bias", where, False)
            paths.append(rec)
        if getattr(neuron, "role", None) == "sigma":
            for p_ in paths:
                p_.bias = None  # lava-dl's Sigma output has no bias
        return ir.Layer(name=name, shape=shape, neuron=neuron, paths=paths, delay=_delay(r, g, where, shape))


def _schedule_timesteps(layers: list[ir.Layer]) -> int:
    """T of a file without a time base: its ASNN schedules' length if they agree, else 0 (from the input)."""
    steps = {p for p in (getattr(l_.neuron, "period", 1) for l_ in layers) if p > 1}
    return steps.pop() if len(steps) == 1 else 0


def _read(path: Path, f: h5py.File, given_shape: tuple[int, ...] | None = None) -> ir.Network:
    """The IR of an open NetX file (InputError / UnsupportedLayerError naming the file and layer)."""
    keys = _layer_keys(path, f)
    ours, meta, timesteps = _file_attrs(path, f)
    walk = _Walk(r=_Reader(path, f), ours=ours, meta=meta, given_shape=given_shape)
    for k in keys:
        walk.layer(k, f["layer"][k])
    if walk.input_spec is None:
        raise InputError(f"{path}: no input layer")
    if not walk.layers:
        raise InputError(f"{path}: the network has no layers after its input")
    steps = timesteps or _schedule_timesteps(walk.layers)
    net = ir.Network(input=walk.input_spec, layers=walk.layers, timesteps=steps, meta=meta)
    check_ranges(path, net)  # a foreign file without a time base gets T from its input later
    return net


def _read_paths(r: _Reader, g, where, kind, sources, in_shapes, current_shape, shape, ours,
                input_shape) -> list[ir.Path]:
    if kind in ("convT", "unpool"):
        if len(sources) != 1:
            raise r.fail(where, f"{kind} after a concat is not supported")
        return [_transposed_path(r, g, where, kind, sources[0], in_shapes[0], shape)]
    if kind == "pool":
        w = r.ints(g, "weight", where, False, np.array(1)).reshape(-1)
        kernel = r.pair(g, "kernelSize", where, 2)
        channels = in_shapes[0][0] if len(in_shapes[0]) == 3 else 0
        if len(shape) != 3 or channels != shape[0]:
            raise r.fail(where, f"pool from {in_shapes[0]} to {shape} changes the channel count")
        weight = np.full((channels, 1, *kernel), int(w[0]), dtype=np.int64)
        return [r.conv_path(g, where, sources[0], in_shapes[0], shape, weight=weight, groups=channels)]
    main_in = in_shapes[0] if len(sources) == 1 else current_shape
    ext = _group(g, "asnn") if ours else None
    if kind == "conv":
        if len(sources) > 1:  # concat: split the input channels per source
            weight = r.ints(g, "weight", where)
            weight = weight[..., 0] if weight.ndim == 5 else weight
            paths, start = [], 0
            for k, (s, sh) in enumerate(zip(sources, in_shapes)):
                part = weight[:, start:start + sh[0]]
                start += sh[0]
                pg = _group(ext, f"path{k}") if ext is not None else None
                if pg is not None and "kernelSize" in pg:  # our own geometry of a concatenated path
                    part = _native_weight(r, pg, where, part)
                    paths.append(r.conv_path(pg, where, s, sh, shape, weight=part))
                else:
                    paths.append(r.conv_path(g, where, s, sh, shape, weight=part))
            if start != weight.shape[1]:
                raise r.fail(where, f"concat of {start} channels feeds a conv expecting {weight.shape[1]}")
        else:
            paths = [r.conv_path(g, where, sources[0], main_in, shape)]
    else:
        if len(sources) > 1:
            weight = r.ints(g, "weight", where)
            paths, start = [], 0
            for s, sh in zip(sources, in_shapes):
                n = int(np.prod(sh))
                paths.append(r.dense_path(g, where, s, sh, shape, weight=weight[:, start:start + n]))
                start += n
        else:
            paths = [r.dense_path(g, where, sources[0], main_in, shape)]
    bias = r.ints(g, "bias", where, False)
    if bias is not None:
        bias = bias.reshape(-1)
        if bias.size not in (1, shape[0], int(np.prod(shape))):
            raise r.fail(where, f"bias of {bias.size} values for a layer of shape {shape}")
    paths[0].bias = bias
    if ext is not None:
        for k, p in enumerate(list(paths)):
            if f"path{k}" in ext:
                _read_ext(r, ext[f"path{k}"], where, p)
                if "bias" in ext[f"path{k}"]:  # each path's own bias (the layer's is their sum)
                    p.bias = r.ints(ext[f"path{k}"], "bias", where).reshape(-1)
        k = len(paths)
        while f"path{k}" in ext:
            pg = ext[f"path{k}"]
            pkind = r.text(pg, "type", where)
            src = r.source(pg, where)
            if not ir.is_input(src):
                raise r.fail(where, f"extra path from source {src}: only the input streams may feed "
                                    "extra paths")
            p = (r.conv_path(pg, where, src, input_shape, shape) if pkind == "conv"
                 else r.dense_path(pg, where, src, input_shape, shape))
            p.bias = r.ints(pg, "bias", where, False)
            _read_ext(r, pg, where, p)
            paths.append(p)
            k += 1
    return paths


def _group(g, key: str) -> h5py.Group | None:
    """g[key] if it is a group, else None."""
    obj = g.get(key) if isinstance(g, h5py.Group) else None
    return obj if isinstance(obj, h5py.Group) else None


def _own_source(r: _Reader, g, where: str, current: ir.Source, n_layers: int, ours: bool) -> ir.Source:
    """The source of a single-source layer: the previous one, or (our files) the recorded one."""
    path0 = _group(_group(g, "asnn"), "path0") if ours else None
    if path0 is None or "source" not in path0:
        return current
    src = r.source(path0, where)
    if not ir.is_input(src) and not 0 <= src < n_layers:
        raise r.fail(where, f"path source {src} is not an earlier layer")
    return src


def _native_weight(r: _Reader, pg, where: str, part: np.ndarray) -> np.ndarray:
    """Undo the writer's expansion of a concatenated conv path: crop the centred kernel, and
    take the block diagonal of a grouped one. Anything cut away must be zero."""
    kh, kw = r.pair(pg, "kernelSize", where, 1)
    groups = r.scalar(pg, "groups", where, False, 1)
    big_h, big_w = part.shape[2:]
    dy, dx = (big_h - kh) // 2, (big_w - kw) // 2
    if not (1 <= kh <= big_h and 1 <= kw <= big_w) or groups < 1 or part.shape[0] % groups \
            or part.shape[1] % groups:
        raise r.fail(where, f"concatenated path of kernel {(kh, kw)}, groups {groups} "
                            f"does not fit {part.shape}")
    inner = part[:, :, dy:dy + kh, dx:dx + kw]
    lost = int(np.abs(part).sum() - np.abs(inner).sum())
    if groups > 1:
        per_out, per_in = part.shape[0] // groups, part.shape[1] // groups
        blocks = np.stack([inner[o, (o // per_out) * per_in:(o // per_out + 1) * per_in]
                           for o in range(part.shape[0])])
        lost += int(np.abs(inner).sum() - np.abs(blocks).sum())
        inner = blocks
    if lost:
        raise r.fail(where, "concatenated path has weights outside its own kernel or groups")
    return np.ascontiguousarray(inner)


def _read_ext(r: _Reader, pg, where, p: ir.Path) -> None:
    p.source = r.source(pg, where)
    p.shift = r.scalar(pg, "shift", where)
    mask = r.ints(pg, "mask", where, False)
    p.mask = tuple(int(v) for v in mask.reshape(-1)) if mask is not None and mask.size else None
    p.graded = bool(r.scalar(pg, "graded", where, False, 0))
    p.grid = ir.WeightGrid(r.scalar(pg, "weightExponent", where, False, 0), r.scalar(pg, "weightBits", where, False, 8))


def _inferred_input(r: _Reader, g, where: str, kind: str, given: tuple[int, ...] | None) -> tuple[int, ...]:
    """The input shape of a file with no ``input`` layer: ``given``, else a dense layer's fan-in."""
    if given is not None:
        if not given or any(int(s) < 1 for s in given) or len(given) > 3:
            raise r.fail(where, f"invalid input shape {tuple(given)}")
        return tuple(int(s) for s in given)
    if kind in ("dense", "dense_rec"):
        n_out = int(np.prod(r.shape(g, where)))
        weight = r.ints(g, "weight/real" if isinstance(g.get("weight"), h5py.Group) else "weight", where)
        if weight.size % n_out:
            raise r.fail(where, f"dense weight of {weight.size} values for {n_out} neurons")
        return (weight.size // n_out,)
    raise r.fail(where, f"no input layer and the first layer ({kind}) does not tell the input shape; "
                        "give --input-shape C,H,W")


def _delay(r: _Reader, g, where: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """A layer's NetX ``delay`` as steps per neuron, or None for none.

    As lava-dl's loader reads it: a neuron's synaptic input arrives ``delay`` steps late
    (one value, one per channel, or one per neuron), clamped to [0, AXON_DELAY_MAX]."""
    raw = r.get(g, "delay", where, required=False)
    if raw is None:
        return None
    arr = np.asarray(raw, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise r.fail(where, "delay has negative, NaN or inf values")
    steps = np.minimum(np.floor(arr), lim.AXON_DELAY_MAX).astype(np.int64)
    n = int(np.prod(shape))
    if steps.size == 1:
        per = np.full(shape, steps[0], dtype=np.int64)
    elif steps.size == n:
        per = steps.reshape(shape)
    elif len(shape) == 3 and steps.size == shape[0]:
        per = np.broadcast_to(steps.reshape(-1, 1, 1), shape).copy()
    else:
        raise r.fail(where, f"delay of {steps.size} values: only one per output neuron ({n}) or per "
                            "channel is supported (per-input delays are not)")
    if not np.any(per):
        return None
    return per


_REFUSED = {
    "ADRF": "adaptive resonate-and-fire: lava-dl's NetX loader runs it as a plain RF neuron, without its "
            "adaptive threshold; ours runs ADRF_PHASE only (no Izhikevich form of the ADRF kind)",
}


def _refusal_reason(kind: str) -> str:
    """Why a neuron type lava-dl writes is refused, as a suffix ('' when none is known)."""
    for key, why in _REFUSED.items():
        if key in kind:
            return f"; {why}"
    return ""


def _complex_paths(r: _Reader, g, where, kind, sources, in_shapes, current_shape, shape) -> list[ir.Path]:
    """A resonate-and-fire layer's complex dense synapse: weight/real and weight/imag."""
    if kind != "dense" or len(sources) != 1:
        raise UnsupportedLayerError(f"{r.path}: {where}: resonate-and-fire neurons run behind one dense "
                                    f"layer only (lava-dl's ComplexDense), not {kind}")
    paths = []
    for part in ("real", "imag"):
        w = r.ints(g, f"weight/{part}", where)
        p = r.dense_path(g, where, sources[0], in_shapes[0], shape, weight=w)
        p.imag = part == "imag"
        paths.append(p)
    return paths


def _transposed_path(r: _Reader, g, where: str, kind: str, source, in_shape, shape) -> ir.Path:
    """A ``convT`` (weight (C_in, C_out / groups, kH, kW), as SLAYER's ConvTranspose exports it) or
    an ``unpool`` (one weight, each channel spread over a kernel) as a transposed-conv path."""
    if len(in_shape) != 3 or len(shape) != 3:
        raise r.fail(where, f"{kind} needs (C, H, W) shapes, got {in_shape} -> {shape}")
    if kind == "unpool":
        kernel = r.pair(g, "kernelSize", where, 2)
        w = r.ints(g, "weight", where, False, np.array(1)).reshape(-1)
        if in_shape[0] != shape[0]:
            raise r.fail(where, f"unpool from {in_shape} to {shape} changes the channel count")
        if w.size not in (1, kernel[0] * kernel[1]):
            raise r.fail(where, f"unpool weight of {w.size} values for a {kernel} kernel")
        kern = np.broadcast_to(w.reshape(1, 1, *((1, 1) if w.size == 1 else kernel)), (in_shape[0], 1, *kernel))
        weight, groups = kern.astype(np.int64).copy(), in_shape[0]
        stride = r.pair(g, "stride", where, kernel[0])
    else:
        weight = r.ints(g, "weight", where)
        weight = weight[..., 0] if weight.ndim == 5 else weight
        groups = r.scalar(g, "groups", where, False, 1)
        if weight.ndim != 4 or groups < 1 or weight.shape[0] != in_shape[0] or weight.shape[1] * groups != shape[0]:
            raise r.fail(where, f"convT weight {weight.shape} (groups {groups}) does not connect {in_shape} to {shape}")
        stride = r.pair(g, "stride", where, 1)
    p = ir.Path(source=source, kind="convT", weight=weight, kernel=tuple(weight.shape[2:]), stride=stride,
                padding=r.pair(g, "padding", where, 0), dilation=r.pair(g, "dilation", where, 1), groups=groups)
    for a in (0, 1):
        base = (in_shape[1 + a] - 1) * p.stride[a] - 2 * p.padding[a] + p.dilation[a] * (p.kernel[a] - 1) + 1
        if not 0 <= shape[1 + a] - base < max(p.stride[a], p.dilation[a]) or min(p.stride[a], p.dilation[a]) < 1:
            raise r.fail(where, f"{kind} geometry turns {tuple(in_shape)} into {base} along axis {a}, "
                                f"but the layer's shape is {tuple(shape)}")
    return p
