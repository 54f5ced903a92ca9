"""Unreal placement fidelity, rebuilt independently of the writer.

From the files the UE writer produced — ``SourceArt/scene.json`` run through the bootstrap's
own ``plan`` (what the editor spawns) and the generated ``.glb`` meshes the bootstrap imports —
this test rebuilds every node's world geometry with its own small math (numpy) and compares it
with the manifest's world matrices, computed here from the manifest alone. Conventions used,
with their sources:

- glTF → UE axes and units (Epic's GLTFCore ``ConvertVec3``; Interchange's glTF import scales
  metres to centimetres): ``(x, y, z) m → (x, z, y) * 100 cm``;
- ``FRotationMatrix(FRotator)`` rows are the actor's X, Y, Z axes in the world (RotationMatrix.h);
- the engine's basic shapes are 100 cm across and centred; the Cylinder's axis is local Z; the
  Plane lies in local XY (Engine/Content/BasicShapes);
- ``UBoxComponent`` extents are half sizes; ``UCapsuleComponent``'s half height includes the
  hemispheres and runs along local Z (CapsuleComponent.h).

Every point the engine would draw or collide with must lie on the manifest primitive's surface
and reach its extents within 0.01 m in the world; lights and cameras aim within 0.5°.
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pacai_export.engines import unreal as unreal_writer
from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.engines.instancing import (
    CONSTRUCTS,
    MODEL_CONSTRUCTS,
    UE_SHEARED,
    instancing_report,
)
from pacai_export.manifest import Manifest, Node
from tests.engines.fidelity_scene import fidelity_manifest_with_extras, instanced_manifest
from tests.engines.ue_frames import P, manifest_worlds, rotator_rows
from tests.helpers import validate_gltf

TOLERANCE_M = 0.01
TOLERANCE_DEG = 0.5


# --- the manifest's truth -----------------------------------------------------------------------


def sheared(m: np.ndarray) -> bool:
    cols = m[:3, :3].T
    gram = cols @ cols.T
    return bool(np.abs(gram - np.diag(np.diag(gram))).max() > 1e-9)


# --- what Unreal would build -----------------------------------------------------------------


def actor_to_gltf(action: dict[str, Any], local_cm: np.ndarray) -> np.ndarray:
    """Points in an actor's local frame (UE, cm) → world points in glTF's frame (m)."""
    rows = rotator_rows(*action["rotation"])
    world_cm = np.asarray(action["location"]) + (local_cm * np.asarray(action["scale"])) @ rows
    return np.asarray(world_cm @ P.T / 100.0)


def glb_positions(data: bytes) -> np.ndarray:
    """POSITION of every mesh primitive of a .glb, through its nodes' matrices (none here)."""
    magic, _version, _length = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67
    json_len, _ = struct.unpack_from("<II", data, 12)
    gltf = json.loads(data[20:20 + json_len])
    bin_start = 20 + json_len + 8
    points = []
    for node in gltf["nodes"]:
        assert not {"matrix", "translation", "rotation", "scale"} & set(node), node
        for primitive in gltf["meshes"][node["mesh"]]["primitives"]:
            accessor = gltf["accessors"][primitive["attributes"]["POSITION"]]
            view = gltf["bufferViews"][accessor["bufferView"]]
            start = bin_start + view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
            stride = view.get("byteStride", 12)
            for i in range(accessor["count"]):
                points.append(struct.unpack_from("<3f", data, start + i * stride))
    return np.array(points, dtype=float)


def imported_mesh_cm(files: Files, path: str) -> np.ndarray:
    """A generated .glb as Interchange imports it: glTF metres → UE local centimetres."""
    content = files[path]
    data = content if isinstance(content, bytes) else Path(content).read_bytes()
    return np.asarray(glb_positions(data) @ P.T * 100.0)


def _ring(radius: float, z: float) -> list[tuple[float, float, float]]:
    return [(radius * math.cos(math.radians(a)), radius * math.sin(math.radians(a)), z)
            for a in range(0, 360, 45)]


