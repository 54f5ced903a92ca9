"""Where bundles are kept. One backend per URL scheme, chosen by ``open_storage``; the S3
backend (and boto3) is imported only when ``STORAGE_URL`` selects it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..settings import Settings
from .base import PreviewStorage, Storage, StoredObject, preview_key
from .local import FileStorage, LocalStorage

if TYPE_CHECKING:
    from .s3 import S3Storage

__all__ = ["FileStorage", "LocalStorage", "PreviewStorage", "Storage", "StoredObject",
           "open_s3", "open_storage", "preview_key"]


def open_storage(settings: Settings) -> Storage:
    """The backend ``STORAGE_URL`` selects (local disk when unset)."""
    s3 = open_s3(settings)
    return s3 if s3 is not None else LocalStorage(settings.exports_dir, settings.export_bucket_url)


def open_s3(settings: Settings) -> S3Storage | None:
    """The S3 backend when ``STORAGE_URL`` is an ``s3://`` URL, else None."""
    if not (settings.storage_url and settings.storage_url.startswith("s3://")):
        return None
    from .s3 import S3Options, S3Storage

    return S3Storage(settings.storage_url, S3Options(
        endpoint_url=settings.s3_endpoint_url, checksum=settings.s3_checksum,
        multipart_threshold=settings.s3_multipart_threshold,
        url_mode=settings.download_url_mode, public_base_url=settings.export_bucket_url,
        presign_expiry=settings.download_url_expiry))
