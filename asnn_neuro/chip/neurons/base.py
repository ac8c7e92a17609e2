"""What every neuron kind provides, and what a step of one receives.

A neuron kind is one module of this package: its frozen parameter dataclass (the IR node that
``ir.Layer.neuron`` holds), its state, a pure ``step(params, state, drive) -> (out, state)`` on
numpy or torch int64 arrays, its limits, its NetX fields and its NIR node; the module ends with
``KIND = Kind(...)``, the record ``registry`` keys by name. The backends and the file formats look
a kind up (``registry.of(neuron)``) instead of testing classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from asnn_neuro.chip.arrays import Array, zeros

Port = Literal["spike", "graded", "imag"]
LavaMapping = Literal["generic", "lif_reset", "adaptive"]


class Params(Protocol):
    """A neuron kind's parameter dataclass: frozen, with its kind's name in ``kind``."""

    kind: str


@dataclass(frozen=True)
class PortDrive:
    """What one neuron port receives at one step: the integer synaptic sum of its paths (None when
    no path drives it), their summed bias (accumulator units), and the paths' shared shift and
    per-step mask (ASNN only)."""

    acc: Array | None
    bias: Array | int = 0
    shift: int = 0
    mask: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Drive:
    """The input of one neuron update: step ``t`` within the sample and each port's drive."""

    t: int
    ports: dict[str, PortDrive]
    shape: tuple[int, ...]  # (N, *layer shape) or the layer shape: what the state holds
    like: Any = None  # an array of the backend's kind (numpy or torch), for new zeros

    def zeros(self) -> Array:
        return zeros(self.like, self.shape)

    def total(self, ports: tuple[str, ...] = ("spike", "graded")) -> Array:
        """The summed synaptic input of ``ports`` (zeros when none is driven)."""
        acc = [self.ports[p].acc for p in ports if p in self.ports and self.ports[p].acc is not None]
        return sum(acc[1:], acc[0]) if acc else self.zeros()

    def bias(self, ports: tuple[str, ...] = ("spike", "graded")) -> Array | int:
        """The summed bias of ``ports``."""
        return sum((self.ports[p].bias for p in ports if p in self.ports), 0)


def _never(params: Any) -> bool:
    return False


def _no_problem(params: Any, steps: int) -> str | None:
    return None


@dataclass(frozen=True)
class Kind:
    """A neuron kind as the registry holds it.

    name: the IR's ``kind`` string; params: its parameter dataclass; init(params, shape, like):
    the resting state; step(params, state, drive) -> (out, state): one update (out: spikes 0/1,
    or graded values when ``sends_values``); sends_values / state_readout(params): whether the
    layer sends values instead of spikes / its output is its state at the last step; ports: the
    input ports it reads; delay: whether a layer of it may take NetX's per-neuron delays;
    check(params, steps): the first parameter outside its limits, as text, or None;
    label(params): the kind as reports name it; netx_types: the NetX ``neuron/type`` strings it
    reads (``netx_read(fields, type, is_input)``); netx_write(params): the fields it writes
    (None: not written); nir: the NIR node it is written as (None: not exported; nir_refusal
    says why); events: what one update costs on the chip, by event name, per neuron and step;
    lava: ``generic`` (the graph's ``KindNeuron`` process runs ``step``) or the name of a
    dedicated process the Lava graph builds; retime(params, steps): the parameters for ``steps``
    time steps per sample, or a reason (str) why they cannot change (None: no schedule, any T).
    """

    name: str
    params: type
    init: Callable[[Any, tuple[int, ...], Any], Any]
    step: Callable[[Any, Any, Drive], tuple[Array, Any]]
    sends_values: Callable[[Any], bool] = _never
    state_readout: Callable[[Any], bool] = _never
    ports: tuple[str, ...] = ("spike", "graded")
    delay: bool = False
    check: Callable[[Any, int], str | None] = _no_problem
    label: Callable[[Any], str] | None = None
    netx_types: tuple[str, ...] = ()
    netx_read: Callable[[Any, str, bool], Any] | None = None
    netx_write: Callable[[Any], dict[str, Any]] | None = None
    nir: str | None = None
    nir_refusal: str = ""
    events: dict[str, int] = field(default_factory=lambda: {"neuron_update": 1})
    lava: LavaMapping = "generic"
    retime: Callable[[Any, int], Any] | None = None

    def name_of(self, params: Any) -> str:
        return self.label(params) if self.label is not None else self.name


class NetxFields(Protocol):
    """Read access to one NetX ``neuron`` group, as the NetX reader gives it to a kind: each
    accessor names the file and the layer in its error."""

    def scalar(self, key: str, default: Any = ...) -> int: ...

    def ints(self, key: str) -> Any: ...

    def text(self, key: str) -> str: ...

    def has(self, key: str) -> bool: ...

    def fail(self, what: str) -> Exception: ...

    def refuse(self, what: str) -> Exception: ...
