"""Live updates as server-sent events, fed by BullMQ's queue events stream.

BullMQ appends every job event (``added``, ``active``, ``progress``, ``completed``,
``failed``…) to the Redis stream ``<prefix>:<queue>:events`` — the stream Node's and Python's
``QueueEvents`` read — and the worker appends its stage lines there as ``log`` events
(``JobView.write_progress``). One ``EventHub`` per API process reads that stream with a
blocking ``XREAD`` and fans each entry out to every connected client's bounded buffer, so a
thousand browsers cost one Redis reader, and an event reaches them as soon as Redis has it.

Each SSE message carries the stream entry id as its ``id:``. A client that reconnects sends
it back as ``Last-Event-ID`` and gets what it missed replayed from the stream (``XRANGE``);
when the stream was trimmed past that id, or on a first connection, it gets a ``snapshot``
of the current state instead. A client too slow to drain its buffer is disconnected rather
than allowed to grow the process's memory: its browser reconnects and resumes from Redis.
A comment line every ``heartbeat_s`` seconds keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..logs import get_logger
from ..queues import TERMINAL_STATES, stream_event
from . import context as api_context  # a module: context.py builds the hub defined here
from .problems import Problem, require_job_id, require_token

if TYPE_CHECKING:
    from .context import ApiContext

log = get_logger("pacai_export.api.events")

EVENT_STREAM = "text/event-stream"
READ_COUNT = 500  # stream entries per XREAD / XRANGE page
# Snapshots and replays running at once per process: a reconnect storm of hundreds of
# browsers queues here instead of exhausting the Redis connection pools (100 each).
CATCH_UP_CONCURRENCY = 16


@dataclasses.dataclass(frozen=True)
class LiveOptions:
    """Stream tuning; ``app.state.live_options`` overrides the defaults (tests shorten them)."""

    heartbeat_s: float = 15.0
    buffer: int = 256  # events waiting per client before it is disconnected as too slow
    block_ms: int = 5000  # XREAD BLOCK: how long the reader waits before it loops
    retry_ms: int = 1000  # the browser's reconnect delay (SSE ``retry:``)


def options(request: Request) -> LiveOptions:
    found = getattr(request.app.state, "live_options", None)
    return found if isinstance(found, LiveOptions) else LiveOptions()


# --- stream ids and events --------------------------------------------------------------------


def stream_id(value: str) -> tuple[int, int]:
    """``"1700000000000-3"`` → ``(1700000000000, 3)``, for ordering; ValueError if malformed."""
    ms, sep, seq = value.partition("-")
    if not (ms.isascii() and ms.isdigit()) or (sep and not (seq.isascii() and seq.isdigit())):
        raise ValueError(value)
    return int(ms), int(seq or 0)


@dataclasses.dataclass(frozen=True)
class QueueEvent:
    """One entry of the events stream, as the SSE message a client gets."""

    id: str
    name: str
    job_id: str
    data: dict[str, Any]

    @property
    def order(self) -> tuple[int, int]:
        return stream_id(self.id)

    @property
    def terminal(self) -> bool:
        return self.name in TERMINAL_STATES

    @functools.cached_property
    def message(self) -> str:
        """Encoded once, however many clients it goes to."""
        return sse_message(self.name, self.data, self.id)


def parse_entry(entry_id: str, fields: dict[str, str]) -> QueueEvent | None:
    """A stream entry as the event clients see, or None for what is not about a job."""
    found = stream_event(fields)
    if found is None:
        return None
    name, job_id, data = found
    return QueueEvent(entry_id, name, job_id, data)


def sse_message(event: str, data: Any, event_id: str | None = None) -> str:
    """One SSE message. JSON never holds a raw newline, so ``data`` stays on one line."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


# --- the one reader per process ---------------------------------------------------------------


