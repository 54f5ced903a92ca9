"""Unreal Engine 5.4+ writer (§11): ``<Name>.uproject``, config, ``SourceArt/`` and a bootstrap.

Unreal levels are binary ``.umap`` files, so the level is built inside the editor on first
open by ``Content/Python/pacai_bootstrap.py`` from ``SourceArt/scene.json``. Everything
the bootstrap needs is converted here, in plain Python: locations in centimetres, Z-up,
left-handed (coords.ue_*), world transforms, primitive scales, light/camera aim, collider
sizes, movement components. What UE transforms cannot carry (shear) or has no basic shape for
(capsules) becomes a generated mesh in ``SourceArt/Generated/`` that the bootstrap imports.
The behaviours no built-in component has (player, pickup, trigger event) are the opt-in C++
plugin in ``Plugins/PacaiGameplay/`` (package data in ``ue_plugin/``), which the bootstrap
uses when it is compiled and loaded.
Repeated plain props (``instancing.py``) are one ``scene.json`` entry per group with a row per
instance, which the bootstrap turns into one actor holding Hierarchical Instanced Static Mesh
components.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import orjson

from ..manifest import (
    Asset,
    Box,
    Camera,
    Capsule,
    Light,
    Manifest,
    Material,
    Mesh,
    Node,
    Scene,
    Sphere,
)
from . import instancing, main_camera
from .base import BuildContext, Chunks, Files
from .components import COMPONENTS, component_params, unused_params
from .coords import (
    IDENTITY4,
    UE_CM_PER_M,
    UE_FORWARD_FIX,
    Matrix4,
    Quat,
    Shape,
    Trs,
    Vec3,
    bounds_box,
    collider_shape,
    compose,
    decompose,
    determinant,
    has_shear,
    matmul4,
    primitive_extent,
    quat_multiply,
    transform_point,
    transform_vector,
    trs,
    trs_matrix,
    ue_location,
    ue_rotation,
    ue_rotator,
    ue_scale,
    ue_vector,
)
from .ids import ue_guid
from .names import (
    UniqueNames,
    asset_filenames,
    safe_filename,
    ue_label,
    ue_project_name,
    unique_filenames,
)

ENGINE_ASSOCIATION = "5.4"
SCENE_JSON = "SourceArt/scene.json"
PLUGIN = "PacaiGameplay"  # Plugins/PacaiGameplay: the opt-in C++ gameplay classes
BOOTSTRAP_PATH = "Content/Python/pacai_bootstrap.py"
ASSET_FOLDERS = {"model": "Models", "texture": "Textures", "audio": "Audio"}
DEFAULT_LIGHT_RANGE_M = 10.0
MAX_FOLDER_PATH = 1000
ASPECT = 16.0 / 9.0  # UE cameras take a horizontal FOV; glTF's is vertical
# The engine's basic shapes (Engine/Content/BasicShapes): 100 cm across, centred, the plane
# flat in XY.
SHAPES = {
    "box": "/Engine/BasicShapes/Cube",
    "sphere": "/Engine/BasicShapes/Sphere",
    "plane": "/Engine/BasicShapes/Plane",
    "cylinder": "/Engine/BasicShapes/Cylinder",
}


def write(ctx: BuildContext) -> Files:
    """The Unreal project folder for ``ctx`` (paths relative to ``ue5/``)."""
    m = ctx.manifest
    name = ue_project_name(m.project.name)
    maps = unique_filenames(s.id for s in m.scenes)
    names = asset_filenames({aid: af.filename for aid, af in ctx.assets.items()})
    assets = {aid: f"SourceArt/{ASSET_FOLDERS[m.asset(aid).type]}/{names[aid]}"
              for aid in sorted(ctx.assets)}
    from . import gltf  # the scene as glTF binary, next to scene.json (§11: SourceArt/ glb)

    scene_glbs = {s.id: f"SourceArt/{maps[s.id]}.glb" for s in m.scenes}
    generated = _Generated()
    scenes_data = scene_json(ctx, maps, assets, generated)
    for scene_data in scenes_data["scenes"]:
        scene_data["glb"] = scene_glbs[scene_data["id"]]
    files: Files = {
        f"{name}.uproject": _uproject(m),
        "Config/DefaultEngine.ini": _engine_ini(maps[m.main_scene]),
        "Config/DefaultGame.ini": _game_ini(ctx, name),
        "Config/DefaultInput.ini": INPUT_INI,
        SCENE_JSON: _json(scenes_data),
        BOOTSTRAP_PATH: BOOTSTRAP.encode(),
    }
    for scene in m.scenes:
        # Built when read (the pipeline writes it after this returns): by then scene.json's
        # tree of dicts (~0.4 KB a node) is freed, so the two are never in memory together.
        files[scene_glbs[scene.id]] = Chunks(_glb_pieces(m, scene))
    files.update(generated.files)
    files.update(plugin_files())
    if not ctx.include_assets:
        placeholders = unique_filenames((a.id for a in m.assets if a.type == "model"), ".glb")
        for asset in m.assets:
            if asset.type == "model":
                placeholder = f"SourceArt/placeholders/{placeholders[asset.id]}"
                files[placeholder] = gltf.placeholder_glb(asset.id, asset.bounds)
    for asset_id, path in assets.items():
        files[path] = ctx.assets[asset_id].path
    return files


def _glb_pieces(manifest: Manifest, scene: Scene) -> Callable[[], Iterator[bytes]]:
    """What ``Chunks`` reads for a scene's ``.glb``: the file in one piece, built on demand."""
    from . import gltf

    def produce() -> Iterator[bytes]:
        yield gltf.scene_glb(manifest, scene)

    return produce


def _json(data: Any) -> bytes:
    """Canonical compact JSON (sorted keys, UTF-8) by orjson: scene.json is machine data for
    the bootstrap, and orjson writes it ~4x faster than ``json`` (half the writer's time at
    20,000 nodes). Every number here comes from validated, finite manifest values."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def _r(x: float) -> float:
    """Rounded to 6 decimals with no ``-0.0`` (``-0.0 + 0.0`` is ``0.0``): stable bytes."""
    return round(x, 6) + 0.0


def _v(v: tuple[float, ...]) -> list[float]:
    return [round(c, 6) + 0.0 for c in v]


# --- project files --------------------------------------------------------------------------


def _uproject(m: Manifest) -> bytes:
    data = {
        "FileVersion": 3,
        "EngineAssociation": ENGINE_ASSOCIATION,
        "Category": "",
        "Description": m.project.name,  # json.dumps escapes it
        "Plugins": [
            {"Name": "PythonScriptPlugin", "Enabled": True},
            {"Name": "EditorScriptingUtilities", "Enabled": True},
            # Opt-in: enabling it makes UE compile the plugin on open, which needs a C++
            # compiler; disabled, the project opens without one (docs/engines.md).
            {"Name": PLUGIN, "Enabled": False},
        ],
    }
    return (json.dumps(data, indent="\t", ensure_ascii=False) + "\n").encode()


def _engine_ini(main_map: str) -> bytes:
    path = f"/Game/Maps/{main_map}.{main_map}"
    text = (
        "[/Script/EngineSettings.GameMapsSettings]\n"
        f"EditorStartupMap={path}\n"
        f"GameDefaultMap={path}\n"
        "\n"
        "[/Script/PythonScriptPlugin.PythonScriptPluginSettings]\n"
        # Resolved against sys.path, which holds Content/Python.
        "+StartupScripts=pacai_bootstrap.py\n"
        "bDeveloperMode=False\n"
    )
    return text.encode()


def plugin_files() -> Files:
    """The PacaiGameplay plugin's sources (``Plugins/PacaiGameplay/``), shipped as they are in
    the package: the behaviours no built-in component has (player, pickup, trigger)."""
    root = resources.files("pacai_export.engines").joinpath("ue_plugin", PLUGIN)
    files: Files = {}
    stack = [(root, f"Plugins/{PLUGIN}")]
    while stack:
        folder, prefix = stack.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                stack.append((entry, f"{prefix}/{entry.name}"))
            else:
                files[f"{prefix}/{entry.name}"] = entry.read_bytes()
    return dict(sorted(files.items()))


# The legacy input mappings PacaiCharacter binds (UInputSettings, InputSettings.h: AxisMappings,
# ActionMappings; key names are EKeys', InputCoreTypes.h). The player input and component
# classes are set to the legacy ones so that BindAxis/BindAction are what processes input.
INPUT_INI = b"""[/Script/Engine.InputSettings]
DefaultPlayerInputClass=/Script/Engine.PlayerInput
DefaultInputComponentClass=/Script/Engine.InputComponent
+AxisMappings=(AxisName="PacaiMoveForward",Scale=1.000000,Key=W)
+AxisMappings=(AxisName="PacaiMoveForward",Scale=1.000000,Key=Up)
+AxisMappings=(AxisName="PacaiMoveForward",Scale=-1.000000,Key=S)
+AxisMappings=(AxisName="PacaiMoveForward",Scale=-1.000000,Key=Down)
+AxisMappings=(AxisName="PacaiMoveRight",Scale=1.000000,Key=D)
+AxisMappings=(AxisName="PacaiMoveRight",Scale=1.000000,Key=Right)
+AxisMappings=(AxisName="PacaiMoveRight",Scale=-1.000000,Key=A)
+AxisMappings=(AxisName="PacaiMoveRight",Scale=-1.000000,Key=Left)
+ActionMappings=(ActionName="PacaiJump",Key=SpaceBar)
"""


def _game_ini(ctx: BuildContext, name: str) -> bytes:
    p = ctx.manifest.project
    text = (
        "[/Script/EngineSettings.GeneralProjectSettings]\n"
        f"ProjectID={ue_guid(ctx.seed, name + '.uproject')}\n"
        f"ProjectName={ini_string(p.name)}\n"
        f"ProjectVersion={ini_string(p.version)}\n"
    )
    return text.encode()


def ini_string(text: str) -> str:
    """A free-text INI value as UE reads it back verbatim: one line (control characters
    dropped) in double quotes with ``\\`` and ``"`` escaped. UE's config parser
    (FConfigFile::ProcessInputFileContents in ConfigCacheIni.cpp) runs FParse::QuotedString
    on a value that starts with a quote, so brackets, ``;`` and ``=`` stay plain text."""
    line = " ".join("".join(" " if unicodedata.category(c)[0] == "C" else c for c in text).split())
    return '"' + line.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- scene.json -----------------------------------------------------------------------------


def ue_transform(t: Trs, extra_rotation: Quat | None = None) -> dict[str, Any]:
    """A glTF-frame TRS as UE location (cm), rotation (quat and rotator) and scale."""
    q = ue_rotation(t.rotation)
    if extra_rotation is not None:
        q = quat_multiply(q, extra_rotation)
    pitch, yaw, roll = ue_rotator(q)
    return {
        "location": _v(ue_location(t.translation)),
        "rotation": {"quat": _v(q), "pitch": _r(pitch), "yaw": _r(yaw), "roll": _r(roll)},
        "scale": _v(ue_scale(t.scale)),
    }


IDENTITY_PLACEMENT = ue_transform(Trs())


class _Generated:
    """Meshes the writer generates for the bootstrap to import (``SourceArt/Generated/``):
    capsules (UE has no basic capsule) and geometry baked in world space (shear)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, stem: str, data: bytes) -> str:
        path = f"SourceArt/Generated/{safe_filename(stem, '.glb')}"
        known = self.files.setdefault(path, data)
        assert known == data, f"two different meshes named {path}"
        return path


