"""Per-image class predictions stored compactly in JSON: one character per test image."""

from __future__ import annotations

from collections.abc import Sequence

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def pack(labels: Sequence[int]) -> str | list[int]:
    """Class indices as one base-36 character each (a list when a class is >= 36)."""
    labels = [int(v) for v in labels]
    if all(0 <= v < len(DIGITS) for v in labels):
        return "".join(DIGITS[v] for v in labels)
    return labels


def unpack(packed: str | list[int]) -> list[int]:
    """Inverse of :func:`pack`."""
    if isinstance(packed, str):
        return [int(c, 36) for c in packed]
    return [int(v) for v in packed]
