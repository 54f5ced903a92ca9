"""Helpers shared by test modules: real servers, job data, worker processes, waits.

Test modules import these from here, never from one another or from ``conftest.py``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import dataclasses
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook

from pacai_export.api import create_app
from pacai_export.api.events import LiveOptions
from pacai_export.client import ExportClient
from pacai_export.demo import example_manifest
from pacai_export.errors import ConfigError
from pacai_export.manifest import Manifest
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


VENV_BIN = Path(sys.executable).parent


WORKER_CMD = [str(VENV_BIN / "pacai-export"), "worker"]


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


@dataclasses.dataclass
class ServiceProcess:
    """A ``pacai-export`` process the test started, listening on ``port``, logging to ``log``."""

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


class WorkerProcess(ServiceProcess):
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


_suite_tmp: list[Path] = []  # made on first use, in the pytest process only


def suite_tmp() -> Path:
    """The suite's own temp folder, removed when the session ends. Made lazily: processes
    that import this module (pool processes unpickling test code) must not make one."""
    if not _suite_tmp:
        _suite_tmp.append(Path(tempfile.mkdtemp(prefix="pacai-suite-")))
    return _suite_tmp[0]


def remove_suite_tmp() -> None:
    for folder in _suite_tmp:
        shutil.rmtree(folder, ignore_errors=True)


# --- S3 (moto's standalone server; the fixtures are in conftest.py) ---------------------------

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1"}


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
        "region_name": "us-east-1"})


def with_callbacks(s: Settings, receiver: Receiver, **changes: Any) -> Settings:
    return dataclasses.replace(s, callback_url=receiver.url, callback_secret=receiver.secret,
                               **changes)


def verified(receiver: Receiver, delivery: Any) -> dict[str, Any]:
    wh = Webhook("whsec_" + base64.b64encode(receiver.secret.encode()).decode())
    result: dict[str, Any] = wh.verify(delivery.body,
                                       {k.lower(): v for k, v in delivery.headers.items()})
    return result


async def finished(client: ExportClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        status = await client.status(job_id)
        return status if status and status["state"] in ("completed", "failed") else None
    result: dict[str, Any] = await wait_until(done, timeout)
    return result


# Big enough that an export takes seconds of CPU in the pool on this machine.
HEAVY_NODES = 10_000


def heavy_job(project_id: str) -> dict[str, Any]:
    return job_data(project_id, include_assets=False,
                    manifest=stress_manifest(project_id, HEAVY_NODES))


PROBES = (2_000, 6_000)  # nodes
# Scenes past ~100,000 nodes outgrow a pool process's memory limit (LIMIT_POOL_MEMORY_BYTES).
MAX_SIZED_NODES = 60_000


async def _probe_seconds(settings: Settings, nodes: int) -> float:
    """How long an export of a ``nodes``-node stress scene takes here and now, through the
    service's own runtime (same pool size, same machine load as a worker from ``settings``)."""
    from pacai_export.jobs import ExportJob
    from pacai_export.runtime import open_runtime
    from pacai_export.storage import FileStorage

    project_id = f"probe-{nodes}"
    job, _ = ExportJob.parse(job_data(project_id, include_assets=False,
                                      manifest=stress_manifest(project_id, nodes)))

    async def report(percent: int, stage: str, **fields: Any) -> None:
        return None

    out = Path(tempfile.mkdtemp(dir=suite_tmp()))
    try:
        async with open_runtime(settings, storage=FileStorage(out / "probe.zip"),
                                queues=False) as rt:
            result = await rt.require_exporter().export(job, project_id, report)
    finally:
        shutil.rmtree(out)
    return result.duration_ms / 1000


async def cpu_job_lasting(settings: Settings, project_id: str,
                          seconds: float) -> dict[str, Any]:
    """A stress export sized by measuring so that it takes about ``seconds``, so that its
    length does not depend on how fast the writers are. The time per node is the slope
    between two probe exports (fixed costs cancel out), or the larger probe's own time per
    node if that is less: a noisy slope may then make the job longer, never shorter."""
    small, large = PROBES
    spent = [await _probe_seconds(settings, n) for n in PROBES]
    per_node = max(min((spent[1] - spent[0]) / (large - small), spent[1] / large), 1e-7)
    nodes = min(max(large, round(seconds / per_node)), MAX_SIZED_NODES)
    return job_data(project_id, include_assets=False,
                    manifest=stress_manifest(project_id, nodes))


async def wait_active(client: ExportClient, job_id: str) -> None:
    async def active() -> bool:
        status = await client.status(job_id)
        return bool(status and status["state"] == "active" and 0 < status["progress"] < 100)
    await wait_until(active, 60)


SECRET_VARS = {"REDIS_URL", "WORKER_CALLBACK_SECRET", "PKCS11_PIN", "API_TOKENS",
               "AWS_SECRET_ACCESS_KEY"}