class Subscription:
    """A client's bounded buffer; ``None`` in it means "too slow: close the stream"."""

    def __init__(self, job_id: str | None, size: int) -> None:
        self.job_id = job_id
        self.queue: asyncio.Queue[QueueEvent | None] = asyncio.Queue(size + 1)
        self.size = size
        self.dropped = False

    def offer(self, event: QueueEvent) -> bool:
        """Buffer ``event``; False (and the stream told to close) when the buffer is full."""
        if self.job_id is not None and event.job_id != self.job_id:
            return True
        if self.queue.qsize() >= self.size:
            self.dropped = True
            self.queue.put_nowait(None)  # the one slot kept free for it
            return False
        self.queue.put_nowait(event)
        return True


class EventHub:
    """Reads ``key`` with one blocking XREAD loop and fans entries out to subscribers.

    The reader starts with the first subscriber and holds its own Redis connection (a
    blocking read occupies it). ``ready()`` waits until it knows where it starts reading, so
    a client that catches up after that misses nothing. It survives Redis outages: it retries
    every second from the last entry it saw, so nothing in between is lost.
    """

    def __init__(self, redis_factory: Callable[[], Redis | RedisCluster], key: str) -> None:
        self.key = key
        self._factory = redis_factory
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._block_ms = LiveOptions().block_ms
        self._started = asyncio.Event()
        self._closing = False
        self.catching_up = asyncio.Semaphore(CATCH_UP_CONCURRENCY)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self, job_id: str | None, opts: LiveOptions) -> Subscription:
        sub = Subscription(job_id, opts.buffer)
        self._subs.add(sub)
        if self._task is None or self._task.done():
            self._block_ms = opts.block_ms
            self._started = asyncio.Event()
            self._task = asyncio.create_task(self._read(), name="pacai-events-reader")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    async def ready(self) -> None:
        await self._started.wait()

    def publish(self, event: QueueEvent) -> None:
        for sub in list(self._subs):
            if not sub.offer(event):
                self._subs.discard(sub)
                log.warning("live client too slow: disconnected", buffer=sub.size)

    async def _read(self) -> None:
        redis = self._factory()
        try:
            last = await self._start(redis)
            while not self._closing:
                try:
                    found: Any = await redis.xread({self.key: last}, count=READ_COUNT,
                                                   block=self._block_ms)
                except RedisError as exc:
                    if self._closing:  # redis-py may turn our cancellation into its error
                        raise
                    log.warning("events stream read failed; retrying", error=str(exc))
                    await asyncio.sleep(1)
                    continue
                for _key, entries in found or []:
                    for entry_id, fields in _entries(entries):
                        last = entry_id
                        event = parse_entry(entry_id, fields)
                        if event is not None:
                            self.publish(await self._described(redis, event))
        except Exception:  # a bug (unless closing): say so; the next subscriber starts a new one
            if not self._closing:
                log.exception("events reader stopped")
            raise
        finally:
            self.close_streams()  # their browsers reconnect (to a new reader) and resume
            await redis.aclose()

    def close_streams(self) -> None:
        """End every open stream (its browser reconnects and resumes from Redis)."""
        for sub in self._subs:
            with contextlib.suppress(asyncio.QueueFull):  # already told to close
                sub.queue.put_nowait(None)
        self._subs.clear()

    async def _start(self, redis: Redis | RedisCluster) -> str:
        """The id the reader starts after (the stream's newest entry), retried until Redis
        answers; the subscribers waiting in ``ready()`` go on once it is known."""
        while True:
            try:
                last = await last_entry_id(redis, self.key)
            except RedisError as exc:
                if self._closing:
                    raise
                log.warning("events stream unreachable; retrying", error=str(exc))
                await asyncio.sleep(1)
                continue
            self._started.set()
            return last

    async def _described(self, redis: Redis | RedisCluster, event: QueueEvent) -> QueueEvent:
        """An ``added`` event with the job's project id, read once here for every client (so
        a dashboard can show a new job's row without asking for it)."""
        if event.name != "added":
            return event
        try:
            raw = await redis.hget(self.key.removesuffix("events") + event.job_id, "data")
            data = json.loads(raw) if raw else None
        except (RedisError, ValueError):
            return event
        project = data.get("project_id") if isinstance(data, dict) else None
        if isinstance(project, str):
            event.data["project_id"] = project
        return event

    async def aclose(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._task
            self._task = None


# --- streams ----------------------------------------------------------------------------------


def _entries(raw: Any) -> list[tuple[str, dict[str, str]]]:
    """redis-py's stream entries (decoded responses) with their types spelled out."""
    return [(str(entry_id), dict(fields or {})) for entry_id, fields in raw or []]


async def last_entry_id(redis: Redis | RedisCluster, key: str) -> str:
    newest = _entries(await redis.xrevrange(key, "+", "-", count=1))
    return newest[0][0] if newest else "0-0"


async def replay(redis: Redis | RedisCluster, key: str, after: str,
                 job_id: str | None) -> AsyncIterator[QueueEvent]:
    """Entries after ``after`` (exclusive), oldest first, page by page."""
    start = "(" + after
    while True:
        page = _entries(await redis.xrange(key, start, "+", count=READ_COUNT))
        for entry_id, fields in page:
            event = parse_entry(entry_id, fields)
            if event is not None and (job_id is None or event.job_id == job_id):
                yield event
        if len(page) < READ_COUNT:
            return
        start = "(" + page[-1][0]


async def resumable(redis: Redis | RedisCluster, key: str, after: str | None) -> bool:
    """Whether every entry after ``after`` is still in the (trimmed) stream."""
    if after is None:
        return False
    oldest = _entries(await redis.xrange(key, "-", "+", count=1))
    return not oldest or stream_id(oldest[0][0]) <= stream_id(after) or after == "0-0"


def last_event_id(request: Request) -> str | None:
    """``Last-Event-ID`` (a browser's reconnect) or ``?since=`` (a script's first connect)."""
    raw = request.headers.get("last-event-id") or request.query_params.get("since")
    if raw is None:
        return None
    try:
        stream_id(raw)
    except ValueError:
        raise Problem(400, "invalid-last-event-id", "Invalid Last-Event-ID",
                      f"Last-Event-ID: {raw[:64]!r} is not an event id of this stream",
                      [{"field": "Last-Event-ID", "message": "must be <ms>-<seq>"}]) from None
    return raw


Snapshot = Callable[[], Awaitable[tuple[str, Any, bool]]]
"""Returns (event name, data, whether the stream ends after it)."""


async def _events(ctx: ApiContext, opts: LiveOptions, after: str | None, job_id: str | None,
                  snapshot: Snapshot, end_on_terminal: bool) -> AsyncIterator[str]:
    redis, hub = ctx.redis, ctx.events
    sub = hub.subscribe(job_id, opts)  # before reading Redis, so nothing falls in between
    try:
        yield f"retry: {opts.retry_ms}\n\n"
        await hub.ready()
        async with hub.catching_up:
            caught_up = [m async for m in _catch_up(redis, hub.key, after, job_id, snapshot,
                                                    end_on_terminal)]
        for _order, message, ends in caught_up:
            yield message
            if ends:
                return
        seen = caught_up[-1][0] if caught_up else stream_id(after or "0-0")
        async for chunk in _live(sub, seen, opts.heartbeat_s, end_on_terminal):
            yield chunk
    finally:
        hub.unsubscribe(sub)


async def _catch_up(redis: Redis | RedisCluster, key: str, after: str | None,
                    job_id: str | None, snapshot: Snapshot,
                    end_on_terminal: bool) -> AsyncIterator[tuple[tuple[int, int], str, bool]]:
    """What a client gets before live events, as (stream id, message, stream ends): the
    entries after ``after`` when the stream still has them all, else a snapshot."""
    if after is not None and await resumable(redis, key, after):
        async for event in replay(redis, key, after, job_id):
            ends = event.terminal and end_on_terminal
            yield event.order, event.message, ends
            if ends:
                return
        return
    newest = await last_entry_id(redis, key)
    name, data, ends = await snapshot()
    yield stream_id(newest), sse_message(name, data, newest), ends


async def _live(sub: Subscription, seen: tuple[int, int], heartbeat_s: float,
                end_on_terminal: bool) -> AsyncIterator[str]:
    while True:
        if sub.queue.empty():
            try:
                first = await asyncio.wait_for(sub.queue.get(), heartbeat_s)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
        else:
            first = sub.queue.get_nowait()
        chunk, ends = _batch(first, sub.queue, seen, end_on_terminal)
        if chunk:
            yield chunk
        if ends:
            return


def _batch(first: QueueEvent | None, queue: asyncio.Queue[QueueEvent | None],
           seen: tuple[int, int], end_on_terminal: bool) -> tuple[str, bool]:
    """``first`` and whatever else is already buffered as one chunk (one write to the socket
    for a client that fell behind), and whether the stream ends after it."""
    parts: list[str] = []
    event = first
    while True:
        if event is None:  # too slow: the browser reconnects and resumes from Redis
            return "".join(parts), True
        if event.order > seen:  # else already in the replay or the snapshot
            parts.append(event.message)
            if end_on_terminal and event.terminal:
                return "".join(parts), True
        if queue.empty():
            return "".join(parts), False
        event = queue.get_nowait()


def stream_response(ctx: ApiContext, request: Request, job_id: str | None, snapshot: Snapshot,
                    *, end_on_terminal: bool) -> Response:
    # Last-Event-ID is checked before the response starts, so a bad one is a 400.
    body = _events(ctx, options(request), last_event_id(request), job_id, snapshot,
                   end_on_terminal)
    return StreamingResponse(body, media_type=EVENT_STREAM, headers={
        "cache-control": "no-store", "x-accel-buffering": "no",
        "x-content-type-options": "nosniff"})


def wants_events(request: Request) -> bool:
    return EVENT_STREAM in request.headers.get("accept", "")


async def job_status_stream(request: Request, job_id: str) -> Response:
    """``GET /v5/export/{id}`` with ``Accept: text/event-stream``: ``status`` first (the
    polling body), then the job's events, ending after ``completed`` or ``failed``."""
    ctx = api_context.context(request)
    require_token(request, ctx.settings.api_tokens)
    if await ctx.status(job_id) is None:
        raise Problem(404, "job-not-found", "Job not found",
                      f"no job {job_id!r} in queue {ctx.settings.queue_name}")

    async def snapshot() -> tuple[str, Any, bool]:
        status = await ctx.status(job_id) or {"id": job_id, "state": "unknown"}
        return "status", status, status["state"] in TERMINAL_STATES

    return stream_response(ctx, request, job_id, snapshot, end_on_terminal=True)


# --- the dashboard's streams ------------------------------------------------------------------


async def dashboard_stream(request: Request) -> Response:
    """``/dashboard/api/events``: every job's events; ``/dashboard/api/events/{id}``: one job's
    (the snapshot is then the job page's JSON, logs included)."""
    from . import dashboard  # the dashboard's auth and views; it imports nothing of ours

    ctx = api_context.context(request)
    dashboard._require_json_auth(request, ctx)
    raw_id: str | None = request.path_params.get("id")
    job_id = require_job_id(raw_id) if raw_id is not None else None

    async def snapshot() -> tuple[str, Any, bool]:
        if job_id is None:
            return "snapshot", await dashboard._overview(ctx), False
        detail = await dashboard._detail(ctx, job_id)
        return "snapshot", detail, False

    if job_id is not None:
        await dashboard._detail(ctx, job_id)  # 404 before the stream starts
    # A failed job may be retried from the page, so its stream stays open.
    return stream_response(ctx, request, job_id, snapshot, end_on_terminal=False)


def routes() -> list[Route]:
    return [
        Route("/dashboard/api/events", dashboard_stream, methods=["GET"]),
        Route("/dashboard/api/events/{id:path}", dashboard_stream, methods=["GET"]),
    ]
