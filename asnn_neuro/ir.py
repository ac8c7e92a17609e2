"""A small typed description of a deployable network (the export IR).

The trainer's models are lowered to this IR (``deploy.lower``), the IR is written to
NetX HDF5 (``deploy.netx``), and every consumer reads the IR back: the Lava graph
builder (``backends.lava.graph``), the integer executor (``backends.executor``), the
energy estimator. Shapes use torch's layout: (C, H, W) for maps, (n,) for vectors;
the Lava builder converts to Lava's (W, H, C).

All chip fields are the deployed integers (see ``chip.fixed_point`` for their meaning);
``WeightGrid`` records how they were quantised, for reports only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, Union

import numpy as np

from asnn_neuro.chip import limits as lim
from asnn_neuro.chip.neurons import registry
from asnn_neuro.chip.neurons.asnn import AdaptiveNeuron  # noqa: F401  (the kinds' IR nodes, re-exported)
from asnn_neuro.chip.neurons.base import Params
from asnn_neuro.chip.neurons.cuba import CubaNeuron
from asnn_neuro.chip.neurons.rf import ResonateNeuron  # noqa: F401
from asnn_neuro.chip.neurons.sdnn import SigmaDeltaNeuron  # noqa: F401
from asnn_neuro.errors import InputError

SynapseKind = Literal["conv", "convT", "dense", "pool", "identity"]


class Stream(Enum):
    """The network's two input streams (hybrid coding uses both)."""

    SPIKES = "spikes"   # binary frames (0/1)
    GRADED = "graded"   # graded payloads (analog pixels as 0..255)


Source = Union[int, Stream]  # a layer index, or an input stream
_CODES = {Stream.SPIKES: -1, Stream.GRADED: -2}


def is_input(source: Source) -> bool:
    """True when ``source`` is an input stream rather than a layer."""
    return isinstance(source, Stream)


def source_code(source: Source) -> int:
    """The integer a file or JSON stores for ``source``: the layer index, -1 spikes, -2 graded."""
    return _CODES[source] if isinstance(source, Stream) else int(source)


def source_from_code(code: int) -> Source:
    """Inverse of ``source_code`` (a negative code other than -1/-2 raises ValueError)."""
    for stream, c in _CODES.items():
        if code == c:
            return stream
    if code < 0:
        raise ValueError(f"source code {code} is neither a layer nor an input stream")
    return int(code)


@dataclass(frozen=True)
class WeightGrid:
    """How a path's float weights were quantised: W ~= weight * 2**exponent, mantissas of ``bits``
    bits. Reports only: the chip sees weight, bias and shift."""

    exponent: int = 0
    bits: int = 8


Neuron = Params  # a neuron kind's parameter dataclass (``chip.neurons``; ``registry.of`` gives its kind)


def sends_values(layer: Layer) -> bool:
    """True when a layer sends graded values (sigma-delta messages, readout states), not 0/1."""
    return registry.of(layer.neuron).sends_values(layer.neuron)


def is_state_readout(layer: Layer) -> bool:
    """True when a layer's output is its state at the last step (ASNN readout, SDNN sigma)."""
    return registry.of(layer.neuron).state_readout(layer.neuron)


@dataclass
class Path:
    """One synaptic connection into a layer: source layer -> synapse -> this layer's neurons.

    weight: integer weights (conv: (C_out, C_in/groups, kH, kW); convT, a transposed conv (NetX
    ``convT`` / ``unpool``): (C_in, C_out/groups, kH, kW) as torch; dense: (out, in);
    pool: None, the kernel is all ones; identity: None).
    bias: integer bias per output channel (conv/pool) or neuron (dense), in accumulator units.
    shift: ASNN only -- right shift from (accum + bias) * gain to state units.
    mask: ASNN only -- 0/1 per time step, when the path (and its bias) is live.
    graded: the source sends graded payloads (analog pixels, 0..255) instead of spikes.
    grid: the quantisation of this path (for reports).
    """

    source: Source
    kind: SynapseKind
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    shift: int = 0
    mask: tuple[int, ...] | None = None
    graded: bool = False
    grid: WeightGrid = WeightGrid()
    imag: bool = False  # drives a resonate-and-fire neuron's imaginary part


