"""The dashboard in-process against a real Redis (and a real worker for retry): sign-in,
counts and recent jobs, escaping of hostile job data, the job page, retry."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from pacai_export.api.dashboard import COOKIE, safe_download
from pacai_export.api.sessions import session_value
from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.api.conftest import AUTH, TOKEN, event_body, signed_headers
from tests.helpers import job_data, wait_until

HOSTILE = '<script>alert("x")</script>'


def small(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "engines": ["godot"], "include_assets": False,
            "quality": "low"}


async def test_unauthenticated_pages_show_the_login_form(api: httpx.AsyncClient) -> None:
    for path in ("/dashboard", "/dashboard/jobs/1", f"/dashboard?token={TOKEN}x"):
        page = await api.get(path)
        assert page.status_code == 401
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert '<form method="post" action="/dashboard/login"' in page.text
        assert COOKIE not in page.headers.get("set-cookie", "")
    data = await api.get("/dashboard/api/jobs")
    assert data.status_code == 401
    assert data.headers["content-type"] == "application/problem+json"


async def test_login_form_sets_an_httponly_session_cookie(api: httpx.AsyncClient) -> None:
    response = await api.post("/dashboard/login", content=f"token={TOKEN}",
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    session = cookie.split(";")[0].removeprefix(f"{COOKIE}=")
    assert TOKEN not in cookie and session.startswith("v1.")
    assert {"HttpOnly", "Path=/dashboard", "SameSite=strict"} <= {
        part.strip() for part in cookie.split(";")}
    api.cookies.set(COOKIE, session)
    assert (await api.get("/dashboard")).status_code == 200
    assert (await api.get("/dashboard/api/jobs")).status_code == 200
    wrong = await api.post("/dashboard/login", content="token=nope",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert wrong.status_code == 401
    assert "That token is not valid" in wrong.text


async def test_counts_and_recent_jobs_newest_first_at_most_50(
        api: httpx.AsyncClient, client: ExportClient) -> None:
    ids = [await client.enqueue(small(f"p{i:02d}")) for i in range(55)]
    overview = (await api.get("/dashboard/api/jobs", headers=AUTH)).json()
    assert overview["counts"]["waiting"] == 55
    assert overview["counts"]["completed"] == 0
    assert len(overview["jobs"]) == 50
    listed = [job["id"] for job in overview["jobs"]]
    assert listed == sorted(ids, key=int, reverse=True)[:50]
    assert overview["jobs"][0] == {
        "id": ids[-1], "name": "export", "state": "waiting", "project_id": "p54",
        "progress": 0, "attempts_made": 0, "timestamp": overview["jobs"][0]["timestamp"],
        "finished_on": None, "error": None}
    page = await api.get("/dashboard", headers=AUTH)
    assert page.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert '<div class="count" data-state="waiting"><span class="n">55</span>' in page.text
    rows = re.findall(r'<li class="job" data-id="(\d+)"', page.text)
    assert rows == listed
    assert page.headers["content-security-policy"].startswith("default-src 'none'; "
                                                              "script-src 'self';")


async def test_hostile_job_data_is_escaped(api: httpx.AsyncClient,
                                           client: ExportClient) -> None:
    await client.queue.add(HOSTILE, {"project_id": HOSTILE, "engines": [HOSTILE],
                                     "quality": '"><img src=x onerror=alert(1)>'},
                           {"jobId": 'j"><b>x</b>'})
    page = (await api.get("/dashboard", headers=AUTH)).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'data-id="j&quot;&gt;&lt;b&gt;x&lt;/b&gt;"' in page
    assert 'href="/dashboard/jobs/j%22%3E%3Cb%3Ex%3C%2Fb%3E"' in page
    detail = await api.get("/dashboard/jobs/j%22%3E%3Cb%3Ex%3C%2Fb%3E", headers=AUTH)
    assert detail.status_code == 200
    assert "<script>alert" not in detail.text and "<img" not in detail.text
    assert "<b>x</b>" not in detail.text
    assert "<dt>quality</dt><dd>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</dd>" in detail.text


async def test_job_page_from_the_recorded_outcome_links_only_http_downloads(
        api: httpx.AsyncClient, api_settings: Settings) -> None:
    secret = api_settings.callback_secret or ""
    for job_id, url in (("o-1", "https://dl.example/p/k/p.zip"),
                        ("o-2", "javascript:alert(1)//x.zip")):
        body = event_body("export.completed", {"job_id": job_id, "project_id": HOSTILE,
                                               "download_url": url})
        response = await api.post("/v5/export/callback", content=body,
                                  headers=signed_headers(secret, f"{job_id}.c", body))
        assert response.status_code == 204
    linked = (await api.get("/dashboard/jobs/o-1", headers=AUTH)).text
    assert '<a id="download" href="https://dl.example/p/k/p.zip">p.zip</a>' in linked
    assert '<span id="state" class="state state-completed">completed</span>' in linked
    assert "&lt;script&gt;" in linked and "<script>alert" not in linked
    unsafe = (await api.get("/dashboard/jobs/o-2", headers=AUTH)).text
    assert 'href="javascript' not in unsafe
    assert '<p id="download-p" hidden>' in unsafe
    detail = (await api.get("/dashboard/api/jobs/o-2", headers=AUTH)).json()
    assert (detail["state"], detail["logs"], detail["data"]) == ("completed", [], None)


def test_safe_download() -> None:
    assert safe_download("https://a/b.zip") == "https://a/b.zip"
    assert safe_download("http://a/b.zip") == "http://a/b.zip"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:x", "data:text/html,x", "file:///x", None, 3):
        assert safe_download(bad) is None


async def test_retry_moves_a_failed_job_back_and_the_worker_runs_it_again(
        api: httpx.AsyncClient, settings: Settings, start_worker: Any,
        client: ExportClient) -> None:
    start_worker(settings)
    job = await client.queue.add("export", job_data("retry-me", quality="ultra"),
                                 {"attempts": 3})
    job_id = str(job.id)

    async def failed() -> bool:
        status = (await api.get(f"/v5/export/{job_id}", headers=AUTH)).json()
        return bool(status["state"] == "failed")

    await wait_until(failed)
    page = (await api.get(f"/dashboard/jobs/{job_id}", headers=AUTH)).text
    assert '<button type="submit" id="retry">Retry</button>' in page
    assert "quality: &#x27;ultra&#x27; is not one of low, medium, high" in page
    api.cookies.set(COOKIE, session_value(TOKEN, int(time.time()) + 60))
    forbidden = await api.post(f"/dashboard/jobs/{job_id}/retry")
    assert forbidden.status_code == 403
    retried = await api.post(f"/dashboard/jobs/{job_id}/retry",
                             headers={"x-pacai-dashboard": "1"})
    assert retried.status_code == 202
    assert retried.json() == {"id": job_id, "state": "waiting"}

    async def failed_twice() -> bool:
        status = (await api.get(f"/v5/export/{job_id}", headers=AUTH)).json()
        return bool(status["state"] == "failed" and status["attempts_made"] == 2)

    await wait_until(failed_twice)
    await client.queue.pause()  # so the worker leaves the next job waiting
    waiting_id = await client.enqueue(small("not-failed"), "idem-parked")
    conflict = await api.post(f"/dashboard/jobs/{waiting_id}/retry", headers=AUTH)
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "urn:pacai-export:problem:not-failed"
    assert (await api.post("/dashboard/jobs/nope/retry", headers=AUTH)).status_code == 404


@pytest.mark.parametrize(("path", "media", "start"), [
    ("/dashboard/app.js", "text/javascript", "'use strict';"),
    ("/dashboard/app.css", "text/css", "*{box-sizing:border-box}"),
    ("/dashboard/icon.svg", "image/svg+xml", "<svg "),
])
async def test_static_assets_need_no_token(api: httpx.AsyncClient, path: str, media: str,
                                           start: str) -> None:
    response = await api.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.text.startswith(start)
