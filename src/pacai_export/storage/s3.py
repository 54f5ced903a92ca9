"""S3 storage (``STORAGE_URL=s3://bucket/prefix``), for AWS and S3-compatible stores.

boto3's transfer manager streams the bundle from disk, in parts above
``S3_MULTIPART_THRESHOLD``; S3 makes an object visible only when its PUT or its multipart
upload completes, so a bundle appears whole or not at all. The bundle's SHA-256 and entry
count travel as object metadata, so a later export of the same key is answered by one
HEAD request. boto3 blocks: every call runs in a thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import StorageError
from .base import StoredObject

NOT_FOUND = ("404", "NoSuchKey", "NotFound")


@dataclasses.dataclass(frozen=True)
class S3Options:
    endpoint_url: str | None = None
    checksum: bool = True
    multipart_threshold: int = 16 * 1024 * 1024
    url_mode: str = "public"  # or "presigned"
    public_base_url: str = ""
    presign_expiry: int = 86_400


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (``bucket``, ``some/prefix/``)."""
    parts = urlsplit(url)
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3Storage:
    def __init__(self, url: str, options: S3Options, client: Any | None = None) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.options = options
        self.work_root: Path | None = None  # no local file system: stage in the temp folder
        # Some S3-compatible stores reject the checksum headers newer botocore sends by
        # default; S3_CHECKSUM=off sends checksums only where the API requires them.
        when: Literal["when_supported", "when_required"] = (
            "when_supported" if options.checksum else "when_required")
        config = Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 5},
                        request_checksum_calculation=when, response_checksum_validation=when)
        self.client = client or boto3.session.Session().client(
            "s3", endpoint_url=options.endpoint_url, config=config)
        self.transfer = TransferConfig(multipart_threshold=options.multipart_threshold,
                                       multipart_chunksize=options.multipart_threshold,
                                       max_concurrency=4)

    def _object_key(self, key: str) -> str:
        return self.prefix + key

    async def stat(self, key: str) -> StoredObject | None:
        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket,
                                           Key=self._object_key(key))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in NOT_FOUND:
                return None
            raise StorageError(f"could not check s3://{self.bucket}/{self._object_key(key)}: "
                               f"{exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not check s3://{self.bucket}/{self._object_key(key)}: "
                               f"{exc}") from exc
        meta = head.get("Metadata", {})
        files = meta.get("files")
        return StoredObject(key=key, bytes=int(head["ContentLength"]), sha256=meta.get("sha256"),
                            files=int(files) if files and files.isdigit() else None)

    async def put_file(self, key: str, path: Path, info: StoredObject) -> StoredObject:
        extra: dict[str, Any] = {
            "ContentType": "application/zip",
            "ContentDisposition": f'attachment; filename="{Path(key).name}"',
            "Metadata": {"sha256": info.sha256 or "", "files": str(info.files or 0)},
        }
        if self.options.checksum:
            extra["ChecksumAlgorithm"] = "SHA256"
        try:
            await asyncio.to_thread(self.client.upload_file, str(path), self.bucket,
                                    self._object_key(key), ExtraArgs=extra, Config=self.transfer)
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise StorageError(f"could not store s3://{self.bucket}/{self._object_key(key)}: "
                               f"{exc}") from exc
        return dataclasses.replace(info, key=key)

    def url(self, key: str) -> str:
        if self.options.url_mode == "presigned":
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._object_key(key)},
                ExpiresIn=self.options.presign_expiry)
            return url
        return f"{self.options.public_base_url}/{key}"

    async def has(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """One PUT: S3 shows the object only once the PUT completes."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object_key(key),
                                "Body": data, "ContentType": content_type}
        if self.options.checksum:
            args["ChecksumAlgorithm"] = "SHA256"
        try:
            await asyncio.to_thread(lambda: self.client.put_object(**args))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not store s3://{self.bucket}/{self._object_key(key)}: "
                               f"{exc}") from exc

    def read_small(self, key: str, cap: int) -> bytes | None:
        try:
            return self.read_range(key, 0, cap + 1)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and str(
                    cause.response.get("Error", {}).get("Code")) in NOT_FOUND:
                return None
            raise

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of ``key`` from ``start``, one ranged GET (blocking: the preview
        calls it in a thread)."""
        where = f"s3://{self.bucket}/{self._object_key(key)}"
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key),
                                              Range=f"bytes={start}-{start + length - 1}")
            body = response["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read {where}: {exc}") from exc
        return data

    async def aclose(self) -> None:
        self.client.close()
