"""Hostile requests and jobs against the service side, end to end against real processes:
the API (``pacai-export api``), workers (``pacai-export worker``), Redis, a webhook receiver.

Each case ends with the documented status or error code and message, and the service still
serving the next request or job.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import pyvips
import redis

from pacai_export.api.dashboard import COOKIE
from pacai_export.api.sessions import LOGIN_MAX_FAILURES, LOGIN_WINDOW_S, session_value
from pacai_export.callbacks import sign, signing_key
from pacai_export.client import ExportClient
from pacai_export.redis_server import free_port
from pacai_export.settings import Settings
from tests.api.conftest import AUTH, TOKEN, ApiProcess
from tests.helpers import (
    ROOT,
    VENV_BIN,
    Receiver,
    WorkerProcess,
    crash_mid_job,
    finished,
    heavy_job,
    job_data,
    node_add,
    settings_env,
    small_manifest,
    verified,
    wait_active,
    wait_until,
    with_callbacks,
)

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
        # Around the decoder's limit: decodes, but too deep to encode again for a view.
        # Delayed, so only the views see them.
        near = [str((await client.queue.add("export", {"deep": nested(depth)},
                                            {"delay": 3_600_000})).id)
                for depth in range(940, 1000, 10)]
    poison_id = str(added.id)
    good_id = await client.enqueue(small_job("after-deep"))
    api: ApiProcess = start_api(api_settings)
    with api.client() as http:  # queued, no worker yet: every view still answers
        status = http.get(f"/v5/export/{poison_id}")
        assert (status.status_code, status.json()["state"]) == (200, "waiting")
        listing = http.get("/dashboard/api/jobs")
        assert listing.status_code == 200
        assert {j["id"] for j in listing.json()["jobs"]} == {poison_id, good_id, *near}
        assert http.get("/dashboard").status_code == 200
        for job_id in (poison_id, *near):
            for path in (f"/v5/export/{job_id}", f"/dashboard/api/jobs/{job_id}",
                         f"/dashboard/jobs/{job_id}"):
                assert http.get(path).status_code == 200, path
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


def test_a_node_producer_s_deep_job_fails_once_and_the_next_job_runs(
        settings: Settings, start_worker: Any) -> None:
    """The same poison added by npm bullmq (JSON.stringify has no depth limit)."""
    start_worker(settings)
    with deep_json_allowed():
        seen = node_add(settings, {"project_id": "node-deep", "deep": nested(3000)},
                        {"attempts": 3, "backoff": {"type": "fixed", "delay": 100}})
    assert (seen["state"], seen["attemptsMade"], seen["failedReason"]) == (
        "failed", 1, "data: cannot be decoded: JSON nested deeper than the decoder allows")
    after = node_add(settings, small_job("after-node-deep"), {"attempts": 1})
    assert after["state"] == "completed"


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


# --- 16, 19: shutdown within SHUTDOWN_TIMEOUT + 2 s -------------------------------------------


def _log_time(worker: WorkerProcess, event: str) -> float:
    stamp = next(line["timestamp"] for line in worker.logs() if line.get("event") == event)
    return datetime.fromisoformat(stamp).timestamp()


def _shutdown_seconds(worker: WorkerProcess) -> float:
    """From the signal to the last line, by the worker's own log (the machine's load on
    starting and reaping processes does not count)."""
    return _log_time(worker, "worker stopped") - _log_time(worker, "signal received; draining")


def test_worker_whose_redis_port_is_closed_exits_promptly_after_sigint(
        settings: Settings, start_worker: Any) -> None:
    closed = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}",
                                 shutdown_timeout=3)
    worker: WorkerProcess = start_worker(closed, wait_ready=False)
    assert worker.wait_status("/ready", 503), worker.log.read_text()[-2000:]
    worker.signal(signal.SIGINT)
    assert worker.proc.wait(60) == 0
    assert _shutdown_seconds(worker) <= closed.shutdown_timeout + 2


async def test_drain_out_of_time_stops_the_pool_work_and_leaves_the_job_to_stall_recovery(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    s = dataclasses.replace(settings, shutdown_timeout=1, lock_duration_ms=3000,
                            stalled_interval_ms=1000)
    worker: WorkerProcess = start_worker(s)
    job_id = await client.enqueue(heavy_job("out-of-time"))
    await wait_active(client, job_id)
    pool = psutil.Process(worker.proc.pid).children(recursive=True)
    worker.signal(signal.SIGTERM)
    assert worker.proc.wait(60) == 1  # not a clean drain
    events = [line["event"] for line in worker.logs()]
    assert "shutdown timeout: leaving unfinished jobs to stall recovery" in events
    assert _shutdown_seconds(worker) <= s.shutdown_timeout + 2
    # The pool's processes were killed; the forkserver and resource tracker follow the
    # worker out as it exits.
    _, alive = psutil.wait_procs(pool, timeout=10)
    assert [p.pid for p in alive if _alive(p)] == []
    left = await client.status(job_id)
    assert left is not None and (left["state"], left["attempts_made"]) == ("active", 0)
    assert "error" not in left  # no attempt spent, nothing failed
    start_worker(s)
    done = await finished(client, job_id, timeout=120)
    assert (done["state"], done["attempts_made"]) == ("completed", 1)


# --- chaos: pool processes, staging folders ----------------------------------------------------


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_sigkilled_worker_takes_its_pool_and_forkserver_with_it(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    worker: WorkerProcess = start_worker(settings)
    await finished(client, await client.enqueue(small_job("pool-up")))
    family = psutil.Process(worker.proc.pid).children(recursive=True)
    names = " ".join(" ".join(p.cmdline()) for p in family)
    assert "forkserver" in names and len(family) >= 3, names  # tracker, forkserver, pool
    worker.proc.kill()
    worker.proc.wait(10)
    _, alive = psutil.wait_procs(family, timeout=10)
    assert [p.pid for p in alive if _alive(p)] == []


def _folder(root: Path, name: str, age_s: float) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "stage").mkdir()
    (path / "stage" / "file.bin").write_bytes(b"x" * 1000)
    old = time.time() - age_s
    os.utime(path, (old, old))
    return path


async def test_stale_work_folders_are_swept_at_start_and_live_ones_kept(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    s = dataclasses.replace(settings, lock_duration_ms=3000, stalled_interval_ms=1000)
    job_id = await crash_mid_job(start_worker, s, client, "killed-mid-job")
    root = s.exports_dir / "_work"
    (killed,) = list(root.iterdir())  # the SIGKILLed job's folder, with its unheld lock
    assert killed.name.startswith("pacai-killed-mid-job-")
    old = time.time() - 3600
    os.utime(killed, (old, old))
    unlocked = _folder(root, "pacai-orphan-abc123", 3600)  # no .owner at all
    young = _folder(root, "pacai-young-abc123", 0)  # may be between creating and locking
    held = _folder(root, "pacai-held-abc123", 3600)
    lock = os.open(held / ".owner", os.O_CREAT | os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)  # a live owner (this process)
    other = _folder(root, "not-ours", 3600)
    try:
        worker: WorkerProcess = start_worker(s)
        await finished(client, job_id, timeout=120)  # recovered by the new worker
        swept = next(line for line in worker.logs()
                     if line.get("event") == "stale work folders removed")
    finally:
        os.close(lock)
    assert sorted(swept["folders"]) == sorted([killed.name, unlocked.name])
    assert sorted(p.name for p in root.iterdir()) == sorted([young.name, held.name, other.name])


async def test_a_failed_export_leaves_no_work_folder(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    """One texture fails in the pool while others are processed or queued there: the job's
    folder is removed only after that work ends, so nothing re-creates it (a queued task
    would otherwise start after the cleanup and make its output folder again)."""
    assert settings.projects_dir is not None
    folder = settings.projects_dir / "half-bad"
    (folder / "textures").mkdir(parents=True)
    noise = pyvips.Image.gaussnoise(2048, 2048).cast("uchar").bandjoin([128, 128])
    noise.pngsave(str(folder / "textures" / "big.png"), compression=1)
    png = (folder / "textures" / "big.png").read_bytes()
    # The same image cut short: it fails only when decoding reaches the cut.
    (folder / "textures" / "cut.png").write_bytes(png[: len(png) // 4])
    manifest = small_manifest("half-bad")
    manifest["assets"] = [{"id": "tex_cut", "type": "texture", "uri": "textures/cut.png"}] + [
        {"id": f"tex_big{i}", "type": "texture", "uri": "textures/big.png"} for i in range(5)]
    manifest["materials"] = [{"id": m["id"], "base_color": [1, 1, 1, 1]}
                             for m in manifest["materials"]]
    for node in manifest["scenes"][0]["nodes"]:
        node.pop("audio", None)
    start_worker(settings)
    data = job_data("half-bad", engines=["godot"], manifest=manifest)
    done = await finished(client, await client.enqueue(data))
    assert done["state"] == "failed"
    assert "tex_cut" in done["error"], done["error"]
    root = settings.exports_dir / "_work"
    await asyncio.sleep(5)  # longer than the queued textures take in the pool
    assert list(root.iterdir()) == []


# --- 18: bind addresses --------------------------------------------------------------------


def _listening(pid: int) -> set[str]:
    return {c.laddr.ip for c in psutil.Process(pid).net_connections("tcp")
            if c.status == psutil.CONN_LISTEN}


def test_api_and_health_servers_listen_where_configured(
        api_settings: Settings, start_api: Any, start_worker: Any) -> None:
    api: ApiProcess = start_api(api_settings, API_HOST="127.0.0.1")
    worker: WorkerProcess = start_worker(api_settings, HEALTH_HOST="127.0.0.1")
    assert _listening(api.proc.pid) == {"127.0.0.1"}
    assert _listening(worker.proc.pid) == {"127.0.0.1"}
    default: WorkerProcess = start_worker(api_settings)
    assert _listening(default.proc.pid) == {"0.0.0.0"}


@pytest.mark.parametrize("name", ["API_HOST", "HEALTH_HOST"])
def test_a_bind_address_that_is_not_an_ip_is_refused_at_start(
        settings: Settings, name: str) -> None:
    env = {**settings_env(settings), "API_TOKENS": "t", name: "example.com"}
    command = "api" if name == "API_HOST" else "worker"
    done = subprocess.run([str(VENV_BIN / "pacai-export"), command], env=env, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"pacai-export: configuration error: {name}: must be an IP address to listen on "
        "(0.0.0.0, 127.0.0.1, ::, ::1, …), got 'example.com'")


# --- 15: dashboard sign-in ----------------------------------------------------------------------

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(("headers", "refused"), [
    ({"origin": "https://evil.example"}, "Origin 'https://evil.example'"),
    ({"origin": "http://127.0.0.1:1"}, "Origin 'http://127.0.0.1:1'"),
    ({"origin": "null", "sec-fetch-site": "cross-site"}, "Sec-Fetch-Site 'cross-site'"),
    ({"sec-fetch-site": "same-site"}, "Sec-Fetch-Site 'same-site'"),
    ({"origin": "null"}, "Origin 'null' without Sec-Fetch-Site"),
])
def test_cross_origin_login_is_refused(api_settings: Settings, start_api: Any,
                                       headers: dict[str, str], refused: str) -> None:
    api: ApiProcess = start_api(api_settings)
    response = httpx.post(f"{api.base}/dashboard/login", content=f"token={TOKEN}",
                          headers={**FORM, **headers}, timeout=10)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == (f"POST /dashboard/login: {refused} is not this "
                                         "server; sign in from the dashboard's own page")
    assert "set-cookie" not in response.headers
    same = httpx.post(f"{api.base}/dashboard/login", content=f"token={TOKEN}", timeout=10,
                      headers={**FORM, "origin": api.base, "sec-fetch-site": "same-origin"})
    assert same.status_code == 303


def test_wrong_tokens_are_throttled_per_address(api_settings: Settings,
                                                start_api: Any) -> None:
    api: ApiProcess = start_api(api_settings)
    with httpx.Client(base_url=api.base, timeout=10) as http:
        wrong = [http.post("/dashboard/login", content=f"token=guess{i}", headers=FORM)
                 for i in range(LOGIN_MAX_FAILURES)]
        assert {r.status_code for r in wrong} == {401}
        blocked = http.post("/dashboard/login", content=f"token={TOKEN}", headers=FORM)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= LOGIN_WINDOW_S
    assert (f"Too many wrong tokens from your address: try again in "
            f"{blocked.headers['retry-after']} s.") in blocked.text
    assert "set-cookie" not in blocked.headers


def test_the_cookie_holds_a_session_derived_from_the_token_not_the_token(
        api_settings: Settings, start_api: Any) -> None:
    api: ApiProcess = start_api(api_settings)
    with httpx.Client(base_url=api.base, timeout=10) as http:
        signed = http.post("/dashboard/login", content=f"token={TOKEN}", headers=FORM)
        assert signed.status_code == 303
        value = signed.cookies[COOKIE]
        assert TOKEN not in value and value.startswith("v1.")
        expires = int(value.split(".")[1])
        assert 0 < expires - time.time() <= 12 * 3600

        def with_cookie(cookie: str) -> int:
            # A client of its own: only this cookie, none from the login above.
            with httpx.Client(base_url=api.base, timeout=10,
                              cookies={COOKIE: cookie}) as fresh:
                return fresh.get("/dashboard/api/jobs").status_code

        assert with_cookie(value) == 200
        assert with_cookie(TOKEN) == 401  # the raw token is not a session
        # The MAC covers the expiry: pushing it later breaks the session.
        assert with_cookie(f"v1.{expires + 3600}.{value.split('.')[2]}") == 401
        assert with_cookie(session_value(TOKEN, int(time.time()) - 1)) == 401  # expired
        assert with_cookie(session_value("not-a-configured-token", expires)) == 401


def test_a_token_in_the_url_is_not_accepted(api_settings: Settings, start_api: Any) -> None:
    api: ApiProcess = start_api(api_settings)
    page = httpx.get(f"{api.base}/dashboard?token={TOKEN}", timeout=10)
    assert page.status_code == 401
    assert "Tokens in the address (?token=) are not accepted." in page.text
    assert "set-cookie" not in page.headers


# --- 17: the README's callback receivers, run against a real worker -----------------------------


def readme_block(language: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Callbacks: verifying a delivery"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, language
    return blocks[0]


@contextlib.contextmanager
def run_receiver(command: list[str], port: int, secret: str, log: Path,
                 cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PORT": str(port), "WORKER_CALLBACK_SECRET": secret}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"receiver not listening:\n{log.read_text()}")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("language", ["python", "js"])
async def test_readme_callback_receivers_verify_real_deliveries(
        settings: Settings, start_worker: Any, client: ExportClient, tmp_path: Path,
        language: str) -> None:
    if language == "js":
        if not (ROOT / "tests" / "node" / "node_modules" / "standardwebhooks").is_dir():
            pytest.fail("tests/node/node_modules missing: run `make setup`")
        # The example imports 'standardwebhooks' as an application would.
        (tmp_path / "node_modules").symlink_to(ROOT / "tests" / "node" / "node_modules")
        script = tmp_path / "receiver.mjs"
        command = ["node", str(script)]
    else:
        script = tmp_path / "receiver.py"
        command = [sys.executable, str(script)]
    script.write_text(readme_block(language))
    port, secret = free_port(), "plain text secret, not whsec_"
    log = tmp_path / "receiver.log"
    with run_receiver(command, port, secret, log, tmp_path):
        body = b'{"type":"export.completed","data":{"job_id":"forged"}}'
        stamp = int(time.time())
        forged = httpx.post(f"http://127.0.0.1:{port}/", content=body, timeout=10, headers={
            "webhook-id": "forged.export.completed", "webhook-timestamp": str(stamp),
            "webhook-signature": sign(signing_key("another secret"), "forged", stamp, body)})
        assert forged.status_code == 401
        s = dataclasses.replace(settings, callback_url=f"http://127.0.0.1:{port}/",
                                callback_secret=secret)
        start_worker(s)
        job_id = await client.enqueue(small_job("readme-receiver"))
        assert (await finished(client, job_id))["state"] == "completed"
        await wait_until(lambda: f"export.completed {job_id}" in log.read_text())
    assert "forged" not in log.read_text()


# --- refused before, kept refused: tokens and secrets stay out of logs, Redis and cookies -------


async def test_tokens_and_secrets_stay_out_of_logs_redis_and_urls(
        api_settings: Settings, receiver: Receiver, start_api: Any, start_worker: Any,
        client: ExportClient, redis_url: str) -> None:
    s = dataclasses.replace(api_settings, callback_url=receiver.url,
                            callback_secret=receiver.secret)
    worker: WorkerProcess = start_worker(s)
    api: ApiProcess = start_api(s)
    with api.client() as http:
        job_id = http.post("/v5/export", json=small_job("secrets")).json()["id"]
        assert http.get("/v5/export/x", headers={"authorization": "Bearer wrong"}
                        ).status_code == 401
        signed = http.post("/dashboard/login", content=f"token={TOKEN}", headers=FORM)
    assert signed.status_code == 303 and TOKEN not in signed.headers["set-cookie"]
    assert (await finished(client, job_id))["state"] == "completed"
    receiver.wait_for(1)
    stored = []
    store = redis.Redis.from_url(redis_url)
    try:
        for key in store.scan_iter(f"bull:{s.queue_name}*", count=1000):
            stored.append(key)
            kind = store.type(key)
            if kind == b"string":
                stored.append(store.get(key) or b"")
            elif kind == b"hash":
                stored.extend(v for kv in store.hgetall(key).items() for v in kv)
            elif kind == b"list":
                stored.extend(store.lrange(key, 0, -1))
    finally:
        store.close()
    text = b"\n".join(stored) + worker.log.read_bytes() + api.log.read_bytes()
    for secret in (TOKEN, receiver.secret):
        assert secret.encode() not in text


# --- the API with its Redis unreachable: 503 at once, and a prompt stop ---------------------------


def test_api_answers_503_problem_when_redis_is_unreachable_and_stops_promptly(
        api_settings: Settings, start_api: Any) -> None:
    closed = dataclasses.replace(api_settings, redis_url=f"redis://127.0.0.1:{free_port()}")
    api: ApiProcess = start_api(closed)
    with api.client() as http:
        for method, path in (("GET", "/v5/export/1"), ("POST", "/v5/export"),
                             ("GET", "/dashboard/api/jobs"), ("GET", "/dashboard/api/jobs/1")):
            response = http.request(method, path, json=small_job("no-redis"))
            assert response.status_code == 503, path
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["retry-after"] == "5"
            assert response.json()["detail"] == (
                f"{method} {path}: the queue's Redis did not answer; try again shortly")
    api.proc.send_signal(signal.SIGTERM)
    assert api.proc.wait(30) == 0