class RecordingEnv(Mapping[str, str]):
    """An environment that records which variables ``Settings.from_env`` asks for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self.values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def known_setting_names() -> set[str]:
    env = RecordingEnv({"REDIS_URL": "redis://127.0.0.1:6379"})
    Settings.from_env(env)
    return env.asked


def settings_from(env: Mapping[str, str], where: str) -> Settings:
    """The worker's own parser accepts the shipped settings (secrets filled with dummies)."""
    unknown = set(env) - known_setting_names()
    assert not unknown, f"{where}: variables the worker does not read: {sorted(unknown)}"
    leaked = set(env) & SECRET_VARS
    assert not leaked, f"{where}: secrets belong in a Secret / fly secrets: {sorted(leaked)}"
    full = {**env, "REDIS_URL": "redis://redis.invalid:6379"}
    if "CALLBACK_URL" in env:
        full["WORKER_CALLBACK_SECRET"] = "dummy"
    try:
        return Settings.from_env(full)
    except ConfigError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{where}: the worker rejects these settings: {exc}")


def wav(seconds: float = 0.1, tone: int = 0) -> bytes:
    rate, n = 8000, int(8000 * seconds)
    data = bytes((i * (7 + tone)) % 256 for i in range(2 * n))
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


def manifest(assets: list[dict[str, Any]]) -> Manifest:
    return Manifest.model_validate({
        "schema": "pacai.manifest/v1", "project": {"id": "p", "name": "P"}, "assets": assets,
        "scenes": [{"id": "main", "nodes": [{"id": "n"}]}], "main_scene": "main"})


async def crash_mid_job(start_worker: Any, s: Settings, client: ExportClient,
                        project_id: str) -> str:
    """A worker on ``s`` takes a heavy job and is SIGKILLed in the middle of it; the job id."""
    first = start_worker(s)
    job_id = await client.enqueue(heavy_job(project_id))
    await wait_active(client, job_id)
    first.proc.kill()
    first.proc.wait(10)
    return job_id


NODE_DIR = ROOT / "tests" / "node"


def node_add(settings: Settings, data: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    if not (NODE_DIR / "node_modules" / "bullmq").is_dir():
        pytest.fail("tests/node/node_modules missing: run `make setup` (npm ci in tests/node)")
    out = subprocess.run(
        [shutil.which("node") or "node", str(NODE_DIR / "producer.mjs"), settings.redis_url or "",
         settings.queue_prefix, settings.queue_name, json.dumps(data), json.dumps(opts), "90000"],
        capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


CHROMIUM = "/usr/bin/chromium"


def require_playwright() -> Any:
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: install Debian's browser with "
                    "`apt-get install -y chromium` (the browser test drives /usr/bin/chromium; "
                    "never `playwright install`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[test]' (the `playwright` package)")
    return sync_playwright


LAYOUT: dict[str, Any] = {
    "schema": "pacai.manifest/v1",
    "project": {"id": "layout", "name": "Layout"},
    "materials": [{"id": "grass", "base_color": [0.1, 0.6, 0.1, 1]},
                  {"id": "red", "base_color": [0.9, 0.02, 0.02, 1]},
                  {"id": "blue", "base_color": [0.05, 0.1, 0.9, 1]}],
    "scenes": [{"id": "main", "name": "Main", "nodes": [
        {"id": "ground", "name": "Ground", "mesh": {"primitive": "plane", "size": [20, 20]},
         "material": "grass"},
        {"id": "props", "name": "Props"},
        {"id": "red_box", "name": "Red Box", "parent": "props",
         "transform": {"translation": [-5, 1, 0]},
         "mesh": {"primitive": "box", "size": [2, 2, 2]}, "material": "red"},
        {"id": "blue_ball", "name": "Blue Ball", "parent": "props",
         "transform": {"translation": [5, 1, 0]},
         "mesh": {"primitive": "sphere", "radius": 1}, "material": "blue"},
        {"id": "sun", "name": "Sun", "light": {"type": "directional", "intensity": 3},
         "transform": {"rotation": [-0.3826834, 0, 0, 0.9238795]}},
        {"id": "cam", "name": "Camera", "transform": {"translation": [0, 6, 14]},
         "camera": {"projection": "perspective", "yfov": 1.0, "znear": 0.1, "zfar": 200}},
    ]}],
    "main_scene": "main",
}


NODE_NAMES = ["Ground", "Props", "Red Box", "Blue Ball", "Sun", "Camera"]


@contextlib.asynccontextmanager
async def serve(s: Settings, opts: LiveOptions) -> AsyncIterator[str]:
    """The API app under uvicorn on a port the kernel picks; its base URL."""
    app = create_app(s)
    app.state.live_options = opts
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started, timeout=15)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Events:
    """An SSE response read message by message: (id, event, data) or ("", "comment", text)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 20) -> tuple[str, str, Any]:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> tuple[str, str, Any]:
        event_id, name, data = "", "message", None
        async for line in self.lines:
            if line.startswith(":"):
                return "", "comment", line[1:].strip()
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line.startswith("retry: "):
                name, data = "retry", int(line[7:])
            elif line == "" and (data is not None or name != "message"):
                return event_id, name, data
        raise EOFError("stream ended")

    async def until(self, name: str) -> tuple[str, str, Any]:
        while True:
            found = await self.next()
            if found[1] == name:
                return found
