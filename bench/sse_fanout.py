"""SSE fan-out: many dashboards on one API process, a steady stream of progress events.

Starts ``pacai-export api`` as its own process, connects ``--clients`` SSE clients to the
dashboard's all-jobs stream (``/dashboard/api/events``: every client gets every event, the
dashboard's worst case), adds ``--jobs`` jobs and writes their progress through BullMQ's own
``updateProgress`` script at ``--rate`` events per second in total, for ``--seconds``.
Prints the API process's CPU (from /proc, user + system, over the run) and the latency from
just before each progress write to its arrival at each client (p50, p99, max), plus any
event a client missed. Clients and producer share this process and its clock; on a small
machine they compete with the API for CPU, so the latency is an upper bound.

    .venv/bin/python bench/sse_fanout.py [--clients 200] [--rate 50] [--seconds 20]

Uses REDIS_URL, else 127.0.0.1:6379. Deletes only its own queue's keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import bullmq
import httpx
import redis

from pacai_export.redis_server import free_port

VENV_BIN = Path(sys.executable).parent
TOKEN = "bench-" + uuid.uuid4().hex


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_api(redis_url: str, queue: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "EXPORT_QUEUE": queue, "API_PORT": str(port),
           "API_TOKENS": TOKEN, "LOG_LEVEL": "warning", "LOG_FORMAT": "json"}
    proc = subprocess.Popen([str(VENV_BIN / "pacai-export"), "api"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the api did not start")


async def client(http: httpx.AsyncClient, sent: dict[tuple[str, int], float],
                 latencies: list[float], counts: list[int], ready: asyncio.Event,
                 connected: list[int], total: int) -> None:
    async with http.stream("GET", "/dashboard/api/events",
                           headers={"authorization": f"Bearer {TOKEN}"}) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: snapshot"):
                connected[0] += 1
                if connected[0] == total:
                    ready.set()
            elif line.startswith("data: ") and '"progress"' in line:
                data = json.loads(line[6:])
                start = sent.get((data["job_id"], data["progress"]))
                if start is not None:
                    latencies.append(time.monotonic() - start)
                    counts[0] += 1


async def produce(redis_url: str, queue_name: str, jobs: int, rate: float, seconds: float,
                  sent: dict[tuple[str, int], float]) -> int:
    queue = bullmq.Queue(queue_name, {"connection": redis_url})
    added = [await queue.add("export", {"project_id": f"bench-{i}"}, {}) for i in range(jobs)]
    await asyncio.sleep(1)  # the added/waiting events pass before the measurement
    events, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        job = added[events % jobs]
        percent = 1 + events // jobs
        sent[(str(job.id), percent)] = time.monotonic()
        await job.updateProgress(percent)
        events += 1
        delay = start + events / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.sleep(2)  # stragglers
    await queue.close()
    return events


async def run(args: argparse.Namespace) -> None:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    queue_name = f"bench-sse-{uuid.uuid4().hex[:8]}"
    proc, base = start_api(redis_url, queue_name)
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    counts, connected = [0], [0]
    ready = asyncio.Event()
    limits = httpx.Limits(max_connections=args.clients + 10)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits) as http:
            tasks = [asyncio.create_task(client(http, sent, latencies, counts, ready,
                                                connected, args.clients))
                     for _ in range(args.clients)]
            await asyncio.wait_for(ready.wait(), 120)
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            events = await produce(redis_url, queue_name, args.jobs, args.rate, args.seconds,
                                   sent)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        proc.terminate()
        proc.wait(10)
        r = redis.Redis.from_url(redis_url)
        for key in r.scan_iter(f"bull:{queue_name}*", count=1000):
            r.delete(key)
        r.close()
    expected = events * args.clients
    ms = sorted(x * 1000 for x in latencies)
    print(f"clients {args.clients}, progress events {events} at {args.rate:g}/s "
          f"over {args.seconds:g} s, {args.jobs} jobs")
    print(f"deliveries {counts[0]} of {expected} ({expected - counts[0]} missed)")
    print(f"API process CPU: {cpu * 100:.1f}% of one core")
    print(f"latency ms: p50 {statistics.median(ms):.1f}, p99 {ms[int(len(ms) * 0.99) - 1]:.1f}, "
          f"max {ms[-1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="progress events per second")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
