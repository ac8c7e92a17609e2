"""CIFAR-10 / CIFAR-100 "python version" pickle batches (``cifar10:DIR``, ``cifar100:DIR``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asnn_neuro.data.dataset import Dataset, images_to_tensor, labels_to_tensor
from asnn_neuro.data.files import dataset_dir, one_line, read_bytes
from asnn_neuro.data.safe_pickle import safe_loads
from asnn_neuro.errors import InputError

CIFAR_SHAPE = (3, 32, 32)
CIFAR_PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class CifarLayout:
    """Where a CIFAR variant keeps its batches and which key holds the labels."""

    subfolder: str
    train_files: tuple[str, ...]
    test_file: str
    label_key: str
    classes: int


CIFAR_LAYOUTS = {
    "cifar10": CifarLayout(
        "cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "labels", 10
    ),
    "cifar100": CifarLayout("cifar-100-python", ("train",), "test", "fine_labels", 100),
}


def _text_keys(obj: dict) -> dict[str, Any]:
    """The dict with bytes keys decoded (Python 2 pickles load their str keys as bytes)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, bytes):
            key = key.decode("latin1")
        if isinstance(key, str):
            out[key] = value
    return out


def parse_cifar_batch(
    kind: str, path: Path, data: bytes, label_key: str, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3072) uint8 and labels (N,) int64 from the bytes of one pickled batch."""

    def bad(problem: str) -> InputError:
        problem = " ".join(problem.split())  # pickled names may hold newlines; keep one line
        return InputError(f"{kind}: {path}: not a CIFAR pickle batch ({problem})")

    if len(data) == 0:
        raise InputError(f"{kind}: {path}: empty file")
    try:
        batch = safe_loads(data)
    except Exception as exc:  # corrupt pickles raise almost any type; report them all as bad input
        raise bad(one_line(exc)) from exc
    if not isinstance(batch, dict):
        raise bad(f"top-level object is {type(batch).__name__}, expected dict")
    batch = _text_keys(batch)
    for key in ("data", label_key):
        if key not in batch:
            keys = ", ".join(ascii(k) for k in sorted(batch)[:8]) or "none"
            raise bad(f"no '{key}' entry; keys: {keys}")
    images = batch["data"]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        what = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
        raise bad(f"'data' is {what}, expected a uint8 array")
    if images.ndim != 2 or images.shape[1] != CIFAR_PIXELS or images.shape[0] == 0:
        raise bad(f"'data' has shape {images.shape}, expected (N, {CIFAR_PIXELS}) with N > 0")
    try:
        labels = np.asarray(batch[label_key])
    except Exception as exc:  # ragged or exotic label containers
        raise bad(f"'{label_key}' is not a list of integers: {one_line(exc)}") from exc
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise bad(f"'{label_key}' is not a flat list of integers ({labels.dtype}, shape {labels.shape})")
    if len(labels) != len(images):
        raise InputError(f"{kind}: {path}: {len(labels)} labels but {len(images)} images")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= classes:
        bad_label = low if low < 0 else high
        raise InputError(f"{kind}: {path}: label {bad_label} out of range 0..{classes - 1}")
    return images, labels.astype(np.int64)


def _batch_folder(kind: str, root: Path, layout: CifarLayout) -> Path:
    """``root`` if it holds the batches, else its standard subfolder; InputError if neither does."""
    for folder in (root, root / layout.subfolder):
        if (folder / layout.test_file).exists() or (folder / layout.train_files[0]).exists():
            return folder
    raise InputError(
        f"{kind}: {root}: missing {layout.train_files[0]} and {layout.test_file} "
        f"(also looked in {layout.subfolder}/)"
    )


def _load_files(
    kind: str, folder: Path, names: tuple[str, ...], layout: CifarLayout
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated images and labels of the named batch files in ``folder``."""
    parts = []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise InputError(f"{kind}: {folder}: missing {name}")
        parts.append(parse_cifar_batch(kind, path, read_bytes(kind, path), layout.label_key, layout.classes))
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return images, labels


def load_cifar_dataset(kind: str, directory: str) -> Dataset:
    """Load ``cifar10`` or ``cifar100`` python batches from ``directory`` (or its standard subfolder)."""
    layout = CIFAR_LAYOUTS[kind]
    root = dataset_dir(kind, directory)
    folder = _batch_folder(kind, root, layout)
    train_images, train_labels = _load_files(kind, folder, layout.train_files, layout)
    test_images, test_labels = _load_files(kind, folder, (layout.test_file,), layout)
    return Dataset(
        name=f"{kind}:{root}",
        train_x=images_to_tensor(train_images, 255.0, CIFAR_SHAPE),
        train_y=labels_to_tensor(train_labels),
        test_x=images_to_tensor(test_images, 255.0, CIFAR_SHAPE),
        test_y=labels_to_tensor(test_labels),
        classes=layout.classes,
    )
