"""Import lava-dl's SLAYER quietly (its object-detection subpackage prints a notice)."""

import contextlib
import io

with contextlib.redirect_stdout(io.StringIO()):
    import lava.lib.dl.slayer as slayer  # noqa: F401

__all__ = ["slayer"]
