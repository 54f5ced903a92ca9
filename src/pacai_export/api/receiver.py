"""The callback receiver (§5 seen from the API): verify, drop replays, record the outcome.

A delivery is accepted when one of its ``webhook-signature`` entries is the Standard Webhooks
v1 HMAC of ``"{webhook-id}.{webhook-timestamp}.{body}"`` under ``WORKER_CALLBACK_SECRET`` (the
same key rule as ``callbacks.signing_key``) and its timestamp is within five minutes of now.
The first delivery of a ``webhook-id`` records the outcome under
``<prefix>:<queue>:api:outcome:<job id>`` for 30 days, so ``GET /v5/export/{id}`` can answer
after BullMQ has removed the job; later deliveries of the same id are acknowledged and ignored.
Marking the id and recording the outcome happen in one Lua script: a receiver that dies
between the two cannot lose an event it has acknowledged.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from ..callbacks import COMPLETED, FAILED, sign, signing_key
from .problems import Problem

TOLERANCE_S = 5 * 60
SEEN_TTL_S = 7 * 86400  # as long as the worker keeps a webhook-id (callback_job_options)
OUTCOME_TTL_S = 30 * 86400

_RECORD_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


def verify(secret: str, headers: Mapping[str, str], body: bytes,
           now: float | None = None) -> str:
    """Check a delivery's signature and timestamp; return its ``webhook-id`` or raise 401."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and stamp and signatures):
        raise _rejected("webhook-id, webhook-timestamp and webhook-signature are required")
    # Digits only: int() would also take "+1795998325", " 1795998325" and "1795_998_325".
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise _rejected(f"webhook-timestamp: not Unix seconds (digits only): {stamp[:40]!r}")
    timestamp = int(stamp)
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_S:
        raise _rejected("webhook-timestamp: outside the 5-minute window (stale or replayed)")
    expected = sign(signing_key(secret), msg_id, timestamp, body).encode()
    # Several space-separated signatures are allowed (key rotation): any one must match.
    matched = False
    for candidate in signatures.split():
        matched |= hmac.compare_digest(candidate.encode(), expected)
    if not matched:
        raise _rejected("webhook-signature: no signature matches WORKER_CALLBACK_SECRET")
    return msg_id


def _rejected(detail: str) -> Problem:
    return Problem(401, "bad-signature", "Invalid webhook signature", detail)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a callback event says about a job, as ``GET /v5/export/{id}`` shows it."""

    job_id: str
    state: str
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts_made: int | None = None

    @classmethod
    def from_event(cls, event: Any) -> Outcome | None:
        """The outcome of a verified event; None for event types this API does not record."""
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            raise _bad_event("the body must be an object with 'type' and a 'data' object")
        kind, data = event.get("type"), event["data"]
        if kind not in (COMPLETED, FAILED):
            return None
        job_id = data.get("job_id")
        if not isinstance(job_id, str) or not job_id:
            raise _bad_event("data.job_id: must be a non-empty string")
        if kind == COMPLETED:
            return cls(job_id, "completed", result=data)
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        attempts = data.get("attempts_made")
        return cls(job_id, "failed", error=str(message) if message is not None else None,
                   attempts_made=attempts if isinstance(attempts, int) else None)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"id": self.job_id, "state": self.state,
                                  "progress": 100 if self.state == "completed" else 0,
                                  "attempts_made": self.attempts_made}
        if self.result is not None:
            status["result"] = self.result
        if self.error is not None:
            status["error"] = self.error
        return status


def _bad_event(detail: str) -> Problem:
    return Problem(400, "invalid-event", "Invalid callback event", detail,
                   [{"field": detail.split(":")[0] if ":" in detail else "$", "message": detail}])


class OutcomeStore:
    """Seen webhook-ids and recorded outcomes in Redis, beside the queue's own keys."""

    def __init__(self, redis: Redis | RedisCluster, prefix: str, queue: str) -> None:
        self.redis = redis
        self.base = f"{prefix}:{queue}:api"
        self._record_once = redis.register_script(_RECORD_ONCE)

    def outcome_key(self, job_id: str) -> str:
        return f"{self.base}:outcome:{job_id}"

    def seen_key(self, webhook_id: str) -> str:
        return f"{self.base}:webhook:{webhook_id}"

    async def record(self, webhook_id: str, outcome: Outcome | None) -> bool:
        """Record once per webhook-id; False when the id was seen before (a replay)."""
        if outcome is None:  # an event type we do not record: only remember the id
            return bool(await self.redis.set(self.seen_key(webhook_id), "1", nx=True,
                                             ex=SEEN_TTL_S))
        value = json.dumps(dataclasses.asdict(outcome), separators=(",", ":"))
        keys = [self.seen_key(webhook_id), self.outcome_key(outcome.job_id)]
        return bool(await self._record_once(keys=keys, args=[SEEN_TTL_S, value, OUTCOME_TTL_S]))

    async def get(self, job_id: str) -> Outcome | None:
        raw = await self.redis.get(self.outcome_key(job_id))
        if raw is None:
            return None
        return Outcome(**json.loads(raw))
