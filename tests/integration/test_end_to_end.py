"""A real worker process, a real Redis, a real webhook receiver: the job lifecycle
(contract sections 2 to 5)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import redis

from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.helpers import (
    Receiver,
    finished,
    job_data,
    small_manifest,
    verified,
    with_callbacks,
)


async def test_job_completes_with_result_bundle_progress_logs_and_callback(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient) -> None:
    s = with_callbacks(settings, receiver)
    worker = start_worker(s)
    job_id = await client.enqueue(job_data("e2e-arena"))
    status = await finished(client, job_id)
    assert status["state"] == "completed", status
    assert status["progress"] == 100
    result = status["result"]
    assert result["status"] == "completed"
    assert (result["project_id"], result["job_id"]) == ("e2e-arena", job_id)
    assert result["engines"] == ["godot", "unity", "ue5"]
    assert result["key"].startswith("e2e-arena/") and result["key"].endswith("/e2e-arena.zip")
    assert len(result["key"].split("/")[1]) == 16
    assert result["download_url"] == f"{s.export_bucket_url}/{result['key']}"
    stored = s.exports_dir / result["key"]
    data = stored.read_bytes()
    assert result["bytes"] == len(data)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert subprocess.run(["unzip", "-tq", str(stored)], capture_output=True).returncode == 0

    logs = await client.queue.getJobLogs(job_id)
    stages = [line for line in logs["logs"] if line.startswith("stage=")]
    assert stages[0] == "stage=accepted engines=godot,unity,ue5"
    assert "stage=building engine=unity" in stages
    assert stages[-1].startswith("stage=done key=")

    [delivery] = receiver.wait_for(1)
    event = verified(receiver, delivery)
    assert delivery.headers["webhook-id"] == f"{job_id}.export.completed"
    assert event["type"] == "export.completed"
    assert event["data"] == result

    job_lines = [line for line in worker.logs() if line.get("job_id") == job_id]
    assert {line["event"] for line in job_lines} >= {"stage", "job completed"}
    stage_lines = [line for line in worker.logs() if line.get("event") == "stage"]
    assert all(line.get("job_id") for line in stage_lines)

    metrics = worker.get("/metrics").text
    assert "pacai_export_jobs_completed_total 1.0" in metrics
    assert 'pacai_export_queue_jobs{state="completed"} 1.0' in metrics
    assert 'pacai_export_callback_deliveries_total{outcome="delivered"} 1.0' in metrics


async def test_same_inputs_reuse_the_stored_bundle(settings: Settings, start_worker: Any,
                                                   client: ExportClient) -> None:
    start_worker(settings)
    first = await finished(client, await client.enqueue(job_data("again")))
    second = await finished(client, await client.enqueue(job_data("again")))
    assert first["result"]["key"] == second["result"]["key"]
    assert first["result"]["sha256"] == second["result"]["sha256"]
    assert (first["result"]["reused"], second["result"]["reused"]) == (False, True)
    changed = await finished(client, await client.enqueue(job_data("again", quality="low")))
    assert changed["result"]["key"] != first["result"]["key"]


async def test_invalid_job_fails_once_with_named_field_and_failed_callback(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient) -> None:
    start_worker(with_callbacks(settings, receiver))
    bad = job_data("bad-engine", engines=["godot", "cryengine"])
    job = await client.queue.add("export", bad, {"attempts": 3, "backoff": 100})
    status = await finished(client, str(job.id))
    assert status["state"] == "failed"
    assert status["attempts_made"] == 1
    assert status["error"] == "engines[1]: 'cryengine' is not one of ue5, unity, godot"
    [delivery] = receiver.wait_for(1)
    event = verified(receiver, delivery)
    assert delivery.headers["webhook-id"] == f"{job.id}.export.failed"
    assert event["data"] == {
        "job_id": str(job.id), "project_id": "bad-engine", "attempts_made": 1,
        "error": {"code": "invalid_job",
                  "message": "engines[1]: 'cryengine' is not one of ue5, unity, godot"}}


async def test_manifest_from_projects_dir_and_missing_manifest(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    assert settings.projects_dir is not None
    folder = settings.projects_dir / "on-disk"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(small_manifest("on-disk")))
    start_worker(settings)
    data = job_data("on-disk", engines=["godot"])
    del data["manifest"]
    ok = await finished(client, await client.enqueue(data))
    assert ok["state"] == "completed", ok
    names = subprocess.run(["zipinfo", "-1", str(settings.exports_dir / ok["result"]["key"])],
                           capture_output=True, text=True, check=True).stdout.split()
    assert "godot/project.godot" in names
    missing = dict(data, project_id="not-on-disk")
    failed = await finished(client, await client.enqueue(missing))
    assert failed["state"] == "failed"
    assert failed["attempts_made"] == 1
    assert failed["error"] == ("project 'not-on-disk': manifest not found "
                               "(PROJECTS_DIR/not-on-disk/manifest.json)")


async def test_transient_failure_is_retried_then_reported_once(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient,
        tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("storage root is a file, so every store fails")
    s = with_callbacks(settings, receiver, exports_dir=blocker)
    start_worker(s)
    job = await client.queue.add("export", job_data("flaky", engines=["godot"]),
                                 {"attempts": 2, "backoff": 100})
    status = await finished(client, str(job.id))
    assert status["state"] == "failed"
    assert status["attempts_made"] == 2
    assert status["error"] == ("could not create a work folder in EXPORTS_DIR/_work: "
                               "Not a directory")
    deliveries = receiver.wait_for(1)
    assert [d.headers["webhook-id"] for d in deliveries] == [f"{job.id}.export.failed"]
    assert verified(receiver, deliveries[0])["data"]["error"]["code"] == "storage_error"


async def test_callback_retries_until_the_receiver_recovers(
        settings: Settings, receiver: Receiver, start_worker: Any, client: ExportClient,
        redis_url: str) -> None:
    receiver.statuses = [500, 429]
    start_worker(with_callbacks(settings, receiver))
    status = await finished(client, await client.enqueue(job_data("cb-retry", engines=["godot"])))
    deliveries = receiver.wait_for(3, timeout=60)
    ids = {d.headers["webhook-id"] for d in deliveries}
    assert ids == {f"{status['id']}.export.completed"}
    assert len(deliveries) == 3
    stamps = [d.headers["webhook-timestamp"] for d in deliveries]
    assert all(verified(receiver, d)["type"] == "export.completed" for d in deliveries)
    assert stamps == sorted(stamps)
    # The export ran once: one attempt, one completion.
    assert status["attempts_made"] == 1
    r = redis.Redis.from_url(redis_url)
    assert r.zcard(f"bull:{settings.queue_name}:completed") == 1
