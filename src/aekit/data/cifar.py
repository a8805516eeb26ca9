"""CIFAR-10 from the standard `cifar-10-batches-py/` pickled batches, read without running pickled code,
or from the binary version's `cifar-10-batches-bin/`; CIFAR-100 from `cifar-100-python/`.

The batches are Python pickles. `restricted_load` unpickles them with an allow-list: plain
containers and numpy's own array/dtype rebuilders, nothing else, so a tampered file cannot
import a module or call a function.
"""

from __future__ import annotations

import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from ..errors import DataError, DataNotFoundError
from .core import Dataset, register_dataset
from .download import RemoteFile, ensure_files

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # published by the authors (also torchvision's)
BATCH_FOLDER = "cifar-10-batches-py"
BIN_FOLDER = "cifar-10-batches-bin"  # the binary version: data_batch_1.bin ..., records of 1 label + 3072 pixel bytes
SUFFIXES = {BATCH_FOLDER: "", BIN_FOLDER: ".bin"}  # each layout's batch file names: data_batch_1 or data_batch_1.bin
BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR100_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"  # published by the authors (also torchvision's)
FOLDER100 = "cifar-100-python"  # train, test and meta: 100 fine classes (fine_labels, fine_label_names)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# (module, name) pairs a pickle of dicts, lists, bytes and numpy arrays needs, under the names
# numpy < 2 (numpy.core) and numpy >= 2 (numpy._core) write, and Python 2's (__builtin__).
_NUMPY = [
    (f"numpy.{core}.{mod}", name)
    for core in ("core", "_core")
    for mod, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))
]
_BUILTINS = [
    (mod, name)
    for mod in ("builtins", "__builtin__")
    for name in ("bytes", "bytearray", "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str")
]
SAFE_GLOBALS = frozenset([*_NUMPY, *_BUILTINS, ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")])


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles containers and numpy arrays only; any other global is refused before it is imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            found = super().find_class(module, name)
            return _of_data(found) if name in ("bytes", "bytearray") else found
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _of_data(make: Callable) -> Callable:
    """bytes or bytearray of the pickle's own data, not of a count: bytes(N) makes N zeros of a few bytes in the
    file (an untrusted-files hunt: a 66-byte batches.meta took 3.2 GB)."""

    def made(*args: Any) -> Any:
        if args and not isinstance(args[0], (bytes, bytearray, str, list, tuple)):  # an int, numpy's too (a review)
            raise pickle.UnpicklingError(f"refusing {make.__name__}({int(args[0]):,}), bytes the pickle does not hold")
        return make(*args)

    return made


def restricted_load(file: IO[bytes], *, what: str) -> Any:
    """Unpickle `file` with `RestrictedUnpickler`; anything unexpected is a one-line DataError."""
    try:
        # latin1 turns Python 2 byte strings (the original batches) back into numpy's raw bytes
        return RestrictedUnpickler(file, encoding="latin1").load()
    except pickle.UnpicklingError as err:
        if str(err).startswith("refusing"):
            raise DataError(f"{what} is not a plain data pickle ({err}); it may be corrupt or malicious") from None
        raise DataError(f"{what} is truncated or not a pickle ({err})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise DataError(f"{what} is truncated or not a pickle ({type(err).__name__}: {err})") from None


def read_batch(path: Path, labels_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """One batch file, pickled or .bin -> (images uint8 (N, 3, 32, 32), labels int64 (N,)); a pickled batch's
    labels are under `labels_key` (CIFAR-100's fine classes under "fine_labels")."""
    if path.suffix == ".bin":
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % 3073:
            raise DataError(f"{path}: {raw.size} bytes are not whole records of 3073 bytes (1 label byte, 3072 pixel "
                            "bytes); it is truncated or not a CIFAR-10 .bin batch")
        records = raw.reshape(-1, 3073)  # (N, label + 3 x 1024 pixels, channel-first as the pickles)
        return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)
    with open(path, "rb") as f:
        entry = restricted_load(f, what=str(path))
    if not isinstance(entry, dict):
        raise DataError(f"{path} holds a {type(entry).__name__}, expected a dict with 'data' and 'labels'")
    # the original batches are Python 2 pickles, whose keys are bytes (b"data")
    entry = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}
    if "data" not in entry or labels_key not in entry:
        raise DataError(f"{path} has keys {sorted(map(str, entry))}; a CIFAR batch has 'data' and '{labels_key}'")
    data, labels = entry["data"], np.asarray(entry[labels_key])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), got a {found}")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: {len(data)} images but '{labels_key}' has shape {labels.shape} ({labels.dtype})")
    # rows hold 1024 red, then 1024 green, then 1024 blue values, each plane row-major
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def class_names(batch_dir: Path) -> list[str]:
    """label_names of batches.meta (pickled) or batches.meta.txt (one a line, the .bin layout's), else CIFAR-10's."""
    meta, text = batch_dir / "batches.meta", batch_dir / "batches.meta.txt"
    if meta.is_file():
        return pickled_names(meta, "label_names")
    if text.is_file():
        return [line.strip() for line in text.read_text(encoding="utf-8").splitlines() if line.strip()] or list(CLASSES)
    return list(CLASSES)


def pickled_names(meta: Path, key: str) -> list[str]:
    """The class names a pickled meta file keeps under `key`."""
    with open(meta, "rb") as f:
        entry = restricted_load(f, what=str(meta))
    names = entry.get(key, entry.get(key.encode())) if isinstance(entry, dict) else None
    if not (isinstance(names, list) and names and all(isinstance(n, (str, bytes)) for n in names)):
        raise DataError(f"{meta}: expected a dict whose '{key}' is a list of class names")
    return [n.decode("utf-8") if isinstance(n, bytes) else n for n in names]


