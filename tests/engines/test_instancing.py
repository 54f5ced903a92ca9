"""Which nodes are instanced (engines/instancing.py) and what bundle.json reports."""

from __future__ import annotations

import json
from typing import Any

from pacai_export.bundle import BundleMeta, bundle_json
from pacai_export.engines.instancing import THRESHOLD, instancing_report
from pacai_export.manifest import Manifest
from tests.conftest import stress_manifest


def _manifest(copies: int, **extra: Any) -> Manifest:
    raw = stress_manifest("inst", 0)
    nodes = raw["scenes"][0]["nodes"]
    nodes.append({"id": "forest"})
    for i in range(copies):
        nodes.append({"id": f"t{i}", "parent": "forest", "mesh": {"primitive": "cylinder"},
                      "material": "mat_gold", "transform": {"translation": [i, 0, 0]}, **extra})
    return Manifest.model_validate(raw)


def test_threshold_copies_are_one_group_with_ids_in_instance_order() -> None:
    report = instancing_report(_manifest(THRESHOLD))
    assert report == [{"scene": "main", "parent": "forest", "primitive": "cylinder",
                       "material": "mat_gold", "count": THRESHOLD,
                       "ids": [f"t{i}" for i in range(THRESHOLD)]}]


def test_fewer_copies_or_nodes_with_behaviour_stay_separate() -> None:
    assert instancing_report(_manifest(THRESHOLD - 1)) == []
    assert instancing_report(_manifest(THRESHOLD, collider={"shape": "box"})) == []
    assert instancing_report(_manifest(THRESHOLD, components=[{"type": "spin"}])) == []


def test_instancing_off_in_the_manifest() -> None:
    raw = _manifest(THRESHOLD).model_dump(by_alias=True)
    raw["project"]["instancing"] = False
    assert instancing_report(Manifest.model_validate(raw)) == []


def test_bundle_json_lists_the_groups() -> None:
    meta = BundleMeta(project_id="inst", project_name="Inst", engines=("godot",),
                      quality="high", include_assets=False, seed="s",
                      instanced=tuple(instancing_report(_manifest(20))))
    doc = json.loads(bundle_json(meta, []))
    assert [(g["parent"], g["count"], g["ids"][0]) for g in doc["instanced"]] == [
        ("forest", 20, "t0")]