def scene_json(ctx: BuildContext, maps: dict[str, str], assets: dict[str, str],
               generated: _Generated | None = None) -> dict[str, Any]:
    """Everything the bootstrap builds, already in Unreal's frame and units."""
    m = ctx.manifest
    gen = generated if generated is not None else _Generated()
    scenes = [_scene(ctx, scene, maps[scene.id], assets, gen) for scene in m.scenes]
    return {
        # v3: bob movement as world offsets_cm; v4: instanced groups in scenes[].instanced (their
        # nodes are not in scenes[].nodes)
        "format": "pacai.ue-scene/v4",
        "frame": "unreal: Z up, left-handed, centimetres; rotators in degrees",
        "project": {"id": m.project.id, "name": m.project.name, "version": m.project.version},
        "main_map": f"/Game/Maps/{maps[m.main_scene]}",
        "assets": [_asset(ctx, aid, path) for aid, path in assets.items()],
        "generated": sorted(gen.files),
        "materials": [_material(mat, assets) for mat in m.materials],
        "scenes": scenes,
    }


def _asset(ctx: BuildContext, asset_id: str, path: str) -> dict[str, Any]:
    asset = ctx.manifest.asset(asset_id)
    out: dict[str, Any] = {"id": asset_id, "type": asset.type, "file": path}
    if asset.type == "texture":  # Unreal imports every texture as sRGB colour
        normal = any(mat.normal_texture == asset_id for mat in ctx.manifest.materials)
        out.update(srgb=asset.color_space == "srgb" and not normal, normal_map=normal)
    return out


def _material(mat: Material, assets: dict[str, str]) -> dict[str, Any]:
    # glTF's alpha: BLEND for alpha < 1 (what gltf.py writes); Epic's glTF importer maps BLEND
    # to a translucent material, so the instance gets the translucent master.
    return {
        "id": mat.id,
        "asset_name": "MI_" + safe_filename(mat.id),
        "master": "translucent" if mat.base_color[3] < 1.0 else "opaque",
        "base_color": _v(mat.base_color),  # linear, as FLinearColor; alpha is the opacity
        "base_color_texture": assets.get(mat.base_color_texture or ""),
        "normal_texture": assets.get(mat.normal_texture or ""),
        "metallic": mat.metallic,
        "roughness": mat.roughness,
        "emissive": _v(mat.emissive),
    }


def _scene(ctx: BuildContext, scene: Scene, map_name: str, assets: dict[str, str],
           gen: _Generated) -> dict[str, Any]:
    children: dict[str | None, list[Node]] = {}
    for node in scene.nodes:
        children.setdefault(node.parent, []).append(node)
    out: list[dict[str, Any]] = []
    labels = UniqueNames()
    main_id = main_camera(scene)

    groups = _Groups(ctx.manifest, scene, children, labels, gen, assets)
    # Depth first, children in manifest order, with an explicit stack: a parent chain may be
    # as deep as the manifest is long.
    stack: list[tuple[Iterator[Node], Matrix4, str]] = [
        (groups.kids(None, IDENTITY4, ""), IDENTITY4, "")]
    while stack:
        siblings, world, folder = stack[-1]
        current = next(siblings, None)
        if current is None:
            stack.pop()
            continue
        label = labels.take(ue_label(current.display_name))
        node_world = compose(world, trs(current.transform))
        data = _node(ctx, current, label, folder, node_world, world, assets, gen, scene.id)
        if current.camera is not None:
            data["camera"]["main"] = current.id == main_id
        out.append(data)
        inner = f"{folder}/{label}" if folder else label
        # an outliner folder path is an FName (at most 1023 characters): deeper nodes stay
        # in the deepest folder that fits
        inner = inner if len(inner) <= MAX_FOLDER_PATH else folder
        stack.append((groups.kids(current.id, node_world, inner), node_world, inner))
    env = scene.environment
    return {
        "id": scene.id,
        "name": scene.display_name,
        "map": f"/Game/Maps/{map_name}",
        "environment": {"sky_color": _v(env.sky_color), "ambient_color": _v(env.ambient_color),
                        "ambient_intensity": env.ambient_intensity},
        "nodes": out,
        "instanced": groups.out,
    }


class _Groups:
    """Instance groups (engines/instancing.py) as compact scene.json entries: one per group,
    written when its parent is reached (its world matrix and folder known then), with one
    row of location, rotator and scale per instance. A group with a sheared instance stays
    separate nodes, as ``instancing_report`` says."""

    def __init__(self, manifest: Manifest, scene: Scene, children: dict[str | None, list[Node]],
                 labels: UniqueNames, gen: _Generated, assets: dict[str, str]) -> None:
        self.manifest, self.children, self.labels, self.gen = manifest, children, labels, gen
        self.assets = assets
        self.by_parent: dict[str | None, list[instancing.Group]] = {}
        for group in instancing.scene_groups(manifest, scene):
            self.by_parent.setdefault(group.parent, []).append(group)
        self.out: list[dict[str, Any]] = []

    def kids(self, parent: str | None, world: Matrix4, folder: str) -> Iterator[Node]:
        """``parent``'s children that stay nodes; its instanced groups go to ``out``."""
        kids = self.children.get(parent, [])
        taken: set[str] = set()
        for group in self.by_parent.get(parent, []):
            if instancing.trs_exact(group, world):
                self.out.append(self._entry(group, world, folder))
                taken.update(n.id for n in group.nodes)
        return iter([k for k in kids if k.id not in taken] if taken else kids)

    def _entry(self, group: instancing.Group, parent: Matrix4, folder: str) -> dict[str, Any]:
        """One instanced group: its mesh (basic shape, generated capsule, imported model or
        placeholder box), its material, and per instance the placement a single node gets
        (``_mesh``, ``_model``), in world space."""
        if group.first.mesh is not None:
            shape, file, rows = self._primitive(group.first.mesh,
                                                _instance_worlds(parent, group.nodes))
            name = group.first.mesh.primitive.capitalize()
        else:
            assert group.model is not None
            worlds = [compose(parent, trs(n.transform)) for n in group.nodes]
            shape, file, rows = _model_rows(self.manifest.asset(group.model), worlds,
                                            self.assets.get(group.model))
            name = group.model + " "
        return {"label": self.labels.take(ue_label(f"{name}Instances")), "folder": folder,
                "parent": group.parent, "primitive": group.primitive, "model": group.model,
                "material": group.material, "ids": [n.id for n in group.nodes],
                "instances": rows, "shape": shape, "file": file}

    def _primitive(self, mesh: Mesh, worlds: list[Trs]
                   ) -> tuple[str | None, str | None, list[list[float]]]:
        from . import gltf

        if mesh.primitive == "capsule":  # as _mesh: a real capsule, not a scaled basic shape
            stem = f"capsule_{_num(mesh.radius)}_{_num(mesh.height)}"
            file = self.gen.add(stem, gltf.primitive_glb(stem, mesh))
            return None, file, [_row(w) for w in worlds]
        extent = primitive_extent(mesh)
        return SHAPES[mesh.primitive], None, [_row(w, extent) for w in worlds]


def _instance_worlds(parent: Matrix4, nodes: tuple[Node, ...]) -> list[Trs]:
    """Each node's world TRS under ``parent``. Under a parent that is a rotation times a
    positive uniform scale (a forest's usual group) the TRS composes directly — translation
    through the matrix, rotations multiplied, scales times the parent's — which is exact and
    skips a 4x4 product and its decomposition per instance; otherwise the matrix way."""
    if not (instancing.similarity(parent) and determinant(parent) > 0):
        return [decompose(compose(parent, trs(n.transform))) for n in nodes]
    p = decompose(parent)
    k = p.scale[0]
    out = []
    for node in nodes:
        t = trs(node.transform)
        out.append(Trs(transform_point(parent, t.translation),
                       quat_multiply(p.rotation, t.rotation),
                       (k * t.scale[0], k * t.scale[1], k * t.scale[2])))
    return out


def _model_rows(asset: Asset, worlds: list[Matrix4], file: str | None
                ) -> tuple[str | None, str | None, list[list[float]]]:
    """A model group: the imported file (every static mesh of it) at each node's world
    transform, or (assets left out) the placeholder box, offset to the bounds' centre and
    scaled to their size, as ``_model`` places one node's."""
    if file is not None:
        return None, file, [_row(decompose(w)) for w in worlds]
    box = bounds_box(asset)
    offset = trs_matrix(Trs(box.center))
    rows = [_row(decompose(matmul4(w, offset)), box.size) for w in worlds]
    return SHAPES["box"], None, rows


def _row(world: Trs, size: Vec3 = (1.0, 1.0, 1.0)) -> list[float]:
    """An instance transform as nine numbers: UE location (cm), rotator (pitch, yaw, roll in
    degrees) and scale (times ``size``, the mesh's own extent), converted exactly as
    ``ue_transform`` converts a node's."""
    pitch, yaw, roll = ue_rotator(ue_rotation(world.rotation))
    return [*_v(ue_location(world.translation)), _r(pitch), _r(yaw), _r(roll),
            *_v(ue_scale(_mul(world.scale, size)))]


def _node(ctx: BuildContext, node: Node, label: str, folder: str, matrix: Matrix4,
          parent: Matrix4, assets: dict[str, str], gen: _Generated,
          scene_id: str) -> dict[str, Any]:
    asset = ctx.manifest.asset(node.model) if node.model else None
    world = decompose(matrix)
    sheared = has_shear(matrix)
    data: dict[str, Any] = {
        "id": node.id,
        "label": label,
        "parent": node.parent,
        "folder": folder,
        "transform": ue_transform(trs(node.transform)),
        "world": ue_transform(world),
        # False when the world matrix has shear: "world" is then the closest TRS, and the
        # node's geometry is baked into a generated mesh placed at identity.
        "world_exact": not sheared,
        "body": node.body,
        "collider": _collider(node, asset, matrix, gen, f"baked_{scene_id}.{node.id}"),
        "material": node.material,
        "components": [_component(c.type, c.params) for c in node.components],
    }
    movement = _movement(data["components"], parent, sheared)
    if movement:
        data["movement"] = movement
    # "." cannot be in a file name: safe_filename hashes the whole string, so scene "a",
    # node "b_c" and scene "a_b", node "c" stay apart.
    bake = f"baked_{scene_id}.{node.id}"
    if node.mesh is not None:
        data["mesh"] = _mesh(node, node.mesh, world, matrix, sheared, gen, bake)
    if node.model is not None:
        data["model"] = _model(node.model, asset, matrix, sheared, assets, gen, bake)
    if node.light is not None:
        data["light"] = _light(node.light)
        data["aim"] = ue_transform(world, UE_FORWARD_FIX)
    if node.camera is not None:
        data["camera"] = _camera(node.camera)
        data["aim"] = ue_transform(world, UE_FORWARD_FIX)
    if node.audio is not None:
        a = node.audio
        data["audio"] = {"asset": a.asset, "file": assets.get(a.asset), "autoplay": a.autoplay,
                         "loop": a.loop, "volume": a.volume}
    return data


def _mul(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] * b[0], a[1] * b[1], a[2] * b[2])


def _mesh(node: Node, mesh: Mesh, world: Trs, matrix: Matrix4, sheared: bool,
          gen: _Generated, bake: str) -> dict[str, Any]:
    """A basic shape scaled to the primitive, a generated capsule at true size, or (shear)
    the primitive baked in world space, placed at identity."""
    from . import gltf

    if sheared:
        path = gen.add(bake, gltf.primitive_glb(node.id, mesh, matrix))
        return {"primitive": mesh.primitive, "file": path, "placement": IDENTITY_PLACEMENT}
    if mesh.primitive == "capsule":
        # UE has no basic capsule and scaling a cylinder distorts the caps: a real capsule
        # of this radius and height, shared by every node with the same size.
        stem = f"capsule_{_num(mesh.radius)}_{_num(mesh.height)}"
        path = gen.add(stem, gltf.primitive_glb(stem, mesh))
        return {"primitive": "capsule", "file": path, "placement": ue_transform(world)}
    placement = ue_transform(Trs(world.translation, world.rotation,
                                 _mul(world.scale, primitive_extent(mesh))))
    return {"primitive": mesh.primitive, "shape": SHAPES[mesh.primitive],
            "placement": placement}


def _num(x: float) -> str:
    """A number for a file name, exact (``repr``): ``0.35`` → ``0p35``."""
    return repr(float(x)).replace(".", "p").replace("-", "m").replace("+", "")


def _model(asset_id: str, asset: Asset | None, matrix: Matrix4, sheared: bool,
           assets: dict[str, str], gen: _Generated, bake: str) -> dict[str, Any]:
    data: dict[str, Any] = {"asset": asset_id, "file": assets.get(asset_id)}
    if asset_id in assets:
        # Imported models keep the closest TRS: a user's model is not re-baked (known limit).
        data["exact"] = not sheared
        return data
    from . import gltf

    box = bounds_box(asset)
    offset = trs_matrix(Trs(box.center))
    placeholder = Box(primitive="box", size=box.size)
    if sheared:
        path = gen.add(bake + "_placeholder",
                       gltf.primitive_glb(asset_id, placeholder, matmul4(matrix, offset)))
        data["placeholder"] = {"file": path, "placement": IDENTITY_PLACEMENT}
    else:
        world = decompose(matmul4(matrix, offset))
        data["placeholder"] = {"shape": SHAPES["box"], "placement": ue_transform(
            Trs(world.translation, world.rotation, _mul(world.scale, box.size)))}
    return data


def _collider(node: Node, asset: Asset | None, matrix: Matrix4, gen: _Generated,
              bake: str) -> dict[str, Any] | None:
    """The collision shape in world space: a box, sphere or capsule component with UE's
    sizes (half extents, radius, half height including the caps, all in cm), or the basic
    Cylinder's own collision for cylinders (UE has no cylinder shape). Where no shape
    component fits — shear, or a sphere or capsule scaled unevenly (an ellipsoid, stretched
    caps) — a body that does not simulate gets the shape baked into a mesh used as its own
    collision (complex as simple); a simulated one keeps the closest shape (``exact: false``)."""
    shape = collider_shape(node, asset)
    if shape is None:
        return None
    local = matmul4(matrix, trs_matrix(Trs(shape.center)))
    center = decompose(local)
    s = tuple(abs(c) for c in center.scale)
    uniform = _same(s[0], s[1]) and _same(s[1], s[2])
    exact = not has_shear(matrix) and (shape.kind in ("box", "cylinder") or uniform)
    if not exact and node.body != "rigid" and shape.kind in BAKED_SHAPES:
        from . import gltf

        path = gen.add(bake + "_collider",
                       gltf.primitive_glb(node.id, BAKED_SHAPES[shape.kind](shape), local))
        return {"shape": "baked", "kind": shape.kind, "file": path,
                "placement": IDENTITY_PLACEMENT, "exact": True}
    out: dict[str, Any] = {"shape": shape.kind, "exact": exact, "placement": ue_transform(
        Trs(center.translation, center.rotation, (1.0, 1.0, 1.0)))}
    if shape.kind == "box":
        half = tuple(c * k / 2 * UE_CM_PER_M for c, k in zip(shape.size, s, strict=True))
        out.update(box_extent_cm=_v(ue_vector(half)))  # type: ignore[arg-type]
    elif shape.kind == "sphere":
        out.update(radius_cm=_r(shape.radius * max(s) * UE_CM_PER_M))
    elif shape.kind == "capsule":
        radius = shape.radius * max(s[0], s[2])
        half_height = max(shape.height * s[1] / 2, radius)
        out.update(radius_cm=_r(radius * UE_CM_PER_M),
                   half_height_cm=_r(half_height * UE_CM_PER_M))
    else:
        out.update(shape="mesh", exact=False)
    return out


def _box(shape: Shape) -> Mesh:
    return Box(primitive="box", size=shape.size)


def _sphere(shape: Shape) -> Mesh:
    return Sphere(primitive="sphere", radius=shape.radius)


def _capsule(shape: Shape) -> Mesh:
    return Capsule(primitive="capsule", radius=shape.radius, height=shape.height)


BAKED_SHAPES: dict[str, Callable[[Shape], Mesh]] = {
    "box": _box, "sphere": _sphere, "capsule": _capsule}


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6)


def _light(light: Light) -> dict[str, Any]:
    return {"type": light.type, "color": _v(light.color), "intensity": light.intensity,
            "range_cm": _r((light.range or DEFAULT_LIGHT_RANGE_M) * UE_CM_PER_M),
            "inner_cone_deg": _r(math.degrees(light.inner_cone)),
            "outer_cone_deg": _r(math.degrees(light.outer_cone))}


def _camera(camera: Camera) -> dict[str, Any]:
    hfov = 2 * math.atan(math.tan(camera.yfov / 2) * ASPECT)
    return {"projection": camera.projection, "fov_deg": _r(math.degrees(hfov)),
            "ortho_width_cm": _r(2 * camera.ymag * ASPECT * UE_CM_PER_M),
            "near_cm": _r(camera.znear * UE_CM_PER_M), "far_cm": _r(camera.zfar * UE_CM_PER_M)}


def _movement(components: list[dict[str, Any]], parent: Matrix4,
              sheared: bool) -> list[dict[str, Any]]:
    """``spin`` and ``bob`` as UE's built-in movement components, their parameters converted."""
    out: list[dict[str, Any]] = []
    for component in components:
        params = component["params"]
        if component["type"] == "spin":
            out.append(_spin(params["degrees_per_second"], tuple(params["axis"]), sheared))
        elif component["type"] == "bob" and params["frequency"] != 0:
            # sin(-x) = -sin(x): a negative frequency is the opposite amplitude
            sign = 1.0 if params["frequency"] > 0 else -1.0
            out.append(_bob(sign * params["amplitude"], abs(params["frequency"]), parent))
    return out


def _spin(degrees_per_second: float, axis: Vec3, sheared: bool) -> dict[str, Any]:
    """URotatingMovementComponent::RotationRate (deg/s as an FRotator, applied in the actor's
    local space): a turn about the node's glTF axis converted like any rotation
    (ConvertQuat), read back as pitch/yaw/roll per degree. About one of the node's axes it
    is exact; about another axis a rotator rate only approximates the axis."""
    length = math.sqrt(sum(c * c for c in axis))
    if length == 0.0:
        return {"component": "rotating", "rotation_rate": [0.0, 0.0, 0.0], "exact": True}
    unit = tuple(c / length for c in axis)
    half = math.radians(1.0) / 2  # one degree: the rotator of it is the rate per degree
    q = (unit[0] * math.sin(half), unit[1] * math.sin(half), unit[2] * math.sin(half),
         math.cos(half))
    pitch, yaw, roll = ue_rotator(ue_rotation(q))
    principal = sum(1 for c in unit if abs(c) > 1e-9) == 1
    return {"component": "rotating",
            "rotation_rate": _v((pitch * degrees_per_second, yaw * degrees_per_second,
                                 roll * degrees_per_second)),
            "exact": principal and not sheared}


# The largest gap between A sin(x) and the triangle wave through the same extremes and zeros,
# as a fraction of A: at cos(x) = 2/pi, sqrt(1 - 4/pi^2) - (2/pi) acos(2/pi) = 0.2105.
BOB_MAX_DEVIATION = math.sqrt(1 - 4 / math.pi**2) - 2 / math.pi * math.acos(2 / math.pi)


def _bob(amplitude: float, frequency: float, parent: Matrix4) -> dict[str, Any]:
    """UInterpToMovementComponent looping through 0, +A, 0, -A, 0 (relative to the start
    location) along the parent's up axis (what the other engines move along, scaled as the
    parent scales it), one loop per period. UInterpToMovementComponent::UpdateControlPoints
    gives each segment a share of Duration proportional to its length and ComputeMoveDelta
    lerps inside it (InterpToMovementComponent.cpp), so the speed along the path is constant
    whatever points are chosen, and it exposes no curve or easing (UE 5.6 stub): the motion is
    the triangle wave with the sine's extremes, period and zeros, at most 0.2105 A from
    ``A sin(2 pi f t)``. ``offsets_cm`` are world-axis offsets; the bootstrap's plan turns
    them into the moving actor's frame (ComputeMoveDelta rotates them by its rotation).
    ``amplitude_cm`` (the same up axis, world cm) and ``frequency_hz`` are the exact sine
    the plugin's UPacaiBobComponent follows when it is loaded."""
    up = ue_location(transform_vector(parent, (0.0, amplitude, 0.0)))
    offsets = [[0.0, 0.0, 0.0], _v(up), [0.0, 0.0, 0.0], _v(tuple(-c for c in up)),
               [0.0, 0.0, 0.0]]
    return {"component": "interp_to", "behaviour": "LOOP_RESET",
            "duration_s": _r(1.0 / frequency), "offsets_cm": offsets, "exact": False,
            "max_deviation_cm": _r(BOB_MAX_DEVIATION * math.sqrt(sum(c * c for c in up))),
            "amplitude_cm": _v(up), "frequency_hz": frequency}


def _component(type_: str, params: dict[str, Any]) -> dict[str, Any]:
    """A component with its parameters. Known ones get their defaults filled in (natural
    aliases resolved); what the generated constructs do not use is kept as given under
    ``extra_params`` (never dropped; ``bundle.json`` lists it too)."""
    if type_ not in COMPONENTS:
        return {"type": type_, "known": False, "params": params, "extra_params": {}}
    values = component_params(type_, params)
    extra = {k: params[k] for k in unused_params(type_, params)}
    return {"type": type_, "known": True,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
            "extra_params": extra}


# --- the bootstrap (runs inside the editor) ---------------------------------------------------

