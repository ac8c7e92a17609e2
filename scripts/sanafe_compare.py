"""SANA-FE beside our energy and time models on two networks -> docs/sanafe_compare.{json,md}.

    pip install --no-deps sanafe==2.2.9   # into any environment on PYTHONPATH; not a project dependency
    python scripts/sanafe_compare.py [--samples 4] [--steps 10]
"""

from __future__ import annotations

import argparse
import tempfile
from importlib.metadata import version
from pathlib import Path

from asnn_neuro.apps.sanafe_compare import NETWORKS, compare, render
from asnn_neuro.util.atomic import write_json, write_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default="docs/sanafe_compare")
    a = ap.parse_args()
    import sanafe

    arch = str(Path(sanafe.__file__).parent / "examples" / "loihi.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [compare(name, a.samples, a.steps, Path(tmp), arch) for name in NETWORKS]
    ver = version("sanafe")
    write_json(Path(a.out + ".json"), {"sanafe_version": ver, "rows": rows})
    text = render(rows, ver)
    write_text(Path(a.out + ".md"), text)
    print(text)


if __name__ == "__main__":
    main()
