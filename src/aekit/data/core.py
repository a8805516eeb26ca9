"""The in-memory data set every loader returns, and the helpers to scale and split it."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import math
import numbers
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from ..catalog import DATASETS, data_dir  # noqa: F401  (data_dir: aekit.data.data_dir, torch-free for the CLI)
from ..errors import ConfigError, DataError, warn


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    loader: Callable[..., Dataset]  # (split, folder) -> Dataset
    summary: str


_DATASETS: dict[str, DatasetEntry] = {}


Loader = TypeVar("Loader", bound=Callable)


def register_dataset(name: str, summary: str | None = None) -> Callable[[Loader], Loader]:
    """Register `loader(split, folder) -> Dataset` as `name` (split "train" or "test"; folder: the data
    directory); the summary defaults to the catalog's line."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"register_dataset: a data set's name is a non-empty string, got {name!r}")

    def deco(fn: Loader) -> Loader:
        try:
            inspect.signature(fn).bind("train", Path())
        except (TypeError, ValueError):  # (not callable, or another signature: an extension trial's TypeError)
            raise ConfigError(f"register_dataset({name!r}): decorates a loader taking (split, folder) and returning "
                              f"a Dataset, got {getattr(fn, '__qualname__', fn)!r}") from None
        old = _loader_name(_DATASETS[name].loader) if name in _DATASETS else _loader_name(fn)
        if old != _loader_name(fn):  # (the same one again: its module imported again)
            raise ConfigError(f"data set {name!r} is registered twice: {old} and {_loader_name(fn)} both register it; "
                              "give yours another name")
        doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()  # (as a model's: an own-data-set hunt)
        _DATASETS[name] = DatasetEntry(name, fn, summary if summary is not None else DATASETS.get(name) or (
            doc[0] if doc else ""))
        return fn

    return deco


def loader_file(name: str | None) -> str | None:
    """The .py file (else the module) of the data set `name` of one's own, which a run's imports name; None for
    aekit's own and for a name that is no registered data set."""
    entry = _DATASETS.get(name) if isinstance(name, str) else None
    inner = getattr(entry.loader, "func", entry.loader) if entry is not None else None
    module = getattr(inner, "__module__", None) or (type(inner).__module__ if inner is not None else None)
    if module is None or module.split(".")[0] == "aekit" or module == "__main__":
        return None
    file = getattr(sys.modules.get(module), "__file__", None)
    return str(Path(file).resolve()) if file else module


def _loader_name(fn: Callable) -> str:
    """A loader's module and name, as a refusal names it (a functools.partial's: its function's, and keywords)."""
    inner, keywords = getattr(fn, "func", fn), getattr(fn, "keywords", None)
    named = inner if hasattr(inner, "__qualname__") else type(inner)  # (a callable object: its class)
    return f"{named.__module__}.{named.__qualname__}" + (f"({keywords})" if keywords else "")


def swapped(got: Sequence[int], want: Sequence[int]) -> str:
    """A hint where samples of shape `got` are `want` with their last two axes swapped ("" otherwise): windows
    stored time-major (N, T, C), as Keras keeps them, where aekit reads (N, C, T)."""
    got, want = tuple(got), tuple(want)
    turned = len(got) >= 2 and got != want and got[:-2] + got[-2:][::-1] == want
    return " (its last two axes swapped: x.swapaxes(-1, -2), for windows stored time-major (N, T, C), say)" * turned


def is_signal(shape: Sequence[int]) -> bool:
    """Whether samples of `shape` (1, C, T) are the C channels of a signal over T steps, as such are read (`is_picture`
    says which): the models convolve and the notes name them by channel."""
    return len(shape) == 3 and not is_picture(shape)


def is_picture(shape: Sequence[int]) -> bool:
    """Whether samples of `shape` are drawn as pictures: images (C, H, W), unless grey and a few rows far
    longer than they are (the channels of signals stored (N, C, T), read as 1 x C x T, or given as (C, T)),
    and flat vectors of a square length of 64 or more (a flattened image: MNIST as a CSV). Other samples, a
    table's rows and signals, are drawn as curves, one a row (analysis.plots' `curve_grid`, `curve_png`)."""
    if len(shape) == 1:
        return shape[0] >= 64 and math.isqrt(shape[0]) ** 2 == shape[0]
    rows, length = shape[-2], shape[-1]
    return len(shape) not in (2, 3) or (len(shape) == 3 and shape[0] != 1) or not (rows <= 16 and length >= 4 * rows)


