"""The report's PNG plots, drawn headless (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from asnn_neuro.errors import InputError
from asnn_neuro.report.collect import ReportRow
from asnn_neuro.util.atomic import write_with

DPI = 130


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path.name


def pareto_front(points: list[tuple[float, float]],
                 intervals: list[tuple[float, float]] | None = None) -> list[int]:
    """Indices of points no other point beats (lower or equal energy AND higher or equal accuracy).

    With ``intervals`` (accuracy (low, high) per point) a point is beaten only by one with lower or
    equal energy whose interval lies wholly above its own: a difference within the intervals
    (different samples, few samples) does not remove a run from the front."""
    front = []
    for i, (e, a) in enumerate(points):
        if intervals is None:
            dominated = any(
                (e2 <= e and a2 >= a) and (e2 < e or a2 > a) for j, (e2, a2) in enumerate(points) if j != i
            )
        else:
            dominated = any(e2 <= e and intervals[j][0] > intervals[i][1]
                            for j, (e2, _) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of an accuracy ``p`` measured on ``n`` samples (fractions)."""
    if n <= 0:
        return (0.0, 1.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def plot_accuracy_vs_energy(records: list[ReportRow], device: str, path: Path) -> str | None:
    """(a) accuracy (%) vs energy per inference (µJ, log x) on ``device``, Pareto front highlighted;
    every point carries its 95 % interval over its own samples (runs on different sample sets or
    counts are otherwise not like for like)."""
    rows = [r for r in records if r.accuracy is not None and r.energy_joules_per_inference.get(device)]
    if not rows:
        return None
    pts = [(r.energy_joules_per_inference[device] * 1e6, r.accuracy * 100) for r in rows]
    ci = [wilson_interval(r.accuracy, r.samples) for r in rows]
    front = pareto_front(pts, [(lo * 100, hi * 100) for lo, hi in ci])
    fig = _figure(7, 4.8)
    ax = fig.add_subplot()
    ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                yerr=[[p[1] - lo * 100 for p, (lo, _) in zip(pts, ci)],
                      [hi * 100 - p[1] for p, (_, hi) in zip(pts, ci)]],
                fmt="o", ms=6, color="tab:gray", ecolor="tab:gray", capsize=3, zorder=2,
                label="runs (95 % interval over n samples)")
    ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], "-o", color="tab:red", lw=1.6,
            ms=7, zorder=3, label="Pareto front (beaten only beyond the intervals)")
    for r, (x, y) in zip(rows, pts):
        ax.annotate(f"{r.run} (n={r.samples}, {r.backend})", (x, y), xytext=(5, 4), textcoords="offset points",
                    fontsize=8)
    sizes = sorted({(r.samples, r.dataset or r.net or "") for r in rows})
    if len({n for n, _ in sizes}) > 1:
        ax.text(0.01, 0.01, "runs use different sample counts: compare accuracies only within their intervals",
                transform=ax.transAxes, fontsize=7, color="tab:red", va="bottom")
    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    xs = [p[0] for p in pts]
    decades = np.log10(max(xs) / min(xs))
    if decades < 1:  # less than a decade: evenly spread round ticks, log decades would leave gaps
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.xaxis.set_minor_formatter(NullFormatter())
    elif decades < 1.5:  # few decades: label the minor ticks too, same size as the major ones
        ax.xaxis.set_minor_formatter(plain)
        ax.tick_params(axis="x", which="both", labelsize=8)
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.12, y=0.1)
    ax.set_xlabel(f"energy per inference on {device} (µJ, log scale)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Accuracy vs energy ({device} profile)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_accuracy_vs_timesteps(records: list[ReportRow], path: Path) -> str | None:
    """(b) accuracy (%) vs time steps per sample, one line per encoding + neuron."""
    groups: dict[str, list[ReportRow]] = {}
    for r in records:
        if r.accuracy is not None:
            groups.setdefault(f"{r.encoding or '?'} + {r.neuron or '?'}", []).append(r)
    if not groups:
        return None
    fig = _figure(7, 4.8)
    ax = fig.add_subplot()
    for label, rows in sorted(groups.items()):
        rows = sorted(rows, key=lambda r: r.timesteps)
        ax.plot([r.timesteps for r in rows], [r.accuracy * 100 for r in rows], "-o", label=label)
    ax.set_xlabel("time steps per sample, T (steps)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy vs time steps (encoding + neuron)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="encoding + neuron", title_fontsize=8)
    return _save(fig, path)


def _rate_axes(ax, names: list[str]) -> None:
    ax.set_xticks(range(len(names)), names, fontsize=8, rotation=20 if len(names) > 6 else 0)
    ax.set_ylabel("spikes / neuron / step")
    ax.set_xlabel("layer")
    ax.grid(True, axis="y", alpha=0.3)


def plot_firing_rates(records: list[ReportRow], path: Path) -> str | None:
    """(c) per-layer firing rate (spikes per neuron per step): grouped bars, or one panel per run
    when the runs' networks differ."""
    rows = [r for r in records if r.layers]
    if not rows:
        return None
    layer_names = [[lay["name"] for lay in r.layers] for r in rows]
    if all(names == layer_names[0] for names in layer_names):
        names = layer_names[0]
        fig = _figure(max(7.0, 1.2 + 0.35 * len(names) * len(rows)), 4.6)
        ax = fig.add_subplot()
        width = 0.8 / len(rows)
        for k, r in enumerate(rows):
            xs = np.arange(len(names)) + (k - (len(rows) - 1) / 2) * width
            ax.bar(xs, [lay["firing_rate"] for lay in r.layers], width, label=r.run)
        _rate_axes(ax, names)
        ax.set_title("Firing rate per layer")
        ax.legend(fontsize=8, title="run", title_fontsize=8)
        return _save(fig, path)
    fig = _figure(7.5, 1.0 + 2.3 * len(rows))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, r, names in zip(axes, rows, layer_names):
        rates = [lay["firing_rate"] for lay in r.layers]
        bars = ax.bar(range(len(names)), rates, color="tab:blue")
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in rates], fontsize=7, padding=2)
        ax.set_ylim(0, max(max(rates) * 1.25, 1e-3))
        _rate_axes(ax, names)
        ax.set_title(f"{r.run}: firing rate per layer", fontsize=9)
    return _save(fig, path)


