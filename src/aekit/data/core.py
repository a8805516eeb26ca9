"""The in-memory data set every loader returns, and the helpers to scale and split it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError


@dataclass
class Dataset:
    """Samples `x` (N, *sample_shape) float32 in [0, 1] and optional integer labels `y` (N,)."""

    x: Tensor  # or, for files too big to load, a MemmapArray (data/memmap.py) read a batch at a time
    y: Tensor | None = None
    name: str = "data"
    classes: list[str] | None = None  # label index -> class name
    meta: dict = field(default_factory=dict)  # loader-specific extras (vocabulary, file names, ...)

    def __post_init__(self) -> None:
        if self.y is not None and len(self.y) != len(self.x):
            raise DataError(f"{self.name}: {len(self.x)} samples but {len(self.y)} labels")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def subset(self, index) -> Dataset:
        index = torch.as_tensor(index, dtype=torch.long)
        x = self.x[index] if isinstance(self.x, Tensor) else self.x.subset(index)  # a MemmapArray stays lazy
        return Dataset(x, None if self.y is None else self.y[index], self.name, self.classes, self.meta)

    def split(self, val_fraction: float, *, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A seeded random split into (train, val); stratified by label when labels exist."""
        if not 0 < val_fraction < 1:
            raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")
        n = len(self)
        rng = np.random.default_rng(seed)
        if self.y is not None:
            y = self.y.numpy()
            val_idx = []
            for label in np.unique(y):
                members = rng.permutation(np.flatnonzero(y == label))
                val_idx.extend(members[: int(round(len(members) * val_fraction))])
            val_mask = np.zeros(n, dtype=bool)
            val_mask[val_idx] = True
        else:
            val_mask = np.zeros(n, dtype=bool)
            val_mask[rng.permutation(n)[: int(round(n * val_fraction))]] = True
        if val_mask.all() or not val_mask.any():
            raise DataError(f"{self.name}: {n} samples are too few to split with val_fraction {val_fraction}")
        return self.subset(np.flatnonzero(~val_mask)), self.subset(np.flatnonzero(val_mask))

    def take(self, limit: int | None, *, seed: int = 0) -> Dataset:
        """A seeded random subset of `limit` samples (all when `limit` is None or large)."""
        if limit is None or limit >= len(self):
            return self
        if limit <= 0:
            raise DataError(f"limit must be > 0, got {limit}")
        return self.subset(np.sort(np.random.default_rng(seed).permutation(len(self))[:limit]))

    def flat(self) -> Dataset:
        """The same samples as flat vectors (N, D)."""
        return Dataset(self.x.reshape(len(self), -1), self.y, self.name, self.classes, self.meta)


def scale_to_unit(array: np.ndarray, *, name: str, scale: str = "auto") -> np.ndarray:
    """float32 in [0, 1]: integers are divided by 255 (or their max); floats outside [0, 1] min-max scaled.

    scale: "auto" as above, "minmax" always min-max, "none" leaves values as they are.
    """
    if array.size == 0:
        raise DataError(f"{name}: the data set is empty")
    if scale not in ("auto", "minmax", "none"):
        raise DataError(f"{name}: scale {scale!r} is not allowed; choose auto, minmax or none")
    if array.dtype != np.bool_ and not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise DataError(f"{name}: values must be real numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        out = array.astype(np.float32)
        if scale == "none":
            return out
        top = 255.0 if array.dtype == np.uint8 or (out.max() <= 255 and out.max() > 1) else max(float(out.max()), 1.0)
        if scale == "auto" and out.min() >= 0:
            return out / top
    else:
        with np.errstate(over="ignore"):  # values beyond float32 become inf, refused just below
            out = array.astype(np.float32, copy=False)
        if not np.isfinite(array).all():
            raise DataError(f"{name}: the data contains NaN or infinite values; clean or impute them first")
        if not np.isfinite(out).all():
            raise DataError(f"{name}: values exceed the float32 range (|x| > 3.4e38); rescale them first")
        if scale == "none" or (scale == "auto" and out.min() >= 0 and out.max() <= 1):
            return out
    lo, hi = float(out.min()), float(out.max())
    if not hi > lo:
        return np.zeros_like(out)
    if hi - lo > float(np.finfo(np.float32).max):  # out - lo would overflow to inf in float32
        out = out.astype(np.float64)
    return ((out - lo) / (hi - lo)).astype(np.float32, copy=False)


def scale_like(array: np.ndarray, reference: np.ndarray, *, name: str, scale: str = "auto") -> np.ndarray:
    """`array` mapped by the affine map that `scale_to_unit` applies to `reference` (a test split
    scaled like its training split), clipped to [0, 1] unless scale is "none".

    The map depends only on the reference's dtype, minimum and maximum, so scaling those two values
    recovers it exactly."""
    scale_to_unit(array, name=name, scale=scale)  # the same checks (empty, dtype, NaN) on the array
    lo, hi = reference.min(), reference.max()
    f_lo, f_hi = (float(v) for v in scale_to_unit(np.array([lo, hi], dtype=reference.dtype), name=name, scale=scale))
    lo, hi = float(lo), float(hi)
    values = array.astype(np.float64)
    out = f_lo + (values - lo) * ((f_hi - f_lo) / (hi - lo)) if hi > lo else np.full_like(values, f_lo)
    if scale != "none":
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32)


def data_dir() -> Path:
    """Where data sets live: $AEKIT_DATA_DIR, else the user's cache folder (e.g. ~/.cache/aekit)."""
    env = os.environ.get("AEKIT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "aekit"
