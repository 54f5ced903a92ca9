"""Queue overhead: our worker's per-job machinery against a bare BullMQ worker, same run.

Both consume N trivial jobs from their own queue on the same Redis with the same
concurrency. The bare worker's processor returns at once. Ours runs the full job path —
job validation, progress reports and job logs in Redis, structured logs, metrics, the result
model — around an export stage replaced by a stand-in that returns a fixed result
(``InstantExporter``), so the figure isolates what the worker adds per job, not the export.

    .venv/bin/python bench/queue_overhead.py [--jobs 2000] [--concurrency 4] [--rounds 3]

A third worker, "bare + progress(100)", does only what the contract demands of every job
(numeric progress that ends at 100): the floor any conforming worker pays. Prints jobs/s
for each and the ratios ours / bare (goal ≥ 0.9) and ours / floor. Uses REDIS_URL, else
127.0.0.1:6379, else an embedded Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import bullmq
import redis

from pacai_export.jobs import ExportJob, ExportResult
from pacai_export.logs import configure
from pacai_export.metrics import Metrics
from pacai_export.processor import ExportProcessor
from pacai_export.queues import ExportWorker, JobView
from pacai_export.redis_server import EmbeddedRedis
from pacai_export.settings import Settings

JOB = {"project_id": "bench", "engines": ["godot"], "include_assets": False, "quality": "low"}


class InstantExporter:
    """Stand-in for ``Exporter`` (named as such): reports one stage and returns at once."""

    async def export(self, job: ExportJob, job_id: str, report: Any, **_: Any) -> ExportResult:
        await report(50, "building", engine="godot")
        return ExportResult(project_id=job.project_id, job_id=job_id, engines=list(job.engines),
                            quality=job.quality, include_assets=job.include_assets,
                            download_url="file:///dev/null", key="bench/0/bench.zip", bytes=0,
                            sha256="0" * 64, files=0, signed=False, duration_ms=0)


async def consume(url: str, name: str, jobs: int,
                  make: Callable[[str, Callable[[], None]], Any]) -> float:
    """Fill a queue with ``jobs`` jobs, then time one worker draining it."""
    queue = bullmq.Queue(name, {"connection": url})
    await queue.addBulk([{"name": "export", "data": JOB, "opts": {"removeOnComplete": True}}
                         for _ in range(jobs)])
    done = asyncio.Event()
    count = 0

    def completed() -> None:
        nonlocal count
        count += 1
        if count == jobs:
            done.set()

    worker = make(name, completed)
    started = time.perf_counter()
    runner = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=max(60.0, jobs / 10))
    except TimeoutError:
        raise SystemExit(f"{name}: only {count} of {jobs} jobs completed in time") from None
    elapsed = time.perf_counter() - started
    await (worker.drain(60) if isinstance(worker, ExportWorker) else worker.close())
    await runner
    await queue.obliterate(force=True)
    await queue.close()
    return jobs / elapsed


def bare(url: str, concurrency: int) -> Callable[[str, Callable[[], None]], Any]:
    def make(name: str, completed: Callable[[], None]) -> Any:
        async def noop(job: Any, token: str) -> dict[str, str]:  # noqa: ARG001 (bullmq passes the lock token)
            return {"ok": "yes"}
        worker = bullmq.Worker(name, noop, {"connection": url, "concurrency": concurrency,
                                            "autorun": False})
        worker.on("completed", lambda *_: completed())
        return worker
    return make


def floor(url: str, concurrency: int) -> Callable[[str, Callable[[], None]], Any]:
    """A bare worker doing only what the contract demands of every job: progress ends at 100."""
    def make(name: str, completed: Callable[[], None]) -> Any:
        async def progress_only(job: Any, token: str) -> dict[str, str]:  # noqa: ARG001 (bullmq passes the lock token)
            await job.updateProgress(100)
            return {"ok": "yes"}
        worker = bullmq.Worker(name, progress_only, {"connection": url,
                                                     "concurrency": concurrency, "autorun": False})
        worker.on("completed", lambda *_: completed())
        return worker
    return make


def ours(url: str, concurrency: int) -> Callable[[str, Callable[[], None]], Any]:
    def make(name: str, completed: Callable[[], None]) -> Any:
        settings = Settings(redis_url=url, queue_name=name)
        processor = ExportProcessor(InstantExporter(), None, Metrics())  # type: ignore[arg-type]
        run: Callable[[JobView], Awaitable[Any]] = processor.process

        async def process(job: JobView) -> Any:
            value = await run(job)
            completed()  # as the job's processor returns, just before BullMQ records it
            return value

        return ExportWorker(settings, name, process, concurrency=concurrency)
    return make


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # The worker logs one JSON line per stage; send them where a fleet would, not the terminal.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115, ASYNC230 (once, before any job runs)
    configure(os.environ.get("BENCH_LOG_LEVEL", "info"), "json")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    embedded = None
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        embedded = EmbeddedRedis().start()
        url = embedded.url
    results: dict[str, list[float]] = {"bare": [], "floor": [], "ours": []}
    for _ in range(args.rounds):  # interleaved, so machine noise hits all alike
        for label, factory in (("bare", bare), ("floor", floor), ("ours", ours)):
            rate = await consume(url, f"bench{uuid.uuid4().hex[:8]}", args.jobs,
                                 factory(url, args.concurrency))
            results[label].append(rate)
    if embedded:
        embedded.stop()
    b, f, o = (statistics.median(results[k]) for k in ("bare", "floor", "ours"))
    print(f"queue overhead: {args.jobs} trivial jobs x {args.rounds} rounds, "
          f"concurrency {args.concurrency}, redis {url}")
    print(f"  bare bullmq worker (no-op):  {b:8.1f} jobs/s  (rounds: "
          f"{', '.join(f'{r:.0f}' for r in results['bare'])})")
    print(f"  bare + progress(100):        {f:8.1f} jobs/s  (rounds: "
          f"{', '.join(f'{r:.0f}' for r in results['floor'])})")
    print(f"  pacai-export worker path:    {o:8.1f} jobs/s  (rounds: "
          f"{', '.join(f'{r:.0f}' for r in results['ours'])})")
    print(f"  ratio ours / bare:           {o / b:8.2f}  (goal >= 0.90)")
    print(f"  ratio ours / bare+progress:  {o / f:8.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    asyncio.run(main())
