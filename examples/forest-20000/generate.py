"""Writes a 20,000-node forest manifest: repeated props that every engine instances.

20 stands of 998 props (trunks, crowns and rocks, each turned and sized a little
differently), plus ground, sun, camera, player and spawn point: 20,000 nodes. Props of a
stand share a parent, a primitive and a material, so each stand becomes three instanced
meshes (engines/instancing.py). Deterministic: the same file every run.

    python examples/forest-20000/generate.py OUT.json
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

STANDS = 20
PROPS = 998  # per stand: 20 * 998 props + 20 stands + 5 others + 15 boulders = 20,000


def _yaw(rng: random.Random) -> list[float]:
    half = rng.uniform(0, math.pi)
    return [0.0, round(math.sin(half), 7), 0.0, round(math.cos(half), 7)]


def stand(s: int, rng: random.Random) -> list[dict[str, Any]]:
    sid = f"stand_{s:02d}"
    x, z = (s % 5) * 60.0 - 120.0, (s // 5) * 60.0 - 90.0
    nodes: list[dict[str, Any]] = [{"id": sid, "name": f"Stand {s}",
                                    "transform": {"translation": [x, 0.0, z]}}]
    for i in range(PROPS):
        px, pz = round(rng.uniform(-28, 28), 3), round(rng.uniform(-28, 28), 3)
        size = round(rng.uniform(0.8, 1.3), 3)
        kind = i % 3
        if kind == 0:
            node = {"mesh": {"primitive": "cylinder", "radius": 0.25, "height": 4.0},
                    "material": "bark", "transform": {"translation": [px, 2.0 * size, pz],
                                                      "rotation": _yaw(rng),
                                                      "scale": [size, size, size]}}
        elif kind == 1:
            node = {"mesh": {"primitive": "sphere", "radius": 1.6}, "material": "leaves",
                    "transform": {"translation": [px, 5.0 * size, pz],
                                  "scale": [size, size * 1.2, size]}}
        else:
            node = {"mesh": {"primitive": "box", "size": [0.8, 0.5, 0.6]}, "material": "stone",
                    "transform": {"translation": [px, 0.25, pz], "rotation": _yaw(rng),
                                  "scale": [size, size, size]}}
        nodes.append({"id": f"{sid}_{i:03d}", "parent": sid, **node})
    return nodes


def manifest() -> dict[str, Any]:
    rng = random.Random(20_000)
    nodes: list[dict[str, Any]] = [
        {"id": "ground", "name": "Ground", "mesh": {"primitive": "plane", "size": [320, 260]},
         "material": "grass", "body": "static",
         "collider": {"shape": "box", "size": [320, 0.1, 260]}},
        {"id": "sun", "name": "Sun", "light": {"type": "directional", "intensity": 3.0},
         "transform": {"rotation": [-0.3535534, 0.3535534, 0.1464466, 0.8535534]}},
        {"id": "camera", "name": "Camera", "camera": {"yfov": 0.9, "zfar": 2000},
         "transform": {"translation": [0, 60, 180], "rotation": [-0.1736482, 0, 0, 0.9848078]}},
        {"id": "player", "name": "Player", "mesh": {"primitive": "capsule"}, "body": "character",
         "collider": {"shape": "capsule"}, "material": "stone",
         "transform": {"translation": [0, 1, 150]},
         "components": [{"type": "player_controller"}]},
        {"id": "spawn", "name": "Spawn", "transform": {"translation": [0, 1, 150]},
         "components": [{"type": "spawn_point"}]},
    ]
    for s in range(STANDS):
        nodes += stand(s, rng)
    for i in range(15):  # a few lone boulders: under the threshold, so separate nodes
        nodes.append({"id": f"boulder_{i:02d}", "name": f"Boulder {i}",
                      "mesh": {"primitive": "sphere", "radius": 2.0}, "material": "stone",
                      "body": "static", "collider": {"shape": "sphere", "radius": 2.0},
                      "transform": {"translation": [i * 20.0 - 140.0, 1.0, 120.0]}})
    materials = [
        {"id": "bark", "base_color": [0.35, 0.22, 0.12, 1.0], "roughness": 0.9},
        {"id": "leaves", "base_color": [0.18, 0.45, 0.16, 1.0], "roughness": 0.8},
        {"id": "stone", "base_color": [0.5, 0.5, 0.52, 1.0], "roughness": 0.95},
        {"id": "grass", "base_color": [0.25, 0.5, 0.2, 1.0], "roughness": 1.0},
    ]
    return {"schema": "pacai.manifest/v1",
            "project": {"id": "forest-20000", "name": "Forest (20,000 nodes)"},
            "assets": [], "materials": materials,
            "scenes": [{"id": "forest", "name": "Forest", "nodes": nodes}],
            "main_scene": "forest"}


def render() -> str:
    return json.dumps(manifest(), separators=(",", ":")) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("forest-20000.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render())
