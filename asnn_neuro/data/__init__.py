"""The data stage: built-in and on-disk image classification datasets as torch tensors.

``load_dataset(spec, seed)`` returns a :class:`Dataset` for one of ``DATASETS``;
``describe_datasets()`` gives one help line per spec. All input problems raise
``asnn_neuro.errors.InputError`` with a one-line message naming the file.
"""

from __future__ import annotations

from asnn_neuro.data.dataset import Dataset
from asnn_neuro.data.registry import DATASETS, DEFAULT_DATASET, describe_datasets, load_dataset

__all__ = ["DATASETS", "DEFAULT_DATASET", "Dataset", "describe_datasets", "load_dataset"]
