"""The BullMQ adapter: the only module that speaks ``bullmq`` and its camelCase names.

Everything else sees ``JobView`` (one typed view of a job, for the worker, the client and the
API alike), ``ExportWorker`` (a consumer: ``run``, ``drain``, ``force_close``, ``active``),
``redis_client`` (every Redis client of the service is built there) and plain functions over
a queue. The Python ``bullmq`` package runs the same Lua scripts and key layout as npm
``bullmq``, so jobs added by a Node producer are consumed here unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import bullmq
from bullmq import UnrecoverableError
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .settings import Settings

# Every state BullMQ keeps a job in, and the two a job ends in.
QUEUE_STATES = ("waiting", "active", "delayed", "prioritized", "failed", "completed", "paused")
TERMINAL_STATES = ("completed", "failed")

# The contract's default job options for our producers (§2).
DEFAULT_JOB_OPTIONS: dict[str, Any] = {
    "attempts": 3,
    "backoff": {"type": "exponential", "delay": 2000},
    "removeOnComplete": {"age": 86400, "count": 10000},
    "removeOnFail": {"age": 604800},
}
CALLBACK_BACKOFF = "webhook"
CALLBACK_BASE_DELAY_MS = 1000
CALLBACK_MAX_DELAY_MS = 3_600_000
# BullMQ's default length of the events stream (``streams.events.maxLen``), trimmed approximately.
EVENTS_MAX_LEN = 10_000
LOG_EVENT = "log"  # our own event in that stream: one line of the job's log (a stage line)


def percent(value: object) -> int:
    """BullMQ progress as the contract's integer percent, 0 to 100 (a Node producer may
    store anything there)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0, min(100, int(value)))
    return 0


@dataclasses.dataclass
class JobView:
    """A BullMQ job without BullMQ's spelling: what the worker, the client and the API read."""

    raw: bullmq.Job

    @property
    def id(self) -> str:
        return str(self.raw.id)

    @property
    def name(self) -> str:
        return str(self.raw.name)

    @property
    def data(self) -> Any:
        return self.raw.data

    @property
    def decode_error(self) -> str | None:
        """Why the job's stored fields could not be decoded (its data then reads as None)."""
        reason = getattr(self.raw, UNDECODABLE, None)
        return str(reason) if reason else None

    @property
    def attempts_made(self) -> int:
        return int(self.raw.attemptsMade or 0)

    @property
    def attempts(self) -> int:
        return max(1, int(self.raw.opts.get("attempts") or 1))

    @property
    def is_last_attempt(self) -> bool:
        return self.attempts_made + 1 >= self.attempts

    @property
    def failed_reason(self) -> str | None:
        return str(self.raw.failedReason) if self.raw.failedReason else None

    @property
    def result(self) -> Any:
        """What the job's processor returned (BullMQ's ``returnvalue``)."""
        return self.raw.returnvalue

    @property
    def deferred_failure(self) -> str | None:
        """Why BullMQ failed this job without running it (a job that stalled more than
        ``maxStalledCount`` times is failed by the next worker that takes it), or None."""
        reason = getattr(self.raw, "deferredFailure", None)
        return str(reason) if reason else None

    @property
    def progress(self) -> int:
        return percent(self.raw.progress)

    def fields(self) -> dict[str, Any]:
        """The job's fields in snake_case: what the API and the dashboard show of it."""
        job = self.raw
        return {
            "id": self.id,
            "name": job.name,
            "data": job.data,
            "progress": job.progress,
            "attempts_made": self.attempts_made,
            "failed_reason": job.failedReason or None,
            "returnvalue": job.returnvalue,
            "timestamp": int(job.timestamp or 0),
            "processed_on": int(job.processedOn or 0) or None,
            "finished_on": int(job.finishedOn or 0) or None,
        }

    async def write_progress(self, lines: list[str], percent: int | None) -> None:
        """Append ``lines`` to the job's log and set its progress, in one Redis round trip.

        The same writes as ``job.log`` and ``job.updateProgress`` (the Lua script, so
        QueueEvents listeners still get their ``progress`` event), pipelined. Each line is
        also published on the queue's events stream as a ``log`` event, which the API's live
        view streams (QueueEvents listeners see it as a custom event).
        """
        scripts = self.raw.backend.scripts
        conn = self.raw.backend.connection.conn
        pipe = conn.pipeline(transaction=False)
        if lines:
            logs_key = scripts.toKey(f"{self.raw.id}:logs")
            pipe.rpush(logs_key, *lines)
            keep = int(self.raw.opts.get("keepLogs") or 0)
            if keep:
                pipe.ltrim(logs_key, -keep, -1)
            for line in lines:
                pipe.xadd(scripts.keys["events"], self._log_event(line),
                          maxlen=EVENTS_MAX_LEN, approximate=True)
        if percent is not None:
            self.raw.progress = percent
            update = functools.partial(
                scripts.commands["updateProgress"],
                keys=[scripts.toKey(self.raw.id), scripts.keys["events"], scripts.keys["meta"]],
                args=[self.raw.id, json.dumps(percent)])
            if isinstance(conn, RedisCluster):
                # redis-py refuses EVALSHA in a cluster pipeline: the script runs after it.
                await pipe.execute()
                await update()
                return
            await update(client=pipe)
        await pipe.execute()

    def _log_event(self, line: str) -> dict[str, str]:
        return {"event": LOG_EVENT, "jobId": str(self.raw.id), "data": line}


