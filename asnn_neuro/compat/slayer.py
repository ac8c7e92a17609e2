"""Import lava-dl's SLAYER quietly (its object-detection subpackage prints a notice)."""

import contextlib
import io
import logging

# torch's cpp_extension logs "No CUDA runtime is found" when SLAYER imports it on a CPU machine
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
with contextlib.redirect_stdout(io.StringIO()):
    import lava.lib.dl.slayer as slayer  # noqa: F401

from asnn_neuro.neurons.cuba_cpu import install as _install_fast_cuba  # noqa: E402

_install_fast_cuba()

__all__ = ["slayer"]
