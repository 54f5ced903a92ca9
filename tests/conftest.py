"""Shared fixtures: a real Redis, unique queues, settings, a real webhook receiver, and
worker processes started the way operators start them."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ctypes
import ctypes.util
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from pacai_export.demo import example_manifest
from pacai_export.redis_server import EmbeddedRedis, free_port
from pacai_export.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GLTF_VALIDATOR = ROOT / "tests" / "node" / "validate-gltf.mjs"


@contextlib.contextmanager
def serve_folder(root: Path) -> Iterator[str]:
    """A real HTTP server on loopback serving ``root``; its base URL."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def validate_gltf(paths: list[Path]) -> list[dict[str, Any]]:
    """The Khronos glTF-Validator's report on each file, in order (tests/node)."""
    node = shutil.which("node")
    if node is None or not (ROOT / "tests" / "node" / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("node or the gltf-validator npm package is not installed")
    done = subprocess.run([node, str(GLTF_VALIDATOR), *map(str, paths)], capture_output=True,
                          text=True, check=True, cwd=ROOT, timeout=120)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [r["path"] for r in reports] == [str(p) for p in paths]
    return reports
# --- the suite leaves no process behind -------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
# This process's own multiprocessing helpers: they live as long as it does, by design.
OWN_HELPERS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")
LEFTOVER_GRACE_S = 10.0
_suite_tmp: list[Path] = []  # made on first use, in the pytest process only


def suite_tmp() -> Path:
    """The suite's own temp folder, removed when the session ends. Made lazily: processes
    that import this module (pool processes unpickling test code) must not make one."""
    if not _suite_tmp:
        _suite_tmp.append(Path(tempfile.mkdtemp(prefix="pacai-suite-")))
    return _suite_tmp[0]


def _remove_suite_tmp() -> None:
    for folder in _suite_tmp:
        shutil.rmtree(folder, ignore_errors=True)


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
        _remove_suite_tmp()
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
    _remove_suite_tmp()


VENV_BIN = Path(sys.executable).parent
WORKER_CMD = [str(VENV_BIN / "pacai-export"), "worker"]


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


def small_manifest(project_id: str = "test-arena", name: str = "Test Arena") -> dict[str, Any]:
    """The example project without its assets, renamed."""
    manifest = copy.deepcopy(example_manifest())
    manifest["project"] = {"id": project_id, "name": name, "version": "1.0.0"}
    return manifest


def job_data(project_id: str = "test-arena", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"project_id": project_id, "engines": ["godot", "unity", "ue5"],
                            "include_assets": True, "quality": "medium",
                            "manifest": small_manifest(project_id)}
    data.update(overrides)
    return data


# --- a real Standard Webhooks receiver on loopback -------------------------------------------


@dataclasses.dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every POST; answers with the next status of ``statuses`` (then 200)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.statuses: list[int] = []
        self.secret = "test-secret-" + uuid.uuid4().hex
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v5/export/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.deliveries)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


# --- worker processes -------------------------------------------------------------------------


@dataclasses.dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base + path, timeout=5)

    def status(self, path: str) -> int:
        try:
            return self.get(path).status_code
        except httpx.HTTPError:
            return 0

    def wait_status(self, path: str, code: int, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status(path) == code:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def logs(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return lines


def settings_env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACAI_", "LIMIT_"))}
    env.update({
        # Temp folders of processes the tests kill (a SIGKILLed worker keeps its ``pymp-*``)
        # stay inside the suite's own folder, removed when the session ends.
        "TMPDIR": str(suite_tmp()),
        "REDIS_URL": s.redis_url or "", "EXPORT_QUEUE": s.queue_name,
        "QUEUE_PREFIX": s.queue_prefix, "EXPORTS_DIR": str(s.exports_dir),
        "EXPORT_BUCKET_URL": s.export_bucket_url, "WORKER_CONCURRENCY": str(s.concurrency),
        "SHUTDOWN_TIMEOUT": str(int(s.shutdown_timeout)), "LOG_FORMAT": "json",
        "LOCK_DURATION_MS": str(s.lock_duration_ms),
        "STALLED_INTERVAL_MS": str(s.stalled_interval_ms),
        "MAX_STALLED_COUNT": str(s.max_stalled_count),
    })
    if s.projects_dir is not None:
        env["PROJECTS_DIR"] = str(s.projects_dir)
    if s.callback_url:
        env["CALLBACK_URL"] = s.callback_url
        env["WORKER_CALLBACK_SECRET"] = s.callback_secret or ""
    return env


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


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Any]:
    from pacai_export.client import ExportClient

    c = ExportClient(settings)
    yield c
    await c.aclose()


async def wait_until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


def stress_manifest(project_id: str, nodes: int) -> dict[str, Any]:
    """A large scene (boxes and spheres in groups of 100): a CPU-heavy but valid export."""
    manifest = small_manifest(project_id, f"Stress {nodes}")
    scene_nodes: list[dict[str, Any]] = [{"id": "sun", "light": {"type": "directional"}}]
    for i in range(nodes):
        group = f"group_{i // 100:04d}"
        if i % 100 == 0:
            scene_nodes.append({"id": group, "name": f"Group {i // 100}"})
        scene_nodes.append({
            "id": f"n{i:06d}", "name": f"Node {i}", "parent": group,
            "mesh": {"primitive": "box" if i % 2 else "sphere"}, "material": "mat_gold",
            "transform": {"translation": [i % 50, (i // 50) % 10, i // 500]},
        })
    manifest["scenes"][0]["nodes"] = scene_nodes
    manifest["assets"] = []
    manifest["materials"] = [m for m in manifest["materials"] if "base_color_texture" not in m]
    return manifest
