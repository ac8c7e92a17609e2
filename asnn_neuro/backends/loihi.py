"""The Loihi 2 hardware backend: Lava's hardware run configuration, from lava-loihi.

lava-loihi (Intel's INRC release) is not public; where it is installed, the same graph the
CPU simulator runs (``backends.lava.graph``) is compiled for the chip instead. Without it,
``--backend loihi`` is refused with one line.
"""

from __future__ import annotations

from asnn_neuro.errors import InputError


def hardware_run_config():
    """``Loihi2HwCfg()``, or InputError when lava-loihi is not installed."""
    try:
        import lava.utils.loihi2_profiler  # noqa: F401  (present only with lava-loihi)
        from lava.magma.core.run_configs import Loihi2HwCfg  # needs lava-loihi
    except Exception:  # noqa: BLE001
        raise InputError("--backend loihi: lava-loihi is not installed (Loihi hardware access "
                         "comes from Intel's INRC); use --backend lava for the CPU simulator") from None
    return Loihi2HwCfg()
