"""The dashboard's static files (``api/static/``): the live-update and preview scripts, their
stylesheet, and ``viewer.js`` — three.js bundled by ``make viewer`` (see ``web/viewer``).

Served from the package, same origin, so the dashboard's Content-Security-Policy
(``script-src 'self'``) holds with no CDN. Only the names listed here are served.
"""

from __future__ import annotations

import asyncio
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .problems import Problem

FILES = {
    "viewer.js": "text/javascript",
    "live.js": "text/javascript",
    "preview.js": "text/javascript",
    "preview.css": "text/css",
}


@cache
def read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in FILES:
        raise Problem(404, "not-found", "Not Found", f"no static file {name[:64]!r}")
    body = await asyncio.to_thread(read, name)  # a file read: off the event loop
    return Response(body, media_type=FILES[name], headers={
        "cache-control": "no-cache", "x-content-type-options": "nosniff"})


def routes() -> list[Route]:
    return [Route("/dashboard/static/{name}", static_file, methods=["GET"])]
