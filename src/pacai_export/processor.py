"""One BullMQ job → one export: ``ExportProcessor`` runs it and maps its errors to BullMQ's
(the one place an ``InvalidInput`` becomes an ``UnrecoverableError``); ``JobProgress``
reports how far it got.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from .callbacks import COMPLETED, FAILED, CallbackOutbox, failed_data
from .errors import ExportError, InvalidInput, InvalidJob, JobStalled, error_code
from .jobs import ExportJob
from .logs import get_logger
from .metrics import Metrics
from .pipeline import Exporter
from .queues import JobView, unrecoverable

log = get_logger("pacai_export.worker")  # the job lines keep the logger they always had


class JobProgress:
    """Reports a job's progress to BullMQ: a numeric percent that never goes down, and the
    stage as a job log line and a structured log line.

    Reports are buffered and written by one background task per job, a batch per Redis
    round trip, so the export never waits on Redis to say how far it got. ``close`` writes
    what is left and must be awaited before the job completes.
    """

    def __init__(self, job: JobView) -> None:
        self.job = job
        self.percent = job.progress  # a re-run after a stall continues from here
        self._lines: list[str] = []
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, percent: int, stage: str, **fields: Any) -> None:
        details = "".join(f" {k}={v}" for k, v in fields.items())
        self._lines.append(f"stage={stage}{details}")
        if percent > self.percent:
            self.percent = percent
            self._dirty = True
        log.info("stage", stage=stage, percent=self.percent, **fields)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._lines or self._dirty:
            lines, self._lines = self._lines, []
            percent, self._dirty = (self.percent if self._dirty else None), False
            await self.job.write_progress(lines, percent)

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer
        if self._lines or self._dirty:  # the writer failed or was never started
            await self._write()


class ExportProcessor:
    def __init__(self, exporter: Exporter, outbox: CallbackOutbox | None, metrics: Metrics) -> None:
        self.exporter = exporter
        self.outbox = outbox
        self.metrics = metrics

    async def process(self, job: JobView) -> dict[str, Any]:
        structlog.contextvars.bind_contextvars(job_id=job.id, project_id=_project_id(job))
        started = time.monotonic()
        self.metrics.active.inc()
        try:
            return await self._run(job)
        except InvalidInput as exc:
            self.metrics.failed.labels(retryable="false").inc()
            log.warning("job is invalid; failing it without retry", error=str(exc),
                        code=exc.code)
            await self._send_failed(job, exc)
            raise unrecoverable(str(exc)) from exc
        except Exception as exc:
            final = job.is_last_attempt
            self.metrics.failed.labels(retryable=str(not final).lower()).inc()
            if isinstance(exc, ExportError):
                log.warning("job attempt failed", error=str(exc), code=exc.code, final=final)
            else:
                log.exception("job attempt failed with an unexpected error", final=final)
            if final:
                await self._send_failed(job, exc)
            raise
        finally:
            self.metrics.active.dec()
            self.metrics.duration.observe(time.monotonic() - started)
            structlog.contextvars.unbind_contextvars("job_id", "project_id")

    async def _run(self, job: JobView) -> dict[str, Any]:
        report = JobProgress(job)
        try:
            if job.decode_error is not None:
                raise InvalidJob(job.decode_error)
            export_job, extras = ExportJob.parse(job.data)
            if extras:
                log.warning("job data has unknown keys; ignored", keys=extras)
            await report(5, "accepted", engines=",".join(export_job.engines))
            result = await self.exporter.export(export_job, job.id, report)
            value = result.model_dump(mode="json")
            if self.outbox is not None:
                # Enqueued before the job completes: if this process dies now, the re-run
                # adds the same webhook-id again, which BullMQ ignores: nothing lost or doubled.
                await self.outbox.send(job.id, COMPLETED, value)
            await report(100, "done", key=result.key, reused=result.reused)
        finally:
            await report.close()
        self.metrics.completed.inc()
        log.info("job completed", key=result.key, bytes=result.bytes,
                 duration_ms=result.duration_ms, reused=result.reused)
        return value

    async def fail_stalled(self, job: JobView, reason: str) -> None:
        """A job BullMQ failed without running it: it stalled more than
        ``MAX_STALLED_COUNT`` times, and the processor never sees it again."""
        self.metrics.failed.labels(retryable="false").inc()
        log.error("job failed: it stalled too often", job_id=job.id, reason=reason,
                  attempts_made=job.attempts_made)
        await self.send_stalled(job, reason)

    async def send_stalled(self, job: JobView, reason: str) -> None:
        """That job's ``export.failed`` (a no-op if it is already on the callback queue)."""
        await self._send_failed(job, JobStalled(
            f"{reason}: its worker stopped mid-job (crashed, killed, or its event loop "
            f"blocked) more than MAX_STALLED_COUNT times"))

    async def _send_failed(self, job: JobView, exc: BaseException) -> None:
        if self.outbox is None:
            return
        message = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
        await self.outbox.send(job.id, FAILED, failed_data(
            job.id, _project_id(job), error_code(exc), message, job.attempts_made + 1))


def _project_id(job: JobView) -> str | None:
    """The job's ``project_id`` if it is a string: it is user input, so nothing else reaches
    the logs or the failure callback."""
    data = job.data if isinstance(job.data, dict) else {}
    project_id = data.get("project_id")
    return project_id if isinstance(project_id, str) else None
