"""Shutdown: how long a worker process takes to exit after SIGTERM, against its bound.

Three cases, each a real ``pacai-export worker`` process, ``rounds`` times (median):

- idle: nothing to drain;
- redis-down: ``REDIS_URL`` points at a closed port (the worker never reached Redis);
- out-of-time: a CPU-heavy export is running in the pool when the signal comes and cannot
  finish within ``SHUTDOWN_TIMEOUT``.

Prints the wall time from the signal to the process's exit and its ratio to the contract's
bound, ``SHUTDOWN_TIMEOUT`` + 2 s (goal: every ratio ≤ 1).

    .venv/bin/python bench/shutdown.py [--timeout 2] [--rounds 3] [--nodes 20000]

Uses REDIS_URL, else 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis

from pacai_export.client import ExportClient
from pacai_export.demo import example_manifest
from pacai_export.settings import Settings

WORKER = [str(Path(sys.executable).parent / "pacai-export"), "worker"]
BOUND_EXTRA_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def heavy_job(project_id: str, nodes: int) -> dict[str, Any]:
    manifest = copy.deepcopy(example_manifest())
    manifest["project"] = {"id": project_id, "name": "Shutdown bench", "version": "1.0.0"}
    manifest["assets"] = []
    manifest["materials"] = [m for m in manifest["materials"] if "base_color_texture" not in m]
    manifest["scenes"][0]["nodes"] = [
        {"id": f"n{i:06d}", "mesh": {"primitive": "box"}, "material": "mat_gold",
         "transform": {"translation": [i % 50, (i // 50) % 10, i // 500]}}
        for i in range(nodes)]
    return {"project_id": project_id, "engines": ["godot", "unity", "ue5"],
            "include_assets": False, "quality": "medium", "manifest": manifest}


def start(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (folder / f"worker-{port}.log").open("wb")
    proc = subprocess.Popen(WORKER, env={**env, "HEALTH_PORT": str(port)}, stdout=log,
                            stderr=subprocess.STDOUT, cwd=folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"worker did not start; see {log.name}")


def stop(proc: subprocess.Popen[bytes], limit: float = 120.0) -> float:
    """Seconds from SIGTERM to exit; ``inf`` (after a SIGKILL) past ``limit``."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return float("inf")
    return time.monotonic() - started


async def running(client: ExportClient, job_id: str) -> None:
    while True:
        status = await client.status(job_id)
        if status and status["state"] == "active" and status["progress"] >= 10:
            return
        await asyncio.sleep(0.05)


def one_round(case: str, env: dict[str, str], folder: Path, nodes: int) -> float:
    if case == "redis-down":
        env = {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}"}
    proc, _ = start(env, folder)
    if case == "out-of-time":
        settings = Settings(redis_url=env["REDIS_URL"], queue_name=env["EXPORT_QUEUE"])

        async def enqueue() -> None:
            client = ExportClient(settings)
            try:
                job_id = await client.enqueue(heavy_job("shutdown-bench", nodes))
                await running(client, job_id)
            finally:
                await client.aclose()

        asyncio.run(enqueue())
    else:
        time.sleep(1.0)
    return stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=int, default=2, help="SHUTDOWN_TIMEOUT (s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=20_000, help="size of the heavy job")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    queue = f"bench-shutdown-{uuid.uuid4().hex[:8]}"
    bound = args.timeout + BOUND_EXTRA_S
    with tempfile.TemporaryDirectory(prefix="bench-shutdown-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "REDIS_URL": url, "EXPORT_QUEUE": queue,
               "SHUTDOWN_TIMEOUT": str(args.timeout), "EXPORTS_DIR": str(folder / "exports"),
               "LOG_FORMAT": "json", "LOCK_DURATION_MS": "3000",
               "STALLED_INTERVAL_MS": "1000"}
        try:
            print(f"SHUTDOWN_TIMEOUT={args.timeout}s, bound {bound:.1f}s, "
                  f"median of {args.rounds}")
            for case in ("idle", "redis-down", "out-of-time"):
                times = [one_round(case, env, folder, args.nodes) for _ in range(args.rounds)]
                median = statistics.median(times)
                print(f"{case:12} exit after {median:5.2f}s  (runs: "
                      f"{', '.join(f'{t:.2f}' for t in times)})  ratio to bound "
                      f"{median / bound:.2f}")
        finally:
            client = redis.Redis.from_url(url)
            for key in client.scan_iter(f"bull:{queue}*", count=1000):
                client.delete(key)
            client.close()


if __name__ == "__main__":
    main()
