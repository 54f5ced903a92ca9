"""The storage contract: a small Protocol every backend implements."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol, runtime_checkable

PREVIEW_SUFFIX = ".preview.glb"


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """A stored bundle: its key, size, and (when the backend knows them) hash and entry count."""

    key: str
    bytes: int
    sha256: str | None = None
    files: int | None = None

    @property
    def complete(self) -> bool:
        """Everything a result needs is known, so the object can be reused as it is."""
        return self.sha256 is not None and self.files is not None


class Storage(Protocol):
    """Keeps bundles under content-addressed keys; writes appear whole or not at all."""

    async def stat(self, key: str) -> StoredObject | None:
        """The object under ``key`` (None when absent)."""

    async def put_file(self, key: str, path: Path, info: StoredObject) -> StoredObject:
        """Store the file at ``path`` under ``key`` atomically, with ``info``'s hash and count."""

    def url(self, key: str) -> str:
        """The download URL of ``key``."""

    async def aclose(self) -> None:
        """Release what the backend holds."""

    @property
    def work_root(self) -> Path | None:
        """Where jobs stage their files: on the backend's own file system when it has one (a
        finished bundle is then renamed into place), None for the system's temp folder."""


def preview_key(key: str) -> str:
    """Where a bundle's preview scene is kept: beside it, ``<key without .zip>.preview.glb``."""
    return key.removesuffix(".zip") + PREVIEW_SUFFIX


@runtime_checkable
class PreviewStorage(Protocol):
    """A backend that also keeps a small file beside each bundle: its preview scene."""

    async def has(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` atomically."""

    def read_small(self, key: str, cap: int) -> bytes | None:
        """Up to ``cap + 1`` bytes of ``key`` (None when absent; blocking: call in a thread),
        so a caller sees an object over its cap without reading it whole."""
