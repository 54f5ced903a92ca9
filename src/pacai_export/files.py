"""Files on disk that the export core passes between its stages: an asset ready to ship
(``AssetFile``), file hashing (``sha256_file``) and opening regular files only
(``open_regular``). Below the asset gatherer, the engine writers, the packer, storage and
the pipeline, which all use them.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import os
import stat
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class AssetFile:
    """An asset ready to ship: its file on disk and the file name it gets in a bundle."""

    asset_id: str
    filename: str  # sanitised, unique within the job, with the right extension
    path: Path


def sha256_file(path: Path) -> tuple[str, int]:
    """(SHA-256, size) of a regular file (``open_regular``), read into one reused buffer (no
    megabyte of garbage per chunk, which the I/O threads' malloc arenas would keep)."""
    fh = open_regular(path)
    if fh is None:
        raise OSError(errno.EINVAL, "not a regular file")
    with fh:
        return hashlib.file_digest(fh, "sha256").hexdigest(), fh.tell()


def open_regular(path: Path) -> io.BufferedReader | None:
    """``path`` opened for reading when it is a regular file, else None. Opened non-blocking
    and checked after opening: a file swapped for a FIFO after an earlier check cannot block
    the read, and a directory cannot be read at all."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return open(fd, "rb")