# --- decoding a job's hash -------------------------------------------------------------------
#
# bullmq decodes a job's JSON fields with json.loads wherever it reads a job. Data nested a
# few thousand deep (any producer may add it) raises RecursionError there: in the worker
# before our processor runs (the job stalls and comes back forever), and in every read of
# the API and the dashboard. Each read below decodes tolerantly instead: a field that cannot
# be decoded is replaced by a neutral value and the reason is kept on the job, so the worker
# fails it for good with that reason and the views show it like any other job.

UNDECODABLE = "pacai_undecodable"  # attribute of a bullmq.Job: why its fields did not decode
_DECODE_ERRORS = (RecursionError, ValueError, TypeError, MemoryError)
_NEUTRAL = {"data": "null", "opts": "{}", "progress": "0", "stacktrace": "[]"}


def _why(field: str, value: Any) -> str | None:
    try:
        json.loads(value)
    except RecursionError:
        return f"{field}: cannot be decoded: JSON nested deeper than the decoder allows"
    except _DECODE_ERRORS as exc:
        return f"{field}: cannot be decoded: {type(exc).__name__}: {str(exc)[:200]}"
    return None


def _neutralised(raw: dict[Any, Any]) -> tuple[dict[Any, Any], str]:
    """``raw`` with each JSON field that fails to decode replaced; the reasons, joined."""
    safe = dict(raw)
    reasons = []
    for field, neutral in _NEUTRAL.items():
        reason = _why(field, safe[field]) if safe.get(field) is not None else None
        if reason is not None:
            safe[field] = neutral
            reasons.append(reason)
    if safe.get("parent") is not None and _why("parent", safe["parent"]) is not None:
        del safe["parent"]
        reasons.append("parent: cannot be decoded")
    return safe, "; ".join(reasons) or "the job's fields cannot be decoded"


def decode_job(queue: Any, raw: dict[Any, Any], job_id: str) -> bullmq.Job:
    """``Job.fromJSON``, but a job whose fields cannot be decoded still comes back."""
    try:
        return bullmq.Job.fromJSON(queue, raw, job_id)
    except _DECODE_ERRORS:
        safe, reason = _neutralised(raw)
    job = bullmq.Job.fromJSON(queue, safe, job_id)
    setattr(job, UNDECODABLE, reason)
    return job


class _Worker(bullmq.Worker):  # type: ignore[misc]  # bullmq is untyped
    """A bullmq worker that hands undecodable jobs to the processor instead of failing to
    take them (which left them active, to stall and be taken again forever)."""

    async def nextJobFromJobData(self, job_data: Any = None, job_id: Any = None,
                                 *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().nextJobFromJobData(job_data, job_id, *args, **kwargs)
        except _DECODE_ERRORS:
            safe, reason = _neutralised(job_data)
        job = await super().nextJobFromJobData(safe, job_id, *args, **kwargs)
        if job is not None:
            setattr(job, UNDECODABLE, reason)
        return job


def redis_client(settings: Settings, *, name: str | None = None,
                 socket_timeout: float | None = 5.0, bounded: bool = False) -> Redis | RedisCluster:
    """The one way this service builds a Redis client (``REDIS_CLUSTER`` decides the kind).

    ``name``: shown by ``CLIENT LIST``. ``socket_timeout``: None for clients bullmq blocks on.
    ``bounded``: one connection that gives up on an unreachable Redis within seconds
    (bullmq's own client retries 20 times with backoff up to 20 s, right for a worker that
    must ride out an outage, wrong for an HTTP request waiting on it); not for Cluster.
    """
    url = settings.require_redis()
    if settings.redis_cluster:
        return RedisCluster.from_url(url, decode_responses=True, client_name=name,
                                     socket_timeout=socket_timeout)
    if bounded:
        return Redis.from_url(
            url, decode_responses=True, single_connection_client=True, client_name=name,
            socket_connect_timeout=2, socket_timeout=socket_timeout,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), 2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError])
    return Redis.from_url(url, decode_responses=True, client_name=name,
                          socket_connect_timeout=2, socket_timeout=socket_timeout)


