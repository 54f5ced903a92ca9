"""Worker processes under signals, crashes, Redis outages and long CPU-bound jobs."""

from __future__ import annotations

import dataclasses
import signal
import time
from typing import Any

import psutil
import pytest

from pacai_export.client import ExportClient
from pacai_export.redis_server import EmbeddedRedis
from pacai_export.settings import Settings
from tests.helpers import (
    Receiver,
    cpu_job_lasting,
    crash_mid_job,
    finished,
    heavy_job,
    job_data,
    verified,
    wait_active,
    with_callbacks,
)


async def test_sigterm_drains_the_running_job_then_exits_0(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    worker = start_worker(dataclasses.replace(settings, shutdown_timeout=120))
    job_id = await client.enqueue(heavy_job("drain-me"))
    await wait_active(client, job_id)
    worker.signal(signal.SIGTERM)
    assert worker.wait_status("/ready", 503, timeout=10), "ready did not turn 503 while draining"
    assert worker.status("/health") == 200
    assert worker.proc.wait(150) == 0
    status = await client.status(job_id)
    assert status is not None and status["state"] == "completed", status
    events = [line["event"] for line in worker.logs()]
    assert events.index("signal received; draining") < events.index("job completed")
    assert events[-1] == "worker stopped"


async def test_sigterm_when_idle_exits_0_quickly(settings: Settings, start_worker: Any) -> None:
    worker = start_worker(settings)
    started = time.monotonic()
    worker.signal(signal.SIGINT)
    assert worker.proc.wait(30) == 0
    assert time.monotonic() - started < 15


async def test_sigkill_mid_job_is_recovered_by_another_worker(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient) -> None:
    s = with_callbacks(settings, receiver, lock_duration_ms=3000, stalled_interval_ms=1000)
    job_id = await crash_mid_job(start_worker, s, client, "crashy")
    second = start_worker(s)
    status = await finished(client, job_id, timeout=240)
    assert status["state"] == "completed", status
    bundles = sorted(p.relative_to(s.exports_dir).as_posix()
                     for p in s.exports_dir.rglob("*.zip") if p.is_file())
    assert bundles == [status["result"]["key"]]  # none half-written, none twice
    time.sleep(2)  # any duplicate delivery would arrive now
    ids = [d.headers["webhook-id"] for d in receiver.wait_for(1)]
    assert ids == [f"{job_id}.export.completed"]
    assert any(line.get("event") == "job completed" for line in second.logs())


async def test_a_job_that_stalls_too_often_fails_with_a_callback(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient) -> None:
    """BullMQ fails such a job itself, in the next worker that takes it, without running
    the processor: the export.failed callback must still go out (§5)."""
    s = with_callbacks(settings, receiver, lock_duration_ms=3000, stalled_interval_ms=1000,
                       max_stalled_count=0)
    job_id = await crash_mid_job(start_worker, s, client, "stally")
    second = start_worker(s)
    status = await finished(client, job_id, timeout=120)
    assert status["state"] == "failed", status
    assert status["error"] == "job stalled more than allowable limit"
    [delivery] = receiver.wait_for(1)
    event = verified(receiver, delivery)
    assert delivery.headers["webhook-id"] == f"{job_id}.export.failed"
    assert event["type"] == "export.failed"
    assert event["data"]["error"] == {
        "code": "stalled",
        "message": "job stalled more than allowable limit: its worker stopped mid-job "
                   "(crashed, killed, or its event loop blocked) more than MAX_STALLED_COUNT "
                   "times"}
    assert event["data"]["project_id"] == "stally"
    assert any(line.get("event") == "job failed: it stalled too often"
               for line in second.logs())


async def test_a_stalled_failure_whose_callback_was_lost_is_sent_by_the_sweep(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient) -> None:
    """The worker that fails a stalled job may die before its callback is enqueued; here it
    has no callbacks configured at all. The next worker's sweep sends it, once."""
    timing = {"lock_duration_ms": 3000, "stalled_interval_ms": 1000, "max_stalled_count": 0}
    job_id = await crash_mid_job(start_worker, dataclasses.replace(settings, **timing), client,
                                 "lost-callback")
    mute = start_worker(dataclasses.replace(settings, **timing))
    status = await finished(client, job_id, timeout=120)
    assert status["state"] == "failed" and status["error"] == (
        "job stalled more than allowable limit")
    mute.signal(signal.SIGTERM)
    assert mute.proc.wait(60) == 0
    assert receiver.deliveries == []
    start_worker(with_callbacks(settings, receiver, **timing))
    [delivery] = receiver.wait_for(1)
    assert delivery.headers["webhook-id"] == f"{job_id}.export.failed"
    assert verified(receiver, delivery)["data"]["error"]["code"] == "stalled"
    time.sleep(3)  # three more sweeps: nothing sent twice
    assert len(receiver.deliveries) == 1


async def test_long_cpu_job_keeps_its_lock(settings: Settings, receiver: Receiver,
                                           start_worker: Any, client: ExportClient) -> None:
    # A 1 s lock renewed every 0.5 s: a blocked event loop would lose it within a second,
    # and the stall checker (every 0.5 s) would hand the job to "another worker".
    # The job is sized by measuring to last 1.5 times the periods asserted below, whatever the
    # writers' speed; the assertion is on the job's own duration, in lock periods.
    s = with_callbacks(settings, receiver, lock_duration_ms=1000, stalled_interval_ms=500,
                       max_stalled_count=0)
    periods = 3
    data = await cpu_job_lasting(s, "long-cpu", 1.5 * periods * s.lock_duration_ms / 1000)
    worker = start_worker(s)
    job_id = await client.enqueue(data)
    status = await finished(client, job_id, timeout=240)
    assert status["state"] == "completed", status
    assert status["attempts_made"] == 1
    assert status["result"]["duration_ms"] > periods * s.lock_duration_ms, (
        f"the job was shorter than {periods} lock periods: it proves nothing")
    assert not [line for line in worker.logs() if "stalled" in line.get("event", "")]
    assert [d.headers["webhook-id"] for d in receiver.wait_for(1)] == [
        f"{job_id}.export.completed"]


@pytest.fixture
def own_redis() -> Any:
    with EmbeddedRedis() as server:
        yield server


async def test_redis_outage_worker_stays_up_idle_and_resumes(
        settings: Settings, start_worker: Any, own_redis: EmbeddedRedis) -> None:
    s = dataclasses.replace(settings, redis_url=own_redis.url)
    worker = start_worker(s)
    client = ExportClient(s)
    try:
        before = await finished(client, await client.enqueue(job_data("before", engines=["godot"])))
        assert before["state"] == "completed"
    finally:
        await client.aclose()

    own_redis.stop()
    assert worker.wait_status("/ready", 503, timeout=15)
    proc = psutil.Process(worker.proc.pid)
    cpu_start = sum(proc.cpu_times()[:2])
    time.sleep(5)
    cpu_used = sum(proc.cpu_times()[:2]) - cpu_start
    assert worker.proc.poll() is None
    assert worker.status("/health") == 200
    assert cpu_used < 1.0, f"worker used {cpu_used:.2f} s of CPU in 5 s without Redis"

    own_redis.start()
    assert worker.wait_status("/ready", 200, timeout=30)
    client = ExportClient(s)
    try:
        after = await finished(client, await client.enqueue(job_data("after", engines=["godot"])),
                               timeout=60)
        assert after["state"] == "completed", after
    finally:
        await client.aclose()


async def test_eviction_policy_warning_at_start_up(settings: Settings, start_worker: Any,
                                                   own_redis: EmbeddedRedis) -> None:
    import redis as redis_sync

    redis_sync.Redis.from_url(own_redis.url).config_set("maxmemory-policy", "allkeys-lru")
    worker = start_worker(dataclasses.replace(settings, redis_url=own_redis.url))
    warnings = [line for line in worker.logs() if line.get("level") == "warning"]
    assert {"event": "REDIS MISCONFIGURED: maxmemory-policy is not noeviction; Redis may evict "
            "queue keys and lose jobs", "maxmemory_policy": "allkeys-lru"}.items() <= \
        warnings[0].items()


async def test_callback_outlives_a_worker_restart(settings: Settings, receiver: Receiver,
                                                  start_worker: Any,
                                                  client: ExportClient) -> None:
    # The receiver fails while the first worker runs; the second worker delivers the event
    # from Redis without re-running the export.
    receiver.statuses = [503] * 1000
    s = with_callbacks(settings, receiver)
    first = start_worker(s)
    status = await finished(client, await client.enqueue(job_data("cb-restart",
                                                                  engines=["godot"])))
    assert receiver.wait_for(1) and status["state"] == "completed"
    first.signal(signal.SIGTERM)
    assert first.proc.wait(30) == 0
    receiver.statuses = []
    delivered_before = len(receiver.deliveries)
    second = start_worker(s)
    deliveries = receiver.wait_for(delivered_before + 1, timeout=60)
    assert deliveries[-1].headers["webhook-id"] == f"{status['id']}.export.completed"
    assert not [line for line in second.logs() if line.get("event") == "job completed"]
