"""Dataset specs (``mnist5k``, ``mnist:DIR``, ...) and the ``load_dataset`` entry point."""

from __future__ import annotations

from pathlib import Path

from asnn_neuro.data.cifar import load_cifar_dataset
from asnn_neuro.data.dataset import Dataset
from asnn_neuro.data.embedded import load_digits, load_mnist5k
from asnn_neuro.data.idx import load_idx_dataset
from asnn_neuro.data.names import (
    DATASETS,
    DEFAULT_DATASET,
    FASHION_MNIST_DIR,
    FASHION_MNIST_MISSING,
    describe_datasets,
)
from asnn_neuro.errors import InputError

__all__ = ["DATASETS", "DEFAULT_DATASET", "FASHION_MNIST_DIR", "describe_datasets", "fashion_mnist_installed",
           "load_dataset"]


def fashion_mnist_installed() -> bool:
    """True when the packaged Fashion-MNIST (``fashion-mnist`` with no DIR) is on this machine."""
    return Path(FASHION_MNIST_DIR).is_dir()


def load_dataset(spec: str, seed: int = 0) -> Dataset:
    """Load the dataset named by ``spec`` (see ``DATASETS``); ``seed`` shuffles the embedded splits.

    File-based datasets keep their standard train/test split and order. Every problem with
    the spec or the files raises ``InputError`` with a one-line message.
    """
    if not isinstance(spec, str):
        raise InputError(f"dataset spec must be a string, got {type(spec).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"dataset seed must be a non-negative integer, got {seed!r}")
    kind, colon, directory = spec.strip().partition(":")
    kind = kind.lower()
    if kind in ("mnist5k", "digits"):
        if colon:
            raise InputError(f"dataset '{kind}' is built in and takes no directory (got '{spec}')")
        return load_mnist5k(seed) if kind == "mnist5k" else load_digits(seed)
    if kind == "fashion-mnist" and not colon:
        if not fashion_mnist_installed():
            raise InputError(FASHION_MNIST_MISSING)
        return load_idx_dataset(kind, FASHION_MNIST_DIR)
    if kind in ("mnist", "fashion-mnist", "cifar10", "cifar100"):
        if not colon:
            raise InputError(f"dataset '{kind}' needs a directory: '{kind}:DIR'")
        if kind.startswith("cifar"):
            return load_cifar_dataset(kind, directory)
        return load_idx_dataset(kind, directory)
    raise InputError(f"unknown dataset '{spec}'; choose one of: {', '.join(DATASETS)}")
