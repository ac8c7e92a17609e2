"""Run the NetX conformance matrix (lava-dl's loader vs our Lava graph and executor) and write
docs/netx_conformance.md.

    PYTHONPATH=. python scripts/netx_conformance.py [--full] [--out docs/netx_conformance.md]

``--full`` also runs lava-dl's loader on the slow entries (NTIDIGITS: about 2-3 minutes)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from asnn_neuro.apps.netx_conformance import markdown, run_matrix
from asnn_neuro.util import atomic


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="also run lava-dl's loader on the slow entries")
    p.add_argument("--out", default="docs/netx_conformance.md")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asnn-conformance-") as tmp:
        rows = run_matrix(Path(tmp), full=a.full, progress=lambda f: print(f"- {f}", file=sys.stderr))
    command = "python scripts/netx_conformance.py" + (" --full" if a.full else "")
    atomic.write_text(Path(a.out), markdown(rows, command))
    bad = [r.feature for r in rows if "DIFFERENT" in r.lava + r.executor]
    print(f"{len(rows)} entries, {len(bad)} different -> {a.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
