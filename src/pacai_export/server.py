"""The worker's operator endpoints (§9.1): /health, /ready, /metrics, on ``HEALTH_PORT``.

Served by uvicorn on the worker's own event loop: if the loop were blocked, /health could
not answer — which is exactly what a liveness probe should see.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Protocol

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .logs import get_logger
from .metrics import Metrics, QueueGauges, render

log = get_logger("pacai_export.server")


class Probe(Protocol):
    def alive(self) -> bool: ...
    def ready(self) -> bool: ...


def health_app(probe: Probe, metrics: Metrics, gauges: QueueGauges) -> Starlette:
    async def health(_: Request) -> Response:
        ok = probe.alive()
        return PlainTextResponse("ok\n" if ok else "event loop stalled\n", 200 if ok else 503)

    async def ready(_: Request) -> Response:
        ok = probe.ready()
        return PlainTextResponse("ready\n" if ok else "not ready\n", 200 if ok else 503)

    async def metrics_endpoint(_: Request) -> Response:
        try:
            await asyncio.wait_for(gauges.refresh(), 2.0)
        except Exception as exc:  # Redis away: serve the last known gauges
            log.debug("queue gauges not refreshed", error=str(exc))
        return Response(render(metrics), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[
        Route("/health", health), Route("/ready", ready), Route("/metrics", metrics_endpoint),
    ])


class OwnSignalsServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to its owner: the worker drains jobs first,
    the API stops cleanly with exit 0 (uvicorn would re-raise the signal)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    def __init__(self, probe: Probe, metrics: Metrics, gauges: QueueGauges, port: int,
                 host: str = "0.0.0.0") -> None:
        self._app = health_app(probe, metrics, gauges)
        self._host = host
        self._port = port
        self._server: OwnSignalsServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_config=None, access_log=False, lifespan="off")
        self._server = OwnSignalsServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        # uvicorn offers no "started" event to await; poll its flag briefly.
        while not self._server.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
