"""Independent geometry rebuild: read the written Godot ``.tscn`` and Unity scene YAML with
parsers of this file's own (plus PyYAML for each Unity document), rebuild every node's world
geometry — primitive corners, collider extents, light and camera aim — and compare it with
the manifest's world matrices (``fidelity_scene``) within 0.01 m and 0.5°.

Nothing here imports the writers' helpers: only ``write_engine`` to produce the files.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.manifest import Manifest
from tests.engines.fidelity_scene import (
    Points,
    apply,
    assert_same_direction,
    assert_same_points,
    fidelity_manifest,
    forward,
    primitive_points,
    rim_points,
    shape_points,
    world_matrices,
)
from tests.engines.scene_readers import MIRROR, NUMBER, Tscn, UnityScene


def _files(engine: str) -> Files:
    ctx = BuildContext(Manifest.model_validate(fidelity_manifest()), "fidelity", "high", True)
    return write_engine(engine, ctx)


def _nodes() -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = fidelity_manifest()["scenes"][0]["nodes"]
    return nodes


# --- Godot: a .tscn reader -------------------------------------------------------------------


def _numbers(text: str) -> list[float]:
    """The numbers inside a constructor literal: ``Vector3(1, 2, 3)`` → [1, 2, 3]."""
    return [float(x) for x in NUMBER.findall(text.split("(", 1)[1])]


def _godot_mesh_points(type_: str, props: dict[str, str]) -> Points:
    if type_ == "BoxMesh":
        return primitive_points({"primitive": "box", "size": _numbers(props["size"])})
    if type_ == "PlaneMesh":
        return primitive_points({"primitive": "plane", "size": _numbers(props["size"])})
    if type_ == "SphereMesh":
        assert float(props["height"]) == 2 * float(props["radius"])
        return primitive_points({"primitive": "sphere", "radius": float(props["radius"])})
    if type_ == "CylinderMesh":
        assert props["top_radius"] == props["bottom_radius"]
        return primitive_points({"primitive": "cylinder", "radius": float(props["top_radius"]),
                                 "height": float(props["height"])})
    assert type_ == "CapsuleMesh", type_
    return primitive_points({"primitive": "capsule", "radius": float(props["radius"]),
                             "height": float(props["height"])})


def _godot_shape_points(type_: str, props: dict[str, str]) -> tuple[Points, bool]:
    """(points, exact): a native shape's canonical points, or a convex hull's points."""
    if type_ == "BoxShape3D":
        return primitive_points({"primitive": "box", "size": _numbers(props["size"])}), True
    if type_ == "SphereShape3D":
        return primitive_points({"primitive": "sphere", "radius": float(props["radius"])}), True
    if type_ == "CapsuleShape3D":
        return primitive_points({"primitive": "capsule", "radius": float(props["radius"]),
                                 "height": float(props["height"])}), True
    if type_ == "CylinderShape3D":
        return rim_points(float(props["radius"]), float(props["height"]) / 2), True
    assert type_ == "ConvexPolygonShape3D", type_
    return np.array(_numbers(props["points"])).reshape(-1, 3), False


def _mesh_node(scene: Tscn, path: str) -> str:
    attrs = scene.nodes[path][0]
    return path if attrs.get("type") == "MeshInstance3D" else scene.kids(path)["Mesh"]


def test_godot_geometry_matches_the_manifest() -> None:
    files = _files("godot")
    text = files["scenes/main.tscn"]
    assert isinstance(text, bytes)
    scene = Tscn(text.decode())
    worlds = world_matrices(fidelity_manifest())
    checked = {"mesh": 0, "collider": 0, "aim": 0}
    for node in _nodes():
        path = scene.find(node["name"])
        world = worlds[node["id"]]
        if "mesh" in node:
            mesh_path = _mesh_node(scene, path)
            type_, props = scene.resource(mesh_path, "mesh")
            actual = apply(scene.world(mesh_path), _godot_mesh_points(type_, props))
            assert_same_points(apply(world, primitive_points(node["mesh"])), actual,
                               f"godot {node['id']} mesh")
            checked["mesh"] += 1
        if "collider" in node or "body" in node:
            shape_path = scene.kids(path)["CollisionShape"]
            type_, props = scene.resource(shape_path, "shape")
            points, exact = _godot_shape_points(type_, props)
            expected = apply(world, shape_points(node.get("collider"), node.get("mesh")))
            assert_same_points(expected, apply(scene.world(shape_path), points),
                               f"godot {node['id']} collider", both_ways=exact)
            checked["collider"] += 1
        if "light" in node or "camera" in node:
            feature = path if scene.nodes[path][0]["type"] != "Node3D" else None
            feature = feature or scene.kids(path)["Light" if "light" in node else "Camera"]
            m = scene.world(feature)
            assert_same_points(world[None, :3, 3], m[None, :3, 3], f"godot {node['id']} place")
            assert_same_direction(forward(world), m[:3, :3] @ np.array([0, 0, -1.0]),
                                  f"godot {node['id']} aim")
            checked["aim"] += 1
    assert checked == {"mesh": 12, "collider": 11, "aim": 5}


def test_godot_bodies_have_unit_scale() -> None:
    """Godot Physics resets a body's scale: bodies, areas and shapes are written rigid —
    their own transform and their world transform."""
    text = _files("godot")["scenes/main.tscn"]
    assert isinstance(text, bytes)
    scene = Tscn(text.decode())
    physics = ("StaticBody3D", "RigidBody3D", "AnimatableBody3D", "CharacterBody3D", "Area3D",
               "CollisionShape3D")
    bodies = [p for p, (a, _) in scene.nodes.items() if a.get("type") in physics]
    assert len(bodies) == 2 * 11
    for path in bodies:
        for m in (scene.local(path), scene.world(path)):
            basis = m[:3, :3]
            assert np.allclose(basis.T @ basis, np.eye(3), atol=1e-5), (path, basis)
            assert np.linalg.det(basis) > 0, path


def test_godot_lights_and_cameras_as_the_gltf_importer() -> None:
    text = _files("godot")["scenes/main.tscn"]
    assert isinstance(text, bytes)
    scene = Tscn(text.decode())
    lamp = scene.nodes[scene.find("Lamp")][1]
    assert lamp["omni_range"] == "4096" and lamp["omni_attenuation"] == "2"
    spot = scene.nodes[scene.find("Spot")][1]
    assert float(spot["spot_range"]) == 20
    # gltf_light.cpp: angle attenuation 0.2 / (1 - inner/outer) - 0.1 (inner 0.3, outer 0.6)
    assert float(spot["spot_angle_attenuation"]) == pytest.approx(0.3, abs=1e-6)
    assert float(spot["spot_angle"]) == pytest.approx(math.degrees(0.6), abs=1e-5)
    current = [p for p, (a, props) in scene.nodes.items() if props.get("current") == "true"]
    assert current == [scene.kids(scene.find("Main View")).get("Camera", scene.find("Main View"))]


# --- Unity: a scene-YAML reader --------------------------------------------------------------

CUBE, CYLINDER, SPHERE, CAPSULE, PLANE = 10202, 10206, 10207, 10208, 10209


# Unity's built-in meshes in their own (left-handed) frame; all are mirror-symmetric in X,
# so the same points serve in glTF's frame.
BUILTIN_POINTS = {
    CUBE: primitive_points({"primitive": "box", "size": [1, 1, 1]}),
    SPHERE: primitive_points({"primitive": "sphere", "radius": 0.5}),
    CYLINDER: rim_points(0.5, 1.0),
    CAPSULE: primitive_points({"primitive": "capsule", "radius": 0.5, "height": 2}),
    PLANE: primitive_points({"primitive": "plane", "size": [10, 10]}),
}


def _parts(scene: UnityScene, go: int, cls: int, helper: str) -> list[tuple[int, Points]]:
    """(built-in mesh, world matrix) of every MeshFilter (33) or MeshCollider (64) on ``go``,
    its ``helper`` child and that child's capsule parts."""
    def own(obj: int) -> list[tuple[int, Points]]:
        return [(int(c["m_Mesh"]["fileID"]), scene.world(obj))
                for c in scene.components(obj, cls)]

    out = own(go)
    if helper in scene.kids(go):
        holder = scene.kids(go)[helper]
        out += own(holder)
        for name, kid in scene.kids(holder).items():
            if name in ("Body", "Top", "Bottom", "Ball"):
                out += own(kid)
    return out