_D = 50.0 / math.sqrt(3.0)
BASIC_SHAPES = {  # sample points of the engine's basic shapes, local cm
    "/Engine/BasicShapes/Cube": [(x, y, z) for x in (-50, 50) for y in (-50, 50)
                                 for z in (-50, 50)],
    "/Engine/BasicShapes/Sphere": [(50, 0, 0), (-50, 0, 0), (0, 50, 0), (0, -50, 0), (0, 0, 50),
                                   (0, 0, -50)] + [(x, y, z) for x in (-_D, _D)
                                                   for y in (-_D, _D) for z in (-_D, _D)],
    "/Engine/BasicShapes/Cylinder": _ring(50, 50) + _ring(50, -50),
    "/Engine/BasicShapes/Plane": [(x, y, 0) for x in (-50, 50) for y in (-50, 50)],
}


def collider_points_cm(action: dict[str, Any]) -> np.ndarray:
    """Sample points of a box/sphere/capsule collision component, local cm."""
    if action["shape"] == "box":
        ex, ey, ez = action["box_extent_cm"]
        return np.array([(x, y, z) for x in (-ex, ex) for y in (-ey, ey) for z in (-ez, ez)])
    r = action["radius_cm"]
    if action["shape"] == "sphere":
        d = r / math.sqrt(3.0)
        return np.array([(r, 0, 0), (-r, 0, 0), (0, r, 0), (0, -r, 0), (0, 0, r), (0, 0, -r)]
                        + [(x, y, z) for x in (-d, d) for y in (-d, d) for z in (-d, d)])
    hh = action["half_height_cm"]
    return np.array([(0, 0, hh), (0, 0, -hh), *_ring(r, hh - r), *_ring(r, r - hh)])


# --- the manifest's primitives, in the node's local frame -------------------------------------


def boundary_residual(kind: str, dims: dict[str, Any], u: np.ndarray) -> np.ndarray:
    """How far (local metres) each point is from the primitive's surface."""
    if kind == "box":
        half = np.asarray(dims["size"]) / 2
        return np.asarray(np.abs((np.abs(u) - half).max(axis=1)))
    if kind == "sphere":
        return np.asarray(np.abs(np.linalg.norm(u, axis=1) - dims["radius"]))
    radial = np.hypot(u[:, 0], u[:, 2])
    if kind == "cylinder":
        return np.asarray(np.abs(np.maximum(radial - dims["radius"],
                                            np.abs(u[:, 1]) - dims["height"] / 2)))
    if kind == "plane":
        half = np.asarray(dims["size"]) / 2
        outside = np.maximum(np.abs(u[:, [0, 2]]) - half, 0).max(axis=1)
        return np.asarray(np.abs(u[:, 1]) + outside)
    straight = max(dims["height"] / 2 - dims["radius"], 0.0)
    along = np.clip(u[:, 1], -straight, straight)
    dist = np.sqrt(u[:, 0] ** 2 + (u[:, 1] - along) ** 2 + u[:, 2] ** 2)
    return np.asarray(np.abs(dist - dims["radius"]))


def half_extent(kind: str, dims: dict[str, Any]) -> np.ndarray:
    if kind == "box":
        return np.asarray(dims["size"]) / 2
    if kind == "plane":
        return np.array([dims["size"][0] / 2, 0.0, dims["size"][1] / 2])
    if kind == "sphere":
        return np.full(3, dims["radius"])
    r = dims["radius"]
    return np.array([r, max(dims["height"] / 2, r), r])


def check_geometry(label: str, world: np.ndarray, kind: str, dims: dict[str, Any],
                   points: np.ndarray, center: tuple[float, ...] = (0.0, 0.0, 0.0)) -> float:
    """Points (glTF world, m) lie on the primitive of ``world`` and reach its extents; the
    worst world distance bound in metres."""
    linear = world[:3, :3]
    sigma = np.linalg.svd(linear, compute_uv=False)
    homogeneous = np.c_[points, np.ones(len(points))]
    u = (np.linalg.inv(world) @ homogeneous.T).T[:, :3] - np.asarray(center)
    on_surface = boundary_residual(kind, dims, u).max() * sigma.max()
    reach = np.abs(np.abs(u).max(axis=0) - half_extent(kind, dims)).max() * sigma.max()
    worst = float(max(on_surface, reach))
    assert worst <= TOLERANCE_M, f"{label}: {worst:.4f} m off ({kind} {dims})"
    return worst


def primitive_dims(node: Node) -> tuple[str, dict[str, Any]]:
    mesh = node.mesh
    assert mesh is not None
    return mesh.primitive, mesh.model_dump()


