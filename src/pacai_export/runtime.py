"""The one place that builds the service: ``async with open_runtime(settings) as rt``.

Storage, signer, CPU pool, asset cache, the S3 client for ``s3://`` assets, the
``Exporter``, Redis and the BullMQ queues are opened here, in that order, on one
``AsyncExitStack``, and closed in reverse when the block ends — also when a later step
fails, so a half-failed start leaves nothing open. The worker, the offline ``export``
command, the demo (through the worker) and the API take what they need from the
``Runtime``; none of them wires the pipeline itself, so they cannot disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import bullmq
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from .callbacks import CallbackOutbox
from .logs import get_logger
from .queues import make_queue, redis_client
from .settings import Settings
from .signing import Signer, open_signer
from .storage import Storage, open_s3, open_storage

if TYPE_CHECKING:  # imported when opened: the API never loads the export pipeline
    from .assets.cache import AssetCache
    from .pipeline import Exporter
    from .pool import CpuPool
    from .storage.s3 import S3Storage

log = get_logger("pacai_export.runtime")


@dataclasses.dataclass
class Runtime:
    """What a process of the service holds, each part open for the ``open_runtime`` block.

    The optional parts are None when the block did not ask for them.
    """

    settings: Settings
    storage: Storage
    signer: Signer | None
    pool: CpuPool | None = None
    cache: AssetCache | None = None
    exporter: Exporter | None = None
    redis: Redis | RedisCluster | None = None
    queue: bullmq.Queue | None = None
    outbox: CallbackOutbox | None = None  # when CALLBACK_URL and its secret are set
    # Monotonic time by which closing must be done; each close after it gets 0.1 s. The
    # worker sets it when its drain starts, so it exits before the platform's SIGKILL.
    close_by: float = math.inf

    def require_exporter(self) -> Exporter:
        if self.exporter is None:
            raise RuntimeError("this runtime was opened without the exporter")
        return self.exporter

    def require_queue(self) -> bullmq.Queue:
        if self.queue is None:
            raise RuntimeError("this runtime was opened without the queues")
        return self.queue


def pool_size(settings: Settings) -> int:
    """No more pool processes than jobs at once, nor than cores: more would only add memory
    (each holds its own imports and image buffers) without adding CPU."""
    return min(settings.concurrency, os.cpu_count() or 1)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, storage: Storage | None = None,
                       export: bool = True, queues: bool = True) -> AsyncIterator[Runtime]:
    """Open the service's resources; close them in reverse when the block ends.

    ``storage``: a backend to use instead of the one ``STORAGE_URL`` selects (the offline
    command's single file); constructing one does no I/O. ``export``: the signer, the CPU
    pool, the cache and the ``Exporter``.
    ``queues``: Redis, the export queue and, when callbacks are configured, their queue.
    """
    async with contextlib.AsyncExitStack() as stack:
        rt = _open(stack, settings, storage, export=export, queues=queues)
        yield rt


def _open(stack: contextlib.AsyncExitStack, settings: Settings, storage: Storage | None,
          *, export: bool, queues: bool) -> Runtime:
    s3 = open_s3(settings) if storage is None else None
    if storage is None:
        storage = s3 if s3 is not None else open_storage(settings)
    rt = Runtime(settings, storage, None)
    _closing(stack, rt, "storage", storage.aclose)
    if export:
        _open_export(stack, rt, s3)
    if queues:
        _open_queues(stack, rt)
    return rt


def _open_export(stack: contextlib.AsyncExitStack, rt: Runtime, s3: S3Storage | None) -> None:
    from .assets.cache import open_cache
    from .pipeline import POOL_PRELOAD, Exporter
    from .pool import CpuPool

    settings = rt.settings
    # Before the pool and Redis: a bad key or token stops start-up early (exit 2).
    rt.signer = open_signer(settings)
    if rt.signer is not None:
        _closing(stack, rt, "signer", rt.signer.aclose)
    pool = rt.pool = CpuPool(pool_size(settings), POOL_PRELOAD,
                             settings.limits.pool_memory_bytes)
    # Closed after the queues: the pool is idle by then (or terminated by the drain).
    stack.push_async_callback(asyncio.to_thread, pool.close)
    rt.cache = open_cache(settings, s3)
    rt.exporter = Exporter.from_settings(settings, rt.storage, pool, rt.signer, rt.cache,
                                         s3.client if s3 is not None else None)


def _open_queues(stack: contextlib.AsyncExitStack, rt: Runtime) -> None:
    settings = rt.settings
    rt.redis = redis_client(settings)
    _closing(stack, rt, "redis", rt.redis.aclose)
    rt.queue = make_queue(settings, settings.queue_name)
    _closing(stack, rt, "export queue", rt.queue.close)
    if settings.callback_url and settings.callback_secret:
        callback_queue = make_queue(settings, settings.callback_queue_name)
        _closing(stack, rt, "callback queue", callback_queue.close)
        rt.outbox = CallbackOutbox(callback_queue, settings.callback_max_attempts)


def _closing(stack: contextlib.AsyncExitStack, rt: Runtime, name: str,
             close: Callable[[], Awaitable[Any]]) -> None:
    """Close ``name`` at the end of the block, within ``rt.close_by``; a failure or a
    timeout is logged and the next resource is closed anyway (Redis may be away)."""

    async def bounded() -> None:
        left = None if rt.close_by == math.inf else max(0.1, rt.close_by - time.monotonic())
        try:
            await asyncio.wait_for(close(), left)
        except Exception as exc:  # TimeoutError included
            log.warning("closing failed; going on", resource=name,
                        error=f"{type(exc).__name__}: {exc}")

    stack.push_async_callback(bounded)
