"""Fixtures for the API: the app in-process over httpx's ASGI transport (its lifespan run),
and ``pacai-export api`` started as a process, the way operators start it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pacai_export.api import create_app
from pacai_export.callbacks import sign, signing_key
from pacai_export.redis_server import free_port
from pacai_export.settings import Settings
from tests.helpers import VENV_BIN, ServiceProcess, settings_env

TOKEN = "tok-" + uuid.uuid4().hex
OTHER_TOKEN = "tok2-" + uuid.uuid4().hex
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, api_tokens=(OTHER_TOKEN, TOKEN),
                               callback_secret="whsec-like-" + uuid.uuid4().hex)


@pytest.fixture
async def api(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this process (no server): lifespan entered, Redis and queue real."""
    app = create_app(api_settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def signed_headers(secret: str, webhook_id: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {"content-type": "application/json", "webhook-id": webhook_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(signing_key(secret), webhook_id, stamp, body)}


def event_body(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "timestamp": "2030-01-01T00:00:00.000Z",
                       "data": data}).encode()


class ApiProcess(ServiceProcess):
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=AUTH, timeout=10)


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    started: list[ApiProcess] = []

    def start(s: Settings, **extra_env: str) -> ApiProcess:
        port = free_port()
        log = tmp_path / f"api-{len(started)}.log"
        env = {**settings_env(s), "API_PORT": str(port), "API_TOKENS": ",".join(s.api_tokens),
               "WORKER_CALLBACK_SECRET": s.callback_secret or "", **extra_env}
        with log.open("wb") as out:
            proc = subprocess.Popen([str(VENV_BIN / "pacai-export"), "api"], env=env,
                                    stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        api = ApiProcess(proc, port, log)
        started.append(api)
        if not api.wait_status("/openapi.json", 200):
            raise AssertionError(f"api not serving; log:\n{log.read_text()[-3000:]}")
        return api

    yield start
    for api in started:
        if api.proc.poll() is None:
            api.proc.terminate()
            try:
                api.proc.wait(10)
            except subprocess.TimeoutExpired:
                api.proc.kill()
                api.proc.wait(10)
