"""Log shipping (issue 16): the Vector config, the Kubernetes Datadog example and the queries.

No Vector package installs on this machine kind, so ``vector validate`` cannot run here. The
config is parsed, its topology checked, and its remap program is *executed* on log lines from a
real worker run (wrapped in Fly's NATS envelope) by ``run_vrl`` below: an evaluator for the
few VRL forms the config uses, which refuses any other statement, so the config cannot grow
logic these tests do not run. Where Vector is available, ``vector validate`` and ``vector test``
are the authority (docs/operations.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.helpers import finished, job_data

ROOT = Path(__file__).resolve().parents[2]
VECTOR = ROOT / "deploy" / "logging" / "vector.yaml"
DATADOG_PATCH = ROOT / "deploy" / "logging" / "k8s-datadog-logs.yaml"
ALLOY = ROOT / "deploy" / "logging" / "k8s-alloy-loki.alloy"
DEPLOYMENT = ROOT / "deploy" / "k8s" / "deployment.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
FLY_INSTANCES = ("148e21ea4d7d89", "3d8d9e1ae29358")


# --- a VRL evaluator for the forms the config uses ------------------------------------------


class VrlAbort(Exception):
    """A fallible call (``f!(...)``) failed: Vector passes the event on unchanged."""


def _path(event: Any, path: str) -> Any:
    value = event
    for part in [p for p in path.split(".") if p]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _assign(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    parts = [p for p in path.split(".") if p]
    if not parts:
        assert isinstance(value, dict)
        return value
    target = event
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return event


def _delete(event: dict[str, Any], path: str) -> Any:
    parts = [p for p in path.split(".") if p]
    parent = _path(event, ".".join(parts[:-1])) if len(parts) > 1 else event
    return parent.pop(parts[-1], None) if isinstance(parent, dict) else None


def _args(text: str) -> list[str]:
    args, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
    args.append(text[start:].strip())
    return args


def _expr(event: dict[str, Any], text: str) -> Any:
    text = text.strip()
    if text == ".":
        return event
    if re.fullmatch(r"(\.[A-Za-z_][A-Za-z0-9_]*)+", text):
        return _path(event, text)
    if re.fullmatch(r'"[^"\\]*"', text):
        return text[1:-1]
    call = re.fullmatch(r"([a-z_]+)(!?)\((.*)\)", text, re.S)
    if not call:
        raise AssertionError(f"VRL expression outside the tested subset: {text}")
    name, bang, inner = call.groups()
    args = _args(inner)
    if name == "del" and not bang:
        return _delete(event, args[0])
    values = [_expr(event, a) for a in args]
    try:
        if name == "merge" and not bang:
            return {**values[0], **values[1]}
        if name == "object" and bang:
            if not isinstance(values[0], dict):
                raise TypeError("not an object")
            return values[0]
        if name == "parse_json" and bang:
            return json.loads(values[0])
        if name == "parse_timestamp" and bang and values[1] == "%+":
            return dt.datetime.fromisoformat(values[0])
    except (TypeError, ValueError) as exc:
        raise VrlAbort(f"{name}: {exc}") from exc
    raise AssertionError(f"VRL function outside the tested subset: {name}{bang}")


def run_vrl(source: str, event: dict[str, Any]) -> dict[str, Any]:
    """Run a remap program on one event; on an abort the event goes on unchanged."""
    result = copy.deepcopy(event)
    try:
        for line in source.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            assign = re.fullmatch(r"(\.(?:[A-Za-z_][A-Za-z0-9_.]*)?)\s*=\s*(.+)", line)
            if assign:
                result = _assign(result, assign.group(1), _expr(result, assign.group(2)))
            elif re.fullmatch(r"del\(\.[A-Za-z0-9_.]+\)", line):
                _expr(result, line)
            else:
                raise AssertionError(f"VRL statement outside the tested subset: {line}")
    except VrlAbort:
        return copy.deepcopy(event)
    return result


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(VECTOR.read_text())
    return config


def fly_envelope(line: str, instance: str) -> dict[str, Any]:
    """One stdout/stderr line as Fly's log stream (NATS ``logs.<app>.<region>.<id>``) sends it."""
    return {"event": {"provider": "app"}, "host": "fly-host-a1b2",
            "fly": {"app": {"instance": instance, "name": "pacai-export-worker"},
                    "region": "sjc"},
            "log": {"level": "info"}, "message": line,
            "timestamp": "2026-01-01T00:00:00.000000000Z"}


