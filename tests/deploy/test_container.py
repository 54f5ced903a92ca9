"""The worker image, built from ``deploy/docker/Dockerfile`` and run under podman (issue 16).

The image is built once per run (``tests/deploy/podman.py``: a debootstrapped Debian base from
the host's apt mirror, a Python base on it, then the Dockerfile); each test runs containers with
``--network=host`` against the machine's real Redis, as the non-root UID, with a read-only root
file system and only the exports volume (plus an in-memory ``/tmp``) writable. Every container a
test starts is removed at its end; the images stay cached.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pacai_export.client import ExportClient
from pacai_export.redis_server import free_port
from pacai_export.settings import Settings
from tests.deploy import podman as pm
from tests.helpers import finished, heavy_job, job_data, wait_active

pytestmark = [pytest.mark.container, pytest.mark.timeout(2400)]

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
IMAGE_GOAL_BYTES = 350 * 1000 * 1000
# An in-memory scratch: each job's temporary files and the CPU pool's forkserver socket.
TMPFS = "--tmpfs=/tmp:rw,nosuid,nodev,noexec,size=512m"


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    return pm.volume_dir(tmp_path / "exports")


def container_env(s: Settings, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": s.redis_url or "", "EXPORT_QUEUE": s.queue_name,
            "EXPORT_BUCKET_URL": "https://downloads.example.test/exports",
            "WORKER_CONCURRENCY": "1", **extra}


def exec_in(name: str, *command: str) -> subprocess.CompletedProcess[str]:
    return pm.podman("exec", name, *command, check=False)


def test_image_size_and_cold_start(image: str, settings: Settings, exports: Path) -> None:
    size = pm.image_size(image)
    with pm.containers() as started:
        port = free_port()
        t0 = time.monotonic()
        worker = pm.run_worker(started, port, exports, container_env(settings), TMPFS)
        assert worker.wait_status("/ready", 200), worker.logs()[-3000:]
        cold_start = time.monotonic() - t0
    print(f"\nimage {image}: {size / 1e6:.1f} MB (goal {IMAGE_GOAL_BYTES / 1e6:.0f} MB); "
          f"cold start (podman run -> /ready 200): {cold_start:.2f} s (goal 3 s)")
    assert size <= IMAGE_GOAL_BYTES, f"image is {size / 1e6:.1f} MB"


def test_non_root_read_only_root_only_exports_writable(image: str, settings: Settings,
                                                       exports: Path) -> None:
    with pm.containers() as started:
        worker = pm.run_worker(started, free_port(), exports, container_env(settings), TMPFS)
        assert worker.wait_status("/ready", 200), worker.logs()[-3000:]
        assert exec_in(worker.name, "id", "-u").stdout.strip() == str(pm.APP_UID)
        inspect = json.loads(pm.podman("inspect", worker.name).stdout)[0]
        assert inspect["HostConfig"]["ReadonlyRootfs"] is True
        for path in ("/probe", "/home/pacai/probe", "/opt/venv/probe", "/var/tmp/probe",
                     "/run/probe"):
            denied = exec_in(worker.name, "python", "-c", f"open({path!r}, 'w')")
            assert denied.returncode != 0, path
            assert re.search(r"Read-only file system|Permission denied", denied.stderr), \
                denied.stderr
        written = exec_in(worker.name, "python", "-c",
                          "open('/data/exports/probe', 'w').write('ok')")
        assert written.returncode == 0, written.stderr
        # The runtime stage has the venv only: no compiler, no pip.
        for tool in ("gcc", "cc", "pip", "pip3"):
            assert exec_in(worker.name, "sh", "-c", f"command -v {tool}").returncode != 0, tool
    probe = exports / "probe"
    assert probe.read_text() == "ok"
    assert (probe.stat().st_uid, probe.stat().st_gid) == (pm.APP_UID, pm.APP_UID)


def node_producer(s: Settings, data: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
    if not (NODE_DIR / "node_modules" / "bullmq").is_dir():
        pytest.fail("tests/node/node_modules missing: run `make setup` (npm ci in tests/node)")
    out = subprocess.run(
        [shutil.which("node") or "node", str(NODE_DIR / "producer.mjs"), s.redis_url or "",
         s.queue_prefix, s.queue_name, json.dumps(data), json.dumps({"attempts": 2}),
         str(timeout_ms)], capture_output=True, text=True, timeout=timeout_ms / 1000 + 30,
        check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_node_job_exported_onto_the_volume_and_healthcheck_passes(
        image: str, settings: Settings, exports: Path) -> None:
    with pm.containers() as started:
        worker = pm.run_worker(started, free_port(), exports, container_env(settings), TMPFS)
        assert worker.wait_status("/ready", 200), worker.logs()[-3000:]
        seen = node_producer(settings, job_data("container-arena"), 240_000)
        assert seen["state"] == "completed", (seen, worker.logs()[-3000:])
        health = pm.podman("healthcheck", "run", worker.name, check=False)
        assert health.returncode == 0, health.stdout + health.stderr
        status = pm.podman("inspect", "--format", "{{.State.Health.Status}}", worker.name)
        assert status.stdout.strip() == "healthy"
        logs = [json.loads(line) for line in worker.logs().splitlines()
                if line.startswith("{")]
    result = seen["returnvalue"]
    bundle = exports / result["key"]
    assert bundle.is_file(), sorted(p.as_posix() for p in exports.rglob("*"))
    assert (bundle.stat().st_uid, bundle.stat().st_gid) == (pm.APP_UID, pm.APP_UID)
    assert pm.digest(bundle) == result["sha256"]
    with zipfile.ZipFile(bundle) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        manifest = json.loads(zf.read("bundle.json"))
    assert {"bundle.json", "godot/project.godot",
            "unity/ProjectSettings/ProjectVersion.txt"} <= set(names)
    assert [n for n in names if re.fullmatch(r"ue5/[^/]+\.uproject", n)]
    assert manifest["project"]["id"] == "container-arena"
    completed = [line for line in logs if line.get("event") == "job completed"]
    assert [(c["job_id"], c["project_id"]) for c in completed] == \
        [(seen["id"], "container-arena")]


async def test_podman_stop_drains_a_long_job_and_exits_0(
        image: str, settings: Settings, exports: Path, client: ExportClient) -> None:
    shutdown_timeout = 120
    with pm.containers() as started:
        worker = pm.run_worker(started, free_port(), exports,
                               container_env(settings, SHUTDOWN_TIMEOUT=str(shutdown_timeout)),
                               TMPFS)
        assert worker.wait_status("/ready", 200), worker.logs()[-3000:]
        job_id = await client.enqueue(heavy_job("drain-in-container"))
        await wait_active(client, job_id)
        # podman would SIGKILL after --time seconds (exit 137): exit 0 means the worker drained
        # and stopped by itself within SHUTDOWN_TIMEOUT.
        stop = pm.podman("stop", "--time", str(shutdown_timeout), worker.name,
                         timeout=shutdown_timeout + 60)
        assert stop.returncode == 0
        assert worker.exit_code() == 0, worker.logs()[-3000:]
        events = [json.loads(line).get("event") for line in worker.logs().splitlines()
                  if line.startswith("{")]
    status = await client.status(job_id)
    assert status is not None and status["state"] == "completed", status
    assert events.index("signal received; draining") < events.index("job completed")
    assert "shutdown timeout: leaving unfinished jobs to stall recovery" not in events
    assert events[-1] == "worker stopped"
    assert (exports / status["result"]["key"]).is_file()


async def test_sigkilled_container_job_is_finished_by_a_second_container(
        image: str, settings: Settings, exports: Path, client: ExportClient) -> None:
    env = container_env(settings, LOCK_DURATION_MS="3000", STALLED_INTERVAL_MS="1000")
    with pm.containers() as started:
        first = pm.run_worker(started, free_port(), exports, env, TMPFS)
        assert first.wait_status("/ready", 200), first.logs()[-3000:]
        job_id = await client.enqueue(heavy_job("killed-in-container"))
        await wait_active(client, job_id)
        pm.podman("kill", "--signal", "KILL", first.name)
        assert first.exit_code() == 137
        second = pm.run_worker(started, free_port(), exports, env, TMPFS)
        status = await finished(client, job_id, timeout=600)
        second_logs = second.logs()
    assert status["state"] == "completed", status
    bundles = sorted(p.relative_to(exports).as_posix() for p in exports.rglob("*.zip"))
    assert bundles == [status["result"]["key"]]  # none half-written, none twice
    completed = [json.loads(line) for line in second_logs.splitlines()
                 if line.startswith("{") and '"job completed"' in line]
    assert [c["job_id"] for c in completed] == [job_id]
    assert os.stat(exports / bundles[0]).st_uid == pm.APP_UID
