"""Map each layer onto neuro cores under a chip's per-core limits (pure: census in, dict out).

Rules (docs/loihi_fit.md explains them):

- a core holds a slice of one layer: a block of ``ct`` channels x ``ht`` rows x ``wt`` columns
  (a dense layer is ``n`` channels of 1 x 1); layers never share a core; among slicings with
  equally many cores, columns are split first, then rows, then channels (a slice keeps all
  channels of its positions, so a source neuron reaches few cores);
- per core we count neurons, input axons (distinct source neurons that reach the slice),
  output-axon entries (each neuron x the destination cores it reaches), synaptic memory words
  and neuron groups (one per slice);
- synaptic memory: every stored synapse takes ``synapse_bits``; the synapses one input axon
  drives in a core are packed into words of ``word_bits`` (a dense row needs
  ceil(nonzero targets x bits / word) words). Zero weights are not stored. On a chip with
  shared conv synapses (Loihi 2) a conv kernel is stored once per core (the slice's nonzero
  kernel weights), otherwise once per output position it serves;
- ``fewest``: the slice shape with the fewest cores that keeps every slice within every limit;
  ``pow2``: only splits by powers of two along each axis;
- layers are placed last to first, so a layer knows how many cores each destination spans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asnn_neuro import ir
from asnn_neuro.errors import InputError
from asnn_neuro.fit.census import Census, FitLayer
from asnn_neuro.fit.chips import ChipSpec

TILINGS = ("fewest", "pow2", "compiler")
MAX_CANDIDATES = 2000  # slice shapes fully checked per layer before the finest one is taken


def chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) of a population: (n,) is n x 1 x 1, (C, W) is C x 1 x W."""
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    if len(shape) == 2:
        return int(shape[0]), 1, int(shape[1])
    return int(np.prod(shape)), 1, 1


@dataclass(frozen=True)
class Slice:
    """Channels [c0, c1) x rows [r0, r1) x columns [w0, w1) of a layer."""

    c0: int
    c1: int
    r0: int
    r1: int
    w0: int
    w1: int

    @property
    def neurons(self) -> int:
        return (self.c1 - self.c0) * (self.r1 - self.r0) * (self.w1 - self.w0)


