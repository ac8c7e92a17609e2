"""Where lava-dl's installed package keeps its shipped NetX test networks (``tests/lava/lib/dl/netx/gts``:
PilotNet LIF/SDNN, NTIDIGITS, Oxford, ...), found without importing lava."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def shipped_networks() -> Path | None:
    """The ``gts`` folder next to the installed ``lava.lib.dl.netx``, or None when lava-dl (or the folder) is absent."""
    spec = importlib.util.find_spec("lava.lib.dl.netx")
    if spec is None or spec.origin is None:
        return None
    for root in Path(spec.origin).parents:
        cand = root / "tests" / "lava" / "lib" / "dl" / "netx" / "gts"
        if cand.is_dir():
            return cand
    return None
