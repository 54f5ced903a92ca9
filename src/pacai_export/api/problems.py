"""RFC 9457 problem details, the request body limit and bearer-token checks.

Every error the API answers is ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and an ``errors`` list (``[{"field", "message"}]``, empty unless a
field is to blame), so clients parse one shape.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ExportError

PROBLEM_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pacai-export:problem:"


class Problem(Exception):
    """An error answer; raised anywhere below an endpoint, rendered by ``problem_handler``."""

    def __init__(self, status: int, slug: str, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"type": TYPE_PREFIX + self.slug, "title": self.title, "status": self.status,
                "detail": self.detail, "errors": self.errors}
        return JSONResponse(body, self.status, headers=self.headers, media_type=PROBLEM_TYPE)


def field_errors(exc: ExportError) -> list[dict[str, str]]:
    """An error's ``errors`` (path → message) as ``[{"field", "message"}]``; an error that
    blames no single field is one entry for the whole body (``$``)."""
    if not exc.errors:
        return [{"field": "$", "message": str(exc)}]
    return [{"field": path, "message": message} for path, message in exc.errors.items()]


async def problem_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Problem):
        return exc.response()
    if isinstance(exc, HTTPException):
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        title = titles.get(exc.status_code, "HTTP error")
        detail = f"{request.method} {request.url.path}: {exc.detail}"
        return Problem(exc.status_code, title.lower().replace(" ", "-"), title, detail,
                       headers=dict(exc.headers or {})).response()
    raise exc


async def redis_unavailable(request: Request, exc: Exception) -> Response:  # noqa: ARG001 (Starlette calls exception handlers with it)
    """Redis refused or timed out (after the client's few retries): 503, try again."""
    return Problem(503, "redis-unavailable", "Queue unavailable",
                   f"{request.method} {request.url.path}: the queue's Redis did not answer; "
                   "try again shortly", headers={"retry-after": "5"}).response()


# --- request bodies ---------------------------------------------------------------------------


def too_large(limit: int) -> Problem:
    return Problem(413, "body-too-large", "Request body too large",
                   f"the request body exceeds API_MAX_BODY_BYTES ({limit} bytes)")


class BodyLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes, by Content-Length or as they stream.

    A declared length over the limit is answered at once, before the app reads anything; a
    chunked body is counted and ``Problem(413)`` is raised into the reader when it overflows.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await too_large(self.limit).response()(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, limited, send)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _no_constants(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "unsupported-media-type", "Unsupported Media Type",
                      f"content-type must be application/json, got {media or 'none'!r}")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN/Infinity (Redis stores the job as JSON that must round-trip)."""
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "malformed-json", "Malformed JSON",
                      f"the body is not valid JSON: {exc}") from None


# --- job ids ----------------------------------------------------------------------------------

JOB_ID_MAX = 256


def require_job_id(job_id: str) -> str:
    """A job id from a URL, checked before it reaches Redis: BullMQ builds keys as
    ``<prefix>:<queue>:<id>``, so an id with ':' (``1:logs``) would name another key."""
    problem = None
    if not job_id or len(job_id) > JOB_ID_MAX:
        problem = f"must be 1 to {JOB_ID_MAX} characters"
    elif ":" in job_id:
        problem = "must not contain ':'"
    elif not job_id.isprintable() or any(c.isspace() for c in job_id):
        problem = "must not contain spaces or control characters"
    if problem is not None:
        raise Problem(400, "invalid-job-id", "Invalid job id", f"id: {problem}",
                      [{"field": "id", "message": problem}])
    return job_id


# --- bearer tokens ----------------------------------------------------------------------------


def token_matches(presented: str | None, tokens: Iterable[str]) -> bool:
    """Constant-time comparison against *every* configured token (no early exit)."""
    if not presented:
        return False
    given = presented.encode()
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given, token.encode())
    return ok


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def unauthorized(detail: str = "a valid bearer token is required "
                 "(Authorization: Bearer <token from API_TOKENS>)") -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail,
                   headers={"WWW-Authenticate": 'Bearer realm="pacai-export"'})


def require_token(request: Request, tokens: Iterable[str]) -> None:
    if not token_matches(bearer(request), tokens):
        raise unauthorized()
