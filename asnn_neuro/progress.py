"""Progress bars (tqdm on a terminal or when asked; silent otherwise)."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress_bar(iterable: Iterable, desc: str = "", enabled: bool = True, total: int | None = None, **kw):
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, file=sys.stderr, leave=False,
                dynamic_ncols=True, **kw)
