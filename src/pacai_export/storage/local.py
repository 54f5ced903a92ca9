"""Local-disk storage: ``EXPORTS_DIR/<key>``, written by temp file + fsync + rename."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from ..bundle import sha256_file
from ..errors import StorageError
from .base import StoredObject


class LocalStorage:
    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("..", ".", "") for p in parts):
            raise ValueError(f"storage key {key!r} is not a relative path")
        return self.root.joinpath(*parts)

    async def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(_describe, key, path)
        except FileNotFoundError:
            return None
        except (OSError, zipfile.BadZipFile) as exc:
            raise StorageError(f"could not check {key!r} under {self.root}: {exc}") from exc

    async def put_file(self, key: str, path: Path, info: StoredObject) -> StoredObject:
        target = self._path(key)
        try:
            await asyncio.to_thread(_atomic_copy, path, target)
        except OSError as exc:
            raise StorageError(f"could not store {key!r} under {self.root}: {exc}") from exc
        return dataclasses.replace(info, key=key)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    async def aclose(self) -> None:
        return None


def _describe(key: str, path: Path) -> StoredObject:
    """Size, hash and entry count of a stored bundle, read back from the disk."""
    with zipfile.ZipFile(path) as zf:
        files = len(zf.infolist())
    return StoredObject(key=key, bytes=path.stat().st_size, sha256=sha256_file(path),
                        files=files)


def _atomic_copy(source: Path, target: Path) -> None:
    """Copy to a temp file beside the target, fsync it, rename over, fsync the folder.

    A reader (or a retry after a crash) sees either no file or the complete one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as dst, source.open("rb") as src:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FileStorage:
    """One bundle at a fixed path (the offline ``export`` command): ``DIR/<project>.zip``."""

    def __init__(self, target: Path) -> None:
        self.target = target

    async def stat(self, key: str) -> StoredObject | None:
        return None  # the offline command always builds

    async def put_file(self, key: str, path: Path, info: StoredObject) -> StoredObject:
        try:
            await asyncio.to_thread(_atomic_copy, path, self.target)
        except OSError as exc:
            raise StorageError(f"could not write {self.target}: {exc}") from exc
        return dataclasses.replace(info, key=key)

    def url(self, key: str) -> str:
        return self.target.resolve().as_uri()

    async def aclose(self) -> None:
        return None
