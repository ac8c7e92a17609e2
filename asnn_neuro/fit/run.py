"""``asnn fit NET``: resolve the network, partition it, write fit.json and fit.md atomically."""

from __future__ import annotations

from pathlib import Path

from asnn_neuro import ir
from asnn_neuro.chip.limits import TABLE
from asnn_neuro.errors import InputError
from asnn_neuro.fit.census import from_network, read_census
from asnn_neuro.fit.chips import chip_spec
from asnn_neuro.fit.markdown import render_fit_md
from asnn_neuro.fit.partition import partition
from asnn_neuro.util.atomic import write_json, write_text
from asnn_neuro.util.outputs import check_target, claim


def network_file(net: str, workdir: str | Path = "netx_exports") -> Path:
    """An export name -> WORKDIR/NAME/network.net; otherwise a path to a NetX file."""
    as_export = Path(workdir) / net / "network.net"
    if as_export.is_file():
        return as_export
    path = Path(net)
    if path.is_file():
        return path
    raise InputError(f"{net}: neither an export in {workdir}/ nor a NetX file")


DEFAULT_TILING = "compiler"  # closest to the Loihi 2 compiler's core counts (docs/loihi_measurements.md)


def fit_census(census, chip: str = "loihi2", tiling: str = DEFAULT_TILING) -> dict:
    """fit.json's content for a census: the partition plus how the layers were read and the
    cited limits used. ``compiler`` imitates the Loihi 2 compiler; on Loihi 1 it means ``fewest``."""
    spec = chip_spec(chip)
    if tiling == "compiler" and spec.name != "loihi2":
        tiling = "fewest"
    result = partition(census, spec, tiling)
    if tiling == "compiler":  # our fewest-cores search stays as the lower bound
        result["cores_fewest"] = partition(census, spec, "fewest")["cores"]
    rows = {row.name: row for row in TABLE}
    result.update({
        "read_with": census.origin,
        "notes": list(census.notes),
        "limit_sources": [{"name": n, "value": rows[n].value, "what": rows[n].what, "source": rows[n].source,
                           "confidence": rows[n].confidence} for n in spec.limit_rows],
        "idle_watts": (None if spec.idle_w_per_chip is None
                       else spec.idle_w_per_chip * result["cores"] / spec.cores_per_chip),
    })
    return result


def fit_network(net: ir.Network, chip: str = "loihi2", tiling: str = DEFAULT_TILING) -> dict:
    """fit.json's content for an IR network."""
    return fit_census(from_network(net), chip, tiling)


def run_fit(net: str, chip: str = "loihi2", tiling: str = DEFAULT_TILING, workdir: str | Path = "netx_exports",
            simdir: str | Path = "sims") -> tuple[dict, Path]:
    """Fit ``net`` (export name or NetX file) and write SIMDIR/NAME-fit/fit.json and fit.md."""
    spec = chip_spec(chip)  # refuse a bad --chip before reading anything
    path = network_file(net, workdir)
    census = read_census(path)
    result = fit_census(census, spec.name, tiling)
    if spec.name == "loihi2":
        from asnn_neuro.fit.timing import fit_time_bounds

        result["timing"] = fit_time_bounds(result, census)
    name = path.parent.name if path.name == "network.net" and path.parent.name else path.stem
    result["net"] = name
    result["network_file"] = str(path)
    from asnn_neuro.chip.measurements import measured_for

    row = measured_for(path)
    if row is not None:  # a network measured on a board: its row beside the estimate
        result["measured"] = {k: row.get(k) for k in ("name", "chip", "cores", "step_seconds", "fps",
                                                      "dynamic_mj", "static_w", "source", "can_run")}
    out = Path(simdir) / f"{name}-fit"
    check_target(out, "fit")
    text = render_fit_md(result)  # rendered first: a failure leaves neither file
    write_json(claim(out, "fit") / "fit.json", result)
    write_text(out / "fit.md", text)
    return result, out
