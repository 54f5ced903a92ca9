"""A scene with every placement case an engine writer can get wrong, and the manifest's own
truth about it (world matrices and canonical points), computed here with numpy and nothing
from the writers.

Cases: rotated children of non-uniformly scaled parents (exact TRS and sheared), negative
scale, bodies under uniformly and non-uniformly scaled groups (one sheared), collider-only
nodes, box/sphere/capsule colliders, capsules and cylinders of odd proportions, spot/point/
directional lights, two cameras (the second one nested), transparent and emissive materials.
``fidelity_manifest_with_extras`` adds more of these cases, an orthographic camera and model
placeholders (one sheared).
Every node has a unique name, so a reader can find it by name in any engine's files.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

Points = NDArray[np.float64]


def _q(axis: tuple[float, float, float], degrees: float) -> list[float]:
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    half = math.radians(degrees) / 2
    return [*(a * math.sin(half)).tolist(), math.cos(half)]


def _t(translation: tuple[float, float, float] = (0, 0, 0),
       rotation: list[float] | None = None,
       scale: tuple[float, float, float] = (1, 1, 1)) -> dict[str, Any]:
    return {"translation": list(translation), "rotation": rotation or [0, 0, 0, 1],
            "scale": list(scale)}


def fidelity_manifest() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "ground", "name": "Ground", "transform": _t((0, -0.1, 0)),
         "body": "static", "collider": {"shape": "box", "size": [40, 0.2, 40]}},
        # a 0.5 m x 12 m cylinder turned 90° about Z under a (2, 1, 1) group
        {"id": "stretch", "name": "Stretch", "transform": _t((1, 2, -3), scale=(2, 1, 1))},
        {"id": "beam", "name": "Beam", "parent": "stretch",
         "transform": _t((0.5, 0, 0), _q((0, 0, 1), 90)),
         "mesh": {"primitive": "cylinder", "radius": 0.25, "height": 12}, "material": "glass"},
        # turned 45°: the world matrix shears
        {"id": "tilted", "name": "Tilted", "parent": "stretch",
         "transform": _t((0, 1, 0), _q((0, 0, 1), 45)),
         "mesh": {"primitive": "box", "size": [1, 0.5, 0.25]}, "material": "lava"},
        {"id": "mirror", "name": "Mirror", "transform": _t((-4, 1, 2), _q((0, 1, 0), 30),
                                                         (-1, 1, 1.5)),
         "mesh": {"primitive": "box", "size": [1, 2, 0.5]}, "material": "gold"},
        {"id": "plane", "name": "Plane", "transform": _t((0, 0.01, 6), _q((1, 0, 0), -10)),
         "mesh": {"primitive": "plane", "size": [3, 5]}},
        # bodies under scaled groups
        {"id": "big", "name": "Big", "transform": _t((5, 0, 5), _q((0, 1, 0), 20), (2, 2, 2))},
        {"id": "crate", "name": "Crate", "parent": "big", "transform": _t((0, 0.5, 0)),
         "mesh": {"primitive": "box", "size": [1, 1, 1]}, "body": "rigid",
         "collider": {"shape": "box"}},
        {"id": "ball", "name": "Ball", "parent": "big", "transform": _t((1, 0.5, 0)),
         "mesh": {"primitive": "sphere", "radius": 0.3}, "body": "rigid",
         "collider": {"shape": "sphere"}},
        {"id": "tall", "name": "Tall", "transform": _t((-6, 0, -6), _q((0, 1, 0), -35),
                                                     (1, 3, 1))},
        {"id": "pillar", "name": "Pillar", "parent": "tall", "transform": _t((0, 0.5, 0)),
         "mesh": {"primitive": "cylinder", "radius": 0.4, "height": 1}, "body": "static"},
        {"id": "guard", "name": "Guard", "parent": "tall", "transform": _t((1, 0.6, 0)),
         "mesh": {"primitive": "capsule", "radius": 0.3, "height": 1.5}, "body": "kinematic",
         "collider": {"shape": "capsule"}},
        {"id": "skew_box", "name": "Skew Box", "parent": "stretch",
         "transform": _t((0, -1, 1), _q((0, 0, 1), 30)),
         "mesh": {"primitive": "box", "size": [0.5, 0.5, 0.5]}, "body": "static",
         "collider": {"shape": "box"}},
        {"id": "buoy", "name": "Buoy", "parent": "stretch", "transform": _t((-1, 0, 2)),
         "mesh": {"primitive": "sphere", "radius": 0.5}, "body": "static",
         "collider": {"shape": "sphere"}},
        {"id": "flip", "name": "Flip", "transform": _t((3, 0.5, -4), _q((0, 1, 0), 40),
                                                     (-1, 1, 2)),
         "mesh": {"primitive": "box", "size": [1, 1, 0.5]}, "body": "static",
         "collider": {"shape": "box"}},
        # collider-only nodes and a trigger zone under a scaled group
        {"id": "wall", "name": "Wall", "transform": _t((0, 1, -10), _q((0, 1, 0), 15)),
         "collider": {"shape": "box", "size": [8, 2, 0.3]}},
        {"id": "zone", "name": "Zone", "parent": "tall", "transform": _t((0, 1, 2)),
         "collider": {"shape": "box", "size": [2, 1, 2]},
         "components": [{"type": "trigger_zone", "params": {"event": "enter"}}]},
        {"id": "player", "name": "Player", "transform": _t((2, 0.9, 0)),
         "mesh": {"primitive": "capsule", "radius": 0.35, "height": 1.7},
         "body": "character", "collider": {"shape": "capsule"},
         "components": [{"type": "player_controller", "params": {"speed": 5}}]},
        # lights and cameras
        {"id": "sun", "name": "Sun", "transform": _t(rotation=_q((1, 0.2, 0), -50)),
         "light": {"type": "directional", "intensity": 3}},
        {"id": "lamp", "name": "Lamp", "parent": "stretch", "transform": _t((0, 3, 0)),
         "light": {"type": "point", "intensity": 20}},
        {"id": "spot", "name": "Spot", "transform": _t((0, 5, 3), _q((1, 0, 0), -60)),
         "light": {"type": "spot", "intensity": 50, "range": 20, "inner_cone": 0.3,
                   "outer_cone": 0.6}},
        {"id": "camera", "name": "Main View", "transform": _t((0, 3, 12), _q((1, 0, 0), -12)),
         "camera": {"yfov": 0.9}},
        {"id": "rig", "name": "Rig", "transform": _t((8, 2, 0), _q((0, 1, 0), 90), (1, 2, 1))},
        {"id": "camera2", "name": "Side View", "parent": "rig",
         "transform": _t((0, 1, 0), _q((1, 0, 0), -20)), "camera": {"yfov": 0.7}},
    ]
    return {
        "schema": "pacai.manifest/v1",
        "project": {"id": "fidelity", "name": "Fidelity", "version": "1.0.0"},
        "assets": [],
        "materials": [
            {"id": "glass", "base_color": [0.6, 0.8, 1.0, 0.3], "roughness": 0.05},
            {"id": "lava", "base_color": [0.2, 0.05, 0.0, 1.0], "emissive": [1.0, 0.3, 0.0]},
            {"id": "gold", "base_color": [1.0, 0.77, 0.34, 1.0], "metallic": 1.0,
             "roughness": 0.3},
        ],
        "scenes": [{"id": "main", "name": "Main", "nodes": nodes}],
        "main_scene": "main",
    }


def fidelity_manifest_with_extras() -> dict[str, Any]:
    """``fidelity_manifest`` plus ``_more_nodes`` and the model they place (the Unreal
    rebuild test uses this superset)."""
    manifest = fidelity_manifest()
    manifest["scenes"][0]["nodes"] += _more_nodes()
    # not shipped with include_assets false: a placeholder from bounds that are off-centre
    manifest["assets"] = [{"id": "mdl_statue", "type": "model", "uri": "statue.glb",
                           "bounds": {"min": [-0.5, 0, -0.25], "max": [0.5, 2.5, 0.75]}}]
    return manifest


def _more_nodes() -> list[dict[str, Any]]:
    """More of the same cases: a second stretched group whose children are a static body
    with a box collider under shear, a simulated body under shear, a light under a sheared
    parent, sheared capsules and spheres, model placeholders (one sheared); a mirrored group
    with a simulated child and a plane; collider-only box/sphere/capsule nodes with rigid and
    kinematic bodies; a character capsule under a uniformly scaled group; an orthographic
    camera."""
    return [
        {"id": "wide", "name": "Wide", "transform": _t((1, 0, -2), scale=(2, 1, 1))},
        # 90° about Z under (2, 1, 1): no shear, the scale lands on the child's Y axis
        {"id": "wide_post", "name": "Wide Post", "parent": "wide", "material": "gold",
         "mesh": {"primitive": "cylinder", "radius": 0.25, "height": 12},
         "transform": _t((0, 6, 0), _q((0, 0, 1), 90))},
        {"id": "wide_box", "name": "Wide Box", "parent": "wide", "material": "glass",
         "mesh": {"primitive": "box", "size": [1, 2, 0.5]}, "body": "static",
         "collider": {"shape": "box", "size": [1, 2, 0.5]},
         "transform": _t((1, 1, 0), _q((0, 0, 1), 30))},
        {"id": "wide_crate", "name": "Wide Crate", "parent": "wide", "body": "rigid",
         "mesh": {"primitive": "box", "size": [0.6, 0.6, 0.6]},
         "collider": {"shape": "box", "size": [0.6, 0.6, 0.6]},
         "transform": _t((2, 0.3, 1), _q((0, 0, 1), 60))},
        {"id": "wide_spot", "name": "Wide Spot", "parent": "wide_box",
         "light": {"type": "spot", "range": 9, "inner_cone": 0.2, "outer_cone": 0.6},
         "transform": _t((0, 1, 0), _q((1, 0, 0), -60))},
        {"id": "wide_capsule", "name": "Wide Capsule", "parent": "wide",
         "mesh": {"primitive": "capsule", "radius": 0.3, "height": 1.6}, "material": "lava",
         "transform": _t((-1, 1, 1), _q((0, 0, 1), 45))},
        {"id": "wide_ball", "name": "Wide Ball", "parent": "wide",
         "mesh": {"primitive": "sphere", "radius": 0.5},
         "transform": _t((0, 3, 2), _q((0, 1, 0), 20))},
        {"id": "wide_lamp", "name": "Wide Lamp", "parent": "wide",
         "light": {"type": "point", "range": 6, "color": [1, 0.8, 0.6]},
         "transform": _t((0.5, 2, 0), _q((0, 0, 1), 30))},
        {"id": "statue", "name": "Statue", "model": "mdl_statue", "body": "static",
         "parent": "wide", "transform": _t((0, 0, -3))},
        {"id": "statue_turned", "name": "Statue Turned", "model": "mdl_statue",
         "body": "static", "parent": "wide", "transform": _t((-2, 0, -3), _q((0, 1, 0), 30))},
        {"id": "mirror_group", "name": "Mirror Group",
         "transform": _t((-4, 0, 3), _q((0, 1, 0), 25), (-1, 1.5, 1))},
        {"id": "mirror_crate", "name": "Mirror Crate", "parent": "mirror_group",
         "body": "rigid", "mesh": {"primitive": "box", "size": [1, 1, 2]}, "material": "gold",
         "collider": {"shape": "box", "size": [1, 1, 2]}, "transform": _t((1, 0.5, 0))},
        {"id": "mirror_floor", "name": "Mirror Floor", "parent": "mirror_group",
         "mesh": {"primitive": "plane", "size": [3, 2]}, "transform": _t((0, 0, 1))},
        {"id": "barrier", "name": "Barrier", "body": "static",
         "collider": {"shape": "box", "size": [4, 3, 0.5]},
         "transform": _t((0, 1.5, -6), _q((0, 1, 0), 35))},
        {"id": "bumper", "name": "Bumper", "body": "rigid",
         "collider": {"shape": "sphere", "radius": 0.7}, "transform": _t((3, 1, 3))},
        {"id": "pole", "name": "Pole", "body": "kinematic",
         "collider": {"shape": "capsule", "radius": 0.2, "height": 2.5},
         "transform": _t((5, 1.25, 0), _q((1, 0, 0), 15))},
        {"id": "crowd", "name": "Crowd", "transform": _t((2, 0, 4), scale=(1.5, 1.5, 1.5))},
        {"id": "hero", "name": "Hero", "parent": "crowd", "body": "character",
         "mesh": {"primitive": "capsule", "radius": 0.35, "height": 1.7},
         "collider": {"shape": "capsule", "radius": 0.35, "height": 1.7},
         "transform": _t((0, 0.85, 0), _q((0, 1, 0), 40))},
        {"id": "top_camera", "name": "Top View",
         "camera": {"projection": "orthographic", "ymag": 8},
         "transform": _t((0, 20, 0), _q((1, 0, 0), -90))},
    ]


# --- the manifest's truth ------------------------------------------------------------------


def trs_matrix(transform: dict[str, Any]) -> Points:
    """4x4 matrix of a manifest transform (glTF: T x R x S)."""
    x, y, z, w = transform.get("rotation", [0, 0, 0, 1])
    rot = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    m = np.eye(4)
    m[:3, :3] = rot @ np.diag(transform.get("scale", [1, 1, 1]))
    m[:3, 3] = transform.get("translation", [0, 0, 0])
    return m


def world_matrices(manifest: dict[str, Any]) -> dict[str, Points]:
    nodes = {n["id"]: n for n in manifest["scenes"][0]["nodes"]}
    out: dict[str, Points] = {}

    def world(node_id: str) -> Points:
        if node_id not in out:
            node = nodes[node_id]
            local = trs_matrix(node.get("transform", {}))
            parent = node.get("parent")
            out[node_id] = world(parent) @ local if parent else local
        return out[node_id]

    for node_id in nodes:
        world(node_id)
    return out


def primitive_points(mesh: dict[str, Any]) -> Points:
    """Canonical points of a primitive in its own frame: box/plane corners, a sphere's six
    poles, a cylinder's rim points at both ends, a capsule's poles and the rim points where
    its straight part ends."""
    kind = mesh["primitive"]
    if kind == "box":
        sx, sy, sz = (v / 2 for v in mesh.get("size", [1, 1, 1]))
        return np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)])
    if kind == "plane":
        sx, sz = (v / 2 for v in mesh.get("size", [1, 1]))
        return np.array([[x, 0, z] for x in (-sx, sx) for z in (-sz, sz)])
    r = mesh.get("radius", 0.5)
    if kind == "sphere":
        return np.array([[r, 0, 0], [-r, 0, 0], [0, r, 0], [0, -r, 0], [0, 0, r], [0, 0, -r]])
    h = mesh.get("height", 1.0)
    if kind == "cylinder":
        return rim_points(r, h / 2)
    h = max(h, 2 * r)
    return np.vstack([[[0, h / 2, 0], [0, -h / 2, 0]], rim_points(r, h / 2 - r)])


def rim_points(r: float, half: float) -> Points:
    return np.array([[x, y, z] for y in (-half, half)
                     for x, z in ((r, 0), (-r, 0), (0, r), (0, -r))])


def shape_points(collider: dict[str, Any] | None, mesh: dict[str, Any] | None) -> Points:
    """Canonical points of a node's collider as the manifest defines it (§10.2): a given
    size/radius/height, else the mesh primitive's; a body without a collider collides
    with its primitive's shape."""
    if collider is None:
        assert mesh is not None
        return primitive_points(mesh)
    shape = collider["shape"]
    if shape == "box":
        size = collider.get("size")
        if size is None:
            assert mesh is not None and mesh["primitive"] == "box"
            size = mesh.get("size", [1, 1, 1])
        pts = primitive_points({"primitive": "box", "size": size})
    elif shape == "sphere":
        radius = collider.get("radius") or (mesh or {}).get("radius", 0.5)
        pts = primitive_points({"primitive": "sphere", "radius": radius})
    else:
        radius = collider.get("radius") or (mesh or {}).get("radius", 0.5)
        height = collider.get("height") or (mesh or {}).get("height", 2.0)
        pts = primitive_points({"primitive": "capsule", "radius": radius, "height": height})
    return pts


