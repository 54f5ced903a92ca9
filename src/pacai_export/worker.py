"""The worker process: consume export jobs, send callbacks, drain on signals.

``WorkerService`` takes its resources from ``open_runtime`` (storage, pool, exporter, Redis,
queues), runs the two BullMQ consumers (``ExportProcessor`` for exports, ``CallbackDelivery``
for webhooks), the health server and the background loops, and owns the lifecycle: start,
stay up through Redis outages, drain on SIGTERM/SIGINT within ``SHUTDOWN_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from . import workdirs
from .callbacks import CallbackDelivery
from .logs import get_logger
from .metrics import Metrics, QueueGauges
from .processor import ExportProcessor
from .queues import STALLED_REASON, ExportWorker, JobView, failed_since, job_counts
from .runtime import Runtime, open_runtime
from .server import HealthServer
from .settings import Settings

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


class WorkerService:
    """One worker process: export jobs, callback deliveries, health server, lifecycle."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.redis_ok = False
        self.draining = False
        self.worker: ExportWorker | None = None
        self.callback_worker: ExportWorker | None = None
        self._stop = asyncio.Event()
        self._signals = 0
        self._loop_tick = time.monotonic()
        self._exit_by = float("inf")  # set when the drain starts
        self._pending: set[asyncio.Task[None]] = set()

    # --- state the health server reads ---------------------------------------------------

    def alive(self) -> bool:
        """The loop ticked recently (a blocked loop could not answer at all)."""
        return time.monotonic() - self._loop_tick < 10.0

    def ready(self) -> bool:
        return (self.redis_ok and not self.draining and self.worker is not None
                and self.worker.running)

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, *, install_signals: bool = True) -> int:
        """Run until a signal (or ``stop()``); return the exit code (0 after a clean drain)."""
        async with open_runtime(self.settings) as rt:
            return await self._serve(rt, install_signals)

    async def _serve(self, rt: Runtime, install_signals: bool) -> int:
        s = self.settings
        exporter = rt.require_exporter()
        processor = ExportProcessor(exporter, rt.outbox, self.metrics)
        self.worker = ExportWorker(s, s.queue_name, processor.process, concurrency=s.concurrency)
        delivery = (CallbackDelivery(s.callback_url, s.callback_secret, self.metrics)
                    if rt.outbox is not None and s.callback_url and s.callback_secret else None)
        if delivery is not None:
            self.callback_worker = ExportWorker(s, s.callback_queue_name, delivery.deliver,
                                                concurrency=8)
        self._watch(self.worker, "export")
        self.worker.on_failed(lambda job: self._on_failed(processor, job))
        queue = rt.require_queue()
        gauges = QueueGauges(self.metrics, lambda: job_counts(queue))
        server = HealthServer(self, self.metrics, gauges, s.health_port, s.health_host)
        if install_signals:
            self._install_signals()
        await server.start()
        tasks = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._ping(rt)),
                 asyncio.create_task(self._sweep_work_folders(
                     exporter.work_root or Path(tempfile.gettempdir())))]
        if rt.outbox is not None:
            tasks.append(asyncio.create_task(self._sweep_stalled(processor, queue)))
        await self._check_redis_policy(rt)
        runners = [asyncio.create_task(w.run()) for w in self._consumers()]
        log.info("worker started", queue=s.queue_name, prefix=s.queue_prefix,
                 concurrency=s.concurrency, health_host=s.health_host, health_port=server.port)
        await self._stop.wait()
        self._exit_by = time.monotonic() + s.shutdown_timeout + EXIT_GRACE
        clean = await self._drain(rt)
        for task in tasks:
            task.cancel()
        await self._stop_runners(runners)
        await server.stop()
        if delivery is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(delivery.aclose(), self._time_left())
        rt.close_by = self._exit_by  # the runtime closes the rest within what is left
        log.info("worker stopped", clean=clean)
        return 0 if clean else 1

    def stop(self) -> None:
        """Begin a graceful drain; a second call forces it."""
        self._signals += 1
        self.draining = True
        self._stop.set()
        if self._signals > 1 and self.worker is not None:
            log.warning("second stop signal: closing now; active jobs go to stall recovery")
            self.worker.force_close()

    def _consumers(self) -> list[ExportWorker]:
        return [w for w in (self.worker, self.callback_worker) if w is not None]

    def _on_failed(self, processor: ExportProcessor, job: JobView) -> None:
        """BullMQ's ``failed`` event. Failures of our processor already sent their callback;
        a deferred failure (a job that stalled too often) never reached it."""
        reason = job.deferred_failure
        if reason is None:
            return
        task = asyncio.create_task(processor.fail_stalled(job, reason))
        self._pending.add(task)  # awaited before the worker exits (_drain)
        task.add_done_callback(self._pending.discard)

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal received; draining", signal=sig.name,
                 timeout=self.settings.shutdown_timeout)
        self.stop()

    async def _drain(self, rt: Runtime) -> bool:
        """Stop taking jobs, let active ones finish within SHUTDOWN_TIMEOUT."""
        self.draining = True
        consumers = self._consumers()
        timeout = self.settings.shutdown_timeout
        drained = await asyncio.gather(*(w.drain(timeout) for w in consumers))
        if all(drained):
            if self._pending:  # callbacks of deferred failures still being enqueued
                await asyncio.wait(self._pending, timeout=5)
            return True
        log.warning("shutdown timeout: leaving unfinished jobs to stall recovery",
                    active=sum(w.active for w in consumers))
        # Force-closed first: a job whose pool work dies below must not be moved to failed
        # (spending an attempt); it stays active for stall recovery.
        for w in consumers:
            w.force_close()
        if rt.pool is not None:
            rt.pool.terminate()
        await asyncio.gather(*(w.drain(self._time_left()) for w in consumers))
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

    # --- background checks ----------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            self._loop_tick = time.monotonic()
            await asyncio.sleep(1.0)

    async def _ping(self, rt: Runtime) -> None:
        """Track Redis reachability for /ready, logging each change once."""
        assert rt.redis is not None
        while True:
            try:
                ok = bool(await asyncio.wait_for(rt.redis.ping(), 2.0))
            except Exception:
                ok = False
            if ok != self.redis_ok:
                (log.info if ok else log.error)("redis reachable" if ok else "redis unreachable")
            self.redis_ok = ok
            self.metrics.redis_up.set(1 if ok else 0)
            await asyncio.sleep(PING_INTERVAL)

    async def _sweep_stalled(self, processor: ExportProcessor, queue: Any) -> None:
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
                for job in await failed_since(queue, since):
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

    async def _check_redis_policy(self, rt: Runtime) -> None:
        assert rt.redis is not None
        try:
            policy = (await rt.redis.config_get("maxmemory-policy")).get("maxmemory-policy")
        except Exception as exc:  # managed Redis may forbid CONFIG; Redis may be down
            log.warning("could not read Redis maxmemory-policy; it must be noeviction",
                        error=str(exc))
            return
        if policy != "noeviction":
            log.warning("REDIS MISCONFIGURED: maxmemory-policy is not noeviction; Redis may "
                        "evict queue keys and lose jobs", maxmemory_policy=policy)

    def _watch(self, worker: ExportWorker, name: str) -> None:
        last: dict[str, float] = {}

        def on_error(err: Exception) -> None:
            # BullMQ retries its own Redis calls; log each kind of error at most every 10 s.
            kind = type(err).__name__
            if time.monotonic() - last.get(kind, float("-inf")) > 10:
                last[kind] = time.monotonic()
                log.warning("bullmq worker error", worker=name, error=f"{kind}: {err}")

        worker.on_error(on_error)
        worker.on_stalled(lambda job_id: log.warning("job stalled; requeued",
                                                     stalled_job_id=job_id))
