"""Redis Cluster (issue 7, item 5): a ``{hashtag}`` QUEUE_PREFIX keeps every key of a queue
in one hash slot, so BullMQ's multi-key Lua scripts run on a real 3-master cluster.

The cluster is started by the tests (``redis-server --cluster-enabled yes`` on free loopback
ports, joined with ``redis-cli --cluster create``); a real ``pacai-export worker`` process
consumes a job enqueued through ``ExportClient``.

Without ``REDIS_CLUSTER=true`` the worker connects with a plain Redis client, which works
only when REDIS_URL names the master owning the hashtag's slot — the first test. With it, the
worker and ``ExportClient`` use ``redis.asyncio.cluster.RedisCluster`` and work through any
node — the second test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.helpers import Receiver, WorkerProcess, job_data, settings_env

pytestmark = pytest.mark.slow

HASHTAG = "pacai"
PREFIX = "{" + HASHTAG + "}"
CLUSTER_ENV = {"REDIS_CLUSTER": "true"}
MASTERS = 3


@dataclasses.dataclass
class Cluster:
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    directory: Path

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)

    def url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}"

    def slot_owner(self, key: str) -> int:
        """The port of the master serving ``key``'s hash slot."""
        with contextlib.closing(self.client(self.ports[0])) as c:
            slot = int(c.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in c.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        raise AssertionError(f"no master serves slot {slot}")

    def keys(self, pattern: str) -> dict[int, list[str]]:
        found = {}
        for port in self.ports:
            with contextlib.closing(self.client(port)) as c:
                found[port] = sorted(c.keys(pattern))
        return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports, held open together so they differ."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if predicate():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server and redis-cli are needed to start a Redis Cluster")
    directory = tmp_path_factory.mktemp("redis-cluster")
    ports = _free_ports(2 * MASTERS)
    data_ports, bus_ports = ports[:MASTERS], ports[MASTERS:]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port, bus in zip(data_ports, bus_ports, strict=True):
            node_dir = directory / str(port)
            node_dir.mkdir()
            processes.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-port", str(bus),
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                 "--dir", str(node_dir), "--save", "", "--appendonly", "no",
                 "--maxmemory-policy", "noeviction", "--logfile", "redis.log"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        made = Cluster(data_ports, processes, directory)
        for port in data_ports:
            _wait(lambda p=port: bool(made.client(p).ping()), 15, f"redis-server on {port}")
        create = subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in data_ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=60)
        assert create.returncode == 0, create.stdout + create.stderr
        for port in data_ports:
            _wait(lambda p=port: "cluster_state:ok" in made.client(p).execute_command(
                "CLUSTER", "INFO"), 30, f"cluster_state:ok on {port}")
        yield made
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def start_cluster_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Like conftest's ``start_worker``, for a worker that may never become ready."""
    from pacai_export.redis_server import free_port

    started: list[WorkerProcess] = []

    def start(s: Settings, **extra_env: str) -> WorkerProcess:
        from tests.helpers import WORKER_CMD

        port = free_port()
        log = tmp_path / f"worker-{len(started)}.log"
        env = {**settings_env(s), "HEALTH_PORT": str(port), **extra_env}
        with log.open("wb") as out:
            proc = subprocess.Popen(WORKER_CMD, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=tmp_path)
        worker = WorkerProcess(proc, port, log)
        started.append(worker)
        if not worker.wait_status("/ready", 200, timeout=30):
            raise AssertionError(f"worker not ready; log:\n{log.read_text()[-3000:]}")
        return worker

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.terminate()
            try:
                w.proc.wait(15)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait(10)


def cluster_settings(tmp_path: Path, url: str, receiver: Receiver) -> Settings:
    return Settings(redis_url=url, queue_prefix=PREFIX, queue_name=f"export{uuid.uuid4().hex[:8]}",
                    exports_dir=tmp_path / "exports",
                    export_bucket_url="https://downloads.example.test/exports",
                    projects_dir=tmp_path / "projects", health_port=0, concurrency=2,
                    shutdown_timeout=10, log_format="json",
                    callback_url=receiver.url, callback_secret=receiver.secret)


def settings_through_other_node(cluster: Cluster, tmp_path: Path, receiver: Receiver,
                                **extra_env: str) -> tuple[Settings, Settings]:
    """Settings for a node that does not own the queue's slot (so every command of a client
    that is not cluster-aware meets MOVED), and those a client or API process reads from
    the worker's environment with ``REDIS_CLUSTER=true`` and ``extra_env``."""
    other = next(port for port in cluster.ports if port != cluster.slot_owner(PREFIX))
    settings = cluster_settings(tmp_path, cluster.url(other), receiver)
    env = {**settings_env(settings), **CLUSTER_ENV, **extra_env}
    return settings, dataclasses.replace(Settings.from_env(env), exports_dir=settings.exports_dir)


