"""``asnn --help``, usage errors and ``import asnn_neuro`` load neither torch nor Lava: a stage
imports them when it runs (issue 26: the CLI answered --help in seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "lava", "h5py", "nir", "snntorch")
PROBE = """
import sys
from asnn_neuro.cli import main
rc = main({args!r})
print("RC", rc, "HEAVY", sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))
"""


def _probe(args: list[str]) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("args, rc", [
    (["--help"], 0), (["train", "--help"], 0), (["simulate", "--help"], 0), (["simulate", "--bogus"], 2),
    (["simulate", "net", "--samples", "0"], 2), (["energy"], 2), (["nosuch"], 2), ([], 2),
])
def test_help_and_usage_errors_load_no_torch_or_lava(args, rc):
    assert _probe(args) == f"RC {rc} HEAVY []"


def test_importing_the_package_is_light():
    """``import asnn_neuro`` and its API's names load no torch; the stage packages stay packages
    and are callable as the API's functions."""
    code = ("import sys, asnn_neuro as an; an.load, an.import_nir, an.Run; "
            "import asnn_neuro.energy.estimate; "
            "assert callable(an.energy) and an.energy.__name__ == 'asnn_neuro.energy'; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]