def checked_labels(y: np.ndarray, classes: list[str], path: Path) -> np.ndarray:
    if len(y) and (y.min() < 0 or y.max() >= len(classes)):
        raise DataError(f"{path}: labels must be 0..{len(classes) - 1} (one per class name), found {y.min()}..{y.max()}")
    return y


def load_batches(batch_dir: Path, split: str) -> Dataset:
    """(N, 3, 32, 32) float32 in [0, 1] and labels from `batch_dir` (cifar-10-batches-py or -bin)."""
    classes = class_names(batch_dir)
    xs, ys = [], []
    for name in BATCHES[split]:
        path = batch_dir / (name + SUFFIXES.get(batch_dir.name, ""))
        x, y = read_batch(path)
        xs.append(x)
        ys.append(checked_labels(y, classes, path))
    x = np.concatenate(xs).astype(np.float32) / 255.0
    return Dataset(torch.from_numpy(x), torch.from_numpy(np.concatenate(ys)), name="cifar10", classes=classes)


def _extract(archive: Path, into: Path, folder: str = BATCH_FOLDER) -> None:
    """Unpack `folder` of the official archive, refusing absolute paths, '..' and links (tarfile's 'data' filter)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(folder + "/")]
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, members=members, filter="data")
            else:  # Python < 3.10.12 has no filters: allow plain files and folders below BATCH_FOLDER only
                if any(".." in Path(m.name).parts or not (m.isfile() or m.isdir()) for m in members):
                    raise tarfile.TarError("it holds links or paths outside its folder")
                tar.extractall(into, members=members)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{archive} is truncated or not the CIFAR archive ({err}); delete it and retry") from None


def archive_or_say(root: Path, url: str, md5: str, folder: str, missing: str, holds: str) -> None:
    """Download the archive at `url` into `root` (checked against `md5`) and unpack its `folder` there; offline,
    one line says what is `missing` and where to put it."""
    name = root.name  # the data set: cifar10, cifar100
    try:
        (archive,) = ensure_files(root, [RemoteFile(url.rsplit("/", 1)[1], url, f"md5:{md5}")], dataset=name)
    except DataNotFoundError as err:
        raise DataNotFoundError(
            f"{name}: {missing} and the archive could not be downloaded ({getattr(err, 'reason', 'offline?')}); unpack "
            f"{url} into {root} or {root.parent} (it holds {holds}), or set AEKIT_DATA_DIR to a folder holding "
            f"{name}/{folder}/ or {folder}/"
        ) from None
    _extract(archive, root, folder)
    if not (root / folder).is_dir():
        raise DataError(f"{archive} holds no {folder}/; it is not the archive from {url}: delete it and retry")


@register_dataset("cifar10")
def load_cifar10(split: str, folder: Path) -> Dataset:
    """Reads cifar-10-batches-py/ (pickled) or cifar-10-batches-bin/ (binary) in `folder/cifar10/` or `folder/`
    (the archive unpacked straight into the data folder), the first holding `split`'s batches; downloads
    and unpacks the pickled archive when none does."""
    root = folder / "cifar10"
    found = [parent / name for name in SUFFIXES for parent in (root, folder) if (parent / name).is_dir()]
    for batch_dir in found:
        if all((batch_dir / (n + SUFFIXES[batch_dir.name])).is_file() for n in BATCHES[split]):
            return load_batches(batch_dir, split)
    where = found[0] if found else root / BATCH_FOLDER
    missing = [n + SUFFIXES[where.name] for n in BATCHES[split] if not (where / (n + SUFFIXES[where.name])).is_file()]
    archive_or_say(root, CIFAR10_URL, CIFAR10_MD5, BATCH_FOLDER, f"missing {', '.join(missing)} in {where}",
                   f"{BATCH_FOLDER}/; the binary version's {BIN_FOLDER}/ is read too")
    lacking = [n for n in BATCHES[split] if not (root / BATCH_FOLDER / n).is_file()]
    if lacking:
        raise DataError(f"{root / CIFAR10_URL.rsplit('/', 1)[1]} lacks {', '.join(lacking)}; it is not the archive "
                        f"from {CIFAR10_URL}: delete it and retry")
    return load_batches(root / BATCH_FOLDER, split)


@register_dataset("cifar100")
def load_cifar100(split: str, folder: Path) -> Dataset:
    """Reads cifar-100-python/ (train, test and meta; the 100 fine classes) in `folder/cifar100/` or `folder/`;
    downloads and unpacks the archive when neither holds `split`'s file."""
    root = folder / "cifar100"
    found = next((parent / FOLDER100 for parent in (root, folder) if (parent / FOLDER100 / split).is_file()), None)
    if found is None:
        archive_or_say(root, CIFAR100_URL, CIFAR100_MD5, FOLDER100, f"missing {root / FOLDER100 / split}", f"{FOLDER100}/")
        found = root / FOLDER100
    meta = found / "meta"
    classes = pickled_names(meta, "fine_label_names") if meta.is_file() else [str(i) for i in range(100)]
    x, y = read_batch(found / split, labels_key="fine_labels")
    x = x.astype(np.float32) / 255.0
    return Dataset(torch.from_numpy(x), torch.from_numpy(checked_labels(y, classes, found / split)), name="cifar100",
                   classes=classes)
