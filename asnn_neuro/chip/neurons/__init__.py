"""Neuron kinds: one module per kind (its parameters, state, step, limits, file fields), and
``registry``, which lists them by name (docs/architecture.md, "Add a neuron kind")."""
