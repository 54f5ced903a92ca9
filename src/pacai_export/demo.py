"""``pacai-export demo``: Redis (embedded when REDIS_URL is unset), a worker, one real job."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from .client import ExportClient
from .engines import ENGINES
from .progress import TerminalProgress
from .redis_server import EmbeddedRedis
from .settings import Settings

EXAMPLE = "forest-arena.json"


def example_manifest() -> dict[str, Any]:
    text = resources.files("pacai_export.examples").joinpath(EXAMPLE).read_text()
    manifest: dict[str, Any] = json.loads(text)
    return manifest


@contextlib.contextmanager
def _redis(settings: Settings) -> Iterator[Settings]:
    if settings.redis_url:
        yield settings
        return
    with EmbeddedRedis() as server:
        print(f"demo: started an embedded Redis server at {server.url}", file=sys.stderr)
        yield dataclasses.replace(settings, redis_url=server.url)


async def run_demo(settings: Settings) -> int:
    from .worker import WorkerService

    # The demo's worker listens on a free port unless HEALTH_PORT was chosen.
    chosen = settings.health_port != Settings.health_port  # the default, 8080
    base = settings if chosen else dataclasses.replace(settings, health_port=0)
    with _redis(base) as s:
        service = WorkerService(s)
        worker = asyncio.create_task(service.run(install_signals=False))
        client = ExportClient(s)
        try:
            manifest = example_manifest()
            job_id = await client.enqueue({
                "project_id": manifest["project"]["id"], "engines": list(ENGINES),
                "include_assets": True, "quality": "high", "manifest": manifest})
            print(f"demo: enqueued job {job_id} on {s.queue_name}", file=sys.stderr)
            with TerminalProgress(f"job {job_id}") as progress:
                status = await client.wait(job_id, progress.update)
        finally:
            await client.aclose()
            service.stop()
            await worker
    if status["state"] != "completed":
        print(f"demo: the job failed: {status.get('error')}", file=sys.stderr)
        return 1
    result = status["result"]
    path = Path(s.exports_dir, result["key"])
    print(json.dumps(result), file=sys.stderr)
    print(path)
    return 0
