"""The storage contract: a small Protocol every backend implements."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class StoredObject:
    key: str
    bytes: int


class Storage(Protocol):
    """Keeps bundles under content-addressed keys; writes appear whole or not at all."""

    async def exists(self, key: str) -> StoredObject | None:
        """The stored object under ``key``, or None."""

    async def put_file(self, key: str, path: Path) -> StoredObject:
        """Store the file at ``path`` under ``key`` atomically."""

    async def local_copy(self, key: str) -> Path | None:
        """A readable local path of the object when the backend has one (local disk)."""

    def url(self, key: str) -> str:
        """The download URL of ``key``."""

    async def aclose(self) -> None:
        """Release what the backend holds."""
