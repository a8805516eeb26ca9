"""Data sets bigger than memory: samples in a memory-mapped array, read a batch at a time.

`MemmapArray` wraps a numpy memmap (`np.load(path, mmap_mode="r")`, `read_idx(path, mmap=True)`)
of any real dtype and reads samples on demand, scaled to float32 in [0, 1] the way
`scale_to_unit` scales a loaded array (uint8 / 255, min-max for other ranges; column by column
where it would scale a loaded array so, each column's range found in the same one pass). Indexing
it (`a[i]`, `a[3:9]`, `a[index]`) reads just those rows, in file order, into a tensor; `subset`
and `reshape` are lazy views.

Rows are read with pread from the file behind the memmap rather than through the mapping: a page
fault on a mapped file makes resident the whole page cache folio around the row (up to 2 MiB on
recent Linux), so 256 scattered rows of 784 bytes would map ~250 MB. Read with pread, a batch costs
its own bytes and the process's memory stays flat however large the file.
"""

from __future__ import annotations

import contextlib
import errno
import math
import mmap
import os

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError
from .core import (
    CHUNK_BYTES,
    check_scalable,
    columns_of_arrays,
    is_integral,
    may_scale_columns,
    not_finite,
    per_column,
    standard_from_sums,
    unit_map,
)


