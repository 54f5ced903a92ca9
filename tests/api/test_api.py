"""The HTTP API in-process (httpx ASGI transport) against a real Redis: auth, validation as
problem JSON, idempotency, the body limit, CORS, status, the OpenAPI document."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from typing import Any

import httpx
import pytest

from pacai_export.api import create_app
from pacai_export.api.app import idempotent_job_id
from pacai_export.api.problems import Problem, token_matches
from pacai_export.client import ExportClient
from pacai_export.jobs import PROJECT_ID_RE
from pacai_export.queues import DEFAULT_JOB_OPTIONS
from pacai_export.settings import Settings
from tests.api.conftest import AUTH, OTHER_TOKEN, TOKEN
from tests.helpers import VENV_BIN, job_data, settings_env

PROBLEM = "application/problem+json"


def small_job(project_id: str = "api-arena") -> dict[str, Any]:
    return {"project_id": project_id, "engines": ["godot"], "include_assets": False,
            "quality": "low"}


async def test_enqueue_returns_202_with_id_status_url_and_location(
        api: httpx.AsyncClient, client: ExportClient) -> None:
    response = await api.post("/v5/export", json=job_data("api-arena"), headers=AUTH)
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "status_url"}
    assert body["status_url"] == f"http://testserver/v5/export/{body['id']}"
    assert response.headers["location"] == body["status_url"]
    job = await client.queue.getJob(body["id"])
    assert job.name == "export"
    assert job.data == job_data("api-arena")
    for option in ("attempts", "backoff", "removeOnComplete", "removeOnFail"):
        assert job.opts[option] == DEFAULT_JOB_OPTIONS[option]


async def test_status_of_a_waiting_job_and_404_for_unknown(api: httpx.AsyncClient) -> None:
    job_id = (await api.post("/v5/export", json=small_job(), headers=AUTH)).json()["id"]
    status = await api.get(f"/v5/export/{job_id}", headers=AUTH)
    assert status.status_code == 200
    assert status.json() == {"id": job_id, "state": "waiting", "progress": 0,
                             "attempts_made": 0}
    missing = await api.get("/v5/export/no-such-job", headers=AUTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json() == {"type": "urn:pacai-export:problem:job-not-found",
                              "title": "Job not found", "status": 404, "errors": [],
                              "detail": f"no job 'no-such-job' in queue "
                              f"{api_queue(api)}"}


def api_queue(api: httpx.AsyncClient) -> str:
    transport = api._transport
    assert isinstance(transport, httpx.ASGITransport)
    settings: Settings = transport.app.state.ctx.settings  # type: ignore[attr-defined]
    return settings.queue_name


@pytest.mark.parametrize("headers", [
    {}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"},
    {"authorization": "Bearer"}, {"authorization": f"Bearer {TOKEN}x"},
])
async def test_missing_or_wrong_token_is_401_problem(api: httpx.AsyncClient,
                                                     headers: dict[str, str]) -> None:
    for response in (await api.post("/v5/export", json=small_job(), headers=headers),
                     await api.get("/v5/export/1", headers=headers)):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"] == 'Bearer realm="pacai-export"'
        assert response.json()["type"] == "urn:pacai-export:problem:unauthorized"


async def test_every_configured_token_is_accepted(api: httpx.AsyncClient) -> None:
    for token in (TOKEN, OTHER_TOKEN):
        response = await api.post("/v5/export", json=small_job(),
                                   headers={"authorization": f"bearer {token}"})
        assert response.status_code == 202


def test_token_comparison() -> None:
    assert token_matches("a", ("b", "a"))
    assert not token_matches("a", ())
    assert not token_matches(None, ("a",))
    assert not token_matches("", ("",))
    assert not token_matches("ab", ("a",))


async def test_invalid_job_is_422_problem_naming_each_field(api: httpx.AsyncClient,
                                                            client: ExportClient) -> None:
    bad = {"project_id": "../x", "engines": ["godot", "cryengine"], "include_assets": "yes",
           "quality": "ultra"}
    response = await api.post("/v5/export", json=bad, headers=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:pacai-export:problem:invalid-job"
    assert problem["title"] == "Invalid export job"
    assert problem["status"] == 422
    assert problem["errors"] == [
        {"field": "project_id", "message": f"'../x' must match {PROJECT_ID_RE.pattern}"},
        {"field": "engines[1]", "message": "'cryengine' is not one of ue5, unity, godot"},
        {"field": "include_assets", "message": "Input should be a valid boolean"},
        {"field": "quality", "message": "'ultra' is not one of low, medium, high"},
    ]
    assert problem["detail"] == "; ".join(f"{e['field']}: {e['message']}"
                                          for e in problem["errors"])
    missing = (await api.post("/v5/export", json={"engines": ["godot"]}, headers=AUTH)).json()
    assert missing["errors"] == [{"field": "project_id", "message": "is required"},
                                 {"field": "include_assets", "message": "is required"},
                                 {"field": "quality", "message": "is required"}]
    not_object = (await api.post("/v5/export", json=[1], headers=AUTH)).json()
    assert not_object["detail"] == "job data must be a JSON object, got list"
    assert await client.queue.getJobCounts("waiting") == {"waiting": 0}


@pytest.mark.parametrize(("content", "detail_start"), [
    (b"{", "the body is not valid JSON: Expecting property name"),
    (b'{"a": NaN}', "the body is not valid JSON: NaN is not JSON"),
    (b'{"a": 1e999}', "the body is not valid JSON: number out of range: 1e999"),
    (b"[" * 100_000, "the body is not valid JSON: maximum recursion depth"),
])
async def test_malformed_json_is_400(api: httpx.AsyncClient, content: bytes,
                                     detail_start: str) -> None:
    response = await api.post("/v5/export", content=content,
                              headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:pacai-export:problem:malformed-json"
    assert response.json()["detail"].startswith(detail_start)


async def test_non_json_content_type_is_415(api: httpx.AsyncClient) -> None:
    response = await api.post("/v5/export", content=json.dumps(small_job()),
                              headers={**AUTH, "content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["detail"] == "content-type must be application/json, got 'text/plain'"


async def test_idempotency_key_maps_to_the_job_id_and_never_enqueues_twice(
        api: httpx.AsyncClient, client: ExportClient) -> None:
    headers = {**AUTH, "idempotency-key": "order-42.a_b~c"}
    first = await api.post("/v5/export", json=small_job(), headers=headers)
    second = await api.post("/v5/export", json=small_job(), headers=headers)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert first.json()["id"] == "idem-order-42.a_b~c"
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert await client.queue.getJobCounts("waiting") == {"waiting": 1}
    other = await api.post("/v5/export", json=small_job("other"), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:pacai-export:problem:idempotency-key-reused"
    assert await client.queue.getJobCounts("waiting") == {"waiting": 1}


@pytest.mark.parametrize("key", ["", "a:b", "a b", "x" * 201, "a/b"])
async def test_bad_idempotency_key_is_400(api: httpx.AsyncClient, key: str) -> None:
    response = await api.post("/v5/export", json=small_job(),
                              headers={**AUTH, "idempotency-key": key})
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "urn:pacai-export:problem:invalid-idempotency-key"
    assert problem["errors"][0]["field"] == "Idempotency-Key"


def test_idempotent_job_id_is_never_an_integer_and_has_no_colon() -> None:
    assert idempotent_job_id("123") == "idem-123"
    assert idempotent_job_id(None) is None
    with pytest.raises(Problem):
        idempotent_job_id("1:2")
    with pytest.raises(Problem):
        idempotent_job_id("abc\n")


async def test_body_over_the_limit_is_413(api_settings: Settings, client: ExportClient) -> None:
    app = create_app(dataclasses.replace(api_settings, api_max_body_bytes=2048))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        big = {**small_job(), "manifest": {"pad": "x" * 4096}}
        declared = await api.post("/v5/export", json=big, headers=AUTH)

        def chunks() -> Any:
            async def gen() -> Any:
                for _ in range(5):
                    yield b" " * 1000
            return gen()

        streamed = await api.post("/v5/export", content=chunks(),
                                  headers={**AUTH, "content-type": "application/json"})
        fits = await api.post("/v5/export", json=small_job(), headers=AUTH)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["detail"] == ("the request body exceeds API_MAX_BODY_BYTES "
                                             "(2048 bytes)")
    assert fits.status_code == 202
    assert await client.queue.getJobCounts("waiting") == {"waiting": 1}


async def test_cors_only_for_configured_origins(api_settings: Settings) -> None:
    s = dataclasses.replace(api_settings, api_cors_origins=("https://app.example",))
    app = create_app(s)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        preflight = {"access-control-request-method": "POST",
                     "access-control-request-headers": "authorization,idempotency-key"}
        ok = await api.options("/v5/export", headers={"origin": "https://app.example",
                                                      **preflight})
        bad = await api.options("/v5/export", headers={"origin": "https://evil.example",
                                                       **preflight})
        posted = await api.post("/v5/export", json=small_job(),
                                headers={**AUTH, "origin": "https://app.example"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "idempotency-key" in ok.headers["access-control-allow-headers"].lower()
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers
    assert posted.headers["access-control-allow-origin"] == "https://app.example"
    assert "location" in posted.headers["access-control-expose-headers"].lower()


async def test_no_cors_headers_by_default(api: httpx.AsyncClient) -> None:
    response = await api.post("/v5/export", json=small_job(),
                              headers={**AUTH, "origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_openapi_document_describes_every_route(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/v5/export", "/v5/export/{id}", "/v5/export/callback", "/openapi.json", "/dashboard",
        "/dashboard/login", "/dashboard/jobs/{id}", "/dashboard/jobs/{id}/retry",
        "/dashboard/api/jobs", "/dashboard/api/jobs/{id}", "/dashboard/app.js",
        "/dashboard/app.css", "/dashboard/icon.svg"}
    job = doc["components"]["schemas"]["ExportJob"]
    assert job["required"] == ["project_id", "engines", "include_assets", "quality"]
    assert job["properties"]["engines"]["minItems"] == 1
    assert doc["paths"]["/v5/export"]["post"]["security"] == [{"bearerAuth": []}]


async def test_unknown_method_is_405_problem(api: httpx.AsyncClient) -> None:
    response = await api.delete("/v5/export", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["type"] == "urn:pacai-export:problem:method-not-allowed"


def test_api_command_requires_api_tokens(settings: Settings) -> None:
    env = {**settings_env(settings), "API_TOKENS": " , "}
    done = subprocess.run([str(VENV_BIN / "pacai-export"), "api"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "pacai-export: configuration error: API_TOKENS: required for the api command")


def test_api_settings_from_env() -> None:
    s = Settings.from_env({"API_CORS_ORIGINS": "https://a.example, https://b.example",
                           "API_MAX_BODY_BYTES": "4096", "API_TOKENS": "x,y"})
    assert s.api_cors_origins == ("https://a.example", "https://b.example")
    assert s.api_max_body_bytes == 4096
    assert Settings.from_env({}).api_max_body_bytes == 6 * 1024 * 1024
    assert Settings.from_env({}).api_cors_origins == ()
