"""Import lava-dl's SLAYER quietly (its object-detection subpackage prints a notice on import).

Nothing of lava-dl is changed here. The fast CPU path of its CUBA dynamics is applied only
inside ``asnn_neuro.neurons.cuba_cpu.fast_cuba()`` blocks.
"""

import contextlib
import io
import logging

# torch's cpp_extension logs "No CUDA runtime is found" when SLAYER imports it on a CPU machine
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
with contextlib.redirect_stdout(io.StringIO()):
    import lava.lib.dl.slayer as slayer  # noqa: F401

__all__ = ["slayer"]
