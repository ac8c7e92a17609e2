"""``asnn import FILE.nir --name NAME``: a NIR graph -> float graph + chip network, written at once.

Writes ``netx_exports/NAME/`` atomically: ``float.npz`` (the float graph, run by
``asnn simulate NAME --backend executor --precision float``), ``network.net`` (the chip network
in NetX, unless the chip path refused the graph) and ``import.json`` (what each NIR node became,
every approximation, the conventions used).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from asnn_neuro.deploy.export import describe
from asnn_neuro.deploy.netx.validate import check_ranges
from asnn_neuro.deploy.netx.write import write_network
from asnn_neuro.deploy.nir.losses import exporter_warnings
from asnn_neuro.deploy.nir.lower import lower_graph
from asnn_neuro.deploy.nir.read import convention, from_nir_graph, read_nir, save_float
from asnn_neuro.deploy.quantize import DEFAULT_MAX_CLIP, check_bits
from asnn_neuro.encoding import MAX_TIMESTEPS
from asnn_neuro.errors import InputError
from asnn_neuro.util import atomic, outputs
from asnn_neuro.util.names import check_name


def import_nir(file: str | Path | Any, name: str, source: str = "nir", dt: float | None = None, timesteps: int = 10,
               weight_bits: int = 8, max_clip: float = DEFAULT_MAX_CLIP, workdir: str | Path = "netx_exports",
               fix_norse_tau: bool = False) -> dict:
    """Import ``file`` (a .nir path, or an in-memory ``nir.NIRGraph``) as export ``name``; returns
    import.json's content (its ``warnings``: what the source's exporter may have lost, one line
    each). ``timesteps`` is the default T of ``--dataset`` runs; the network runs any T an input
    file brings."""
    check_name(name)
    outputs.check_target(Path(workdir) / name, "import")  # before reading: never over a trained model
    check_bits(weight_bits)
    if not 1 <= timesteps <= MAX_TIMESTEPS:
        raise InputError(f"--timesteps must be between 1 and {MAX_TIMESTEPS}, got {timesteps}")
    if not 0 <= max_clip < 1:
        raise InputError(f"--max-clip must be a fraction in [0, 1), got {max_clip!r}")
    if isinstance(file, (str, Path)):
        fg = read_nir(file, source, dt, fix_norse_tau=fix_norse_tau)
    else:
        fg = from_nir_graph(file, replace(convention(source, dt), dt_tau=fix_norse_tau), "<nir.NIRGraph>")
        file = "<nir.NIRGraph>"
    low = lower_graph(fg, timesteps, weight_bits, max_clip)
    if low.net is not None:
        check_ranges(Path(file), low.net)
    conv = fg.convention
    info = {
        "name": name, "file": str(file), "source": conv.name, "dt": conv.dt, "timesteps": timesteps,
        "weight_bits": weight_bits, "max_clip": max_clip,
        "conventions": {"reset": conv.reset, "fire": conv.fire, "form": conv.form, "start": conv.start,
                        "synapse": conv.synapse, "spikes": conv.spikes, "dt_tau": conv.dt_tau},
        "warnings": exporter_warnings(fg),
        "input_shape": list(fg.input_shape), "float_graph": "float.npz",
        "network": None if low.net is None else "network.net", "chip_refused": low.refused,
        "nodes": low.nodes, "approximations": low.approximations,
        "layers": describe(low.net) if low.net is not None else [],
    }
    if low.net is not None:
        info["neurons"] = int(sum(layer.neurons for layer in low.net.layers))
        info["synapses"] = int(sum(np.asarray(p.weight).size for layer in low.net.layers for p in layer.paths
                                   if p.weight is not None))
    with outputs.named_dir(Path(workdir) / name, "import") as tmp:
        save_float(fg, tmp / "float.npz")
        if low.net is not None:
            write_network(low.net, tmp / "network.net")
        atomic.write_json(tmp / "import.json", info)
    return info