def collider_dims(node: Node, manifest: Manifest) -> tuple[str, dict[str, Any], tuple[float, ...]]:
    """The collider the manifest asks for (shape, sizes, centre) — from the manifest only."""
    if node.collider is not None and node.collider.shape != "mesh":
        c, mesh = node.collider, node.mesh
        # sizes the collider leaves out are its primitive's (contract §10.2)
        dims = {"size": c.size, "radius": c.radius, "height": c.height}
        if mesh is not None:
            if dims["size"] is None:
                dims["size"] = tuple(2 * half_extent(*primitive_dims(node)))
            if dims["radius"] is None and mesh.primitive in ("sphere", "capsule", "cylinder"):
                dims["radius"] = mesh.radius
            if dims["height"] is None and mesh.primitive in ("capsule", "cylinder"):
                dims["height"] = mesh.height
        return c.shape, dims, (0.0, 0.0, 0.0)
    assert node.model is not None, node.id  # the fidelity scene's only other case: bounds
    bounds = manifest.asset(node.model).bounds
    assert bounds is not None
    size = tuple(h - lo for lo, h in zip(bounds.min, bounds.max, strict=True))
    center = tuple((h + lo) / 2 for lo, h in zip(bounds.min, bounds.max, strict=True))
    return "box", {"size": size}, center


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


# --- the export -------------------------------------------------------------------------------


class Export:
    def __init__(self, tmp_path: Path) -> None:
        self.manifest = Manifest.model_validate(fidelity_manifest_with_extras())
        self.files = write_engine("ue5", BuildContext(self.manifest, "fidelity", "high",
                                                      False, {}))
        self.scene = json.loads(self._bytes("SourceArt/scene.json"))
        bootstrap = self._bytes("Content/Python/pacai_bootstrap.py").decode()
        path = tmp_path / "pacai_bootstrap.py"
        path.write_text(bootstrap, "utf-8")
        spec = importlib.util.spec_from_file_location("pacai_bootstrap_plan", path)
        assert spec is not None and spec.loader is not None
        self.bootstrap = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.bootstrap)  # outside the editor: no unreal, no autorun
        self.actions: list[dict[str, Any]] = self.bootstrap.plan(self.scene["scenes"][0])
        self.worlds = manifest_worlds(self.manifest)

    def _bytes(self, path: str) -> bytes:
        content = self.files[path]
        return content if isinstance(content, bytes) else Path(content).read_bytes()

    def of(self, node_id: str, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.actions if a.get("node") == node_id and a["kind"] == kind]

    def nodes(self) -> Iterator[Node]:
        yield from self.manifest.scenes[0].nodes


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return Export(tmp_path)


def test_the_scene_has_the_hard_cases(export: Export) -> None:
    """The fidelity scene really has shear, pure non-uniform scale and mirroring."""
    worlds = export.worlds
    assert sheared(worlds["wide_box"]) and sheared(worlds["wide_capsule"])
    assert not sheared(worlds["wide_post"]) and not sheared(worlds["beam"])
    assert np.linalg.det(worlds["mirror_crate"][:3, :3]) < 0


def test_every_mesh_lands_on_the_manifest_geometry(export: Export) -> None:
    worst = 0.0
    for node in export.nodes():
        if node.mesh is None:
            continue
        (action,) = export.of(node.id, "mesh")
        if action["mesh"]:  # an engine basic shape, scaled
            local = np.array(BASIC_SHAPES[action["mesh"]], dtype=float)
            assert node.mesh.primitive != "capsule", "no basic capsule: caps would be distorted"
        else:  # a generated mesh: a real capsule, or geometry baked in world space
            local = imported_mesh_cm(export.files, action["file"])
        points = actor_to_gltf(action, local)
        kind, dims = primitive_dims(node)
        worst = max(worst, check_geometry(node.id, export.worlds[node.id], kind, dims, points))
    print(f"\nworst mesh placement error: {worst * 1000:.3f} mm")


def test_model_placeholders_fill_the_bounds(export: Export) -> None:
    for node in export.nodes():
        if node.model is None:
            continue
        (action,) = export.of(node.id, "mesh")
        if action["mesh"]:
            local = np.array(BASIC_SHAPES[action["mesh"]], dtype=float)
        else:
            local = imported_mesh_cm(export.files, action["file"])
        kind, dims, center = collider_dims(node, export.manifest)  # the bounds box
        check_geometry(node.id, export.worlds[node.id], kind, dims,
                       actor_to_gltf(action, local), center)


