"""The Python API (``import asnn_neuro as an``): one entry point per stage, the same files as the CLI.

``an.load(NET)`` / ``an.import_nir(graph)`` / ``an.train(...)`` -> ``Network``;
``net.simulate(x, backend=..., precision=...)`` -> ``Run``; ``an.energy(run)``, ``an.fit(net)``,
``an.report([runs])``. docs/python_api.md has a worked example.
"""

from __future__ import annotations

from asnn_neuro.api.network import Network, import_nir, load, train
from asnn_neuro.api.run import Energy, Run, energy, report


def fit(net: Network | str, chip: str = "loihi2", tiling: str = "fewest") -> dict:
    """Cores and chips ``net`` (a ``Network`` or anything ``load`` takes) needs on Loihi."""
    return (net if isinstance(net, Network) else load(net)).fit(chip, tiling)


__all__ = ["Energy", "Network", "Run", "energy", "fit", "import_nir", "load", "report", "train"]
