"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written by hand around the pydantic models (``ExportJob``, ``ExportResult``), so the
document names exactly what the endpoints accept and answer; the schemathesis test in
``tests/api`` holds the running API to it.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import __version__
from ..jobs import PROJECT_ID_RE, ExportJob, ExportResult
from .problems import PROBLEM_TYPE

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._~-]{1,200}$"
STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "paused",
          "completed", "failed"]
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
DASHBOARD_AUTH: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"dashboardCookie": []}]


def _export_job_schema() -> dict[str, Any]:
    schema = copy.deepcopy(ExportJob.model_json_schema())
    props = schema["properties"]
    props["project_id"].update(pattern=PROJECT_ID_RE.pattern, maxLength=128)
    props["engines"].update(minItems=1, description="duplicates are removed")
    props["seed"]["description"] = "drives every generated id; default: project_id"
    props["manifest"]["description"] = ("manifest v1 (schemas/manifest.v1.json), validated by "
                                        "the worker; when absent, loaded by project_id")
    schema["description"] = "Job data (contract §2). Extra keys are ignored."
    return schema


def _result_schema() -> dict[str, Any]:
    schema = copy.deepcopy(ExportResult.model_json_schema())
    schema["description"] = "The job's returnvalue (contract §3)."
    return schema


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _json(description: str, ref: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


INVALID_ID_TEXT = ("the id is malformed: empty, over 256 characters, or with ':', spaces or "
                   "control characters")
JOB_ID_PARAM = {"name": "id", "in": "path", "required": True, "description": "BullMQ job id",
                "schema": {"type": "string", "minLength": 1, "maxLength": 256}}
UNAUTHORIZED = _problem("missing or wrong bearer token")
INVALID_ID = _problem(INVALID_ID_TEXT)
REDIS_DOWN = _problem("Redis did not answer; try again (Retry-After)")


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "PacAI Export API", "version": __version__,
                 "description": "Enqueue exports, poll their status, receive the worker's "
                 "signed callbacks, and watch the queue (docs/api.md)."},
        "paths": {
            "/v5/export": {"post": _enqueue_operation()},
            "/v5/export/{id}": {"get": {
                "operationId": "getExport", "summary": "Status of an export job",
                "tags": ["export"], "security": BEARER, "parameters": [JOB_ID_PARAM],
                "responses": {
                    "200": _event_stream(_json("the job's state, progress, result or error",
                                               "ExportStatus")),
                    "401": UNAUTHORIZED, "400": INVALID_ID, "404": _problem("no such job"),
                    "503": REDIS_DOWN}}},
            "/v5/export/callback": {"post": _callback_operation()},
            "/openapi.json": {"get": {
                "operationId": "getOpenApi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {
                    "application/json": {"schema": {"type": "object"}}}}}}},
            **_dashboard_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "one of the tokens in API_TOKENS"},
                "dashboardCookie": {"type": "apiKey", "in": "cookie", "name": "pacai_dashboard",
                                    "description": "a session derived from a token, set by the "
                                    "login form"},
            },
            "schemas": _schemas(),
        },
    }


def _event_stream(response: dict[str, Any]) -> dict[str, Any]:
    """The same resource as server-sent events, for a request with Accept: text/event-stream
    (docs/api.md, "Live updates")."""
    response["content"]["text/event-stream"] = {"schema": {
        "type": "string", "description": "events status, added/waiting/active/…, progress, log, "
        "then completed or failed (the stream ends); each id is the Redis stream entry id, "
        "resumable with Last-Event-ID"}}
    return response