def test_sheared_nodes_are_baked_and_placed_at_identity(export: Export) -> None:
    for node in export.nodes():
        if node.mesh is None or not sheared(export.worlds[node.id]):
            continue
        (action,) = export.of(node.id, "mesh")
        assert action["file"].startswith("SourceArt/Generated/"), node.id
        assert action["location"] == [0.0, 0.0, 0.0] and action["rotation"] == [0.0, 0.0, 0.0]
        assert action["scale"] == [1.0, 1.0, 1.0]
    data = {n["id"]: n for n in export.scene["scenes"][0]["nodes"]}
    assert data["wide_box"]["world_exact"] is False and data["wide_post"]["world_exact"] is True


def test_every_collider_has_the_manifest_size(export: Export) -> None:
    worst = 0.0
    for node in export.nodes():
        if node.collider is None and node.body is None:
            continue
        if node.mesh is not None and node.mesh.primitive == "cylinder" and (
                node.collider is None or node.collider.shape == "mesh"):
            assert not export.of(node.id, "collider")  # the Cylinder's own collision
            continue
        kind, dims, center = collider_dims(node, export.manifest)
        if node.body == "rigid" and not native_exact(kind, export.worlds[node.id]):
            continue  # see test_sheared_colliders
        (action,) = export.of(node.id, "collider")
        assert action["scale"] == [1.0, 1.0, 1.0], "sizes are on the component, not the actor"
        if not native_exact(kind, export.worlds[node.id]):  # baked into a collision mesh
            assert action["shape"] == "baked", node.id
            points = actor_to_gltf(action, imported_mesh_cm(export.files, action["file"]))
        else:
            assert action["shape"] == kind, node.id
            points = actor_to_gltf(action, collider_points_cm(action))
        worst = max(worst, check_geometry(node.id + " collider", export.worlds[node.id], kind,
                                          dims, points, center))
    print(f"\nworst collider error: {worst * 1000:.3f} mm")


def native_exact(kind: str, world: np.ndarray) -> bool:
    """Whether a UE shape component can be the collider exactly: no shear, and a sphere or
    capsule only under a uniform scale (otherwise an ellipsoid or stretched caps)."""
    if sheared(world):
        return False
    scale = np.linalg.norm(world[:3, :3], axis=0)
    return kind in ("box", "cylinder") or bool(np.ptp(scale) <= 1e-9 * scale.max())


def test_collider_only_nodes_get_actors(export: Export) -> None:
    for node_id, shape in (("barrier", "box"), ("bumper", "sphere"), ("pole", "capsule"),
                           ("wall", "box"), ("ground", "box")):
        (action,) = export.of(node_id, "collider")
        assert action["shape"] == shape
        assert action["label"] == {"barrier": "Barrier", "bumper": "Bumper", "pole": "Pole",
                                   "wall": "Wall", "ground": "Ground"}[node_id]
    (bumper,) = export.of("bumper", "collider")
    assert bumper["simulate"] is True and bumper["collision"] == "PhysicsActor"
    (pole,) = export.of("pole", "collider")
    assert pole["collision"] == "BlockAllDynamic" and pole["mobility"] == "movable"


def test_visuals_follow_their_simulated_collider(export: Export) -> None:
    (crate,) = export.of("mirror_crate", "mesh")
    (collider,) = export.of("mirror_crate", "collider")
    assert crate["collision"] == "NoCollision" and crate["attach_to"] == collider["label"]
    (hero,) = export.of("hero", "mesh")
    (capsule,) = export.of("hero", "collider")
    assert capsule["shape"] == "capsule" and capsule["collision"] == "Pawn"
    assert hero["attach_to"] == capsule["label"]


def test_sheared_colliders(export: Export) -> None:
    """A box under shear is a parallelepiped no UE shape component can be: a body that does
    not simulate collides with the baked mesh itself; a simulated one keeps the closest box,
    and scene.json says it is not exact (docs/engines.md, known limits)."""
    data = {n["id"]: n for n in export.scene["scenes"][0]["nodes"]}
    assert data["wide_box"]["collider"]["shape"] == "baked"
    assert data["wide_box"]["collider"]["exact"] is True
    assert data["wide_crate"]["collider"]["shape"] == "box"
    assert data["wide_crate"]["collider"]["exact"] is False
    assert data["barrier"]["collider"]["exact"] is True
    # a capsule under a (1, 3, 1) group has stretched caps: baked too (kinematic body)
    assert data["guard"]["collider"]["shape"] == "baked"
    (baked,) = export.of("wide_box", "collider")
    assert baked["collision"] == "BlockAll" and baked["mobility"] == "static"


