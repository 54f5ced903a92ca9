"""Which nodes are instanced (engines/instancing.py) and what bundle.json reports."""

from __future__ import annotations

import json
import re
from typing import Any

from pacai_export.bundle import BundleMeta, bundle_json
from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext
from pacai_export.engines.instancing import (
    CONSTRUCTS,
    MODEL_CONSTRUCTS,
    THRESHOLD,
    instancing_report,
)
from pacai_export.manifest import Manifest
from tests.engines.fidelity_scene import instanced_manifest
from tests.helpers import stress_manifest


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
                       "model": None, "material": "mat_gold", "count": THRESHOLD, "as": CONSTRUCTS,
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


def _unity(manifest: Manifest) -> dict[str, bytes]:
    ctx = BuildContext(manifest=manifest, seed="s", quality="high", include_assets=False)
    return {k: v for k, v in write_engine("unity", ctx).items() if isinstance(v, bytes)}


def test_unity_gpu_instancing_on_the_shared_material_only() -> None:
    raw = _manifest(20).model_dump(by_alias=True)
    raw["materials"].append({"id": "other"})
    files = _unity(Manifest.model_validate(raw))
    flags = {path: re.findall(rb"m_EnableInstancingVariants: (\d)", text)
             for path, text in files.items() if path.endswith(".mat")}
    assert flags.pop("Assets/Materials/mat_gold.mat") == [b"1"]
    assert flags and all(f == [b"0"] for f in flags.values())  # other.mat and the rest
    raw["project"]["instancing"] = False
    off = _unity(Manifest.model_validate(raw))
    assert b"m_EnableInstancingVariants: 1" not in off["Assets/Materials/mat_gold.mat"]


def test_unity_static_bodies_and_their_helpers_are_batching_static() -> None:
    raw = _manifest(0).model_dump(by_alias=True)
    raw["scenes"][0]["nodes"] += [
        {"id": "wall", "name": "Wall", "body": "static", "mesh": {"primitive": "box"},
         "collider": {"shape": "box"}},
        {"id": "lamp", "name": "Lamp", "parent": "wall", "body": "rigid",
         "mesh": {"primitive": "sphere"}, "collider": {"shape": "sphere"}}]
    scene = _unity(Manifest.model_validate(raw))["Assets/Scenes/main.unity"].decode()
    flags = {}
    for doc in scene.split("--- !u!1 &")[1:]:
        name = re.search(r"m_Name: '([^']*)'", doc)
        static = re.search(r"m_StaticEditorFlags: (\d+)", doc)
        assert name and static
        flags.setdefault(name.group(1), set()).add(int(static.group(1)))
    assert flags["Wall"] == {4}
    assert flags["Lamp"] == {0}  # a child node of its own: not static
    wall_helpers = [n for n in flags if n not in ("Wall", "Lamp", "Main", "sun", "forest")]
    assert wall_helpers and all(flags[n] <= {0, 4} for n in wall_helpers)


def test_repeated_models_are_a_group_and_each_engine_says_what_it_made() -> None:
    raw = instanced_manifest(THRESHOLD)
    raw["scenes"][0]["nodes"].append(  # a model node with a mesh too is no plain prop
        {"id": "both", "parent": "grove", "model": "statue", "mesh": {"primitive": "box"}})
    report = {g["ids"][0]: g for g in instancing_report(Manifest.model_validate(raw))}
    statues = report["mdl0"]
    assert (statues["model"], statues["primitive"], statues["count"]) == ("statue", None, 16)
    assert statues["as"] == MODEL_CONSTRUCTS and "both" not in statues["ids"]  # type: ignore[operator]
    less = instanced_manifest(THRESHOLD)
    less["scenes"][0]["nodes"] = [n for n in less["scenes"][0]["nodes"] if n["id"] != "mdl3"]
    assert all(g["model"] is None for g in instancing_report(Manifest.model_validate(less)))


def test_godot_keeps_one_model_instance_per_node() -> None:
    """A model is a whole scene, not one Mesh: Godot places it per node (MODEL_CONSTRUCTS)."""
    manifest = Manifest.model_validate(instanced_manifest())
    files = write_engine("godot", BuildContext(manifest, "s", "high", False, {}))
    scene = files["scenes/main.tscn"]
    assert isinstance(scene, bytes)
    text = scene.decode()
    statues = re.findall(r'\[node name="(Statue(?: \d+)?)" type="Node3D" parent="Grove"\]', text)
    assert len(statues) == 16
    # the four primitive groups are MultiMeshes (Godot's Transform3D holds shear too)
    assert text.count('type="MultiMeshInstance3D"') == 4
