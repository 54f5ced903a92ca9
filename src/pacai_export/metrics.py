"""Prometheus metrics of one worker process (§9.1), on a registry of its own."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.completed = Counter("pacai_export_jobs_completed", "Export jobs completed.",
                                 registry=r)
        self.failed = Counter("pacai_export_jobs_failed",
                              "Export job attempts that failed; retryable=true will be retried.",
                              ["retryable"], registry=r)
        self.duration = Histogram("pacai_export_job_duration_seconds",
                                  "Wall time of export job attempts.", buckets=DURATION_BUCKETS,
                                  registry=r)
        self.active = Gauge("pacai_export_jobs_active", "Export jobs running in this process.",
                            registry=r)
        self.queue_jobs = Gauge("pacai_export_queue_jobs", "Jobs in the export queue by state.",
                                ["state"], registry=r)
        self.callbacks = Counter("pacai_export_callback_deliveries",
                                 "Callback delivery attempts by outcome "
                                 "(delivered, retry, gone, gave_up).", ["outcome"], registry=r)
        self.redis_up = Gauge("pacai_export_redis_up", "1 when Redis answered the last ping.",
                              registry=r)
        for label in ("true", "false"):
            self.failed.labels(retryable=label)
        for outcome in ("delivered", "retry", "gone", "gave_up"):
            self.callbacks.labels(outcome=outcome)


class QueueGauges:
    """Refreshes the queue gauges from BullMQ's job counts at most once per ``ttl`` seconds,
    so a scrape storm never turns into a Redis storm."""

    def __init__(self, metrics: Metrics, counts: Callable[[], Awaitable[Mapping[str, int]]],
                 ttl: float = 5.0) -> None:
        self._metrics = metrics
        self._counts = counts
        self._ttl = ttl
        self._at = float("-inf")

    async def refresh(self) -> None:
        now = time.monotonic()
        if now - self._at < self._ttl:
            return
        self._at = now
        counts = await self._counts()
        for state, count in counts.items():  # every state of queues.QUEUE_STATES
            self._metrics.queue_jobs.labels(state=state).set(count)


def render(metrics: Metrics) -> bytes:
    return generate_latest(metrics.registry)
