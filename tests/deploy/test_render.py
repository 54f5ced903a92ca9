"""The Render Blueprint (``deploy/render/render.yaml``) against the fields Render documents.

Render publishes its Blueprint schema (render.com/schema/render.yaml.json) without a licence, so
no copy lives here; ``BLUEPRINT_SCHEMA`` below encodes the documented fields this Blueprint uses
(docs: render.com/docs/blueprint-spec), with unknown keys refused so a typo fails here rather
than at sync time. The settings it ships go through the worker's own ``Settings.from_env``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pacai_export.api.app import create_app
from pacai_export.settings import Settings
from tests.helpers import SECRET_VARS, settings_from

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT = ROOT / "deploy" / "render" / "render.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"

PLANS = ["free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra"]
REGIONS = ["oregon", "ohio", "virginia", "frankfurt", "singapore"]
ENV_VAR = {
    "type": "object",
    "required": ["key"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
        "value": {"type": ["string", "number"]},
        "generateValue": {"type": "boolean"},
        "sync": {"const": False},
        "fromService": {
            "type": "object", "required": ["type", "name"], "additionalProperties": False,
            "properties": {"type": {"enum": ["web", "worker", "pserv", "keyvalue", "redis"]},
                           "name": {"type": "string"},
                           "property": {"enum": ["host", "port", "hostport",
                                                 "connectionString"]},
                           "envVarKey": {"type": "string"}}},
    },
    # exactly one source per variable
    "oneOf": [{"required": ["value"]}, {"required": ["generateValue"]},
              {"required": ["sync"]}, {"required": ["fromService"]}],
}
SERVER = {
    "type": "object",
    "required": ["type", "name", "runtime"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["web", "worker", "pserv"]},
        "name": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "runtime": {"const": "docker"},
        "plan": {"enum": PLANS},
        "region": {"enum": REGIONS},
        "dockerfilePath": {"type": "string"},
        "dockerContext": {"type": "string"},
        "dockerCommand": {"type": "string"},
        "healthCheckPath": {"type": "string", "pattern": "^/"},
        "numInstances": {"type": "integer", "minimum": 1},
        "maxShutdownDelaySeconds": {"type": "integer", "minimum": 1, "maximum": 300},
        "scaling": {
            "type": "object", "required": ["minInstances", "maxInstances"],
            "additionalProperties": False,
            "properties": {"minInstances": {"type": "integer", "minimum": 1},
                           "maxInstances": {"type": "integer", "minimum": 1},
                           "targetCPUPercent": {"type": "integer", "minimum": 1, "maximum": 90},
                           "targetMemoryPercent": {"type": "integer", "minimum": 1,
                                                   "maximum": 90}}},
        "envVars": {"type": "array", "items": ENV_VAR},
    },
    # Render rejects a service that sets both manual and automatic scaling.
    "not": {"required": ["numInstances", "scaling"]},
}
KEY_VALUE = {
    "type": "object",
    "required": ["type", "name", "ipAllowList"],  # ipAllowList is required for Key Value
    "additionalProperties": False,
    "properties": {
        "type": {"const": "keyvalue"},
        "name": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "plan": {"enum": PLANS},
        "region": {"enum": REGIONS},
        "maxmemoryPolicy": {"enum": ["allkeys-lfu", "allkeys-lru", "allkeys-random",
                                     "noeviction", "volatile-lfu", "volatile-lru",
                                     "volatile-random", "volatile-ttl"]},
        "ipAllowList": {"type": "array", "items": {
            "type": "object", "required": ["source"],
            "properties": {"source": {"type": "string"}, "description": {"type": "string"}}}},
    },
}
BLUEPRINT_SCHEMA = {
    "type": "object",
    "required": ["services"],
    "additionalProperties": False,
    "properties": {"services": {"type": "array", "items": {
        "if": {"properties": {"type": {"const": "keyvalue"}}},
        "then": KEY_VALUE, "else": SERVER}}},
}


@pytest.fixture(scope="module")
def blueprint() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(BLUEPRINT.read_text())
    return data


def service(blueprint: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [s for s in blueprint["services"] if s["type"] == kind]
    assert len(found) == 1, f"one {kind} service expected, found {len(found)}"
    return found[0]


def plain_env(svc: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: str(e["value"]) for e in svc["envVars"] if "value" in e}


def test_blueprint_matches_the_documented_fields(blueprint: dict[str, Any]) -> None:
    jsonschema.validate(blueprint, BLUEPRINT_SCHEMA)
    names = [s["name"] for s in blueprint["services"]]
    assert len(names) == len(set(names)), names


def test_schema_refuses_a_typo_and_a_secret_with_a_value(blueprint: dict[str, Any]) -> None:
    """The schema above is strict enough to catch the mistakes it exists for."""
    worker = dict(service(blueprint, "worker"), healthcheckPath="/health")
    with pytest.raises(jsonschema.ValidationError) as typo:
        jsonschema.validate({"services": [worker]}, BLUEPRINT_SCHEMA)
    assert "'healthcheckPath' was unexpected" in typo.value.message
    both = {"key": "API_TOKENS", "value": "t", "sync": False}
    with pytest.raises(jsonschema.ValidationError) as secret:
        jsonschema.validate(both, ENV_VAR)
    assert "is valid under each of" in secret.value.message


def test_key_value_keeps_every_key_and_is_private(blueprint: dict[str, Any]) -> None:
    kv = service(blueprint, "keyvalue")
    assert kv["maxmemoryPolicy"] == "noeviction"
    assert kv["ipAllowList"] == []


def test_worker_builds_the_dockerfile_and_outlasts_the_drain(blueprint: dict[str, Any]) -> None:
    worker = service(blueprint, "worker")
    assert (ROOT / worker["dockerfilePath"]).resolve() == ROOT / "deploy/docker/Dockerfile"
    assert (ROOT / worker["dockerContext"]).resolve() == ROOT
    s = settings_from({k: v for k, v in plain_env(worker).items()
                       if not k.startswith("AWS_")}, "render.yaml worker")
    assert worker["maxShutdownDelaySeconds"] > s.shutdown_timeout
    scaling = worker["scaling"]
    assert 2 <= scaling["minInstances"] <= scaling["maxInstances"]
    assert s.storage_url and s.storage_url.startswith("s3://"), \
        "several instances need shared storage (a Render disk pins one instance)"


def test_secrets_are_never_in_the_file(blueprint: dict[str, Any]) -> None:
    for svc in blueprint["services"]:
        for env in svc.get("envVars", []):
            if env["key"] in SECRET_VARS | {"AWS_ACCESS_KEY_ID"}:
                assert env.get("sync") is False or "fromService" in env, (svc["name"], env)


def test_redis_url_comes_from_the_key_value_instance(blueprint: dict[str, Any]) -> None:
    kv = service(blueprint, "keyvalue")
    for kind in ("worker", "web"):
        refs = [e["fromService"] for e in service(blueprint, kind)["envVars"]
                if e["key"] == "REDIS_URL"]
        assert refs == [{"type": "keyvalue", "name": kv["name"],
                         "property": "connectionString"}], kind


def test_api_health_check_path_is_an_api_route(blueprint: dict[str, Any]) -> None:
    web = service(blueprint, "web")
    assert web["dockerCommand"] == "pacai-export api"
    env = plain_env(web)
    settings = Settings.from_env({**env, "REDIS_URL": "redis://redis.invalid:6379",
                                  "API_TOKENS": "dummy"})
    assert settings.api_port == 10000
    paths = {getattr(route, "path", None) for route in create_app(settings).routes}
    assert web["healthCheckPath"] in paths


def test_operations_doc_has_the_render_section() -> None:
    text = OPERATIONS.read_text()
    assert "### Render" in text
    assert "deploy/render/render.yaml" in text
