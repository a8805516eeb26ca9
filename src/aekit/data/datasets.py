"""Named data sets: `load_dataset(name, split)`, `list_datasets()`, `@register_dataset`."""

from __future__ import annotations

from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..errors import AekitError, ConfigError, DataError, DataNotFoundError, warn
from . import cifar, svhn, text  # noqa: F401  (they register their data sets)
from .core import (
    _DATASETS,
    Dataset,
    DatasetEntry,
    _loader_name,
    data_dir,
    data_map,
    register_dataset,
    run_unit_map,
)
from .download import RemoteFile, ensure_files
from .files import load_path
from .idx import read_idx

SPLITS = ("train", "test")
DIGITS = [str(i) for i in range(10)]  # the class names of digit data sets


def list_datasets() -> list[str]:
    """The names load_dataset takes besides files and folders (`aekit datasets` says which are here)."""
    return sorted(_DATASETS)


def dataset_entry(name: str) -> DatasetEntry:
    if name not in _DATASETS:
        raise ConfigError(
            f"data.name: unknown data set {name!r}; choose one of: {', '.join(sorted(_DATASETS))}, "
            "or give a path to a .npy/.npz/.csv or IDX file or an image folder"
        )
    return _DATASETS[name]


def load_dataset(
    name: str, split: str = "train", *, root: str | Path | None = None, layout: str = "auto", scale: str = "auto",
    like: str | Path | Dataset | None = None, image_size: int | None = None, progress: bool = True,
) -> Dataset:
    """Load data set `name` (or a user's file or folder path), split 'train' or 'test'.

    layout: how a user's 4-D image arrays are stored, "auto", "nchw" or "nhwc" (files.to_nchw).
    scale: how a user's values are brought to [0, 1], one of core.SCALES (core.unit_scaled).
    image_size: a folder of images: each scaled to cover image_size x image_size (keeping its aspect ratio)
    and centre-cropped, so that images of any size are read together.
    like: a run folder trained on a data file (or a Dataset loaded from one, such as the training file of a
    test file): scale this file's values exactly as that run's (its scaling.json), not by their own ranges, so
    that new samples reach the model as its training data did; a CSV's columns are taken by name and class
    names numbered alike.
    progress: a bar while a folder's images are read (on a terminal, once it takes over two seconds).
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not allowed; choose one of: {', '.join(SPLITS)}")
    path = Path(name).expanduser()
    is_file = name not in _DATASETS and (path.exists() or path.suffix.lower() in (".npy", ".npz", ".csv"))
    home = (Path(root).expanduser() if root is not None else data_dir()) if name in _DATASETS else None  # (a bug
    # hunt: root's ~ was never expanded)
    if name in _DATASETS and path.exists() and split == "train" and path.resolve() != (home / name).resolve():
        warn(f"{name!r} reads aekit's data set of that name, not the ./{name} here; give ./{name} to read that")
    unit_map = None
    if like is not None:
        if not is_file:
            raise ConfigError(f"like: applies to a file of your own; {name} comes in [0, 1] already")
        if scale != "auto" or image_size is not None:
            raise ConfigError(f"like and {f'scale={scale!r}' if scale != 'auto' else 'image_size'}: give one; like "
                              "scales (and resizes) the samples as the run's were")
        if isinstance(like, Dataset):
            unit_map = data_map(like)
            if unit_map is None:
                raise ConfigError(f"like: {like.name} was not loaded from a data file of your own, so nothing says how "
                                  "its values were scaled; give one that was (load_dataset('train.csv')) or a run folder")
        else:
            unit_map = run_unit_map(like, "like")
    if is_file:
        return from_file(path, split, layout=layout, scale=scale, image_size=image_size, run_map=unit_map,
                         progress=progress)
    entry = dataset_entry(name)
    if scale not in ("auto", "global"):
        raise ConfigError(f"data.scale: {scale!r} applies to a file of your own; {name} comes in [0, 1] already")
    if layout != "auto" or image_size is not None:
        which = f"layout: {layout!r}" if layout != "auto" else f"image_size: {image_size}"
        raise ConfigError(f"data.{which} applies to a file or folder of your own; {name} comes in (N, C, H, W) already")
    try:
        data = entry.loader(split, home)
    except DataNotFoundError as err:  # ./fashion-mnist here, holding the files: read by path when given as one
        if root is None and path.exists():
            raise DataNotFoundError(f"{err}; {name} here is not read, as {name} names a data set: give ./{name} "
                                    "to read it as a path") from None
        raise
    except (AekitError, OSError, MemoryError):
        raise
    except Exception as err:  # a loader of one's own (an own-data-set hunt: "KeyError: 'x'", naming nothing)
        if _loader_name(entry.loader).startswith("aekit."):
            raise
        raise DataError(f"data set {name!r}: its loader {_loader_name(entry.loader)} raised {type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''} (split {split!r})") from err
    if not isinstance(data, Dataset):  # a loader of your own
        raise DataError(f"data set {name!r}: its loader returned a {type(data).__name__}; a loader returns an "
                        "aekit.data.Dataset(x, y), x of shape (N, ...) in [0, 1]")
    data.source = name if root is None else None  # another root is not reproducible by name
    return data


def from_file(path: Path, split: str, *, layout: str, scale: str, run_map: dict | None,
              image_size: int | None = None, progress: bool = True) -> Dataset:
    """files.load_path's Dataset of a user's file or folder, with its `source` (the full path, as config.yaml
    records it) and meta["samples"] (how many the part holds, which scaling.json records: a change is said)."""
    data = load_path(path, split=split, layout=layout, scale=scale, image_size=image_size, run_map=run_map,
                     progress=progress)
    data.source = str(path.resolve())
    data.meta = {**data.meta, "samples": len(data)}
    return data


# --- the MNIST family ----------------------------------------------------------------------------

_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# Published MD5s of the original .gz files (as listed by the data sets' authors and torchvision).
_MNIST_FAMILY = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        DIGITS,
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12e480ee83cd310",
        },
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
    "kmnist": (
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist",
        {
            "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
            "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
            "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
            "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
        },
        ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
    ),
}


def idx_pair(images: Path, labels: Path, *, name: str, classes: list[str] | None) -> Dataset:
    """(N, 1, H, W) float32 in [0, 1] from an images IDX file and its labels IDX file."""
    x = read_idx(images)
    y = read_idx(labels)
    if x.ndim != 3:
        raise DataError(f"{images} holds an array of shape {x.shape}; expected (N, height, width) images")
    if len(x) != len(y):
        raise DataError(f"{name}: {images.name} has {len(x)} images but {labels.name} has {len(y)} labels")
    if x.dtype != np.uint8:
        raise DataError(f"{images} holds {x.dtype} values; the MNIST family's images are unsigned bytes (0..255)")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"{labels} holds {y.dtype} values of shape {y.shape}; expected one label 0..K-1 per image")
    xt = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    classes = list(classes) if classes is not None else None  # each data set its own list
    return Dataset(xt, torch.from_numpy(y.astype(np.int64)), name=name, classes=classes)


def _load_idx_family(split: str, folder: Path, *, name: str) -> Dataset:
    base, md5s, classes = _MNIST_FAMILY[name]
    wanted = [RemoteFile(f, f"{base}/{f}", f"md5:{md5s[f]}") for part in _IDX_NAMES.values() for f in part]
    here = {f.name: next((p for p in (folder / name / f.name, folder / name / f.name.removesuffix(".gz")) if p.is_file()),
                         None) for f in wanted}  # gunzipped files are read as they are (a bug hunt: listed, never read)
    paths = here if all(here.values()) else dict(zip((f.name for f in wanted), ensure_files(folder / name, wanted,
                                                                                            dataset=name)))  # all four
    images, labels = (paths[f] for f in _IDX_NAMES[split])
    return idx_pair(images, labels, name=name, classes=classes)


for _name in _MNIST_FAMILY:
    register_dataset(_name)(partial(_load_idx_family, name=_name))


@register_dataset("mnist-mini")
def _mnist_mini(split: str, folder: Path) -> Dataset:
    bundled = resources.files("aekit.data") / "bundled" / "mnist-mini"
    images, labels = (Path(str(bundled / f)) for f in _IDX_NAMES[split])
    return idx_pair(images, labels, name="mnist-mini", classes=DIGITS)


@register_dataset("digits")
def _digits(split: str, folder: Path) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy((bunch.images / 16.0).astype(np.float32)).unsqueeze(1)  # (N, 1, 8, 8)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    cut = int(len(x) * 0.8)
    sl = slice(0, cut) if split == "train" else slice(cut, None)
    return Dataset(x[sl], y[sl], name="digits", classes=list(DIGITS))
