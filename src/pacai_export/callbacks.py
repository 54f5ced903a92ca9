"""Callbacks (§5): Standard Webhooks v1 signing and durable, separate delivery.

An export that ends enqueues its event on a second BullMQ queue (``<EXPORT_QUEUE>-callbacks``)
whose job id is the event's ``webhook-id`` (``<job_id>.<type>``). Adding an id that already
exists is a no-op, so an export re-run after a crash cannot send a second event; a failing
receiver retries the delivery job, never the export. Delivery jobs survive worker restarts
because they live in Redis.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import bullmq
import httpx

from . import __version__
from .errors import TransientError
from .logs import get_logger
from .metrics import Metrics
from .queues import JobView, add_job, callback_job_options, unrecoverable

log = get_logger("pacai_export.callbacks")
COMPLETED = "export.completed"
FAILED = "export.failed"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def signing_key(secret: str) -> bytes:
    """``whsec_<base64>`` is the Standard Webhooks form; anything else is used as UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"type": event_type, "timestamp": now, "data": data}


def failed_data(job_id: str, project_id: str | None, code: str, message: str,
                attempts_made: int) -> dict[str, Any]:
    return {"job_id": job_id, "project_id": project_id,
            "error": {"code": code, "message": message}, "attempts_made": attempts_made}


class CallbackOutbox:
    """Producer side: puts events on the callback queue, at most once per webhook-id."""

    def __init__(self, queue: bullmq.Queue, max_attempts: int) -> None:
        self.queue = queue
        self.max_attempts = max_attempts

    async def send(self, job_id: str, event_type: str, data: dict[str, Any]) -> str:
        webhook_id = f"{job_id}.{event_type}"
        await add_job(self.queue, event_type, {"webhook_id": webhook_id, **event(event_type, data)},
                      callback_job_options(webhook_id, self.max_attempts))
        return webhook_id


class CallbackDelivery:
    """Consumer side: POSTs one event per delivery job, signed afresh on every attempt."""

    def __init__(self, url: str, secret: str, metrics: Metrics,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.key = signing_key(secret)
        self.metrics = metrics
        self.client = client or httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=False,
            headers={"user-agent": f"pacai-export/{__version__}"})

    async def deliver(self, job: JobView) -> dict[str, Any]:
        payload = dict(job.data)
        webhook_id = payload.pop("webhook_id")
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.key, webhook_id, timestamp, body),
        }
        bound = log.bind(webhook_id=webhook_id, attempt=job.attempts_made + 1)
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self._failed(bound, job, f"{type(exc).__name__}: {exc}")
            raise TransientError(f"callback {webhook_id}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            self.metrics.callbacks.labels(outcome="delivered").inc()
            bound.info("callback delivered", status=status)
            return {"status": status}
        if status == 410:
            self.metrics.callbacks.labels(outcome="gone").inc()
            bound.warning("callback receiver answered 410 Gone; not retrying")
            raise unrecoverable(f"callback {webhook_id}: receiver answered 410 Gone")
        self._failed(bound, job, f"HTTP {status}")
        raise TransientError(f"callback {webhook_id}: receiver answered HTTP {status}")

    def _failed(self, bound: Any, job: JobView, why: str) -> None:
        if job.is_last_attempt:
            self.metrics.callbacks.labels(outcome="gave_up").inc()
            bound.error("callback delivery gave up", reason=why, attempts=job.attempts)
        else:
            self.metrics.callbacks.labels(outcome="retry").inc()
            bound.warning("callback delivery failed; will retry", reason=why)

    async def aclose(self) -> None:
        await self.client.aclose()