def test_lights_and_cameras_aim_where_the_manifest_points(export: Export) -> None:
    worst = 0.0
    for node in export.nodes():
        kind = "light" if node.light is not None else "camera" if node.camera else None
        if kind is None:
            continue
        (action,) = export.of(node.id, kind)
        world = export.worlds[node.id]
        location = np.asarray(action["location"]) @ P.T / 100.0
        assert np.abs(location - world[:3, 3]).max() <= TOLERANCE_M, node.id
        rows = rotator_rows(*action["rotation"])
        forward = P @ world[:3, :3] @ np.array([0.0, 0.0, -1.0])
        worst = max(worst, angle_deg(rows[0], forward))
        assert angle_deg(rows[0], forward) <= TOLERANCE_DEG, node.id
        if node.light is not None and node.light.type == "point":
            continue  # a point light has no aim
        up = P @ world[:3, :3] @ np.array([0.0, 1.0, 0.0])
        up -= np.dot(up, rows[0]) * rows[0]  # with shear, "up" is only defined across forward
        assert angle_deg(rows[2], up) <= TOLERANCE_DEG, node.id
    print(f"\nworst light/camera aim error: {worst:.5f} deg")


def test_the_first_camera_is_the_play_view(export: Export) -> None:
    (main,) = export.of("camera", "camera")  # the first camera of the scene
    assert main["camera"]["main"] is True
    for other in ("camera2", "top_camera"):
        (action,) = export.of(other, "camera")
        assert action["camera"]["main"] is False, other


def test_generated_meshes_validate(export: Export, tmp_path: Path) -> None:
    paths = []
    for rel in export.scene["generated"]:
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(export._bytes(rel))
        paths.append(target)
    referenced = {part["file"] for n in export.scene["scenes"][0]["nodes"]
                  for part in (n.get("mesh"), n.get("collider"),
                               (n.get("model") or {}).get("placeholder"))
                  if part and part.get("file")}
    assert referenced == set(export.scene["generated"])
    assert any("placeholder" in p.name for p in paths)
    assert any(p.name.startswith("capsule_") for p in paths)
    for report in validate_gltf(paths):
        assert report["errors"] == 0 and report["warnings"] == 0, report