def _parts_points(parts: list[tuple[int, Points]], kind: str) -> Points:
    if kind == "capsule" and len(parts) > 1:
        # built from parts: the poles of the two cap spheres, the rims of the straight part
        (body,) = [m for k, m in parts if k == CYLINDER]
        caps = [m for k, m in parts if k == SPHERE]
        poles = [apply(m, np.array([[0, 0.5, 0], [0, -0.5, 0]])) for m in caps]
        top = max((p[0] for p in poles), key=lambda v: float(v[1]))
        bottom = min((p[1] for p in poles), key=lambda v: float(v[1]))
        return np.vstack([[top, bottom], apply(body, rim_points(0.5, 1.0))])
    (mesh, m), = parts
    return apply(m, BUILTIN_POINTS[mesh])


def _unity_mesh_points(scene: UnityScene, go: int, kind: str) -> Points:
    return _parts_points(_parts(scene, go, 33, "Mesh"), kind)


def _conformal(m: Points) -> bool:
    p = m[:3, :3].T @ m[:3, :3]
    return bool(np.allclose(p, np.eye(3) * p[0, 0], atol=1e-6))


def _unsheared(m: Points) -> bool:
    p = m[:3, :3].T @ m[:3, :3]
    return bool(np.allclose(p, np.diag(np.diag(p)), atol=1e-6))


