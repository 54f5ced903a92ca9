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
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

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


class Tally:
    """What one client process saw: deliveries, reconnects, (job, percent, arrival) samples."""

    def __init__(self, clients: int) -> None:
        self.samples: list[tuple[str, int, float]] = []
        self.delivered = 0
        self.connected = 0
        self.reconnects = 0
        self.ready = asyncio.Event()
        self.clients = clients


PROGRESS = b"event: progress\n"


async def client(host: str, port: int, token: str, tally: Tally, timed: bool) -> None:
    """One dashboard on a raw socket. Every client counts its progress events; ``timed`` ones
    also note when each arrived. A client the server drops reconnects with Last-Event-ID, as a
    browser does."""
    last_id, counted = b"", False
    while True:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        resume = b"Last-Event-ID: " + last_id + b"\r\n" if last_id else b""
        writer.write(b"GET /dashboard/api/events HTTP/1.1\r\nHost: " + host.encode() +
                     b"\r\nAuthorization: Bearer " + token.encode() +
                     b"\r\nAccept: text/event-stream\r\n" + resume + b"\r\n")
        pending = b""
        while chunk := await reader.read(1 << 16):
            if not counted and b"event: snapshot" in chunk:
                counted = True
                tally.connected += 1
                if tally.connected == tally.clients:
                    tally.ready.set()
            pending += chunk
            done, _, pending = pending.rpartition(b"\n\n")
            if done:
                tally.delivered += done.count(PROGRESS)
                at = done.rfind(b"\nid: ")
                if at >= 0:
                    last_id = done[at + 5:].split(b"\n", 1)[0]
                if timed:
                    _note(done, tally)
        writer.close()
        tally.reconnects += 1


def _note(messages: bytes, tally: Tally) -> None:
    now = time.monotonic()  # CLOCK_MONOTONIC: comparable across this machine's processes
    for message in messages.split(b"\n\n"):
        if PROGRESS in message:
            data = json.loads(message[message.find(b"data: ") + 6:])
            tally.samples.append((data["job_id"], data["progress"], now))


def client_process(host: str, port: int, token: str, count: int, first: int, ready: Any,
                   stop: Any, out: Any) -> None:
    """``count`` clients in one process (several processes: one Python loop cannot read
    10,000 messages a second and leave the measurement honest)."""

    async def main() -> None:
        tally = Tally(count)
        tasks = [asyncio.create_task(client(host, port, token, tally, (first + i) % 10 == 0))
                 for i in range(count)]
        await asyncio.wait_for(tally.ready.wait(), 120)
        ready.put(count)
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        out.put((tally.delivered, tally.reconnects, tally.samples))

    asyncio.run(main())


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
    host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
    mp = multiprocessing.get_context("spawn")
    ready, out, stop = mp.Queue(), mp.Queue(), mp.Event()
    share = -(-args.clients // args.processes)
    spans = [(i, min(share, args.clients - i)) for i in range(0, args.clients, share)]
    procs = [mp.Process(target=client_process, args=(host, port, TOKEN, n, i, ready, stop, out))
             for i, n in spans]
    try:
        for p in procs:
            p.start()
        for _ in procs:
            await asyncio.to_thread(ready.get, True, 180)
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        events = await produce(redis_url, queue_name, args.jobs, args.rate, args.seconds, sent)
        cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)
        stop.set()
        results = [await asyncio.to_thread(out.get, True, 60) for _ in procs]
    finally:
        stop.set()
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
        proc.terminate()
        proc.wait(10)
        r = redis.Redis.from_url(redis_url)
        for key in r.scan_iter(f"bull:{queue_name}*", count=1000):
            r.delete(key)
        r.close()
    expected = events * args.clients
    delivered = sum(r[0] for r in results)
    ms = sorted((arrived - sent[(job, percent)]) * 1000 for r in results
                for job, percent, arrived in r[2] if (job, percent) in sent)
    print(f"clients {args.clients} in {len(procs)} processes, progress events {events} at "
          f"{args.rate:g}/s over {args.seconds:g} s, {args.jobs} jobs")
    print(f"deliveries {delivered} of {expected} ({expected - delivered} missed), "
          f"reconnects after a too-slow drop: {sum(r[1] for r in results)}")
    print(f"latency measured on every 10th client: {len(ms)} deliveries")
    print(f"API process CPU: {cpu * 100:.1f}% of one core")
    print(f"latency ms: p50 {statistics.median(ms):.1f}, p99 {ms[int(len(ms) * 0.99) - 1]:.1f}, "
          f"max {ms[-1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="progress events per second")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