def connection(settings: Settings, *, bounded: bool = False) -> dict[str, Any]:
    """bullmq's connection options; ``bounded`` as for ``redis_client``."""
    if settings.redis_cluster:
        # bullmq speaks Cluster only through a RedisCluster client; a fresh one per queue or
        # worker, since bullmq closes the client it is given.
        client = redis_client(settings, socket_timeout=None)
    elif bounded:
        client = redis_client(settings, bounded=True)
    else:  # bullmq builds its own client from the URL, with its retry policy
        return {"connection": settings.require_redis(), "prefix": settings.queue_prefix}
    return {"connection": client, "prefix": settings.queue_prefix}


def make_queue(settings: Settings, name: str, *, bounded: bool = False) -> bullmq.Queue:
    return bullmq.Queue(name, connection(settings, bounded=bounded))


class ExportWorker:
    """A BullMQ consumer with our lock/stall timing (docs/decisions.md explains the values),
    seen through four verbs: ``run``, ``drain``, ``force_close`` and ``active``."""

    def __init__(self, settings: Settings, name: str,
                 process: Callable[[JobView], Awaitable[Any]], *, concurrency: int) -> None:
        async def processor(job: bullmq.Job, token: str) -> Any:  # noqa: ARG001 (bullmq passes the lock token)
            return await process(JobView(job))

        self._worker = _Worker(name, processor, _worker_options(settings, concurrency))
        self._closing: asyncio.Future[Any] | None = None

    async def run(self) -> None:
        """Take and process jobs until drained or force-closed."""
        await self._worker.run()

    @property
    def active(self) -> int:
        """How many jobs this worker is processing now."""
        return len(self._worker.jobs)

    @property
    def running(self) -> bool:
        """Taking jobs: started and not closing."""
        return bool(self._worker.running) and not self._worker.closing

    # A timed-out drain is an answer (False), not an error: hence a parameter, not a scope.
    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Stop taking jobs and wait up to ``timeout`` seconds for the active ones; False when
        some are still running (call ``force_close``, then ``drain`` again to wait for the
        end). Calls after the first wait for the same close."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._worker.close())
        try:
            await asyncio.wait_for(asyncio.shield(self._closing), timeout)
        except Exception:  # timed out, or the close failed (Redis away): not drained
            return False
        return True

    def force_close(self) -> None:
        """Abandon the active jobs to stall recovery. Marked force-closing first: a job whose
        work dies afterwards is then left active (no attempt spent), not moved to failed."""
        self._worker.forceClosing = True
        self._worker.cancelProcessing()

    def on_failed(self, handler: Callable[[JobView], None]) -> None:
        """``handler(job)`` after each job that failed, by our processor or by BullMQ."""
        self._worker.on("failed", lambda job, *_: handler(JobView(job)))

    def on_error(self, handler: Callable[[Exception], None]) -> None:
        """``handler(error)`` for each error of BullMQ's own loop (Redis away, mostly)."""
        self._worker.on("error", lambda err, *_: handler(err))

    def on_stalled(self, handler: Callable[[str], None]) -> None:
        """``handler(job_id)`` for each job found stalled and put back in the queue."""
        self._worker.on("stalled", lambda job_id, *_: handler(str(job_id)))


def _worker_options(settings: Settings, concurrency: int) -> dict[str, Any]:
    return {
        **connection(settings),
        "concurrency": concurrency,
        "lockDuration": settings.lock_duration_ms,
        "stalledInterval": settings.stalled_interval_ms,
        "maxStalledCount": settings.max_stalled_count,
        # While Redis is away, try again every 2 s instead of BullMQ's 15 s default, so a
        # worker resumes promptly after an outage without spinning.
        "runRetryDelay": 2000,
        # How long an idle worker blocks on the queue's marker before asking again. With
        # bullmq-python's default of 5 s, a job added just after one that ran longer than
        # that waited 1.1 s to be picked up (3.6 s after a 12 s job); at 2 s, under 2 ms.
        "drainDelay": 2,
        "autorun": False,
        "settings": {"backoffStrategy": _callback_backoff},
    }