def _center(c: dict[str, float]) -> Points:
    """A collider's ``m_Center`` (Unity frame) in glTF's frame."""
    return np.array([-c["x"], c["y"], c["z"]])


def _unity_collider_points(scene: UnityScene, go: int, kind: str) -> Points:
    """The collider's canonical points as PhysX builds them: native shapes only where their
    transform lets them be exact (a sphere or capsule needs a uniform scale, a box no shear);
    convex mesh colliders with the full matrix (Unity bakes a skewed mesh collider)."""
    m = scene.world(go)
    found = []
    for box in scene.components(go, 65):
        assert _unsheared(m), "a BoxCollider cannot shear"
        size = [box["m_Size"][k] for k in "xyz"]
        pts = primitive_points({"primitive": "box", "size": size}) + _center(box["m_Center"])
        found.append(apply(m, pts))
    for sphere in scene.components(go, 135):
        assert _conformal(m), "a SphereCollider cannot stretch"
        pts = primitive_points({"primitive": "sphere", "radius": sphere["m_Radius"]})
        found.append(apply(m, pts + _center(sphere["m_Center"])))
    for capsule in scene.components(go, 136):
        assert capsule["m_Direction"] == 1 and _conformal(m), "a CapsuleCollider cannot stretch"
        pts = primitive_points({"primitive": "capsule", "radius": capsule["m_Radius"],
                                "height": capsule["m_Height"]})
        found.append(apply(m, pts + _center(capsule["m_Center"])))
    hulls = _parts(scene, go, 64, "Collider")  # on the node, or a Collider child and parts
    mesh_child = scene.kids(go).get("Mesh")
    if mesh_child is not None:  # a cylinder's hull sits on its sized mesh child
        hulls += [(int(c["m_Mesh"]["fileID"]), scene.world(mesh_child))
                  for c in scene.components(mesh_child, 64)]
    convex = [c["m_Convex"] for obj in [go, *scene.kids(go).values()]
              for c in scene.components(obj, 64)]
    assert all(v == 1 for v in convex), convex
    if hulls:
        found.append(_parts_points(hulls, kind))
    assert len(found) == 1, found
    return found[0]


def _unity_scene() -> UnityScene:
    text = _files("unity")["Assets/Scenes/main.unity"]
    assert isinstance(text, bytes)
    return UnityScene(text.decode())


def test_unity_geometry_matches_the_manifest() -> None:
    scene = _unity_scene()
    worlds = world_matrices(fidelity_manifest())
    checked = {"mesh": 0, "collider": 0, "aim": 0}
    for node in _nodes():
        go = scene.find(node["name"])
        world = worlds[node["id"]]
        if "mesh" in node:
            actual = _unity_mesh_points(scene, go, node["mesh"]["primitive"])
            assert_same_points(apply(world, primitive_points(node["mesh"])), actual,
                               f"unity {node['id']} mesh")
            checked["mesh"] += 1
        if "collider" in node or "body" in node:
            expected = apply(world, shape_points(node.get("collider"), node.get("mesh")))
            kind = (node.get("collider") or {}).get("shape") or node["mesh"]["primitive"]
            assert_same_points(expected, _unity_collider_points(scene, go, kind),
                               f"unity {node['id']} collider")
            checked["collider"] += 1
        for feature in ("light", "camera"):
            if feature in node:
                child = scene.kids(go)[feature.title()]
                m = scene.world(child)
                assert_same_points(world[None, :3, 3], m[None, :3, 3], f"unity {node['id']}")
                # Unity lights and cameras look along their local +Z (in Unity's frame)
                aim = (MIRROR @ m @ MIRROR)[:3, :3] @ np.array([0, 0, 1.0])
                assert_same_direction(forward(world), MIRROR[:3, :3] @ aim,
                                      f"unity {node['id']} aim")
                checked["aim"] += 1
    assert checked == {"mesh": 12, "collider": 11, "aim": 5}


