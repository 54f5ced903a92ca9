"""Shared fixtures: a real Redis, unique queues, settings, a real webhook receiver, and
worker processes started the way operators start them."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from pacai_export.redis_server import EmbeddedRedis, free_port
from pacai_export.settings import Settings
from tests.helpers import (
    S3_ENV,
    WORKER_CMD,
    Receiver,
    WorkerProcess,
    remove_suite_tmp,
    s3_client,
    settings_env,
)

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


# This process's own multiprocessing helpers: they live as long as it does, by design.
OWN_HELPERS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


LEFTOVER_GRACE_S = 10.0


def pytest_configure(config: pytest.Config) -> None:
    """Adopt orphans: a process the suite started whose parent died is re-parented to this
    one instead of init, so the end-of-session check below sees it."""
    if sys.platform.startswith("linux"):  # elsewhere orphans go to init, unseen
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _leftovers() -> list[psutil.Process]:
    me = psutil.Process()
    found = []
    for child in me.children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(child.pid, os.WNOHANG)  # adopted and exited: reap it
                continue
            own_helper = child.ppid() == me.pid and any(
                helper in " ".join(child.cmdline()) for helper in OWN_HELPERS)
        except psutil.NoSuchProcess:
            continue
        if not own_helper:
            found.append(child)
    return found


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process the suite started is still alive once every fixture has
    closed (after a grace period for ones that are exiting), then kill them."""
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    left = _leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _leftovers()
    if not left:
        remove_suite_tmp()
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
    for process in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            line = f"process left running by the suite: {process.pid} {process.cmdline()[:4]}"
            if reporter is not None:
                reporter.write_line(line, red=True)
            process.kill()
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    remove_suite_tmp()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis on 127.0.0.1:6379 when it answers, else an embedded one."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        with EmbeddedRedis() as server:
            yield server.url
        return
    yield url


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    name = f"test{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"bull:{name}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, queue_name: str) -> Settings:
    exports = tmp_path / "exports"
    return Settings(redis_url=redis_url, queue_name=queue_name, exports_dir=exports,
                    export_bucket_url="https://downloads.example.test/exports",
                    projects_dir=tmp_path / "projects", health_port=0, concurrency=2,
                    shutdown_timeout=10, log_format="json")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(s: Settings, *, wait_ready: bool = True, **extra_env: str) -> WorkerProcess:
        port = free_port()
        log = tmp_path / f"worker-{len(started)}.log"
        env = {**settings_env(s), "HEALTH_PORT": str(port), **extra_env}
        with log.open("wb") as out:
            proc = subprocess.Popen(WORKER_CMD, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=tmp_path)
        worker = WorkerProcess(proc, port, log)
        started.append(worker)
        if wait_ready and not worker.wait_status("/ready", 200):
            raise AssertionError(f"worker not ready; log:\n{log.read_text()[-3000:]}")
        return worker

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(10)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Any]:
    from pacai_export.client import ExportClient

    c = ExportClient(settings)
    yield c
    await c.aclose()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3 API server on loopback (moto's standalone server), for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The S3 server's URL, with boto3's credentials in the environment for this test only
    (the S3 backend and worker processes read them from there)."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"bundles-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name
