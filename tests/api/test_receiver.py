"""The callback receiver in-process against a real Redis: signatures (ours and the
standardwebhooks reference library's), the timestamp window, replays, recorded outcomes."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from datetime import UTC, datetime

import httpx
import pytest
import redis
from standardwebhooks.webhooks import Webhook

from pacai_export.api import create_app
from pacai_export.api.receiver import OUTCOME_TTL_S, SEEN_TTL_S
from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.api.conftest import AUTH, event_body, signed_headers

RESULT = {"status": "completed", "project_id": "cb-arena", "job_id": "77",
          "engines": ["godot"], "quality": "low", "include_assets": False,
          "download_url": "https://downloads.example.test/exports/cb-arena/0123456789abcdef/"
          "cb-arena.zip", "key": "cb-arena/0123456789abcdef/cb-arena.zip", "bytes": 10,
          "sha256": "0" * 64, "files": 3, "signed": False, "duration_ms": 5, "reused": False}


async def post_event(api: httpx.AsyncClient, secret: str, webhook_id: str, body: bytes,
                     timestamp: int | None = None) -> httpx.Response:
    return await api.post("/v5/export/callback", content=body,
                          headers=signed_headers(secret, webhook_id, body, timestamp))


async def test_signed_completed_event_is_recorded_and_served_after_the_job_is_removed(
        api: httpx.AsyncClient, api_settings: Settings, client: ExportClient,
        redis_url: str) -> None:
    job_id = (await api.post("/v5/export", json={
        "project_id": "cb-arena", "engines": ["godot"], "include_assets": False,
        "quality": "low"}, headers=AUTH)).json()["id"]
    result = {**RESULT, "job_id": job_id}
    response = await post_event(api, api_settings.callback_secret or "",
                                f"{job_id}.export.completed",
                                event_body("export.completed", result))
    assert response.status_code == 204
    assert response.content == b""
    # BullMQ still has the job: its own state wins.
    assert (await api.get(f"/v5/export/{job_id}", headers=AUTH)).json()["state"] == "waiting"
    await client.queue.remove(job_id)
    status = await api.get(f"/v5/export/{job_id}", headers=AUTH)
    assert status.status_code == 200
    assert status.json() == {"id": job_id, "state": "completed", "progress": 100,
                             "attempts_made": None, "result": result}
    r = redis.Redis.from_url(redis_url)
    key = f"bull:{api_settings.queue_name}:api:outcome:{job_id}"
    assert OUTCOME_TTL_S - 10 < r.ttl(key) <= OUTCOME_TTL_S
    seen = f"bull:{api_settings.queue_name}:api:webhook:{job_id}.export.completed"
    assert SEEN_TTL_S - 10 < r.ttl(seen) <= SEEN_TTL_S


async def test_failed_event_is_served_with_error_and_attempts(
        api: httpx.AsyncClient, api_settings: Settings) -> None:
    data = {"job_id": "gone-1", "project_id": "x", "attempts_made": 3,
            "error": {"code": "storage_error", "message": "disk full"}}
    response = await post_event(api, api_settings.callback_secret or "",
                                "gone-1.export.failed", event_body("export.failed", data))
    assert response.status_code == 204
    status = (await api.get("/v5/export/gone-1", headers=AUTH)).json()
    assert status == {"id": "gone-1", "state": "failed", "progress": 0, "attempts_made": 3,
                      "error": "disk full"}


async def test_replay_of_a_webhook_id_is_acknowledged_and_ignored(
        api: httpx.AsyncClient, api_settings: Settings) -> None:
    secret = api_settings.callback_secret or ""
    first = {**RESULT, "job_id": "r-1"}
    assert (await post_event(api, secret, "r-1.export.completed",
                             event_body("export.completed", first))).status_code == 204
    # Same webhook-id, freshly signed, different body: a replay, so nothing changes.
    changed = {**first, "bytes": 999}
    assert (await post_event(api, secret, "r-1.export.completed",
                             event_body("export.completed", changed))).status_code == 204
    status = (await api.get("/v5/export/r-1", headers=AUTH)).json()
    assert status["result"]["bytes"] == 10


@pytest.mark.parametrize("tamper", ["body", "secret", "id", "missing-header", "not-a-number"])
async def test_bad_signature_is_401_and_records_nothing(
        api: httpx.AsyncClient, api_settings: Settings, tamper: str) -> None:
    secret = api_settings.callback_secret or ""
    body = event_body("export.completed", {**RESULT, "job_id": "t-1"})
    headers = signed_headers(secret, "t-1.export.completed", body)
    if tamper == "body":
        body = body.replace(b'"bytes": 10', b'"bytes": 11')
    elif tamper == "secret":
        headers = signed_headers("another-secret", "t-1.export.completed", body)
    elif tamper == "id":
        headers["webhook-id"] = "t-2.export.completed"
    elif tamper == "missing-header":
        del headers["webhook-signature"]
    else:
        headers["webhook-timestamp"] = "soon"
    response = await api.post("/v5/export/callback", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:pacai-export:problem:bad-signature"
    assert (await api.get("/v5/export/t-1", headers=AUTH)).status_code == 404
    # A correct delivery afterwards is still accepted: the rejected one marked nothing seen.
    good = event_body("export.completed", {**RESULT, "job_id": "t-1"})
    assert (await post_event(api, secret, "t-1.export.completed", good)).status_code == 204


@pytest.mark.parametrize("offset", [-301, 301])
async def test_timestamp_outside_five_minutes_is_401(
        api: httpx.AsyncClient, api_settings: Settings, offset: int) -> None:
    body = event_body("export.completed", {**RESULT, "job_id": "old-1"})
    response = await post_event(api, api_settings.callback_secret or "",
                                "old-1.export.completed", body, int(time.time()) + offset)
    assert response.status_code == 401
    assert response.json()["detail"] == ("webhook-timestamp: outside the 5-minute window "
                                         "(stale or replayed)")


async def test_reference_library_signature_and_rotated_keys_verify(
        api_settings: Settings, api: httpx.AsyncClient) -> None:
    """A sender using the standardwebhooks library (``whsec_`` + base64 of our secret), with a
    second, unknown signature first in the header as during a key rotation."""
    secret = api_settings.callback_secret or ""
    wh = Webhook("whsec_" + base64.b64encode(secret.encode()).decode())
    body = event_body("export.completed", {**RESULT, "job_id": "lib-1"})
    now = datetime.now(UTC)
    signature = wh.sign("lib-1.export.completed", now, body.decode())
    headers = {"content-type": "application/json", "webhook-id": "lib-1.export.completed",
               "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": "v1,bm90LXRoaXMtb25l " + signature}
    response = await api.post("/v5/export/callback", content=body, headers=headers)
    assert response.status_code == 204
    assert (await api.get("/v5/export/lib-1", headers=AUTH)).json()["state"] == "completed"


async def test_whsec_secret_is_base64_decoded(api_settings: Settings) -> None:
    secret = "whsec_" + base64.b64encode(b"raw-key-bytes-0123456789").decode()
    app = create_app(dataclasses.replace(api_settings, callback_secret=secret))
    body = event_body("export.completed", {**RESULT, "job_id": "w-1"})
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        ok = await post_event(api, secret, "w-1.export.completed", body)
        # The same bytes used as a plain UTF-8 secret must not verify.
        wrong = await post_event(api, secret.removeprefix("whsec_"), "w-2.export.completed",
                                 body)
    assert (ok.status_code, wrong.status_code) == (204, 401)


async def test_verified_body_that_is_not_an_event_is_400(
        api: httpx.AsyncClient, api_settings: Settings) -> None:
    secret = api_settings.callback_secret or ""
    for webhook_id, body, detail in [
        ("b-1", b"[]", "the body must be an object with 'type' and a 'data' object"),
        ("b-2", json.dumps({"type": "export.completed", "data": {}}).encode(),
         "data.job_id: must be a non-empty string"),
        ("b-3", b"{", None),
    ]:
        response = await post_event(api, secret, webhook_id, body)
        assert response.status_code == 400, webhook_id
        if detail is not None:
            assert response.json()["detail"] == detail


async def test_unknown_event_type_is_acknowledged_not_recorded(
        api: httpx.AsyncClient, api_settings: Settings) -> None:
    body = event_body("export.started", {"job_id": "u-1"})
    response = await post_event(api, api_settings.callback_secret or "", "u-1.export.started",
                                body)
    assert response.status_code == 204
    assert (await api.get("/v5/export/u-1", headers=AUTH)).status_code == 404


async def test_receiver_without_secret_is_503(api_settings: Settings) -> None:
    app = create_app(dataclasses.replace(api_settings, callback_secret=None))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        response = await api.post("/v5/export/callback", content=b"{}",
                                  headers={"content-type": "application/json"})
    assert response.status_code == 503
    assert response.json()["detail"] == "WORKER_CALLBACK_SECRET: required to verify callbacks"
