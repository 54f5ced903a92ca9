"""Hostile requests and jobs against the service side, end to end against real processes:
the API (``pacai-export api``), workers (``pacai-export worker``), Redis, a webhook receiver.

Each case ends with the documented status or error code and message, and the service still
serving the next request or job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pacai_export.callbacks import sign, signing_key
from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.api.conftest import AUTH, ApiProcess
from tests.conftest import Receiver, job_data
from tests.integration.test_end_to_end import finished, verified, with_callbacks

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"


def small_job(project_id: str = "cat-arena") -> dict[str, Any]:
    return job_data(project_id, engines=["godot"], include_assets=False)


@contextlib.contextmanager
def deep_json_allowed() -> Iterator[None]:
    """The producer side may encode what our decoder refuses (Node's JSON.stringify does)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


# --- 6: the Idempotency-Key race ---------------------------------------------------------------


async def _pair(http: httpx.AsyncClient, key: str, bodies: list[dict[str, Any]]
                ) -> list[httpx.Response]:
    headers = {**AUTH, "idempotency-key": key}
    return list(await asyncio.gather(*(http.post("/v5/export", json=b, headers=headers)
                                       for b in bodies)))


async def test_concurrent_posts_with_one_key_make_one_job_and_a_different_body_is_422(
        api_settings: Settings, start_api: Any, client: ExportClient) -> None:
    api: ApiProcess = start_api(api_settings)
    limits = httpx.Limits(max_connections=80)
    async with httpx.AsyncClient(base_url=api.base, timeout=30, limits=limits) as http:
        pairs = await asyncio.gather(*(
            _pair(http, f"race-{i}", [small_job(f"race-a-{i}"), small_job(f"race-b-{i}")])
            for i in range(20)))
        same = await asyncio.gather(*(
            _pair(http, f"same-{i}", [small_job(f"same-{i}")] * 2) for i in range(10)))
    for i, responses in enumerate(pairs):
        assert sorted(r.status_code for r in responses) == [202, 422], i
        won = next(r for r, b in zip(responses, ("a", "b"), strict=True) if r.status_code == 202)
        winner = "a" if responses[0] is won else "b"
        lost = next(r for r in responses if r.status_code == 422)
        assert lost.headers["content-type"] == PROBLEM
        assert lost.json()["type"] == "urn:pacai-export:problem:idempotency-key-reused"
        assert lost.json()["detail"] == (f"Idempotency-Key: job idem-race-{i} was enqueued "
                                         "with different data")
        job = await client.queue.getJob(f"idem-race-{i}")
        assert job.data["project_id"] == f"race-{winner}-{i}"
    for i, responses in enumerate(same):
        assert [r.status_code for r in responses] == [202, 202], i
        assert {r.json()["id"] for r in responses} == {f"idem-same-{i}"}
        assert sorted(r.headers.get("idempotent-replayed", "") for r in responses) == [
            "", "true"]
    counts = await client.queue.getJobCounts("waiting")
    assert counts == {"waiting": 30}


# --- 7: a poison job -------------------------------------------------------------------------


async def test_job_data_nested_3000_deep_fails_once_with_its_callback_and_nothing_answers_500(
        api_settings: Settings, receiver: Receiver, start_api: Any, start_worker: Any,
        client: ExportClient) -> None:
    poison = {**small_job("deep"), "manifest": {"deep": nested(3000)}}
    with deep_json_allowed():
        added = await client.queue.add("export", poison, {"attempts": 3, "backoff": 100})
    poison_id = str(added.id)
    good_id = await client.enqueue(small_job("after-deep"))
    api: ApiProcess = start_api(api_settings)
    with api.client() as http:  # queued, no worker yet: every view still answers
        status = http.get(f"/v5/export/{poison_id}")
        assert (status.status_code, status.json()["state"]) == (200, "waiting")
        listing = http.get("/dashboard/api/jobs")
        assert listing.status_code == 200
        assert {j["id"] for j in listing.json()["jobs"]} == {poison_id, good_id}
        assert http.get(f"/dashboard/api/jobs/{poison_id}").status_code == 200
        assert http.get("/dashboard").status_code == 200
        assert http.get(f"/dashboard/jobs/{poison_id}").status_code == 200
    start_worker(with_callbacks(api_settings, receiver))
    reason = "data: cannot be decoded: JSON nested deeper than the decoder allows"
    failed = await finished(client, poison_id)
    assert (failed["state"], failed["attempts_made"], failed["error"]) == ("failed", 1, reason)
    assert (await finished(client, good_id))["state"] == "completed"
    events = [verified(receiver, d) for d in receiver.wait_for(2)]
    by_type = {(e["type"], e["data"]["job_id"]): e for e in events}
    failure = by_type[("export.failed", poison_id)]["data"]
    assert failure["error"] == {"code": "invalid_job", "message": reason}
    assert failure["attempts_made"] == 1
    assert ("export.completed", good_id) in by_type
    with api.client() as http:
        status = http.get(f"/v5/export/{poison_id}")
    assert (status.status_code, status.json()["error"]) == (200, reason)


# --- 14: ids that name other Redis keys --------------------------------------------------------


@pytest.mark.parametrize(("path_id", "message"), [
    ("1:logs", "must not contain ':'"),
    ("1:events", "must not contain ':'"),
    ("1%3Aid", "must not contain ':'"),
    ("a%20b", "must not contain spaces or control characters"),
    ("a%09b", "must not contain spaces or control characters"),
    ("x" * 257, "must be 1 to 256 characters"),
])
async def test_job_ids_are_validated_and_every_error_is_problem_json(
        api_settings: Settings, start_api: Any, client: ExportClient, path_id: str,
        message: str) -> None:
    job_id = await client.enqueue(small_job("ids"))
    assert job_id == "1"
    job = await client.queue.getJob(job_id)
    await job.log("stage=accepted")  # 1:logs is a Redis list: reading it as a job hash failed
    api: ApiProcess = start_api(api_settings)
    with api.client() as http:
        for path in (f"/v5/export/{path_id}", f"/dashboard/api/jobs/{path_id}",
                     f"/dashboard/jobs/{path_id}"):
            response = http.get(path)
            assert response.status_code == 400, path
            assert response.headers["content-type"] == PROBLEM
            assert response.json() == {
                "type": "urn:pacai-export:problem:invalid-job-id", "title": "Invalid job id",
                "status": 400, "detail": f"id: {message}",
                "errors": [{"field": "id", "message": message}]}
        retry = http.post(f"/dashboard/jobs/{path_id}/retry")
        assert (retry.status_code, retry.json()["detail"]) == (400, f"id: {message}")
        assert http.get("/v5/export/1").json()["state"] == "waiting"


# --- 15: the callback receiver's timestamp ----------------------------------------------------


@pytest.mark.parametrize("stamp", ["{a}_{b}", "+{now}", "{now}.0", "-{now}", "0x{hex}"])
def test_webhook_timestamp_must_be_digits_only(api_settings: Settings, start_api: Any,
                                               stamp: str) -> None:
    now = int(time.time())
    text = stamp.format(now=now, a=str(now)[:4], b=str(now)[4:], hex=f"{now:x}")
    secret = api_settings.callback_secret or ""
    body = json.dumps({"type": "export.completed", "timestamp": "2030-01-01T00:00:00Z",
                       "data": {"job_id": "ts-1"}}).encode()
    api: ApiProcess = start_api(api_settings)
    response = httpx.post(api.base + "/v5/export/callback", content=body, timeout=10, headers={
        "content-type": "application/json", "webhook-id": "ts-1.export.completed",
        "webhook-timestamp": text,
        "webhook-signature": sign(signing_key(secret), "ts-1.export.completed", now, body)})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == (
        f"webhook-timestamp: not Unix seconds (digits only): {text!r}")
    with httpx.Client(base_url=api.base, headers=AUTH, timeout=10) as http:
        assert http.get("/v5/export/ts-1").status_code == 404  # nothing was recorded
