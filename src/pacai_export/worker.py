"""The worker process: consume export jobs, report progress, send callbacks, drain on signals.

``ExportProcessor`` turns one BullMQ job into one export (the error → BullMQ mapping lives
here, in ``process``). ``WorkerService`` owns the process's resources — the two BullMQ
workers, the CPU pool, storage, the health server — and its lifecycle: start, stay up
through Redis outages, drain on SIGTERM/SIGINT within ``SHUTDOWN_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.cluster import RedisCluster

from . import workdirs
from .assets.cache import open_cache
from .callbacks import COMPLETED, FAILED, CallbackDelivery, CallbackOutbox, failed_data
from .errors import ExportError, InvalidInput, InvalidJob, JobStalled, error_code
from .jobs import ExportJob
from .logs import get_logger
from .metrics import Metrics, QueueGauges
from .pipeline import POOL_PRELOAD, Exporter
from .pool import CpuPool
from .queues import (
    STALLED_REASON,
    QueueJob,
    failed_since,
    is_running,
    job_counts,
    make_queue,
    make_worker,
    on,
    unrecoverable,
)
from .server import HealthServer
from .settings import Settings
from .signing import open_signer
from .storage import open_storage

log = get_logger("pacai_export.worker")
PING_INTERVAL = 2.0
SWEEP_BACK_MS = 3_600_000  # how far back a starting worker looks for stalled failures
# What is left after SHUTDOWN_TIMEOUT for everything else (ending the BullMQ loops, closing
# connections), whatever Redis does: an exit within SHUTDOWN_TIMEOUT + 2 s, before the
# platform's SIGKILL (Kubernetes' grace period, Fly's kill_timeout, `docker stop -t`).
EXIT_GRACE = 1.5
RUNNER_GRACE = 0.5  # how long the BullMQ loops may take to notice the drain
WORK_SWEEP_INTERVAL = 600.0  # seconds between sweeps of dead jobs' staging folders


def now_ms() -> int:
    return int(time.time() * 1000)


class JobProgress:
    """Reports a job's progress to BullMQ: a numeric percent that never goes down, and the
    stage as a job log line and a structured log line.

    Reports are buffered and written by one background task per job, a batch per Redis
    round trip, so the export never waits on Redis to say how far it got. ``close`` writes
    what is left and must be awaited before the job completes.
    """

    def __init__(self, job: QueueJob) -> None:
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

    async def process(self, job: QueueJob) -> dict[str, Any]:
        data = job.data if isinstance(job.data, dict) else {}
        project_id = data.get("project_id")  # user input: only a string reaches the logs
        structlog.contextvars.bind_contextvars(
            job_id=job.id, project_id=project_id if isinstance(project_id, str) else None)
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

    async def _run(self, job: QueueJob) -> dict[str, Any]:
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

    async def fail_stalled(self, job: QueueJob, reason: str) -> None:
        """A job BullMQ failed without running it: it stalled more than
        ``MAX_STALLED_COUNT`` times, and the processor never sees it again."""
        self.metrics.failed.labels(retryable="false").inc()
        log.error("job failed: it stalled too often", job_id=job.id, reason=reason,
                  attempts_made=job.attempts_made)
        await self.send_stalled(job, reason)

    async def send_stalled(self, job: QueueJob, reason: str) -> None:
        """That job's ``export.failed`` (a no-op if it is already on the callback queue)."""
        await self._send_failed(job, JobStalled(
            f"{reason}: its worker stopped mid-job (crashed, killed, or its event loop "
            f"blocked) more than MAX_STALLED_COUNT times"))

    async def _send_failed(self, job: QueueJob, exc: BaseException) -> None:
        if self.outbox is None:
            return
        data = job.data if isinstance(job.data, dict) else {}
        project_id = data.get("project_id")
        message = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
        await self.outbox.send(job.id, FAILED, failed_data(
            job.id, project_id if isinstance(project_id, str) else None, error_code(exc),
            message, job.attempts_made + 1))


