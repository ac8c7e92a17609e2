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
from asnn_neuro.errors import InputError

SynapseKind = Literal["conv", "convT", "dense", "pool", "identity"]


class Stream(Enum):
    """The network's two input streams (hybrid coding uses both)."""

    SPIKES = "spikes"   # binary frames (0/1)
    GRADED = "graded"   # graded payloads (analog pixels as 0..255)


INPUT_SPIKES = Stream.SPIKES
INPUT_GRADED = Stream.GRADED
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


@dataclass(frozen=True)
class CubaNeuron:
    """Loihi's stock CUBA-LIF (Lava ``LIF``), as NetX describes it.

    i_decay, v_decay: 12-bit decays as written in NetX (Lava's du = i_decay - 1, dv = v_decay);
    vth_mant: threshold mantissa (compared as v > vth_mant << 6).
    """

    i_decay: int
    v_decay: int
    vth_mant: int
    ref_delay: int = 1
    graded_spike: bool = False
    kind: Literal["CUBA"] = "CUBA"

    @property
    def du(self) -> int:
        return int(self.i_decay) - 1

    @property
    def dv(self) -> int:
        return int(self.v_decay)


@dataclass(frozen=True)
class AdaptiveNeuron:
    """The ASNN neuron with per-step schedules (length = period = time steps per sample).

    leak, gain: lam[t] and g[t] times 4096; threshold: in state units (4096 == 1.0);
    readout: non-spiking integrator whose state is the network output;
    reset: what a spike subtracts from the state (None: the threshold, the ASNN soft reset).
    """

    leak: tuple[int, ...]
    gain: tuple[int, ...]
    threshold: int = 4096
    readout: bool = False
    reset: int | None = None
    kind: Literal["ASNN"] = "ASNN"

    @property
    def reset_amount(self) -> int:
        """What a spike subtracts from the state, in state units."""
        return int(self.threshold if self.reset is None else self.reset)

    @property
    def period(self) -> int:
        return len(self.leak)


SigmaDeltaRole = Literal["delta", "sigma_delta", "sigma"]


@dataclass(frozen=True)
class SigmaDeltaNeuron:
    """lava-dl's sigma-delta neuron (NetX ``type = 'SDNN'``) as its loader runs it on Lava.

    role: ``delta`` (an input layer: sends the changes of its input), ``sigma_delta`` (sums its
    graded input, adds the bias, ReLU, sends the changes), ``sigma`` (an output layer marked
    ``sigma_output``: sends its running sum); vth_mant: the delta threshold, compared as
    |change| >= vth_mant << (spike_exp + state_exp); spike_exp: fraction bits of a graded spike,
    state_exp: extra fraction bits of the state (lava-dl's defaults 6 and 6). lava-dl's loader
    always uses ReLU and no cumulative error (``cum_error`` False), whatever the file says.
    """

    vth_mant: int = 0
    role: SigmaDeltaRole = "sigma_delta"
    spike_exp: int = 6
    state_exp: int = 6
    cum_error: bool = False
    kind: Literal["SDNN"] = "SDNN"

    @property
    def vth(self) -> int:
        """The threshold in state units."""
        return int(self.vth_mant) << (self.spike_exp + self.state_exp)


@dataclass(frozen=True)
class ResonateNeuron:
    """A resonate-and-fire neuron (NetX ``RF_PHASE`` / ``RF_IZHIKEVICH``) as lava-dl's loader runs
    it: Lava's RF (fires when the phase crosses zero with the real part above threshold) or RF_IZ
    (fires when the imaginary part reaches the threshold, then resets).

    sin_decay, cos_decay: (1 - alpha) sin / cos of the rotation per step, 12-bit fractions (as
    lava-dl derives them from the file's sinDecay / cosDecay); vth: threshold in state units
    (vThMant << 6). Its paths with ``imag`` set drive the imaginary part."""

    sin_decay: int
    cos_decay: int
    vth: int
    izhikevich: bool = False
    state_exp: int = 6
    kind: Literal["RF"] = "RF"


Neuron = CubaNeuron | AdaptiveNeuron | SigmaDeltaNeuron | ResonateNeuron


def sends_values(layer: Layer) -> bool:
    """True when a layer sends graded values (sigma-delta messages, readout states), not 0/1."""
    n = layer.neuron
    return isinstance(n, SigmaDeltaNeuron) or (isinstance(n, AdaptiveNeuron) and n.readout)


def is_state_readout(layer: Layer) -> bool:
    """True when a layer's output is its state at the last step (ASNN readout, SDNN sigma)."""
    n = layer.neuron
    return (isinstance(n, AdaptiveNeuron) and n.readout) or (isinstance(n, SigmaDeltaNeuron) and n.role == "sigma")


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
        """Paths grouped by the neuron port they drive ('spike' or 'graded'); a port sums its
        paths, so they must share the shift and the mask."""
        groups: dict[str, list[Path]] = {"spike": [], "graded": []}
        for p in self.paths:
            groups["graded" if p.graded else "spike"].append(p)
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
    if not isinstance(n, CubaNeuron) or len(layer.paths) != 1:
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
                    p.source, p.graded = INPUT_GRADED, True

    def streams(self) -> set[Stream]:
        """The input streams some path reads."""
        return {p.source for layer in self.layers for p in layer.paths if is_input(p.source)}
