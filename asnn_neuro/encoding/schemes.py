"""Input encodings: static images -> T frames (hybrid coding, ASNN paper).

Every encoder takes ``x`` of shape ``(N, C, H, W)`` with values in ``[0, 1]`` and
returns ``(N, C, H, W, T)`` -- time LAST, the SLAYER layout -- in the dtype and on
the device of ``x``. Time steps are ``t = 0 .. T-1``.

- ``direct``: the analog value ``x`` at every step.
- ``rate``: ``Bernoulli(x)`` spikes at every step (seeded generator).
- ``temporal``: one spike per value, at the first step ``i`` with
  ``x >= th_i = 1 - (i+1)/T`` (``x = 1`` -> step 0, ``x = 0`` -> step ``T-1``).
- ``temporal-ref``: the reference code's "time" code as it runs (ASNNGIT/lenet_spiking.py): at
  step ``i`` a value fires where it is ``>= 1 - (i+1)/T`` and is then set to zero, so it is
  tested again at later steps. The last threshold is ``0`` and ``0 >= 0``: every value -- the
  ones that fired before, zeros included -- fires again there, so frame ``T-1`` is all ones
  (a constant frame that carries no information). Frames ``0..T-2`` equal ``temporal``'s; at
  ``T = 1`` both are one all-ones frame. ``temporal`` fires each value once (the paper's text).
- ``temporal-eq``: ``temporal`` on ``z = sigmoid(LayerNorm(x))`` with thresholds at
  quantiles of the training images' ``z``, so every step carries the same share
  of the spikes (needs a :class:`TemporalEqCalibration`).
- ``bitplane``: ``level = round(x * (2^T - 1))`` sent as its T binary digits, most
  significant bit first (``T <= 24``).
- ``hybrid`` (the paper's "mix time"): step 0 analog ``x``; step ``k = 1..T-1`` a
  spike where ``x`` first satisfies ``x >= 1 - k/T`` -- the temporal thresholds of
  the FULL T-step grid, so the lowest is ``1/T``: values below it (a digit's black
  background) never fire, the analog step 0 already carried them, and every value
  fires at most once. At ``T = 2`` the one spike frame is ``x >= 1/2``.
- ``hybrid-bitplane``: step 0 analog ``x``; steps 1..T-1 ``bitplane`` with T-1 bits.
  Dark values cost no spikes here either: ``round(x (2^(T-1) - 1)) = 0`` for
  ``x < 1 / (2 (2^(T-1) - 1))`` (level 0 has no set bit). The bit-planes keep the
  plain ``bitplane`` code of the T-1 spike steps (no re-scaling to skip the
  levels below ``1/T``): zero stays silent and every level stays representable.

Numerical decisions (all pinned by ``tests/test_encoding.py``):

* Thresholds are compared in the compute dtype (float32 for float32/half/bfloat16
  inputs, float64 for float64). The ``temporal`` thresholds are computed as
  ``(T-1-i) / T`` in that dtype -- one correctly rounded division -- so a value
  written as the same decimal (``0.75`` with ``T = 4``, ``0.7`` with ``T = 10``)
  is *equal* to its threshold and fires at that step, as the definition asks.
  The firing step is ``#{i : v < th_i}`` (the thresholds do not increase, so
  this is the first ``i`` with ``v >= th_i``), counted by broadcasting rather than
  with ceil/floor arithmetic, which would round differently at the boundaries.
* ``bitplane`` levels are rounded half to even (``torch.round``, as
  :func:`asnn_neuro.chip.fixed_point.quantize_graded`) on the product ``x * (2^B - 1)``
  taken in float64, which is exact for float32 inputs.
* Values within ``1e-6`` outside ``[0, 1]`` are accepted and clamped before
  spikes are computed; analog frames carry ``x`` unchanged.
* ``temporal-eq`` thresholds are exact order statistics of the calibration
  features (see :class:`TemporalEqCalibration`); features are computed in
  float32 both when fitting and when encoding.
* ``rate`` draws ``u ~ U[0, 1)`` per value and step and spikes where ``u < x``; CPU
  and CUDA generators give different streams for the same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from asnn_neuro.chip import limits as lim
from asnn_neuro.encoding.names import MAX_BITPLANES, SCHEMES
from asnn_neuro.errors import InputError

MAX_TIMESTEPS = lim.MAX_TIMESTEPS  # frames one encoded image may take
RANGE_TOLERANCE = 1e-6
LAYER_NORM_EPS = 1e-5

_HYBRID = frozenset({"hybrid", "hybrid-bitplane"})
# Above this many thresholds the firing step is found by binary search
# (torch.searchsorted) instead of one broadcast comparison per threshold.
_COUNT_LOOP_MAX = 32
# Bit-planes of up to this many bits are emitted through a lookup table.
_TABLE_MAX_BITS = 12


# ---------------------------------------------------------------------------
# scheme metadata


def is_hybrid(scheme: str) -> bool:
    """True for the schemes whose frame 0 is analog and the rest spikes."""
    _check_scheme(scheme)
    return scheme in _HYBRID


def min_timesteps(scheme: str) -> int:
    """Fewest time steps the scheme can use: 2 for hybrid schemes, else 1."""
    _check_scheme(scheme)
    return 2 if scheme in _HYBRID else 1


def validate_scheme(scheme: str, timesteps: int) -> None:
    """Raise InputError unless ``scheme`` is known and ``timesteps`` fits it."""
    _check_scheme(scheme)
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)):
        raise InputError(f"--timesteps must be an integer, got {timesteps!r}")
    lo = min_timesteps(scheme)
    if timesteps < lo:
        raise InputError(f"encoding {scheme!r} needs --timesteps >= {lo}, got {timesteps}")
    if timesteps > MAX_TIMESTEPS:
        raise InputError(f"--timesteps must be <= {MAX_TIMESTEPS}, got {timesteps}")
    if scheme in ("bitplane", "hybrid-bitplane"):
        bits = _spike_steps(scheme, timesteps)
        if bits > MAX_BITPLANES:
            raise InputError(
                f"encoding {scheme!r} supports at most {MAX_BITPLANES} bit-planes, "
                f"got {bits} (--timesteps {timesteps})"
            )


def analog_mask(scheme: str, timesteps: int) -> tuple[int, ...]:
    """1 where frame t carries analog values, 0 where it carries binary spikes."""
    validate_scheme(scheme, timesteps)
    if scheme == "direct":
        return (1,) * timesteps
    if scheme in _HYBRID:
        return (1,) + (0,) * (timesteps - 1)
    return (0,) * timesteps


def spike_mask(scheme: str, timesteps: int) -> tuple[int, ...]:
    """1 where frame t carries binary spikes (the complement of analog_mask)."""
    return tuple(1 - a for a in analog_mask(scheme, timesteps))


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise InputError(f"unknown encoding {scheme!r}; choose one of: {', '.join(SCHEMES)}")


def _spike_steps(scheme: str, timesteps: int) -> int:
    return timesteps - 1 if scheme in _HYBRID else timesteps


# ---------------------------------------------------------------------------
# temporal-eq calibration


@dataclass(frozen=True)
class TemporalEqCalibration:
    """Thresholds of the ``temporal-eq`` encoding, fitted on the training images.

    ``thresholds`` has one entry per time step, non-increasing; the last is
    ``-inf`` (every value has fired by then). A feature ``z`` fires at the first
    step ``i`` with ``z >= thresholds[i]``.

    Exactness: :meth:`fit` computes all ``n`` features of the calibration set
    (``z`` in float32) and takes order statistics with ``numpy.partition`` --
    no subsampling, no interpolation. ``thresholds[i]`` is the ``m_i``-th
    largest feature with ``m_i = (i+1) n / T`` rounded half up (integer arithmetic,
    ``(2 (i+1) n + T) // (2 T)``), the empirical quantile at
    ``1 - (i+1)/T``; exactly ``m_i`` features lie at or above it when the
    features have no ties, so step ``i`` receives ``m_i - m_{i-1}`` of them,
    i.e. ``floor(n/T)`` or ``ceil(n/T)``. Thresholds are float32 values of the
    data, so they survive the float32 comparison in :func:`encode` unchanged.
    Tied features (e.g. many constant images) fall in the same step and can
    unbalance the shares; that is inherent to a threshold code.
    """

    thresholds: tuple[float, ...]

    def __post_init__(self) -> None:
        th = tuple(float(v) for v in self.thresholds)
        if not th:
            raise InputError("temporal-eq calibration needs at least one threshold")
        if th[-1] != -math.inf:
            raise InputError("temporal-eq calibration: the last threshold must be -inf")
        finite = th[:-1]
        if not all(math.isfinite(v) for v in finite):
            raise InputError("temporal-eq calibration: thresholds before the last must be finite")
        if any(b > a for a, b in zip(finite, finite[1:])):
            raise InputError("temporal-eq calibration: thresholds must not increase")
        object.__setattr__(self, "thresholds", th)

    @property
    def timesteps(self) -> int:
        return len(self.thresholds)

    @classmethod
    def fit(cls, x_train: torch.Tensor, timesteps: int, *, batch_size: int = 4096) -> TemporalEqCalibration:
        """Fit thresholds on ``x_train`` (N, C, H, W) in [0, 1] for ``timesteps`` steps."""
        validate_scheme("temporal-eq", timesteps)
        _check_input(x_train)
        n_samples = x_train.shape[0]
        n = x_train.numel()
        if n < timesteps:
            raise InputError(
                f"temporal-eq calibration needs at least {timesteps} values (one per step), got {n}"
            )
        per_sample = n // n_samples
        z = np.empty(n, dtype=np.float32)
        for start in range(0, n_samples, batch_size):
            chunk = x_train[start : start + batch_size]
            zc = _eq_features(chunk.detach()).reshape(-1).cpu().numpy()
            z[start * per_sample : start * per_sample + zc.size] = zc
        T = timesteps
        # m_i values at or above th_i; th_i is then the 0-based (n - m_i)-th smallest.
        m = [((2 * (i + 1) * n + T) // (2 * T)) for i in range(T - 1)]
        kth = sorted({n - mi for mi in m})
        if kth:
            z.partition(kth)
        finite = [float(z[n - mi]) for mi in m]
        return cls(tuple(finite) + (-math.inf,))

    def to_dict(self) -> dict[str, Any]:
        """JSON/HDF5-attribute friendly form (the trailing -inf is implied)."""
        return {
            "scheme": "temporal-eq",
            "timesteps": self.timesteps,
            "thresholds": [float(v) for v in self.thresholds[:-1]],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemporalEqCalibration:
        """Inverse of :meth:`to_dict`; raises InputError on a malformed record."""
        try:
            timesteps = int(data["timesteps"])
            finite = [float(v) for v in data["thresholds"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"temporal-eq calibration record is malformed: {exc!r}") from None
        if data.get("scheme", "temporal-eq") != "temporal-eq":
            raise InputError(f"calibration record is for {data.get('scheme')!r}, not 'temporal-eq'")
        if len(finite) != timesteps - 1:
            raise InputError(
                f"temporal-eq calibration record has {len(finite)} thresholds, "
                f"expected timesteps - 1 = {timesteps - 1}"
            )
        return cls(tuple(finite) + (-math.inf,))


def _eq_features(x: torch.Tensor) -> torch.Tensor:
    """z = sigmoid(LayerNorm(x)) per sample over (C, H, W), no affine; float32."""
    xf = x.to(torch.float32)
    return torch.sigmoid(F.layer_norm(xf, xf.shape[1:], eps=LAYER_NORM_EPS))


# ---------------------------------------------------------------------------
# encoding


def encode(
    x: torch.Tensor,
    scheme: str,
    timesteps: int,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    calibration: TemporalEqCalibration | None = None,
) -> torch.Tensor:
    """Encode images ``x`` (N, C, H, W) in [0, 1] into frames (N, C, H, W, T).

    ``seed`` / ``generator`` drive the ``rate`` scheme (at most one of them; with
    neither, torch's global generator is used) and are ignored by the others.
    ``calibration`` is required by ``temporal-eq`` and must match ``timesteps``.
    """
    validate_scheme(scheme, timesteps)
    if seed is not None and generator is not None:
        raise InputError("give the rate encoder a seed or a generator, not both")
    lo, hi = _check_input(x)
    T = timesteps
    shape = tuple(x.shape)

    if scheme == "direct":
        return x.unsqueeze(-1).expand(*shape, T).contiguous()

    cdtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    xc = x.to(cdtype)
    if lo < 0.0 or hi > 1.0:
        xc = xc.clamp(0.0, 1.0)

    if scheme == "rate":
        if generator is None and seed is not None:
            generator = torch.Generator(device=x.device)
            generator.manual_seed(int(seed))
        u = torch.rand((*shape, T), generator=generator, device=x.device, dtype=cdtype)
        return (u < xc.unsqueeze(-1)).to(x.dtype)

    if scheme in ("temporal", "temporal-ref"):
        step = _first_crossing(xc, _uniform_thresholds(T, cdtype, x.device))
        out = _lookup(step, _one_hot_table(T, 0, x.dtype, x.device), shape)
        if scheme == "temporal-ref":  # the reference zeroes fired values and tests 0 >= 0 at the last step
            out[..., T - 1] = 1
        return out

    if scheme == "temporal-eq":
        if calibration is None:
            raise InputError("encoding 'temporal-eq' needs a calibration fitted on the training images")
        if calibration.timesteps != T:
            raise InputError(
                f"temporal-eq calibration was fitted for {calibration.timesteps} timesteps, "
                f"got --timesteps {T}"
            )
        z = _eq_features(x)
        th = torch.tensor(calibration.thresholds[:-1], dtype=z.dtype, device=x.device)
        step = _first_crossing(z, th)
        return _lookup(step, _one_hot_table(T, 0, x.dtype, x.device), shape)

    if scheme == "bitplane":
        return _bitplanes(xc, T, 0, x.dtype, shape)

    # hybrid schemes: frame 0 analog, frames 1..T-1 spikes of T-1 steps / bits
    if scheme == "hybrid":
        # the T-1 thresholds (T-1)/T .. 1/T of the full grid; crossing none (x < 1/T) -> row T-1: silent
        step = _first_crossing(xc, _uniform_thresholds(T, cdtype, x.device))
        out = _lookup(step, _one_hot_table(T - 1, 1, x.dtype, x.device, silent_row=True), shape)
    else:  # hybrid-bitplane
        out = _bitplanes(xc, T - 1, 1, x.dtype, shape)
    out[..., 0] = x
    return out


def _check_input(x: torch.Tensor) -> tuple[float, float]:
    """Validate images; return (min, max) (0, 0 when empty)."""
    if not isinstance(x, torch.Tensor):
        raise InputError(f"input images must be a torch tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise InputError(f"input images must have shape (N, C, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"input images must be floating point in [0, 1], got dtype {x.dtype}")
    if x.numel() == 0:
        return 0.0, 0.0
    lo_t, hi_t = torch.aminmax(x)
    lo, hi = float(lo_t), float(hi_t)
    if not (lo >= -RANGE_TOLERANCE and hi <= 1.0 + RANGE_TOLERANCE):  # also catches NaN
        raise InputError(f"input images must lie in [0, 1], got values in [{lo:.6g}, {hi:.6g}]")
    return lo, hi


def _uniform_thresholds(T: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """th_i = 1 - (i+1)/T for i < T-1 (th_{T-1} = 0 is never needed), as (T-1-i)/T in dtype."""
    return torch.arange(T - 1, 0, -1, dtype=dtype, device=device) / T


def _first_crossing(v: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    """Per value, the first i with v >= th[i] (len(th) when none): #{i : v < th[i]}.

    ``th`` must not increase, so the set of crossed thresholds is a suffix.
    Returns int64 of v's shape.
    """
    L = th.numel()
    if L == 0:
        return torch.zeros(v.shape, dtype=torch.int64, device=v.device)
    if L <= _COUNT_LOOP_MAX:
        count = torch.zeros(v.shape, dtype=torch.uint8, device=v.device)
        for i in range(L):
            count += v < th[i]
        return count.to(torch.int64)
    asc = th.flip(0).contiguous()
    at_or_below = torch.searchsorted(asc, v.reshape(-1).contiguous(), right=True)
    return (L - at_or_below).view(v.shape)


def _one_hot_table(steps: int, offset: int, dtype: torch.dtype, device: torch.device,
                   silent_row: bool = False) -> torch.Tensor:
    """Row s: a spike at column offset + s, over offset + steps columns.

    ``silent_row`` appends row ``steps`` with no spike (a value that crossed no threshold)."""
    table = torch.zeros((steps + int(silent_row), offset + steps), dtype=dtype, device=device)
    table[:steps, offset:] = torch.eye(steps, dtype=dtype, device=device)
    return table


def _lookup(index: torch.Tensor, table: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Frames (*shape, table columns) with row ``index`` of ``table`` per value."""
    return table.index_select(0, index.reshape(-1)).view(*shape, table.shape[1])


def _levels(xc: torch.Tensor, bits: int) -> torch.Tensor:
    """round(x * (2^bits - 1)) half to even, product in float64; int64."""
    scaled = xc.to(torch.float64, copy=True)  # copy: never scale the caller's tensor in place
    return scaled.mul_(float((1 << bits) - 1)).round_().to(torch.int64)


def _bitplanes(
    xc: torch.Tensor, bits: int, offset: int, dtype: torch.dtype, shape: tuple[int, ...]
) -> torch.Tensor:
    """Frames whose columns offset.. hold the bits of the level, MSB first."""
    level = _levels(xc, bits)
    shifts = torch.arange(bits - 1, -1, -1, dtype=torch.int64, device=xc.device)
    if bits <= _TABLE_MAX_BITS:
        codes = torch.arange(1 << bits, dtype=torch.int64, device=xc.device)
        table = torch.zeros((1 << bits, offset + bits), dtype=dtype, device=xc.device)
        table[:, offset:] = ((codes.unsqueeze(-1) >> shifts) & 1).to(dtype)
        return _lookup(level, table, shape)
    out = torch.zeros((*shape, offset + bits), dtype=dtype, device=xc.device)
    out[..., offset:] = ((level.unsqueeze(-1) >> shifts) & 1).to(dtype)
    return out