@pytest.mark.parametrize("scale", [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
def test_zero_scale_is_baked_flat_and_valid(scale: list[float], tmp_path: Path) -> None:
    """A zero scale has no rotation/scale decomposition: the node is baked flat, with unit
    normals, and the generated files still validate."""
    data = {"schema": "pacai.manifest/v1", "project": {"id": "flat", "name": "Flat"},
            "scenes": [{"id": "main", "nodes": [
                {"id": "g", "transform": {"scale": scale}},
                {"id": "b", "parent": "g", "mesh": {"primitive": "sphere"}, "body": "static",
                 "light": {"type": "spot"},
                 "transform": {"rotation": [0, 0, 0.3826834, 0.9238795]}}]}],
            "main_scene": "main"}
    manifest = Manifest.model_validate(data)
    files = write_engine("ue5", BuildContext(manifest, "s", "high", False, {}))
    generated = sorted(p for p in files if p.startswith("SourceArt/Generated/"))
    assert len(generated) == 2 and sum("_collider" in p for p in generated) == 1, generated
    assert all(p.startswith("SourceArt/Generated/baked_main") for p in generated), generated
    paths = []
    for rel in generated:
        content = files[rel]
        assert isinstance(content, bytes)
        (tmp_path / rel.rsplit("/", 1)[1]).write_bytes(content)
        paths.append(tmp_path / rel.rsplit("/", 1)[1])
        points = glb_positions(content)
        world = manifest_worlds(manifest)["b"]
        # every vertex is where the manifest's (degenerate) world matrix puts the sphere
        assert np.allclose(points[:, np.asarray(scale) == 0], 0.0, atol=1e-6)
        assert np.abs(points).max() <= 0.5 * np.abs(world[:3, :3]).sum(axis=1).max() + 1e-6
    for report in validate_gltf(paths):
        assert report["errors"] == 0, report


def _sheared_pair(node_id: str) -> list[dict[str, Any]]:
    return [{"id": "p", "transform": {"scale": [2, 1, 1]}},
            {"id": node_id, "parent": "p", "mesh": {"primitive": "box"},
             "transform": {"rotation": [0, 0, 0.3826834, 0.9238795]}}]


def test_baked_file_names_never_collide() -> None:
    """Scene ``a`` node ``b_c`` and scene ``a_b`` node ``c`` would both read ``a_b_c``."""
    data = {"schema": "pacai.manifest/v1", "project": {"id": "names", "name": "Names"},
            "scenes": [{"id": "a", "nodes": _sheared_pair("b_c")},
                       {"id": "a_b", "nodes": _sheared_pair("c")}],
            "main_scene": "a"}
    manifest = Manifest.model_validate(data)
    files = write_engine("ue5", BuildContext(manifest, "s", "high", False, {}))
    scene = json.loads(files["SourceArt/scene.json"])  # type: ignore[arg-type]
    baked = [n["mesh"]["file"] for s in scene["scenes"] for n in s["nodes"] if "mesh" in n]
    assert len(baked) == 2 and len(set(baked)) == 2, baked


def test_a_deep_hierarchy_exports() -> None:
    """A parent chain deeper than Python's recursion limit."""
    depth = 3000
    nodes = [{"id": f"n{i}", "transform": {"translation": [0, 0.001, 0]},
              **({"parent": f"n{i - 1}"} if i else {})} for i in range(depth)]
    nodes[-1]["mesh"] = {"primitive": "box"}
    data = {"schema": "pacai.manifest/v1", "project": {"id": "deep", "name": "Deep"},
            "scenes": [{"id": "main", "nodes": nodes}], "main_scene": "main"}
    manifest = Manifest.model_validate(data)
    files = write_engine("ue5", BuildContext(manifest, "s", "high", False, {}))
    scene = json.loads(files["SourceArt/scene.json"])  # type: ignore[arg-type]
    last = scene["scenes"][0]["nodes"][-1]
    assert last["id"] == f"n{depth - 1}"
    assert abs(last["world"]["location"][2] - depth * 0.1) < 1e-6  # 1 mm a level, in cm
    assert max(len(n["folder"]) for n in scene["scenes"][0]["nodes"]) < 1024  # an FName


# --- instanced groups --------------------------------------------------------------------------


def _instanced_export(tmp_path: Path) -> tuple[Manifest, Files, list[dict[str, Any]]]:
    manifest = Manifest.model_validate(instanced_manifest())
    files = write_engine("ue5", BuildContext(manifest, "grove", "high", False, {}))
    export = Export.__new__(Export)  # reuse the bootstrap loader on these files
    export.files = files
    scene = json.loads(export._bytes("SourceArt/scene.json"))
    path = tmp_path / "pacai_bootstrap.py"
    path.write_text(export._bytes("Content/Python/pacai_bootstrap.py").decode(), "utf-8")
    spec = importlib.util.spec_from_file_location("pacai_bootstrap_instances", path)
    assert spec is not None and spec.loader is not None
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    return manifest, files, bootstrap.plan(scene["scenes"][0])


def test_every_instance_lands_on_the_manifest_geometry(tmp_path: Path) -> None:
    """Each instance of each HISM group, rebuilt from its row as FTransform(location,
    FRotator, scale) applied to the basic shape (or the generated capsule), lies on its
    node's primitive in the manifest's world within 0.01 m."""
    manifest, files, actions = _instanced_export(tmp_path)
    worlds = manifest_worlds(manifest)
    nodes = {n.id: n for n in manifest.scenes[0].nodes}
    groups = [a for a in actions if a["kind"] == "instances"]
    firsts = [nodes[g["ids"][0]] for g in groups]
    assert sorted((n.model or n.mesh.primitive, len(g["ids"]))  # type: ignore[union-attr]
                  for n, g in zip(firsts, groups, strict=True)) == [
        ("box", 16), ("capsule", 16), ("cylinder", 16), ("statue", 16)]
    worst, checked = 0.0, 0
    for group in groups:
        assert group["location"] == [0.0, 0.0, 0.0] and group["scale"] == [1.0, 1.0, 1.0]
        if group["mesh"]:
            local = np.array(BASIC_SHAPES[group["mesh"]], dtype=float)
        else:
            local = imported_mesh_cm(files, group["file"])
        assert len(group["instances"]) == len(group["ids"])
        for node_id, row in zip(group["ids"], group["instances"], strict=True):
            instance = {"location": row[0:3], "rotation": row[3:6], "scale": row[6:9]}
            node = nodes[node_id]
            if node.model is not None:  # the placeholder box fills the bounds
                kind, dims, center = collider_dims(node, manifest)
            else:
                (kind, dims), center = primitive_dims(node), (0.0, 0.0, 0.0)
            worst = max(worst, check_geometry(node_id, worlds[node_id], kind, dims,
                                              actor_to_gltf(instance, local), center))
            checked += 1
    assert checked == 64
    print(f"\nworst instance placement error: {worst * 1000:.3f} mm")


def test_instanced_groups_are_findable_and_sheared_ones_stay_actors(tmp_path: Path) -> None:
    manifest, _files, actions = _instanced_export(tmp_path)
    groups = {a["ids"][0]: a for a in actions if a["kind"] == "instances"}
    boxes = groups["box0"]
    # instance i is tag i + 1; the group sits in its parent's folder, named uniquely
    assert boxes["tags"][0] == "pacai:instanced"
    assert boxes["tags"][1:] == [f"pacai:id=box{i}" for i in range(16)]
    assert boxes["folder"] == "Grove" and groups["cap0"]["folder"] == ""
    assert boxes["material"] == "bark" and boxes["collision"] == "NoCollision"
    labels = [a["label"] for a in actions]
    assert len(labels) == len(set(labels)) and "BoxInstances" in labels
    (lone,) = [a for a in actions if a.get("node") == "lone"]
    assert {boxes["label"], lone["label"]} == {"BoxInstances", "BoxInstances 2"}
    # instanced nodes have no actor of their own; sheared ones keep theirs (baked meshes)
    assert not [a for a in actions if a.get("node") in {f"box{i}" for i in range(16)}]
    sheared = [a for a in actions if str(a.get("node", "")).startswith("shr")]
    assert len(sheared) == 16 and all(a["file"].startswith("SourceArt/Generated/")
                                      for a in sheared)
    report = {g["ids"][0]: g["as"]["ue5"]  # type: ignore[index]
              for g in instancing_report(manifest)}
    assert report == {"box0": CONSTRUCTS["ue5"], "cap0": CONSTRUCTS["ue5"],
                      "cyl0": CONSTRUCTS["ue5"], "shr0": UE_SHEARED,
                      "mdl0": MODEL_CONSTRUCTS["ue5"]}


def test_instancing_off_places_every_node(tmp_path: Path) -> None:
    raw = instanced_manifest()
    raw["project"]["instancing"] = False
    manifest = Manifest.model_validate(raw)
    files = write_engine("ue5", BuildContext(manifest, "grove", "high", False, {}))
    scene = json.loads(files["SourceArt/scene.json"])  # type: ignore[arg-type]
    assert scene["scenes"][0]["instanced"] == []
    assert len(scene["scenes"][0]["nodes"]) == 3 + 5 * 16


def test_instanced_models_use_the_imported_file_at_each_world_transform() -> None:
    """With the model shipped, every static mesh of its file is instanced at the node's world
    TRS (Interchange bakes the file's own node transforms into the meshes, as for one node)."""
    manifest = Manifest.model_validate(instanced_manifest())
    ctx = BuildContext(manifest, "grove", "high", True, {})
    data = unreal_writer.scene_json(ctx, {"main": "main"},
                                    {"statue": "SourceArt/Models/statue.glb"})
    (group,) = [g for g in data["scenes"][0]["instanced"] if g["model"] == "statue"]
    assert group["file"] == "SourceArt/Models/statue.glb" and group["shape"] is None
    worlds = manifest_worlds(manifest)
    for node_id, row in zip(group["ids"], group["instances"], strict=True):
        world = worlds[node_id]
        location = np.asarray(row[0:3]) @ P.T / 100.0
        assert np.abs(location - world[:3, 3]).max() <= 1e-6, node_id
        rows = rotator_rows(*row[3:6]) * np.asarray(row[6:9])[:, None]  # scaled axes, UE
        assert np.abs(P @ rows.T @ P - world[:3, :3]).max() <= 1e-5, node_id