def _callback_backoff(attempts_made: int, backoff_type: str, err: Any, job: Any) -> int:  # noqa: ARG001 (bullmq.s backoffStrategy signature)
    """Exponential backoff with full jitter for callback deliveries (BullMQ's has no jitter)."""
    ceiling = min(CALLBACK_MAX_DELAY_MS, CALLBACK_BASE_DELAY_MS * 2 ** max(0, attempts_made - 1))
    return int(ceiling // 2 + random.random() * ceiling / 2)


def callback_job_options(job_id: str, attempts: int) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "attempts": attempts,
        "backoff": {"type": CALLBACK_BACKOFF, "delay": CALLBACK_BASE_DELAY_MS},
        # Kept a week after delivery: re-adding the same webhook-id within that time (a
        # re-run after a crash) is a no-op, so an event is delivered at most once.
        "removeOnComplete": {"age": 7 * 86400},
        "removeOnFail": {"age": 30 * 86400},
    }


async def add_job(queue: bullmq.Queue, name: str, data: Any, opts: dict[str, Any]) -> str:
    job = await queue.add(name, data, opts)
    return str(job.id)


async def job_counts(queue: bullmq.Queue) -> dict[str, int]:
    counts = await queue.getJobCounts(*QUEUE_STATES)
    return {state: int(counts.get(state, 0)) for state in QUEUE_STATES}


async def get_job(queue: bullmq.Queue, job_id: str) -> JobView | None:
    raw = await queue.backend.getJobData(job_id)
    return JobView(decode_job(queue, raw, job_id)) if raw else None


async def job_state(queue: bullmq.Queue, job_id: str) -> str:
    return str(await queue.getJobState(job_id))


# The reason BullMQ's Lua scripts give a job failed for stalling too often.
STALLED_REASON = "job stalled more than allowable limit"


async def failed_since(queue: bullmq.Queue, since_ms: int) -> list[JobView]:
    """The jobs that entered the failed set at or after ``since_ms`` (the set is scored by
    the time of failure), oldest first."""
    ids = await queue.client.zrangebyscore(queue.keys["failed"], since_ms, "+inf")
    jobs = [await get_job(queue, str(job_id)) for job_id in ids]
    return [job for job in jobs if job is not None]


def unrecoverable(message: str) -> Exception:
    """The error that tells BullMQ to fail a job now, spending no retry."""
    error: Exception = UnrecoverableError(message)
    return error


# --- the queue's events stream (the API's live view) -----------------------------------------

# What BullMQ writes beside ``event`` and ``jobId``, by event; anything else is not forwarded.
STATE_EVENTS = ("added", "waiting", "active", "delayed", "waiting-children", "prioritized",
                "stalled", "removed")


def _json_field(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def stream_event(fields: dict[str, str]) -> tuple[str, str, dict[str, Any]] | None:
    """An entry of BullMQ's events stream as (event, job id, snake_case data), or None for
    what is not about a job (or not forwarded)."""
    name, job_id = fields.get("event"), fields.get("jobId")
    if not name or not job_id:
        return None
    data: dict[str, Any] = {"job_id": job_id}
    if name == "progress":
        data["progress"] = percent(_json_field(fields.get("data")))
    elif name == LOG_EVENT:
        data["line"] = fields.get("data", "")
    elif name == "completed":
        data["result"] = _json_field(fields.get("returnvalue"))
    elif name == "failed":
        data["error"] = fields.get("failedReason", "")
    elif name in STATE_EVENTS:
        data["state"] = name
    else:
        return None
    return name, job_id, data


# --- views for the HTTP API and the dashboard (api/) ------------------------------------------


async def recent_jobs(queue: bullmq.Queue, states: tuple[str, ...],
                      limit: int) -> list[tuple[str, dict[str, Any]]]:
    """Up to ``limit`` jobs of each state (newest first per state), as (state, fields)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for state in states:
        # queue.getJobs, decoding each job with decode_job.
        types = queue.sanitizeJobTypes([state])
        for by_type in await queue.backend.scripts.getJobs(types, 0, limit - 1, False):
            for job_id, flat in by_type:
                raw = dict(zip(flat[::2], flat[1::2], strict=False))
                found.append((state, JobView(decode_job(queue, raw, str(job_id))).fields()))
    return found


async def job_logs(queue: bullmq.Queue, job_id: str, limit: int = 1000) -> list[str]:
    """The last ``limit`` lines of a job's log (``job.log``), oldest first."""
    logs = await queue.getJobLogs(job_id, -limit, -1, True)
    return [str(line) for line in logs.get("logs", [])]


async def retry_failed(queue: bullmq.Queue, job_id: str) -> bool:
    """``job.retry("failed")``: move a failed job back to waiting. False if it is not failed."""
    job = await get_job(queue, job_id)
    if job is None:
        return False
    try:
        await job.raw.retry("failed")
    except TypeError:  # bullmq's error for "missing" and "not in the failed state"
        return False
    return True
