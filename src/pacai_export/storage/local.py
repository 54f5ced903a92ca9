"""Local-disk storage: ``EXPORTS_DIR/<key>``, written by temp file + fsync + rename."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import StorageError
from ..files import sha256_file
from .base import StoredObject

SIDECAR = ".meta.json"  # beside each bundle: its hash and entry count, for cheap reuse


class LocalStorage:
    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        # Jobs stage their files here, on the storage's file system, so a finished bundle is
        # renamed into place rather than copied.
        self.work_root = root / "_work"

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("..", ".", "") for p in parts):
            raise ValueError(f"storage key {key!r} is not a relative path")
        return self.root.joinpath(*parts)

    async def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(_read_stored, key, path)
        except FileNotFoundError:
            return None
        except (OSError, zipfile.BadZipFile) as exc:
            raise StorageError(f"could not check {key!r} under {self.root}: {exc}") from exc

    async def put_file(self, key: str, path: Path, info: StoredObject) -> StoredObject:
        target = self._path(key)
        stored = dataclasses.replace(info, key=key)
        try:
            await asyncio.to_thread(_atomic_place, path, target, _sidecar_bytes(stored))
        except OSError as exc:
            raise StorageError(f"could not store {key!r} under {self.root}: {exc}") from exc
        return stored

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    async def has(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:  # noqa: ARG002 (Storage protocol)
        """Write ``data`` under ``key`` (temp file, fsync, rename): whole or not at all."""
        try:
            await asyncio.to_thread(_atomic_write, self._path(key), data)
        except OSError as exc:
            raise StorageError(f"could not store {key!r} under {self.root}: {exc}") from exc

    def read_small(self, key: str, cap: int) -> bytes | None:
        try:
            with self._path(key).open("rb") as fh:
                return fh.read(cap + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"could not read {key!r}: {exc.strerror}") from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of ``key`` from ``start`` (blocking: the preview calls it in a
        thread)."""
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except OSError as exc:
            raise StorageError(f"could not read {key!r}: {exc.strerror}") from exc
        try:
            return os.pread(fd, length, start)
        finally:
            os.close(fd)

    async def aclose(self) -> None:
        return None


def _sidecar_bytes(info: StoredObject) -> bytes:
    return json.dumps({"bytes": info.bytes, "sha256": info.sha256, "files": info.files}).encode()


def _read_stored(key: str, path: Path) -> StoredObject:
    """A stored bundle's size, hash and entry count: from its sidecar when it matches, else
    read back from the zip itself (a bundle stored before sidecars, or a torn sidecar)."""
    size = path.stat().st_size
    try:
        meta = json.loads(path.with_name(path.name + SIDECAR).read_bytes())
        if meta.get("bytes") == size and meta.get("sha256") and meta.get("files"):
            return StoredObject(key=key, bytes=size, sha256=meta["sha256"], files=meta["files"])
    except (OSError, ValueError):
        pass
    return _describe(key, path)


def _describe(key: str, path: Path) -> StoredObject:
    """Size, hash and entry count of a stored bundle, read back from the disk."""
    with zipfile.ZipFile(path) as zf:
        files = len(zf.infolist())
    return StoredObject(key=key, bytes=path.stat().st_size, sha256=sha256_file(path)[0],
                        files=files)


def _atomic_place(source: Path, target: Path, sidecar: bytes | None) -> None:
    """Put ``source`` at ``target`` atomically, moving it when both share a file system (the
    job's file is ours to consume), copying otherwise; then its sidecar, the same way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.stat().st_dev == target.parent.stat().st_dev:
        with source.open("rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(source, 0o644)
        os.replace(source, target)
        _fsync_dir(target.parent)
    else:
        _atomic_copy(source, target)
    if sidecar is not None:
        _atomic_write(target.with_name(target.name + SIDECAR), sidecar)


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A temp file beside ``target``; when the block ends it is fsynced, renamed over the
    target and the folder fsynced. A reader (or a retry after a crash) sees either no file or
    the complete one; a block that raises leaves nothing behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _atomic_write(target: Path, data: bytes) -> None:
    with _atomic_file(target) as fh:
        fh.write(data)


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _atomic_copy(source: Path, target: Path) -> None:
    with _atomic_file(target) as dst, source.open("rb") as src:
        shutil.copyfileobj(src, dst, 1 << 20)


class FileStorage:
    """One bundle at a fixed path (the offline ``export`` command): ``DIR/<project>.zip``."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.work_root: Path | None = target.parent

    async def stat(self, key: str) -> StoredObject | None:  # noqa: ARG002 (Storage protocol)
        return None  # the offline command always builds

    async def put_file(self, key: str, path: Path, info: StoredObject) -> StoredObject:
        try:
            await asyncio.to_thread(_atomic_place, path, self.target, None)
        except OSError as exc:
            raise StorageError(f"could not write {self.target}: {exc}") from exc
        return dataclasses.replace(info, key=key)

    def url(self, key: str) -> str:  # noqa: ARG002 (Storage protocol)
        return self.target.resolve().as_uri()

    async def aclose(self) -> None:
        return None
