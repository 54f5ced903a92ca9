"""``queues.ExportWorker`` on a real Redis: drain, force-close and ``active`` as the worker
service relies on them, and ``JobView`` as every reader sees a job."""

from __future__ import annotations

import asyncio
from typing import Any

from pacai_export.client import ExportClient
from pacai_export.queues import ExportWorker, JobView, get_job
from pacai_export.settings import Settings
from tests.helpers import job_data, wait_until


async def test_a_drain_that_times_out_leaves_the_job_active_after_force_close(
        settings: Settings, client: ExportClient) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(job: JobView) -> dict[str, Any]:
        started.set()
        await release.wait()
        return {"id": job.id}

    worker = ExportWorker(settings, settings.queue_name, slow, concurrency=1)
    runner = asyncio.create_task(worker.run())
    job_id = await client.enqueue(job_data("boundary"))
    await asyncio.wait_for(started.wait(), 30)
    assert worker.running and worker.active == 1
    assert await worker.drain(0.3) is False  # the job is still running
    assert not worker.running  # closing: takes no more jobs
    worker.force_close()
    assert await worker.drain(10) is True
    release.set()
    # The loop ends with the processing it cancelled (as WorkerService._stop_runners expects).
    await asyncio.wait_for(asyncio.gather(runner, return_exceptions=True), 10)
    # Abandoned, not failed: no attempt spent, left for stall recovery.
    status = await client.status(job_id)
    assert status is not None
    assert (status["state"], status["attempts_made"]) == ("active", 0)


async def test_a_drain_in_time_lets_the_job_finish_and_the_view_reads_it(
        settings: Settings, client: ExportClient) -> None:
    started = asyncio.Event()

    async def quick(job: JobView) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(0.2)
        return {"project": job.data["project_id"]}

    worker = ExportWorker(settings, settings.queue_name, quick, concurrency=1)
    runner = asyncio.create_task(worker.run())
    job_id = await client.enqueue(job_data("boundary-ok"))
    await asyncio.wait_for(started.wait(), 30)
    assert await worker.drain(10) is True
    await asyncio.wait_for(runner, 10)
    assert worker.active == 0

    async def done() -> JobView | None:
        job = await get_job(client.queue, job_id)
        return job if job is not None and job.result is not None else None

    job: JobView = await wait_until(done, 10)
    assert (job.id, job.result, job.progress, job.failed_reason) == (
        job_id, {"project": "boundary-ok"}, 0, None)
    assert job.fields()["returnvalue"] == {"project": "boundary-ok"}
