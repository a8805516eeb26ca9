"""Fetch missing files with published checksums (pooch); offline, say exactly what to put where."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataNotFoundError


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    known_hash: str  # "md5:..." or "sha256:...", as published by the data set's authors


def ensure_files(folder: Path, files: Sequence[RemoteFile], *, dataset: str) -> list[Path]:
    """Paths of `files` in `folder`, downloading (and verifying) the missing ones."""
    missing = [f for f in files if not (folder / f.name).is_file()]
    if missing:
        existed = folder.exists()
        try:
            import pooch

            logger = pooch.get_logger()
            speaks, level = logger.getEffectiveLevel() <= logging.INFO, logger.level  # (the CLI's --quiet: WARNING)
            logger.setLevel(logging.WARNING)  # its "Downloading data from ..." comes before it knows: offline, one line
            try:
                for f in missing:  # a bar on a terminal (once bytes come), not in a log; a line when each is here
                    path = pooch.retrieve(f.url, known_hash=f.known_hash, fname=f.name, path=folder,
                                          progressbar=speaks and sys.stderr.isatty())
                    if speaks:
                        print(f"{dataset}: downloaded {f.url} ({Path(path).stat().st_size / 1e6:.1f} MB, checksum "
                              f"verified) into {folder}", file=sys.stderr, flush=True)
            finally:
                logger.setLevel(level)
        except Exception as err:  # no network, a mirror down, a checksum mismatch: one clear line
            if not existed and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # leave the data directory as it was
            names = ", ".join(f.name for f in missing)
            base = missing[0].url.rsplit("/", 1)[0]
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            if len(reason) > 120:  # a proxy or socket error repeats the URL and more: keep the start
                reason = reason[:120].rsplit(" ", 1)[0] + " ..."
            here = next((p for p in (folder, *folder.parents) if p.exists()), folder)
            advice = (f"put the files from {base}/ there, or set AEKIT_DATA_DIR to a folder holding {folder.name}/"
                      if os.access(here, os.W_OK) else f"set AEKIT_DATA_DIR to a folder you may write ({here} cannot "
                      f"be written), or have the files from {base}/ put in {folder}")  # (a non-root hunt: advised first)
            missed = DataNotFoundError(f"{dataset}: missing {names} in {folder} and the download failed ({reason}); {advice}")
            missed.reason = reason  # (for a caller's own line: cifar's archive said "could not be downloaded" alone)
            raise missed from None
    return [folder / f.name for f in files]
