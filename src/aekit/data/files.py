"""A user's own data: `.npy`, `.npz`, `.csv` and IDX files, and folders of images (one subfolder per class)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import itertools
import math
import mmap
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError, NoTestSplitError, shell, warn
from .core import (
    CHANNELS_SCALED,
    SPREAD,
    Dataset,
    available_memory,
    check_declared,
    class_files,
    classes_with_test,
    integer_valued,
    is_integral,
    is_picture,
    no_class_index,
    progress_bar,
    swapped,
    unit_scaled,
    unlike_training,
)
from .memmap import MemmapArray, files_said
from .text import TEXT_FILES, text_folder

MMAP_BYTES = 256 * 2**20  # .npy files larger than this are memory-mapped and read a batch at a time
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
OTHER_IMAGES = {".heic", ".heif", ".avif", ".jxl", ".jp2", ".j2k", ".tga", ".ico", ".psd", ".xcf", ".exr", ".hdr", ".dds",
                ".pcx", ".svg", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".jfif", ".jpe", ".jif",
                ".jfi", ".jxr", ".wdp", ".qoi", ".pnm", ".pfm", ".apng"}  # photos aekit does not read
GREY_MODES = {"1", "L", "LA", "La"}  # PIL's 8-bit grey modes (16-bit and float images are grey too: _pixels)
SAMPLES = {"x_train": "y_train", "x": "y", "X": "y", "data": "labels"}  # an npz training part: samples -> labels
PAIRS = {**SAMPLES, "x_test": "y_test"}
NPZ_NAMES = (*PAIRS, "y_train", "y_test", "y", "labels")  # every name read from an npz of several arrays
TEXT_SUFFIXES = {".txt", ".tsv", ".jsonl", ".json"}
TEXT_HINT = "text corpora go through aekit.data.text.text_corpus (Python)"
# a CSV column of one of these names holds the labels ("y" only where none of the others is: x, y, class)
LABEL_COLUMNS = ("label", "class", "target", "y")
IDX_NAME = re.compile(r"idx\d+-ubyte(\.gz)?$")  # the MNIST family's files: train-images-idx3-ubyte.gz, ...
KINDS = ".npy, .npz, .csv or IDX file (train-images-idx3-ubyte.gz), a folder of images or of texts, or one image"


class Unreadable(DataError):
    """An image file that Pillow cannot read (its header, or its pixels)."""


LAYOUTS = ("auto", "nchw", "nhwc")
CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: the sizes a channel axis has


def to_nchw(x: np.ndarray, *, layout: str = "auto", name: str = "data") -> np.ndarray:
    """Images as (N, C, H, W) from (N, H, W), (N, H, W, C) or (N, C, H, W) (a view, no copy).

    layout "auto" reads 4-D arrays as channel-last (Keras', most NumPy code's CIFAR) when only
    the last axis has 1, 3 or 4 entries, else as channel-first (torch's); "nhwc" or "nchw" forces it.
    """
    if layout not in LAYOUTS:
        raise DataError(f"data.layout: {layout!r} is not allowed; choose one of: {', '.join(LAYOUTS)}")
    if layout != "auto" and x.ndim != 4:  # nothing to choose between: never ignored silently
        raise DataError(f"data.layout: {layout!r} orders the axes of (N, C, H, W) or (N, H, W, C) images, and {name} "
                        f"holds an array of shape {tuple(x.shape)}; leave data.layout auto")
    if x.ndim == 3:
        return x[:, None]  # (N, H, W) -> (N, 1, H, W)
    channel_last = x.ndim == 4 and x.shape[3] in CHANNELS and x.shape[1] not in CHANNELS
    if x.ndim == 4 and (layout == "nhwc" or (layout == "auto" and channel_last)):
        if isinstance(x, np.memmap):  # read a row at a time as stored: a transposed view cannot be
            raise DataError(f"{name}: a memory-mapped (N, H, W, C) array is not supported; save it as (N, C, H, W)")
        return x.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    if x.ndim == 4 and layout == "auto" and x.shape[3] <= 4 and min(x.shape[1:3]) >= 4 * x.shape[3]:  # (a bug hunt:
        c, h, w = x.shape[1:]  # two-channel images channel-last were read as 16 channels of 16 x 2, unsaid)
        warn(f"{name}: an array of shape {tuple(x.shape)} is read as (N, C, H, W), {c} channels of {h} x {w} images; if "
             f"its last axis holds {w} channels, give data.layout=nhwc")
    return x


def load_path(path: str | Path, *, split: str = "train", scale: str = "auto", layout: str = "auto",
              image_size: int | None = None, run_map: dict | None = None, progress: bool = True) -> Dataset:
    """Load a user's file or folder; 'test' needs a file that holds a test part (npz x_test).

    Arrays of images may be (N, H, W), (N, H, W, C) or (N, C, H, W) (see `to_nchw`). `image_size`: each
    image of a folder scaled to cover image_size x image_size, keeping its aspect ratio, and centre-cropped
    (so images of any size are read together). `run_map`: a run's (core.read_unit_map): scale by its offset
    and divisor in place of `scale`'s rule on this file's values, resize images as its were, take a CSV's
    columns by the names it was trained on, and number class names as its labels were. `progress`: a bar
    while a folder's images are read, on a terminal, once it takes more than two seconds.
    """
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1):
        raise ConfigError(f"data.image_size: must be a whole number of pixels > 0 (or null: images as they are), got "
                          f"{image_size!r}")
    path = given = Path(path).expanduser()
    if not path.exists():
        where = "" if path.is_absolute() else f" (a relative path is read from the current folder, {Path.cwd()})"
        raise DataError(f"{path} does not exist{where}; give a {KINDS}")
    if path.is_dir():
        path = _idx_in(path) or path  # a folder of the MNIST family's files reads as its training images file
    texts = run_map is not None and "vocabulary" in run_map  # a run on texts: TF-IDF in its vocabulary
    corpus = path.is_dir() and _texts_in(path)  # (it walks the folder: once)
    if path.is_dir() and not corpus and (stray := _stray_files(path)):  # a corpus with files of another kind
        imdb = (path / "imdb.vocab").is_file() or (path.parent / "imdb.vocab").is_file()  # aclImdb/ or its train/
        raise DataError(stray + (IMDB_HINT if imdb else ""))
    if corpus:  # TF-IDF vectors in [0, 1], read by text.text_folder
        looked = sorted(path.rglob("*.txt"))[:20]  # (UCI HAR's X_train.txt: a trial read each file as one "text" of
        tables = [f for f in looked if _numbers_only(f)]  # number words); by size: a price list among texts is a text,
        if tables and 2 * sum(f.stat().st_size for f in tables) > sum(f.stat().st_size for f in looked):  # a README
            # beside a table is no corpus (two reviews)
            raise DataError(f"{path}: {tables[0].relative_to(path)} holds {NUMBERS_HINT}; a folder of .txt files is a "
                            "text corpus")
        if run_map is not None and not texts:
            raise DataError(f"{path} holds texts, but the run was trained on samples of shape {run_map.get('shape')} "
                            "from a data file; give samples stored as its training data were")
        if scale not in ("auto", "global") or layout != "auto" or image_size:  # (global: a run's record)
            raise ConfigError(f"{path} holds texts, read as TF-IDF in [0, 1] by their training part's vocabulary: "
                              "data.scale, data.layout and data.image_size apply to arrays and images; remove them")
        return text_folder(path, split, like=run_map)
    if texts:
        raise DataError(f"the run was trained on texts; give a folder of .txt files or files without a suffix "
                        f"(or of class folders of them), got {given}")
    if path.is_dir() and (path / "train.csv").is_file() and not _image_layout(path):  # Kaggle's: test.csv beside it
        return _csv_parts(path, split, scale=scale, run_map=run_map)
    suffix = path.suffix.lower()  # (T2.CSV, X.NPY as Windows and cameras name them: a review)
    if split == "test" and suffix in (".csv", ".npy"):  # said before the file is read
        raise NoTestSplitError(f"{path} holds no separate test part; evaluate on a validation split instead")
    y = classes = like = label_column = columns = files = None  # like: what the samples are scaled like (an npz test part: its training part)
    where = str(path)  # how messages name these samples
    image = path.is_dir() or suffix in IMAGE_SUFFIXES  # a folder of images, or one image
    if image_size and not image:
        raise ConfigError(f"data.image_size: resizes the images of a folder of image files; {path} is a file: "
                          "remove data.image_size (or resize its images before saving it)")
    size = image_size if run_map is None else run_map.get("image_size")  # a run's: for images only
    run_shape = (run_map or {}).get("shape") or []
    channels = run_shape[0] if len(run_shape) == 3 else None  # a run's images: grey or colour as its were
    if path.is_dir():
        x, y, classes, like, files = _folder(path, split, size, channels, progress, say=run_map is None)
        where = f"{path / 'test'}" if like is not None else where
        alone = classes is not None and len(classes) == 1 and not (path / "train").is_dir()  # (train/: test/'s are named)
        if alone and like is None and not (run_map or {}).get("classes"):
            y = classes = None  # a lone subfolder (CelebA's img_align_celeba/) is no class to tell apart
        beside = sorted(f.name for f in path.iterdir() if f.suffix.lower() in (".csv", ".tsv") or (
            f.suffix.lower() in (".txt", ".json") and re.search("label|attr|annot|partition|class", f.name.lower())))
        if y is None and beside and split == "train":  # labels.csv, CelebA's list_attr_celeba.txt
            warn(f"{path}: the images are read without labels (labels come from class folders, one "
                 f"subfolder per class); {', '.join(beside[:3])} beside them is not read")
    elif suffix in IMAGE_SUFFIXES:  # one image: a sample of its own
        x, y, classes, files = _image_folder(path, size, channels)
    elif IDX_NAME.search(path.name):
        x, y, like, where = _idx(path, split)
    elif suffix == ".npy":
        x = _npy(path)
    elif suffix == ".npz":
        x, y, like = _npz(path, split, alone=run_map is not None)
        where = f"{path} (x_test)" if split == "test" else where
    elif suffix == ".csv":
        x, y, classes, label_column, columns = _csv(path, None if run_map is None else run_map.get("columns"))
        twin = path.with_name(path.name.replace("train", "test"))  # fashion-mnist_train.csv's fashion-mnist_test.csv
        if run_map is None and split == "train" and path.name != "train.csv" and "train" in path.name and twin.is_file():
            warn(f"{path}: {twin.name} beside it is not read as its test part: in a folder as train.csv and test.csv "
                 "they are one data set with a test part; or score it with "
                 f"`aekit evaluate RUN --data {shell(twin)}`")
    else:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use a {KINDS}{_convert(path)}")
    if split == "test" and suffix != ".npz" and like is None:
        raise NoTestSplitError(f"{path} holds no separate test part; evaluate on a validation split instead")
    if np.ndim(x) < 2:
        raise DataError(
            f"{path} holds an array of shape {np.shape(x)}; expected (N, features) or (N, C, H, W) samples"
        )
    if files is not None and layout != "auto":  # they are read as (N, C, H, W) already: nhwc would scramble them
        raise ConfigError(f"data.layout: {layout!r} applies to arrays (.npy, .npz); {path} holds image files, read as "
                          "images whatever their layout: remove data.layout")
    stored_shape = np.shape(x)
    x = to_nchw(x, layout=layout, name=where)
    # how the file's images differ from the model's (N, C, H, W): `aekit export --raw` takes them as stored
    stored_layout = None if x.shape == stored_shape else "nhw" if len(stored_shape) == 3 else "nhwc"
    if files is not None:  # image files: as PIL and numpy hold them, (H, W, C) or (H, W) grey
        stored_layout = "nhw" if x.shape[1] == 1 else "nhwc"
    if run_map is None and like is None:  # a table wider than float32, in memory or memory-mapped, as a CSV's (a bug
        _note_array_rounding(x, where)  # hunt and a review: unsaid)
    if run_map is not None:  # a run's map: these samples become inputs exactly as its training data did
        offset, divisor = (v if np.ndim(v) else float(v) for v in (run_map["offset"], run_map["divisor"]))
        unit_map = (offset, divisor)
        shape = run_map.get("shape") or (list(np.shape(offset)) if np.ndim(offset) else list(x.shape[1:]))
        finite = np.asarray(divisor)[np.isfinite(divisor)]
        if files is not None and run_map.get("pixels") is None and finite.max(initial=0) > 1:  # a run from before
            x = x * np.float32(255)  # 2026-12-05, which took the pixels of a folder of 8-bit images as 0..255
        flat = len(shape) == 1 and shape[0] == math.prod(x.shape[1:])  # a run on dataset.flat() takes them flat
        if list(x.shape[1:]) != shape and not flat:
            resize = (f"; resize them to {shape[2]} x {shape[1]} (a run trained with data.image_size=N reads images of "
                      "any size at N x N)") if files is not None and len(shape) == 3 and x.shape[1] == shape[0] else ""
            raise DataError(f"{where}: samples of shape {list(x.shape[1:])}, but the run was trained on samples of "
                            f"shape {shape}{resize or swapped(x.shape[1:], shape)}")
        if classes is not None and run_map.get("classes"):  # names numbered as the run's, new ones after them
            known = run_map["classes"]
            order = [*known, *sorted(set(classes) - set(known))]
            if len(order) > len(known):  # (a public-data trial: adult.test's '>50K.' beside train's '>50K', unsaid)
                new = order[len(known):]
                warn(f"{where}: class{'es' * (len(new) > 1)} {', '.join(map(repr, new[:5]))}{' ...' * (len(new) > 5)} "
                     f"{'are' if len(new) > 1 else 'is'} not among the training data's ({', '.join(map(repr, known[:5]))}"
                     f"{' ...' * (len(known) > 5)}): numbered after them")
            y, classes = np.array([order.index(c) for c in classes])[y], order
        scaling = _how(unit_map, scale)
        if isinstance(x, np.memmap):
            samples = MemmapArray(x, offset=offset, divisor=divisor)
        else:
            stored = unit_scaled(x, name=where, scale="none")[0]  # float32, checked as every scaling checks
            samples = torch.from_numpy(np.ascontiguousarray((stored - offset) / divisor, dtype=np.float32))
            if (np.ndim(divisor) == 0 and float(divisor) >= 50 and not is_integral(x.dtype) and x.size  # floats in
                    and 0 <= float(x.min()) and 0 < float(x.max()) <= 1):  # [0, 1] for a run of 0..255 (an anomaly trial:
                warn(f"{where}: its values are floats in [0, 1], and the run's training data spanned {float(divisor):g}: "
                     "stored in other units (divided by 255, say)? Store them as its training data were, or they are "
                     "scored as near-black images")  # scored as near-black images, unsaid)
    elif isinstance(x, np.memmap) or isinstance(like, np.memmap):  # stays on disk: scaled as it is read (a test part:
        if like is not None:  # by its training part's map, found by a scan; a bug hunt: a big IDX test file was scaled
            # by its own range, and a small one beside a big training file read all of that into memory)
            ref = MemmapArray.scaled(to_nchw(like, layout=layout, name=str(path)), name=f"{where}'s training part",
                                     scale=scale)
            if ref.sample_shape != x.shape[1:]:
                raise unlike_training(where, x.shape[1:], ref.sample_shape)
            samples = MemmapArray(x, offset=ref.offset, divisor=ref.divisor)
        else:
            samples = MemmapArray.scaled(x, name=where, scale=scale)
        unit_map = (samples.offset, samples.divisor)
        if not isinstance(x, np.memmap):  # a small test part: in memory, checked as any other
            stored = unit_scaled(x, name=where, scale="none")[0]
            samples = torch.from_numpy(np.ascontiguousarray((stored - samples.offset) / samples.divisor, dtype=np.float32))
        scaling = _how(unit_map, scale)
    else:  # a test part is scaled exactly as its training part is, never by its own range
        like = None if like is None else to_nchw(like, layout=layout, name=str(path))
        scaled, scaling, unit_map = unit_scaled(x, name=where, scale=scale, like=like)
        samples = torch.from_numpy(np.ascontiguousarray(scaled))
        if len(stored_shape) == 3 and stored_shape[1] <= 16 < stored_shape[2] and scaling in ("one range", "standard") and (
                like is None):  # (a signals trial: standardised by one mean and spread, unsaid)
            _note_narrow_channels(scaled, where, scaling)
        if len(stored_shape) == 3 and files is None and layout == "auto" and like is None and not is_integral(x.dtype) and (
                is_picture(stored_shape[1:]) and not is_picture(stored_shape[:0:-1])):  # (a signals trial: read as
            # 128 x 5 images; pixels, whole numbers, are not said: a review)
            warn(f"{where}: samples stored ({', '.join(map(str, stored_shape[1:]))}) are read as grey images "
                 f"{stored_shape[1]} x {stored_shape[2]}; if they are windows stored time-major (N, T, C), as Keras "
                 "keeps them, x.transpose(0, 2, 1) makes them signals (N, C, T)")
        if len(stored_shape) == 2 and files is None and columns is None and like is None and run_map is None and (
                not is_integral(x.dtype) and is_picture(stored_shape[1:])) and _signal_rows(x):  # (a signals trial:
            side = math.isqrt(stored_shape[1])  # windows drawn as striped grey tiles, unsaid)
            warn(f"{where}: rows of {stored_shape[1]} values, a square length, are read as flattened {side} x {side} "
                 "images and drawn as pictures; if they are windows of a signal, save them shaped (N, 1, T) "
                 "(x[:, None, :]) to have them drawn as curves")
        if len(stored_shape) == 2 and scale not in ("standard", "none") and like is None:
            _note_squeezed_columns(x, unit_map[1], where, columns)
        if len(stored_shape) == 2 and columns is None and like is None and run_map is None:  # a CSV's: by its header
            _note_counter_columns(x, where)
    return Dataset(
        samples,
        None if y is None else torch.from_numpy(_labels(y, len(x), where)),
        name=given.stem,
        classes=classes,
        # how: "per column", "one range" or "none"; the map (offset, divisor) from the stored values to
        # [0, 1], which `fit` saves in a run folder (checkpoint.write_scaling) and `aekit export --raw` folds in
        meta={"scale": scale, "scaling": scaling, "unit_map": unit_map, "stored_layout": stored_layout,
              "columns": columns, "integer": is_integral(x.dtype),
              "integer_table": x.ndim == 2 and is_integral(x.dtype) and x.dtype != np.uint8,
              **({"label_column": label_column} if label_column else {}),
              **({"image_size": size} if size else {}),
              **({"train_range": run_map["range"]} if run_map is not None and run_map.get("range") else {}),
              **({"files": files, "pixels": "unit"} if files is not None else {})},
    )


def _image_layout(path: Path) -> bool:
    """Whether a folder keeps images as aekit reads them: a train/ folder, or subfolders holding images (a
    train.csv beside them is a label file; a runs/ folder of run folders is none of them)."""
    return (path / "train").is_dir() or any(
        d.is_dir() and not d.name.startswith(".") and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.iterdir())
        for d in path.iterdir())


def _csv_parts(path: Path, split: str, *, scale: str, run_map: dict | None) -> Dataset:
    """The part `split` names of a folder holding train.csv and, for a test part, test.csv: test.csv's
    rows scaled as train.csv's are, their columns taken by train.csv's names and classes numbered as its."""
    if split == "test" and not (path / "test.csv").is_file():
        raise NoTestSplitError(f"{path} holds train.csv and no test.csv beside it, so no test part; evaluate on a "
                               "validation split instead")
    if split == "test" and run_map is None:
        with warnings.catch_warnings():  # said when the training part was read
            warnings.simplefilter("ignore")
            train = load_path(path / "train.csv", scale=scale)
        (offset, divisor), shape = train.meta["unit_map"], list(train.sample_shape)
        run_map = {"offset": offset, "divisor": divisor, "columns": train.meta["columns"], "classes": train.classes,
                   "shape": shape}
    data = load_path(path / f"{'test' if split == 'test' else 'train'}.csv", scale=scale, run_map=run_map)
    data.name = path.name
    return data


def _signal_rows(x: np.ndarray) -> bool:
    """Whether rows of a square length (N, side * side) do not read as flattened images: values that are not all whole
    numbers (pixels are), and a row's values side apart (one below the other in the picture) alike much less than
    neighbours, where an image's are alike both ways (a review: flattened Fashion-MNIST in floats was told to save
    itself as signals)."""
    rows = np.asarray(x[:500], dtype=np.float64)
    if np.array_equal(rows, np.round(rows)):
        return False
    side = math.isqrt(rows.shape[1])

    def alike(lag: int) -> float:  # the correlation of a row's values `lag` apart
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.corrcoef(rows[:, :-lag].ravel(), rows[:, lag:].ravel())[0, 1])

    near, below, half = alike(1), alike(side), alike(max(2, side // 2))
    if not (np.isfinite(near) and np.isfinite(below) and np.isfinite(half)):
        return False
    # noise (neighbours unalike), or alike falling on with distance, where the value below in a picture is more alike
    # than one half a row along (a review: noise, random walks and slow sines were quiet)
    return near < 0.2 or below <= half or (near > 0.3 and below < 0.5 * near)


def _note_narrow_channels(x: np.ndarray, where: str, scaling: str = "one range") -> None:
    """Says where samples shaped (C, T) as stored, a few channels of a signal (an IMU's accelerometer in g
    beside its gyroscope in degrees a second), span very different shares of the one range they were scaled
    by (x: (N, 1, C, T) as scaled: in [0, 1], or standardised): the narrow channels count little in a squared error."""
    spans = x.max(axis=(0, 1, 3)) - x.min(axis=(0, 1, 3))
    if spans.max() > 0 and spans.min() < SPREAD * spans.max():
        of = "of the one range they are scaled by" if scaling == "one range" else (
            "of the widest's range, all standardised by one mean and spread")  # (a signals trial: unsaid)
        low, high = (spans.min(), spans.max()) if scaling == "one range" else (spans.min() / spans.max(), 1)
        constant = [str(c) for c in np.flatnonzero(spans == 0)]
        flat = f" (channel{'s' * (len(constant) > 1)} {', '.join(constant)} constant)" if constant else ""
        warn(f"{where}: its {len(spans)} rows (the channels of signals shaped (N, C, T)) span from "
             f"{low:.2g} to {high:.2g} {of}{flat}, so "
             f"the narrow ones count little in the loss; if they are channels in different units, scale each before "
             f"saving ({CHANNELS_SCALED})")


def _note_counter_columns(x: np.ndarray, where: str) -> None:
    """Says which columns of an array table count the rows (each holds a different whole number, the numbers lo..lo
    + N - 1): a row identifier read as a feature, as a CSV's column named id is said (a qualities trial: its test
    rows' identifiers, beyond the training range, made most of the test error)."""
    if len(x) < 20 or not np.issubdtype(x.dtype, np.number):  # (a few rows count by chance: a review)
        return
    spans = x.max(axis=0).astype(np.float64) - x.min(axis=0).astype(np.float64)
    counters = [j for j in np.flatnonzero(spans == len(x) - 1)
                if np.array_equal(x[:, j], np.round(x[:, j])) and len(np.unique(x[:, j])) == len(x)]
    if counters:
        warn(f"{where}: column {counters[0]} holds a different whole number each row, {x[:, counters[0]].min():g} to "
             f"{x[:, counters[0]].max():g} (a row identifier?), and is read as a feature; drop it from the array to "
             "leave it out")


