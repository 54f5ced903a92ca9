"""Where bundles are kept. One backend per URL scheme, chosen by ``open_storage``; the S3
backend (and boto3) is imported only when ``STORAGE_URL`` selects it."""

from __future__ import annotations

from ..settings import Settings
from .base import PreviewStorage, Storage, StoredObject, preview_key
from .local import FileStorage, LocalStorage

__all__ = ["FileStorage", "LocalStorage", "PreviewStorage", "Storage", "StoredObject",
           "open_storage", "preview_key"]


def open_storage(settings: Settings) -> Storage:
    """The backend ``STORAGE_URL`` selects (local disk when unset)."""
    if settings.storage_url and settings.storage_url.startswith("s3://"):
        from .s3 import S3Options, S3Storage

        return S3Storage(settings.storage_url, S3Options(
            endpoint_url=settings.s3_endpoint_url, checksum=settings.s3_checksum,
            multipart_threshold=settings.s3_multipart_threshold,
            url_mode=settings.download_url_mode, public_base_url=settings.export_bucket_url,
            presign_expiry=settings.download_url_expiry))
    return LocalStorage(settings.exports_dir, settings.export_bucket_url)
