"""A job's staging folder (``<root>/pacai-<project>-XXXX/``): created with an owner lock,
removed when the job ends, and swept when its owner died before removing it.

The owner holds an exclusive ``flock`` on ``.owner`` inside the folder for the job's whole
life. The kernel drops the lock when the owning process dies, however it dies (SIGKILL, the
OOM killer), so a sweeper that can take the lock knows nobody is working there. Pool
processes never inherit the lock's descriptor (they come from the forkserver), so a pool
process that outlives its job does not keep a folder alive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

from .errors import StorageError

PREFIX = "pacai-"
OWNER = ".owner"
# A folder younger than this is left alone even without a lock: its owner may be between
# creating it and locking it.
SWEEP_GRACE_S = 60.0


@dataclasses.dataclass
class WorkDir:
    path: Path
    _lock: int

    def remove(self) -> None:
        """Delete the folder, then give up the lock (blocking I/O: run it in a thread)."""
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)


def create(root: Path | None, project_id: str) -> WorkDir:
    """A new locked folder under ``root`` (the system's temp folder when None)."""
    try:
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{project_id}-", dir=root))
        lock = os.open(path / OWNER, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
    except OSError as exc:
        # Named by setting, not by path: the message reaches the job's failedReason.
        where = "the system's temp folder" if root is None else f"EXPORTS_DIR/{root.name}"
        raise StorageError(f"could not create a work folder in {where}: "
                           f"{exc.strerror or type(exc).__name__}") from exc
    return WorkDir(path, lock)


def sweep(root: Path, grace_s: float = SWEEP_GRACE_S, now: float | None = None) -> list[str]:
    """Remove the folders under ``root`` whose owner is gone; return their names."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < grace_s:
                continue
            if _remove_if_unowned(Path(entry.path)):
                removed.append(entry.name)
        except OSError:  # removed by its owner or another sweeper meanwhile
            continue
    return removed


def _remove_if_unowned(path: Path) -> bool:
    try:
        lock = os.open(path / OWNER, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:  # never locked, or re-created after its owner removed it
        shutil.rmtree(path, ignore_errors=True)
        return True
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live job owns it
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        with contextlib.suppress(OSError):
            os.close(lock)
