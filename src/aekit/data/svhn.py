"""SVHN (Street View House Numbers, the cropped 32x32 digits) from its MATLAB files train_32x32.mat and
test_32x32.mat: `X` holds the images as (32, 32, 3, N) uint8, `y` the digits with 0 labelled 10."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .core import Dataset, register_dataset
from .download import RemoteFile, ensure_files

URL = "http://ufldl.stanford.edu/housenumbers/"
FILES = {"train": ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),  # md5s published with torchvision
         "test": ("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3")}


@register_dataset("svhn")
def load_svhn(split: str, folder: Path) -> Dataset:
    """Reads svhn/train_32x32.mat or svhn/test_32x32.mat, downloading it (checksum verified) when missing."""
    from scipy.io import loadmat

    name, md5 = FILES[split]
    (path,) = ensure_files(folder / "svhn", [RemoteFile(name, URL + name, f"md5:{md5}")], dataset="svhn")
    try:
        arrays = loadmat(path, variable_names=("X", "y"))
    except Exception as err:  # scipy's reader meets a cut or foreign file with any of several errors
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise DataError(f"{path} is truncated or not a MATLAB file ({reason}); delete it and retry") from None
    x, y = arrays.get("X"), arrays.get("y")
    if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4 and x.shape[:3] == (32, 32, 3)
            and isinstance(y, np.ndarray) and y.size == x.shape[3]):
        raise DataError(f"{path}: expected SVHN's X, uint8 of shape (32, 32, 3, N), and y of N labels")
    labels = y.reshape(-1)
    if not (np.isin(labels, np.arange(1, 11))).all():
        raise DataError(f"{path}: y must hold SVHN's labels 1..10 (10 for the digit 0), found {labels.min()}..{labels.max()}")
    digits = labels.astype(np.int64) % 10  # SVHN labels the digit 0 as 10
    images = np.ascontiguousarray(x.transpose(3, 2, 0, 1)).astype(np.float32) / 255.0  # -> (N, 3, 32, 32)
    return Dataset(torch.from_numpy(images), torch.from_numpy(digits), name="svhn",
                   classes=[str(i) for i in range(10)])
