"""Error types that map to the CLI's exit codes.

``InputError`` (exit 2): the user gave something we cannot use -- a missing or
corrupt file, a shape that does not match, an unknown name. Its message is
one line that says what and where. Anything else that escapes is an internal
failure (exit 1).
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input or usage; the CLI prints the message and exits 2."""


class UnsupportedLayerError(InputError):
    """A layer or option that cannot be deployed; names the layer."""
