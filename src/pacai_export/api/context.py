"""What every request of the API needs: settings, the queue (through ``ExportClient``), Redis
for the callback receiver's records, opened once per app in its lifespan."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from starlette.requests import Request

from ..client import ExportClient
from ..settings import Settings
from .idempotency import IdempotencyStore
from .receiver import OutcomeStore
from .sessions import LoginThrottle


def percent(value: object) -> int:
    """BullMQ progress as the contract's integer percent (a Node producer may store anything)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0, min(100, int(value)))
    return 0


class ApiContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Bounded: a request waits seconds, not minutes, when Redis is away (then 503).
        self.client = ExportClient(settings, bounded=True)
        url = settings.require_redis()
        self.redis: Redis | RedisCluster = (
            RedisCluster.from_url(url, decode_responses=True) if settings.redis_cluster
            else Redis.from_url(url, decode_responses=True, socket_connect_timeout=2,
                                socket_timeout=5))
        self.outcomes = OutcomeStore(self.redis, settings.queue_prefix, settings.queue_name)
        self.idempotency = IdempotencyStore(self.redis, settings.queue_prefix,
                                            settings.queue_name)
        self.logins = LoginThrottle(self.redis, settings.queue_prefix, settings.queue_name)

    async def status(self, job_id: str) -> dict[str, Any] | None:
        """The job as BullMQ has it, else as the callback receiver recorded it, else None."""
        found = await self.client.status(job_id)
        if found is None or found["state"] == "unknown":
            outcome = await self.outcomes.get(job_id)
            return outcome.status() if outcome is not None else None
        found["progress"] = percent(found["progress"])
        if "error" in found:
            found["error"] = str(found["error"])
        return found

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.redis.aclose()


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx
