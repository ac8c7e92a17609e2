"""The data stage: built-in and on-disk image classification datasets as torch tensors.

``load_dataset(spec, seed)`` returns a :class:`Dataset` for one of ``DATASETS``;
``describe_datasets()`` gives one help line per spec. All input problems raise
``asnn_neuro.errors.InputError`` with a one-line message naming the file. ``Dataset`` and
``load_dataset`` load torch on first use; the names and their help do not.
"""

from __future__ import annotations

from asnn_neuro.data.names import DATASETS, DEFAULT_DATASET, describe_datasets
from asnn_neuro.util.lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {"Dataset": "dataset", "load_dataset": "registry"})

__all__ = ["DATASETS", "DEFAULT_DATASET", "Dataset", "describe_datasets", "load_dataset"]