SQUEEZED = 1e-3  # a column whose middle 98% of values span less than this share of [0, 1] once scaled is said


def _note_squeezed_columns(x: np.ndarray, divisor, where: str, columns: list[str] | None) -> None:
    """Says which columns of a table (x: (N, F) as stored, scaled by `divisor`) vary over less than SQUEEZED of
    [0, 1] in their middle 98% of values, though not constant there: a few huge outliers set the column's range,
    or one range for the table left a column of tiny values at nothing (float32 may not even hold its steps). A
    qualities trial's outlier column came back worse than a constant, while the run reported a 5x win over PCA.
    (A sparse column, constant but for a few values, is not said.)"""
    rows = x[:: max(1, len(x) // 10_000)]  # (at most ~10,000 rows, 64 columns at a time: little memory; bool as 0/1)
    low, high = np.concatenate([np.quantile(rows[:, j : j + 64].astype(np.float64), [0.01, 0.99], axis=0,
                                            method="inverted_cdf")  # values seen: never between a pixel's 0 and its
                                for j in range(0, x.shape[1], 64)], axis=1)  # stroke (a trial: a false note)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (high - low) / np.asarray(divisor, dtype=np.float64)
    squeezed = np.flatnonzero((high - low > 0) & (share < SQUEEZED))
    if len(squeezed):
        names = [repr(columns[i]) if columns else f"column {i}" for i in squeezed[:3]]
        one = len(squeezed) == 1
        warn(f"{where}: {len(squeezed)} column{'s' * (not one)} ({', '.join(names)}{' ...' * (len(squeezed) > 3)}) "
             f"var{'ies' if one else 'y'} over less than 0.1% of [0, 1] once scaled, in the middle 98% of "
             f"{'its' if one else 'their'} values: the model barely sees {'it' if one else 'them'}. A few huge values "
             "set the range (clip or remove them, or take the log of counts), or one range left a column of tiny "
             "values at nothing (data.scale=column scales each by its own)")


def _how(unit_map: tuple, scale: str) -> str:
    """How the map (offset, divisor) scales, as Dataset.meta["scaling"] says: "standard", "per column", "none"
    or "one range" (unit_scaled's words for the maps it makes)."""
    offset, divisor = unit_map
    if scale == "standard":
        return "standard"
    return "per column" if np.ndim(offset) else "none" if (offset, divisor) == (0.0, 1.0) else "one range"


def _labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim > 1 and len(y) == n and math.prod(y.shape[1:]) > 1:  # read as n * classes labels before
        raise DataError(f"{where}: labels shaped {y.shape}, one row a sample; save one class number a sample, "
                        "shaped (N,): one-hot rows become class numbers by y.argmax(1)")
    y = y.reshape(-1)
    if len(y) != n:
        raise DataError(f"{where}: {n} samples but {len(y)} labels")
    if not integer_valued(y):
        raise DataError(f"{where}: labels must be integers, got {y.dtype}")
    if (unlabelled := int((y == -1).sum())) and unlabelled < n:  # (a review: -1/+1 classes read as unlabelled, unsaid)
        warn(f"{where}: {unlabelled:,} of {n:,} labels are -1, which aekit reads as unlabelled (semi-supervised models "
             "learn from such samples without a class; accuracy and retrieval leave them out); if -1 is a class, "
             "number the classes from 0")
    return y.astype(np.int64)


def _idx_in(folder: Path) -> Path | None:
    """The training images file of a folder holding the MNIST family's IDX files (None if it holds none)."""
    names = {f.name.removesuffix(".gz"): f.name for f in sorted(folder.iterdir(), reverse=True)  # raw before .gz
             if IDX_NAME.search(f.name) and "images" in f.name and not re.search("t10k|test", f.name) and f.is_file()}
    if len(names) > 1:
        raise DataError(f"{folder} holds several sets of IDX images ({', '.join(sorted(names.values()))}); give the "
                        "file of the one to read as the path")
    return folder / names.popitem()[1] if names else None


def _idx(path: Path, split: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """(x, y, the training images a test part is scaled like, its name) of an IDX images file. Its labels
    are the file named alike with labels-idx1 for images-idx3; its test part the one with t10k or test for
    train (MNIST's and EMNIST's names), refused when there is none."""
    from .idx import read_idx

    def read(file: Path) -> np.ndarray:  # a large uncompressed file stays on disk
        with files_said(file):  # (a review: numpy's raw OSError)
            return read_idx(file, mmap=file.suffix != ".gz" and file.stat().st_size > MMAP_BYTES)

    x, like = read(path), None
    if "emnist" in path.name.lower() and split == "train":  # (a public-data trial: drawn transposed, unsaid)
        warn(f"{path}: EMNIST's files hold each image transposed; they are read as stored (np.swapaxes(x, -1, -2) "
             "turns them upright before saving them as a .npz)")
    if split == "test":
        tests = [path.with_name(path.name.replace("train", t)) for t in ("t10k", "test") if "train" in path.name]
        test = next((t for t in tests if t.is_file()), None)
        if test is None:
            raise NoTestSplitError(f"{path} has no test part beside it (the same name with t10k or test for train)")
        path, like, x = test, x, read(test)
    labels = path.with_name(path.name.replace("images", "labels").replace("idx3", "idx1"))
    y = read_idx(labels) if labels != path and labels.is_file() else None
    return x, y, like, str(path)


OBJECTS = ("holds Python objects (dtype object), which aekit does not unpickle; save arrays of numbers "
           "(x.astype(np.float32); rows kept as objects: np.stack(x).astype(np.float32), or, where their lengths "
           "differ (series), cut, pad or resample them to one length first)")  # (a trial's ragged series: astype failed)


def _npy(path: Path) -> np.ndarray:
    try:
        with files_said(path):  # (a review: too many files open read as "truncated")
            with path.open("rb") as f:
                check_declared(f, path.stat().st_size, str(path))
            return np.load(path, allow_pickle=False, mmap_mode="r" if path.stat().st_size > MMAP_BYTES else None)
    except DataError:
        raise
    except (ValueError, OSError, EOFError) as err:
        if isinstance(err, OSError) and err.errno == errno.ENOMEM:  # the file is fine: the process may not map it
            raise DataError(f"{path}: not enough memory (or address space: ulimit -v) to map its "
                            f"{path.stat().st_size / 2**30:.1f} GiB") from None
        if "Object arrays cannot be loaded" in str(err):  # numpy's words for pickled Python objects
            raise DataError(f"{path} {OBJECTS}") from None
        raise DataError(f"{path} is truncated or not a .npy array file ({str(err).splitlines()[0]})") from None


def _npz(path: Path, split: str, *, alone: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(x, y) of `split`, and for the test split the training part's x (its scaling is the test's).
    `alone`: a test part scaled by a run's map needs no training part beside it (None in its place)."""
    try:
        with zipfile.ZipFile(path) as archive:  # each array's header against its size, as a .npy's
            for info in archive.infolist():
                if info.filename.endswith(".npy"):  # (others are said below, by name, as not read)
                    with archive.open(info) as member:
                        check_declared(member, info.file_size, f"{path}: {info.filename}")
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "pickle" in why:  # numpy's advice to unpickle: aekit never runs a file's code
            raise DataError(f"{path} {OBJECTS}") from None
        raise DataError(f"{path} is truncated or not a .npz archive of arrays ({why})") from None
    if not arrays:
        raise DataError(f"{path} holds no arrays")
    if "X_train" in arrays and not {"x_train", "x_test"} & arrays.keys():  # scikit-learn's names: X_train, X_test
        arrays = {k.lower() if k in ("X_train", "X_test") else k: v for k, v in arrays.items()}
    if alone and split == "test" and "x_test" in arrays and not any(k in arrays for k in SAMPLES):
        return arrays["x_test"], arrays.get("y_test"), None
    samples = _npz_samples(arrays, path)
    if split == "train":
        return arrays[samples], arrays.get(SAMPLES.get(samples)), None
    if "x_test" not in arrays:
        raise NoTestSplitError(f"{path} holds no x_test array; its arrays are: {', '.join(sorted(arrays))}")
    return arrays["x_test"], arrays.get("y_test"), arrays[samples]


def _npz_samples(arrays: dict[str, np.ndarray], path: Path) -> str:
    """The name of the training samples (x_train, x, X or data, or the one array of an archive of one
    that is neither a test part nor labels), once every array is known to be read."""
    names = sorted(arrays)
    found = f"found: {', '.join(names)}"
    if len(names) == 1 and names[0] not in NPZ_NAMES and not re.search("test|val", names[0], re.IGNORECASE):
        return names[0]  # one array of another name (np.savez's arr_0): unlabelled samples
    unknown = [k for k in names if k not in NPZ_NAMES]
    if unknown:
        raise DataError(f"{path}: name the arrays x (and y) or x_train/y_train; {found}, of which "
                        f"aekit does not read {', '.join(unknown)} (it reads only x_train, y_train, x_test, y_test, "
                        "or x/y, X/y or data/labels as the training part)")
    parts = [k for k in SAMPLES if k in arrays]
    if not parts:
        what = "a test part (x_test) but no training part" if "x_test" in arrays else "labels but no samples"
        raise DataError(f"{path} holds {what} ({found}); add the training samples as x_train "
                        "(and their labels as y_train)")
    if len(parts) > 1:
        raise DataError(f"{path} holds {len(parts)} training parts ({', '.join(parts)}); keep one ({found})")
    read = {parts[0], SAMPLES[parts[0]], *(("x_test", "y_test") if "x_test" in arrays else ())}
    unread = [k for k in names if k not in read]  # labels whose samples are missing
    if unread:
        samples_of = {y: " or ".join(x for x in PAIRS if PAIRS[x] == y) for y in unread}
        missing = ", ".join(f"{y} (without {samples_of[y]})" for y in unread)
        raise DataError(f"{path}: {missing} would not be read; labels go with their samples: x_train/y_train, "
                        f"x_test/y_test, x/y, X/y or data/labels; {found}")
    return parts[0]


ID_COLUMNS = ("id", "index", "row_id", "rowid")  # header names of row identifiers, said when read as features


def _csv(path: Path, columns: list[str] | None = None) -> tuple[np.ndarray, np.ndarray | None, list[str] | None,
                                                                 str | None, list[str] | None]:
    """(features, labels, class names, the labels' column, the features' names) of a numeric CSV; a header
    row is optional, a column named label, class, target or y holds labels: whole numbers, or names ("cat")
    read as classes; two of the first three are refused, y beside one of them is a feature. `columns`: the features by these names, in this order (a run's, for new samples).

    numpy's C parser reads the features straight into float32 and the labels as text: a 22 MB CSV
    peaks at about 2x its final array (a list of Python strings took 19x the file).
    """
    encoding = _csv_encoding(path)
    header, skip, width = _csv_header(path, encoding)
    _refuse_excel_errors(path, encoding)
    index_col = 1 if header and header[0] == "" and width > 1 else 0  # an unnamed first column: pandas' index
    if index_col and columns is None:  # (a run's new samples: its columns by name, said when it trained)
        warn(f"{path}: its unnamed first column (pandas' index, as df.to_csv writes it) is left out: not an "
             "input")
    lower = [h.lower() for h in header] if header else []  # names are matched whatever their case, shown as written
    named = [k for k in LABEL_COLUMNS if k in lower]
    if len([k for k in named if k != "y"]) > 1:  # one would be read as a feature: the labels leaked into the inputs
        raise DataError(f"{path}: columns {', '.join(repr(k) for k in named if k != 'y')} each name labels; keep one "
                        "(or rename the others to use them as features)")
    if named and lower.count(named[0]) > 1:  # (a bug hunt: the second was read as an input, the labels leaked)
        raise DataError(f"{path}: {lower.count(named[0])} columns are named {named[0]!r}, which names labels; keep one "
                        "(or rename the others to use them as features)")
    label_col = lower.index(named[0]) if named else None
    features = [i for i in range(index_col, width) if i != label_col]
    if not features:
        raise DataError(f"{path}: no feature columns beside the labels' ({header[label_col]!r}); give the samples' "
                        "values as columns")
    names = [header[i] for i in features] if header else None
    if columns and not header and len(features) == len(columns):  # by position: said (else by name)
        warn(f"{path} has no header row: its columns are taken as the run's, in their order ("
             f"{', '.join(columns[:3])}{' ...' * (len(columns) > 3)})")
    keys, wanted = [n.lower() for n in names or ()], [c.lower() for c in columns or ()]
    if columns is not None and names and keys != wanted:  # new samples for a run: its columns by name, in its order
        twice = sorted({c for c in [*keys, *wanted] if keys.count(c) > 1 or wanted.count(c) > 1})
        if twice:
            raise DataError(f"{path}: columns are matched to the run's by name, and {', '.join(map(repr, twice))} "
                            "name more than one column; give the columns in the run's order, or rename them")
        missing, extra = [c for c in columns if c.lower() not in keys], [n for n in names if n.lower() not in wanted]
        if missing or extra:
            raise DataError(f"{path}: " + "; ".join(
                f"{what} {', '.join(map(repr, cols[:10]))}{' ...' if len(cols) > 10 else ''}" for what, cols in
                (("the run was trained on columns it lacks:", missing), ("it has columns the run was not trained on:",
                                                                         extra)) if cols))
        features = [features[keys.index(c.lower())] for c in columns]
    read = {"delimiter": ",", "skiprows": skip, "ndmin": 2, "quotechar": '"', "comments": None}  # (a line of its
    # own is a comment, _uncommented: numpy's '#' anywhere cut a label "C#" or "room #3" short, classes merged unsaid)
    comments: list[int] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": refused below
            every = features == list(range(width))  # numpy then refuses a ragged row itself
            with _uncommented(path, skip, encoding, comments) as lines:
                table = np.loadtxt(lines, dtype=np.float32, usecols=None if every else features, **read)
            if label_col is not None:
                with _uncommented(path, skip, encoding) as lines:
                    labels = np.loadtxt(lines, dtype=str, usecols=[label_col], **read)[:, 0]
            else:
                labels = None
    except (ValueError, UnicodeDecodeError):
        raise _csv_problem(path, skip, width, features, encoding) from None
    if comments:  # (a whole class of labels "#1" was dropped without a word: a bug hunt)
        warn(f"{path}: {len(comments)} line(s) starting with '#' (line {', '.join(map(str, comments[:3]))}"
             f"{' ...' * (len(comments) > 3)}) are left out as comments; quote a value that starts with '#' "
             "(\"#1\") to read it")
    if len(table) == 0:
        raise DataError(f"{path} has a header but no data rows")
    ragged = None if every else _ragged(path, skip, width, encoding)
    if ragged is not None:
        raise ragged
    names = [header[i] for i in features] if header else None  # in the order read
    if not np.isfinite(table).all():
        raise _not_finite(path, skip, table, features, names, encoding)
    ids = [n for j, n in enumerate(names or ()) if n.strip().lower() in ID_COLUMNS and columns is None
           and len(np.unique(table[:, j])) == len(table) and np.array_equal(table[:, j], np.round(table[:, j]))]
    if ids:  # Kaggle's train.csv starts with one: a row's number is no property of the sample
        warn(f"{path}: column {ids[0]!r} holds a different whole number each row (a row identifier?) and is read as a "
             "feature; drop it from the file to leave it out")
    # a recording's time (a signals trial: time_s, unsaid), rising or falling, most rows a step (ties: a review; not
    # a table sorted by a score of a few values, another)
    def ordered(j: int) -> bool:  # (a named column's alone: a headerless table's are not looked at)
        step = np.sign(np.diff(table[:, j]))
        return bool(((step >= 0).all() or (step <= 0).all()) and (step != 0).mean() >= 0.5)

    rising = [n for j, n in enumerate(names or ()) if n not in ids and columns is None and len(table) >= 20 and ordered(j)]
    if rising:
        warn(f"{path}: column {rising[0]!r} rises or falls every row, as a time or a row number does, and is read as a feature; "
             "if it is one, drop it from the file (new rows lie beyond its training range); a recording is cut into "
             "windows, one a sample (see the docs' data page)")
    def classes_like(j: int) -> np.ndarray | None:  # classes: a few whole numbers close together (glass's 1..7
        values, counts = np.unique(table[:, j], return_counts=True)  # without 4), none nearly all the rows but a 0/1
        binary = values.tolist() == [0, 1]  # flag's (fraud's); a pixel column is neither (reviews)
        return values if (2 <= len(values) <= 50 and len(table) >= 10 * len(values) and np.array_equal(values, np.round(
            values)) and values[-1] - values[0] <= 2 * len(values) and (binary or counts.max() <= 0.9 * len(table))) else None

    if header is None and columns is None:  # a UCI file's class, first or last: read as an input (a trial), said
        inner = [len(v) for v in map(classes_like, range(1, table.shape[1] - 1)[:50]) if v is not None]
        typical = float(np.median(inner)) if len(inner) > (table.shape[1] - 2) / 2 else None  # most look like classes
        for j, where in ((0, "first"), (table.shape[1] - 1, "last")):  # (a count matrix: its last column like the
            values = classes_like(j)  # others, no label; breast-cancer's 2/4 class beside 1..10 values: one)
            if values is not None and (typical is None or abs(len(values) - typical) > max(1.0, 0.3 * typical)):
                warn(f"{path} has no header row, and its {where} column holds {len(values)} different whole numbers "
                     f"({values[0]:g} to {values[-1]:g}): labels? They are read as an input; a header row naming that "
                     f"column label (or {', '.join(LABEL_COLUMNS[1:])}) reads them as labels")
                break
    with warnings.catch_warnings():  # (read once already)
        warnings.simplefilter("ignore", UserWarning)
        with _uncommented(path, skip, encoding) as lines:
            head = np.loadtxt(lines, dtype=np.float64, usecols=None if every else features, max_rows=200, **read)
    _note_rounding(head, names, path)
    if labels is None:
        return table, None, None, None, names
    return table, *_csv_labels(labels, path, header[label_col]), header[label_col], names


def _kept_lines(f, skip: int, comments: list[int] | None = None) -> Iterator[tuple[int, str]]:
    """(number, line) of the CSV file `f`'s lines numpy reads: its first `skip` (the header), then every line but
    those that start with '#' outside a quoted value, comments, whose numbers go to `comments` (a value's later
    line starting with '#' is its own: a review saw rows merged)."""
    quoted = False
    for number, line in enumerate(f, 1):
        if number > skip and not quoted and line.lstrip().startswith("#"):
            if comments is not None:
                comments.append(number)
            continue
        quoted = _still_quoted(line, quoted)
        yield number, line


def _still_quoted(line: str, quoted: bool) -> bool:
    """Whether a quoted value is still open after `line`, as csv reads quotes: one opens at a value's start alone
    ('12" vinyl' holds a plain one: a review), and "" inside it is a quote of its own."""
    if not quoted and line.count('"') % 2 == 0:  # (most lines: balanced, no scan; a quoted table's took 5x the read)
        return False
    start, i = True, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"':
                if line[i + 1 : i + 2] == '"':
                    i += 1
                else:
                    quoted, start = False, False
        elif c == '"' and start:
            quoted = True
        else:
            start = c == ","
        i += 1
    return quoted


@contextlib.contextmanager
def _uncommented(path: Path, skip: int, encoding: str, comments: list[int] | None = None
                 ) -> Iterator[Iterator[str]]:
    """The CSV's lines for numpy (_kept_lines), the numbers of its comment lines going to `comments`."""
    with open(path, encoding=encoding, newline="") as f:
        yield (line for _, line in _kept_lines(f, skip, comments))


def _note_array_rounding(x: np.ndarray, where: str) -> None:
    """_note_rounding for a table stored in a type wider than float32 (int64 timestamps, float64)."""
    if x.ndim == 2 and len(x) and x.dtype.kind in "fiu" and x.dtype.itemsize >= 4 and x.dtype != np.float32:
        _note_rounding(np.asarray(x[:200], dtype=np.float64), None, where)


def _note_rounding(head: np.ndarray, names: list[str] | None, path: Path) -> None:
    """Says which columns float32, which values are read in, rounds by more than a tenth of the gap between
    neighbouring values of its first rows (`head`, read in float64): Unix timestamps a minute apart near
    1.7e9 keep steps of 128, so that rows fall together; what told them apart was lost as the file was read."""
    with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 is refused after this note
        rounding = np.abs(head - head.astype(np.float32)).max(0)
    gaps = [np.diff(np.unique(column)) for column in head.T]
    lost = [i for i, gap in enumerate(gaps) if len(gap) and np.isfinite(rounding[i]) and rounding[i] > 0.1 * np.median(gap)]
    if lost:
        named = [repr(names[i]) if names else str(i) for i in lost[:3]]
        step = np.spacing(np.float32(np.abs(head[:, lost[0]]).max()))
        more = f" (and in column{'s' * (len(lost) > 2)} {', '.join(named[1:])}{' ...' * (len(lost) > 3)})" if len(
            lost) > 1 else ""  # (a quality trial: one column's step and values were given for three)
        warn(f"{path}: float32, which aekit reads values in, keeps steps of {step:.3g} in column {named[0]} (values "
             f"near {np.abs(head[:, lost[0]]).max():.3g}), more than its values' gaps{more}; subtract a value near "
             "its values before saving (a time's first), or drop it if it is no feature")


def _csv_labels(values: np.ndarray, path: Path, column: str) -> tuple[np.ndarray, list[str] | None]:
    """Whole numbers as labels; names ("cat", "dog") as classes, sorted names -> 0..K-1 (as
    scikit-learn's LabelEncoder), with the names returned."""
    values = np.char.strip(values)
    why = f"columns named {', '.join(LABEL_COLUMNS[:-1])} or {LABEL_COLUMNS[-1]} are read as labels"
    if (values == "").any():
        raise DataError(f"{path}: {int((values == '').sum())} empty label(s) in column {column!r}; fill them in or "
                        f"drop those rows ({why})")
    missing = np.isin(values, [m for m in MISSING_MARKS if m != "-"])  # (a bug hunt: NA was a class of its own; "-"
    if missing.any():  # may name one, a test)
        raise DataError(f"{path}: {int(missing.sum())} label(s) in column {column!r} mark a missing value "
                        f"({str(values[missing][0])!r}); fill them in or drop those rows ({why})")
    try:
        numbers = values.astype(np.float64)
    except ValueError:  # names: classes
        classes, y = np.unique(values, return_inverse=True)
        return y.astype(np.int64), classes.tolist()
    fractional = no_class_index(numbers)
    if fractional.any():
        raise DataError(f"{path}: labels must be integers, got {str(values[fractional][0])!r} in column {column!r}; "
                        f"rename the column to use it as a feature, or give whole numbers or class names ({why})")
    return numbers.astype(np.int64), None


WIDE_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)  # byte-order marks of text with NUL bytes (UTF-32 LE's begins as UTF-16 LE's)


def _csv_encoding(path: Path) -> str:
    """UTF-8 ("utf-8-sig": the byte-order mark Excel's "CSV UTF-8" writes), else cp1252 (a Western European
    Excel's "CSV": its "température" is not UTF-8), else latin-1, which decodes any bytes, said; a file with NUL
    bytes is no text CSV, and one with UTF-8's byte-order mark must be UTF-8."""
    with open(path, "rb") as f:
        head = f.read(4096)
        if b"\0" in head:
            wide = " (UTF-16 or UTF-32 text: save it as UTF-8)" if head.startswith(WIDE_MARKS) else ""
            raise DataError(f"{path} is not a readable text CSV file: it holds NUL bytes{wide}")
        if _decodes(f, "utf-8"):
            return "utf-8-sig"
        if head.startswith(codecs.BOM_UTF8):  # (a latin-1 read would make the mark part of the first name)
            raise DataError(f"{path} starts as UTF-8 (a byte-order mark) but holds bytes that are not UTF-8; save it "
                            "again as UTF-8")
        encoding = "cp1252" if _decodes(f, "cp1252") else "latin-1"  # (cp1252 leaves five bytes out)
    warn(f"{path} is not UTF-8; read as {encoding}" + " (Windows' Western European, as Excel writes a CSV)" * (
        encoding == "cp1252"))
    return encoding


def _decodes(f, encoding: str) -> bool:
    """Whether the whole of the binary file `f` decodes as `encoding`, read a MiB at a time."""
    f.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_header(path: Path, encoding: str) -> tuple[list[str] | None, int, int]:
    """(the header row, or None; how many lines precede the data; values a row)."""
    try:
        with open(path, newline="", encoding=encoding) as f:
            reader = csv.reader(f)
            first = next((r for r in reader if r), None)
            line = reader.line_num
            below = list(itertools.islice((r for r in reader if r), 200))  # the rows under it
    except csv.Error as err:
        raise DataError(f"{path} is not a readable text CSV file ({str(err).splitlines()[0]})") from None
    if first is None:
        raise DataError(f"{path} is empty")
    first = [v.strip() for v in first]
    separated = _separator(first[0], path, line) if len(first) == 1 else None  # before it is taken for a header
    if separated is not None:
        raise separated
    try:
        [float(v) for v in first]
    except ValueError:
        cased = sorted({h for h in first if len({g for g in first if g.lower() == h.lower()}) > 1})
        if cased:  # one name, whatever its case: new rows' columns would be matched to the wrong one
            raise DataError(f"{path}: columns {', '.join(map(repr, cased))} differ only in case, and columns are taken "
                            "by name whatever their case; rename one") from None
        return first, line, len(first)  # (as written: a quality trial's notes named 'ppe' for PPE)
    if len(first) >= 3 and first == [str(i) for i in range(len(first))]:  # pandas' names for unnamed columns
        return first, line, len(first)
    if _steps(first) and below and not _steps([v.strip() for v in below[0]]) and _names_above(first, below):  # years
        warn(f"{path}: its first line ({', '.join(first[:3])}{', ...' * (len(first) > 3)}), whole numbers in one step "
             "above rows of other values, is read as the columns' names")  # (a bug hunt: 400,450,...,650 was read as a
        return first, line, len(first)  # sample, squeezing the others to 0; a review: an integer table's lost a row)
    return None, line - 1, len(first)


def _names_above(first: list[str], below: list[list[str]]) -> bool:
    """Whether a row in steps reads as names above `below`: a value of theirs is not a whole number, or its numbers
    lie outside the whole-number rows' range in every column (years above counts; not 1,2,3 above 0..9)."""
    try:
        rows = np.array([[int(v.strip()) for v in r] for r in below if len(r) == len(first)], dtype=np.int64)
    except ValueError:
        return True
    if not len(rows):
        return False
    head = np.array([int(v) for v in first])
    return bool(((head < rows.min(0)) | (head > rows.max(0))).all())


def _steps(row: list[str]) -> bool:
    """Whether a CSV row is 3 or more whole numbers rising (or falling) by one step: column names such as
    wavelengths or years, where the rows below are not such a row (_names_above)."""
    if len(row) < 3 or not all(re.fullmatch(r"-?\d+", v) for v in row):
        return False
    values = [int(v) for v in row]
    return values[1] != values[0] and all(b - a == values[1] - values[0] for a, b in itertools.pairwise(values))


def _separator(value: str, path: Path, line: int) -> DataError | None:
    """The refusal of a value holding another separator (one column of text), or None."""
    sep = next((c for c in ";\t|" if c in value), None)
    decimal = ", decimal=','" if sep == ";" else ""  # (European Excel: decimal commas; a bug hunt's advice failed)
    return None if sep is None else DataError(f"{path}: line {line} reads as one value, {value[:20]!r}: values are separated by "
                             f"{sep!r}, and a CSV file here separates them by commas; write it with commas (pandas: "
                             f"pd.read_csv(path, sep={sep!r}{decimal}).to_csv(new_path, index=False))")


# a spreadsheet's error values: #N/A, #DIV/0!, #VALUE!, #NAME?, #SPILL!, Google Sheets' #ERROR!, ...
EXCEL_ERRORS = re.compile(rb"#(?:N/A|[A-Z][A-Z0-9_/]*[!?])(?=[ \t]*(?:[,;\t\"\r\n]|$))", re.IGNORECASE)  # a whole field


def _refuse_excel_errors(path: Path, encoding: str) -> None:
    """Refuse a CSV holding a spreadsheet's error value (#N/A, #DIV/0!, ...), naming its line: numpy takes a '#' for
    the start of a comment, so a row starting with one was dropped without a word (a bug hunt), and a label of one
    read as empty. One pass over the file's bytes (memory-mapped)."""
    if encoding.replace("-", "").lower().startswith("utf16") or not path.stat().st_size:
        return
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for found in EXCEL_ERRORS.finditer(data):  # (a literal '#' first: a fast scan, 135 MB in 0.25 s)
            before = data[data.rfind(b"\n", 0, found.start()) + 1 : found.start()]
            if before.count(b'"') % 2:  # inside quotes: only as the field's whole start ("#N/A"), not "Smith, #N/A"
                if not before.endswith(b'"'):
                    continue
                before = before[:-1]
            field = before.rstrip(b" \t")  # the line up to the value's own field: a field of its own, not in a comment
            if b"#" not in before and (not field or field.endswith(b",")):
                start = found.start()  # its line, counted a slice at a time (a review: one copy of a big file's head)
                line = 1 + sum(data[i : min(i + (1 << 26), start)].count(b"\n") for i in range(0, start, 1 << 26))
                raise DataError(f"{path}: line {line} holds {found[0].decode()!r}, a spreadsheet's error value (a "
                                "missing or failed formula); clean or impute those cells first")


def _rows(path: Path, encoding: str, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(line number, values) of a CSV's rows as numpy reads them (its comment lines left out, _kept_lines): the
    number of a row's last line."""
    with open(path, newline="", encoding=encoding, errors="replace") as f:
        at = [0]

        def lines() -> Iterator[str]:
            for at[0], line in _kept_lines(f, skip):  # noqa: B007  (the number of the line csv reads)
                yield line

        for row in csv.reader(lines()):
            yield at[0], row


def _data_lines(path: Path, skip: int, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, values) of a CSV's data rows as numpy reads them: after `skip` lines, blank and # lines left out."""
    return ((line, row) for line, row in _rows(path, encoding, skip) if line > skip and row)


def _ragged(path: Path, skip: int, width: int, encoding: str) -> DataError | None:
    """The first data line with another number of values than the first row's (numpy reads a longer one's
    first values without a word, shifting them), or None."""
    for line, row in _data_lines(path, skip, encoding):
        if len(row) != width:
            return DataError(f"{path}: line {line} has {len(row)} values, expected {width} (as its first row; a "
                             "truncated or ragged file, or a comma inside a value?)")
    return None


def _not_finite(path: Path, skip: int, table: np.ndarray, features: list[int], names: list[str] | None,
                encoding: str) -> DataError:
    """The refusal of a CSV's first value that float32 does not hold as a number (nan, inf, 1e40), by column and line."""
    row, col = np.argwhere(~np.isfinite(table))[0]
    line, values = next(itertools.islice(_data_lines(path, skip, encoding), int(row), None))
    text = values[features[col]].strip()
    column = f"column {names[col]!r}" if names else f"column {features[col] + 1}"
    try:
        huge = math.isfinite(float(text))
    except ValueError:
        huge = False
    why = ("is beyond float32's range (+-3.4e38), which a CSV is read in; rescale the column" if huge else
           "is NaN or infinite; clean or impute the missing values first (pandas: df.dropna() or df.fillna(...))")
    return DataError(f"{path}: {column}, line {line}: {text[:20]!r} {why}")


MISSING_MARKS = ("?", "NA", "N/A", "NaN", "nan", "null", "-")  # a missing value as files write one


def _csv_problem(path: Path, skip: int, width: int, features: list[int], encoding: str) -> DataError:
    """Why numpy could not read the CSV, naming the first bad line (read again, slowly: errors only)."""
    ragged = _ragged(path, skip, width, encoding)
    if ragged is not None:
        return ragged
    first = None  # the first line that holds values
    for line, row in _rows(path, encoding, skip):
        first = row if first is None and row else first
        if line <= skip or not row:
            continue
        for i, value in ((i, row[i]) for i in features):  # labels may be names
            try:
                float(value)
            except ValueError:
                if not value.strip() and i == width - 1 and first[-1] == "":  # the first line's too: a trailing comma
                    return DataError(f"{path}: line {line} ends in a comma, an empty last value; remove "
                                     "the trailing commas (or fill in the missing values)")
                column = f"column {first[i].strip()!r}, " if skip and i < len(first) else ""  # the header's name
                if not value.strip():  # pandas writes NaN as an empty field
                    return DataError(f"{path}: {column}line {line} has an empty field, a missing value as "
                                     "pandas writes NaN; clean or impute the missing values first")
                if value.strip() in MISSING_MARKS:  # UCI's missing values (a public-data trial)
                    return DataError(f"{path}: {column}line {line} holds {value.strip()!r}, a missing value "
                                     "as UCI's files mark one; clean or impute the missing values first")
                if value.strip().lower() in ("true", "false"):
                    return DataError(f"{path}: line {line} holds {value.strip()!r}, a bool column; write "
                                     "it as 1 and 0 (df.astype({'col': int}))")
                return _separator(value, path, line) or DataError(
                    f"{path}: every value must be a number ({column}line {line}: {value[:20]!r}); encode "
                    "categories as numbers first (pandas.get_dummies, OneHotEncoder) or drop the column; a column of "
                    f"class names is read as labels when named {' or '.join(LABEL_COLUMNS)}; {TEXT_HINT}")
    return DataError(f"{path} is not a readable numeric CSV file")


PARTS = ("train", "test")  # a folder holding these subfolders alone keeps its parts in them


def _folder(path: Path, split: str, size: int | None, channels: int | None, progress: bool = True, *, say: bool = True
            ) -> tuple[np.ndarray, np.ndarray | None, list[str] | None, np.ndarray | None, list[str]]:
    """(x, y, classes, the training images a test part is scaled like, the images' files) of a folder of
    images, or of class folders; or, where it holds train/ and test/ alone, of the part `split` names,
    each such a folder (test/ labelled by train/'s class names; `say`: their new classes said, where a run's
    numbering does not say them after)."""
    subdirs = {d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")}
    if set(PARTS) < subdirs and subdirs - set(PARTS) == {"ground_truth"}:  # MVTec AD's defect masks beside them
        if split == "train":
            warn(f"{path}: ground_truth/ (the test images' defect masks, in MVTec AD's layout) is not read")
        subdirs -= {"ground_truth"}
    if set(PARTS) < subdirs:
        raise DataError(f"{path}: holds train/ and test/ beside {', '.join(sorted(subdirs - set(PARTS)))}/; move that out "
                        "(train/ and test/ alone keep the test part apart)")
    if "train" not in subdirs or not subdirs <= {*PARTS, "val", "valid", "validation"}:  # class folders
        if split == "test":  # said before any image is read
            raise NoTestSplitError(f"{path} holds no separate test part; evaluate on a validation split instead")
        x, y, classes, files = _image_folder(path, size, channels, progress)
        return x, y, classes, None, files
    if subdirs - set(PARTS):
        raise DataError(f"{path}: holds train/ beside {', '.join(sorted(subdirs - {'train'}))}; give train/ and test/ "
                        "alone (a validation split is held out of train/ by data.val_fraction)")
    x, y, classes, files = _image_folder(path / "train", size, channels, progress)
    if split != "test" or "test" not in subdirs:
        return x, y, classes, None, files
    x_test, y_test, named, test_files = _image_folder(path / "test", size, x.shape[1], progress)  # channels as train/
    if y_test is not None and y is not None:
        classes = classes_with_test(path / "test", named, classes, say=say)
        y_test = np.array([classes.index(named[i]) for i in y_test])
    return x_test, y_test, classes, x, test_files


def _image_folder(path: Path, size: int | None, channels: int | None = None, progress: bool = True
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str] | None, list[str]]:
    """(x, y, classes, each image's file relative to `path`) of a folder of images, of class folders, or of
    one image file: x float32 (N, C, H, W) in [0, 1], each image divided by its bit depth (_pixels), grey
    beside colour read as RGB. The headers are read first, so that differing sizes, or a folder too big for
    the memory free, are refused before any image is decoded. `size`: each fitted to size x size;
    `channels`: 3 reads grey images as RGB (for a colour run), 1 refuses colour ones (for a grey run).
    `progress`: a bar for each pass over the files, shown on a terminal once a pass takes over two seconds."""
    from PIL import Image, UnidentifiedImageError

    root = path.parent if path.is_file() else path
    classes, files = (None, [(0, path)]) if path.is_file() else class_files(path, IMAGE_SUFFIXES, "images")
    if not files:
        raise DataError(f"{path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}){_not_images(path)}")
    read = {f for _, f in files}  # (an image trial: a phone's .HEIC photos, .avif, a broken link: left out unsaid)
    shown = [] if path.is_file() else [f for f in path.rglob("*") if f not in read and not any(
        p[0] == "." for p in f.relative_to(path).parts) and (f.suffix.lower() in OTHER_IMAGES or not f.exists())]
    other = sorted(str(f.relative_to(path)) for f in shown if f.exists())
    broken = sorted(str(f.relative_to(path)) for f in shown if not f.exists())
    if other:
        warn(f"{path}: {len(other):,} image{'s' * (len(other) != 1)} of a kind aekit does not read left out "
             f"({', '.join(other[:3])}{' ...' * (len(other) > 3)}); convert them to one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    if broken:
        warn(f"{path}: {len(broken):,} broken link{'s' * (len(broken) != 1)} left out ({', '.join(broken[:3])}"
             f"{' ...' * (len(broken) > 3)})")

    @contextlib.contextmanager
    def opened(f: Path):  # reading its header, or decoding it (a truncated file, say), failed: one line
        try:
            with Image.open(f) as im:
                yield im
        except (UnidentifiedImageError, OSError) as err:
            empty = f.is_file() and f.stat().st_size == 0  # (PIL: "cannot identify image file")
            reason = "empty: 0 bytes" if empty else str(err).replace(f" {str(f)!r}", "")  # (PIL's: the path again)
            raise Unreadable(f"{f} is not a readable image ({reason})") from None
        except Image.DecompressionBombError as err:  # (a files trial: "unexpected", naming no file)
            raise DataError(f"{f}: {str(err).split(' pixels')[0]} pixels), more than PIL reads unasked; resize it "
                            "first, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it") from None

    def passing(what: str):
        return progress_bar(files, desc=f"{what} {path.name}", unit="image", leave=False, delay=2,
                            dynamic_ncols=True, shown=progress)

    def refuse(unreadable: list[Unreadable]) -> None:  # every one named at once (an image trial: a copy cut short
        if len(unreadable) == 1:  # left three, found one run at a time)
            raise unreadable[0]
        named = "; ".join(str(err).replace(f"{path}/", "", 1) for err in unreadable[:3])
        raise DataError(f"{path}: {len(unreadable):,} files are not readable images ({named}"
                        f"{' ...' * (len(unreadable) > 3)}); remove or replace them")

    heads, unreadable, stacks = [], [], []  # (mode, (width, height) as shown: a phone's portrait photo turned upright)
    for _, f in passing("checking"):
        try:
            with opened(f) as im:  # a TIFF's own orientation tag, which Pillow applies as it loads it (and, from
                tiff = im.format == "TIFF"  # Pillow 11, to its size at open: read as the stored size, it was turned twice)
                stored = (im.tag_v2.get(256), im.tag_v2.get(257)) if tiff else im.size
                turned = (im.tag_v2 if tiff else im.getexif()).get(0x0112, 1) in (5, 6, 7, 8)  # a quarter turn
                heads.append((im.mode, stored[::-1] if turned else stored))
                if getattr(im, "n_frames", 1) > 1:  # an animated GIF, a TIFF stack (a bug hunt: its other pages
                    stacks.append(str(f.relative_to(root)))  # left out unsaid)
        except Unreadable as err:
            unreadable.append(err)
    if unreadable:
        refuse(unreadable)
    if stacks:
        warn(f"{path}: {len(stacks):,} file{'s' * (len(stacks) > 1)} hold several frames or pages ({', '.join(stacks[:3])}"
             f"{' ...' * (len(stacks) > 3)}), of which the first alone is read; save each frame as an image of its own "
             "to read them all")
    sizes = {s for _, s in heads} if size is None else {(size, size)}
    if len(sizes) > 1:  # a file of each size named (an image trial: one odd file among thousands, unnamed)
        first = {}
        for (_, f), (_, size_of) in zip(files, heads):
            first.setdefault(size_of, str(f.relative_to(path)))
        shown = ", ".join(f"{w} x {h} ({first[w, h]})" for w, h in sorted(sizes)[:3]) + " ..." * (len(sizes) > 3)
        raise DataError(f"{path}: images differ in size (width x height: {shown}); resize them to one size first, or "
                        "train with data.image_size=N (image_size=N in Python) to scale and centre-crop each to N x N "
                        "pixels as it is read")
    (width, height), = sizes
    grey = sum(mode in GREY_MODES or mode[0] in "IF" for mode, _ in heads)  # I, I;16, F: grey
    colour = channels == 3 or (channels is None and grey < len(heads))
    if colour and grey:
        beside = "to go with colour ones (a run's, or train/'s)" if channels == 3 else "beside colour ones"
        warn(f"{path}: {grey:,} of {len(heads):,} images are grey, read as RGB (their grey in each channel) "
             f"{beside}")
    need, free = len(files) * height * width * (3 if colour else 1) * 4, available_memory()
    if need > free / 2:  # they are scaled into a second array of as many values
        raise DataError(f"{path}: {len(files):,} images of {width} x {height} take {need / 2**20:,.0f} MiB as float32, "
                        f"with {free / 2**20:,.0f} MiB free; give data.image_size=N to read each at N x N (scaled and "
                        "centre-cropped), or fewer images")
    x = np.empty((len(files), height, width, 3 if colour else 1), np.float32)
    seen_colour = False
    for i, (_, f) in enumerate(passing("reading")):
        try:
            with opened(f) as im:
                pixels = _pixels(im, f, size)
        except Unreadable as err:  # (headers that read, bodies cut short: the rest read on, all named at the end)
            unreadable.append(err)
            continue
        if pixels.ndim == 3 and channels == 1:
            raise DataError(f"{f} is a colour image, and the images it is read with (a run's, or train/) are grey; "
                            "give grey images")
        if pixels.shape[:2] != (height, width):  # its header said another size
            with opened(f) as im:  # (an image trial: Pillow 13 turns a grey TIFF by its tag twice, a colour one once)
                tagged = im.format == "TIFF" and im.tag_v2.get(0x0112, 1) != 1
            raise DataError(f"{f}: decoded at {pixels.shape[1]} x {pixels.shape[0]}, its header said {width} x {height}" + (
                "; Pillow turns some TIFFs by their orientation tag wrongly: save it upright, without the tag" if tagged
                else ""))
        seen_colour |= pixels.ndim == 3
        x[i] = pixels if pixels.ndim == 3 else pixels[..., None]  # grey: into every channel
    if unreadable:
        refuse(unreadable)
    if colour and not seen_colour and channels is None:  # palettes of greys alone: grey
        x = np.ascontiguousarray(x[..., :1])
    names = [str(f.relative_to(root)) for _, f in files]
    return x.transpose(0, 3, 1, 2), None if classes is None else np.array([label for label, _ in files]), classes, names


def _texts_in(path: Path) -> bool:
    """Whether a folder holds texts and no other files: a text corpus (a LICENSE.txt beside images is not).
    Texts are .txt files, and files without a suffix (20 Newsgroups' articles) where the first 20 of them, in
    name order, that can be read hold text (`_bare_text`)."""
    files = [f for f in path.rglob("*") if f.is_file() and not f.name.startswith(".")]
    if not files or {f.suffix.lower() for f in files} - TEXT_FILES:
        return False
    # .txt files are texts by name; files without a suffix by a look at some of them, in a fixed order (one file,
    # the first found, decided it: an unreadable or UTF-16 one refused a corpus on one machine, not another)
    bare = [_bare_text(f, unreadable=None) for f in sorted(f for f in files if not f.suffix)[:20]]
    return all(b for b in bare if b is not None)


IMDB_HINT = ("; IMDb's aclImdb/ is read by name: give data.name=imdb (or imdb-bow) with AEKIT_DATA_DIR set to the "
             "folder above aclImdb/ (or its reviews alone: class folders of .txt files)")


def _stray_files(path: Path) -> str:
    """The refusal of a folder of texts with files of another kind among them ("" where most are not texts): a
    text trial's aclImdb/ (imdb.vocab, labeledBow.feat), a Thumbs.db or a README.md was "no images" before."""
    files = [f for f in path.rglob("*") if f.is_file() and not f.name.startswith(".")]
    texts = {f for f in files if f.suffix.lower() == ".txt" or (not f.suffix and _bare_text(f))}
    others = sorted(str(f.relative_to(path)) for f in files if f not in texts)
    data = IMAGE_SUFFIXES | {".csv", ".npy", ".npz", ".mat"}  # a folder of images or tables with notes beside them is
    held = sum(Path(f).suffix.lower() in data or bool(IDX_NAME.search(f)) for f in others)  # no corpus (a review:
    if not texts or len(others) >= len(texts) or 10 * held > len(texts):  # captioned images, a Kaggle folder), where
        return ""  # 60 texts beside one metadata.csv are
    return (f"{path} holds {len(texts):,} texts and {len(others):,} file{'s' * (len(others) != 1)} of another kind "
            f"({', '.join(others[:3])}{' ...' * (len(others) > 3)}); a text corpus holds .txt files (or files without "
            "a suffix) alone: move the others out")


def _not_images(path: Path) -> str:
    """What to do with a folder of data that aekit reads another way than as images ("" if none)."""
    names = {f.name for f in path.iterdir()}
    if path.name in PARTS:  # train/ of aclImdb/
        names |= {f.name for f in path.parent.iterdir()}
    if names & {"cifar-10-batches-py", "cifar-10-batches-bin", "data_batch_1", "data_batch_1.bin"}:
        return ("; CIFAR-10 batches are read by name: keep them in a folder cifar-10-batches-py/ (pickled) or "
                "cifar-10-batches-bin/ (.bin) and give data.name=cifar10 with AEKIT_DATA_DIR set to the folder above it "
                "(in Python load_dataset('cifar10', split, root=that folder))")
    if "imdb.vocab" in names or "aclImdb" in names:
        return IMDB_HINT
    if "cifar-100-python" in names or {"train", "test", "meta"} <= names:
        return ("; CIFAR-100 is read by name: keep it in a folder cifar-100-python/ and give data.name=cifar100 with "
                "AEKIT_DATA_DIR set to the folder above it")
    data = sorted(f.name for f in path.iterdir() if f.is_file() and (f.suffix in (".npy", ".npz", ".csv") or IDX_NAME.search(f.name)))
    if data:
        return f"; give one of its data files as the path ({', '.join(data[:3])}{' ...' * (len(data) > 3)})"
    other = next((f for f in sorted(path.iterdir()) if f.is_file() and _convert(f, TEXT_SUFFIXES)), None)
    if other is not None:  # stl10_binary/: its .bin files, not its class_names.txt
        return f"; {other.name}{_convert(other, TEXT_SUFFIXES)}"
    if next((f for f in path.rglob("*") if f.suffix in TEXT_SUFFIXES), None) is not None:  # or class folders of them
        return "; " + TEXT_HINT
    if next((f for f in path.rglob("*") if f.suffix.lower() in MARKUP), None) is not None:
        return "; texts are read from .txt files (or files without a suffix): save them as such"
    return ""


MARKUP = (".md", ".html", ".htm", ".rst", ".xml", ".sgm")  # texts in a format of their own


def _bare_text(path: Path, *, unreadable: bool | None = False) -> bool | None:
    """Whether a file holds text, as a text file without a suffix does (20 Newsgroups' articles, the SMS Spam
    Collection's SMSSpamCollection): UTF-16's byte-order mark, or no NUL byte in its first 4 KiB; `unreadable`
    for a file that cannot be read."""
    with contextlib.suppress(OSError), open(path, "rb") as f:
        head = f.read(4096)
        return head.startswith(WIDE_MARKS) or b"\0" not in head
    return unreadable


ARCHIVES = (".gz", ".tgz", ".zip", ".tar", ".bz2", ".xz", ".7z", ".rar")


NUMBERS_HINT = ("numbers, a table (UCI's X_train.txt, iris.data): read it with np.loadtxt(path) (delimiter=',' for "
                "commas) and save it with np.savez('data.npz', x_train=..., y_train=..., x_test=..., y_test=...), or as "
                "a .csv with a header row naming the label column label")


def _numbers_only(path: Path) -> bool:
    """Whether a file's first 4 KiB are numbers alone, separated by spaces, commas, semicolons or tabs (a table
    saved as .txt or .data), and at least eight of them."""
    with contextlib.suppress(OSError), open(path, "rb") as f:
        words = re.split(r"[\s,;]+", f.read(4096).decode("latin-1").strip())[:-1]  # (the last may be cut short)
        with contextlib.suppress(ValueError):
            list(map(float, words))  # a word that is no number raises
            return len(words) >= 8
    return False


def _convert(path: Path, skip: set[str] = frozenset()) -> str:
    """How to bring the file `path`, of a format aekit does not read, to one it reads ("" for a suffix in `skip`)."""
    suffix = path.suffix.lower()
    if suffix in skip:
        return ""
    if re.fullmatch(r"(data_batch_\d|test_batch)(\.bin)?", path.name):  # one CIFAR-10 batch (a public-data trial)
        folder = "cifar-10-batches-bin" if suffix == ".bin" else "cifar-10-batches-py"
        return (f": one of CIFAR-10's batches, read by name: keep all six in a folder {folder}/ and give data.name=cifar10 "
                "with AEKIT_DATA_DIR set to the folder above it")
    if suffix in (".txt", ".tsv", ".data", ".dat", "") and _numbers_only(path):  # UCI's files (a public-data trial)
        return f": {NUMBERS_HINT}"
    if suffix in (".data", ".dat"):  # UCI's iris.data, adult.data: comma-separated, their class a name
        return (": UCI's .data files are comma-separated tables: save it as a .csv with a header row, naming its class "
                "column label (the class names are read as classes)")
    if suffix == ".tsv":
        return f": a table: save it as a .csv, separated by commas ({TEXT_HINT}, or a folder of .txt files)"
    if suffix in TEXT_SUFFIXES or Path(path.stem).suffix.lower() in TEXT_SUFFIXES or (not suffix and _bare_text(path)):
        return f" ({TEXT_HINT}, or a folder of .txt files)"
    if suffix in ARCHIVES:
        return ": an archive; unpack it and give what it holds"
    if suffix == ".mat" and "32x32" in path.name:
        return ": SVHN's, read by data.name=svhn with the file in $AEKIT_DATA_DIR/svhn"
    if suffix in (".bin", ".pt", ".pth", ".h5", ".hdf5", ".mat", ".pkl", ".pickle", ".parquet", ".feather"):
        how = ("np.fromfile(f, np.uint8).reshape(N, C, H, W) (STL-10's train_X.bin: .reshape(-1, 3, 96, 96)"
               ".transpose(0, 1, 3, 2), stored column by column)") if suffix == ".bin" else "its library"
        return (f": read it with {how} and save the arrays with np.savez('data.npz', x_train=x, y_train=y, "
                "x_test=..., y_test=...) (or a .csv of a table), which aekit reads")
    return ""


def _pixels(im, f: Path, size: int | None = None) -> np.ndarray:
    """(H, W) grey or (H, W, 3) RGB pixels as float32 in [0, 1], upright (EXIF orientation), alpha dropped:
    8-bit images divided by 255, 16-bit ones (I;16*, and mode I, 32-bit, holding 0..65535) by 65535, float
    images (F) kept, in [0, 1]. `size`: scaled to cover size x size, keeping the aspect ratio, and
    centre-cropped (bilinear, antialiased)."""
    from PIL import Image, ImageOps

    im = ImageOps.exif_transpose(im)

    def fit(image):
        return image if size is None else ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)

    if im.mode in ("P", "PA"):
        rgb = np.asarray(fit(im.convert("RGB")))
        return (rgb[..., 0] if (rgb == rgb[..., :1]).all() else rgb) / np.float32(255)  # a palette of greys: grey
    if im.mode.startswith("I") or im.mode == "F":
        x = np.asarray(im).astype(np.float32)
        depth, found = (1.0, "a float") if im.mode == "F" else (65535.0, "an integer")
        lo, hi = float(x.min()), float(x.max())
        if not (np.isfinite(x).all() and 0 <= lo and hi <= depth):
            held = f"values in [{lo:.6g}, {hi:.6g}]" if np.isfinite(x).all() else "values that are not numbers (NaN or inf)"
            raise DataError(f"{f}: {found} image (mode {im.mode}) with {held}; aekit reads "
                            "float images in [0, 1] and integer images in 0..65535 (16-bit); save it so")
        x = x if size is None else np.asarray(fit(Image.fromarray(x)))  # float32: mode F; bilinear: no overshoot
        return x / np.float32(depth)
    return np.asarray(fit(im.convert("L" if im.mode in GREY_MODES else "RGB"))) / np.float32(255)
