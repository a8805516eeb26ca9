"""Data sets by name (MNIST family, digits, the bundled mnist-mini) and a user's own files."""

from .core import Dataset, class_indices, data_dir, register_dataset, scale_to_unit
from .datasets import list_datasets, load_dataset
from .idx import read_idx, write_idx

__all__ = [
    "Dataset",
    "class_indices",
    "data_dir",
    "list_datasets",
    "load_dataset",
    "read_idx",
    "register_dataset",
    "scale_to_unit",
    "write_idx",
]
