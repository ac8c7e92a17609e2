"""What Lava's runtime needs from the process before it starts, as explicit, scoped calls.

- Importing Lava's message infrastructure calls ``multiprocessing.set_start_method('fork')``,
  which fails if something in the process (torch, lazily) already fixed the start method to
  'fork'. ``allow_lava_start_method()`` clears an already-chosen 'fork' context (the same
  method Lava then sets again) and imports the infrastructure; call it before a Lava run.
- Lava's compiler scans every module on the call stack for ProcessModels and warns about the
  ones it cannot import by file path; ``quiet_compiler()`` hides that noise within a block.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import warnings
from collections.abc import Iterator

_INFRA = "lava.magma.runtime.message_infrastructure.multiprocessing"


def allow_lava_start_method() -> None:
    """Import Lava's message infrastructure so that its start-method call succeeds (idempotent)."""
    if _INFRA in sys.modules:
        return
    ctx = multiprocessing.context._default_context
    if ctx._actual_context is not None and ctx._actual_context._name == "fork":
        ctx._actual_context = None
    import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401


@contextlib.contextmanager
def quiet_compiler() -> Iterator[None]:
    """Within the block, Lava's 'Cannot import module' warnings are not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot import module", category=UserWarning)
        yield
