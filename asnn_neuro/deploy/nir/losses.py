"""What each library's NIR exporter leaves out, where the file shows it (docs/nir.md, "what the
exporter loses"): one warning line per loss, printed by ``asnn import`` and kept in import.json."""

from __future__ import annotations

import numpy as np

from asnn_neuro.deploy.nir.read import FloatGraph


def _nodes(fg: FloatGraph, kinds: tuple[str, ...]) -> list[str]:
    return [o.name for o in fg.ops if o.kind in kinds]


def exporter_warnings(fg: FloatGraph) -> list[str]:
    """One line per export loss the file shows, for the graph's source."""
    c = fg.convention
    out: list[str] = []
    if c.name == "snntorch":
        zero = [o.name for o in fg.ops if o.kind == "LIF" and not np.any(o.params.get("v_reset", 0))]
        if zero:
            out.append(f"LIF node '{zero[0]}' (and {len(zero) - 1} more): snnTorch's exporter writes the same LIF for "
                       "reset_mechanism 'subtract' and 'zero'; imported as 'subtract' (its default); a model built "
                       "with reset_mechanism='zero' imports exactly with --source nir")
    elif c.name == "sinabs":
        nodes = _nodes(fg, ("IF", "LIF", "LI"))
        if nodes:
            out.append(f"node '{nodes[0]}': Sinabs' exporter writes neither spike_fn, min_v_mem nor norm_input; "
                       "imported as SingleSpike, no lower bound, norm_input=True (MultiSpike layers and a "
                       "min_v_mem differ once they act)")
    elif c.name == "norse":
        nodes = [o.name for o in fg.ops if o.kind in ("LIF", "CubaLIF") and "v_reset" not in o.params]
        if nodes:
            out.append(f"node '{nodes[0]}': Norse's exporter does not write v_reset; imported as 0 (Norse's default)")
    elif c.name == "rockpool":
        for o in fg.ops:
            if o.kind in ("CubaLIF", "LIF", "LI"):
                tau = c.tau(o.params["tau_mem" if o.kind == "CubaLIF" else "tau"])
                gain = o.params["r"] * c.dt * np.exp(c.dt / tau) / tau
                if not np.allclose(gain, 1.0, rtol=1e-5):
                    out.append(f"node '{o.name}': r does not fit dt {c.dt:g} s (Rockpool writes r = tau e^(-dt/tau) "
                               "/ dt); the model ran with another dt: give it with --dt")
                    break
        nodes = _nodes(fg, ("CubaLIF", "LIF"))
        if nodes:
            out.append(f"node '{nodes[0]}': Rockpool's exporter writes v_leak 0 whatever the LIF's bias, and no dt "
                       f"({c.dt:g} s assumed)")
    return out
