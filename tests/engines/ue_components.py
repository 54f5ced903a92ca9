"""A manifest that uses every component, and what the UE writer makes of it (its scene.json and
the bootstrap's plan, run outside the editor). Shared by the UE component, C++ plugin and bob
tests."""

from __future__ import annotations

import json
import math
from typing import Any

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext
from pacai_export.manifest import Manifest

S = math.sqrt(0.5)


def components_manifest() -> dict[str, Any]:
    def comp(type_: str, **params: Any) -> dict[str, Any]:
        return {"type": type_, "params": params}

    return {
        "schema": "pacai.manifest/v1",
        "project": {"id": "components", "name": "Components"},
        "scenes": [{"id": "main", "nodes": [
            {"id": "coin", "name": "Coin", "mesh": {"primitive": "cylinder"},
             "transform": {"translation": [1, 1, 0], "rotation": [S, 0, 0, S]},
             "components": [comp("spin", degrees_per_second=90),
                            comp("pickup", value=3, score=50)]},
            {"id": "fan", "name": "Fan", "mesh": {"primitive": "box", "size": [2, 0.1, 0.3]},
             "components": [comp("spin", degrees_per_second=-45, axis=[1, 0, 0])]},
            {"id": "wobble", "name": "Wobble", "mesh": {"primitive": "sphere"},
             "components": [comp("spin", degrees_per_second=30, axis=[1, 1, 0])]},
            {"id": "float_group", "name": "Float Group", "transform": {
                "rotation": [0, 0, 0.3826834, 0.9238795], "scale": [2, 2, 2]}},
            {"id": "buoy", "name": "Buoy", "parent": "float_group", "body": "kinematic",
             "mesh": {"primitive": "sphere", "radius": 0.3},
             "light": {"type": "point", "range": 3},
             "components": [comp("bob", amplitude=0.5, frequency=2, speed=3)]},
            {"id": "start", "name": "Start", "transform": {"translation": [0, 0, 5]},
             "components": [comp("spawn_point", index=0)]},
            {"id": "door", "name": "Door", "transform": {"translation": [3, 1, 0]},
             "components": [comp("trigger_zone", size=[2, 3, 1], event="door_open")]},
            {"id": "player", "name": "Player", "mesh": {"primitive": "capsule"},
             "body": "character",
             "components": [comp("player_controller", speed=7, jump_velocity=5)]},
        ]}],
        "main_scene": "main",
    }


def ue_scene_json(data: dict[str, Any]) -> dict[str, Any]:
    files = write_engine("ue5", BuildContext(Manifest.model_validate(data), "s", "high", False,
                                             {}))
    scene: dict[str, Any] = json.loads(files["SourceArt/scene.json"])  # type: ignore[arg-type]
    return dict(scene["scenes"][0])


def bootstrap_namespace() -> dict[str, Any]:
    """The bootstrap the writer ships, run outside the editor (its plan needs no unreal)."""
    files = write_engine("ue5", BuildContext(Manifest.model_validate(components_manifest()),
                                             "s", "high", False, {}))
    source = files["Content/Python/pacai_bootstrap.py"]
    assert isinstance(source, bytes)
    namespace: dict[str, Any] = {"__name__": "pacai_bootstrap_plan"}
    exec(compile(source.decode(), "pacai_bootstrap.py", "exec"), namespace)
    return namespace
