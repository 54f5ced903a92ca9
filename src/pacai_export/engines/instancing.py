"""Which nodes become the engines' instancing constructs (§11, big worlds).

A forest of 10,000 copies of one tree is drawn fastest, and opened fastest in an editor, as
one instanced mesh, not 10,000 nodes. Engine-neutral, so every writer and ``bundle.json``
agree on the groups: nodes of one scene that share a parent, a primitive (same shape and
size) or a model asset, and a material, at least ``THRESHOLD`` of them, each a plain prop —
a primitive or a model (not both) and a transform, nothing that needs a node of its own:

- no body, collider, light, camera, audio or component (each is per-node behaviour or
  physics an instanced mesh cannot carry),
- no children (nothing may hang off an instance).

What each engine makes of a group: Godot one ``MultiMeshInstance3D`` under the parent
(instance transforms relative to it, node ids in ``metadata/pacai_ids`` by instance index);
Unity keeps the GameObjects and turns GPU instancing on in the shared material; Unreal one
actor per group with a ``HierarchicalInstancedStaticMeshComponent`` (instance transforms in
world space, node ids in the actor's tags by instance index) — unless an instance's world
matrix has shear, which an ``FTransform`` cannot carry: that group stays separate actors in
Unreal (``bundle.json`` says so). Groups of model nodes: see ``MODEL_CONSTRUCTS``. The
manifest's ``project.instancing: false`` keeps every node separate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from ..manifest import Manifest, Node, Scene
from .coords import IDENTITY4, SHEAR_TOLERANCE, Matrix4, compose, has_shear, trs

THRESHOLD = 16  # fewer copies than this draw about as fast as separate nodes
# What each engine makes of a group, as bundle.json reports it.
CONSTRUCTS = {"godot": "MultiMeshInstance3D", "unity": "GPU instancing on the shared material",
              "ue5": "HierarchicalInstancedStaticMeshComponent"}
# What each engine makes of a group of model nodes. A model is a whole glTF scene (several
# meshes, a hierarchy, materials of its own): Godot's MultiMesh draws one Mesh and Unity's GPU
# instancing is a flag of the model's imported materials, which the export does not write,
# so those two keep one instance of the model per node; Unreal instances every static mesh
# Interchange imports from the model's file (or the placeholder box when assets are left out).
MODEL_CONSTRUCTS = {
    "godot": "separate scene instances (MultiMesh draws one mesh; a model is a scene)",
    "unity": "separate prefab instances (instancing is a setting of the imported materials)",
    "ue5": "HierarchicalInstancedStaticMeshComponent per static mesh of the model"}
# What Unreal makes of a group one of whose world matrices has shear (no FTransform holds it).
UE_SHEARED = "separate actors (a world transform with shear)"


@dataclasses.dataclass(frozen=True)
class Group:
    """Nodes drawn as one instanced mesh, in manifest order."""

    scene: str
    parent: str | None
    nodes: tuple[Node, ...]

    @property
    def first(self) -> Node:
        return self.nodes[0]

    @property
    def primitive(self) -> str | None:
        """The shared primitive, or None for a group of model nodes."""
        return self.first.mesh.primitive if self.first.mesh is not None else None

    @property
    def model(self) -> str | None:
        """The shared model asset id, or None for a group of primitives."""
        return self.first.model

    @property
    def material(self) -> str | None:
        return self.first.material


def _plain(node: Node, parents: set[str]) -> bool:
    """A prop with one primitive or one model (not both) and nothing else of its own."""
    return ((node.mesh is None) != (node.model is None) and node.body is None
            and node.collider is None and node.light is None and node.camera is None
            and node.audio is None and not node.components and node.id not in parents)


def scene_groups(manifest: Manifest, scene: Scene) -> list[Group]:
    """The scene's instance groups, ordered by their first node (deterministic)."""
    if not manifest.project.instancing:
        return []
    parents = {n.parent for n in scene.nodes if n.parent is not None}
    buckets: dict[tuple[str | None, tuple[object, ...], str | None], list[Node]] = {}
    for node in scene.nodes:
        if _plain(node, parents):
            # The mesh's field values, not the model: hashing and comparing pydantic models
            # was most of this function's time (every writer asks for the groups).
            shared = (tuple(node.mesh.__dict__.values()) if node.mesh is not None
                      else ("model", node.model))
            buckets.setdefault((node.parent, shared, node.material), []).append(node)
    return [Group(scene.id, parent, tuple(nodes))
            for (parent, _, _), nodes in buckets.items() if len(nodes) >= THRESHOLD]


def parent_world(nodes: dict[str, Node], parent: str | None) -> Matrix4:
    """The world matrix of ``parent`` (identity for the scene root) among the scene's
    ``nodes`` by id, from the manifest."""
    chain = []
    while parent is not None:
        node = nodes[parent]
        chain.append(node)
        parent = node.parent
    world = IDENTITY4
    for node in reversed(chain):
        world = compose(world, trs(node.transform))
    return world


def trs_exact(group: Group, parent: Matrix4) -> bool:
    """Whether every instance's world matrix (under ``parent``) is a TRS without shear, what
    an engine instance transform made of location, rotation and scale can carry exactly."""
    if similarity(parent):  # rotation x uniform scale x any TRS is a TRS: no test per node
        return True
    return not any(has_shear(compose(parent, trs(n.transform))) for n in group.nodes)


def similarity(m: Matrix4) -> bool:
    """A rotation times a uniform scale (non-zero), within the shear tolerance."""
    if has_shear(m):
        return False
    lengths = [math.sqrt(sum(m[i][j] ** 2 for i in range(3))) for j in range(3)]
    return max(lengths) - min(lengths) <= SHEAR_TOLERANCE * max(lengths)


def instanced_ids(groups: Iterable[Group]) -> set[str]:
    return {n.id for g in groups for n in g.nodes}


def instancing_report(manifest: Manifest) -> list[dict[str, object]]:
    """What ``bundle.json`` says was instanced: one entry per group, with the node ids in
    instance order (the per-instance table: instance ``i`` of a group is ``ids[i]``)."""
    out: list[dict[str, object]] = []
    for scene in manifest.scenes:
        groups = scene_groups(manifest, scene)
        nodes = {n.id: n for n in scene.nodes} if groups else {}  # once a scene, not a group
        out.extend({"scene": g.scene, "parent": g.parent, "primitive": g.primitive,
                    "model": g.model, "material": g.material, "count": len(g.nodes),
                    "as": _constructs(nodes, g), "ids": [n.id for n in g.nodes]}
                   for g in groups)
    return out


def _constructs(nodes: dict[str, Node], group: Group) -> dict[str, str]:
    out = dict(CONSTRUCTS if group.model is None else MODEL_CONSTRUCTS)
    if not trs_exact(group, parent_world(nodes, group.parent)):
        out["ue5"] = UE_SHEARED
    return out