def chunk_rows(row_bytes: int) -> int:
    """Rows per read when scanning, so that a scan never holds more than about CHUNK_BYTES."""
    return max(1, CHUNK_BYTES // max(1, row_bytes))


class MemmapArray:
    """A tensor-like, read-on-demand view of a memory-mapped array (N, *sample_shape)."""

    def __init__(
        self,
        array: np.ndarray,
        *,
        offset: float | np.ndarray = 0.0,
        divisor: float | np.ndarray = 1.0,
        index: np.ndarray | None = None,
        sample_shape: tuple[int, ...] | None = None,
        scanned: tuple[np.ndarray, np.ndarray] | None = None,
        file: RowFile | None | bool = True,  # its reader (a view: its whole's); True: one for `array`, if it has a file
    ) -> None:
        if array.ndim < 2:
            raise DataError(f"expected (N, features) or (N, C, H, W) samples, got an array of shape {array.shape}")
        if not (is_integral(array.dtype) or np.issubdtype(array.dtype, np.floating)):
            raise DataError(f"values must be real numbers, got dtype {array.dtype}")
        self.array = array
        # one float, or float32 arrays shaped like a stored row (a range per column)
        self.offset, self.divisor = (v if np.ndim(v) else float(v) for v in (offset, divisor))
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.sample_shape = tuple(sample_shape) if sample_shape is not None else tuple(array.shape[1:])
        if math.prod(self.sample_shape) != math.prod(array.shape[1:]):
            raise DataError(f"cannot view samples of shape {array.shape[1:]} as {self.sample_shape}")
        # None: read through numpy indexing (an in-memory or odd-strided array)
        self._file = RowFile.of(array) if file is True else file
        # each stored value's (min, max) over the rows as read, where a scan of the whole array found them (a
        # subset's values lie within its whole's)
        self.scanned = scanned

    def __getstate__(self) -> dict:
        """Pickled without a file's values (a review: a spawned worker took a copy of the whole file): the process
        that unpickles it maps the file again, checked to be the one loaded."""
        state = dict(self.__dict__)
        if self._file is not None and self._file.stride == self._file.row_bytes:
            state["array"], state["_rows"] = None, len(self.array)
        return state

    def __setstate__(self, state: dict) -> None:
        rows = state.pop("_rows", None)
        self.__dict__.update(state)
        if rows is not None:
            f = self._file
            f._descriptor()  # the file loaded, or said
            self.array = np.memmap(f.path, dtype=f.dtype, mode="r", offset=f.position, shape=(rows, *f.row_shape))

    @classmethod
    def scaled(cls, array: np.ndarray, *, name: str, scale: str = "auto") -> MemmapArray:
        """Wrap `array` with the scaling `scale_to_unit` would apply, its ranges found in one pass over it."""
        check_scalable(array, name=name, scale=scale)
        if scale == "column" and array.ndim > 2:  # as unit_scaled refuses it for an array in memory (a bug hunt)
            raise columns_of_arrays(name, array.shape)
        if scale == "none" or (scale == "global" and array.dtype == np.uint8):  # known without a pass
            return cls(array, divisor=1.0 if scale == "none" else 255.0)  # (auto: 0/1 values are kept, a pass tells)
        integer = is_integral(array.dtype)
        lo = hi = total = squares = shift = None  # each column's (min, max), and sums of values and squares, so far
        rows, reader = chunk_rows(math.prod(array.shape[1:]) * array.dtype.itemsize), RowFile.of(array)
        for start in range(0, len(array), rows):
            span = np.arange(start, min(start + rows, len(array)))
            part = reader.read(span) if reader is not None else np.asarray(array[span])  # not through the mapping
            if not integer and not np.isfinite(part).all():
                raise not_finite(part, name, offset=start)
            if not integer and np.abs(part).max() > np.finfo(np.float32).max:  # as a loaded array is refused
                raise DataError(f"{name}: values exceed the float32 range (|x| > 3.4e38); rescale them first")
            if part.dtype.itemsize >= 4 and part.dtype != np.float32:  # as a read converts them, and as a loaded
                part = part.astype(np.float32)  # array is scaled (_finite_float32): int32/int64 past 2**24, float64
            low, high = part.min(axis=0).astype(np.float64), part.max(axis=0).astype(np.float64)
            lo, hi = (low, high) if lo is None else (np.minimum(lo, low), np.maximum(hi, high))
            if scale == "standard":  # sums of the values less the first row's (or value's): exact at any level
                if shift is None:
                    shift = np.asarray(part[0] if array.ndim == 2 else part.flat[0], dtype=np.float64)
                moved = part.astype(np.float64) - shift
                axis = 0 if array.ndim == 2 else None
                sums = moved.sum(axis), np.square(moved).sum(axis)
                total, squares = sums if total is None else (total + sums[0], squares + sums[1])
        if scale == "standard":
            n = len(array) if array.ndim == 2 else array.size
            offset, divisor = standard_from_sums(n, shift, total, squares, table=array.ndim == 2)
        elif may_scale_columns(array.dtype, array.ndim, scale) and per_column(lo, hi, scale):
            offset, divisor = (v.astype(np.float32) for v in unit_map(array.dtype, lo, hi, scale))
        else:
            offset, divisor = unit_map(array.dtype, float(lo.min()), float(hi.max()), scale, table=array.ndim == 2)
        wrapped = cls(array, offset=offset, divisor=divisor)
        ends = torch.from_numpy(np.stack([lo, hi]).astype(np.float32))  # each map is monotonic: the read values' ends
        wrapped.scanned = tuple(wrapped._scale(ends).numpy())  # through the very float32 steps a read takes
        return wrapped

    # --- the tensor-like surface ------------------------------------------------------------------
    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), *self.sample_shape))

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def in_unit_range(self) -> bool:
        """Whether every value read is finite and in [0, 1] by construction (uint8 / 255)."""
        return self.array.dtype == np.uint8 and not np.ndim(self.offset) and (self.offset, self.divisor) == (0.0, 255.0)

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else len(self.array)

    def __repr__(self) -> str:
        return f"MemmapArray(shape={tuple(self.shape)}, stored as {self.array.dtype})"

    def __getitem__(self, key) -> Tensor:
        """Rows `key` (an int, a slice or an index array/tensor) read into a float32 tensor."""
        if isinstance(key, (int, np.integer)):
            return self._read_rows(np.array([int(key)]))[0]
        if isinstance(key, slice):
            span = range(len(self))[key]
            rows = np.arange(span.start, span.stop, span.step, dtype=np.int64)
        else:
            rows = key.cpu().numpy() if isinstance(key, Tensor) else np.asarray(key)
            if rows.dtype == np.bool_:
                rows = np.flatnonzero(rows)
            rows = rows.astype(np.int64, copy=False)
        return self._read_rows(rows)

    def subset(self, index) -> MemmapArray:
        """A lazy view of the samples at `index` (nothing is read)."""
        index = np.asarray(index.cpu() if isinstance(index, Tensor) else index)
        if index.dtype == np.bool_:  # a mask: its True rows (a review: rows 0 and 1, as __getitem__ already reads it)
            if index.shape != (len(self),):
                raise IndexError(f"a mask of {index.shape} values for {len(self)} samples")
            index = np.flatnonzero(index)
        index = _within(index.astype(np.int64, copy=False), len(self))  # (a bug hunt: -1 read the .npy header)
        base = self.index[index] if self.index is not None else index
        return self._view(index=base)

    def reshape(self, n: int, *shape: int) -> MemmapArray:
        """The same samples with another sample shape, e.g. `reshape(len(a), -1)` for flat vectors."""
        if n not in (-1, len(self)):
            raise DataError(f"a MemmapArray of {len(self)} samples cannot be reshaped to {n} samples")
        size = math.prod(self.sample_shape)
        if shape.count(-1) == 1:
            known = math.prod(d for d in shape if d != -1)
            shape = tuple(size // known if d == -1 else d for d in shape)
        return self._view(sample_shape=shape)

    def value_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each stored value's (min, max) over these rows as read: the scan's at load, else found by one pass now
        (kept). Finite values assumed (the checks before training refuse others)."""
        if self.scanned is None:
            rows = chunk_rows(4 * math.prod(self.array.shape[1:]))
            parts = [self[start : start + rows].reshape(-1, *self.array.shape[1:]) for start in range(0, len(self), rows)]
            lows, highs = zip(*((p.amin(0), p.amax(0)) for p in parts)) if parts else ((), ())
            self.scanned = (torch.stack(lows).amin(0).numpy(), torch.stack(highs).amax(0).numpy())
        return self.scanned

    def numpy(self) -> np.ndarray:
        """Every sample, scaled, in memory (only for data that fits)."""
        return self[:].numpy()

    # --- reading ------------------------------------------------------------------------------------
    def _view(self, **changes) -> MemmapArray:
        args = {"offset": self.offset, "divisor": self.divisor, "index": self.index,
                "sample_shape": self.sample_shape, "scanned": self.scanned, **changes}
        return MemmapArray(self.array, **args, file=self._file)  # the file as loaded (a bug hunt: a view opened another)

    def _read_rows(self, rows: np.ndarray) -> Tensor:
        rows = _within(rows, len(self))
        file_rows = self.index[rows] if self.index is not None else rows
        order = np.argsort(file_rows, kind="stable")  # read in file order: sequential, page-friendly
        wanted = file_rows[order]
        block = self._file.read(wanted) if self._file is not None else np.asarray(self.array[wanted])
        if block.dtype not in (np.uint8, np.float32):  # big-endian IDX, uint16, float64...: as float32
            block = block.astype(np.float32)
        out = torch.empty((len(rows), *self.array.shape[1:]), dtype=torch.float32)
        out[torch.from_numpy(order)] = torch.from_numpy(block).reshape(out.shape).float()  # back to the order asked for
        return self._scale(out).reshape(len(rows), *self.sample_shape)

    def _scale(self, out: Tensor) -> Tensor:
        """float32 stored rows (n, *stored row shape) as read, in place: less the offset, over the divisor."""
        offset, divisor = (torch.from_numpy(v) if np.ndim(v) else v for v in (self.offset, self.divisor))
        if np.any(self.offset != 0):
            out.sub_(offset)
        if np.any(self.divisor != 1):
            out.div_(divisor)  # a true division: the same float32 values as a loaded array / 255
        return out


def _within(rows: np.ndarray, n: int) -> np.ndarray:
    """`rows` as indices 0..n-1, negative ones counting from the end as a tensor's do; others: IndexError."""
    if len(rows) and (rows.min() < -n or rows.max() >= n):
        raise IndexError(f"index out of range for {n} samples")
    return rows % n if len(rows) else rows


class RowFile:
    """Rows of a memmap read with pread from its file (rows C-ordered; runs of rows in one read)."""

    def __init__(self, path: str, position: int, stride: int, row_shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path, self.position, self.stride = path, position, stride
        self.row_shape, self.dtype = row_shape, dtype
        self.row_bytes = math.prod(row_shape) * dtype.itemsize
        # open from the load on, in this process and those it forks (pread keeps no position): reads come from the
        # file as it was loaded, whatever is put at its path since (a bug hunt: a split read a replaced file)
        self._fd: int | None = _open(path)
        found = os.fstat(self._fd)
        self.identity = (found.st_dev, found.st_ino, found.st_size)

    def __getstate__(self) -> dict:  # a spawned process opens it again by its path: the same file, or said
        return {**self.__dict__, "_fd": None}

    @classmethod
    def of(cls, array: np.ndarray) -> RowFile | None:
        """A reader for `array` when it is a file-backed memmap with whole rows laid out in C order."""
        mapping = getattr(array, "_mmap", None)
        path = getattr(array, "filename", None)
        if not (isinstance(array, np.memmap) and isinstance(mapping, mmap.mmap) and path and hasattr(os, "preadv")):
            return None
        if array.strides[0] <= 0 or not array[:1].flags.c_contiguous:
            return None
        try:  # where `array` starts in the file: its address within the mapping, plus where the mapping starts
            base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
        except (ValueError, TypeError):  # a closed mapping
            return None
        start = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY
        return cls(str(path), start + array.ctypes.data - base, array.strides[0], tuple(array.shape[1:]), array.dtype)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows `rows` (sorted) as a new array (len(rows), *row_shape)."""
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        fd, size = self._descriptor(), self.row_bytes
        if os.fstat(fd).st_size != self.identity[2]:  # rewritten in place (np.save to its path) or cut short
            raise changed(self.path)
        if self.stride == size and len(rows):  # runs of consecutive rows: one read each
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), len(rows)]):
                _read_exact(fd, view[a * size : b * size], self.position + int(rows[a]) * size, self.path)
        else:
            for i, row in enumerate(rows.tolist()):
                _read_exact(fd, view[i * size : (i + 1) * size], self.position + row * self.stride, self.path)
        return out

    def _descriptor(self) -> int:
        if self._fd is None:  # unpickled in a spawned process (a touched file, its time changed, is the same file)
            try:
                fd = _open(self.path)
            except FileNotFoundError:
                raise changed(self.path) from None
            found = os.fstat(fd)
            if (found.st_dev, found.st_ino, found.st_size) != self.identity:
                os.close(fd)
                raise changed(self.path)
            self._fd = fd
        return self._fd

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:  # (a forked process closes its own copy)
            with contextlib.suppress(OSError, TypeError):  # TypeError: at interpreter exit
                os.close(self._fd)


def _open(path: str) -> int:
    with files_said(path):  # (a review: a raw OSError where a .npy's load said it)
        return os.open(path, os.O_RDONLY)


@contextlib.contextmanager
def files_said(path):
    """Opening `path` in the block: too many files open in this process (ulimit -n) said as such, in one line."""
    try:
        yield
    except OSError as err:
        if err.errno == errno.EMFILE:
            raise DataError(f"{path}: this process has too many files open (ulimit -n); drop the data sets no longer "
                            "used, or raise the limit") from None
        raise


def changed(path: str) -> DataError:
    return DataError(f"{path} changed on disk since it was loaded (replaced, rewritten or cut short): its rows are "
                     "no longer those read; load it again")


def _read_exact(fd: int, view: memoryview, position: int, path: str) -> None:
    while len(view):
        got = os.preadv(fd, [view], position)
        if got <= 0:  # (a bug hunt: "OSError: unexpected end of file at byte 1728", no file named)
            raise changed(path)
        view, position = view[got:], position + got


def is_memmap(value) -> bool:
    return isinstance(value, (np.memmap, MemmapArray))


def as_memmap_array(value, what: str) -> MemmapArray:
    """A MemmapArray of a memmap handed to the trainer: uint8 is scaled by 1/255, floats kept as they are."""
    if isinstance(value, MemmapArray):
        return value
    if value.dtype == np.uint8:
        return MemmapArray(value, divisor=255.0)
    if np.issubdtype(value.dtype, np.floating):
        return MemmapArray(value)
    raise DataError(
        f"{what}: a memory-mapped array must be uint8 (scaled by 1/255) or floating point in [0, 1], "
        f"got {value.dtype}; load it with aekit.data.load_dataset to scale it"
    )