def assert_one_completed_callback(receiver: Receiver, job_id: str) -> None:
    deliveries = receiver.wait_for(1)
    assert len(deliveries) == 1, deliveries
    headers = {k.lower(): v for k, v in deliveries[0].headers.items()}
    assert headers["webhook-id"] == f"{job_id}.export.completed"
    assert json.loads(deliveries[0].body)["type"] == "export.completed"


async def enqueue_and_wait(settings: Settings, timeout: float = 90) -> dict[str, Any]:
    client = ExportClient(settings)
    try:
        job_id = await client.enqueue(job_data("cluster-arena"))
        return await asyncio.wait_for(client.wait(job_id), timeout)
    finally:
        await client.aclose()


async def test_hashtag_prefix_keeps_every_queue_key_in_one_slot(
        cluster: Cluster, tmp_path: Path, receiver: Receiver,
        start_cluster_worker: Callable[..., WorkerProcess]) -> None:
    owner = cluster.slot_owner(PREFIX)
    settings = cluster_settings(tmp_path, cluster.url(owner), receiver)
    worker = start_cluster_worker(settings)

    status = await enqueue_and_wait(settings)

    assert status["state"] == "completed", (status, worker.log.read_text()[-3000:])
    result = status["result"]
    assert result["status"] == "completed" and result["project_id"] == "cluster-arena"
    assert (settings.exports_dir / result["key"]).is_file()
    assert_one_completed_callback(receiver, status["id"])
    # Export and callback queues alike: every key on the slot's master, in the one slot.
    keys = cluster.keys(f"{PREFIX}:{settings.queue_name}*")
    assert keys[owner], "the queue's keys should be on the slot's master"
    assert all(not found for port, found in keys.items() if port != owner), keys
    with contextlib.closing(cluster.client(owner)) as c:
        slots = {int(c.execute_command("CLUSTER", "KEYSLOT", key)) for key in keys[owner]}
        assert slots == {int(c.execute_command("CLUSTER", "KEYSLOT", PREFIX))}
    assert any(key.endswith(":completed") for key in keys[owner])
    assert any(key.startswith(f"{PREFIX}:{settings.callback_queue_name}:") for key in keys[owner])


async def test_worker_and_client_work_through_any_cluster_node(
        cluster: Cluster, tmp_path: Path, receiver: Receiver,
        start_cluster_worker: Callable[..., WorkerProcess]) -> None:
    settings, client_settings = settings_through_other_node(cluster, tmp_path, receiver)

    # Enqueue first: on a non-cluster-aware client this is where MOVED surfaces, at once.
    client = ExportClient(client_settings)
    try:
        job_id = await client.enqueue(job_data("cluster-arena"))
        worker = start_cluster_worker(settings, **CLUSTER_ENV)
        status = await asyncio.wait_for(client.wait(job_id), 90)
    finally:
        await client.aclose()

    assert status["state"] == "completed", (status, worker.log.read_text()[-3000:])
    assert status["progress"] == 100
    assert_one_completed_callback(receiver, job_id)


async def test_live_events_stream_through_a_cluster_node(
        cluster: Cluster, tmp_path: Path, receiver: Receiver,
        start_cluster_worker: Callable[..., WorkerProcess]) -> None:
    """The API's one events reader (XREAD on ``{pacai}:<queue>:events``) through any node."""
    import httpx

    from pacai_export.api.events import LiveOptions
    from tests.helpers import Events, serve

    settings, api_settings = settings_through_other_node(cluster, tmp_path, receiver,
                                                         API_TOKENS="cluster-token")
    client = ExportClient(api_settings)
    try:
        job_id = await client.enqueue(job_data("cluster-live", engines=["godot"]))
        async with serve(api_settings, LiveOptions(block_ms=500)) as base, httpx.AsyncClient(
                base_url=base, timeout=60) as http, http.stream(
                "GET", f"/v5/export/{job_id}", headers={
                    "authorization": "Bearer cluster-token",
                    "accept": "text/event-stream"}) as response:
            events = Events(response)
            assert (await events.until("status"))[2]["state"] == "waiting"
            start_cluster_worker(settings, **CLUSTER_ENV)
            seen = []
            with contextlib.suppress(EOFError):
                while True:
                    seen.append(await events.next(60))
    finally:
        await client.aclose()
    names = [name for _, name, _ in seen]
    assert "progress" in names and "log" in names
    assert names[-1] == "completed"
    assert seen[-1][2]["result"]["project_id"] == "cluster-live"
