"""Digests of the project's own files, remembered between jobs while the files are unchanged.

A relative asset is hashed where it lies (under ``PROJECTS_DIR``), and its SHA-256 is part of
the bundle's key, so every export hashes every source: 650 MiB for the benchmark project,
most of the time of a re-export whose bundle is already stored. A worker remembers each
file's digest against what ``stat`` says of it: device, inode, size, and modification and
change times to the nanosecond. Writing to a file sets its change time (which no program
can set back) and replacing it gives a new inode, so a changed file is hashed again.

As git's index does against "racy" writes, a digest is remembered only if the file was last
changed ``stable_after`` seconds or more before it was read, and ``stat`` says the same after
the read as before: a write in the same clock tick as the read cannot go unnoticed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from ..files import sha256_file

Signature = tuple[str, int, int, int, int, int]


class SourceDigests:
    def __init__(self, max_entries: int = 100_000, stable_after: float = 2.0) -> None:
        self.max_entries = max_entries
        self.stable_after_ns = int(stable_after * 1e9)
        self._known: OrderedDict[Signature, str] = OrderedDict()
        self._lock = threading.Lock()  # called from I/O threads

    def digest(self, path: Path) -> tuple[str, int]:
        """(SHA-256, size) of ``path``, from memory when the file is unchanged. Blocking."""
        before = _signature(path)
        with self._lock:
            known = self._known.get(before)
            if known is not None:
                self._known.move_to_end(before)
                return known, before[3]
        started = time.time_ns()
        digest, size = sha256_file(path)
        if _signature(path) == before and started - max(before[4:]) >= self.stable_after_ns:
            with self._lock:
                self._known[before] = digest
                if len(self._known) > self.max_entries:
                    self._known.popitem(last=False)
        return digest, size


def _signature(path: Path) -> Signature:
    st = os.stat(path)
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
