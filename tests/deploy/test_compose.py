"""The local stack, ``deploy/compose/compose.yaml`` (issue 16).

The file is validated against the Compose spec's JSON schema (as vendored by
``check-jsonschema``) and its wiring is checked: every worker variable goes through
``Settings.from_env``, Prometheus scrapes both workers, Grafana gets the data source and the
dashboard. Then Redis, one worker and the API come up under podman-compose with locally built
images (on the host network: ``tests/deploy/container/compose.test.yaml``) and export a job
through the API. MinIO, Prometheus and Grafana need images from a registry, which the test
machines do not have, so they are not started here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from pacai_export.redis_server import free_port
from pacai_export.settings import Settings
from tests.deploy import podman as pm
from tests.helpers import job_data

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "compose"
COMPOSE = STACK / "compose.yaml"
OVERRIDE = pm.HERE / "compose.test.yaml"
REDIS_IMAGE = "localhost/pacai-redis:test"
BIN = Path(sys.executable).parent


def check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_file_validates_against_the_compose_spec() -> None:
    result = check_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_schema_check_names_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace('    command: ["pacai-export", "api"]',
                                                  '    comand: ["pacai-export", "api"]'))
    result = check_schema(broken)
    assert result.returncode == 1
    assert "$.services.api: Unevaluated properties are not allowed ('comand' was unexpected)" \
        in result.stdout


def test_stack_has_every_service(stack: dict[str, Any]) -> None:
    assert set(stack["services"]) == {"redis", "minio", "bucket", "worker-1", "worker-2", "api",
                                      "prometheus", "grafana"}
    redis = stack["services"]["redis"]["command"]
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"


def test_workers_settings_and_wiring(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name in ("worker-1", "worker-2"):
        worker = services[name]
        assert worker["read_only"] is True and worker["hostname"] == name
        env = {k: str(v) for k, v in worker["environment"].items() if not k.startswith("AWS_")}
        s = Settings.from_env(env)
        assert s.storage_url == "s3://pacai-exports/exports"
        for url in (s.redis_url, s.s3_endpoint_url, s.callback_url):
            host = urlsplit(url).hostname
            assert host in services, f"{name}: {url} names no service"
        assert worker["volumes"] == ["exports:/data/exports"]
    bucket = " ".join(services["bucket"]["command"])
    assert "local/pacai-exports" in bucket


def test_prometheus_scrapes_both_workers_and_loads_the_alerts(stack: dict[str, Any],
                                                             tmp_path: Path) -> None:
    config = yaml.safe_load((STACK / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]}
    port = Settings().health_port
    assert targets == {f"worker-1:{port}", f"worker-2:{port}"}
    assert all(job["job_name"].startswith("pacai-export-worker")
               for job in config["scrape_configs"])
    mounts = dict(v.rsplit(":", 2)[:2] for v in stack["services"]["prometheus"]["volumes"])
    assert mounts["./prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["../monitoring/alerts.yml"] == "/etc/prometheus/alerts.yml"
    # promtool resolves rule_files beside the config, as they are mounted in the container.
    shutil.copy(STACK / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copy(ROOT / "deploy/monitoring/alerts.yml", tmp_path / "alerts.yml")
    result = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_gets_the_data_source_and_the_dashboard(stack: dict[str, Any]) -> None:
    grafana = stack["services"]["grafana"]
    mounts = dict(v.rsplit(":", 2)[:2] for v in grafana["volumes"])
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboard_target = mounts["../monitoring/grafana-dashboard.json"]
    provisioning = STACK / "grafana" / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())
    assert [(d["type"], urlsplit(d["url"]).hostname) for d in sources["datasources"]] == \
        [("prometheus", "prometheus")]
    providers = yaml.safe_load((provisioning / "dashboards" / "pacai.yaml").read_text())
    paths = [p["options"]["path"] for p in providers["providers"]]
    assert paths == [str(Path(dashboard_target).parent)]


# --- under podman ---------------------------------------------------------------------------


def compose(project: str, env: dict[str, str], *args: str,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "podman-compose"), "--in-pod", "false", "-p", project,
               "-f", str(COMPOSE), "-f", str(OVERRIDE), *args]
    return subprocess.run(command, env={**pm.podman_env(), **env}, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def running_stack(image: str) -> Iterator[dict[str, Any]]:
    if not pm.image_exists(REDIS_IMAGE):
        pm.build(pm.HERE / "redis.Containerfile", REDIS_IMAGE, pm.HERE,
                 build_args={"BASE_IMAGE": pm.DEBIAN_IMAGE})
    project = f"pacaitest{uuid.uuid4().hex[:8]}"
    ports = {"TEST_REDIS_PORT": str(free_port()), "TEST_WORKER_PORT": str(free_port()),
             "TEST_API_PORT": str(free_port())}
    env = {**ports, "PACAI_IMAGE": image, "REDIS_IMAGE": REDIS_IMAGE}
    try:
        up = compose(project, env, "up", "-d", "--no-deps", "redis", "worker-1", "api")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield {"project": project, "env": env, **ports}
    finally:
        # The API's container gets an anonymous volume (the image's VOLUME): remove the
        # containers with their volumes, then the project's named volumes.
        ids = pm.podman("ps", "--all", "--quiet", "--filter",
                        f"label=io.podman.compose.project={project}").stdout.split()
        if ids:
            pm.podman("rm", "--force", "--volumes", "--time", "10", *ids)
        down = compose(project, env, "down", "--volumes", "--timeout", "10")
        assert down.returncode == 0, down.stderr[-3000:]


def wait_http(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@pytest.mark.container
@pytest.mark.timeout(2400)
def test_worker_api_and_redis_come_up_and_export_a_job(running_stack: dict[str, Any]) -> None:
    project = running_stack["project"]
    api = f"http://127.0.0.1:{running_stack['TEST_API_PORT']}"
    worker = f"http://127.0.0.1:{running_stack['TEST_WORKER_PORT']}"
    logs = compose(project, running_stack["env"], "logs").stdout[-3000:]
    assert wait_http(api + "/openapi.json"), logs
    assert wait_http(worker + "/ready"), logs
    headers = {"Authorization": "Bearer dev-token"}
    response = httpx.post(api + "/v5/export", json=job_data("stack-arena"), headers=headers,
                          timeout=10)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 300
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{api}/v5/export/{job_id}", headers=headers, timeout=10).json()
        if status["state"] in ("completed", "failed"):
            break
        time.sleep(0.2)
    assert status["state"] == "completed", status
    result = status["result"]
    volume = pm.podman("volume", "inspect", "--format", "{{.Mountpoint}}",
                       f"{project}_exports").stdout.strip()
    bundle = Path(volume) / result["key"]
    assert bundle.is_file()
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == result["sha256"]
    assert os.stat(bundle).st_uid == pm.APP_UID