@dataclass(repr=False, eq=False)  # (== compares by identity: field by field raised torch's "Boolean value of Tensor", an API trial)
class Dataset:
    """Samples `x` (N, *sample_shape) and optional integer labels `y` (N,). aekit's readers give float32 in [0, 1]
    (or scaled as data.scale asks); `x` is kept as given, and what trains on it checks it (floating point, and [0, 1]
    for a sigmoid model)."""

    x: Tensor  # or, for files too big to load, a MemmapArray (data/memmap.py) read a batch at a time
    y: Tensor | None = None
    name: str = "data"
    classes: list[str] | None = None  # label index -> class name
    meta: dict = field(default_factory=dict)  # loader-specific extras (vocabulary, file names, ...)
    # what load_dataset was given for this whole split (a name or a file); None for a subset or your own
    # tensors. aekit.fit records it in the run folder, so that `aekit evaluate|resume` find the data.
    source: str | None = None

    def __post_init__(self) -> None:
        from .batches import to_tensor  # (memmap and batches import this module)
        from .memmap import as_memmap_array

        if isinstance(self.x, np.memmap):  # stays on disk, read a batch at a time
            self.x = as_memmap_array(self.x, self.name)
        elif isinstance(self.x, np.ndarray):
            self.x = to_tensor(self.x, self.name)
        if self.y is not None and not isinstance(self.y, Tensor):
            self.y = to_tensor(np.asarray(self.y), f"{self.name} labels")
        if not (isinstance(self.x, Tensor) or hasattr(self.x, "subset")):  # (a MemmapArray's)
            raise DataError(f"{self.name}: x must be a tensor or a numpy array, got {type(self.x).__name__}")
        if self.y is not None and len(self.y) != len(self.x):
            raise DataError(f"{self.name}: {len(self.x)} samples but {len(self.y)} labels")
        if self.y is not None and self.y.ndim != 1:  # (an own-data-set hunt: an IndexError in split, unexpected)
            one_hot = (" (a column: y.ravel())" if self.y.shape[1:] == (1,) else " (one-hot: y.argmax(1))") * (
                self.y.ndim == 2)
            raise DataError(f"{self.name}: labels are one class index a sample, of shape ({len(self.y)},), got shape "
                            f"{tuple(self.y.shape)}{one_hot}")
        if self.y is not None and self.y.dtype == torch.bool:
            self.y = self.y.long()
        if self.y is not None and self.y.is_floating_point():  # whole numbers: class indices; others no class (a
            y = self.y.double()  # hunt: fractions were written as labels to scores.csv)
            bad = no_class_index(y.numpy())
            if bad.any():
                raise DataError(f"{self.name}: labels are class indices, whole numbers; got {y.numpy()[bad][0].item()!r}")
            self.y = y.long()
        if self.classes and self.y is not None and len(self.y) and int(self.y.max()) >= len(self.classes):
            raise DataError(f"{self.name}: label {int(self.y.max())} has no class name: classes holds "
                            f"{len(self.classes)} names, one for each label 0..{len(self.classes) - 1}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __repr__(self) -> str:  # not every sample and file name
        labels = f", {len(self.classes)} classes" if self.classes else ", labelled" if self.y is not None else ""
        return f"Dataset({self.name!r}: {len(self):,} samples of shape {list(self.sample_shape)}{labels})"

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample: (C, H, W) images, (C, T) signals, (D,) vectors."""
        return tuple(self.x.shape[1:])

    def subset(self, index) -> Dataset:
        """The samples `index` picks (positions: a list, range, array or tensor; or a boolean mask, `ds.y == 3`)."""
        index = torch.as_tensor(np.asarray(index) if isinstance(index, (list, tuple, range)) else index)
        if index.dtype == torch.bool:  # a mask (ds.subset(ds.y == 3)): its True rows, not rows 0 and 1
            if index.shape != (len(self),):
                raise IndexError(f"a mask of {tuple(index.shape)} values for {len(self)} samples")
            index = torch.nonzero(index).flatten()
        index = index.to(torch.long)
        x = self.x[index] if isinstance(self.x, Tensor) else self.x.subset(index)  # a MemmapArray stays lazy
        meta = self.meta or {}  # which of its rows (and image files) these are, for per-sample outputs (--scores): a
        rows = np.asarray(meta.get("rows", np.arange(len(self))))[index.cpu().numpy()]  # named set's too (a bug hunt: 0..n-1
        meta = {**meta, "rows": rows, **({"files": [meta["files"][i] for i in index.tolist()]}  # for rows 41, 72, ...)
                                         if "files" in meta else {})}
        return Dataset(x, None if self.y is None else self.y[index], self.name, self.classes, meta)

    def split(self, val_fraction: float, *, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A seeded random split into (train, val); stratified by label when labels exist."""
        _fraction(val_fraction)
        n = len(self)
        rng = np.random.default_rng(seed)
        y = self.y.numpy() if self.y is not None else np.zeros(n)  # unlabelled: one stratum
        val_mask = np.zeros(n, dtype=bool)
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            val_mask[members[: int(round(len(members) * val_fraction))]] = True
        target = int(round(n * val_fraction))
        short = target - int(val_mask.sum())
        # many tiny classes (a regression target read as labels) round to none; or a few samples of several
        # classes, each too small for a share (10 of 3 classes at 0.1 held none, where 10 unlabelled held 1)
        if short > max(1, target // 10) or (short > 0 and not val_mask.any()):
            val_mask[rng.choice(np.flatnonzero(~val_mask), short, replace=False)] = True
        elif -short > max(1, target // 10):  # many small classes, each rounded up (a settings hunt: 20 of 3 each held
            val_mask[rng.choice(np.flatnonzero(val_mask), -short, replace=False)] = False  # 20 of 60 at 0.2, not 12)
        return self._parts(val_mask, val_fraction)

    def split_last(self, val_fraction: float) -> tuple[Dataset, Dataset]:
        """(train, val) in order: the last `val_fraction` of the samples held out (windows of a series in time order)."""
        _fraction(val_fraction)  # (an API hunt: 1.5 was "too few samples to split")
        n = len(self)
        return self._parts(np.arange(n) >= n - int(round(n * val_fraction)), val_fraction)

    def _parts(self, val_mask: np.ndarray, val_fraction: float) -> tuple[Dataset, Dataset]:
        """(the samples `val_mask` leaves out, those it holds), or a refusal where either part would be empty."""
        if val_mask.all() or not val_mask.any():
            n = len(self)
            raise DataError(f"{self.name}: {n} sample{'s are' if n != 1 else ' is'} too few to split with val_fraction "
                            f"{val_fraction}; train without a validation split (data.val_fraction=0) or give more")
        return self.subset(np.flatnonzero(~val_mask)), self.subset(np.flatnonzero(val_mask))

    def take(self, limit: int | None, *, seed: int = 0) -> Dataset:
        """A seeded random subset of `limit` samples (all when `limit` is None or large)."""
        if limit is not None and (not isinstance(limit, numbers.Integral) or isinstance(limit, bool) or limit <= 0):
            raise ConfigError(f"limit must be a whole number > 0 (or None: all), got {limit!r}")
        if limit is None or limit >= len(self):
            return self
        return self.subset(np.sort(np.random.default_rng(seed).permutation(len(self))[:limit]))

    def flat(self) -> Dataset:
        """The same samples as flat vectors (N, D): your own tensors, as a run records them (no `source`: its data
        set's samples have another shape, so `aekit evaluate` and `resume` of a run on them cannot read it by name)."""
        return Dataset(self.x.reshape(len(self), -1), self.y, self.name, self.classes, self.meta)


def _fraction(val_fraction: float) -> None:
    """Refuse a validation share outside (0, 1)."""
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")


def class_indices(train: Dataset, *others: Dataset) -> list[Dataset]:
    """[train, *others] with labels 0..K-1, K the classes of train's labels in sorted order, for
    classifiers whose outputs are label indices (a user's labels may be 1..5, or 3 and 7).

    Refuses unlabelled samples (-1) and labels in `others` that train does not have.
    """
    if train.y is None:
        raise DataError(f"{train.name}: needs labels (y) for every training sample")
    classes = torch.unique(train.y)
    if classes[0] < 0:
        raise DataError(f"{train.name}: training labels hold {int(classes[0])}; every training sample needs its "
                        "class (0 or more): the experiment draws its labelled samples itself")
    out = []
    for part in (train, *others):
        if part.y is None or not torch.isin(part.y, classes).all():
            unknown = [] if part.y is None else sorted(set(part.y[~torch.isin(part.y, classes)].tolist()))
            if part.classes and unknown and max(unknown) < len(part.classes):  # class folders: by their names
                raise DataError(f"{part.name}: class(es) {', '.join(part.classes[c] for c in unknown[:5])} are not among "
                                "the training classes; an experiment that classifies needs the training part's classes")
            raise DataError(f"{part.name}: every label must be one of the training labels "
                            f"{classes.tolist()[:20]}{' ...' if len(classes) > 20 else ''}")
        names = [part.classes[c] for c in classes.tolist()] if part.classes and len(part.classes) > int(classes[-1]) else None
        out.append(Dataset(part.x, torch.searchsorted(classes, part.y), part.name, names, part.meta, part.source))
    return out


# auto: see unit_map and per_column; global: auto with one range for every table (how runs before
# 2026-12-03 read their data); minmax: one min-max range for all values; column: a range per column;
# standard: a table's columns (all values of images) less their mean, over their deviation: not in [0, 1]
SCALES = ("auto", "global", "minmax", "column", "standard", "none")
SPREAD = 0.1  # "auto" scales columns one by one when the median column range is under this share of the whole range


SCALING_FILE = "scaling.json"  # in a run folder: how its data file's values became the inputs (read_unit_map)


def read_unit_map(folder: str | Path) -> dict | None:
    """What a run trained on a data file saved in `folder`/scaling.json (checkpoint.write_scaling), or None:
    "offset" and "divisor", float32 arrays of one value or one per column, with inputs = (stored - offset) /
    divisor (a divisor of null: an older run's constant range, every input 0); "layout", how the file stores images if
    not as the model takes them, (N, C, H, W): "nhwc" or "nhw"; "columns", a CSV's feature names or None;
    "classes", the names its labels number, or None; "shape", the model's sample shape (None in older files);
    "samples", how many samples the data file's training part held when the run trained (None in older files);
    "test_samples", how many its test part held (None: it had none, or an older file), which must still be there;
    "image_size", the N x N each image of a folder was fitted to (None: read at its size); "pixels": "unit"
    where a folder's images were read in [0, 1] by their bit depth (older runs took 8-bit ones as 0..255).
    A run on a folder of texts saves "vocabulary" (its words) and "idf" (TF-IDF's weights; None: bag of
    words) in place of the offset and divisor, and "words", how its texts were split into words (text.make_vectorizer;
    1 in older files)."""
    path = Path(folder) / SCALING_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):  # (a files hunt: [1] was an "unexpected" AttributeError)
            raise ValueError("not a JSON object")
        for key in ("columns", "classes", "vocabulary"):
            if raw.get(key) is not None and not (isinstance(raw[key], list) and all(isinstance(c, str) for c in raw[key])):
                raise ValueError(f"{key} must be a list of names")
        shape = raw.get("shape")
        if shape is not None and not (isinstance(shape, list) and all(isinstance(n, int) and n > 0 for n in shape)):
            raise ValueError("shape must be a list of sizes")
        tested = raw.get("test_samples")
        if tested is not None and not (isinstance(tested, int) and tested > 0):
            raise ValueError(f"test_samples {tested!r}")
        if raw.get("vocabulary"):
            idf = None if raw.get("idf") is None else np.asarray(raw["idf"], dtype=np.float64)
            if idf is not None and (idf.shape != (len(raw["vocabulary"]),) or not np.isfinite(idf).all()):
                raise ValueError("idf must hold one weight per word of the vocabulary")
            return {"vocabulary": raw["vocabulary"], "idf": idf, "words": raw.get("words", 1), "classes": raw.get("classes"),
                    "shape": [len(raw["vocabulary"])], "samples": raw.get("samples"), "test_samples": tested}
        offset = np.asarray(raw["offset"], dtype=np.float32)
        divisor = np.asarray(math.inf if raw["divisor"] is None else raw["divisor"], dtype=np.float32)
        if offset.ndim > 1 or divisor.shape != offset.shape or not np.isfinite(offset).all() or not (divisor > 0).all():
            raise ValueError("an offset and a divisor > 0 of the same length")
        if raw.get("layout") not in (None, "nhwc", "nhw"):
            raise ValueError(f"layout {raw['layout']!r}")
        if raw.get("image_size") is not None and not (isinstance(raw["image_size"], int) and raw["image_size"] > 0):
            raise ValueError(f"image_size {raw['image_size']!r}")
        if raw.get("pixels") not in (None, "unit"):
            raise ValueError(f"pixels {raw['pixels']!r}")
        bounds = raw.get("range")  # (older files: none)
        if bounds is not None and not (isinstance(bounds, list) and len(bounds) == 2 and all(
                np.ndim(end) == 0 or (np.ndim(end) == 1 and shape is not None and len(end) == math.prod(shape))
                for end in bounds) and all(np.isfinite(np.asarray(end, dtype=np.float64)).all() for end in bounds)):
            raise ValueError("range must be [low, high], numbers or one a column")
        return {"offset": offset, "divisor": divisor, "layout": raw.get("layout"), "columns": raw.get("columns"),
                "classes": raw.get("classes"), "shape": shape, "samples": raw.get("samples"), "test_samples": tested,
                "image_size": raw.get("image_size"), "pixels": raw.get("pixels"), "range": bounds}
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} is damaged ({err}); train the run again to rewrite it") from None


UNLABELLED = {"unlabeled", "unlabelled", "unsup", "unsupervised"}
PART_WORDS = {"train", "training", "trainset", "test", "testing", "testset", "val", "valid", "validation",
              *UNLABELLED}  # a folder's name ending in one of these words is a part, not a class


def part_word(name: str) -> str | None:
    """The word of PART_WORDS that a folder's name ends in (seg_train, Testing, train2017), or None."""
    words = re.findall("[a-z]+", name.lower())
    return words[-1] if words and words[-1] in PART_WORDS else None


def class_files(folder: Path, suffixes: set[str], kind: str) -> tuple[list[str] | None, list[tuple[int, Path]]]:
    """(class names, [(class index, file)]) of the files of `kind` (`suffixes`) in `folder`'s class folders
    (subfolders at any depth within each), or (None, its own files) where no subfolder holds any. Hidden
    files and folders are skipped; files beside class folders and empty class folders are refused."""

    home = os.path.realpath(folder)

    def within(path: str, other: str) -> bool:
        return os.path.commonpath([path, other]) == other

    def found(root: Path, deep: bool = True) -> list[Path]:  # not hidden, nor under a hidden folder (.ipynb_checkpoints)
        files, seen, own = [], set(), os.path.realpath(root)
        for top, dirs, names in os.walk(root, followlinks=True):  # (a linked folder inside a class folder was left
            real = os.path.realpath(top)  # out unsaid: pathlib's ** does not follow links, a bug hunt)
            if real in seen or not within(real, own) and (within(real, home) or within(home, real)):
                if real not in seen:  # a link to the data folder, above it or into it (another class's files: a
                    skipped.append(os.path.relpath(top, folder))  # review), left out and said; one walked once
                dirs.clear()
                continue
            seen.add(real)
            dirs[:] = [d for d in dirs if deep and not d.startswith(".")]
            files += [Path(top, n) for n in names if not n.startswith(".") and Path(n).suffix.lower() in suffixes
                      and Path(top, n).is_file()]
        return sorted(files, key=lambda f: f.parts)

    # by their names' parts, as Linux's paths sort: Windows' compare without case, which numbered the classes and
    # ordered the files otherwise (a portability review); in Unicode's composed form, as macOS may write a name
    # decomposed ("café" of a test part read as a class of its own: a bug hunt)
    skipped: list[str] = []
    groups = [(unicodedata.normalize("NFC", d.name), found(d)) for d in sorted(folder.iterdir(), key=lambda d: d.name)
              if d.is_dir() and not d.name.startswith(".")]
    if skipped:
        warn(f"{folder}: {len(skipped)} linked folder{'s' * (len(skipped) > 1)} inside class folders lead back into "
             f"{folder} or above it ({', '.join(skipped[:3])}{' ...' * (len(skipped) > 3)}): left out")
    alike = sorted({n for n, _ in groups if [m for m, _ in groups].count(n) > 1})
    if alike:  # (a review: two classes of one name, as macOS and Linux write "café")
        raise DataError(f"{folder}: class folders {', '.join(alike)} are named alike twice (in Unicode's composed and "
                        "decomposed forms); merge or rename them")
    names = [name for name, _ in groups]
    parts = [n for n in names if part_word(n)]  # Training, seg_test, 20news-bydate-train, train2017; not test_tube
    unlabelled = [n for n in names if part_word(n) in UNLABELLED]  # aclImdb's train/unsup/ beside pos/ and neg/
    if unlabelled and len(names) > 1:
        raise DataError(f"{folder}: {unlabelled[0]}/ holds unlabelled samples, not a class; move it out (labels come from "
                        "class folders; a folder of unlabelled samples alone trains as one)")
    nested = [n for n in parts if len([d for d in (folder / n).iterdir() if d.is_dir() and d.name[0] != "."]) > 1]
    if len(parts) > 1 or nested:  # two parts, or one holding class folders
        train = next((n for n in parts if part_word(n) in ("train", "training")), parts[0])
        what = "look like parts" if len(parts) > 1 else "looks like a part"
        raise DataError(f"{folder}: {', '.join(n + '/' for n in parts)} {what} of a data set (training, test...), not "
                        f"classes; give {folder / train} (its subfolders the classes), or keep two parts alone, named "
                        "train/ and test/, to keep the test part apart (or rename classes named like parts)")
    loose = found(folder, deep=False)
    if not any(files for _, files in groups):  # a flat folder: unlabelled
        return None, [(0, f) for f in loose]
    if loose:  # neither of a class nor read: never left out without a word
        raise DataError(f"{folder}: holds {kind} ({', '.join(f.name for f in loose[:3])}{' ...' * (len(loose) > 3)}) "
                        "beside class folders; move them into a class folder (each subfolder is one class) or out")
    empty = [name for name, files in groups if not files]
    if empty:
        raise DataError(f"{folder}: class folder(s) {', '.join(empty)} hold no {kind}; fill or remove them (each "
                        "subfolder is one class)")
    return names, [(i, f) for i, (_, files) in enumerate(groups) for f in files]


def check_declared(f, size: int, name: str) -> None:
    """Refuse a .npy (`f`, open at its start, of `size` bytes; named `name`) whose header declares more data than
    it holds, before numpy allocates that much (a files trial: 200 bytes declaring 160 TB were "out of memory")."""
    version = np.lib.format.read_magic(f)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:  # (3.0: UTF-8 field names; numpy's own reading checks it)
        return
    shape, _, dtype = read(f)
    declared, held = math.prod(shape) * dtype.itemsize, size - f.tell()
    if not dtype.hasobject and declared > held:
        raise DataError(f"{name} is truncated: its header declares {declared:,} bytes of data ({shape} {dtype}), and "
                        f"it holds {held:,}")


def classes_with_test(where: Path, test: list[str] | None, classes: list[str] | None, *, say: bool = True
                      ) -> list[str] | None:
    """The training part's class names, and after them any of a test part's class folders that it lacks (an
    anomaly-detection test part, MVTec AD's: its defects beside train/'s good), each said in a note (`say`)."""
    new = sorted(set(test or ()) - set(classes or ())) if classes is not None else []
    if new and say:
        warn(f"{where}: class folder(s) {', '.join(new)} are not among the training classes "
             f"({', '.join(classes[:10])}{' ...' * (len(classes) > 10)}): numbered after them")
    return None if classes is None else [*classes, *new]


def value_bounds(data: Dataset) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(low, high) of `data`'s inputs: a value per column for a table, one for other samples (a memory-mapped
    file's from its scan, of every row); None for inputs of another kind."""
    if isinstance(data.x, torch.Tensor):
        flat = data.x.reshape(len(data.x), -1)
        return (flat.amin(0), flat.amax(0)) if data.x.ndim == 2 else (flat.min(), flat.max())
    if hasattr(data.x, "value_range"):  # memory-mapped: its scan
        lo, hi = (torch.as_tensor(end).reshape(-1) for end in data.x.value_range())
        return (lo, hi) if data.x.ndim == 2 else (lo.min(), hi.max())
    return None


def input_range(data: Dataset) -> list | None:
    """[low, high] of `data`'s inputs (lists of a value per column for a table) where they leave [0, 1], else None:
    what scaling.json keeps so that new samples are checked against the training range without the training data
    (a warm start's inputs, in the units of the run it began from; standardised ones)."""
    bounds = value_bounds(data) if len(data) else None
    if bounds is None or (float(bounds[0].min()) >= -1e-6 and float(bounds[1].max()) <= 1 + 1e-6):
        return None
    return [bounds[0].tolist(), bounds[1].tolist()]


def data_map(data: Dataset) -> dict | None:
    """read_unit_map's dict for `data` as loaded from a data file or a folder of texts (None for other
    data, or tensors): what a run's scaling.json saves (checkpoint.write_scaling) and load_dataset(..., like=data) reads by."""
    meta = getattr(data, "meta", None) or {}
    if meta.get("vectorizer") is not None:
        idf = getattr(meta["vectorizer"], "idf_", None)
        return {"vocabulary": meta["vocabulary"], "idf": None if idf is None else np.asarray(idf, dtype=np.float64),
                "words": 1 if meta["vectorizer"].preprocessor is None else 2, "classes": data.classes, "shape": list(data.sample_shape), "samples": meta.get("samples"),
                "test_samples": meta.get("test_samples")}
    if meta.get("unit_map") is None:
        return None
    offset, divisor = (np.asarray(v, dtype=np.float32) for v in meta["unit_map"])
    return {"offset": offset, "divisor": divisor, "layout": meta.get("stored_layout"), "columns": meta.get("columns"),
            "classes": data.classes, "shape": list(data.sample_shape), "samples": meta.get("samples"),
            "test_samples": meta.get("test_samples"), **({"image_size": meta["image_size"]} if meta.get("image_size") else {}),
            **({"pixels": meta["pixels"]} if meta.get("pixels") else {})}


def run_unit_map(run: str | Path, what: str) -> dict:
    """read_unit_map of the run folder `run` (or of the folder holding the file `run`); `what` starts the
    refusal of a run that saved none (a run of a named data set, or one from before scaling.json)."""
    if not Path(run).exists():
        raise DataError(f"{what}: {run} does not exist; give the folder of a run trained on a data file")
    folder = Path(run) if Path(run).is_dir() else Path(run).parent
    unit_map = read_unit_map(folder)
    if unit_map is None:
        raise DataError(f"{what}: {folder} holds no {SCALING_FILE}: give the folder of a run trained on a data file "
                        "(csv, npy, npz, IDX, an image folder), which saves how it scaled its values (a run from "
                        "before 2026-12-04 writes it when resumed); a run of a named data set takes its inputs in "
                        "[0, 1] (pixels / 255) and needs no map")
    return unit_map


def resolved_scale(scale: str, meta: dict | None) -> str:
    """The data.scale a run folder records for data loaded with `scale`: what "auto" chose for it
    ("column" where its meta says per column, "minmax" for a table of integers other than uint8, "none" for
    0/1 integers kept, else "global"), so the run is read alike if auto's rule changes."""
    if scale != "auto":
        return scale
    meta = meta or {}
    if meta.get("integer") and meta.get("scaling") == "none":  # 0/1 integers kept as they are
        return "none"
    return "column" if meta.get("scaling") == "per column" else "minmax" if meta.get("integer_table") else "global"


def is_integral(dtype: np.dtype) -> bool:
    """Integers and booleans: never NaN, and divided by 255 (or their maximum) by scale "auto" (but for a
    table of integers other than uint8: unit_map)."""
    return dtype == np.bool_ or np.issubdtype(dtype, np.integer)


def available_memory(device: torch.device | None = None) -> float:
    """Bytes free for new tensors on `device` (the CPU by default): CUDA's free and cached memory; Linux's
    MemAvailable, within a container's limit (cgroup v2) and the process's address space limit (`ulimit -v`, as
    clusters set it); inf where none says."""
    if device is not None and device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    free = math.inf
    with contextlib.suppress(OSError, ValueError):
        found = re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        free = int(found.group(1)) * 1024 if found else free
    with contextlib.suppress(OSError, ValueError):  # "max" (no limit) is not a number
        cgroup = Path("/sys/fs/cgroup")
        free = min(free, int((cgroup / "memory.max").read_text()) - int((cgroup / "memory.current").read_text()))
    with contextlib.suppress(ImportError, OSError, ValueError, AttributeError):  # (an environment trial: passed, then
        import resource  # torch's allocation failed)

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            used = re.search(r"VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text())
            free = min(free, limit - int(used.group(1)) * 1024)
    return free


def no_class_index(values: np.ndarray) -> np.ndarray:
    """Which of the float `values` are no class index: not whole, not finite, or beyond int64."""
    with np.errstate(invalid="ignore"):  # inf % 1 is NaN: not whole
        return ~(np.mod(values, 1) == 0) | (np.abs(values) > 2**62)


def integer_valued(y: np.ndarray) -> bool:
    """Whether labels `y` are whole numbers: integers, or finite floats such as 1.0."""
    return bool(np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all()
                                                         and (np.mod(y, 1) == 0).all()))


def check_scalable(array: np.ndarray, *, name: str, scale: str) -> None:
    """What every scaling needs: a numpy array, a known `scale`, some samples, real numbers."""
    if not isinstance(array, np.ndarray):  # (a bug hunt: a DataFrame, a list or a tensor raised AttributeError)
        raise DataError(f"{name}: a {type(array).__name__}; give a numpy array (np.asarray(values), df.to_numpy(), "
                        "tensor.numpy())")
    if array.size == 0:
        raise DataError(f"{name}: the data set is empty")
    if scale not in SCALES:
        raise DataError(f"{name}: scale {scale!r} is not allowed; choose one of: {', '.join(SCALES)}")
    if not (is_integral(array.dtype) or np.issubdtype(array.dtype, np.floating)):
        raise DataError(f"{name}: values must be real numbers, got dtype {array.dtype}")


def unit_map(dtype: np.dtype, lo, hi, scale: str = "auto", *, table: bool = False) -> tuple:
    """(offset, divisor) such that (x - offset) / divisor is in [0, 1] for data of `dtype` spanning [lo, hi].

    scale "auto" (and "global"): integers are divided by 255 (or their maximum), except, for "auto", a
    `table`'s (N, features) of another type than uint8, which are numbers like floats (counts 0..5 were
    squeezed into [0, 0.02] from an .npy and took [0, 1] from the same CSV), and 0/1 values stored as uint8,
    which are kept (a binary table or binarised images: divided by 255, a BCE model's targets were 0 and
    0.004); floats already in [0, 1]
    are kept, anything else is min-max scaled; "minmax" always min-max; "none" keeps every value. A
    constant min-max range is only shifted to 0 (divisor 1), so a test part's values keep their differences
    (runs before 2026-12-07 took it with divisor inf, every value to 0: their scaling.json's null is read so).
    lo and hi may be arrays of a range per column (F,): each column is then min-max scaled, the map
    broadcasting over the columns, a column constant in the training part likewise shifted alone.
    """
    if np.ndim(lo):
        return lo, np.where(hi > lo, hi - lo, 1.0)
    if scale == "none":
        return 0.0, 1.0
    if scale in ("auto", "global") and lo >= 0:
        if is_integral(dtype) and (dtype == np.uint8 or not table or scale == "global"):  # (global: the rule before)
            pixels = dtype == np.uint8 and (hi > 1 or scale == "global")  # 0/1 values stored as uint8 are kept so
            return 0.0, 255.0 if pixels or 1 < hi <= 255 else max(hi, 1.0)
        if hi <= 1:
            return 0.0, 1.0
    return lo, hi - lo if hi > lo else 1.0  # (a bug hunt: inf took every test value to 0, and every error to 0)


CHUNK_BYTES = 32 * 2**20  # bytes read (or checked) at a time when scanning a whole array


def all_finite(x: Tensor) -> bool:
    """torch.isfinite(x).all(), a chunk of rows at a time: on a whole array it held 1.75x the array (isfinite's
    temporaries), +1.2 GB at the start of a training or a reconstruct_array of 60,000 CIFAR-sized rows."""
    if x.ndim == 0:
        return bool(torch.isfinite(x))
    rows = max(1, CHUNK_BYTES // max(1, x[:1].numel() * x.element_size()))
    return all(bool(torch.isfinite(x[i : i + rows]).all()) for i in range(0, len(x), rows))


def not_finite(x: np.ndarray | Tensor, name: str | None = None, *, offset: int = 0) -> DataError:
    """The refusal of data holding NaN or infinities, naming the first (0-based indices; `offset`: the index
    of x's first sample in the whole data set)."""
    first = (torch.nonzero(~torch.isfinite(x))[0].tolist() if isinstance(x, Tensor)
             else np.argwhere(~np.isfinite(x))[0].tolist())
    at = f"sample {first[0] + offset}" + (f", feature {first[1]}" if len(first) == 2 else
                                         f", position {tuple(first[1:])}" + " (channel, row, column)" * (len(first) == 4)
                                         if len(first) > 2 else "")
    return DataError(f"{name + ': ' if name else ''}the data contains NaN or infinite values; clean or impute them "
                     f"first (the first at {at}, counting from 0)")


def _finite_float32(array: np.ndarray, name: str) -> np.ndarray:
    if is_integral(array.dtype):
        return array.astype(np.float32)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, refused just below
        out = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise not_finite(array, name)
    if not np.isfinite(out).all():
        raise DataError(f"{name}: values exceed the float32 range (|x| > 3.4e38); rescale them first")
    return out


def may_scale_columns(dtype: np.dtype, ndim: int, scale: str) -> bool:
    """Whether `scale` looks at each column's range for data of `dtype` with `ndim` dimensions: always
    for "column"; for "auto", tables (N, features) of floats or integers other than uint8."""
    return scale == "column" or (scale == "auto" and ndim == 2 and dtype not in (np.uint8, np.bool_))


def per_column(lo: np.ndarray, hi: np.ndarray, scale: str) -> bool:
    """Given each column's (min, max), whether to scale column by column: always for "column"; for
    "auto" when the columns' ranges are narrow against the range of the whole table (the median range
    of the non-constant columns under SPREAD of it, whether the columns differ in width or in level):
    one range would shrink the narrow columns to nothing. Values already in [0, 1] are kept."""
    if scale == "column":
        return True
    spans = (hi - lo)[hi > lo]
    if (lo.min() >= 0 and hi.max() <= 1) or not len(spans):  # constant data is one range
        return False
    return bool(np.median(spans) < SPREAD * (hi.max() - lo.min()))


def standard_map(x: np.ndarray) -> tuple:
    """(mean, standard deviation) of each column of a table (N, F), or of all values of images: float32
    arrays or floats; a deviation of 0 becomes 1 (a constant column is only shifted to 0)."""
    axis = 0 if x.ndim == 2 else None
    return _standard(np.mean(x, axis=axis, dtype=np.float64), np.std(x, axis=axis, dtype=np.float64), x.ndim == 2)


def standard_from_sums(n: int, shift, s1, s2, *, table: bool) -> tuple:
    """`standard_map` from one pass: n values (rows of a table) less `shift` (a value near them, such as the
    first row: the sums stay exact for a column of 1.7e9 varying by 300), summed, and their squares summed."""
    mean = s1 / n
    return _standard(shift + mean, np.sqrt(np.maximum(s2 / n - mean**2, 0.0)), table)


def _standard(mean, std, table: bool) -> tuple:
    std = np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)
    return (mean.astype(np.float32), std.astype(np.float32)) if table else (float(mean), float(std))


def scale_to_unit(
    array: np.ndarray, *, name: str, scale: str = "auto", like: np.ndarray | None = None
) -> np.ndarray:
    """float32 in [0, 1] by `unit_map` (integers / 255 or their max, but tables of integers other than uint8 as
    floats; floats outside [0, 1] min-max, column by column for tables whose columns are narrow against the
    whole range); `scale="standard"` centres and divides by the spread instead, and `"none"` keeps the values (both
    leave [0, 1]). See `unit_scaled`."""
    return unit_scaled(array, name=name, scale=scale, like=like)[0]


def unlike_training(name: str, shape: Sequence[int], trained: Sequence[int]) -> DataError:
    """The refusal of a test part whose samples are not shaped as its training part's (in memory, or memory-mapped)."""
    return DataError(f"{name}: samples of shape {list(shape)}, but the training samples have shape {list(trained)}; "
                     "save both parts alike")


# each channel of signals (N, C, T) to [0, 1] by its own range, a constant one only shifted (a signals trial: the
# advice divided it by 0, and the data it made were refused as NaN)
CHANNELS_SCALED = ("low, span = x.min(axis=(0, 2), keepdims=True), np.ptp(x, axis=(0, 2), keepdims=True); "
                   "x = (x - low) / np.where(span > 0, span, 1)")


def columns_of_arrays(name: str, shape: tuple[int, ...]) -> DataError:
    """The refusal of data.scale 'column' for samples that are arrays (in memory, or memory-mapped)."""
    return DataError(f"{name}: data.scale 'column' scales the columns of a table, and these samples are arrays "
                     f"{list(shape[1:])}; scale each channel of a signal before saving ({CHANNELS_SCALED}), or give "
                     "data.scale=global")


def unit_scaled(
    array: np.ndarray, *, name: str, scale: str = "auto", like: np.ndarray | None = None
) -> tuple[np.ndarray, str, tuple]:
    """`scale_to_unit`'s array, how it was scaled ("per column", "one range" or "none") and the map
    (offset, divisor): floats, or float32 arrays of a range per column.

    like: scale `array` exactly as `like` would be scaled (a test part as its training part, never by
    its own range); values outside `like`'s range stay outside [0, 1], unclipped, so that a test error
    is measured on the test data as it is.
    """
    check_scalable(array, name=name, scale=scale)
    out = _finite_float32(array, name)
    reference = out
    if like is not None:
        check_scalable(like, name=f"{name}'s training part", scale=scale)
        # auto divides integer pixels by 255 and keeps floats in [0, 1]: parts stored one each way, on either side
        # of 1 (floats already scaled beside 0-255 pixels), would come out on different scales
        if (scale in ("auto", "global") and is_integral(like.dtype) != is_integral(array.dtype)
                and (float(np.max(like)) > 1) != (float(np.max(array)) > 1)):
            raise DataError(f"{name}: stored as {array.dtype} in [{np.min(array):.3g}, {np.max(array):.3g}] but the "
                            f"training part as {like.dtype} in [{np.min(like):.3g}, {np.max(like):.3g}], and a test part "
                            "is scaled as its training part is; save both parts alike (the same dtype and range)")
        reference = _finite_float32(like, f"{name}'s training part")
    dtype = (array if like is None else like).dtype
    if like is not None and reference.shape[1:] != out.shape[1:] and (scale == "standard" or may_scale_columns(
            dtype, reference.ndim, scale)):  # a map per column would broadcast, or fail, on other columns (a bug hunt);
        # one range reads them, for the checks against a model to refuse with what the shapes have in common
        raise unlike_training(name, out.shape[1:], reference.shape[1:])
    if scale == "standard":
        offset, divisor = standard_map(reference)
        return ((out - offset) / divisor).astype(np.float32, copy=False), "standard", (offset, divisor)
    if scale == "column" and reference.ndim > 2:  # a range a value of an image or a signal's every step: refused
        raise columns_of_arrays(name, reference.shape)
    columns = None
    if may_scale_columns(dtype, reference.ndim, scale):
        lo, hi = reference.min(axis=0).astype(np.float64), reference.max(axis=0).astype(np.float64)  # (F,) each
        columns = (lo, hi) if per_column(lo, hi, scale) else None
    lo, hi = columns if columns is not None else (float(reference.min()), float(reference.max()))
    offset, divisor = unit_map(dtype, lo, hi, scale, table=reference.ndim == 2)
    if np.any(offset != 0.0) or np.any(divisor != 1.0):
        if np.any(np.isfinite(divisor) & (divisor > float(np.finfo(np.float32).max))):  # out - offset would overflow
            out = out.astype(np.float64)
        elif columns is not None:  # the map in float32 too: no float64 copy of the data
            offset, divisor = offset.astype(np.float32), divisor.astype(np.float32)
        out = out - offset  # a new array (never `array` itself), divided in place: one copy at a time
        out /= divisor
        out = out.astype(np.float32, copy=False)
        return out, "per column" if columns is not None else "one range", (offset, divisor)
    return out, "none", (0.0, 1.0)


def progress_bar(iterable: Any = None, *, shown: bool, **options: Any) -> Any:
    """tqdm.auto's bar where `shown` and there is somewhere to draw it (a terminal, a notebook), else one that draws
    nothing and starts no monitor thread."""
    # (tqdm starts one for a disabled bar too, which outlived fit and the readers: a strict-warnings hunt; and where
    # it leaves the bar out itself, stderr not a terminal, a review)
    from tqdm.auto import tqdm
    from tqdm.autonotebook import tqdm as chosen
    from tqdm.std import tqdm as terminal_bar

    if shown and chosen is terminal_bar:  # not in a notebook, whose bar is a widget whatever stderr is
        stream = options.get("file") or sys.stderr
        shown = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
    return (tqdm if shown else _quiet(tqdm))(iterable, disable=None if shown else True, **options)


@functools.cache
def _quiet(bar: type) -> type:
    return type("QuietBar", (bar,), {"monitor_interval": 0})
