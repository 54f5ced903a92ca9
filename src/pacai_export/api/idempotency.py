"""``Idempotency-Key`` claims: one job per key, even for requests that arrive together.

Checking for the job and then adding it is a race: two requests with the same key and
different bodies both see no job, both add, BullMQ keeps the first and silently drops the
second body. So the key is claimed first, atomically, with the hash of its body:
``<prefix>:<queue>:api:idem:<job id>`` → SHA-256 of the canonical JSON body. The first
request to claim a key enqueues; every later one compares hashes: the same body is a replay
(202, ``Idempotent-Replayed: true``), a different body is refused (422). A claim outlives
the job itself (kept as long as BullMQ keeps a failed job), so a key cannot be reused for a
different body while the job it names may still be seen.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

CLAIM_TTL_S = 7 * 86400  # removeOnFail's age in DEFAULT_JOB_OPTIONS

# Returns nil when this call claimed the key, else the hash the key was claimed with.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then
  return held
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""


def body_hash(data: Any) -> str:
    """The hash of a job body, insensitive to key order and whitespace."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, redis: Redis | RedisCluster, prefix: str, queue: str) -> None:
        self.redis = redis
        self.base = f"{prefix}:{queue}:api:idem"
        self._claim = redis.register_script(_CLAIM)

    def key(self, job_id: str) -> str:
        return f"{self.base}:{job_id}"

    async def claim(self, job_id: str, digest: str) -> str | None:
        """Claim ``job_id`` for the body with ``digest``: None if this call claimed it,
        else the digest of the body that holds it."""
        held = await self._claim(keys=[self.key(job_id)], args=[digest, CLAIM_TTL_S])
        return None if held is None else str(held)

    async def release(self, job_id: str, digest: str) -> None:
        """Give up a claim whose job could not be added, so a retry of the request can."""
        if await self.redis.get(self.key(job_id)) == digest:
            await self.redis.delete(self.key(job_id))