@dataclass
class Layer:
    """A population of neurons fed by one or more paths.

    delay: time steps each neuron's synaptic input arrives late (NetX's ``delay``, as lava-dl's
    loader runs it: a ``DelayDense`` row per neuron; an int array of ``shape``), None for none.
    With zero bias and zero initial state this equals delaying the neuron's output (SLAYER's
    axonal delay). A path whose source is the layer itself is a recurrent connection (it
    reads the layer's output of the previous step).
    """

    name: str
    shape: tuple[int, ...]
    neuron: Neuron
    paths: list[Path] = field(default_factory=list)
    delay: np.ndarray | None = None

    @property
    def neurons(self) -> int:
        return int(np.prod(self.shape))

    @property
    def type(self) -> str:
        """NetX-style type of the layer's main path (conv, dense, pool...)."""
        return self.paths[0].kind if self.paths else "input"

    def port_groups(self) -> dict[str, list[Path]]:
        """Paths grouped by the neuron port they drive ('spike', 'graded', or 'imag': a resonator's
        imaginary part); a port sums its paths, so they must share the shift and the mask."""
        groups: dict[str, list[Path]] = {"spike": [], "graded": [], "imag": []}
        for p in self.paths:
            groups["imag" if p.imag else "graded" if p.graded else "spike"].append(p)
        for name, paths in groups.items():
            if len({(p.shift, p.mask) for p in paths}) > 1:
                raise InputError(f"layer '{self.name}': paths into its {name} port differ in shift or mask")
        return groups


def summed_bias(paths: list[Path], shape: tuple[int, ...]) -> np.ndarray:
    """The paths' biases added up, one value per neuron, as an int64 array of ``shape``.

    A path's bias is one value (all neurons), one per channel (``shape[0]`` values) or one
    per neuron."""
    total = np.zeros(shape, dtype=np.int64)
    for p in paths:
        if p.bias is None:
            continue
        b = np.asarray(p.bias, dtype=np.int64).reshape(-1)
        if b.size == 1:
            total += b[0]
        elif b.size == total.size:
            total += b.reshape(shape)
        elif b.size == shape[0]:
            total += b.reshape(-1, *([1] * (len(shape) - 1)))
        else:
            raise InputError(f"bias of {b.size} values does not fit a layer of shape {shape}")
    return total


def or_pool(layer: Layer) -> Path | None:
    """The path of a layer that is exactly an OR of its inputs, or None.

    A CUBA neuron with full current decay (iDecay 4096), threshold 0 and no bias, fed by
    non-negative weights from binary spikes, fires exactly when some input in its window
    spiked: its current is the window sum, its voltage is 0 before every update (reset on a
    spike, otherwise nothing was added). Such a layer can run as ``conv(x) > 0``.
    """
    n = layer.neuron
    if n.kind != CubaNeuron.kind or len(layer.paths) != 1:
        return None
    p = layer.paths[0]
    if n.i_decay != lim.DECAY_ONE or n.vth_mant != 0 or p.kind != "conv" or p.graded or is_input(p.source):
        return None
    if (p.bias is not None and np.any(p.bias)) or np.any(np.asarray(p.weight) < 0):
        return None
    return p


@dataclass
class InputSpec:
    """What the network eats: one frame of ``shape`` per step; graded (analog) or spikes."""

    shape: tuple[int, ...]
    graded: bool = False


@dataclass
class Network:
    """A feed-forward network with optional skip paths.

    Sources: a path's ``source`` is an earlier layer's index, or an input ``Stream``.
    """

    input: InputSpec
    layers: list[Layer]
    timesteps: int
    meta: dict = field(default_factory=dict)

    def depth(self) -> list[int]:
        """Pipeline depth of each layer in Lava time steps: a synapse adds one step, a direct
        (identity) connection none. All paths into a layer must arrive with the same depth."""
        depths: list[int] = []
        for i, layer in enumerate(self.layers):
            arrivals = {(0 if is_input(p.source) else depths[p.source]) + (p.kind != "identity") for p in layer.paths
                        if p.source != i}  # a recurrent path reads the previous step: no constraint
            if len(arrivals) != 1:
                raise ValueError(f"layer '{layer.name}': its inputs arrive after {sorted(arrivals)} steps; "
                                 "skip paths need matching delays")
            depths.append(arrivals.pop())
        return depths

    @property
    def output(self) -> Layer:
        return self.layers[-1]


    def source_shape(self, source: Source) -> tuple[int, ...]:
        """Shape of what ``source`` sends: the input frame, or a layer's neurons."""
        return tuple(self.input.shape) if is_input(source) else tuple(self.layers[source].shape)

    def read_graded_input(self) -> None:
        """Make every path that reads the input read it as graded payloads (a user's graded data)."""
        for layer in self.layers:
            for p in layer.paths:
                if is_input(p.source):
                    p.source, p.graded = Stream.GRADED, True

    def streams(self) -> set[Stream]:
        """The input streams some path reads."""
        return {p.source for layer in self.layers for p in layer.paths if is_input(p.source)}
