"""One contract, run against every storage backend: local disk and S3 (a real S3 API server
on loopback)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from pacai_export.errors import StorageError
from pacai_export.storage import LocalStorage, Storage, StoredObject
from pacai_export.storage.s3 import S3Options, S3Storage
from tests.helpers import s3_client

KEY = "proj/0123456789abcdef/proj.zip"


def make_zip(path: Path, payload_bytes: int = 1000) -> StoredObject:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", "a")
        zf.writestr("big.bin", (bytes(range(256)) * (payload_bytes // 256 + 1))[:payload_bytes])
    data = path.read_bytes()
    return StoredObject(key="", bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), files=2)


class StorageContract:
    """What every backend promises. Subclasses provide ``storage`` and ``read``."""

    def read(self, key: str) -> bytes:
        raise NotImplementedError

    async def test_absent_key(self, storage: Storage) -> None:
        assert await storage.stat(KEY) is None

    async def test_put_then_stat(self, storage: Storage, tmp_path: Path) -> None:
        info = make_zip(tmp_path / "b.zip")
        data = (tmp_path / "b.zip").read_bytes()
        stored = await storage.put_file(KEY, tmp_path / "b.zip", info)
        assert stored == StoredObject(key=KEY, bytes=info.bytes, sha256=info.sha256, files=2)
        assert await storage.stat(KEY) == stored
        assert self.read(KEY) == data

    async def test_large_file_streams(self, storage: Storage, tmp_path: Path) -> None:
        info = make_zip(tmp_path / "big.zip", 12 * 1024 * 1024)
        await storage.put_file(KEY, tmp_path / "big.zip", info)
        assert hashlib.sha256(self.read(KEY)).hexdigest() == info.sha256

    async def test_url_ends_with_the_key(self, storage: Storage) -> None:
        assert storage.url(KEY).split("?")[0].endswith("/" + KEY)


class TestLocal(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LocalStorage:
        self.root = tmp_path / "exports"
        return LocalStorage(self.root, "https://cdn.example.test/exports")

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


class TestS3(StorageContract):
    @pytest.fixture
    def storage(self, s3_endpoint: str, bucket: str) -> S3Storage:
        self.client = s3_client(s3_endpoint)
        self.bucket = bucket
        return S3Storage(f"s3://{bucket}/exports", S3Options(
            endpoint_url=s3_endpoint, multipart_threshold=5 * 1024 * 1024,
            public_base_url="https://cdn.example.test/exports"))

    def read(self, key: str) -> bytes:
        obj = self.client.get_object(Bucket=self.bucket, Key=f"exports/{key}")
        body: bytes = obj["Body"].read()
        return body

    async def test_object_headers_and_checksum(self, storage: S3Storage, tmp_path: Path) -> None:
        info = make_zip(tmp_path / "b.zip")
        await storage.put_file(KEY, tmp_path / "b.zip", info)
        head = self.client.head_object(Bucket=self.bucket, Key=f"exports/{KEY}",
                                       ChecksumMode="ENABLED")
        assert head["ContentType"] == "application/zip"
        assert head["ContentDisposition"] == 'attachment; filename="proj.zip"'
        assert head["Metadata"] == {"sha256": info.sha256, "files": "2"}
        assert "ChecksumSHA256" in head

    async def test_multipart_above_the_threshold(self, storage: S3Storage,
                                                 tmp_path: Path) -> None:
        info = make_zip(tmp_path / "big.zip", 12 * 1024 * 1024)
        await storage.put_file(KEY, tmp_path / "big.zip", info)
        head = self.client.head_object(Bucket=self.bucket, Key=f"exports/{KEY}")
        assert head["ETag"].strip('"').endswith("-3")  # three parts of 5 MiB or less

    async def test_checksum_off_still_stores(self, s3_endpoint: str, bucket: str,
                                             tmp_path: Path) -> None:
        storage = S3Storage(f"s3://{bucket}", S3Options(endpoint_url=s3_endpoint,
                                                        checksum=False, public_base_url="x"))
        info = make_zip(tmp_path / "b.zip")
        await storage.put_file(KEY, tmp_path / "b.zip", info)
        head = s3_client(s3_endpoint).head_object(Bucket=bucket, Key=KEY, ChecksumMode="ENABLED")
        assert "ChecksumSHA256" not in head
        assert head["Metadata"]["sha256"] == info.sha256

    async def test_presigned_url_downloads_the_bundle(self, s3_endpoint: str, bucket: str,
                                                      tmp_path: Path) -> None:
        storage = S3Storage(f"s3://{bucket}/p", S3Options(
            endpoint_url=s3_endpoint, url_mode="presigned", presign_expiry=600))
        info = make_zip(tmp_path / "b.zip")
        await storage.put_file(KEY, tmp_path / "b.zip", info)
        url = storage.url(KEY)
        assert "X-Amz-Expires=600" in url and "X-Amz-Signature=" in url
        response = httpx.get(url)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == info.sha256

    async def test_missing_bucket_is_a_storage_error(self, s3_endpoint: str,
                                                     tmp_path: Path) -> None:
        storage = S3Storage("s3://no-such-bucket-here", S3Options(endpoint_url=s3_endpoint,
                                                                  public_base_url="x"))
        with pytest.raises(StorageError, match=r"^could not store s3://no-such-bucket-here/k\.zip: "
                           r".*NoSuchBucket"):
            await storage.put_file("k.zip", tmp_path / "b.zip", make_zip(tmp_path / "b.zip"))


def test_fixture_sanity(s3_endpoint: Any) -> None:
    assert s3_endpoint.startswith("http://127.0.0.1:")
