"""Run an imported NIR network for any number of time steps per sample.

NIR neurons do not change with time, so the chip network ``asnn import`` writes is the same at
every step: its ASNN schedules (leak, gain, path masks) are constant. ``--timesteps`` at import
only sets the default T (for ``--dataset`` runs); ``retime`` stretches the schedules to the T
an input file brings.
"""

from __future__ import annotations

from dataclasses import replace

from asnn_neuro import ir
from asnn_neuro.chip.neurons import registry
from asnn_neuro.errors import InputError


def is_imported(net: ir.Network) -> bool:
    """A chip network written by ``asnn import`` (NetX attribute ``model = 'nir'``)."""
    return str(net.meta.get("model", "")) == "nir"


def retime(net: ir.Network, steps: int) -> None:
    """Set ``net`` to ``steps`` time steps per sample, in place (its schedules must be constant)."""
    if steps == net.timesteps:
        return
    for layer in net.layers:
        stretch = registry.of(layer.neuron).retime
        if stretch is not None:
            neuron = stretch(layer.neuron, steps)
            if isinstance(neuron, str):
                raise InputError(f"layer '{layer.name}': {neuron}")
            layer.neuron = neuron
        for i, p in enumerate(layer.paths):
            if p.mask is not None:
                if not all(p.mask):
                    raise InputError(f"layer '{layer.name}': a path is masked at some steps, so it runs "
                                     f"{len(p.mask)} steps per sample only")
                layer.paths[i] = replace(p, mask=(1,) * steps)
    net.timesteps = steps
