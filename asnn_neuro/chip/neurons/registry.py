"""Every neuron kind, keyed by its ``kind`` name: the one list a new kind joins.

Backends, readers and writers ask ``of(params)`` for a layer's kind record (``base.Kind``)
instead of testing its class."""

from __future__ import annotations

from typing import Any

from asnn_neuro.chip.neurons import adrf, alif, asnn, cuba, cuba_li, cuba_sub, rf, sdnn
from asnn_neuro.chip.neurons.base import Kind

KINDS: dict[str, Kind] = {k.name: k for k in (
    cuba.KIND,
    asnn.KIND,
    sdnn.KIND,
    rf.KIND,
    cuba_sub.KIND,
    cuba_li.KIND,
    alif.KIND,
    adrf.KIND,
)}


def get(name: str) -> Kind:
    """The kind named ``name`` (KeyError naming the known ones)."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"neuron kind {name!r} is not registered (known: {', '.join(KINDS)})") from None


def of(params: Any) -> Kind:
    """The kind of a neuron's parameter dataclass."""
    return get(params.kind)


def for_netx_type(netx_type: str) -> Kind | None:
    """The kind that reads NetX neurons of ``netx_type``: an exact name, else a family name the
    type extends (``RF`` reads ``RF_PHASE``); None when no kind reads it."""
    for kind in KINDS.values():
        if netx_type in kind.netx_types:
            return kind
    for kind in KINDS.values():
        if any(netx_type.startswith(t + "_") for t in kind.netx_types):
            return kind
    return None


def netx_types() -> tuple[str, ...]:
    """Every NetX neuron type some kind reads."""
    return tuple(t for kind in KINDS.values() for t in kind.netx_types)
