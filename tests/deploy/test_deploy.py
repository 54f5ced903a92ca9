"""Every deployment file is parsed and checked for the fields that matter (issue 7).

The Dockerfile is parsed with ``dockerfile-parse`` (no Docker engine runs here, so the image
itself is never built by these tests); Kubernetes, Prometheus and alert files with PyYAML;
``fly.toml`` with ``tomllib``. The shipped settings are fed to the worker's own
``Settings.from_env`` so a typo or an invalid value fails here, not at deploy time, and every
metric an alert, dashboard or autoscaler uses must exist in ``pacai_export.metrics``.
The alert rules go through ``promtool`` (``make setup`` installs it).
"""

from __future__ import annotations

import io
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from bullmq.queue_keys import QueueKeys

from pacai_export.metrics import Metrics
from pacai_export.queues import QUEUE_STATES
from pacai_export.settings import Settings
from tests.helpers import SECRET_VARS, settings_from

if TYPE_CHECKING:
    from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
FLY = DEPLOY / "fly"
K8S = DEPLOY / "k8s"
MONITORING = DEPLOY / "monitoring"
OPERATIONS = ROOT / "docs" / "operations.md"
CALLBACK_OUTCOMES = {"delivered", "retry", "gone", "gave_up"}
METRIC_RE = re.compile(r"\bpacai_export_[a-z0-9_]+")


# --- helpers --------------------------------------------------------------------------------


def registry_metric_names() -> dict[str, str]:
    """Every series name the worker can export, mapped to its metric family."""
    names: dict[str, str] = {}
    for family in Metrics().registry.collect():
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                    "gauge": ("",)}.get(family.type, ("",))
        for suffix in suffixes:
            names[family.name + suffix] = family.name
    return names


def metrics_in(expr: str) -> set[str]:
    return set(METRIC_RE.findall(expr))


def assert_known_metrics(expr: str, where: str) -> set[str]:
    known = registry_metric_names()
    used = metrics_in(expr)
    unknown = used - known.keys()
    assert not unknown, f"{where}: unknown metrics {sorted(unknown)} in {expr!r}"
    for state in re.findall(r'state\s*=~?\s*"([^"]+)"', expr):
        assert set(state.split("|")) <= set(QUEUE_STATES), f"{where}: bad state {state!r}"
    for outcome in re.findall(r'outcome\s*=~?\s*"([^"]+)"', expr):
        assert set(outcome.split("|")) <= CALLBACK_OUTCOMES, f"{where}: bad outcome {outcome!r}"
    return {known[name] for name in used}








def seconds(value: int | str) -> float:
    """fly.toml durations: an integer (seconds) or a Go duration string such as '30s'/'1m0s'."""
    if isinstance(value, int):
        return float(value)
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def github_anchors(markdown: str) -> set[str]:
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            text = re.sub(r"[`*_]", "", match.group(1)).strip().lower()
            text = re.sub(r"[^\w\- ]", "", text)
            anchors.add(text.replace(" ", "-"))
    return anchors


def load_yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- Dockerfile -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    try:
        from dockerfile_parse import DockerfileParser
    except ImportError:
        pytest.fail("dockerfile-parse not installed: run make setup (test extra of pyproject)")
    # fileobj: the parser reads the text and never writes a Dockerfile anywhere.
    return DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes()))


def stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    result: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def instructions(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def test_dockerfile_is_multi_stage_on_slim_python_311(dockerfile: DockerfileParser) -> None:
    all_stages = stages(dockerfile)
    assert len(all_stages) >= 2, "the Dockerfile must be multi-stage (build, runtime)"
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", DOCKERFILE.read_text(), re.M))
    for stage in all_stages:
        image = stage[0]["value"].split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
        assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", image), image
    runtime = all_stages[-1]
    copies = instructions(runtime, "COPY")
    assert any(c.startswith("--from=") for c in copies), "runtime must copy from the build stage"
    assert not any("src" in c.split() for c in copies if not c.startswith("--from=")), \
        "the runtime stage should take the installed venv, not the sources"


def test_dockerfile_installs_with_the_constraints_file(dockerfile: DockerfileParser) -> None:
    build = stages(dockerfile)[0]
    assert any("constraints.txt" in c for c in instructions(build, "COPY"))
    runs = " ".join(instructions(build, "RUN"))
    assert re.search(r"pip install (?:[^&]*\s)?-c constraints\.txt\s+\.(\s|$)", runs), runs
    constraints = (ROOT / "constraints.txt").read_text()
    for dependency in ("bullmq", "redis", "prometheus_client", "uvicorn"):
        assert re.search(rf"^{dependency}==", constraints, re.M | re.I), dependency


def test_dockerfile_runtime_essentials(dockerfile: DockerfileParser) -> None:
    runtime = stages(dockerfile)[-1]
    users = instructions(runtime, "USER")
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    assert user.isdigit(), "a numeric UID lets Kubernetes' runAsNonRoot verify it"

    assert instructions(runtime, "STOPSIGNAL") == ["SIGTERM"]
    volumes = " ".join(instructions(runtime, "VOLUME"))
    assert "/data/exports" in volumes
    env = dockerfile.envs
    assert env.get("EXPORTS_DIR") == "/data/exports"
    assert env.get("HEALTH_PORT", str(Settings().health_port)) == str(Settings().health_port)
    assert str(Settings().health_port) in " ".join(instructions(runtime, "EXPOSE"))

    cmd = json.loads(instructions(runtime, "CMD")[-1])
    assert cmd == ["pacai-export", "worker"], "CMD must be the exec form (PID 1 gets SIGTERM)"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "pacai-export" in scripts
    assert not instructions(runtime, "ENTRYPOINT"), "an ENTRYPOINT shell would swallow SIGTERM"


def healthcheck_command(parser: DockerfileParser) -> list[str]:
    value = instructions(stages(parser)[-1], "HEALTHCHECK")[-1]
    assert "/health" in value
    assert "curl" not in value and "wget" not in value, "the slim image has neither"
    cmd_json = value[value.index("CMD") + 3:].strip()
    command = json.loads(cmd_json)
    assert command[0] == "python"
    return command


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False), (None, False)])
def test_dockerfile_healthcheck_command_works(dockerfile: DockerfileParser, status: int | None,
                                              healthy: bool) -> None:
    """Run the HEALTHCHECK's own command against a real /health (200, 503, nothing)."""
    command = [sys.executable, *healthcheck_command(dockerfile)[1:]]
    handler = type("Handler", (_Health,), {"status": status or 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    if status is None:
        server.server_close()
    else:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run(command, env={"HEALTH_PORT": str(port)}, capture_output=True,
                                timeout=30)
    finally:
        if status is not None:
            server.shutdown()
            server.server_close()
    assert (result.returncode == 0) is healthy, result.stderr.decode()[-500:]


DOCKERFILES = [DOCKERFILE, *sorted((ROOT / "tests/deploy/container").glob("*.Containerfile"))]


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "hadolint"), "--no-color",
                           str(path)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes_and_every_ignore_has_its_reason(path: Path) -> None:
    result = hadolint(path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" not in line:
            continue
        comments = []
        for above in reversed(lines[:number]):
            if not above.startswith("#"):
                break
            comments.append(above)
        for rule in re.findall(r"\b(?:DL|SC)\d+", line.split("ignore=", 1)[1]):
            reason = [c for c in comments if rule in c]
            assert reason and len(" ".join(reason)) > 40, f"{path.name}:{number + 1}: {rule}"


def test_hadolint_flags_an_unpinned_apt_install(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:bookworm-slim\n"
                          "RUN apt-get update && apt-get install -y curl\n")
    result = hadolint(dockerfile)
    assert result.returncode == 1
    assert "DL3008" in result.stdout and "DL3015" in result.stdout and "DL3009" in result.stdout


def test_dockerignore_keeps_the_context_small() -> None:
    entries = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for required in (".venv", "node_modules", "exports", ".git", "tests/node/node_modules"):
        assert required in entries or f"/{required}" in entries, required
    for needed in ("src", "pyproject.toml", "constraints.txt", "README.md"):
        assert needed not in entries, f"{needed} is needed by the build"


# --- Fly.io ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fly() -> dict[str, Any]:
    return tomllib.loads((FLY / "fly.toml").read_text())


def test_fly_shutdown_outlasts_the_drain(fly: dict[str, Any]) -> None:
    settings = settings_from(fly["env"], "fly.toml [env]")
    assert fly["kill_signal"] == "SIGTERM"
    assert seconds(fly["kill_timeout"]) > settings.shutdown_timeout, \
        "kill_timeout must exceed SHUTDOWN_TIMEOUT or Fly kills workers mid-drain"


def test_fly_checks_metrics_machine_and_mount(fly: dict[str, Any]) -> None:
    settings = settings_from(fly["env"], "fly.toml [env]")
    assert fly["primary_region"] == "sjc"
    checks = fly["checks"].values()
    assert any(c["type"] == "http" and c["path"] == "/health" for c in checks)
    for check in checks:
        assert check["port"] == settings.health_port
        assert check["path"] in ("/health", "/ready")
    assert fly["metrics"] == {"port": settings.health_port, "path": "/metrics"}
    vms = fly["vm"]
    assert any(vm.get("size") == "shared-cpu-2x" and vm.get("memory") in ("1gb", "1024mb", 1024)
               for vm in vms)
    mounts = fly["mounts"] if isinstance(fly["mounts"], list) else [fly["mounts"]]
    assert [m["destination"] for m in mounts] == [str(settings.exports_dir)] == ["/data/exports"]
    assert mounts[0]["source"] == "exports"
    # A worker takes no requests: a service with autostop would stop it as "idle".
    assert "http_service" not in fly and "services" not in fly


def test_fly_autoscaler_config() -> None:
    fly_app = tomllib.loads((FLY / "fly.toml").read_text())["app"]
    config = tomllib.loads((FLY / "fly-autoscaler.toml").read_text())
    env = config["env"]
    assert config["build"]["image"].startswith("flyio/fly-autoscaler:")
    assert env["FAS_APP_NAME"] == fly_app
    assert env["FAS_PROMETHEUS_ADDRESS"].startswith("https://api.fly.io/prometheus/")
    assert not {"FAS_API_TOKEN", "FAS_PROMETHEUS_TOKEN"} & env.keys(), "tokens are secrets"
    query = env["FAS_PROMETHEUS_QUERY"]
    assert assert_known_metrics(query, "FAS_PROMETHEUS_QUERY") == {"pacai_export_queue_jobs"}
    assert 'state="waiting"' in query
    assert query.startswith("max("), "every worker reports the whole queue: sum() multiplies it"
    name = env["FAS_PROMETHEUS_METRIC_NAME"]
    expression = env["FAS_STARTED_MACHINE_COUNT"]
    assert re.search(rf"\b{name}\b", expression)
    # The Expr expression is also valid Python for these functions: check the scale it asks for.
    def machines(waiting: int) -> int:
        scope = {"ceil": math.ceil, "min": min, "max": max, name: waiting}
        return int(eval(expression, {"__builtins__": {}}, scope))
    assert [machines(w) for w in (0, 50, 120, 400, 10_000)] == [2, 2, 3, 8, 10]


def test_fly_readme_has_the_commands() -> None:
    readme = (FLY / "README.md").read_text()
    for needle in ("fly volumes create exports", "--region sjc", "--region iad",
                   "fly secrets set", "REDIS_URL", "WORKER_CALLBACK_SECRET", "fly deploy",
                   "--ha", "fly-autoscaler.toml", "FAS_API_TOKEN", "FAS_PROMETHEUS_TOKEN"):
        assert needle in readme, needle


# --- Kubernetes -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_yaml_docs(path):
            assert "kind" in doc and "apiVersion" in doc, path
            key = (doc["kind"], doc.get("metadata", {}).get("name", ""))
            assert key not in objects, f"duplicate {key}"
            objects[key] = doc
    return objects


def by_kind(k8s: dict[tuple[str, str], dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [doc for (k, _), doc in k8s.items() if k == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def test_kustomization_lists_every_manifest(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    kustomization = by_kind(k8s, "Kustomization")
    resources = set(kustomization["resources"])
    expected = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml",
                                                        "secret.example.yaml"}
    assert resources == expected
    assert "secret.example.yaml" not in resources, "never apply the example Secret"


def worker_container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def configmap_settings(k8s: dict[tuple[str, str], dict[str, Any]]) -> Settings:
    return settings_from(by_kind(k8s, "ConfigMap")["data"], "configmap.yaml")


def port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port in named, f"probe port {port!r} is not a container port"
    return int(named[port])


def test_deployment_probes_and_grace(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    settings = configmap_settings(k8s)
    deployment = by_kind(k8s, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = worker_container(deployment)
    assert pod["terminationGracePeriodSeconds"] > settings.shutdown_timeout, \
        "Kubernetes would SIGKILL workers before their drain ends"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            port = port_number(container, container[probe]["httpGet"]["port"])
            assert port == settings.health_port, probe
    command = container.get("command", []) + container.get("args", [])
    assert command in ([], ["pacai-export", "worker"])
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_deployment_security_and_resources(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    settings = configmap_settings(k8s)
    deployment = by_kind(k8s, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = worker_container(deployment)
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert security["runAsNonRoot"] is True
    assert security.get("runAsUser", 1) != 0
    dockerfile_user = re.findall(r"^USER\s+(\d+)", DOCKERFILE.read_text(), re.M)[-1]
    assert str(security["runAsUser"]) == dockerfile_user, "pod and image should agree on the UID"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert "ALL" in container["securityContext"]["capabilities"]["drop"]

    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]], \
        "a read-only root needs a writable /tmp (job work folders, forkserver socket)"
    assert str(settings.exports_dir) in mounts, "EXPORTS_DIR must be a mounted volume"

    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[kind].keys(), kind


def test_deployment_env_from_configmap_and_secret(
        k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    configmap = by_kind(k8s, "ConfigMap")
    secret = by_kind(k8s, "Secret")
    container = worker_container(by_kind(k8s, "Deployment"))
    assert {"configMapRef": {"name": configmap["metadata"]["name"]}} in container["envFrom"]
    from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
                   if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"REDIS_URL", "WORKER_CALLBACK_SECRET"} <= from_secret.keys()
    for ref in from_secret.values():
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    assert not SECRET_VARS & configmap["data"].keys()
    assert "CALLBACK_URL" in configmap["data"], "the callback secret is only used with a URL"


def test_service_exposes_the_metrics_port(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    settings = configmap_settings(k8s)
    deployment = by_kind(k8s, "Deployment")
    service = by_kind(k8s, "Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    container = worker_container(deployment)
    ports = service["spec"]["ports"]
    assert any(port_number(container, p["targetPort"]) == settings.health_port for p in ports)


def test_scaledobject_scales_the_deployment_on_the_wait_list(
        k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    settings = configmap_settings(k8s)
    deployment = by_kind(k8s, "Deployment")
    scaled = by_kind(k8s, "ScaledObject")
    assert scaled["apiVersion"].startswith("keda.sh/")
    target = scaled["spec"]["scaleTargetRef"]
    assert target["name"] == deployment["metadata"]["name"]
    assert target.get("kind", "Deployment") == "Deployment"
    assert scaled["spec"]["minReplicaCount"] == 1
    assert scaled["spec"]["maxReplicaCount"] == 10
    (trigger,) = scaled["spec"]["triggers"]
    if trigger["type"] in ("redis", "redis-cluster"):
        wait_key = QueueKeys(settings.queue_prefix).toKey(settings.queue_name, "wait")
        assert trigger["metadata"]["listName"] == wait_key == "bull:exportQueue:wait"
        assert trigger["metadata"]["listLength"] == "50"
        auth = by_kind(k8s, "TriggerAuthentication")
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        secret = by_kind(k8s, "Secret")
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["name"] == secret["metadata"]["name"]
            assert ref["key"] in secret["stringData"]
    else:
        assert trigger["type"] == "prometheus"
        assert_known_metrics(trigger["metadata"]["query"], "ScaledObject query")
        assert trigger["metadata"]["threshold"] == "50"


# --- monitoring -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alert_rules() -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for group in load_yaml_docs(MONITORING / "alerts.yml")[0]["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["alert"] not in rules, rule["alert"]
                rules[rule["alert"]] = rule
    return rules


def test_alerts_cover_the_issue_and_link_their_runbooks(
        alert_rules: dict[str, dict[str, Any]]) -> None:
    exprs = {name: rule["expr"] for name, rule in alert_rules.items()}
    assert any("pacai_export_queue_jobs" in e and "waiting" in e for e in exprs.values())
    assert any("pacai_export_jobs_failed_total" in e for e in exprs.values())
    assert any(re.search(r"\bup\{", e) for e in exprs.values()), "no-worker-up alert"
    assert any("gave_up" in e for e in exprs.values()), "callback give-up alert"
    assert any("pacai_export_redis_up" in e for e in exprs.values()), "Redis alert"
    anchors = github_anchors(OPERATIONS.read_text())
    for name, rule in alert_rules.items():
        assert_known_metrics(rule["expr"], name)
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        annotations = rule["annotations"]
        assert annotations.get("summary") and annotations.get("description"), name
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page.endswith("docs/operations.md"), name
        assert anchor in anchors, f"{name}: no heading for #{anchor} in docs/operations.md"
        if "pacai_export_queue_jobs" in rule["expr"]:
            assert not re.search(r"sum\b[^(]*\(\s*pacai_export_queue_jobs", rule["expr"]), \
                f"{name}: every worker reports the whole queue; use max(), not sum()"


def test_every_alert_has_firing_and_quiet_unit_tests(
        alert_rules: dict[str, dict[str, Any]]) -> None:
    tests = load_yaml_docs(MONITORING / "alerts.test.yml")[0]
    assert tests["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fires == set(alert_rules), f"alerts never tested firing: {set(alert_rules) - fires}"
    assert quiet == set(alert_rules), f"alerts never tested quiet: {set(alert_rules) - quiet}"


def test_prometheus_scrape_config() -> None:
    config = load_yaml_docs(MONITORING / "prometheus.yml")[0]
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert all(name.startswith("pacai-export-worker") for name in jobs), \
        "alerts select up{job=~\"pacai-export-worker.*\"}"
    assert any("kubernetes_sd_configs" in job for job in jobs.values())
    assert any("static_configs" in job for job in jobs.values())
    for job in jobs.values():
        assert job.get("metrics_path", "/metrics") == "/metrics"
    deployment = next(doc for path in K8S.glob("*.yaml") for doc in load_yaml_docs(path)
                      if doc["kind"] == "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    k8s_job = next(job for job in jobs.values() if "kubernetes_sd_configs" in job)
    keeps = {tuple(r["source_labels"]): r["regex"] for r in k8s_job["relabel_configs"]
             if r.get("action") == "keep"}
    label = keeps[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)]
    assert pod_labels["app.kubernetes.io/name"] == label
    assert keeps[("__meta_kubernetes_pod_container_port_name",)] in port_names
    for job in jobs.values():
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                assert target.endswith(f":{Settings().health_port}")


def test_grafana_dashboard_shows_every_metric() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    used: set[str] = set()
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used |= assert_known_metrics(target["expr"], f"panel {panel['title']!r}")
    families = set(registry_metric_names().values())
    assert used == families, f"metrics without a panel: {sorted(families - used)}"
    assert any(v["type"] == "datasource" for v in dashboard["templating"]["list"])


# --- promtool -------------------------------------------------------------------------------


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: run make setup")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"{shlex.join(result.args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, explain(result)


def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, explain(result)
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_check_config(tmp_path: Path) -> None:
    """Debian's promtool is built without Kubernetes service discovery; there, the config is
    checked without its kubernetes_sd job (whose fields test_prometheus_scrape_config checks)."""
    result = promtool("check", "config", "prometheus.yml")
    if result.returncode != 0 and "kubernetes_sd_configs not found" in result.stdout + \
            result.stderr:
        config = load_yaml_docs(MONITORING / "prometheus.yml")[0]
        config["scrape_configs"] = [job for job in config["scrape_configs"]
                                    if "kubernetes_sd_configs" not in job]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
        result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