def _load_raster(run_dir: Path) -> dict[str, np.ndarray]:
    path = run_dir / "raster.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except Exception as exc:  # zip/format errors from numpy
        raise InputError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None


RASTER_ROWS = 300  # neurons drawn per layer panel


def _raster_rows(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows to draw, their neuron indices): active neurons first, evenly subsampled to RASTER_ROWS."""
    active = np.flatnonzero(arr.any(axis=0))
    pool = active if active.size else np.arange(arr.shape[1])
    if pool.size > RASTER_ROWS:
        pool = pool[np.linspace(0, pool.size - 1, RASTER_ROWS).astype(int)]
    return arr[:, pool].T, pool


def plot_raster(record: ReportRow, path: Path) -> str | None:
    """(d) sample 0 through the network: one panel per layer (left to right), time step on x.

    Each panel shows up to RASTER_ROWS neurons, chosen evenly among those with any event,
    so that big layers stay readable; the title gives the full counts."""
    raster = _load_raster(Path(record.path))
    panels = [(key, raster[key]) for key in ("input", "input_spikes", "input_graded") if key in raster]
    names = [lay["name"] for lay in record.layers]
    for i, name in enumerate(names):
        if f"layer{i}" in raster:
            panels.append((name, raster[f"layer{i}"]))
    panels = [(n, a.reshape(a.shape[0], -1)) for n, a in panels if a.ndim >= 2 and a.size]
    if not panels:
        return None
    fig = _figure(max(7.0, 1.5 * len(panels)), 5.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, arr) in zip(axes, panels):
        steps, n = arr.shape
        rows, _ = _raster_rows(arr)
        state = name != "input" and (arr.max() > 1 or arr.min() < 0)  # a non-spiking readout's state
        if state:
            lim = max(1, int(np.abs(rows).max()))
            ax.imshow(rows, aspect="auto", interpolation="nearest", cmap="coolwarm", vmin=-lim, vmax=lim,
                      extent=(-0.5, steps - 0.5, rows.shape[0] - 0.5, -0.5))
            ax.set_title(f"{name}\n{n} neurons\nstate (red > 0)", fontsize=7)
        else:
            ax.imshow(rows != 0, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1,
                      extent=(-0.5, steps - 0.5, rows.shape[0] - 0.5, -0.5))
            ax.set_title(f"{name}\n{n} neurons\n{int(np.count_nonzero(arr))} events", fontsize=7)
        ax.set_xlabel("step", fontsize=7)
        ax.set_xticks(range(steps))
        ax.tick_params(labelsize=6)
        if ax is axes[0]:
            ax.set_ylabel(f"neuron (up to {RASTER_ROWS} active ones per layer)", fontsize=7)
    fig.suptitle(f"{record.run}: sample 0 through the network (black = spike or non-zero graded "
                 "input event)", fontsize=9)
    return _save(fig, path)


def raster_name(run: str) -> str:
    return "raster_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", run) + ".png"


def make_plots(records: list[ReportRow], out_dir: Path, device: str) -> tuple[dict[str, str], list[str]]:
    """Draw every plot into ``out_dir``; returns ({plot: file name}, notes on skipped plots)."""
    plots: dict[str, str] = {}
    notes: list[str] = []
    drawn = [
        ("accuracy_vs_energy", plot_accuracy_vs_energy(records, device, out_dir / "accuracy_vs_energy.png"),
         f"no run has an accuracy and {device} energy"),
        ("accuracy_vs_timesteps", plot_accuracy_vs_timesteps(records, out_dir / "accuracy_vs_timesteps.png"),
         "no run has an accuracy"),
        ("firing_rates", plot_firing_rates(records, out_dir / "firing_rates.png"),
         "no run has per-layer counts"),
    ]
    for key, name, why in drawn:
        if name:
            plots[key] = name
        else:
            notes.append(f"{key} plot skipped: {why}")
    for r in records:
        if not r.has_raster:
            notes.append(f"raster plot of {r.run} skipped: the run has no raster.npz")
            continue
        name = plot_raster(r, out_dir / raster_name(r.run))
        if name:
            plots[f"raster:{r.run}"] = name
        else:
            notes.append(f"raster plot of {r.run} skipped: raster.npz holds no layer arrays")
    return plots, notes
