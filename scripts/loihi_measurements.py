"""Regenerate docs/loihi_measurements.json and .md (asnn_neuro/apps/loihi_measurements.py).

    python scripts/loihi_measurements.py --lava-dl PATH   # a lava-dl checkout (tutorial networks)

PilotNet LIF and MNIST need no checkout (lava-dl's installed test files, tests/data); PilotNet
SDNN and Oxford are read from the checkout's tutorials when given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asnn_neuro.apps.loihi_measurements import build, lava_dl_gts, render
from asnn_neuro.util.atomic import write_json, write_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lava-dl", default=None, help="a lava-dl checkout")
    ap.add_argument("--out", default="docs/loihi_measurements")
    a = ap.parse_args()
    tut = Path(a.lava_dl or "", "tutorials/lava/lib/dl/netx")
    files = {"pilotnet_lif": lava_dl_gts() / "pilotnet_lif" / "network.net",
             "mnist": Path(__file__).parents[1] / "tests" / "data" / "lava_dl" / "mnist_trained.net"}
    if a.lava_dl:
        files.update({"pilotnet_sdnn": tut / "pilotnet_sdnn" / "network.net",
                      "oxford": tut / "oxford" / "Trained" / "network.net"})
    data = build(files)
    text = render(data)
    write_json(Path(a.out + ".json"), data)
    write_text(Path(a.out + ".md"), text)
    print(text.split("## Held-out errors")[0][-1500:])
    print(f"-> {a.out}.json, {a.out}.md")


if __name__ == "__main__":
    main()