def _enqueue_operation() -> dict[str, Any]:
    accepted = _json("queued (or, for a repeated Idempotency-Key, already queued)", "Accepted")
    accepted["headers"] = {
        "Location": {"description": "the status URL", "schema": {"type": "string"}},
        "Idempotent-Replayed": {"description": "'true' when the key was seen before",
                                "schema": {"type": "string", "enum": ["true"]}},
    }
    accepted["links"] = {"GetExport": {"operationId": "getExport",
                                       "parameters": {"id": "$response.body#/id"}}}
    return {
        "operationId": "enqueueExport", "summary": "Enqueue an export job", "tags": ["export"],
        "security": BEARER,
        "parameters": [{
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "becomes the BullMQ job id (idem-<key>): a repeated request returns "
            "the same id and enqueues nothing", "schema": {
                "type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN}}],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ExportJob"}}}},
        "responses": {
            "202": accepted,
            "400": _problem("malformed JSON or Idempotency-Key"),
            "401": UNAUTHORIZED,
            "413": _problem("body over API_MAX_BODY_BYTES"),
            "415": _problem("content-type is not JSON"),
            "422": _problem("the job data breaks a rule (errors name the fields), or the "
                            "Idempotency-Key was used with different data"),
            "503": REDIS_DOWN,
        },
    }


def _callback_operation() -> dict[str, Any]:
    def header(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "header", "required": True, "description": description,
                "schema": {"type": "string"}}

    return {
        "operationId": "receiveCallback", "tags": ["callback"],
        "summary": "The worker's callback (Standard Webhooks v1, signed with "
        "WORKER_CALLBACK_SECRET)",
        "security": [],
        "parameters": [header("webhook-id", "<job id>.<event type>"),
                       header("webhook-timestamp", "Unix seconds, within 5 minutes of now"),
                       header("webhook-signature", "v1,<base64 HMAC-SHA256>")],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CallbackEvent"}}}},
        "responses": {
            "204": {"description": "recorded, or a replayed webhook-id ignored"},
            "400": _problem("the verified body is not a callback event"),
            "401": _problem("bad signature or timestamp outside the window"),
            "413": _problem("body over API_MAX_BODY_BYTES"),
            "503": _problem("WORKER_CALLBACK_SECRET is not configured"),
        },
    }