class WorkerService:
    """One worker process: export jobs, callback deliveries, health server, lifecycle."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.redis_ok = False
        self.draining = False
        self._stop = asyncio.Event()
        self._signals = 0
        self._loop_tick = time.monotonic()
        self._exit_by = float("inf")  # set when the drain starts

    # --- state the health server reads ---------------------------------------------------

    def alive(self) -> bool:
        """The loop ticked recently (a blocked loop could not answer at all)."""
        return time.monotonic() - self._loop_tick < 10.0

    def ready(self) -> bool:
        return self.redis_ok and not self.draining and is_running(self.worker)

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, *, install_signals: bool = True) -> int:
        """Run until a signal (or ``stop()``); return the exit code (0 after a clean drain)."""
        s = self.settings
        self.signer = open_signer(s)  # a bad key or token stops start-up here (exit 2)
        client = RedisCluster if s.redis_cluster else aioredis.Redis
        self.redis = client.from_url(s.require_redis(), socket_connect_timeout=2,
                                     socket_timeout=5)
        # No more pool processes than cores: more would only add memory (each holds its own
        # imports and image buffers) without adding CPU.
        self.pool = CpuPool(min(s.concurrency, os.cpu_count() or 1), POOL_PRELOAD,
                            s.limits.pool_memory_bytes)
        self.storage = open_storage(s)
        self.queue = make_queue(s, s.queue_name)
        outbox, delivery = self._callbacks()
        exporter = Exporter(s, self.storage, self.pool, self.signer,
                            cache=open_cache(s, self.storage),
                            s3_client=getattr(self.storage, "client", None))
        processor = ExportProcessor(exporter, outbox, self.metrics)
        self.worker = make_worker(s, s.queue_name, processor.process, concurrency=s.concurrency)
        self.callback_worker = (
            make_worker(s, s.callback_queue_name, delivery.deliver, concurrency=8)
            if delivery else None)
        self._watch(self.worker, "export")
        self._pending: set[asyncio.Task[None]] = set()
        on(self.worker, "failed",
           lambda job, *_: self._on_failed(processor, QueueJob(job)))
        gauges = QueueGauges(self.metrics, lambda: job_counts(self.queue))
        server = HealthServer(self, self.metrics, gauges, s.health_port, s.health_host)
        if install_signals:
            self._install_signals()
        await server.start()
        tasks = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._ping()),
                 asyncio.create_task(self._sweep_work_folders(
                     exporter.work_root or Path(tempfile.gettempdir())))]
        if outbox is not None:
            tasks.append(asyncio.create_task(self._sweep_stalled(processor)))
        await self._check_redis_policy()
        runners = [asyncio.create_task(self.worker.run())]
        if self.callback_worker is not None:
            runners.append(asyncio.create_task(self.callback_worker.run()))
        log.info("worker started", queue=s.queue_name, prefix=s.queue_prefix,
                 concurrency=s.concurrency, health_host=s.health_host, health_port=server.port)
        await self._stop.wait()
        self._exit_by = time.monotonic() + s.shutdown_timeout + EXIT_GRACE
        clean = await self._drain()
        for task in tasks:
            task.cancel()
        await self._stop_runners(runners)
        await server.stop()
        try:
            await asyncio.wait_for(self._close_connections(delivery), self._time_left())
        except TimeoutError:
            log.warning("closing connections timed out; exiting anyway")
        await asyncio.to_thread(self.pool.close)  # idle, or terminated by the drain
        log.info("worker stopped", clean=clean)
        return 0 if clean else 1

    def stop(self) -> None:
        """Begin a graceful drain; a second call forces it."""
        self._signals += 1
        self.draining = True
        self._stop.set()
        if self._signals > 1:
            log.warning("second stop signal: closing now; active jobs go to stall recovery")
            self.worker.cancelProcessing()

    def _on_failed(self, processor: ExportProcessor, job: QueueJob) -> None:
        """BullMQ's ``failed`` event. Failures of our processor already sent their callback;
        a deferred failure (a job that stalled too often) never reached it."""
        reason = job.deferred_failure
        if reason is None:
            return
        task = asyncio.create_task(processor.fail_stalled(job, reason))
        self._pending.add(task)  # awaited before the worker exits (_drain)
        task.add_done_callback(self._pending.discard)

    def _callbacks(self) -> tuple[CallbackOutbox | None, CallbackDelivery | None]:
        s = self.settings
        if not s.callback_url or not s.callback_secret:
            return None, None
        self.callback_queue = make_queue(s, s.callback_queue_name)
        return (CallbackOutbox(self.callback_queue, s.callback_max_attempts),
                CallbackDelivery(s.callback_url, s.callback_secret, self.metrics))

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal received; draining", signal=sig.name,
                 timeout=self.settings.shutdown_timeout)
        self.stop()

    async def _drain(self) -> bool:
        """Stop taking jobs, let active ones finish within SHUTDOWN_TIMEOUT."""
        self.draining = True
        closing = [self.worker]
        if self.callback_worker is not None:
            closing.append(self.callback_worker)
        close = asyncio.gather(*(w.close() for w in closing))
        try:
            await asyncio.wait_for(asyncio.shield(close), self.settings.shutdown_timeout)
            if self._pending:  # callbacks of deferred failures still being enqueued
                await asyncio.wait(self._pending, timeout=5)
            return True
        except TimeoutError:
            log.warning("shutdown timeout: leaving unfinished jobs to stall recovery",
                        active=len(self.worker.jobs))
            # forceClosing first: a job whose pool work dies below must not be moved to
            # failed (spending an attempt); it stays active for stall recovery.
            for w in closing:
                w.forceClosing = True
                w.cancelProcessing()
            self.pool.terminate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close, self._time_left())
            return False

    def _time_left(self) -> float:
        return max(0.1, self._exit_by - time.monotonic())

    async def _stop_runners(self, runners: list[asyncio.Task[Any]]) -> None:
        """Wait briefly for the BullMQ loops to end, then cancel them: a loop that never got
        to Redis (it retries its first command forever) would otherwise never return."""
        _, pending = await asyncio.wait(runners, timeout=min(RUNNER_GRACE, self._time_left()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    async def _close_connections(self, delivery: CallbackDelivery | None) -> None:
        with contextlib.suppress(Exception):
            await self.queue.close()
        if delivery is not None:
            await delivery.aclose()
            with contextlib.suppress(Exception):
                await self.callback_queue.close()
        await self.storage.aclose()
        if self.signer is not None:
            await self.signer.aclose()
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    # --- background checks ----------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            self._loop_tick = time.monotonic()
            await asyncio.sleep(1.0)

    async def _ping(self) -> None:
        """Track Redis reachability for /ready, logging each change once."""
        while True:
            try:
                ok = bool(await asyncio.wait_for(self.redis.ping(), 2.0))
            except Exception:
                ok = False
            if ok != self.redis_ok:
                (log.info if ok else log.error)("redis reachable" if ok else "redis unreachable")
            self.redis_ok = ok
            self.metrics.redis_up.set(1 if ok else 0)
            await asyncio.sleep(PING_INTERVAL)

    async def _sweep_stalled(self, processor: ExportProcessor) -> None:
        """Every STALLED_INTERVAL, the jobs failed for stalling since the last look get their
        ``export.failed``: the worker that failed one may have died before sending it
        (``_on_failed``). The callback's job id makes a second send a no-op, so every worker
        of the fleet can sweep. At start the look goes back SWEEP_BACK_MS."""
        interval_ms = self.settings.stalled_interval_ms
        since = now_ms() - SWEEP_BACK_MS
        sent: set[str] = set()
        while True:
            await asyncio.sleep(interval_ms / 1000)
            started = now_ms()
            try:
                for job in await failed_since(self.queue, since):
                    if job.failed_reason == STALLED_REASON and job.id not in sent:
                        await processor.send_stalled(job, STALLED_REASON)
                        sent.add(job.id)
            except Exception as exc:  # Redis away: the next look covers this one's window
                log.warning("stalled-job sweep failed", error=str(exc))
                continue
            since = started - 2 * interval_ms  # overlap: a failure written as we looked
            if len(sent) > 10_000:
                sent.clear()

    async def _sweep_work_folders(self, root: Path) -> None:
        """At start and every WORK_SWEEP_INTERVAL: remove the staging folders of jobs whose
        process died mid-job (``workdirs``: only folders no live process holds)."""
        while True:
            try:
                removed = await asyncio.to_thread(workdirs.sweep, root)
            except OSError as exc:
                log.warning("work folder sweep failed", error=str(exc))
            else:
                if removed:
                    log.info("stale work folders removed", count=len(removed),
                             folders=removed[:20])
            await asyncio.sleep(WORK_SWEEP_INTERVAL)

    async def _check_redis_policy(self) -> None:
        try:
            policy = (await self.redis.config_get("maxmemory-policy")).get("maxmemory-policy")
        except Exception as exc:  # managed Redis may forbid CONFIG; Redis may be down
            log.warning("could not read Redis maxmemory-policy; it must be noeviction",
                        error=str(exc))
            return
        if policy != "noeviction":
            log.warning("REDIS MISCONFIGURED: maxmemory-policy is not noeviction; Redis may "
                        "evict queue keys and lose jobs", maxmemory_policy=policy)

    def _watch(self, worker: Any, name: str) -> None:
        last: dict[str, float] = {}

        def on_error(err: Exception, *_: Any) -> None:
            # BullMQ retries its own Redis calls; log each kind of error at most every 10 s.
            kind = type(err).__name__
            if time.monotonic() - last.get(kind, float("-inf")) > 10:
                last[kind] = time.monotonic()
                log.warning("bullmq worker error", worker=name, error=f"{kind}: {err}")

        on(worker, "error", on_error)
        on(worker, "stalled", lambda job_id, *_: log.warning("job stalled; requeued",
                                                             stalled_job_id=job_id))