def _rows_reached(n_in: int, r0: int, r1: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """For each input index: how many of output positions r0..r1-1 read it (int64, (n_in,))."""
    counts = np.zeros(n_in, dtype=np.int64)
    out = np.arange(r0, r1, dtype=np.int64)
    for tap in range(k):
        idx = out * s - p + tap * d
        idx = idx[(idx >= 0) & (idx < n_in)]
        np.add.at(counts, idx, 1)
    return counts


def _conv_weight(path: ir.Path, c_in: int) -> np.ndarray:
    """Nonzero mask (O, C_in/groups, kh, kw) of a conv path; a pool is a depthwise all-ones kernel."""
    if path.kind == "pool":
        return np.ones((c_in, 1, int(path.kernel[0]), int(path.kernel[1])), dtype=bool)
    return np.asarray(path.weight) != 0


def _words(targets: np.ndarray, chip: ChipSpec) -> int:
    """Synaptic words for input axons driving ``targets`` synapses each (zero targets: none)."""
    t = np.asarray(targets, dtype=np.int64)
    return int(np.sum(-(-t * chip.synapse_bits // chip.word_bits)))


def path_use(path: ir.Path, src_shape: tuple[int, ...], dst: tuple[int, int, int], sl: Slice,
             chip: ChipSpec) -> tuple[int, int]:
    """(input axons, synaptic words) one path needs in the core holding slice ``sl``."""
    if path.kind == "identity":
        n = sl.neurons
        return n, _words(np.ones(n, dtype=np.int64), chip)
    if path.kind == "dense":
        nz = np.asarray(path.weight).reshape(dst[0] * dst[1] * dst[2], -1) != 0
        counts = nz[sl.c0:sl.c1].sum(axis=0)
        return int(np.count_nonzero(counts)), _words(counts, chip)
    if path.kind not in ("conv", "pool"):
        raise InputError(f"fit: unknown synapse kind {path.kind!r}")
    c_in, h_in, w_in = chw(src_shape)
    mask = _conv_weight(path, c_in)
    groups = c_in if path.kind == "pool" else int(path.groups)
    per_group_out = max(1, mask.shape[0] // groups)
    g0, g1 = sl.c0 // per_group_out, (sl.c1 - 1) // per_group_out + 1
    chans_in = (g1 - g0) * (c_in // groups)
    kh, kw = mask.shape[-2], mask.shape[-1]
    cy = _rows_reached(h_in, sl.r0, sl.r1, kh, path.stride[0], path.padding[0], path.dilation[0])
    cx = _rows_reached(w_in, sl.w0, sl.w1, kw, path.stride[1], path.padding[1], path.dilation[1])
    axons = chans_in * int(np.count_nonzero(cy)) * int(np.count_nonzero(cx))
    block = mask[sl.c0:sl.c1]
    if chip.shared_conv:
        return axons, _words(np.array([int(block.sum())]), chip)
    # one stored synapse per (input axon, output position, output channel) with a nonzero tap:
    # an input axon of a group reaches its group's channels in the slice, at the positions whose
    # window holds it, through the fraction of taps that are nonzero
    out_per_in = (sl.c1 - sl.c0) / max(1, g1 - g0)
    frac = float(block.mean()) if block.size else 0.0
    targets = np.ceil(np.outer(cy, cx).reshape(-1) * out_per_in * frac).astype(np.int64)
    return axons, chans_in * _words(targets, chip)


def _blocks(n: int, t: int) -> list[tuple[int, int]]:
    return [(a, min(n, a + t)) for a in range(0, n, t)]


def _middle_full(n: int, t: int) -> int:
    """Index of the middle block of size ``t`` along an axis of ``n``, never a short last block
    unless it is the only one."""
    blocks = math.ceil(n / t)
    return min(blocks // 2, max(0, n // t - 1))


def _slices(shape: tuple[int, int, int], tile: tuple[int, int, int]) -> list[Slice]:
    """The slices whose use is checked: every channel block (weights differ per channel) at the
    middle row and column block (an interior slice reads the widest input window)."""
    (c, h, w), (ct, ht, wt) = shape, tile
    rows, cols = _blocks(h, ht), _blocks(w, wt)
    r, q = rows[_middle_full(h, ht)], cols[_middle_full(w, wt)]
    return [Slice(c0, c1, r[0], r[1], q[0], q[1]) for c0, c1 in _blocks(c, ct)]


def _sizes(n: int, tiling: str) -> list[int]:
    if tiling == "pow2":
        return sorted({math.ceil(n / 2**a) for a in range(0, n.bit_length() + 1)}, reverse=True)
    return sorted({math.ceil(n / k) for k in range(1, n + 1)}, reverse=True)


def _candidates(shape: tuple[int, int, int], tiling: str) -> list[tuple[int, int, int]]:
    """Slice shapes (ct, ht, wt) to try: fewest cores first, then columns split before rows
    before channels."""
    c, h, w = shape
    tiles = [(ct, ht, wt) for ct in _sizes(c, tiling) for ht in _sizes(h, tiling) for wt in _sizes(w, tiling)]
    tiles.sort(key=lambda t: (_cores(shape, t), math.ceil(c / t[0]), math.ceil(h / t[1])))
    return tiles


def _cores(shape: tuple[int, int, int], tile: tuple[int, int, int]) -> int:
    return math.prod(math.ceil(n / t) for n, t in zip(shape, tile))


def _slice_use(layer: FitLayer, census: Census, sl: Slice, reach: int, chip: ChipSpec) -> dict[str, int]:
    dst = chw(layer.shape)
    axons = words = 0
    for p in layer.paths:
        src = census.input_shape if ir.is_input(p.source) else census.layers[p.source].shape
        a, w = path_use(p, src, dst, sl, chip)
        axons, words = axons + a, words + w
    return {"neurons": sl.neurons, "axons_in": axons, "axons_out": sl.neurons * reach, "synaptic_memory": words,
            "neuron_groups": 1}


def _use(layer: FitLayer, census: Census, tile: tuple[int, int, int], reach: int, chip: ChipSpec) -> dict[str, int]:
    """Largest use of each resource over the layer's slices for slice shape ``tile``."""
    worst: dict[str, int] = {}
    for sl in _slices(chw(layer.shape), tile):
        for key, v in _slice_use(layer, census, sl, reach, chip).items():
            worst[key] = max(worst.get(key, 0), v)
    return worst


def _ratios(use: dict[str, int], chip: ChipSpec) -> dict[str, float]:
    return {k: use[k] / cap for k, cap in chip.limits().items()}


def _reach(index: int, census: Census, placed: dict[int, dict]) -> int:
    """Destination cores one neuron of layer ``index`` sends to (1 for the network output)."""
    total = 0
    for j, lay in enumerate(census.layers):
        for p in lay.paths:
            if p.source != index or j not in placed:
                continue
            cs, hs, ws = placed[j]["splits"]
            _, ht, wt = placed[j]["slice"]
            if p.kind in ("identity", "dense"):
                total += cs * hs * ws if p.kind == "dense" else 1
                continue
            kh, kw = p.kernel if p.weight is None else p.weight.shape[-2:]
            span_h = math.ceil((kh - 1) * p.dilation[0] / p.stride[0]) + 1
            span_w = math.ceil((kw - 1) * p.dilation[1] / p.stride[1]) + 1
            groups = chw(lay.shape)[0] if p.kind == "pool" else int(p.groups)
            total += (max(1, math.ceil(cs / groups)) * min(hs, 1 + math.ceil((span_h - 1) / ht))
                      * min(ws, 1 + math.ceil((span_w - 1) / wt)))
    return max(1, total)


def place_layer(index: int, census: Census, chip: ChipSpec, tiling: str, placed: dict[int, dict]) -> dict:
    """Slice one layer onto cores; the dict fit.json shows for it."""
    layer = census.layers[index]
    shape = chw(layer.shape)
    reach = _reach(index, census, placed)
    whole = _ratios(_use(layer, census, shape, reach, chip), chip)
    chosen, fits = None, False
    tried = 0
    if tiling == "compiler":  # the compiler's own rule (fit/compiler.py), not a search
        from asnn_neuro.fit.compiler import compiler_tile

        tile = compiler_tile(layer, census, chip, shape)
        use = _use(layer, census, tile, reach, chip)
        chosen, fits = (tile, use), True
    for tile in ([] if chosen else _candidates(shape, tiling)):
        biggest = math.prod(tile)  # the neurons of a full slice: a cheap first check
        if biggest > chip.neurons or biggest * reach > chip.axons_out:
            continue
        use = _use(layer, census, tile, reach, chip)
        if all(v <= 1.0 for v in _ratios(use, chip).values()):
            chosen, fits = (tile, use), True
            break
        tried += 1
        if tried >= MAX_CANDIDATES:
            break
    if chosen is None:  # not even one neuron per core fits: report the finest slicing
        chosen = ((1, 1, 1), _use(layer, census, (1, 1, 1), reach, chip))
    tile, use = chosen
    ratios = _ratios(use, chip)
    over = {k: r for k, r in whole.items() if r > 1.0}
    return {
        "name": layer.name,
        "neuron": layer.neuron,
        "shape": list(layer.shape),
        "neurons": layer.neurons,
        "kinds": [p.kind for p in layer.paths],
        "cores": _cores(shape, tile),
        "splits": [math.ceil(n / t) for n, t in zip(shape, tile)],
        "slice": list(tile),
        "fits": fits,
        "use_per_core": use,
        "utilisation": ratios,
        "split_by": max(over, key=over.get) if over else None,
        "tightest": max(ratios, key=ratios.get),
        "destination_cores_per_neuron": reach,
        "unsplit_utilisation": whole,
    }


def partition(census: Census, chip: ChipSpec, tiling: str = "fewest") -> dict:
    """Per-layer and total core counts of ``census`` on ``chip`` (the body of fit.json)."""
    if tiling not in TILINGS:
        raise InputError(f"--tiling {tiling!r}: expected one of {', '.join(TILINGS)}")
    placed: dict[int, dict] = {}
    for i in reversed(range(len(census.layers))):
        placed[i] = place_layer(i, census, chip, tiling, placed)
    layers = [placed[i] for i in range(len(census.layers))]
    cores = sum(lay["cores"] for lay in layers)
    return {
        "chip": chip.name,
        "tiling": tiling,
        "cores": cores,
        "chips": math.ceil(cores / chip.cores_per_chip),
        "fits": all(lay["fits"] for lay in layers),
        "neurons": sum(lay["neurons"] for lay in layers),
        "limits_per_core": chip.limits(),
        "synapse_bits": chip.synapse_bits,
        "word_bits": chip.word_bits,
        "shared_conv": chip.shared_conv,
        "layers": layers,
    }
