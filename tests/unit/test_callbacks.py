"""Signing checked by the standardwebhooks reference library; delivery against a real
HTTP receiver on loopback."""

import base64
import json
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from pacai_export.callbacks import CallbackDelivery, event, sign, signing_key
from pacai_export.errors import TransientError
from pacai_export.metrics import Metrics
from tests.helpers import Receiver


def verify(secret: str, delivery: Any) -> Any:
    wh = Webhook("whsec_" + base64.b64encode(secret.encode()).decode())
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    return wh.verify(delivery.body, headers)


WHSEC = "whsec_" + base64.b64encode(b"k" * 24).decode()


@pytest.mark.parametrize("secret", ["plain-secret", WHSEC])
def test_signature_verifies_with_the_reference_library(secret: str) -> None:
    body = json.dumps(event("export.completed", {"job_id": "1"})).encode()
    sig = sign(signing_key(secret), "1.export.completed", 1_700_000_000, body)
    ref_secret = secret if secret.startswith("whsec_") else (
        "whsec_" + base64.b64encode(secret.encode()).decode())
    expected = Webhook(ref_secret).sign("1.export.completed",
                                        __import__("datetime").datetime.fromtimestamp(1_700_000_000),
                                        body.decode())
    assert sig == expected


class FakeJob:
    """A stand-in for a BullMQ job (data and attempt counters only)."""

    def __init__(self, data: dict[str, Any], attempts_made: int = 0, attempts: int = 3) -> None:
        self.data = data
        self.attempts_made = attempts_made
        self.attempts = attempts

    @property
    def is_last_attempt(self) -> bool:
        return self.attempts_made + 1 >= self.attempts


def payload() -> dict[str, Any]:
    return {"webhook_id": "7.export.completed", **event("export.completed", {"job_id": "7"})}


async def test_delivery_signs_and_posts(receiver: Receiver) -> None:
    metrics = Metrics()
    delivery = CallbackDelivery(receiver.url, receiver.secret, metrics)
    try:
        assert await delivery.deliver(FakeJob(payload())) == {"status": 200}  # type: ignore[arg-type]
    finally:
        await delivery.aclose()
    [got] = receiver.deliveries
    verified = verify(receiver.secret, got)
    assert verified["type"] == "export.completed"
    assert got.headers["webhook-id"] == "7.export.completed"
    assert metrics.callbacks.labels(outcome="delivered")._value.get() == 1


async def test_5xx_is_retried_and_410_ends(receiver: Receiver) -> None:
    metrics = Metrics()
    delivery = CallbackDelivery(receiver.url, receiver.secret, metrics)
    receiver.statuses = [503, 410]
    try:
        with pytest.raises(TransientError, match=r"receiver answered HTTP 503$"):
            await delivery.deliver(FakeJob(payload()))  # type: ignore[arg-type]
        with pytest.raises(Exception, match="receiver answered 410 Gone") as info:
            await delivery.deliver(FakeJob(payload(), attempts_made=1))  # type: ignore[arg-type]
        assert type(info.value).__name__ == "UnrecoverableError"
    finally:
        await delivery.aclose()
    assert metrics.callbacks.labels(outcome="retry")._value.get() == 1
    assert metrics.callbacks.labels(outcome="gone")._value.get() == 1


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.statuses = [307]
    metrics = Metrics()
    delivery = CallbackDelivery(receiver.url, receiver.secret, metrics)
    try:
        with pytest.raises(TransientError, match="HTTP 307"):
            await delivery.deliver(FakeJob(payload(), attempts_made=2))  # type: ignore[arg-type]
    finally:
        await delivery.aclose()
    assert len(receiver.deliveries) == 1
    assert metrics.callbacks.labels(outcome="gave_up")._value.get() == 1


async def test_unreachable_receiver_is_transient() -> None:
    delivery = CallbackDelivery("http://127.0.0.1:9/cb", "s", Metrics(),
                                client=httpx.AsyncClient(timeout=2))
    try:
        with pytest.raises(TransientError, match=r"^callback 7.export.completed: ConnectError"):
            await delivery.deliver(FakeJob(payload()))  # type: ignore[arg-type]
    finally:
        await delivery.aclose()
