"""What ``asnn compare`` runs: its rows (encoding, neuron, T, method options) and its ``Settings``.

Default grid, in the order it is run (the paper's two claims first, so that a partial table
already answers them): {hybrid, temporal} x {asnn, lif} at T = 2, 4, 7; direct coding with asnn
and lif at T = 2, 4, 7; {bitplane, hybrid-bitplane} x {asnn, lif} at T = 4; direct coding with
stock CUBA neurons at T = 4; the reference's ablation (ASNN without the per-step readout scale) at
T = 4; and the batch-norm-statistics and reset-gradient ablations of hybrid ASNN at T = 4 and 7.

Fashion-MNIST grid (``grid_for('fashion-mnist')``), built to resolve the paper's two claims:
{hybrid, temporal, temporal-ref} x {asnn, lif, lif with frozen leak} at T = 2, then T = 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asnn_neuro import encoding as enc
from asnn_neuro.errors import InputError
from asnn_neuro.models import NEURONS
from asnn_neuro.models.method import check_encoding, check_method

# variant name -> (bn_stats, reset_grad, readout_scale, fixed_leak)
VARIANTS: dict[str, tuple[str, bool, bool, bool]] = {
    "": ("pooled", False, True, False),
    "per-step-bn": ("per-step", False, True, False),
    "reset-grad": ("pooled", True, True, False),
    "no-readout-scale": ("pooled", False, False, False),
    "fixed-leak": ("pooled", False, True, True),
}


@dataclass(frozen=True)
class Row:
    """One configuration of the table (trained once per seed)."""

    encoding: str
    neuron: str
    timesteps: int
    variant: str = ""

    @property
    def key(self) -> str:
        """``ENC:NEURON:T[:VARIANT]``, as ``--only`` takes it."""
        base = f"{self.encoding}:{self.neuron}:{self.timesteps}"
        return f"{base}:{self.variant}" if self.variant else base

    @property
    def options(self) -> dict:
        """The TrainConfig fields of the variant."""
        bn_stats, reset_grad, readout_scale, fixed_leak = VARIANTS[self.variant]
        return {"bn_stats": bn_stats, "reset_grad": reset_grad, "readout_scale": readout_scale,
                "fixed_leak": fixed_leak}

    def run_name(self, seed: int) -> str:
        suffix = f"-{self.variant}" if self.variant else ""
        return f"cmp-{self.encoding}-{self.neuron}-t{self.timesteps}{suffix}-s{seed}"


def _grid() -> list[Row]:
    rows = [Row(e, n, t) for t in (2, 4, 7) for e in ("hybrid", "temporal") for n in ("asnn", "lif")]
    rows += [Row("direct", n, t) for t in (2, 4, 7) for n in ("asnn", "lif")]
    rows += [Row(e, n, 4) for e in ("bitplane", "hybrid-bitplane") for n in ("asnn", "lif")]
    rows += [Row("direct", "cuba", 4), Row("hybrid", "asnn", 4, "no-readout-scale")]
    rows += [Row("hybrid", "asnn", t, v) for t in (4, 7) for v in ("per-step-bn", "reset-grad")]
    return rows


GRID: list[Row] = _grid()
_FASHION_NEURONS = (("asnn", ""), ("lif", ""), ("lif", "fixed-leak"))
FASHION_GRID: list[Row] = [Row(e, n, t, v) for t in (2, 4) for n, v in _FASHION_NEURONS
                           for e in ("hybrid", "temporal", "temporal-ref")]


def grid_for(dataset: str) -> list[Row]:
    """The default rows for ``dataset``: the Fashion-MNIST grid for fashion-mnist, else GRID."""
    return list(FASHION_GRID if dataset.strip().lower().startswith("fashion-mnist") else GRID)


def check_row(row: Row, where: str) -> None:
    """Raise InputError naming ``where`` unless the row can be trained."""
    if row.neuron not in NEURONS:
        raise InputError(f"{where}: unknown neuron '{row.neuron}'; choose one of: {', '.join(NEURONS)}")
    if row.variant not in VARIANTS:
        raise InputError(f"{where}: unknown variant '{row.variant}'; choose one of: "
                         f"{', '.join(v for v in VARIANTS if v)}")
    try:
        enc.validate_scheme(row.encoding, row.timesteps)
        check_method(row.neuron, **{k: v for k, v in row.options.items()})
        check_encoding(row.neuron, row.encoding)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def parse_row(text: str) -> Row:
    """``ENC:NEURON:T[:VARIANT]`` -> Row (InputError naming ``--only`` on any problem)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[2].isdigit():
        raise InputError(f"--only '{text}': expected ENCODING:NEURON:T[:VARIANT], e.g. hybrid:asnn:4 "
                         "or hybrid:asnn:4:per-step-bn")
    row = Row(parts[0], parts[1], int(parts[2]), parts[3] if len(parts) == 4 else "")
    check_row(row, f"--only '{text}'")
    return row


# what a stored run must share with the current settings to count as done (a key a stored run
# lacks counts as its default: tables from before the key existed stay resumable)
SETTINGS_KEYS = ("dataset", "model", "epochs", "batch_size", "lava_samples", "mixup", "train_subset",
                 "deploy_samples")


@dataclass
class Settings:
    """Everything ``asnn compare`` was asked to do, except which rows."""

    epochs: int = 15
    seeds: int = 3
    lava_samples: int = 100
    dataset: str = "mnist5k"
    model: str = "lenet"
    batch_size: int = 64
    mixup: float = 0.0
    train_subset: int = 0
    deploy_samples: int = 0        # > 0: export without the full-test report, executor on this many
    device: str = "auto"
    workers: int = 1
    workdir: str = "netx_exports"
    simdir: str = "sims"
    out: str = "docs/paper_comparison.md"
    progress: bool = True
    rows: list[Row] = field(default_factory=lambda: list(GRID))


def matches(run: dict, s: Settings) -> bool:
    """True when a stored run was made with the settings ``s`` (see SETTINGS_KEYS)."""
    defaults = Settings()
    return all(run.get(k, getattr(defaults, k)) == getattr(s, k) for k in SETTINGS_KEYS)
