"""The processed-asset cache, shared across jobs (and, on S3, across the fleet).

A processed asset is keyed by what decides its bytes: the source's SHA-256, the processing
parameters (kind, quality tier, colour space) and the exporter version. A hit skips the
processing; a re-export with one changed texture reprocesses only that texture.

Two backends: ``DiskCache`` (a folder, bounded by ``ASSET_CACHE_MAX_BYTES``, least recently
used evicted first) and ``S3Cache`` (the storage bucket under ``_cache/``, bounded by a
bucket lifecycle rule; docs/operations.md). Blocking I/O runs in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import __version__

if TYPE_CHECKING:
    from ..settings import Settings
    from ..storage.s3 import S3Storage

CACHE_PREFIX = "_cache/assets"


def cache_key(sha256: str, kind: str, quality: str, color_space: str, ext: str) -> str:
    return f"{__version__}/{sha256[:2]}/{sha256}-{kind}-{quality}-{color_space}{ext}"


class AssetCache(Protocol):
    async def get(self, key: str, dest: Path) -> bool:
        """Copy the cached object to ``dest``; False on a miss."""

    async def put(self, key: str, src: Path) -> None:
        """Store ``src`` under ``key`` (best effort: a failure only costs a future miss)."""


class DiskCache:
    """Processed assets in a folder, bounded in bytes, least recently used evicted first.

    Entries are immutable and shared by hard link: a hit links the entry into the job's
    folder and a put links the job's file into the cache, so neither copies a byte when both
    sit on one file system (a copy otherwise). Replacing an entry renames a new file over it
    and eviction unlinks a name, so a job holding a link keeps its bytes either way.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes: int | None = None  # this process's running estimate; a scan corrects it

    async def get(self, key: str, dest: Path) -> bool:
        return await asyncio.to_thread(self._get, self.root / key, dest)

    @staticmethod
    def _get(path: Path, dest: Path) -> bool:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(path, dest)
        except FileNotFoundError:
            return False
        with contextlib.suppress(FileNotFoundError):  # evicted meanwhile: the link holds
            os.utime(path)  # recently used: evicted last
        return True

    async def put(self, key: str, src: Path) -> None:
        await asyncio.to_thread(self._put, self.root / key, src)

    def _put(self, path: Path, src: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            _link_or_copy(src, tmp)
            os.utime(tmp)  # a link shares the source's times: mark the entry as new
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        with self._lock:
            if self._bytes is None:
                self._bytes = self._total()
            else:
                self._bytes += path.stat().st_size
            if self._bytes > self.max_bytes:
                self._bytes = self._evict()

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last used, size, path) of every entry; dot-files are puts in progress."""
        found = []
        for path in self.root.rglob("*"):
            if not path.name.startswith(".") and path.is_file():
                st = path.stat()
                found.append((st.st_mtime, st.st_size, path))
        return found

    def _total(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def _evict(self) -> int:
        """Unlink least recently used entries until the folder fits; its size after."""
        files = self._entries()
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda f: (f[0], str(f[2]))):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
        return total


def _link_or_copy(src: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    try:
        os.link(src, dest)
    except FileNotFoundError:
        raise
    except OSError:  # another file system, or links not supported: copy
        shutil.copyfile(src, dest)


class S3Cache:
    """The cache in the storage bucket, shared by every worker of the fleet."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}{CACHE_PREFIX}/"

    async def get(self, key: str, dest: Path) -> bool:
        from botocore.exceptions import ClientError

        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            await asyncio.to_thread(self.client.download_file, self.bucket, self.prefix + key,
                                    str(dest))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey"):
                return False
            raise
        return True

    async def put(self, key: str, src: Path) -> None:
        await asyncio.to_thread(self.client.upload_file, str(src), self.bucket,
                                self.prefix + key)


def open_cache(settings: Settings, s3: S3Storage | None) -> AssetCache:
    """The fleet-shared cache in the S3 bucket when bundles go to S3 (``s3``), else a local
    folder (``ASSET_CACHE_DIR``, default ``EXPORTS_DIR/_cache``)."""
    if s3 is not None:
        return S3Cache(s3.client, s3.bucket, s3.prefix)
    root = settings.asset_cache_dir or settings.exports_dir / "_cache"
    return DiskCache(root, settings.asset_cache_max_bytes)