def apply(m: Points, pts: Points) -> Points:
    return (m[:3, :3] @ pts.T).T + m[:3, 3]


def forward(m: Points) -> Points:
    """Where a light or camera looks: glTF's local -Z, in the world."""
    v = m[:3, :3] @ np.array([0.0, 0.0, -1.0])
    return v / np.linalg.norm(v)


def assert_same_points(expected: Points, actual: Points, what: str, tol: float = 0.01,
                       *, both_ways: bool = True) -> None:
    """Every expected point within ``tol`` metres of an actual one (and, ``both_ways``,
    every actual point within ``tol`` of an expected one)."""
    def worst(a: Points, b: Points) -> float:
        d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
        return float(d.min(axis=1).max())

    off = worst(expected, actual)
    assert off <= tol, f"{what}: a manifest point is {off:.4f} m from the engine's"
    if both_ways:
        back = worst(actual, expected)
        assert back <= tol, f"{what}: an engine point is {back:.4f} m from the manifest's"


def assert_same_direction(expected: Points, actual: Points, what: str,
                          tol_degrees: float = 0.5) -> None:
    a = actual / np.linalg.norm(actual)
    angle = math.degrees(math.acos(max(-1.0, min(1.0, float(expected @ a)))))
    assert angle <= tol_degrees, f"{what}: aims {angle:.3f}° off"