@pytest.mark.parametrize("engine", ["godot", "unity"])
def test_baked_projects_are_deterministic(engine: str) -> None:
    assert _files(engine) == _files(engine)


# --- instancing: MultiMesh instances read back -------------------------------------------------


def _forest_manifest() -> dict[str, Any]:
    """The fidelity scene plus two groups of 20 plain props: one under a rotated, unevenly
    scaled group, one under a sheared static body whose scale Godot bakes into its children."""
    manifest = fidelity_manifest()
    nodes = manifest["scenes"][0]["nodes"]
    nodes.append({"id": "grove", "transform": {"translation": [3, 0, -2],
                                               "rotation": [0, 0.3826834, 0, 0.9238795],
                                               "scale": [2, 1, 0.5]}})
    nodes.append({"id": "plinth", "body": "static", "mesh": {"primitive": "box"},
                  "transform": {"translation": [-4, 1, 0], "rotation": [0.2588190, 0, 0, 0.9659258],
                                "scale": [3, 0.5, 1.5]}})
    for i in range(40):
        angle = i * 0.37
        nodes.append({
            "id": f"tree_{i:02d}", "parent": "grove" if i < 20 else "plinth",
            "mesh": {"primitive": "cylinder", "radius": 0.3, "height": 2.0},
            "transform": {"translation": [i % 5, 0.1 * i, i // 5],
                          "rotation": [0, math.sin(angle / 2), 0, math.cos(angle / 2)],
                          "scale": [1 + 0.05 * i, 1, 1]}})
    return manifest


def test_godot_multimesh_instances_land_where_the_manifest_says() -> None:
    manifest = _forest_manifest()
    ctx = BuildContext(Manifest.model_validate(manifest), "fidelity", "high", True)
    text = write_engine("godot", ctx)["scenes/main.tscn"]
    assert isinstance(text, bytes)
    scene = Tscn(text.decode())
    worlds = world_matrices(manifest)
    nodes = {n["id"]: n for n in manifest["scenes"][0]["nodes"]}
    seen: list[str] = []
    for path, (attrs, props) in scene.nodes.items():
        if attrs.get("type") != "MultiMeshInstance3D":
            continue
        ids = re.findall(r'"([^"]+)"', props["metadata/pacai_ids"])
        _, mm = scene.resource(path, "multimesh")
        assert (mm["transform_format"], int(mm["instance_count"])) == ("1", len(ids))
        buffer = np.array(_numbers(mm["buffer"])).reshape(-1, 3, 4)  # 12 floats an instance
        assert len(buffer) == len(ids)
        mesh_type, mesh_props = scene.sub[re.findall(r'"([^"]+)"', mm["mesh"])[0]]
        for node_id, rows in zip(ids, buffer, strict=True):
            local = np.eye(4)
            local[:3, :] = rows
            actual = apply(scene.world(path) @ local, _godot_mesh_points(mesh_type, mesh_props))
            expected = apply(worlds[node_id], primitive_points(nodes[node_id]["mesh"]))
            assert_same_points(expected, actual, f"godot instance {node_id}")
            seen.append(node_id)
    assert sorted(seen) == [f"tree_{i:02d}" for i in range(40)]
    # instanced nodes are not also written as nodes of their own
    assert not [p for p, (a, _) in scene.nodes.items() if a["name"].startswith("tree_")]


def test_godot_instancing_off_keeps_every_node() -> None:
    manifest = _forest_manifest()
    manifest["project"]["instancing"] = False
    ctx = BuildContext(Manifest.model_validate(manifest), "fidelity", "high", True)
    text = write_engine("godot", ctx)["scenes/main.tscn"]
    assert isinstance(text, bytes)
    assert b"MultiMesh" not in text
    assert len(re.findall(rb'\[node name="tree_\d\d"', text)) == 40
