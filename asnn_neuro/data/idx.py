"""MNIST-style IDX files (``mnist:DIR``, ``fashion-mnist:DIR``), parsed with numpy.

An IDX file is: two zero bytes, a dtype code (0x08 = unsigned byte), the number of
dimensions, one big-endian int32 per dimension, then the values in C order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asnn_neuro.data.dataset import Dataset, images_to_tensor, labels_to_tensor
from asnn_neuro.data.files import dataset_dir, find_raw_or_gz, read_bytes
from asnn_neuro.errors import InputError

UBYTE = 0x08
IDX_CLASSES = 10
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def parse_idx(kind: str, path: Path, data: bytes, ndim: int, what: str) -> np.ndarray:
    """Parse the bytes of an unsigned-byte IDX file with ``ndim`` dimensions into a uint8 array."""
    if len(data) == 0:
        raise InputError(f"{kind}: {path}: empty file")
    if len(data) < 4:
        raise InputError(f"{kind}: {path}: truncated: {len(data)} bytes, shorter than the 4-byte IDX magic")
    if data[0] != 0 or data[1] != 0:
        raise InputError(f"{kind}: {path}: not an IDX file (magic 0x{data[:4].hex()}, expected 0x0000....)")
    if data[2] != UBYTE:
        raise InputError(
            f"{kind}: {path}: unsupported IDX value type 0x{data[2]:02x} (expected 0x08, unsigned byte)"
        )
    if data[3] != ndim:
        raise InputError(f"{kind}: {path}: {what} file has {data[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InputError(f"{kind}: {path}: truncated: {len(data)} bytes, shorter than the header ({header})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if any(d == 0 for d in dims):
        raise InputError(f"{kind}: {path}: {what} file has an empty dimension {dims}")
    expected = header + int(np.prod(dims, dtype=object))
    if len(data) < expected:
        raise InputError(
            f"{kind}: {path}: truncated: expected {expected} bytes of {what} data, found {len(data)}"
        )
    if len(data) > expected:
        raise InputError(
            f"{kind}: {path}: size mismatch: expected {expected} bytes of {what} data, "
            f"found {len(data)} (trailing bytes)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_idx_split(kind: str, directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,) of one split; InputError on any inconsistency."""
    image_name, label_name = IDX_FILES[split]
    image_path = find_raw_or_gz(kind, directory, image_name)
    label_path = find_raw_or_gz(kind, directory, label_name)
    images = parse_idx(kind, image_path, read_bytes(kind, image_path), 3, "image")
    labels = parse_idx(kind, label_path, read_bytes(kind, label_path), 1, "label")
    if len(labels) != len(images):
        raise InputError(
            f"{kind}: {label_path}: {len(labels)} labels but {image_path.name} has {len(images)} images"
        )
    if labels.max() >= IDX_CLASSES:
        raise InputError(f"{kind}: {label_path}: label {int(labels.max())} out of range 0..{IDX_CLASSES - 1}")
    return images, labels


def load_idx_dataset(kind: str, directory: str) -> Dataset:
    """Load the four standard IDX files of ``kind`` (``mnist`` or ``fashion-mnist``) from ``directory``."""
    root = dataset_dir(kind, directory)
    train_images, train_labels = load_idx_split(kind, root, "train")
    test_images, test_labels = load_idx_split(kind, root, "test")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise InputError(
            f"{kind}: {root / IDX_FILES['test'][0]}: test images are {test_images.shape[1:]}, "
            f"train images are {train_images.shape[1:]}"
        )
    shape = (1, *train_images.shape[1:])
    return Dataset(
        name=f"{kind}:{root}",
        train_x=images_to_tensor(train_images, 255.0, shape),
        train_y=labels_to_tensor(train_labels),
        test_x=images_to_tensor(test_images, 255.0, shape),
        test_y=labels_to_tensor(test_labels),
        classes=IDX_CLASSES,
    )
