"""A Node producer on npm bullmq 6.x adds jobs; our Python worker completes them; Node sees
the result through ``job.returnvalue`` and ``QueueEvents``."""

from __future__ import annotations

from typing import Any

from pacai_export.settings import Settings
from tests.helpers import job_data, node_add


def test_node_producer_job_completes_and_node_sees_the_result(
        settings: Settings, start_worker: Any) -> None:
    start_worker(settings)
    seen = node_add(settings, job_data("from-node", engines=["ue5", "godot"]),
                    {"attempts": 3, "backoff": {"type": "exponential", "delay": 2000}})
    assert seen["waited"] == "completed"
    assert seen["state"] == "completed"
    assert seen["progress"] == 100
    rv = seen["returnvalue"]
    assert rv["project_id"] == "from-node"
    assert rv["job_id"] == str(seen["id"])
    assert rv["engines"] == ["godot", "ue5"]
    assert (settings.exports_dir / rv["key"]).is_file()


def test_node_producer_invalid_job_fails_once(settings: Settings, start_worker: Any) -> None:
    start_worker(settings)
    seen = node_add(settings, job_data("x", quality="ultra"),
                    {"attempts": 3, "backoff": {"type": "exponential", "delay": 500}})
    assert seen["state"] == "failed"
    assert seen["attemptsMade"] == 1
    assert seen["failedReason"] == "quality: 'ultra' is not one of low, medium, high"