@pytest.fixture
async def worker_lines(settings: Settings, start_worker: Any,
                       client: ExportClient) -> tuple[str, list[str]]:
    """A real worker run: its raw JSON log lines and the id of the job it exported.

    A second job with a dangling parent reference fails, so the lines include a warning with
    an error code."""
    worker = start_worker(settings)
    job_id = await client.enqueue(job_data("logged-arena", include_assets=False))
    status = await finished(client, job_id, timeout=120)
    assert status["state"] == "completed", status
    bad = job_data("broken-arena", include_assets=False)
    bad["manifest"]["scenes"][0]["nodes"][0]["parent"] = "no-such-node"
    failed = await finished(client, await client.enqueue(bad), timeout=120)
    assert failed["state"] == "failed", failed
    lines = [line for line in worker.log.read_text().splitlines() if line.startswith("{")]
    return job_id, lines


def shipped(vector: dict[str, Any], lines: list[str]) -> list[dict[str, Any]]:
    source = vector["transforms"]["worker_fields"]["source"]
    return [run_vrl(source, fly_envelope(line, FLY_INSTANCES[i % 2]))
            for i, line in enumerate(lines)]


# --- tests ----------------------------------------------------------------------------------


def test_vector_topology_and_secrets(vector: dict[str, Any]) -> None:
    components = {**vector["sources"], **vector["transforms"]}
    for kind in ("transforms", "sinks"):
        for name, component in vector[kind].items():
            missing = set(component["inputs"]) - components.keys()
            assert not missing, f"{kind}.{name} reads unknown inputs {missing}"
    sinks = {c["type"] for c in vector["sinks"].values()}
    assert sinks == {"loki", "datadog_logs"}
    text = VECTOR.read_text()
    for secret in ("ACCESS_TOKEN", "LOKI_PASSWORD", "DD_API_KEY"):
        assert "${" + secret + "}" in text, secret
    assert vector["transforms"]["worker_fields"]["drop_on_error"] is False


async def test_remap_maps_real_worker_lines(vector: dict[str, Any],
                                            worker_lines: tuple[str, list[str]]) -> None:
    job_id, lines = worker_lines
    events = shipped(vector, lines)
    story = [e for e in events if e.get("job_id") == job_id]
    assert [e["message"] for e in story][-1] == "job completed"
    assert {e["host"] for e in story} == set(FLY_INSTANCES)  # one trace across two machines
    for raw, event in zip(lines, events, strict=True):
        line = json.loads(raw)
        assert event["message"] == line["event"]
        assert event["level"] == event["status"] == line["level"]
        assert event["timestamp"] == dt.datetime.fromisoformat(line["timestamp"])
        assert event["service"] == "pacai-export-worker" and event["ddsource"] == "python"
        assert event["region"] == "sjc" and event["host"] in FLY_INSTANCES
        assert "fly" not in event and "event" not in event and "log" not in event
        for key in ("job_id", "project_id", "stage", "percent", "key"):
            assert event.get(key) == line.get(key), key
    assert {e["project_id"] for e in story} == {"logged-arena"}


def test_remap_passes_a_non_json_line_unchanged(vector: dict[str, Any]) -> None:
    source = vector["transforms"]["worker_fields"]["source"]
    envelope = fly_envelope("Traceback (most recent call last):", FLY_INSTANCES[0])
    assert run_vrl(source, envelope) == envelope


async def test_vector_unit_tests_hold_and_use_a_real_line_shape(
        vector: dict[str, Any], worker_lines: tuple[str, list[str]]) -> None:
    """The config's own ``tests:`` (for ``vector test``) run here through the same remap."""
    source = vector["transforms"]["worker_fields"]["source"]
    shapes = {tuple(sorted(json.loads(line))) for line in worker_lines[1]}
    assert vector["tests"], "vector test needs at least one test"
    for case in vector["tests"]:
        [given] = case["inputs"]
        event: dict[str, Any] = {}
        for path, value in given["log_fields"].items():
            _assign(event, path, value)
        assert tuple(sorted(json.loads(event["message"]))) in shapes, "not a real line's keys"
        result = run_vrl(source, event)
        for condition in case["outputs"][0]["conditions"]:
            checks = re.findall(r'^assert_eq!\((\.[\w.]+), "([^"]*)"\)$', condition["source"],
                                re.M)
            assert len(checks) == len(condition["source"].strip().splitlines())
            for path, expected in checks:
                assert str(_path(result, path)) == expected, (case["name"], path)


