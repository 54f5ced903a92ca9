"""Server-sent events fed by BullMQ's events stream: the app served by a real uvicorn on a
loopback port (httpx's in-process transport buffers whole responses, so it cannot stream),
real Redis, jobs moved by a real BullMQ worker in this process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import bullmq
import httpx
import pytest
import redis.asyncio as aioredis

from pacai_export.api.events import EventHub, LiveOptions, QueueEvent
from pacai_export.client import ExportClient
from pacai_export.queues import JobView
from pacai_export.settings import Settings
from tests.api.conftest import AUTH, ApiProcess
from tests.helpers import Events, job_data, serve

STREAM = {**AUTH, "accept": "text/event-stream"}




@pytest.fixture
async def base(api_settings: Settings) -> AsyncIterator[str]:
    async with serve(api_settings, LiveOptions(heartbeat_s=0.3, block_ms=500)) as url:
        yield url




@contextlib.asynccontextmanager
async def stream(http: httpx.AsyncClient, url: str,
                 headers: dict[str, str]) -> AsyncIterator[Events]:
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Events(response)


async def run_jobs(s: Settings, step: Callable[[JobView], Awaitable[None]],
                   done: asyncio.Event) -> bullmq.Worker:
    async def process(job: bullmq.Job, token: str) -> Any:
        await step(JobView(job))
        return {"status": "completed", "job_id": str(job.id)}

    worker = bullmq.Worker(s.queue_name, process, {"connection": s.redis_url,
                                                   "prefix": s.queue_prefix})
    worker.on("completed", lambda *_: done.set())
    return worker


async def test_job_stream_sends_status_progress_stage_and_completion_then_ends(
        api_settings: Settings, base: str) -> None:
    client = ExportClient(api_settings)
    job_id = await client.enqueue(job_data("sse-one", engines=["godot"]))
    gate = asyncio.Event()

    async def step(job: JobView) -> None:
        await gate.wait()
        await job.write_progress(["stage=building engine=godot"], 40)
        await job.write_progress([], 70)

    done = asyncio.Event()
    worker = await run_jobs(api_settings, step, done)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http, stream(
                http, f"/v5/export/{job_id}", STREAM) as events:
            assert await events.next() == ("", "retry", 1000)
            _, name, status = await events.next()
            assert name == "status"
            assert status["id"] == job_id and status["state"] in ("waiting", "active")
            gate.set()
            got = []
            with contextlib.suppress(EOFError):
                while True:
                    got.append(await events.next())
    finally:
        await worker.close()
        await client.aclose()
    by_name = [(name, data) for _, name, data in got if name != "comment"]
    assert ("progress", {"job_id": job_id, "progress": 40}) in by_name
    assert ("log", {"job_id": job_id, "line": "stage=building engine=godot"}) in by_name
    assert ("progress", {"job_id": job_id, "progress": 70}) in by_name
    assert by_name[-1] == ("completed", {"job_id": job_id, "result": {
        "status": "completed", "job_id": job_id}})
    names = [n for n, _ in by_name]
    assert names.index("log") < names.index("completed")
    ids = [event_id for event_id, name, _ in got if name != "comment"]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))


async def test_last_event_id_replays_what_was_missed_and_a_trimmed_id_gets_a_snapshot(
        api_settings: Settings, base: str) -> None:
    client = ExportClient(api_settings)
    job_id = await client.enqueue(job_data("sse-resume", engines=["godot"]))

    async def step(job: JobView) -> None:
        for percent in (10, 20, 30):
            await job.write_progress([f"stage=step{percent}"], percent)

    done = asyncio.Event()
    worker = await run_jobs(api_settings, step, done)
    await asyncio.wait_for(done.wait(), 30)
    await worker.close()
    await client.aclose()
    key = f"{api_settings.queue_prefix}:{api_settings.queue_name}:events"
    r = aioredis.Redis.from_url(api_settings.redis_url or "", decode_responses=True)
    entries = await r.xrange(key)
    first_progress = next(i for i, f in entries if f.get("event") == "progress")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        async with stream(http, f"/v5/export/{job_id}",
                          {**STREAM, "last-event-id": first_progress}) as events:
            replayed = []
            with contextlib.suppress(EOFError):
                while True:
                    replayed.append(await events.next())
        names = [(n, d.get("progress", d.get("line"))) for _, n, d in replayed if n != "retry"]
        assert names == [("log", "stage=step20"), ("progress", 20), ("log", "stage=step30"),
                         ("progress", 30), ("completed", None)]
        await r.xtrim(key, maxlen=0)
        await r.xadd(key, {"event": "drained"})  # the stream now starts after that id
        async with stream(http, f"/v5/export/{job_id}",
                          {**STREAM, "last-event-id": first_progress}) as events:
            await events.next()  # retry
            _, name, data = await events.next()
        assert (name, data["state"], data["progress"]) == ("status", "completed", 30)
    await r.aclose()


async def test_stream_errors_are_problems(api_settings: Settings, base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        anonymous = await http.get("/v5/export/1", headers={"accept": "text/event-stream"})
        missing = await http.get("/v5/export/nope-404", headers=STREAM)
        bad_id = await http.get("/dashboard/api/events", headers={**STREAM,
                                                                  "last-event-id": "x-1"})
        board = await http.get("/dashboard/api/events", headers={"accept": "text/event-stream"})
    assert (anonymous.status_code, anonymous.json()["type"]) == (
        401, "urn:pacai-export:problem:unauthorized")
    assert (missing.status_code, missing.json()["detail"]) == (
        404, f"no job 'nope-404' in queue {api_settings.queue_name}")
    assert (bad_id.status_code, bad_id.json()["detail"], bad_id.json()["errors"]) == (
        400, "Last-Event-ID: 'x-1' is not an event id of this stream",
        [{"field": "Last-Event-ID", "message": "must be <ms>-<seq>"}])
    assert board.status_code == 401
    assert board.headers["content-type"] == "application/problem+json"


async def test_dashboard_stream_snapshot_heartbeat_and_new_jobs_with_their_project(
        api_settings: Settings, base: str) -> None:
    client = ExportClient(api_settings)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http, stream(
                http, "/dashboard/api/events", STREAM) as events:
            *_, snapshot = await events.until("snapshot")
            assert (snapshot["jobs"], snapshot["counts"]["waiting"]) == ([], 0)
            assert await events.next() == ("", "comment", "heartbeat")
            job_id = await client.enqueue(job_data("sse-board", engines=["unity"]))
            *_, added = await events.until("added")
            assert added == {"job_id": job_id, "state": "added", "project_id": "sse-board"}
            *_, waiting = await events.until("waiting")
            assert waiting == {"job_id": job_id, "state": "waiting"}
    finally:
        await client.aclose()


async def test_many_clients_share_one_redis_reader(api_settings: Settings, base: str) -> None:
    key = f"{api_settings.queue_prefix}:{api_settings.queue_name}:events"
    r = aioredis.Redis.from_url(api_settings.redis_url or "", decode_responses=True)

    async def readers() -> int:
        clients = await r.client_list()
        return sum(c.get("name") == "pacai-api-events:" + key for c in clients)

    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(
            base_url=base, timeout=30, limits=httpx.Limits(max_connections=50)))
        client = ExportClient(api_settings)
        job_id = await client.enqueue(job_data("sse-many", engines=["godot"]))
        await client.aclose()
        streams = [await stack.enter_async_context(
            stream(http, f"/v5/export/{job_id}", STREAM)) for _ in range(20)]
        for events in streams:
            await events.until("status")
        assert await readers() == 1
        await r.xadd(key, {"event": "progress", "jobId": job_id, "data": "55"})
        for events in streams:
            *_, data = await events.until("progress")
            assert data == {"job_id": job_id, "progress": 55}
    await r.aclose()


async def test_a_client_too_slow_for_its_buffer_is_dropped_not_grown() -> None:
    hub = EventHub(lambda: aioredis.Redis(), "unused:events")
    slow = hub.subscribe("7", LiveOptions(buffer=4))
    other = hub.subscribe("8", LiveOptions(buffer=4))
    try:
        for n in range(10):
            hub.publish(QueueEvent(f"1-{n}", "progress", "7", {"job_id": "7", "progress": n}))
        assert slow.dropped and slow.queue.qsize() == 5
        assert [slow.queue.get_nowait() for _ in range(5)][-1] is None  # "close the stream"
        assert hub.subscribers == 1 and not other.dropped and other.queue.empty()
    finally:
        await hub.aclose()


async def test_stopping_the_reader_closes_every_stream_so_browsers_reconnect(
        api_settings: Settings) -> None:
    hub = EventHub(lambda: aioredis.Redis.from_url(api_settings.redis_url or "",
                                                   decode_responses=True, socket_timeout=30),
                   f"bull:{api_settings.queue_name}:events")
    subs = [hub.subscribe(None, LiveOptions()), hub.subscribe("9", LiveOptions())]
    await asyncio.wait_for(hub.ready(), 10)
    await hub.aclose()
    assert [sub.queue.get_nowait() for sub in subs] == [None, None]
    assert hub.subscribers == 0


def test_sigterm_ends_open_streams_and_an_idle_reader_stays_quiet(
        api_settings: Settings, start_api: Any) -> None:
    """``pacai-export api`` with a dashboard stream open: idle longer than the reader's
    blocking XREAD (5 s) without read errors, then SIGTERM ends the stream and the process
    exits 0 (an open stream used to hold uvicorn's drain forever)."""
    import threading
    import time

    api: ApiProcess = start_api(api_settings)
    lines: list[str] = []

    def follow() -> None:
        with httpx.stream("GET", api.base + "/dashboard/api/events", headers=AUTH,
                          timeout=None) as response:
            lines.extend(response.iter_lines())
        lines.append("<end>")

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(7)
    api.proc.send_signal(signal.SIGTERM)
    assert api.proc.wait(60) == 0
    reader.join(30)
    assert "event: snapshot" in lines and lines[-1] == "<end>"
    assert "events stream read failed" not in api.log.read_text()
