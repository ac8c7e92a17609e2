"""One run of ``asnn compare`` in its own process: ``python -m asnn_neuro.apps.compare_worker JOB``.

JOB is JSON: {"row": Row fields, "seed": int, "settings": Settings fields, "result": path}. The
record is written (atomically) to ``result``; the exit status is 0 on success.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from asnn_neuro.apps.compare import run_one
from asnn_neuro.apps.compare_grid import Row, Settings
from asnn_neuro.util import atomic


def main(argv: list[str]) -> int:
    job = json.loads(argv[0])
    settings = Settings(**job["settings"])
    record = run_one(Row(**job["row"]), int(job["seed"]), settings)
    atomic.write_json(Path(job["result"]), record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
