"""Python producer: enqueue exports the way the API does, read their status, wait for them.

Interchangeable with a Node producer using npm ``bullmq``: same queue, same job options.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .jobs import ExportJob
from .queues import (
    DEFAULT_JOB_OPTIONS,
    TERMINAL_STATES,
    add_job,
    get_job,
    job_state,
    make_queue,
)
from .settings import Settings


class ExportClient:
    def __init__(self, settings: Settings, *, bounded: bool = False) -> None:
        """``bounded``: give up within seconds when Redis is unreachable (for the API)."""
        self.queue = make_queue(settings, settings.queue_name, bounded=bounded)

    async def enqueue(self, data: dict[str, Any], job_id: str | None = None) -> str:
        """Validate ``data`` as an ExportJob (raising ``InvalidJob``) and add it."""
        ExportJob.parse(data)
        opts = dict(DEFAULT_JOB_OPTIONS)
        if job_id is not None:
            opts["jobId"] = job_id
        return await add_job(self.queue, "export", data, opts)

    async def status(self, job_id: str) -> dict[str, Any] | None:
        # State first: a job read before its state could predate the completion it reports.
        state = await job_state(self.queue, job_id)
        job = await get_job(self.queue, job_id)
        if job is None:
            return None
        status: dict[str, Any] = {"id": job_id, "state": state, "progress": job.progress,
                                  "attempts_made": job.attempts_made}
        if state == "completed":
            status["result"] = job.result
        if job.failed_reason:
            status["error"] = job.failed_reason
        return status

    async def wait(self, job_id: str, on_progress: Callable[[int], Awaitable[None]] | None = None,
                   poll: float = 0.25) -> dict[str, Any]:
        """Poll until the job completes or fails; report numeric progress on the way."""
        while True:
            status = await self.status(job_id)
            if status is None:
                raise LookupError(f"job {job_id!r} not found in the queue")
            if on_progress is not None:
                await on_progress(status["progress"])
            if status["state"] in TERMINAL_STATES:
                return status
            await asyncio.sleep(poll)

    async def aclose(self) -> None:
        await self.queue.close()
