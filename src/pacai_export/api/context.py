"""What every request of the API needs: settings, the queue (through ``ExportClient``), Redis
for the callback receiver's records, opened once per app in its lifespan."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from starlette.requests import Request

from ..client import ExportClient
from ..queues import redis_client
from ..settings import Settings
from ..storage import Storage
from .events import EventHub
from .idempotency import IdempotencyStore
from .receiver import OutcomeStore
from .sessions import LoginThrottle

REQUEST_SOCKET_TIMEOUT_S = 5.0  # a request waits seconds, not minutes, when Redis is away
READER_SOCKET_TIMEOUT_S = 60.0  # the events reader: longer than its blocking XREAD (5 s)


class ApiContext:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        # Bounded: a request waits seconds, not minutes, when Redis is away (then 503).
        self.client = ExportClient(settings, bounded=True)
        self.redis: Redis | RedisCluster = self._connect()
        self.outcomes = OutcomeStore(self.redis, settings.queue_prefix, settings.queue_name)
        self.idempotency = IdempotencyStore(self.redis, settings.queue_prefix,
                                            settings.queue_name)
        self.logins = LoginThrottle(self.redis, settings.queue_prefix, settings.queue_name)
        events_key = f"{settings.queue_prefix}:{settings.queue_name}:events"
        # The reader's connection is named, so an operator sees it in CLIENT LIST, and waits
        # longer than its blocking XREAD.
        self.events = EventHub(lambda: self._connect("pacai-api-events:" + events_key,
                                                     READER_SOCKET_TIMEOUT_S), events_key)
        self._storage = storage

    def storage(self) -> Storage:
        """Where bundles are stored (the preview reads them); closed by the runtime."""
        return self._storage

    def _connect(self, name: str | None = None,
                 socket_timeout: float = REQUEST_SOCKET_TIMEOUT_S) -> Redis | RedisCluster:
        return redis_client(self.settings, name=name, socket_timeout=socket_timeout)

    async def status(self, job_id: str) -> dict[str, Any] | None:
        """The job as BullMQ has it, else as the callback receiver recorded it, else None."""
        found = await self.client.status(job_id)
        if found is None or found["state"] == "unknown":
            outcome = await self.outcomes.get(job_id)
            return outcome.status() if outcome is not None else None
        return found

    async def aclose(self) -> None:
        await self.events.aclose()
        await self.client.aclose()
        await self.redis.aclose()


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx
