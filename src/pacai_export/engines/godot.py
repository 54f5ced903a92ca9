"""Godot 4.3+ writer (§11): ``project.godot``, ``scenes/*.tscn`` (format 3), ``scripts/*.gd``.

Each manifest node becomes one Godot node whose class is its most specific feature (a body,
else a mesh, a model instance, a light, a camera, an audio player, else ``Node3D``); its other
features become children named after the feature (``Mesh``, ``CollisionShape``, ``Light``…).
Godot's frame is glTF's, so transforms are written unchanged (coords.godot_basis), except
around physics bodies: those keep unit scale and their scale goes into what they carry
(``_SceneWriter._place``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from ..files import AssetFile
from ..manifest import Asset, Component, Light, Manifest, Material, Node, Scene
from . import affine, instancing, main_camera
from .base import BuildContext, Files
from .components import COMPONENTS, Param, component_params, unused_params
from .coords import (
    Matrix3,
    Shape,
    Trs,
    bounds_box,
    collider_shape,
    godot_basis,
    linear_to_srgb,
    trs,
)
from .ids import godot_uid
from .names import (
    asset_filenames,
    double_quoter,
    godot_node_name,
    unique,
    unique_filenames,
)

BODY_TYPES = {"static": "StaticBody3D", "rigid": "RigidBody3D", "kinematic": "AnimatableBody3D",
              "character": "CharacterBody3D"}
LIGHT_TYPES = {"directional": "DirectionalLight3D", "point": "OmniLight3D", "spot": "SpotLight3D"}
# Godot's glTF importer clamps light ranges to 4096 m; glTF's missing range is infinite.
INFINITE_LIGHT_RANGE = 4096.0
MAX_CONE_RATIO = 0.99  # inner/outer → 1 makes the importer's attenuation curve infinite

# Godot importer names and resource types per extension, for the .import files that pin uids.
IMPORTERS = {
    ".glb": ("scene", "PackedScene", "PackedScene"),
    ".gltf": ("scene", "PackedScene", "PackedScene"),
    ".png": ("texture", "CompressedTexture2D", "Texture2D"),
    ".jpg": ("texture", "CompressedTexture2D", "Texture2D"),
    ".jpeg": ("texture", "CompressedTexture2D", "Texture2D"),
    ".webp": ("texture", "CompressedTexture2D", "Texture2D"),
    ".ogg": ("oggvorbisstr", "AudioStreamOggVorbis", "AudioStream"),
    ".wav": ("wav", "AudioStreamWAV", "AudioStream"),
    ".mp3": ("mp3", "AudioStreamMP3", "AudioStream"),
}


def write(ctx: BuildContext) -> Files:
    """The Godot project folder for ``ctx`` (paths relative to ``godot/``)."""
    m = ctx.manifest
    files: Files = {}
    scene_files = unique_filenames((s.id for s in m.scenes), ".tscn")
    files["project.godot"] = _project(m, scene_files[m.main_scene])
    names = asset_filenames({aid: af.filename for aid, af in ctx.assets.items()})
    for asset_id in sorted(ctx.assets):
        files.update(_asset_files(ctx, ctx.assets[asset_id], names[asset_id]))
    used_scripts: set[str] = set()
    for scene in m.scenes:
        path = f"scenes/{scene_files[scene.id]}"
        text, scripts = _SceneWriter(ctx, scene, path, names).render()
        files[path] = text.encode("utf-8")
        used_scripts |= scripts
    for type_ in sorted(used_scripts):
        files[f"scripts/{type_}.gd"] = SCRIPTS[type_].encode("utf-8")
    return files


# --- formatting -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _f(x: float) -> str:
    """A float as Godot writes it back: fixed point, no exponent, no ``-0``. Cached: big
    scenes repeat a few values (0, 1, grid steps) hundreds of thousands of times."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _q(text: str) -> str:
    """A Godot string literal (``.tscn``, ``project.godot``): quotes and backslashes escaped,
    every control or line-breaking character as ``\\n``/``\\uXXXX`` (Godot's
    ``VariantParser`` reads both), lone surrogates as U+FFFD, so a value stays one token
    on one line."""
    return _godot_quote(text)


_GODOT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_godot_quote = double_quoter(_GODOT_ESCAPES)


def _vec3(v: tuple[float, float, float]) -> str:
    return f"Vector3({_f(v[0])}, {_f(v[1])}, {_f(v[2])})"


def _color(rgb: tuple[float, ...], alpha: float = 1.0) -> str:
    r, g, b = (linear_to_srgb(c) for c in rgb[:3])  # Godot colours are sRGB-encoded
    return f"Color({_f(r)}, {_f(g)}, {_f(b)}, {_f(alpha)})"


def _matrix(m: affine.Affine) -> str:
    """An affine matrix as a ``Transform3D`` (basis rows, then the origin; may shear)."""
    values = [*m[0][0], *m[0][1], *m[0][2], *m[1]]
    return "Transform3D(" + ", ".join(_f(v) for v in values) + ")"


def _transform(t: Trs) -> str | None:
    if t == Trs():
        return None
    rows = godot_basis(t.rotation, t.scale)
    values = [*rows[0], *rows[1], *rows[2], *t.translation]
    return "Transform3D(" + ", ".join(_f(v) for v in values) + ")"


def _variant(value: Any) -> str:
    """JSON-like data as a Godot Variant literal (for metadata)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _f(float(value)) if math.isfinite(value) else "0"
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_variant(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "{\n" + ",\n".join(f"{_q(str(k))}: {_variant(v)}" for k, v in items) + "\n}"
    return _q(str(value))


def _param(value: Param) -> str:
    if isinstance(value, tuple):
        return _vec3(value)
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, int):
        return str(value)
    text = _f(value)
    return text if "." in text else text + ".0"  # keep typed float exports floats


# --- project and assets -----------------------------------------------------------------------


def _project(m: Manifest, main_file: str) -> bytes:
    lines = [
        "; Engine configuration file, generated by pacai-export.",
        "",
        "config_version=5",
        "",
        "[application]",
        "",
        f"config/name={_q(_one_line(m.project.name))}",
        f"config/version={_q(_one_line(m.project.version))}",
        f'run/main_scene="res://scenes/{main_file}"',
        'config/features=PackedStringArray("4.3", "Forward Plus")',
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _asset_files(ctx: BuildContext, af: AssetFile, name: str) -> Files:
    res = f"res://assets/{name}"
    out: Files = {f"assets/{name}": af.path}
    importer = IMPORTERS.get(PurePosixPath(name).suffix)
    if importer is not None:
        # Godot keeps the uid of an existing .import file when it (re)imports the source
        # (EditorFileSystem::_reimport_file reads [remap] uid), so ours stays deterministic.
        text = (f'[remap]\n\nimporter="{importer[0]}"\ntype="{importer[1]}"\n'
                f'uid="{godot_uid(ctx.seed, res)}"\n\n[deps]\n\nsource_file="{res}"\n')
        out[f"assets/{name}.import"] = text.encode("utf-8")
    return out


# --- scenes ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Block:
    header: str
    props: list[str] = dataclasses.field(default_factory=list)

    def text(self) -> str:
        return "\n".join([self.header, *self.props])


class _SceneWriter:
    """Collects the ext_resources, sub_resources and nodes of one ``.tscn``."""

    def __init__(self, ctx: BuildContext, scene: Scene, path: str,
                 asset_names: dict[str, str]) -> None:
        self.ctx, self.scene, self.path = ctx, scene, path
        self.asset_names = asset_names
        self.ext: list[_Block] = []
        self.ext_ids: dict[str, str] = {}
        self.sub: list[_Block] = []
        self.sub_ids: dict[str, str] = {}
        self.nodes: list[_Block] = []
        self.scripts: set[str] = set()
        self.groups: dict[str | None, list[instancing.Group]] = {}
        for group in instancing.scene_groups(ctx.manifest, scene):
            if group.model is None:  # a model is a scene: one instance per node (MODEL_CONSTRUCTS)
                self.groups.setdefault(group.parent, []).append(group)
        instanced = instancing.instanced_ids(g for gs in self.groups.values() for g in gs)
        self.children: dict[str | None, list[Node]] = {}
        for node in scene.nodes:
            if node.id not in instanced:
                self.children.setdefault(node.parent, []).append(node)
        self.main_camera = main_camera(scene)
        self.world = affine.WorldMatrices(scene)  # the manifest's truth, per node id
        self.written: dict[str, affine.Affine] = {}  # bodies whose world differs as written
        self.rest: dict[str, Matrix3] = {}  # a body's scale/shear, baked into its children

    def render(self) -> tuple[str, set[str]]:
        root = godot_node_name(self.scene.display_name)
        self.nodes.append(_Block(f"[node name={_q(root)} type=\"Node3D\"]"))
        top = self.children.get(None, [])
        groups = self.groups.get(None, [])
        names = unique([godot_node_name(n.display_name) for n in top] + _group_names(groups),
                       taken=["WorldEnvironment"])
        self._environment()
        for node, name in zip(top, names[:len(top)], strict=True):
            self._node(node, name, ".", None)
        for group, name in zip(groups, names[len(top):], strict=True):
            self._multimesh(group, name, ".", None)
        steps = len(self.ext) + len(self.sub) + 1
        uid = godot_uid(self.ctx.seed, f"res://{self.path}")
        parts = [f'[gd_scene load_steps={steps} format=3 uid="{uid}"]']
        parts += [b.text() for b in self.ext]
        parts += [b.text() for b in self.sub]
        parts += [b.text() for b in self.nodes]
        return "\n\n".join(parts) + "\n", self.scripts

    # resources

    def _ext(self, key: str, type_: str, res_path: str, uid: str | None) -> str:
        if key not in self.ext_ids:
            rid = f"{len(self.ext) + 1}_{re.sub(r'[^A-Za-z0-9_]', '_', key)[:24]}"
            uid_attr = f' uid="{uid}"' if uid else ""
            self.ext.append(_Block(f'[ext_resource type="{type_}"{uid_attr} path={_q(res_path)} '
                                   f'id="{rid}"]'))
            self.ext_ids[key] = rid
        return f'ExtResource("{self.ext_ids[key]}")'

    def _sub(self, key: str, type_: str, props: list[str]) -> str:
        if key not in self.sub_ids:
            rid = f"{type_}_{len(self.sub) + 1}"
            self.sub.append(_Block(f'[sub_resource type="{type_}" id="{rid}"]', props))
            self.sub_ids[key] = rid
        return f'SubResource("{self.sub_ids[key]}")'

    def _asset_ref(self, asset_id: str) -> str | None:
        name = self.asset_names.get(asset_id)
        if name is None:
            return None
        importer = IMPORTERS.get(PurePosixPath(name).suffix)
        if importer is None:
            return None
        res = f"res://assets/{name}"
        return self._ext(f"asset:{asset_id}", importer[2], res, godot_uid(self.ctx.seed, res))

    def _script(self, type_: str) -> str:
        self.scripts.add(type_)
        # No uid: Godot 4.3 has no script uids and warns about any it cannot resolve.
        return self._ext(f"script:{type_}", "Script", f"res://scripts/{type_}.gd", None)

    def _material(self, material: Material) -> str:
        if f"material:{material.id}" in self.sub_ids:
            return f'SubResource("{self.sub_ids[f"material:{material.id}"]}")'
        props = [f"albedo_color = {_color(material.base_color, material.base_color[3])}"]
        if material.base_color[3] < 1.0:
            props.append("transparency = 1")
        if material.base_color_texture and (tex := self._asset_ref(material.base_color_texture)):
            props.append(f"albedo_texture = {tex}")
        props += [f"metallic = {_f(material.metallic)}", f"roughness = {_f(material.roughness)}"]
        if material.normal_texture and (tex := self._asset_ref(material.normal_texture)):
            props += ["normal_enabled = true", f"normal_texture = {tex}"]
        if any(c > 0 for c in material.emissive):
            props += ["emission_enabled = true", f"emission = {_color(material.emissive)}"]
        return self._sub(f"material:{material.id}", "StandardMaterial3D", props)

    def _mesh(self, node: Node) -> str:
        """One mesh resource per distinct primitive and material, shared by its nodes."""
        mesh = node.mesh
        assert mesh is not None
        key = f"mesh:{mesh!r}:{node.material}"
        if key in self.sub_ids:
            return f'SubResource("{self.sub_ids[key]}")'
        type_, dimensions = _MESHES[mesh.primitive]
        props = dimensions(mesh)
        if node.material is not None:
            props.append(f"material = {self._material(self.ctx.manifest.material(node.material))}")
        return self._sub(key, type_, props)

    def _shape(self, node: Node, shape: Shape, rest: Matrix3) -> str:
        native = _native_shape(shape, rest)
        if native is None:
            points = [c for p in affine.hull_points(shape) for c in affine.apply3(rest, p)]
            type_ = "ConvexPolygonShape3D"
            props = ["points = PackedVector3Array(" + ", ".join(_f(c) for c in points) + ")"]
        else:
            type_, dimensions = _SHAPES[native.kind]
            props = dimensions(native)
        return self._sub(f"shape:{node.id}", type_, props)

    def _environment(self) -> None:
        env = self.scene.environment
        ref = self._sub("environment", "Environment", [
            "background_mode = 1",  # BG_COLOR
            f"background_color = {_color(env.sky_color)}",
            "ambient_light_source = 2",  # AMBIENT_SOURCE_COLOR
            f"ambient_light_color = {_color(env.ambient_color)}",
            f"ambient_light_energy = {_f(env.ambient_intensity)}",
        ])
        header = '[node name="WorldEnvironment" type="WorldEnvironment" parent="."]'
        self.nodes.append(_Block(header, [f"environment = {ref}"]))

    # nodes

    def _node(self, node: Node, name: str, parent: str, parent_id: str | None) -> None:
        features = self._features(node)
        primary = features[0] if features and features[0][0] in _PRIMARY else None
        rest = features[1:] if primary else features
        kids = self.children.get(node.id, [])
        groups = self.groups.get(node.id, [])
        feature_names = unique([f[1] for f in rest])
        extra = _known_components(node)[1:]
        extra_names = unique([c.type for c in extra], taken=feature_names)
        kid_names = unique([godot_node_name(k.display_name) for k in kids] + _group_names(groups),
                           taken=feature_names + extra_names)

        block = self._primary_block(node, name, parent, primary)
        self.nodes.append(block)
        transform, top_level = self._place(node, parent_id, primary is not None
                                           and primary[0] == "body")
        if transform:
            block.props.insert(0, f"transform = {transform}")
        if top_level:
            block.props.insert(0, "top_level = true")
        self._components(node, block)
        path = name if parent == "." else f"{parent}/{name}"
        for (kind, _), fname in zip(rest, feature_names, strict=True):
            self.nodes.append(self._feature_block(node, kind, fname, path))
        for comp, cname in zip(extra, extra_names, strict=True):
            header = f'[node name={_q(cname)} type="Node3D" parent={_q(path)}]'
            sub = _Block(header, [f"script = {self._script(comp.type)}"])
            sub.props += _param_lines(comp.type, comp.params)
            sub.props.append("metadata/pacai_acts_on_parent = true")
            self.nodes.append(sub)
        for kid, kname in zip(kids, kid_names[:len(kids)], strict=True):
            self._node(kid, kname, path, node.id)
        for group, gname in zip(groups, kid_names[len(kids):], strict=True):
            self._multimesh(group, gname, path, node.id)

    def _multimesh(self, group: instancing.Group, name: str, parent: str,
                   parent_id: str | None) -> None:
        """A ``MultiMeshInstance3D`` drawing the group's nodes: ``buffer`` holds 12 floats per
        instance (basis rows, each with its origin component appended), each transform
        relative to the parent as written; instance ``i`` is ``metadata/pacai_ids[i]``."""
        values: list[str] = []
        # Scattered props repeat a few rotations and scales: each basis is formatted once.
        bases: dict[tuple[tuple[float, ...], tuple[float, ...]], tuple[str, str, str]] = {}
        for node in group.nodes:
            t = node.transform
            if parent_id is None or parent_id not in self.written:
                key = (t.rotation, t.scale)
                if key not in bases:
                    r0, r1, r2 = (", ".join(map(_f, r)) for r in affine.from_trs(trs(t))[0])
                    bases[key] = (r0, r1, r2)
                x, y, z = bases[key]
                o = t.translation
                values.append(f"{x}, {_f(o[0])}, {y}, {_f(o[1])}, {z}, {_f(o[2])}")
                continue
            rows, origin = affine.mul(affine.inverse(self._written(parent_id)),
                                      self.world[node.id])
            values += [f"{_f(r[0])}, {_f(r[1])}, {_f(r[2])}, {_f(c)}"
                       for r, c in zip(rows, origin, strict=True)]
        ref = self._sub(f"multimesh:{group.first.id}", "MultiMesh", [
            "transform_format = 1", f"instance_count = {len(group.nodes)}",
            f"mesh = {self._mesh(group.first)}",
            "buffer = PackedFloat32Array(" + ", ".join(values) + ")"])
        ids = ", ".join(_q(n.id) for n in group.nodes)
        self.nodes.append(_Block(
            f'[node name={_q(name)} type="MultiMeshInstance3D" parent={_q(parent)}]',
            [f"multimesh = {ref}", f"metadata/pacai_ids = PackedStringArray({ids})"]))

    def _place(self, node: Node, parent_id: str | None, body: bool) -> tuple[str | None, bool]:
        """The node's written transform and whether it is ``top_level``.

        Godot Physics resets a body's scale when simulation starts and warns about scaled
        bodies and shapes, so a body (or area) gets only the rigid part of its world matrix;
        its scale, shear and mirror — own and inherited — go into its mesh child and its
        shapes' sizes (``self.rest``). A body under a scaled parent is ``top_level`` (its
        transform is then global), so it inherits no scale. Children of such a body are
        written relative to what the body became, landing where the manifest puts them.
        """
        parent_exact = parent_id is None or parent_id not in self.written
        if not body and parent_exact:  # the common case: the manifest's own local transform
            return _transform(trs(node.transform)), False
        world = self.world[node.id]
        parent = self._written(parent_id)
        if not body:
            return _matrix(affine.mul(affine.inverse(parent), world)), False
        exact = affine.is_rigid(world[0], 1e-9)
        if not exact:
            self.written[node.id], self.rest[node.id] = affine.rigid_split(world)
        mine = self._written(node.id)
        if not affine.is_rigid(parent[0]):
            return _matrix(mine), True
        if parent_exact and exact:
            return _transform(trs(node.transform)), False
        return _matrix(affine.mul(affine.inverse(parent), mine)), False

    def _written(self, node_id: str | None) -> affine.Affine:
        """A Godot node's world matrix as written: the manifest's, except for bodies that
        gave their scale to their children (``self.written``)."""
        if node_id is None:
            return affine.IDENTITY
        return self.written.get(node_id) or self.world[node_id]

    def _features(self, node: Node) -> list[tuple[str, str]]:
        """(kind, child name) of every feature, in primary-preference order."""
        out: list[tuple[str, str]] = []
        if node.body is not None or node.collider is not None:
            out.append(("body", ""))
        if node.mesh is not None:
            out.append(("mesh", "Mesh"))
        if node.model is not None:
            if self._asset_ref(node.model) is not None:
                out.append(("instance", "Model"))
            else:
                out.append(("placeholder", godot_node_name(node.model)))
        if node.body is not None or node.collider is not None:
            out.append(("collision", "CollisionShape"))
        if node.light is not None:
            out.append(("light", "Light"))
        if node.camera is not None:
            out.append(("camera", "Camera"))
        if node.audio is not None:
            out.append(("audio", "Audio"))
        # The primary is the first kind that may carry the node's transform and children.
        primary = next((f for f in out if f[0] in _PRIMARY), None)
        if primary is not None:
            out.remove(primary)
            out.insert(0, primary)
        return out

    def _primary_block(self, node: Node, name: str, parent: str,
                       primary: tuple[str, str] | None) -> _Block:
        kind = primary[0] if primary else None
        head = f"[node name={_q(name)}"
        tail = f" parent={_q(parent)}"
        if kind == "instance":
            assert node.model is not None
            return _Block(f"{head}{tail} instance={self._asset_ref(node.model)}]")
        if kind == "body":
            return _Block(f'{head} type="{_body_type(node)}"{tail}]')
        if kind is None:
            return _Block(f'{head} type="Node3D"{tail}]')
        return self._typed_block(node, kind, head, tail)

    def _feature_block(self, node: Node, kind: str, name: str, parent: str) -> _Block:
        head, tail = f"[node name={_q(name)}", f" parent={_q(parent)}"
        rest = self.rest.get(node.id)
        if kind == "collision":
            return self._collision(node, head, tail, rest)
        if kind == "instance":
            assert node.model is not None
            block = _Block(f"{head}{tail} instance={self._asset_ref(node.model)}]")
        elif kind == "placeholder":
            return self._placeholder(node, head, tail, rest)
        else:
            block = self._typed_block(node, kind, head, tail)
        if rest is not None:  # the body's scale and shear, baked into what it carries
            block.props.insert(0, f"transform = {_matrix((rest, (0.0, 0.0, 0.0)))}")
        return block

    def _collision(self, node: Node, head: str, tail: str, rest: Matrix3 | None) -> _Block:
        """A shape with unit scale: a body's scale is baked into its size, or, where the
        native shape cannot take it (a sphere stretched unevenly, any shear), into the
        points of a convex hull of the shape."""
        shape = collider_shape(node, self._model_asset(node))
        assert shape is not None
        rest = rest or affine.IDENTITY3
        block = _Block(f'{head} type="CollisionShape3D"{tail}]',
                       [f"shape = {self._shape(node, shape, rest)}"])
        center = affine.apply3(rest, shape.center)
        if center != (0.0, 0.0, 0.0):
            block.props.insert(0, f"transform = {_transform(Trs(center))}")
        return block

    def _typed_block(self, node: Node, kind: str, head: str, tail: str) -> _Block:
        if kind == "mesh":
            return _Block(f'{head} type="MeshInstance3D"{tail}]', [f"mesh = {self._mesh(node)}"])
        if kind == "light":
            assert node.light is not None
            return _Block(f'{head} type="{LIGHT_TYPES[node.light.type]}"{tail}]',
                          _light_props(node.light))
        if kind == "camera":
            return _Block(f'{head} type="Camera3D"{tail}]', self._camera_props(node))
        return _Block(f'{head} type="AudioStreamPlayer3D"{tail}]', self._audio_props(node))

    def _model_asset(self, node: Node) -> Asset | None:
        return self.ctx.manifest.asset(node.model) if node.model else None

    def _placeholder(self, node: Node, head: str, tail: str, rest: Matrix3 | None) -> _Block:
        box = bounds_box(self._model_asset(node))  # bounds, else a 1 m cube
        ref = self._sub(f"placeholder:{node.id}", "BoxMesh", [f"size = {_vec3(box.size)}"])
        block = _Block(f'{head} type="MeshInstance3D"{tail}]', [f"mesh = {ref}"])
        if rest is not None:
            placed = affine.mul((rest, (0.0, 0.0, 0.0)), (affine.IDENTITY3, box.center))
            block.props.insert(0, f"transform = {_matrix(placed)}")
        elif box.center != (0.0, 0.0, 0.0):
            block.props.insert(0, f"transform = {_transform(Trs(box.center))}")
        block.props.append("metadata/pacai_placeholder = true")
        return block

    def _camera_props(self, node: Node) -> list[str]:
        cam = node.camera
        assert cam is not None
        props = []
        if cam.projection == "orthographic":
            # glTF ymag is half the view height; Godot's size is the full height (KEEP_HEIGHT).
            props += ["projection = 1", f"size = {_f(2 * cam.ymag)}"]
        else:
            props.append(f"fov = {_f(math.degrees(cam.yfov))}")  # vertical, like glTF's yfov
        props += [f"near = {_f(cam.znear)}", f"far = {_f(cam.zfar)}"]
        if node.id == self.main_camera:
            props.append("current = true")
        return props

    def _audio_props(self, node: Node) -> list[str]:
        audio = node.audio
        assert audio is not None
        props = []
        stream = self._asset_ref(audio.asset)
        if stream is not None:
            props.append(f"stream = {stream}")
        volume_db = 20 * math.log10(audio.volume) if audio.volume > 0 else -80.0
        props.append(f"volume_db = {_f(volume_db)}")
        if audio.autoplay:
            props.append("autoplay = true")
        # Looping is a property of the imported stream in Godot, not of the player; it is
        # kept as metadata rather than guessed into the .import options.
        if audio.loop:
            props.append("metadata/pacai_loop = true")
        return props

    def _components(self, node: Node, block: _Block) -> None:
        known = _known_components(node)
        if known:
            block.props.append(f"script = {self._script(known[0].type)}")
            block.props += _param_lines(known[0].type, known[0].params)
        unknown = [{"type": c.type, "params": c.params} for c in node.components
                   if c.type not in COMPONENTS]
        if unknown:
            block.props.append(f"metadata/pacai_components = {_variant(unknown)}")


def _group_names(groups: list[instancing.Group]) -> list[str]:
    return [f"{(g.primitive or '').capitalize()}Instances" for g in groups]


def _radius_height(s: Shape) -> list[str]:
    return [f"radius = {_f(s.radius)}", f"height = {_f(s.height)}"]


# Godot's primitive meshes and native collision shapes, each with the properties that give it
# the manifest primitive's (or the stretched shape's) dimensions. A capsule mesh is never
# shorter than its two caps (CapsuleMesh.height includes them).
_MESHES: dict[str, tuple[str, Callable[[Any], list[str]]]] = {
    "box": ("BoxMesh", lambda m: [f"size = {_vec3(m.size)}"]),
    "sphere": ("SphereMesh", lambda m: [f"radius = {_f(m.radius)}",
                                        f"height = {_f(2 * m.radius)}"]),
    "plane": ("PlaneMesh", lambda m: [f"size = Vector2({_f(m.size[0])}, {_f(m.size[1])})"]),
    "capsule": ("CapsuleMesh", lambda m: [f"radius = {_f(m.radius)}",
                                          f"height = {_f(max(m.height, 2 * m.radius))}"]),
    "cylinder": ("CylinderMesh", lambda m: [f"top_radius = {_f(m.radius)}",
                                            f"bottom_radius = {_f(m.radius)}",
                                            f"height = {_f(m.height)}"]),
}
_SHAPES: dict[str, tuple[str, Callable[[Shape], list[str]]]] = {
    "box": ("BoxShape3D", lambda s: [f"size = {_vec3(s.size)}"]),
    "sphere": ("SphereShape3D", lambda s: [f"radius = {_f(s.radius)}"]),
    "capsule": ("CapsuleShape3D", _radius_height),
    "cylinder": ("CylinderShape3D", _radius_height),
}


def _native_shape(shape: Shape, rest: Matrix3) -> Shape | None:
    """``shape`` stretched by ``rest`` as the same kind of native shape, or None when no
    native shape is exact: a sphere stretched unevenly, a capsule whose caps would stop
    being round, a cylinder with an oval section, any shear or rotation in ``rest``."""
    if rest == affine.IDENTITY3:
        return shape
    if not affine.is_diagonal(rest):
        return None
    sx, sy, sz = (abs(rest[i][i]) for i in range(3))
    if shape.kind == "box":
        return Shape("box", size=(shape.size[0] * sx, shape.size[1] * sy, shape.size[2] * sz))
    if not math.isclose(sx, sz, rel_tol=1e-6):
        return None
    if shape.kind == "cylinder":
        return Shape("cylinder", radius=shape.radius * sx, height=shape.height * sy)
    if not math.isclose(sx, sy, rel_tol=1e-6):
        return None
    return Shape(shape.kind, radius=shape.radius * sx, height=shape.height * sy)


_PRIMARY = ("body", "mesh", "instance", "light", "camera", "audio")


def _body_type(node: Node) -> str:
    """The physics class of a node with a body or collider.

    A trigger zone with a collider but no body is an ``Area3D`` (Unity makes that collider a
    trigger): a ``StaticBody3D`` would stop the player from ever entering the zone.
    """
    if node.body is None and any(c.type == "trigger_zone" for c in node.components):
        return "Area3D"
    return BODY_TYPES[node.body or "static"]


def _known_components(node: Node) -> list[Component]:
    return [c for c in node.components if c.type in COMPONENTS]


def _param_lines(type_: str, params: dict[str, Any]) -> list[str]:
    """The script's exported properties, then every given parameter it does not use, kept
    as ``metadata/pacai_params`` (bundle.json reports them too)."""
    lines = [f"{k} = {_param(v)}" for k, v in component_params(type_, params).items()]
    unused = {name: params[name] for name in unused_params(type_, params)}
    if unused:
        lines.append(f"metadata/pacai_params = {_variant(unused)}")
    return lines


def _light_props(light: Light) -> list[str]:
    """As Godot's glTF importer converts a light (``modules/gltf/extensions/gltf_light.cpp``,
    ``GLTFLight::to_node``): energy = intensity, colour sRGB-encoded, range clamped to 4096
    (a missing range is infinite), inverse-square attenuation (2), and the inner cone as the
    spot's angle attenuation by the importer's fitted curve ``0.2 / (1 - inner/outer) - 0.1``
    (Godot has one cone angle)."""
    props = [f"light_color = {_color(light.color)}", f"light_energy = {_f(light.intensity)}"]
    reach = min(light.range or INFINITE_LIGHT_RANGE, INFINITE_LIGHT_RANGE)
    if light.type == "directional":
        props.append("shadow_enabled = true")
    elif light.type == "point":
        props += [f"omni_range = {_f(reach)}", "omni_attenuation = 2"]
    else:
        ratio = min(light.inner_cone / light.outer_cone, MAX_CONE_RATIO)
        props += [f"spot_range = {_f(reach)}", "spot_attenuation = 2",
                  f"spot_angle = {_f(math.degrees(light.outer_cone))}",
                  f"spot_angle_attenuation = {_f(0.2 / (1 - ratio) - 0.1)}"]
    return props


# --- GDScript behaviours ---------------------------------------------------------------------

_TARGET = '''
func _target() -> Node3D:
	# Extra components live on a helper child and act on the node they belong to.
	if get_meta("pacai_acts_on_parent", false):
		return get_parent() as Node3D
	return self
'''

SCRIPTS: dict[str, str] = {
    "spin": '''extends Node3D
## Spins the node about a local axis (generated by pacai-export).

@export var degrees_per_second: float = 90.0
@export var axis: Vector3 = Vector3.UP
''' + _TARGET + '''

func _process(delta: float) -> void:
	if axis.length_squared() > 0.0:
		_target().rotate_object_local(axis.normalized(), deg_to_rad(degrees_per_second) * delta)
''',
    "bob": '''extends Node3D
## Moves the node up and down around its start position (generated by pacai-export).

@export var amplitude: float = 0.25
@export var frequency: float = 0.5

var _origin: Vector3
var _time: float = 0.0
''' + _TARGET + '''

func _ready() -> void:
	_origin = _target().position


func _process(delta: float) -> void:
	_time += delta
	_target().position = _origin + Vector3.UP * sin(_time * TAU * frequency) * amplitude
''',
    "player_controller": '''extends Node3D
## WASD / arrow keys to move, Space to jump (generated by pacai-export).

@export var speed: float = 5.0
@export var jump_velocity: float = 4.5

var _gravity: float = 9.8
''' + _TARGET + '''

func _ready() -> void:
	_gravity = float(ProjectSettings.get_setting("physics/3d/default_gravity", 9.8))
	_target().add_to_group("player")


func _physics_process(delta: float) -> void:
	var direction := _input_direction()
	var target := _target()
	if target is CharacterBody3D:
		var character := target as CharacterBody3D
		var motion := character.velocity
		motion.x = direction.x * speed
		motion.z = direction.z * speed
		if character.is_on_floor():
			if Input.is_physical_key_pressed(KEY_SPACE):
				motion.y = jump_velocity
		else:
			motion.y -= _gravity * delta
		character.velocity = motion
		character.move_and_slide()
	else:
		target.position += direction * speed * delta


func _input_direction() -> Vector3:
	var x := 0.0
	var z := 0.0
	if Input.is_physical_key_pressed(KEY_W) or Input.is_physical_key_pressed(KEY_UP):
		z += 1.0
	if Input.is_physical_key_pressed(KEY_S) or Input.is_physical_key_pressed(KEY_DOWN):
		z -= 1.0
	if Input.is_physical_key_pressed(KEY_A) or Input.is_physical_key_pressed(KEY_LEFT):
		x -= 1.0
	if Input.is_physical_key_pressed(KEY_D) or Input.is_physical_key_pressed(KEY_RIGHT):
		x += 1.0
	# Move relative to the active camera, flattened onto the ground; -Z is forward without one.
	var forward := Vector3.FORWARD
	var right := Vector3.RIGHT
	var camera := get_viewport().get_camera_3d()
	if camera != null:
		forward = Vector3(-camera.global_basis.z.x, 0.0, -camera.global_basis.z.z).normalized()
		right = Vector3(camera.global_basis.x.x, 0.0, camera.global_basis.x.z).normalized()
	return (forward * z + right * x).normalized()
''',
    "pickup": '''extends Node3D
## Disappears when a player comes within radius (generated by pacai-export).

signal picked_up(value: int)

@export var value: int = 1
@export var radius: float = 1.0
''' + _TARGET + '''

func _process(_delta: float) -> void:
	var target := _target()
	for player in get_tree().get_nodes_in_group("player"):
		if not (player is Node3D):
			continue
		if (player as Node3D).global_position.distance_to(target.global_position) <= radius:
			picked_up.emit(value)
			target.queue_free()
			return
''',
    "spawn_point": '''extends Node3D
## Marks a place where players spawn; find them in the "spawn_points" group.

@export var index: int = 0
''' + _TARGET + '''

func _ready() -> void:
	_target().add_to_group("spawn_points")
''',
    "trigger_zone": '''extends Node3D
## Emits entered/exited when a player enters or leaves a box (generated by pacai-export).

signal entered(body: Node3D, event: String)
signal exited(body: Node3D, event: String)

@export var size: Vector3 = Vector3(2, 2, 2)
@export var event: String = "triggered"

var _inside: Dictionary = {}
''' + _TARGET + '''

func _process(_delta: float) -> void:
	var target := _target()
	var box := AABB(-size * 0.5, size)
	for player in get_tree().get_nodes_in_group("player"):
		if not (player is Node3D):
			continue
		var body := player as Node3D
		var local := target.global_transform.affine_inverse() * body.global_position
		var inside := box.has_point(local)
		if inside and not _inside.has(body):
			_inside[body] = true
			entered.emit(body, event)
		elif not inside and _inside.has(body):
			_inside.erase(body)
			exited.emit(body, event)
''',
}
