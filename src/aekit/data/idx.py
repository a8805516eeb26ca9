"""IDX files (the MNIST family's format), gzip-compressed or raw; raw files can be memory-mapped."""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

# type code of the third magic byte -> numpy dtype (IDX stores big-endian)
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


def _parse_header(head: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = head[3]
    offset = 4 + 4 * ndim
    if len(head) < offset:
        raise DataError(f"{path} is truncated: its IDX header is incomplete")
    shape = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.dtype(_DTYPES[head[2]]), shape, offset


def read_idx(path: str | Path, *, mmap: bool = False) -> np.ndarray:
    """Read an IDX file (`.gz` or raw). With `mmap=True` a raw file is memory-mapped, not loaded."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IDX file {path} does not exist")
    gzipped = path.suffix == ".gz"
    if gzipped:
        try:
            with gzip.open(path, "rb") as f:  # the header first: the data it promises and a byte more are read, not
                head = f.read(4)  # all a bomb holds (an untrusted-files hunt: 306 KB took 848 MB to be refused)
                head += f.read(4 * head[3]) if len(head) == 4 else b""
                dtype, shape, offset = _parse_header(head, path)
                chunks, wanted = [head], math.prod(shape) * dtype.itemsize + 1  # (a header's 2^60 bytes: read as they
                while wanted > 0 and (chunk := f.read(min(wanted, 1 << 24))):  # come, not asked for at once)
                    chunks.append(chunk)
                    wanted -= len(chunk)
                data = b"".join(chunks)
        except PermissionError as err:  # (a paths trial: said to be truncated, and to download it again)
            raise DataError(f"{path} cannot be read ({err.strerror}); check its permissions") from None
        except (OSError, EOFError, zlib.error) as err:  # zlib.error: a corrupt compressed stream
            raise DataError(f"{path} is truncated or not gzip ({err}); download it again") from None
        head, size = data[:64], len(data)
    else:
        with open(path, "rb") as f:
            head, size = f.read(64), path.stat().st_size
    dtype, shape, offset = _parse_header(head, path)
    expected = math.prod(shape) * dtype.itemsize
    if size - offset != expected:
        how = "is truncated" if size - offset < expected else "holds bytes past its data" if gzipped else \
            f"holds {size - offset - expected:,} bytes past its data"
        found = "more" if gzipped and size - offset > expected else f"{size - offset:,}"  # (read no further)
        raise DataError(f"{path} {how}: its header promises {expected:,} data bytes, found {found}")
    if gzipped:
        return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    if mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    return np.fromfile(path, dtype=dtype, offset=offset).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8/int8 array as IDX (gzip when the name ends in .gz); used for tests and subsets."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _CODES:
        raise DataError(f"write_idx supports uint8 and int8 arrays, got {array.dtype}")
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path = Path(path)
    payload = header + array.tobytes()
    if path.suffix == ".gz":
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
