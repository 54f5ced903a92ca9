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
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from .. import __version__

CACHE_PREFIX = "_cache/assets"


def cache_key(sha256: str, kind: str, quality: str, color_space: str, ext: str) -> str:
    return f"{__version__}/{sha256[:2]}/{sha256}-{kind}-{quality}-{color_space}{ext}"


class AssetCache(Protocol):
    async def get(self, key: str, dest: Path) -> bool:
        """Copy the cached object to ``dest``; False on a miss."""

    async def put(self, key: str, src: Path) -> None:
        """Store ``src`` under ``key`` (best effort: a failure only costs a future miss)."""


class DiskCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    async def get(self, key: str, dest: Path) -> bool:
        return await asyncio.to_thread(self._get, self.root / key, dest)

    @staticmethod
    def _get(path: Path, dest: Path) -> bool:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        except FileNotFoundError:
            return False
        os.utime(path)  # recently used: evicted last
        return True

    async def put(self, key: str, src: Path) -> None:
        await asyncio.to_thread(self._put, self.root / key, src)

    def _put(self, path: Path, src: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        os.close(fd)
        shutil.copyfile(src, tmp)
        os.replace(tmp, path)
        self._evict()

    def _evict(self) -> None:
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.rglob("*")
                 if p.is_file() and not p.name.startswith(".")]
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda f: (f[0], str(f[2]))):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


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


def open_cache(settings: Any, storage: Any) -> AssetCache:
    """The fleet-shared cache in the S3 bucket when bundles go to S3, else a local folder
    (``ASSET_CACHE_DIR``, default ``EXPORTS_DIR/_cache``)."""
    from ..storage.s3 import S3Storage

    if isinstance(storage, S3Storage):
        return S3Cache(storage.client, storage.bucket, storage.prefix)
    root = settings.asset_cache_dir or settings.exports_dir / "_cache"
    return DiskCache(root, settings.asset_cache_max_bytes)