BOOTSTRAP = r'''"""Builds the levels from SourceArt/scene.json on the first editor open.

Runs from PythonScriptPluginSettings.StartupScripts. It imports SourceArt/ through the asset
tools (Interchange handles .glb in UE 5.4+), creates the master materials and one material
instance per manifest material, creates one level per scene, places actors (one per node part,
and one with instanced static mesh components per instanced group), saves, and writes
Saved/pacai_bootstrap.done so later opens do nothing. ``plan`` is pure Python (no ``unreal``)
so it can be tested outside the editor; the rest type-checks against UE's generated stub.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection
from typing import Any, TypeVar

try:
    import unreal
except ImportError:  # outside the editor: plan() needs no unreal
    pass

Action = dict[str, Any]

SCENE_JSON = "SourceArt/scene.json"
MARKER = "pacai_bootstrap.done"
MATERIALS = "/Game/Materials"
MASTERS = {"opaque": "M_PacaiOpaque", "translucent": "M_PacaiTranslucent"}
SKY_MASTER = "M_PacaiSky"
SPHERE = "/Engine/BasicShapes/Sphere"
WHITE_TEXTURE = "/Engine/EngineResources/WhiteSquareTexture"
FLAT_NORMAL = "/Engine/EngineMaterials/FlatNormal"
# The sky dome: the 100 cm basic sphere scaled to 2 km across, drawn by an unlit "IsSky"
# material in the sky colour that the SkyLight captures (Material.IsSky, Material.h).
SKY_SCALE = 2000.0
# ATriggerBox sets its box to InitBoxExtent(40, 40, 40) (Engine/Private/TriggerBox.cpp), so an
# unscaled TriggerBox is 80 cm a side (32 cm is UBoxComponent's own default, not the trigger's).
TRIGGER_BOX_CM = 80.0
MAX_TAG_VALUE = 256
CM_PER_M = 100.0
# The classes of the opt-in C++ plugin (Plugins/PacaiGameplay); absent unless it was compiled.
GAMEPLAY = "/Script/PacaiGameplay."
BUILT_WITH = "gameplay="  # the marker's second line: the plugin classes the levels used
GAMEPLAY_CLASSES = ("PacaiGameMode", "PacaiPlayerStart", "PacaiPickupComponent",
                    "PacaiTriggerComponent", "PacaiBobComponent")
ZERO = [0.0, 0.0, 0.0]
ONE = [1.0, 1.0, 1.0]


def plan(scene: dict[str, Any], loaded: Collection[str] = ()) -> list[Action]:
    """The actors to spawn for one scene of scene.json, as plain dicts (no unreal needed).
    ``loaded``: the plugin's classes the editor found (bob is exact with PacaiBobComponent)."""
    actions: list[Action] = []
    # Without a spawn point the player starts where the manifest puts the player.
    spawns = any(c["type"] == "spawn_point" for n in scene["nodes"] for c in n["components"])
    for node in scene["nodes"]:
        actions.extend(_node_actions(node, spawns, "PacaiBobComponent" in loaded))
    actions.extend(_instances_action(group) for group in scene.get("instanced", []))
    _player_starts(actions, level(scene))
    env = scene["environment"]
    actions.append({"kind": "sky", "label": "Sky", "folder": "", "tags": [],
                    "location": ZERO, "rotation": ZERO, "scale": [SKY_SCALE] * 3,
                    "color": env["sky_color"]})
    actions.append({"kind": "skylight", "label": "SkyLight", "folder": "", "tags": [],
                    "location": ZERO, "rotation": ZERO, "scale": ONE,
                    "color": env["ambient_color"], "intensity": env["ambient_intensity"]})
    return actions


def _instances_action(group: dict[str, Any]) -> Action:
    """One actor per instanced group, at the origin (instance transforms are world space);
    its tags hold the node ids by instance index (tag ``i + 1`` is instance ``i``)."""
    tags = ["pacai:instanced"] + ["pacai:id=" + _tag_text(i) for i in group["ids"]]
    return {"kind": "instances", "label": group["label"], "folder": group["folder"],
            "tags": tags, "ids": group["ids"], "location": ZERO, "rotation": ZERO,
            "scale": ONE, "mesh": group["shape"], "file": group["file"],
            "material": group["material"], "instances": group["instances"],
            "mobility": "movable", "collision": "NoCollision", "simulate": False}
def level(scene: dict[str, Any]) -> dict[str, Any]:
    """The level's game mode and player (first ``player_controller`` of the scene). Speeds go
    from m/s to cm/s: UCharacterMovementComponent::MaxWalkSpeed and JumpZVelocity are cm/s,
    and the jump is along +Z, UE's up, as glTF's +Y is (CharacterMovementComponent.h)."""
    for node in scene["nodes"]:
        for component in node["components"]:
            if component["type"] == "player_controller":
                params = component["params"]
                return {"game_mode": "PacaiGameMode", "player_node": node["id"],
                        "walk_speed": params["speed"] * CM_PER_M,
                        "jump_velocity": params["jump_velocity"] * CM_PER_M}
    return {"game_mode": None, "player_node": None}


def _player_starts(actions: list[Action], player: dict[str, Any]) -> None:
    """With a player controller, every PlayerStart becomes a PacaiPlayerStart carrying the
    player's speed and jump, and the player node's actors become the pawn's body."""
    if player["player_node"] is None:
        return
    own = [a for a in actions if a.get("node") == player["player_node"]
           and a["kind"] != "player_start"]
    body = _primary(own) if own else None
    if body is not None:
        _follow(own, body)
    properties = {"walk_speed": player["walk_speed"], "jump_velocity": player["jump_velocity"]}
    if body is not None and body.get("shape") == "capsule":
        # the pawn's capsule takes the player's (UCapsuleComponent::SetCapsuleSize: radius and
        # half height including the caps, cm), as Godot's and Unity's character keeps its own
        properties.update(capsule_radius=body["radius_cm"],
                          capsule_half_height=body["half_height_cm"])
    for action in actions:
        if action["kind"] == "player_start":
            action.update(gameplay_class="PacaiPlayerStart", properties=properties,
                          body=body["label"] if body is not None else None)


def _placement(node: dict[str, Any], transform: dict[str, Any], suffix: str = "") -> Action:
    rotation = transform["rotation"]
    return {"label": node["label"] + suffix, "folder": node["folder"], "node": node["id"],
            "location": list(transform["location"]),
            "rotation": [rotation["pitch"], rotation["yaw"], rotation["roll"]],
            "scale": list(transform["scale"]), "tags": []}


def _physics(body: str | None) -> dict[str, Any]:
    """Collision profile, mobility and simulation of a node's collision."""
    if body in (None, "static"):
        return {"mobility": "static", "collision": "BlockAll", "simulate": False}
    if body == "rigid":
        return {"mobility": "movable", "collision": "PhysicsActor", "simulate": True}
    if body == "character":
        return {"mobility": "movable", "collision": "Pawn", "simulate": False}
    return {"mobility": "movable", "collision": "BlockAllDynamic", "simulate": False}


def _visual_physics(node: dict[str, Any]) -> dict[str, Any]:
    """Visual meshes collide only when the collider is their own (a cylinder's hull);
    otherwise the collider actor does, and the visuals follow it."""
    collider = node.get("collider")
    if collider is None:
        return {"mobility": "movable", "collision": "NoCollision", "simulate": False}
    if collider["shape"] == "mesh":
        return _physics(node.get("body"))
    mobility = "static" if node.get("body") in (None, "static") else "movable"
    return {"mobility": mobility, "collision": "NoCollision", "simulate": False}


def _add(actions: list[Action], node: dict[str, Any], transform: dict[str, Any],
         suffix: str, **fields: Any) -> Action:
    action = _placement(node, transform, suffix if actions else "")
    action.update(fields)
    actions.append(action)
    return action


def _node_actions(node: dict[str, Any], spawns: bool, exact_bob: bool) -> list[Action]:
    actions: list[Action] = []
    world = node["world"]
    visual = _visual_physics(node)
    mesh = node.get("mesh")
    if mesh is not None:
        _add(actions, node, mesh["placement"], "", kind="mesh", mesh=mesh.get("shape"),
             file=mesh.get("file"), material=node.get("material"), **visual)
    model = node.get("model")
    if model is not None and model.get("file"):
        _add(actions, node, world, " Model", kind="model", file=model["file"], **visual)
    elif model is not None:
        box = model["placeholder"]
        _add(actions, node, box["placement"], " Placeholder", kind="mesh",
             mesh=box.get("shape"), file=box.get("file"), material=None, **visual)
    _collider_action(actions, node)
    if "light" in node:
        _add(actions, node, node["aim"], " Light", kind="light", light=node["light"], scale=ONE)
    if "camera" in node:
        _add(actions, node, node["aim"], " Camera", kind="camera", camera=node["camera"],
             scale=ONE)
    if "audio" in node:
        _add(actions, node, world, " Audio", kind="audio", audio=node["audio"], scale=ONE)
    actions.extend(_component_actions(node, world, bool(actions), spawns))
    if actions:
        actions[0]["tags"] = _tags(node["components"])
    if node.get("movement") and actions:
        _moving(actions, node["movement"], exact_bob)
    pickups = [c["params"] for c in node["components"] if c["type"] == "pickup"]
    if pickups and actions:
        primary = _primary(actions)
        _follow(actions, primary)  # collecting it destroys the primary and what is attached
        primary["gameplay"] = primary.get("gameplay", []) + [_pickup(p) for p in pickups]
    return actions


def _pickup(params: dict[str, Any]) -> dict[str, Any]:
    """UPacaiPickupComponent: the pawn within ``radius`` (m -> cm) collects it."""
    return {"class": "PacaiPickupComponent",
            "properties": {"value": int(params["value"]), "radius": params["radius"] * CM_PER_M}}


def _primary(actions: list[Action]) -> Action:
    """The node's actor that carries its behaviour: the collider, else its first actor."""
    return next((a for a in actions if a["kind"] == "collider"), actions[0])


def _follow(actions: list[Action], primary: Action) -> None:
    """The node's other actors attached to ``primary`` so they move (and go) with it; all
    of them movable."""
    for action in actions:
        if "mobility" in action:
            action["mobility"] = "movable"
        if action is not primary and action["kind"] != "player_start":
            action["attach_to"] = primary["label"]


def _moving(actions: list[Action], movement: list[dict[str, Any]], exact_bob: bool) -> None:
    """Movement components go on the node's primary actor, the others follow it. Bob's
    offsets are in world axes; UInterpToMovementComponent::ComputeMoveDelta rotates relative
    control points by the moving component's rotation (InterpToMovementComponent.cpp), so
    they are given in that actor's frame. With the plugin, bob is a UPacaiBobComponent
    instead: the exact sine on the root's relative location, whose frame is the world's for
    the unattached primary (so a spin on the same actor does not turn its axis)."""
    primary = _primary(actions)
    bobs = [spec for spec in movement if exact_bob and "amplitude_cm" in spec]
    primary["movement"] = [_in_actor_frame(spec, primary["rotation"]) for spec in movement
                           if not any(spec is bob for bob in bobs)]
    if bobs:
        primary["gameplay"] = primary.get("gameplay", []) + [
            {"class": "PacaiBobComponent", "properties": {
                "amplitude": spec["amplitude_cm"], "frequency": spec["frequency_hz"]}}
            for spec in bobs]
    _follow(actions, primary)


def _in_actor_frame(spec: dict[str, Any], rotation: list[float]) -> dict[str, Any]:
    if "offsets_cm" not in spec:
        return spec
    rows = _rotator_rows(*rotation)
    points = [[round(sum(o[i] * row[i] for i in range(3)), 6) + 0.0 for row in rows]
              for o in spec["offsets_cm"]]
    return dict(spec, control_points_cm=points)


def _rotator_rows(pitch: float, yaw: float, roll: float) -> list[list[float]]:
    """FRotationMatrix(FRotator(pitch, yaw, roll)) (RotationTranslationMatrix.h): its rows are
    the actor's X, Y, Z axes, so a world vector's local coordinates are its dot products."""
    sp, cp = math.sin(math.radians(pitch)), math.cos(math.radians(pitch))
    sy, cy = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
    sr, cr = math.sin(math.radians(roll)), math.cos(math.radians(roll))
    return [[cp * cy, cp * sy, sp],
            [sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp],
            [-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp]]


def _collider_action(actions: list[Action], node: dict[str, Any]) -> None:
    """A box, sphere or capsule collider as its own actor of the manifest's size; visual
    meshes of a simulated or moving body are attached to it so that they follow."""
    collider = node.get("collider")
    if collider is None or collider["shape"] == "mesh":
        return
    visuals = [a for a in actions if a["kind"] in ("mesh", "model")]
    action = _add(actions, node, collider["placement"], " Collider", kind="collider",
                  shape=collider["shape"], file=collider.get("file"),
                  box_extent_cm=collider.get("box_extent_cm"),
                  radius_cm=collider.get("radius_cm"),
                  half_height_cm=collider.get("half_height_cm"), scale=ONE,
                  **_physics(node.get("body")))
    if action["mobility"] == "movable":
        for visual in visuals:
            visual["attach_to"] = action["label"]


def _tags(components: list[dict[str, Any]]) -> list[str]:
    """Every component and every parameter as actor tags: nothing the manifest gives is lost."""
    tags = []
    for component in components:
        kind = _tag_text(component["type"])
        tags.append("pacai:" + kind)
        params = dict(component["params"])
        params.update(component.get("extra_params", {}))
        for name in sorted(params):
            value = json.dumps(params[name], sort_keys=True, ensure_ascii=False)
            if len(value) > MAX_TAG_VALUE:  # FName holds at most 1023 characters
                value = "<%d characters: see %s>" % (len(value), SCENE_JSON)
            tags.append("pacai:%s.%s=%s" % (kind, _tag_text(name), value))
    return tags


def _tag_text(text: str) -> str:
    """Free text for a tag: JSON string escapes (no control characters), bounded length."""
    return json.dumps(text[:MAX_TAG_VALUE], ensure_ascii=False)[1:-1]


def _component_actions(node: dict[str, Any], world: dict[str, Any], has_actor: bool,
                       spawns: bool) -> list[Action]:
    types = [c["type"] for c in node["components"]]
    actions: list[Action] = []
    if "spawn_point" in types or ("player_controller" in types and not spawns):
        action = _placement(node, world, " PlayerStart" if has_actor else "")
        action.update(kind="player_start", scale=ONE)
        actions.append(action)
    for component in node["components"]:
        if component["type"] == "trigger_zone":
            size = component["params"]["size"]
            # glTF (x, y, z) extents -> UE (x, z, y), metres -> cm, over the default box,
            # times the node's world scale (already in UE axes) like every other actor.
            extent = [size[0], size[2], size[1]]
            scale = [e * 100.0 / TRIGGER_BOX_CM * s for e, s in zip(extent, world["scale"])]
            action = _placement(node, world, " Trigger" if has_actor or actions else "")
            # UPacaiTriggerComponent: fires its event when the pawn enters or leaves the box
            action.update(kind="trigger_box", scale=scale, tags=_tags([component]), gameplay=[
                {"class": "PacaiTriggerComponent",
                 "properties": {"event_name": component["params"]["event"]}}])
            actions.append(action)
    if not has_actor and not actions and types:
        action = _placement(node, world)
        action.update(kind="marker", scale=ONE)
        actions.append(action)
    return actions


# --- editor side ------------------------------------------------------------------------------


def main() -> None:
    """Build every level once; do nothing if the marker exists."""
    project = unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_dir())
    saved = unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_saved_dir())
    marker = os.path.join(saved, MARKER)
    if os.path.exists(marker):
        _plugin_since(marker)
        return
    with open(os.path.join(project, SCENE_JSON), encoding="utf-8") as handle:
        data = json.load(handle)
    imported = _import_assets(project, data)
    masters = {kind: _master(name, kind == "translucent") for kind, name in MASTERS.items()}
    materials = {m["id"]: _material(m, masters[m["master"]], imported)
                 for m in data["materials"]}
    levels = unreal.get_editor_subsystem(unreal.LevelEditorSubsystem)
    assert levels is not None
    classes = _gameplay_classes()
    if not classes:
        unreal.log("pacai: PacaiGameplay plugin not loaded: pickups, triggers and the "
                   "player controller stay actor tags and bob moves as a triangle wave "
                   "(enable it in the .uproject; it needs a C++ compiler)")
    for scene in data["scenes"]:
        if unreal.EditorAssetLibrary.does_asset_exist(scene["map"]):
            continue  # built by an earlier, interrupted run
        levels.new_level(scene["map"])
        sky = _sky_material(scene)
        spawned: dict[str, unreal.Actor] = {}
        actions = plan(scene, classes)
        for action in actions:
            spawned[action["label"]] = _apply(action, imported, materials, sky, classes)
        _attach(actions, spawned)
        _behaviours(scene, actions, spawned, classes)
        levels.save_current_level()
    levels.load_level(data["main_map"])
    os.makedirs(saved, exist_ok=True)
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("done\n%s%s\n" % (BUILT_WITH, ",".join(sorted(classes)) or "none"))
    unreal.log("pacai: levels built from " + SCENE_JSON)


def _plugin_since(marker: str) -> None:
    """The levels are built once; if the plugin was enabled after they were built without
    it, say how to rebuild them with it (nothing is deleted for the user)."""
    with open(marker, encoding="utf-8") as handle:
        built_without = BUILT_WITH + "none" in handle.read().splitlines()
    if built_without and _gameplay_classes():
        unreal.log_warning("pacai: the PacaiGameplay plugin is loaded but the levels were "
                           "built without it: delete Content/Maps and Saved/" + MARKER +
                           ", then reopen the project to rebuild them with it")


def _import_file(filename: str, destination: str) -> str:
    task = unreal.AssetImportTask()
    task.set_editor_property("filename", filename)
    task.set_editor_property("destination_path", destination)
    task.set_editor_property("automated", True)
    task.set_editor_property("replace_existing", True)
    task.set_editor_property("save", True)
    tasks = unreal.Array.cast(unreal.AssetImportTask, [task])
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks(tasks)
    return destination


def _import_assets(project: str, data: dict[str, Any]) -> dict[str, list[unreal.Object]]:
    """Import SourceArt files (assets, then generated meshes); returns {file: [assets]}."""
    imported: dict[str, list[unreal.Object]] = {}
    files = [(a["file"], a["type"], a) for a in data["assets"]]
    files += [(path, "generated", None) for path in data["generated"]]
    for path, kind, asset in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        folder = {"model": "/Game/Models/", "texture": "/Game/Textures/",
                  "audio": "/Game/Audio/", "generated": "/Game/Generated/"}[kind] + stem
        _import_file(os.path.join(project, path), folder)
        loaded = [unreal.EditorAssetLibrary.load_asset(p)
                  for p in unreal.EditorAssetLibrary.list_assets(folder, True, False)]
        if asset is not None and kind == "texture":
            for texture in loaded:
                _texture_settings(texture, asset)
        imported[path] = loaded
    return imported


def _texture_settings(texture: unreal.Object, asset: dict[str, Any]) -> None:
    """Linear data is not sRGB; a normal map gets normal-map compression."""
    if not isinstance(texture, unreal.Texture2D):
        return
    if asset["normal_map"]:
        texture.set_editor_property("compression_settings",
                                    unreal.TextureCompressionSettings.TC_NORMALMAP)
    texture.set_editor_property("srgb", asset["srgb"])
    unreal.EditorAssetLibrary.save_loaded_asset(texture)


def _existing(path: str) -> unreal.Object | None:
    if unreal.EditorAssetLibrary.does_asset_exist(path):
        return unreal.EditorAssetLibrary.load_asset(path)
    return None


# A material asset's class, for _material_asset (a string bound: unreal is absent outside the
# editor, where plan() runs).
_AssetT = TypeVar("_AssetT", bound="unreal.Object")


def _material_asset(name: str, cls: type[_AssetT],
                    factory: type[unreal.Factory]) -> tuple[_AssetT, bool]:
    """The asset ``name`` under MATERIALS: the one an earlier open made, or a new one made by
    ``factory`` (AssetTools.CreateAsset); True when it is new and still to be filled in."""
    found = _existing(MATERIALS + "/" + name)
    if isinstance(found, cls):
        return found, False
    created = unreal.AssetToolsHelpers.get_asset_tools().create_asset(
        name, MATERIALS, cls.static_class(), factory())
    assert isinstance(created, cls)
    return created, True


def _expression(material: unreal.Material, cls: type[unreal.MaterialExpression], x: int,
                y: int, **properties: Any) -> unreal.MaterialExpression:
    node = unreal.MaterialEditingLibrary.create_material_expression(
        material, cls.static_class(), x, y)
    for key, value in properties.items():
        node.set_editor_property(key, value)
    return node


def _master(name: str, translucent: bool) -> unreal.Material:
    """The parameterised master: BaseColor x BaseColorTexture (alpha is the opacity when
    translucent), Metallic, Roughness, Emissive and NormalTexture, as glTF's metallic-
    roughness model; every material instance only sets parameters."""
    material, new = _material_asset(name, unreal.Material, unreal.MaterialFactoryNew)
    if not new:
        return material
    if translucent:
        material.set_editor_property("blend_mode", unreal.BlendMode.BLEND_TRANSLUCENT)
        material.set_editor_property("translucency_lighting_mode",
                                     unreal.TranslucencyLightingMode.TLM_SURFACE)
    lib = unreal.MaterialEditingLibrary
    vector = unreal.MaterialExpressionVectorParameter
    scalar = unreal.MaterialExpressionScalarParameter
    texture = unreal.MaterialExpressionTextureSampleParameter2D
    color = _expression(material, vector, -800, 0, parameter_name="BaseColor",
                        default_value=unreal.LinearColor(1.0, 1.0, 1.0, 1.0))
    color_map = _expression(material, texture, -800, 200, parameter_name="BaseColorTexture",
                            texture=unreal.EditorAssetLibrary.load_asset(WHITE_TEXTURE))
    tint = _expression(material, unreal.MaterialExpressionMultiply, -400, 100)
    lib.connect_material_expressions(color, "", tint, "A")
    lib.connect_material_expressions(color_map, "RGB", tint, "B")
    lib.connect_material_property(tint, "", unreal.MaterialProperty.MP_BASE_COLOR)
    if translucent:
        alpha = _expression(material, unreal.MaterialExpressionMultiply, -400, 300)
        lib.connect_material_expressions(color, "A", alpha, "A")
        lib.connect_material_expressions(color_map, "A", alpha, "B")
        lib.connect_material_property(alpha, "", unreal.MaterialProperty.MP_OPACITY)
    for y, param, prop in ((400, "Metallic", unreal.MaterialProperty.MP_METALLIC),
                           (500, "Roughness", unreal.MaterialProperty.MP_ROUGHNESS)):
        value = _expression(material, scalar, -400, y, parameter_name=param)
        lib.connect_material_property(value, "", prop)
    emissive = _expression(material, vector, -400, 600, parameter_name="Emissive",
                           default_value=unreal.LinearColor(0.0, 0.0, 0.0, 1.0))
    lib.connect_material_property(emissive, "", unreal.MaterialProperty.MP_EMISSIVE_COLOR)
    normal = _expression(material, texture, -800, 700, parameter_name="NormalTexture",
                         sampler_type=unreal.MaterialSamplerType.SAMPLERTYPE_NORMAL,
                         texture=unreal.EditorAssetLibrary.load_asset(FLAT_NORMAL))
    lib.connect_material_property(normal, "RGB", unreal.MaterialProperty.MP_NORMAL)
    lib.recompile_material(material)
    unreal.EditorAssetLibrary.save_loaded_asset(material)
    return material


def _instance(name: str, parent: unreal.Material) -> unreal.MaterialInstanceConstant:
    instance, new = _material_asset(name, unreal.MaterialInstanceConstant,
                                    unreal.MaterialInstanceConstantFactoryNew)
    if new:
        unreal.MaterialEditingLibrary.set_material_instance_parent(instance, parent)
    return instance


def _texture(imported: dict[str, list[unreal.Object]], path: str | None) -> unreal.Texture | None:
    return next((t for t in imported.get(path or "", []) if isinstance(t, unreal.Texture)), None)


def _material(spec: dict[str, Any], master: unreal.Material,
              imported: dict[str, list[unreal.Object]]) -> unreal.MaterialInstanceConstant:
    material = _instance(spec["asset_name"], master)
    lib = unreal.MaterialEditingLibrary
    r, g, b, a = spec["base_color"]
    lib.set_material_instance_vector_parameter_value(material, unreal.Name("BaseColor"),
                                                     unreal.LinearColor(r, g, b, a))
    er, eg, eb = spec["emissive"]
    lib.set_material_instance_vector_parameter_value(material, unreal.Name("Emissive"),
                                                     unreal.LinearColor(er, eg, eb, 1.0))
    lib.set_material_instance_scalar_parameter_value(material, unreal.Name("Metallic"),
                                                     spec["metallic"])
    lib.set_material_instance_scalar_parameter_value(material, unreal.Name("Roughness"),
                                                     spec["roughness"])
    for param, key in (("BaseColorTexture", "base_color_texture"),
                       ("NormalTexture", "normal_texture")):
        texture = _texture(imported, spec[key])
        if texture is not None:
            lib.set_material_instance_texture_parameter_value(material, unreal.Name(param),
                                                              texture)
    unreal.EditorAssetLibrary.save_loaded_asset(material)
    return material


def _sky_material(scene: dict[str, Any]) -> unreal.MaterialInstanceConstant:
    """An instance of the unlit sky master in this scene's sky colour."""
    master, new = _material_asset(SKY_MASTER, unreal.Material, unreal.MaterialFactoryNew)
    if new:
        _fill_sky_master(master)
    name = "MI_Sky_" + scene["map"].rsplit("/", 1)[-1]
    material = _instance(name, master)
    r, g, b = scene["environment"]["sky_color"]
    unreal.MaterialEditingLibrary.set_material_instance_vector_parameter_value(
        material, unreal.Name("SkyColor"), unreal.LinearColor(r, g, b, 1.0))
    unreal.EditorAssetLibrary.save_loaded_asset(material)
    return material


def _fill_sky_master(material: unreal.Material) -> None:
    material.set_editor_property("shading_model", unreal.MaterialShadingModel.MSM_UNLIT)
    material.set_editor_property("two_sided", True)  # seen from inside the dome
    material.set_editor_property("is_sky", True)
    color = _expression(material, unreal.MaterialExpressionVectorParameter, -400, 0,
                        parameter_name="SkyColor",
                        default_value=unreal.LinearColor(0.5, 0.7, 1.0, 1.0))
    unreal.MaterialEditingLibrary.connect_material_property(
        color, "", unreal.MaterialProperty.MP_EMISSIVE_COLOR)
    unreal.MaterialEditingLibrary.recompile_material(material)
    unreal.EditorAssetLibrary.save_loaded_asset(material)


def _spawn(cls: type[unreal.Actor], action: Action) -> unreal.Actor:
    return _spawn_class(cls.static_class(), action)


def _spawn_class(cls: unreal.Class, action: Action) -> unreal.Actor:
    actors = unreal.get_editor_subsystem(unreal.EditorActorSubsystem)
    assert actors is not None
    pitch, yaw, roll = action["rotation"]
    actor = actors.spawn_actor_from_class(cls,
                                          unreal.Vector(*action["location"]),
                                          unreal.Rotator(roll=roll, pitch=pitch, yaw=yaw))
    actor.set_actor_scale3d(unreal.Vector(*action["scale"]))
    actor.set_actor_label(action["label"])
    if action["folder"]:
        actor.set_folder_path(unreal.Name(action["folder"]))
    if action["tags"]:
        actor.set_editor_property("tags", [unreal.Name(t) for t in action["tags"]])
    return actor


def _mobility(action: Action) -> unreal.ComponentMobility:
    if action["mobility"] == "static":
        return unreal.ComponentMobility.STATIC
    return unreal.ComponentMobility.MOVABLE


def _collision(component: unreal.PrimitiveComponent, action: Action) -> None:
    component.set_mobility(_mobility(action))
    component.set_collision_profile_name(unreal.Name(action["collision"]))
    if action["simulate"]:
        component.set_simulate_physics(True)


def _mesh_actor(action: Action, mesh: unreal.StaticMesh,
                material: unreal.MaterialInterface | None) -> unreal.Actor:
    actor = _spawn(unreal.StaticMeshActor, action)
    assert isinstance(actor, unreal.StaticMeshActor)
    component = actor.static_mesh_component
    component.set_static_mesh(mesh)
    if material is not None:
        component.set_material(0, material)
    _collision(component, action)
    return actor


def _meshes(action: Action, imported: dict[str, list[unreal.Object]]) -> list[unreal.StaticMesh]:
    if action.get("mesh"):
        mesh = unreal.EditorAssetLibrary.load_asset(action["mesh"])
        return [mesh] if isinstance(mesh, unreal.StaticMesh) else []
    return [a for a in imported.get(action["file"], []) if isinstance(a, unreal.StaticMesh)]


def _apply(action: Action, imported: dict[str, list[unreal.Object]],
           materials: dict[str, unreal.MaterialInstanceConstant],
           sky: unreal.MaterialInstanceConstant,
           classes: dict[str, unreal.Class]) -> unreal.Actor:
    kind = action["kind"]
    special = classes.get(action.get("gameplay_class") or "")
    if special is not None:
        actor = _spawn_class(special, action)
        for name, value in action["properties"].items():
            actor.set_editor_property(name, value)
        return actor
    if kind in ("mesh", "model"):
        # Interchange bakes node transforms into the static meshes of a .glb, so every
        # mesh of the file goes at the node's transform (identity for baked geometry).
        material = materials.get(action.get("material") or "")
        spawned = [_mesh_actor(action, mesh, material) for mesh in _meshes(action, imported)]
        return spawned[0] if spawned else _spawn(unreal.TargetPoint, action)
    if kind == "instances":
        return _instanced(action, imported, materials)
    if kind == "collider":
        return _collider(action, imported)
    if kind == "light":
        return _light(action)
    if kind == "camera":
        return _camera(action)
    if kind == "audio":
        return _audio(action, imported)
    if kind == "sky":
        return _sky(action, sky)
    if kind == "skylight":
        return _skylight(action)
    cls = {"player_start": unreal.PlayerStart, "trigger_box": unreal.TriggerBox}.get(
        kind, unreal.TargetPoint)
    return _spawn(cls, action)


def _instanced(action: Action, imported: dict[str, list[unreal.Object]],
               materials: dict[str, unreal.MaterialInstanceConstant]) -> unreal.Actor:
    """A StaticMeshActor at the origin (its own component left empty) holding a
    UHierarchicalInstancedStaticMeshComponent: one draw per cluster of instances, culled by
    its cluster tree (HierarchicalInstancedStaticMeshComponent.h). Instances are added with
    UInstancedStaticMeshComponent::AddInstances(Transforms, bShouldReturnIndices,
    bWorldSpace=true) (InstancedStaticMeshComponent.h)."""
    actor = _spawn(unreal.StaticMeshActor, action)
    material = materials.get(action.get("material") or "")
    transforms = unreal.Array.cast(unreal.Transform, [
        unreal.Transform(unreal.Vector(x, y, z), unreal.Rotator(roll=roll, pitch=pitch, yaw=yaw),
                         unreal.Vector(sx, sy, sz))
        for x, y, z, pitch, yaw, roll, sx, sy, sz in action["instances"]])
    # A model's file may import as several static meshes (Interchange bakes its node
    # transforms into them): one component per mesh, all with the same instances.
    for mesh in _meshes(action, imported):
        component = _add_component(
            actor, unreal.HierarchicalInstancedStaticMeshComponent.static_class())
        if not isinstance(component, unreal.HierarchicalInstancedStaticMeshComponent):
            continue
        component.set_static_mesh(mesh)
        if material is not None:
            component.set_material(0, material)
        _collision(component, action)
        component.add_instances(transforms, False, world_space=True)
    return actor


def _collider(action: Action, imported: dict[str, list[unreal.Object]]) -> unreal.Actor:
    """ATriggerBox/Sphere/Capsule are the engine's actors whose root is a Box/Sphere/
    CapsuleComponent; with a blocking profile and no overlap events they are colliders."""
    if action["shape"] == "baked":
        return _baked_collider(action, imported)
    cls = {"box": unreal.TriggerBox, "sphere": unreal.TriggerSphere,
           "capsule": unreal.TriggerCapsule}[action["shape"]]
    actor = _spawn(cls, action)
    assert isinstance(actor, unreal.TriggerBase)
    shape = actor.collision_component
    if isinstance(shape, unreal.BoxComponent):
        shape.set_box_extent(unreal.Vector(*action["box_extent_cm"]))
    elif isinstance(shape, unreal.SphereComponent):
        shape.set_sphere_radius(action["radius_cm"])
    elif isinstance(shape, unreal.CapsuleComponent):
        shape.set_capsule_size(action["radius_cm"], action["half_height_cm"])
    shape.set_editor_property("generate_overlap_events", False)
    _collision(shape, action)
    return actor


def _baked_collider(action: Action, imported: dict[str, list[unreal.Object]]) -> unreal.Actor:
    """A sheared shape baked into a mesh: hidden in game, its triangles are its collision
    (CTF_UseComplexAsSimple, BodySetup.h; valid for bodies that do not simulate)."""
    meshes = _meshes(action, imported)
    for mesh in meshes:
        body = mesh.get_editor_property("body_setup")
        if isinstance(body, unreal.BodySetup):
            body.set_editor_property("collision_trace_flag",
                                     unreal.CollisionTraceFlag.CTF_USE_COMPLEX_AS_SIMPLE)
            unreal.EditorAssetLibrary.save_loaded_asset(mesh)
    spawned = [_mesh_actor(action, mesh, None) for mesh in meshes]
    actor = spawned[0] if spawned else _spawn(unreal.TargetPoint, action)
    actor.set_actor_hidden_in_game(True)
    return actor


def _attach(actions: list[Action], spawned: dict[str, unreal.Actor]) -> None:
    """Visual meshes of moving bodies follow their collider (which simulates or moves)."""
    keep = unreal.AttachmentRule.KEEP_WORLD
    for action in actions:
        parent = action.get("attach_to")
        if parent is not None:
            spawned[action["label"]].attach_to_actor(spawned[parent], unreal.Name("None"),
                                                     keep, keep, keep, False)


def _gameplay_classes() -> dict[str, unreal.Class]:
    """The PacaiGameplay plugin's classes that are loaded: none when the plugin is disabled
    (its default) or was not compiled; the level then keeps those components as tags."""
    found = {name: unreal.load_class(None, GAMEPLAY + name) for name in GAMEPLAY_CLASSES}
    return {name: cls for name, cls in found.items() if cls is not None}


def _behaviours(scene: dict[str, Any], actions: list[Action],
                spawned: dict[str, unreal.Actor], classes: dict[str, unreal.Class]) -> None:
    """Movement and gameplay components on the placed actors, the player's body and the
    level's game mode (the last two only with the plugin's classes)."""
    for action in actions:
        actor = spawned[action["label"]]
        for spec in action.get("movement", []):
            _add_movement(actor, spec)
        for spec in action.get("gameplay", []):
            _add_gameplay(actor, spec, classes)
        body = action.get("body")
        if body is not None and action.get("gameplay_class") in classes:
            actor.set_editor_property("body", spawned[body])
    mode = classes.get(level(scene)["game_mode"] or "")
    if mode is not None:
        editor = unreal.get_editor_subsystem(unreal.UnrealEditorSubsystem)
        assert editor is not None
        settings = editor.get_editor_world().get_world_settings()
        settings.set_editor_property("default_game_mode", mode)


def _add_gameplay(actor: unreal.Actor, spec: dict[str, Any],
                  classes: dict[str, unreal.Class]) -> None:
    cls = classes.get(spec["class"])
    component = _add_component(actor, cls) if cls is not None else None
    if component is not None:
        for name, value in spec["properties"].items():
            # a list is an FVector property (PacaiBobComponent's Amplitude, cm)
            component.set_editor_property(
                name, unreal.Vector(*value) if isinstance(value, list) else value)


def _add_component(actor: unreal.Actor, cls: unreal.Class) -> unreal.Object | None:
    """A component added to a placed actor through the subobject data subsystem (the Details
    panel's "Add Component"), under the actor's root."""
    subsystem = unreal.get_engine_subsystem(unreal.SubobjectDataSubsystem)
    assert subsystem is not None
    handles = subsystem.k2_gather_subobject_data_for_instance(actor)
    params = unreal.AddNewSubobjectParams(parent_handle=handles[0], new_class=cls)
    handle, failure = subsystem.add_new_subobject(params)
    if not failure.is_empty():
        unreal.log_warning("pacai: %s: %s" % (actor.get_actor_label(), failure))
        return None
    library = unreal.SubobjectDataBlueprintFunctionLibrary
    return library.get_object(library.get_data(handle))


def _add_movement(actor: unreal.Actor, spec: dict[str, Any]) -> None:
    """A built-in movement component, acting on the actor's root."""
    cls = {"rotating": unreal.RotatingMovementComponent,
           "interp_to": unreal.InterpToMovementComponent}[spec["component"]]
    component = _add_component(actor, cls.static_class())
    if isinstance(component, unreal.RotatingMovementComponent):
        pitch, yaw, roll = spec["rotation_rate"]
        component.set_editor_property("rotation_rate",
                                      unreal.Rotator(roll=roll, pitch=pitch, yaw=yaw))
        component.set_editor_property("rotation_in_local_space", True)
    elif isinstance(component, unreal.InterpToMovementComponent):
        points = [unreal.InterpControlPoint(unreal.Vector(*p), True)
                  for p in spec["control_points_cm"]]
        component.set_editor_property("control_points", points)
        component.set_editor_property("duration", spec["duration_s"])
        component.set_editor_property("behaviour_type",
                                      unreal.InterpToBehaviourType.LOOP_RESET)


def _light(action: Action) -> unreal.Actor:
    spec = action["light"]
    cls = {"directional": unreal.DirectionalLight, "point": unreal.PointLight,
           "spot": unreal.SpotLight}[spec["type"]]
    actor = _spawn(cls, action)
    assert isinstance(actor, unreal.Light)
    component = actor.light_component
    component.set_intensity(spec["intensity"])
    r, g, b = spec["color"]
    component.set_light_color(unreal.LinearColor(r, g, b, 1.0))
    if isinstance(component, unreal.LocalLightComponent):
        component.set_attenuation_radius(spec["range_cm"])
    if isinstance(component, unreal.SpotLightComponent):
        component.set_inner_cone_angle(spec["inner_cone_deg"])
        component.set_outer_cone_angle(spec["outer_cone_deg"])
    return actor


def _camera(action: Action) -> unreal.Actor:
    spec = action["camera"]
    actor = _spawn(unreal.CameraActor, action)
    assert isinstance(actor, unreal.CameraActor)
    component = actor.camera_component
    component.set_editor_property("field_of_view", spec["fov_deg"])
    if spec["projection"] == "orthographic":
        component.set_editor_property("projection_mode", unreal.CameraProjectionMode.ORTHOGRAPHIC)
        component.set_editor_property("ortho_width", spec["ortho_width_cm"])
    if spec.get("main"):
        # ACameraActor::AutoActivateForPlayer: player 0's controller views through this
        # camera when play starts (CameraActor.h).
        actor.set_editor_property("auto_activate_for_player", unreal.AutoReceiveInput.PLAYER0)
    return actor


def _audio(action: Action, imported: dict[str, list[unreal.Object]]) -> unreal.Actor:
    spec = action["audio"]
    actor = _spawn(unreal.AmbientSound, action)
    assert isinstance(actor, unreal.AmbientSound)
    component = actor.audio_component
    sounds = [a for a in imported.get(spec["file"], []) if isinstance(a, unreal.SoundWave)]
    if sounds:
        sounds[0].set_editor_property("looping", spec["loop"])
        component.set_editor_property("sound", sounds[0])
    component.set_editor_property("auto_activate", spec["autoplay"])
    component.set_editor_property("volume_multiplier", spec["volume"])
    return actor


def _sky(action: Action, material: unreal.MaterialInstanceConstant) -> unreal.Actor:
    sphere = unreal.EditorAssetLibrary.load_asset(SPHERE)
    assert isinstance(sphere, unreal.StaticMesh)
    action = dict(action, mobility="static", collision="NoCollision", simulate=False)
    actor = _mesh_actor(action, sphere, material)
    assert isinstance(actor, unreal.StaticMeshActor)
    actor.static_mesh_component.set_cast_shadow(False)
    return actor


def _skylight(action: Action) -> unreal.Actor:
    """A movable SkyLight capturing the sky dome in real time (IsSky materials are what real
    time capture sees), its colour and intensity the manifest's ambient light."""
    actor = _spawn(unreal.SkyLight, action)
    assert isinstance(actor, unreal.SkyLight)
    component = actor.light_component
    component.set_mobility(unreal.ComponentMobility.MOVABLE)
    component.set_editor_property("source_type", unreal.SkyLightSourceType.SLS_CAPTURED_SCENE)
    component.set_editor_property("lower_hemisphere_is_black", False)
    component.set_real_time_capture(True)
    component.set_intensity(action["intensity"])
    r, g, b = action["color"]
    component.set_light_color(unreal.LinearColor(r, g, b, 1.0))
    return actor


def _autorun() -> None:
    """Run main() on the first editor tick, when levels can be created and saved."""
    if "unreal" not in globals():
        return  # imported outside the editor (tests)
    handles: list[object] = []

    def tick(_delta: float) -> None:
        unreal.unregister_slate_post_tick_callback(handles[0])
        try:
            main()
        except Exception as exc:  # keep the editor usable; the log says what failed
            unreal.log_error("pacai bootstrap failed: %r" % (exc,))

    handles.append(unreal.register_slate_post_tick_callback(tick))


_autorun()
'''
