"""The HTTP API (§9.3): enqueue, status, the callback receiver, the OpenAPI document.

``create_app(settings)`` builds the Starlette app (the dashboard's routes included);
``run_api(settings)`` serves it with uvicorn on ``API_PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import ConfigError, InvalidJob
from ..jobs import ExportJob
from ..logs import get_logger
from ..queues import get_job
from ..runtime import open_runtime
from ..server import OwnSignalsServer
from ..settings import Settings
from . import dashboard, events, openapi, preview, static
from .context import ApiContext, context
from .idempotency import body_hash
from .problems import (
    BodyLimit,
    Problem,
    field_errors,
    parse_json,
    problem_handler,
    redis_unavailable,
    require_job_id,
    require_json,
    require_token,
)
from .receiver import Outcome, verify

log = get_logger("pacai_export.api")
IDEMPOTENCY_KEY_RE = re.compile(openapi.IDEMPOTENCY_KEY_PATTERN.removesuffix("$"))
IDEMPOTENCY_PREFIX = "idem-"


def idempotent_job_id(key: str | None) -> str | None:
    """``Idempotency-Key`` → BullMQ job id. ``idem-`` keeps it from being an integer (which
    BullMQ reserves for its own ids); the pattern keeps ':' (its key separator) out."""
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise Problem(400, "invalid-idempotency-key", "Invalid Idempotency-Key",
                      f"Idempotency-Key: must match {openapi.IDEMPOTENCY_KEY_PATTERN}",
                      [{"field": "Idempotency-Key",
                        "message": f"must match {openapi.IDEMPOTENCY_KEY_PATTERN}"}])
    return IDEMPOTENCY_PREFIX + key


async def enqueue(request: Request) -> Response:
    ctx = context(request)
    require_token(request, ctx.settings.api_tokens)
    job_id = idempotent_job_id(request.headers.get("idempotency-key"))
    require_json(request)
    data = parse_json(await request.body())
    try:
        ExportJob.parse(data)
    except InvalidJob as exc:
        raise Problem(422, "invalid-job", "Invalid export job", str(exc),
                      field_errors(exc)) from None
    headers = {}
    if job_id is None:
        job_id = await ctx.client.enqueue(data)
    elif await _enqueue_once(ctx, job_id, data):
        headers["Idempotent-Replayed"] = "true"
    replayed = bool(headers)
    status_url = str(request.url_for("export_status", id=job_id))
    log.info("job enqueued", job_id=job_id, replayed=replayed)
    return JSONResponse({"id": job_id, "status_url": status_url}, 202,
                        headers={"Location": status_url, **headers})


def _key_reused(job_id: str) -> Problem:
    return Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                   f"Idempotency-Key: job {job_id} was enqueued with different data",
                   [{"field": "Idempotency-Key", "message": "already used with a different body"}])


async def _enqueue_once(ctx: ApiContext, job_id: str, data: Any) -> bool:
    """Enqueue ``data`` as ``job_id`` unless the key is taken; True for a replay of the same
    body. The claim comes first and is atomic (``IdempotencyStore``); a job that already had
    this id without a claim (added by another producer) is compared after the add."""
    digest = body_hash(data)
    held = await ctx.idempotency.claim(job_id, digest)
    if held is not None:
        if held != digest:
            raise _key_reused(job_id)
        return True
    try:
        await ctx.client.enqueue(data, job_id)
        stored = await get_job(ctx.client.queue, job_id)
    except BaseException:
        with contextlib.suppress(Exception):
            await ctx.idempotency.release(job_id, digest)
        raise
    if stored is not None and stored.data != data:
        await ctx.idempotency.release(job_id, digest)
        raise _key_reused(job_id)
    return False


async def export_status(request: Request) -> Response:
    ctx = context(request)
    require_token(request, ctx.settings.api_tokens)
    job_id = require_job_id(request.path_params["id"])
    if events.wants_events(request):
        return await events.job_status_stream(request, job_id)
    status = await ctx.status(job_id)
    if status is None:
        raise Problem(404, "job-not-found", "Job not found",
                      f"no job {job_id!r} in queue {ctx.settings.queue_name}")
    return JSONResponse(status)


async def callback(request: Request) -> Response:
    ctx = context(request)
    secret = ctx.settings.callback_secret
    if not secret:
        raise Problem(503, "receiver-not-configured", "Callback receiver not configured",
                      "WORKER_CALLBACK_SECRET: required to verify callbacks")
    body = await request.body()
    webhook_id = verify(secret, request.headers, body)
    outcome = Outcome.from_event(parse_json(body))
    recorded = await ctx.outcomes.record(webhook_id, outcome)
    log.info("callback received", webhook_id=webhook_id, replay=not recorded)
    return Response(status_code=204)


async def openapi_json(_: Request) -> Response:
    return JSONResponse(openapi.document())


def create_app(settings: Settings) -> Starlette:
    """The ASGI app: API, callback receiver and dashboard; Redis is opened in its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The API's storage (the preview reads bundles) comes from the runtime; its Redis
        # clients are bounded (a request waits seconds, not minutes), so they are its own.
        async with open_runtime(settings, export=False, queues=False) as rt:
            app.state.ctx = ApiContext(settings, rt.storage)
            try:
                yield
            finally:
                await app.state.ctx.aclose()

    middleware = [Middleware(BodyLimit, limit=settings.api_max_body_bytes)]
    if settings.api_cors_origins:
        middleware.insert(0, Middleware(
            CORSMiddleware, allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "idempotency-key"],
            expose_headers=["location", "idempotent-replayed"], max_age=600))
    routes = [
        Route("/v5/export", enqueue, methods=["POST"]),
        Route("/v5/export/callback", callback, methods=["POST"]),
        Route("/v5/export/{id:path}", export_status, methods=["GET"], name="export_status"),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *events.routes(),
        *preview.routes(),
        *static.routes(),
        *dashboard.routes(),
    ]
    handlers: dict[Any, Any] = {Problem: problem_handler, HTTPException: problem_handler,
                                RedisConnectionError: redis_unavailable,
                                RedisTimeoutError: redis_unavailable}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers,
                     lifespan=lifespan)


def _stop(server: OwnSignalsServer, app: Any) -> None:
    """SIGTERM/SIGINT: stop accepting, and end the live event streams, which would otherwise
    hold uvicorn's drain open for as long as a browser watches."""
    server.should_exit = True
    ctx = getattr(app.state, "ctx", None)
    if ctx is not None:
        ctx.events.close_streams()


async def run_api(settings: Settings) -> int:
    """Serve the API on ``API_HOST``:``API_PORT`` until SIGTERM or SIGINT; exit code 0 after
    a clean stop."""
    if not settings.api_tokens:
        raise ConfigError("API_TOKENS: required for the api command")
    settings.require_redis()
    if not settings.callback_secret:
        log.warning("WORKER_CALLBACK_SECRET unset: POST /v5/export/callback answers 503")
    config = uvicorn.Config(create_app(settings), host=settings.api_host, port=settings.api_port,
                            log_config=None, access_log=False, lifespan="on")
    server = OwnSignalsServer(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: _stop(server, config.app))
    log.info("api listening", host=settings.api_host, port=settings.api_port,
             queue=settings.queue_name)
    await server.serve()
    return 0
