"""Files written whole or not at all: a reader, a crash or a kill sees the old file or the new one, never half.

Runs, results, reports, exports and pictures are written through these (aekit's one atomic writer).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from .errors import naming


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)
    try:
        with open(tmp, "xb") as f:  # a new file, 0666 less the umask like any other (mkstemp's are 0600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):  # (a read-only folder refuses the removal too)
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise naming(err, path, tmp) from None  # the file asked for, not its hidden temporary
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def check_writable(path: str | Path) -> None:
    """Raise the OSError that writing `path` (a file, or a folder to be made) would meet, before the work that
    leads to it (a bug hunt: evaluate --scores on a read-only disk refused after the NLL's minutes): a byte
    written in the nearest folder that exists, and removed (a read-only or full disk, no permission)."""
    path = Path(path).expanduser()
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    if not folder.is_dir():  # (a file in the way: said by its writer, in its own words)
        return
    probe = temporary_beside(folder / path.name)
    try:
        with open(probe, "xb") as f:
            f.write(b"\0")
    except OSError as err:
        raise naming(err, path, probe) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)


def temporary_beside(path: Path) -> Path:
    """A new temporary's path beside `path` (is_temporary's form), its name cut where the whole would pass 255 bytes,
    most file systems' limit (a files hunt: a 245-character name, itself allowed, was "File name too long")."""
    name, mark = path.name, f".{secrets.token_hex(4)}.tmp"
    while len(os.fsencode(f".{name}{mark}")) > 255 and len(name) > 1:
        name = name[:-1]
    return path.with_name(f".{name}{mark}")


def is_temporary(name: str) -> bool:
    """Whether a file's `name` is one of atomic_write_bytes' temporaries, left by a kill in the middle of a write."""
    return re.fullmatch(r"\..+\.[0-9a-f]{8}\.tmp", name) is not None
