"""Chip resource fit: how many neuro cores (and chips) a network takes under per-core limits.

``census`` reads a network's layers (shapes, weights, neuron type), ``chips`` holds the per-core
limits of each chip (from ``chip.limits``), ``partition`` maps each layer onto cores, ``run``
writes ``fit.json`` and ``fit.md``.
"""

from asnn_neuro.util.lazy import callable_stage

callable_stage(__name__)  # asnn_neuro.fit(...) is asnn_neuro.api.fit(...)
