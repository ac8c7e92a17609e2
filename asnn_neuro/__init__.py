"""asnn-neuro: train adaptive spiking networks with lava-dl, deploy them to Loihi's fixed point.

``import asnn_neuro as an`` is light: the Python API (``an.load``, ``an.import_nir``, ``an.train``,
``an.energy``, ``an.fit``, ``an.report``; docs/python_api.md) loads on first use, and torch and
Lava only when a stage runs.
"""

from asnn_neuro.util.lazy import lazy_attributes

# energy, fit and report are the stage packages, callable as the API's functions (util.lazy.CallableStage)
__getattr__, __dir__ = lazy_attributes(__name__, {
    **{name: "api" for name in ("Energy", "Network", "Run", "import_nir", "load", "train")},
    **{stage: stage for stage in ("energy", "fit", "report")}})

__all__ = ["Energy", "Network", "Run", "energy", "fit", "import_nir", "load", "report", "train"]