def instanced_manifest(copies: int = 16) -> dict[str, Any]:
    """Groups of plain props, ``copies`` each (engines/instancing.py groups them): boxes under
    a turned, uniformly scaled parent, each turned and scaled its own way (mirrored too);
    capsules at the root; cylinders under a (1, 2, 3) parent, upright (world TRS exact); and
    boxes turned under that parent (sheared world matrices, which no UE instance transform
    holds); a model placed 16 times under the turned parent. Plus a lone node sharing a
    group's name, so labels must stay unique."""
    nodes: list[dict[str, Any]] = [
        {"id": "grove", "name": "Grove", "transform": _t((3, 1, -2), _q((1, 1, 0), 35),
                                                         (1.5, 1.5, 1.5))},
        {"id": "stretched", "name": "Stretched", "transform": _t((-5, 0, 4), scale=(1, 2, 3))},
        {"id": "lone", "name": "BoxInstances", "mesh": {"primitive": "sphere"}}]
    for i in range(copies):
        turn = _q((i % 3, 1, (i + 1) % 2), 17 * i)
        nodes.append({"id": f"box{i}", "name": "Tree", "parent": "grove", "material": "bark",
                      "mesh": {"primitive": "box", "size": [0.5, 3, 0.5]},
                      "transform": _t((i * 1.5, 0, -i), turn,
                                      (1 + i / 10, 1, -1 if i % 4 == 0 else 1))})
        nodes.append({"id": f"cap{i}", "name": f"Capsule {i}", "material": "bark",
                      "mesh": {"primitive": "capsule", "radius": 0.3, "height": 1.6},
                      "transform": _t((i, 0.8, 10), _q((1, 0, 0), 5 * i), (2, 2, 2))})
        nodes.append({"id": f"cyl{i}", "name": f"Post {i}", "parent": "stretched",
                      "mesh": {"primitive": "cylinder", "radius": 0.1, "height": 1},
                      "transform": _t((i / 4, 0.5, 0), _q((0, 1, 0), 90 * (i % 4)))})
        nodes.append({"id": f"shr{i}", "name": f"Shear {i}", "parent": "stretched",
                      "mesh": {"primitive": "box"},
                      "transform": _t((0, i / 4, 1), _q((0, 0, 1), 30))})
        # a model repeated (placeholder boxes from off-centre bounds when assets stay out)
        nodes.append({"id": f"mdl{i}", "name": "Statue", "parent": "grove", "model": "statue",
                      "transform": _t((0, i, 2), _q((0, 1, 0), 23 * i), (1, 1 + i / 8, 1))})
    return {"schema": "pacai.manifest/v1", "project": {"id": "grove", "name": "Grove"},
            "assets": [{"id": "statue", "type": "model", "uri": "statue.glb",
                        "bounds": {"min": [-0.5, 0, -0.25], "max": [0.5, 2.5, 0.75]}}],
            "materials": [{"id": "bark", "base_color": [0.4, 0.25, 0.1, 1]}],
            "scenes": [{"id": "main", "nodes": nodes}], "main_scene": "main"}