def _dashboard_paths() -> dict[str, Any]:
    auth_problem = _problem("not signed in")
    return {
        "/dashboard": {"get": {
            "operationId": "dashboard", "summary": "Operator dashboard (HTML)",
            "tags": ["dashboard"], "security": DASHBOARD_AUTH,
            "responses": {"200": _html("queue counts and recent jobs"),
                          "401": _html("login form")}}},
        "/dashboard/login": {"post": {
            "operationId": "dashboardLogin", "summary": "Sign in with a token (form)",
            "tags": ["dashboard"], "security": [],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["token"],
                    "properties": {"token": {"type": "string"}}}}}},
            "responses": {"303": {"description": "signed in; cookie set",
                                  "headers": {"Location": {"schema": {"type": "string"}}}},
                          "401": _html("wrong token: the login form again"),
                          "403": _problem("posted from another origin (login CSRF)"),
                          "413": _problem("body over API_MAX_BODY_BYTES"),
                          "429": _html("too many wrong tokens from this address: the "
                                       "login form with a Retry-After header")}}},
        "/dashboard/jobs/{id}": {"get": {
            "operationId": "dashboardJob", "summary": "One job: logs, result, download, retry",
            "tags": ["dashboard"], "security": DASHBOARD_AUTH, "parameters": [JOB_ID_PARAM],
            "responses": {"200": _html("the job's page"), "401": _html("login form"),
                          "400": INVALID_ID, "404": _problem("no such job")}}},
        "/dashboard/app.js": {"get": {
            "operationId": "dashboardScript", "summary": "The dashboard's script",
            "tags": ["dashboard"], "security": [], "responses": {"200": {
                "description": "JavaScript", "content": {"text/javascript": {
                    "schema": {"type": "string"}}}}}}},
        "/dashboard/icon.svg": {"get": {
            "operationId": "dashboardIcon", "summary": "The dashboard's icon",
            "tags": ["dashboard"], "security": [], "responses": {"200": {
                "description": "SVG", "content": {"image/svg+xml": {
                    "schema": {"type": "string"}}}}}}},
        "/dashboard/app.css": {"get": {
            "operationId": "dashboardStyles", "summary": "The dashboard's stylesheet",
            "tags": ["dashboard"], "security": [], "responses": {"200": {
                "description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}}}}},
        "/dashboard/jobs/{id}/retry": {"post": {
            "operationId": "dashboardRetry", "summary": "Retry a failed job",
            "tags": ["dashboard"], "security": DASHBOARD_AUTH, "parameters": [JOB_ID_PARAM],
            "responses": {"202": _json("moved back to waiting", "Retried"),
                          "401": auth_problem,
                          "403": _problem("cookie sign-in without the dashboard's header"),
                          "400": INVALID_ID, "404": _problem("no such job"),
                          "409": _problem("the job is not in the failed state")}}},
        "/dashboard/api/jobs": {"get": {
            "operationId": "dashboardJobs", "summary": "Counts and recent jobs (JSON, polled)",
            "tags": ["dashboard"], "security": DASHBOARD_AUTH,
            "responses": {"200": _json("counts by state and up to 50 jobs, newest first",
                                       "QueueOverview"), "401": auth_problem,
                          "503": REDIS_DOWN}}},
        "/dashboard/api/jobs/{id}": {"get": {
            "operationId": "dashboardJobJson", "summary": "One job with its logs (JSON, polled)",
            "tags": ["dashboard"], "security": DASHBOARD_AUTH, "parameters": [JOB_ID_PARAM],
            "responses": {"200": _json("status, data and logs", "JobDetail"),
                          "401": auth_problem, "400": INVALID_ID, "404": _problem("no such job"),
                          "503": REDIS_DOWN}}},
    }


def _schemas() -> dict[str, Any]:
    status_props: dict[str, Any] = {
        "id": {"type": "string"},
        "state": {"type": "string", "enum": STATES},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "result": {"$ref": "#/components/schemas/ExportResult"},
        "error": {"type": "string", "description": "failedReason (names the field and rule)"},
        "attempts_made": {"type": ["integer", "null"], "minimum": 0,
                          "description": "null when only the callback's record remains and "
                          "it did not carry the count"},
    }
    summary_props: dict[str, Any] = {
        "id": {"type": "string"}, "name": {"type": ["string", "null"]},
        "state": {"type": "string", "enum": STATES},
        "project_id": {"type": ["string", "null"]},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "attempts_made": {"type": "integer", "minimum": 0},
        "timestamp": {"type": "integer", "description": "added at (ms since the epoch)"},
        "finished_on": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
    }
    return {
        "ExportJob": _export_job_schema(),
        "ExportResult": _result_schema(),
        "Accepted": {"type": "object", "required": ["id", "status_url"], "properties": {
            "id": {"type": "string"}, "status_url": {"type": "string", "format": "uri"}}},
        "ExportStatus": {"type": "object", "required": ["id", "state", "progress",
                                                        "attempts_made"],
                         "properties": status_props},
        "CallbackEvent": {"type": "object", "required": ["type", "timestamp", "data"],
                          "properties": {
                              "type": {"type": "string",
                                       "enum": ["export.completed", "export.failed"]},
                              "timestamp": {"type": "string", "format": "date-time"},
                              "data": {"type": "object", "required": ["job_id"],
                                       "properties": {"job_id": {"type": "string"}}}}},
        "Problem": {"type": "object", "required": ["type", "title", "status", "detail",
                                                   "errors"],
                    "description": "RFC 9457 problem details",
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"}, "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {"type": "array", "items": {
                            "type": "object", "required": ["field", "message"],
                            "properties": {"field": {"type": "string"},
                                           "message": {"type": "string"}}}}}},
        "JobSummary": {"type": "object", "required": list(summary_props),
                       "properties": summary_props},
        "QueueOverview": {"type": "object", "required": ["counts", "jobs"], "properties": {
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "jobs": {"type": "array", "maxItems": 50,
                     "items": {"$ref": "#/components/schemas/JobSummary"}}}},
        "JobDetail": {"type": "object", "required": ["id", "state", "progress", "attempts_made",
                                                     "logs"],
                      "properties": {**status_props, "data": {},
                                     "logs": {"type": "array", "items": {"type": "string"}}}},
        "Retried": {"type": "object", "required": ["id", "state"], "properties": {
            "id": {"type": "string"}, "state": {"type": "string", "const": "waiting"}}},
    }
