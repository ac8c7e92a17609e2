"""Progress bars: tqdm on a terminal (or with ASNN_PROGRESS=1); silent in logs and pipes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress_bar(iterable: Iterable, desc: str = "", enabled: bool = True, total: int | None = None, **kw):
    shown = enabled and (sys.stderr.isatty() or os.environ.get("ASNN_PROGRESS") == "1")
    return tqdm(iterable, desc=desc, total=total, disable=not shown, file=sys.stderr, leave=False,
                dynamic_ncols=True, **kw)
