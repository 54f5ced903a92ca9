"""The worker end to end with S3 storage: a real worker process, a real S3 API server."""

from __future__ import annotations

import hashlib
from typing import Any

from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.helpers import S3_ENV, finished, job_data, s3_client


async def test_worker_stores_in_s3_and_reuses(settings: Settings, start_worker: Any,
                                              client: ExportClient, s3_endpoint: str,
                                              bucket: str) -> None:
    start_worker(settings, STORAGE_URL=f"s3://{bucket}/exports", S3_ENDPOINT_URL=s3_endpoint,
                 EXPORT_BUCKET_URL="https://cdn.example.test/exports", **S3_ENV)
    first = await finished(client, await client.enqueue(job_data("s3-arena")))
    assert first["state"] == "completed", first
    result = first["result"]
    assert result["download_url"] == f"https://cdn.example.test/exports/{result['key']}"
    obj = s3_client(s3_endpoint).get_object(Bucket=bucket, Key=f"exports/{result['key']}")
    data = obj["Body"].read()
    assert hashlib.sha256(data).hexdigest() == result["sha256"]
    assert len(data) == result["bytes"]
    assert obj["ContentType"] == "application/zip"
    again = await finished(client, await client.enqueue(job_data("s3-arena")))
    assert again["result"]["reused"] is True
    assert (again["result"]["sha256"], again["result"]["files"]) == (result["sha256"],
                                                                     result["files"])