def test_evaluator_refuses_what_it_does_not_run() -> None:
    with pytest.raises(AssertionError) as exc:
        run_vrl('.x = upcase!(.level)', {"level": "info"})
    assert str(exc.value) == "VRL function outside the tested subset: upcase!"


async def test_loki_labels_exist_and_stay_low_cardinality(
        vector: dict[str, Any], worker_lines: tuple[str, list[str]]) -> None:
    labels = vector["sinks"]["loki"]["labels"]
    assert not {"job_id", "project_id"} & set(labels), "ids belong in the line, not labels"
    for event in shipped(vector, worker_lines[1]):
        for value in labels.values():
            for field in re.findall(r"\{\{\s*([\w.]+)\s*\}\}", str(value)):
                assert _path(event, field) is not None, (field, event)


async def test_documented_queries_use_shipped_fields(
        vector: dict[str, Any], worker_lines: tuple[str, list[str]]) -> None:
    text = OPERATIONS.read_text()
    section = text[text.index("## Log shipping"):]
    section = section[:section.find("\n## ", 4)] if "\n## " in section[4:] else section
    loki = re.search(r'\{app="pacai-export-worker"\} \| json \| job_id="[^"]+"', section)
    assert loki, "the Loki query for one job's story"
    labels = vector["sinks"]["loki"]["labels"]
    assert labels["app"] == "pacai-export-worker"
    events = shipped(vector, worker_lines[1])
    table = section[section.index("| facet | finds |"):]
    facets = re.findall(r"^\| `@?([\w.]+)` \|", table, re.M)
    assert {"job_id", "project_id", "status", "host", "service"} <= set(facets), facets
    for facet in facets:
        assert any(_path(e, facet) is not None for e in events), facet


def test_kubernetes_datadog_annotations_target_the_worker_container() -> None:
    patch = yaml.safe_load(DATADOG_PATCH.read_text())
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    assert patch["metadata"]["name"] == deployment["metadata"]["name"]
    containers = {c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]}
    annotations = patch["spec"]["template"]["metadata"]["annotations"]
    for key, value in annotations.items():
        match = re.fullmatch(r"ad\.datadoghq\.com/([\w-]+)\.logs", key)
        if match:
            assert match.group(1) in containers, key
            config = json.loads(value)
            assert config == [{"source": "python", "service": "pacai-export-worker"}]
    assert any(k.endswith(".logs") for k in annotations)


async def test_alloy_pipeline_reads_real_fields_and_matches_the_fly_labels(
        vector: dict[str, Any], worker_lines: tuple[str, list[str]]) -> None:
    """No Alloy binary here (``alloy fmt`` is the authority on syntax): the fields and labels
    the pipeline uses are checked against a real run, the Deployment and the Fly config."""
    text = ALLOY.read_text()
    assert text.count("{") == text.count("}")
    json_stage = re.search(r"stage\.json \{\s*expressions = \{(.*?)\}", text, re.S)
    assert json_stage
    extracted = dict(re.findall(r'(\w+)\s*=\s*"(\w+)"', json_stage.group(1)))
    for raw in worker_lines[1]:
        line = json.loads(raw)
        assert all(source in line for source in extracted.values()), line
    labels_stage = re.search(r"stage\.labels \{\s*values = \{(.*?)\}", text, re.S)
    static_stage = re.search(r"stage\.static_labels \{\s*values = \{(.*?)\}", text, re.S)
    assert labels_stage and static_stage
    labels = set(re.findall(r"(\w+)\s*=", labels_stage.group(1)))
    assert labels <= set(extracted) and not {"job_id", "project_id"} & labels
    static = dict(re.findall(r'(\w+)\s*=\s*"([^"]+)"', static_stage.group(1)))
    assert static == {"app": vector["sinks"]["loki"]["labels"]["app"]}
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = re.search(r'label\s*=\s*"([\w./-]+)=([\w.-]+)"', text)
    assert selector and pod_labels.get(selector.group(1)) == selector.group(2)
    for secret in ("LOKI_URL", "LOKI_USERNAME", "LOKI_PASSWORD"):
        assert f'sys.env("{secret}")' in text
