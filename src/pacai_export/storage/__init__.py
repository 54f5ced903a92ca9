"""Where bundles are kept. One backend per URL scheme, chosen by ``open_storage``."""

from __future__ import annotations

from ..settings import Settings
from .base import Storage, StoredObject
from .local import FileStorage, LocalStorage

__all__ = ["FileStorage", "LocalStorage", "Storage", "StoredObject", "open_storage"]


def open_storage(settings: Settings) -> Storage:
    """The backend ``STORAGE_URL`` selects (local disk when unset)."""
    return LocalStorage(settings.exports_dir, settings.export_bucket_url)
