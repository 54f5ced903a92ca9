"""Writes manifest.json: a 1,000-node scene that uses every node feature of manifest v1.

A city block grid: 10 districts of 11 blocks of 9 nodes (a building with a body and collider,
a roof, a lamp post with a point light, a coin with components, ...), plus sun, camera,
player, spawn point and a blimp, cut at 1,000 nodes. Deterministic: run it again and the
file is byte-identical.

    python examples/stress-1000/generate.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRIMITIVES = [
    {"primitive": "box", "size": [4.0, 8.0, 4.0]},
    {"primitive": "cylinder", "radius": 2.0, "height": 10.0},
    {"primitive": "sphere", "radius": 2.5},
]


def block(d: int, b: int) -> list[dict[str, Any]]:
    x, z = (b % 5) * 12.0, (b // 5) * 12.0
    p = f"d{d:02d}_b{b:02d}"
    shape = PRIMITIVES[(d + b) % len(PRIMITIVES)]
    return [
        {"id": p, "name": f"Block {d}-{b}", "parent": f"district_{d:02d}",
         "transform": {"translation": [x, 0.0, z]}},
        {"id": f"{p}_building", "name": "Building", "parent": p, "mesh": shape,
         "material": f"mat_facade_{(d + b) % 4}", "body": "static",
         "collider": {"shape": "box", "size": [4.0, 8.0, 4.0]},
         "transform": {"translation": [0.0, 4.0, 0.0]}},
        {"id": f"{p}_roof", "name": "Roof", "parent": f"{p}_building",
         "mesh": {"primitive": "box", "size": [4.4, 0.3, 4.4]}, "material": "mat_roof",
         "transform": {"translation": [0.0, 4.2, 0.0]}},
        {"id": f"{p}_sidewalk", "name": "Sidewalk", "parent": p,
         "mesh": {"primitive": "plane", "size": [10.0, 10.0]}, "material": "mat_concrete",
         "body": "static", "collider": {"shape": "box", "size": [10.0, 0.1, 10.0]}},
        {"id": f"{p}_lamp", "name": "Lamp Post", "parent": p,
         "mesh": {"primitive": "cylinder", "radius": 0.08, "height": 3.0}, "material": "mat_metal",
         "transform": {"translation": [4.5, 1.5, 4.5]}},
        {"id": f"{p}_lamp_light", "name": "Lamp Light", "parent": f"{p}_lamp",
         "light": {"type": "point", "color": [1.0, 0.85, 0.6], "intensity": 8.0, "range": 9.0},
         "transform": {"translation": [0.0, 1.6, 0.0]}},
        {"id": f"{p}_coin", "name": "Coin", "parent": p,
         "mesh": {"primitive": "cylinder", "radius": 0.3, "height": 0.05}, "material": "mat_gold",
         "transform": {"translation": [-4.0, 1.0, 4.0],
                       "rotation": [0.7071068, 0.0, 0.0, 0.7071068]},
         "components": [{"type": "spin", "params": {"degrees_per_second": 90}},
                        {"type": "pickup", "params": {"value": 1}}]},
        {"id": f"{p}_crate", "name": "Crate", "parent": p,
         "mesh": {"primitive": "box", "size": [0.8, 0.8, 0.8]}, "material": "mat_wood",
         "body": "rigid", "collider": {"shape": "box", "size": [0.8, 0.8, 0.8]},
         "transform": {"translation": [3.0, 0.4, -4.0], "scale": [1.0, 1.0, 1.0]}},
        {"id": f"{p}_zone", "name": "Block Zone", "parent": p,
         "components": [{"type": "trigger_zone", "params": {"size": [10.0, 4.0, 10.0],
                                                             "event": f"enter_{p}"}}]},
    ]


def manifest() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "sun", "name": "Sun", "light": {"type": "directional", "intensity": 2.5},
         "transform": {"rotation": [-0.3826834, 0.0, 0.0, 0.9238795]}},
        {"id": "camera", "name": "Camera", "camera": {"yfov": 1.0, "znear": 0.1, "zfar": 2000.0},
         "transform": {"translation": [60.0, 80.0, 160.0],
                       "rotation": [-0.3826834, 0.0, 0.0, 0.9238795]}},
        {"id": "player", "name": "Player", "mesh": {"primitive": "capsule", "radius": 0.4,
                                                    "height": 1.8},
         "body": "character", "collider": {"shape": "capsule", "radius": 0.4, "height": 1.8},
         "components": [{"type": "player_controller", "params": {"speed": 6.0}}],
         "transform": {"translation": [0.0, 0.9, -6.0]}},
        {"id": "spawn", "name": "Spawn", "components": [{"type": "spawn_point"}],
         "transform": {"translation": [0.0, 0.0, -6.0]}},
    ]
    nodes.append({"id": "blimp", "name": "Blimp", "mesh": {"primitive": "capsule", "radius": 3.0,
                                                          "height": 14.0},
                  "material": "mat_metal", "body": "kinematic",
                  "components": [{"type": "bob", "params": {"amplitude": 2.0}}],
                  "transform": {"translation": [120.0, 60.0, 60.0],
                                "rotation": [0.0, 0.0, 0.7071068, 0.7071068]}})
    for d in range(10):
        nodes.append({"id": f"district_{d:02d}", "name": f"District {d}",
                      "transform": {"translation": [(d % 5) * 64.0, 0.0, (d // 5) * 64.0]}})
        for b in range(11):
            nodes.extend(block(d, b))
    nodes = nodes[:1000]  # parents come before children, so the cut leaves no orphans
    colors = [[0.8, 0.7, 0.6, 1.0], [0.6, 0.65, 0.7, 1.0], [0.7, 0.5, 0.4, 1.0],
              [0.9, 0.9, 0.85, 1.0]]
    materials = [{"id": f"mat_facade_{i}", "base_color": c, "roughness": 0.8}
                 for i, c in enumerate(colors)]
    materials += [
        {"id": "mat_roof", "base_color": [0.3, 0.15, 0.1, 1.0], "roughness": 0.9},
        {"id": "mat_concrete", "base_color": [0.55, 0.55, 0.55, 1.0], "roughness": 1.0},
        {"id": "mat_metal", "base_color": [0.6, 0.6, 0.65, 1.0], "metallic": 1.0,
         "roughness": 0.35},
        {"id": "mat_gold", "base_color": [1.0, 0.78, 0.2, 1.0], "metallic": 1.0,
         "roughness": 0.25},
        {"id": "mat_wood", "base_color": [0.55, 0.35, 0.2, 1.0], "roughness": 0.85},
    ]
    return {"schema": "pacai.manifest/v1",
            "project": {"id": "stress-1000", "name": "Stress City 1000", "version": "1.0.0"},
            "assets": [], "materials": materials,
            "scenes": [{"id": "city", "name": "City", "nodes": nodes}], "main_scene": "city"}


def render() -> str:
    return json.dumps(manifest(), indent=1) + "\n"


if __name__ == "__main__":
    (Path(__file__).parent / "manifest.json").write_text(render())
