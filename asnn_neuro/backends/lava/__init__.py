"""Lava side of the toolchain: processes, graph builder and runner.

Importing Lava's runtime calls ``multiprocessing.set_start_method('fork')``,
which fails if anything in the process already fixed the start method (torch
does, lazily). We import Lava's message infrastructure here first, clearing an
already-chosen 'fork' context so Lava's own call succeeds.
"""

import multiprocessing
import sys
import warnings

# Lava's compiler scans every module on the call stack for ProcessModels and warns about
# the ones it cannot import by file path; that is noise for our users.
warnings.filterwarnings("ignore", message="Cannot import module", category=UserWarning)

if "lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules:
    _ctx = multiprocessing.context._default_context
    if _ctx._actual_context is not None and _ctx._actual_context._name == "fork":
        _ctx._actual_context = None
    import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401,E402
