"""Files on disk that the export core passes between its stages: an asset ready to ship
(``AssetFile``) and file hashing (``sha256_file``). Below the asset gatherer, the engine
writers, the packer and storage, which all use them.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
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
    """(SHA-256, size) of a regular file, read into one reused buffer (no megabyte of garbage
    per chunk, which the I/O threads' malloc arenas would keep). Opened non-blocking and
    checked after opening: a file swapped for a FIFO after an earlier check cannot block the
    read, and a directory cannot be read at all."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return hashlib.file_digest(fh, "sha256").hexdigest(), fh.tell()
