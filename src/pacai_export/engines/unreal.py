"""Unreal Engine 5.4+ writer (§11): ``<Name>.uproject``, config, ``SourceArt/`` and a bootstrap.

Unreal levels are binary ``.umap`` files, so the level is built inside the editor on first
open by ``Content/Python/pacai_bootstrap.py`` from ``SourceArt/scene.json``. Everything
the bootstrap needs is converted here, in plain Python: locations in centimetres, Z-up,
left-handed (coords.ue_*), world transforms, primitive scales, light/camera aim.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..manifest import Asset, Camera, Light, Manifest, Material, Node, Scene
from . import COMPONENTS, component_params
from .base import BuildContext, Files
from .coords import (
    UE_CM_PER_M,
    UE_FORWARD_FIX,
    Quat,
    Trs,
    Vec3,
    bounds_box,
    collider_shape,
    compose,
    primitive_extent,
    quat_multiply,
    rotate,
    trs,
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
    ini_value,
    safe_filename,
    ue_label,
    ue_project_name,
    unique_filenames,
)

ENGINE_ASSOCIATION = "5.4"
SCENE_JSON = "SourceArt/scene.json"
BOOTSTRAP_PATH = "Content/Python/pacai_bootstrap.py"
ASSET_FOLDERS = {"model": "Models", "texture": "Textures", "audio": "Audio"}
DEFAULT_LIGHT_RANGE_M = 10.0
ASPECT = 16.0 / 9.0  # UE cameras take a horizontal FOV; glTF's is vertical


def write(ctx: BuildContext) -> Files:
    """The Unreal project folder for ``ctx`` (paths relative to ``ue5/``)."""
    m = ctx.manifest
    name = ue_project_name(m.project.name)
    maps = unique_filenames(s.id for s in m.scenes)
    names = asset_filenames({aid: af.filename for aid, af in ctx.assets.items()})
    assets = {aid: f"SourceArt/{ASSET_FOLDERS[m.asset(aid).type]}/{names[aid]}"
              for aid in sorted(ctx.assets)}
    from .. import gltf  # the scene as glTF binary, next to scene.json (§11: SourceArt/ glb)

    scene_glbs = {s.id: f"SourceArt/{maps[s.id]}.glb" for s in m.scenes}
    scenes_data = scene_json(ctx, maps, assets)
    for scene_data in scenes_data["scenes"]:
        scene_data["glb"] = scene_glbs[scene_data["id"]]
    files: Files = {
        f"{name}.uproject": _uproject(m),
        "Config/DefaultEngine.ini": _engine_ini(maps[m.main_scene]),
        "Config/DefaultGame.ini": _game_ini(ctx, name),
        SCENE_JSON: _json(scenes_data),
        BOOTSTRAP_PATH: BOOTSTRAP.encode(),
    }
    for scene in m.scenes:
        files[scene_glbs[scene.id]] = gltf.scene_glb(m, scene)
    if not ctx.include_assets:
        placeholders = unique_filenames((a.id for a in m.assets if a.type == "model"), ".glb")
        for asset in m.assets:
            if asset.type == "model":
                placeholder = f"SourceArt/placeholders/{placeholders[asset.id]}"
                files[placeholder] = gltf.placeholder_glb(asset.id, asset.bounds)
    for asset_id, path in assets.items():
        files[path] = ctx.assets[asset_id].path
    return files


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _r(x: float) -> float:
    """Rounded to 6 decimals with no ``-0.0``: stable bytes across platforms."""
    value = round(x, 6)
    return 0.0 if value == 0 else value


def _v(v: tuple[float, ...]) -> list[float]:
    return [_r(c) for c in v]


# --- project files --------------------------------------------------------------------------


def _uproject(m: Manifest) -> bytes:
    data = {
        "FileVersion": 3,
        "EngineAssociation": ENGINE_ASSOCIATION,
        "Category": "",
        "Description": ini_value(m.project.name),
        "Plugins": [
            {"Name": "PythonScriptPlugin", "Enabled": True},
            {"Name": "EditorScriptingUtilities", "Enabled": True},
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


def _game_ini(ctx: BuildContext, name: str) -> bytes:
    p = ctx.manifest.project
    text = (
        "[/Script/EngineSettings.GeneralProjectSettings]\n"
        f"ProjectID={ue_guid(ctx.seed, name + '.uproject')}\n"
        f"ProjectName={ini_value(p.name)}\n"
        f"ProjectVersion={ini_value(p.version)}\n"
    )
    return text.encode()


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


def scene_json(ctx: BuildContext, maps: dict[str, str], assets: dict[str, str]) -> dict[str, Any]:
    """Everything the bootstrap builds, already in Unreal's frame and units."""
    m = ctx.manifest
    return {
        "format": "pacai.ue-scene/v1",
        "frame": "unreal: Z up, left-handed, centimetres; rotators in degrees",
        "project": {"id": m.project.id, "name": m.project.name, "version": m.project.version},
        "main_map": f"/Game/Maps/{maps[m.main_scene]}",
        "assets": [_asset(ctx, aid, path) for aid, path in assets.items()],
        "materials": [_material(mat, assets) for mat in m.materials],
        "scenes": [_scene(ctx, scene, maps[scene.id], assets) for scene in m.scenes],
    }


def _asset(ctx: BuildContext, asset_id: str, path: str) -> dict[str, Any]:
    asset = ctx.manifest.asset(asset_id)
    out: dict[str, Any] = {"id": asset_id, "type": asset.type, "file": path}
    if asset.type == "texture":  # Unreal imports every texture as sRGB colour
        normal = any(mat.normal_texture == asset_id for mat in ctx.manifest.materials)
        out.update(srgb=asset.color_space == "srgb" and not normal, normal_map=normal)
    return out


def _material(mat: Material, assets: dict[str, str]) -> dict[str, Any]:
    return {
        "id": mat.id,
        "asset_name": "MI_" + safe_filename(mat.id),
        "base_color": _v(mat.base_color),  # linear, as FLinearColor
        "base_color_texture": assets.get(mat.base_color_texture or ""),
        "normal_texture": assets.get(mat.normal_texture or ""),
        "metallic": mat.metallic,
        "roughness": mat.roughness,
        "emissive": _v(mat.emissive),
    }


def _scene(ctx: BuildContext, scene: Scene, map_name: str,
           assets: dict[str, str]) -> dict[str, Any]:
    children: dict[str | None, list[Node]] = {}
    for node in scene.nodes:
        children.setdefault(node.parent, []).append(node)
    out: list[dict[str, Any]] = []
    labels = UniqueNames()

    def visit(parent: str | None, world: Trs, folder: str) -> None:
        for node in children.get(parent, []):
            label = labels.take(ue_label(node.display_name))
            node_world = compose(world, trs(node.transform))
            out.append(_node(ctx, node, label, folder, node_world, assets))
            visit(node.id, node_world, f"{folder}/{label}" if folder else label)

    visit(None, Trs(), "")
    env = scene.environment
    return {
        "id": scene.id,
        "name": scene.display_name,
        "map": f"/Game/Maps/{map_name}",
        "environment": {"sky_color": _v(env.sky_color), "ambient_color": _v(env.ambient_color),
                        "ambient_intensity": env.ambient_intensity},
        "nodes": out,
    }


def _node(ctx: BuildContext, node: Node, label: str, folder: str, world: Trs,
          assets: dict[str, str]) -> dict[str, Any]:
    asset = ctx.manifest.asset(node.model) if node.model else None
    data: dict[str, Any] = {
        "id": node.id,
        "label": label,
        "parent": node.parent,
        "folder": folder,
        "transform": ue_transform(trs(node.transform)),
        "world": ue_transform(world),
        "body": node.body,
        "collider": _collider(node, asset),
        "material": node.material,
        "components": [_component(c.type, c.params) for c in node.components],
    }
    if node.mesh is not None:
        extent = _mesh_extent(node)
        data["mesh"] = {"primitive": node.mesh.primitive,
                        "scale": _v(ue_scale(_mul(world.scale, extent)))}
    if node.model is not None:
        data["model"] = _model(node.model, asset, world, assets)
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


def _mesh_extent(node: Node) -> Vec3:
    """The primitive's size along its glTF axes, in metres (= scale of a 1 m basic shape)."""
    assert node.mesh is not None
    # UE has no basic capsule: capsules use the cylinder of the same radius and height.
    return primitive_extent(node.mesh)


def _model(asset_id: str, asset: Asset | None, world: Trs,
           assets: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"asset": asset_id, "file": assets.get(asset_id)}
    if asset_id not in assets:
        box = bounds_box(asset)
        offset = rotate(world.rotation, _mul(world.scale, box.center))
        center = Trs(tuple(w + o for w, o in zip(world.translation, offset, strict=True)),  # type: ignore[arg-type]
                     world.rotation, _mul(world.scale, box.size))
        data["placeholder"] = ue_transform(center)
    return data


def _collider(node: Node, asset: Asset | None) -> dict[str, Any] | None:
    shape = collider_shape(node, asset)
    if shape is None:
        return None
    size_cm = tuple(c * UE_CM_PER_M for c in ue_vector(shape.size))
    return {"shape": shape.kind, "size_cm": _v(size_cm),
            "radius_cm": _r(shape.radius * UE_CM_PER_M),
            "height_cm": _r(shape.height * UE_CM_PER_M),
            "center_cm": _v(ue_location(shape.center))}


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


def _component(type_: str, params: dict[str, Any]) -> dict[str, Any]:
    if type_ not in COMPONENTS:
        return {"type": type_, "known": False, "params": params}
    values = component_params(type_, params)
    return {"type": type_, "known": True,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}


# --- the bootstrap (runs inside the editor) ---------------------------------------------------

BOOTSTRAP = r'''"""Builds the levels from SourceArt/scene.json on the first editor open.

Runs from PythonScriptPluginSettings.StartupScripts. It imports SourceArt/ through the asset
tools (Interchange handles .glb in UE 5.4+), creates one level per scene, places actors,
saves, and writes Saved/pacai_bootstrap.done so later opens do nothing. ``plan`` is pure
Python (no ``unreal``) so it can be tested outside the editor.
"""

import json
import os

SCENE_JSON = "SourceArt/scene.json"
MARKER = "pacai_bootstrap.done"
SHAPES = {
    "box": "/Engine/BasicShapes/Cube",
    "sphere": "/Engine/BasicShapes/Sphere",
    "plane": "/Engine/BasicShapes/Plane",
    "cylinder": "/Engine/BasicShapes/Cylinder",
    "capsule": "/Engine/BasicShapes/Cylinder",  # no basic capsule mesh in the engine
}
BASIC_MATERIAL = "/Engine/BasicShapes/BasicShapeMaterial"
# ATriggerBox sets its box to InitBoxExtent(40, 40, 40) (Engine/Private/TriggerBox.cpp), so an
# unscaled TriggerBox is 80 cm a side (32 cm is UBoxComponent's own default, not the trigger's).
TRIGGER_BOX_CM = 80.0


def plan(scene):
    """The actors to spawn for one scene of scene.json, as plain dicts (no unreal needed)."""
    actions = []
    for node in scene["nodes"]:
        actions.extend(_node_actions(node))
    env = scene["environment"]
    actions.append({"kind": "skylight", "label": "SkyLight", "folder": "", "tags": [],
                    "location": [0.0, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0],
                    "scale": [1.0, 1.0, 1.0], "color": env["ambient_color"],
                    "intensity": env["ambient_intensity"]})
    return actions


def _placement(node, transform, suffix=""):
    rotation = transform["rotation"]
    return {"label": node["label"] + suffix, "folder": node["folder"], "node": node["id"],
            "location": list(transform["location"]),
            "rotation": [rotation["pitch"], rotation["yaw"], rotation["roll"]],
            "scale": list(transform["scale"]), "tags": []}


def _physics(node):
    body, collider = node.get("body"), node.get("collider")
    if body is None and collider is None:
        return {"mobility": "movable", "collision": "NoCollision", "simulate": False}
    if body in (None, "static"):
        return {"mobility": "static", "collision": "BlockAll", "simulate": False}
    if body == "rigid":
        return {"mobility": "movable", "collision": "PhysicsActor", "simulate": True}
    if body == "character":
        return {"mobility": "movable", "collision": "Pawn", "simulate": False}
    return {"mobility": "movable", "collision": "BlockAllDynamic", "simulate": False}


def _node_actions(node):
    actions = []
    world = node["world"]
    if "mesh" in node:
        action = _placement(node, world)
        action.update(kind="mesh", mesh=SHAPES[node["mesh"]["primitive"]],
                      scale=list(node["mesh"]["scale"]), material=node.get("material"))
        action.update(_physics(node))
        actions.append(action)
    model = node.get("model")
    if model is not None and model.get("file"):
        action = _placement(node, world, " Model" if actions else "")
        action.update(kind="model", file=model["file"])
        action.update(_physics(node))
        actions.append(action)
    elif model is not None:
        action = _placement(node, model["placeholder"], " Placeholder" if actions else "")
        action.update(kind="mesh", mesh=SHAPES["box"], material=None)
        action.update(_physics(node))
        actions.append(action)
    if "light" in node:
        action = _placement(node, node["aim"], " Light" if actions else "")
        action.update(kind="light", light=node["light"], scale=[1.0, 1.0, 1.0])
        actions.append(action)
    if "camera" in node:
        action = _placement(node, node["aim"], " Camera" if actions else "")
        action.update(kind="camera", camera=node["camera"], scale=[1.0, 1.0, 1.0])
        actions.append(action)
    if "audio" in node:
        action = _placement(node, world, " Audio" if actions else "")
        action.update(kind="audio", audio=node["audio"], scale=[1.0, 1.0, 1.0])
        actions.append(action)
    actions.extend(_component_actions(node, world, bool(actions)))
    tags = ["pacai:" + c["type"] for c in node["components"]]
    if actions:
        actions[0]["tags"] = tags
    return actions


def _component_actions(node, world, has_actor):
    types = [c["type"] for c in node["components"]]
    actions = []
    if "spawn_point" in types:
        action = _placement(node, world, " PlayerStart" if has_actor else "")
        action.update(kind="player_start", scale=[1.0, 1.0, 1.0])
        actions.append(action)
    for component in node["components"]:
        if component["type"] == "trigger_zone":
            size = component["params"]["size"]
            # glTF (x, y, z) extents -> UE (x, z, y), metres -> cm, over the default box,
            # times the node's world scale (already in UE axes) like every other actor.
            extent = [size[0], size[2], size[1]]
            scale = [e * 100.0 / TRIGGER_BOX_CM * s for e, s in zip(extent, world["scale"])]
            action = _placement(node, world, " Trigger" if has_actor or actions else "")
            action.update(kind="trigger_box", scale=scale)
            actions.append(action)
    if not has_actor and not actions and types:
        action = _placement(node, world)
        action.update(kind="marker", scale=[1.0, 1.0, 1.0])
        actions.append(action)
    return actions


# --- editor side ------------------------------------------------------------------------------


def main():
    """Build every level once; do nothing if the marker exists."""
    import unreal

    project = unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_dir())
    saved = unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_saved_dir())
    marker = os.path.join(saved, MARKER)
    if os.path.exists(marker):
        return
    with open(os.path.join(project, SCENE_JSON), encoding="utf-8") as handle:
        data = json.load(handle)
    imported = _import_assets(unreal, project, data)
    materials = {m["id"]: _material(unreal, m) for m in data["materials"]}
    levels = unreal.get_editor_subsystem(unreal.LevelEditorSubsystem)
    for scene in data["scenes"]:
        if unreal.EditorAssetLibrary.does_asset_exist(scene["map"]):
            continue  # built by an earlier, interrupted run
        levels.new_level(scene["map"])
        for action in plan(scene):
            _apply(unreal, action, imported, materials)
        levels.save_current_level()
    levels.load_level(data["main_map"])
    os.makedirs(saved, exist_ok=True)
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("done\n")
    unreal.log("pacai: levels built from " + SCENE_JSON)


def _import_file(unreal, filename, destination):
    task = unreal.AssetImportTask()
    task.set_editor_property("filename", filename)
    task.set_editor_property("destination_path", destination)
    task.set_editor_property("automated", True)
    task.set_editor_property("replace_existing", True)
    task.set_editor_property("save", True)
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks([task])
    return destination


def _import_assets(unreal, project, data):
    """Import SourceArt files; returns {file: [loaded assets]}."""
    imported = {}
    for asset in data["assets"]:
        stem = os.path.splitext(os.path.basename(asset["file"]))[0]
        folder = {"model": "/Game/Models/", "texture": "/Game/Textures/",
                  "audio": "/Game/Audio/"}[asset["type"]] + stem
        _import_file(unreal, os.path.join(project, asset["file"]), folder)
        loaded = []
        for path in unreal.EditorAssetLibrary.list_assets(folder, True, False):
            loaded.append(unreal.EditorAssetLibrary.load_asset(path))
        if asset["type"] == "texture":
            for texture in loaded:
                _texture_settings(unreal, texture, asset)
        imported[asset["file"]] = loaded
    return imported


def _texture_settings(unreal, texture, asset):
    """Linear data is not sRGB; a normal map gets normal-map compression."""
    if not isinstance(texture, unreal.Texture2D):
        return
    if asset["normal_map"]:
        texture.set_editor_property("compression_settings",
                                    unreal.TextureCompressionSettings.TC_NORMALMAP)
    texture.set_editor_property("srgb", asset["srgb"])
    unreal.EditorAssetLibrary.save_loaded_asset(texture)


def _material(unreal, spec):
    path = "/Game/Materials/" + spec["asset_name"]
    if unreal.EditorAssetLibrary.does_asset_exist(path):
        return unreal.EditorAssetLibrary.load_asset(path)
    tools = unreal.AssetToolsHelpers.get_asset_tools()
    material = tools.create_asset(spec["asset_name"], "/Game/Materials",
                                  unreal.MaterialInstanceConstant,
                                  unreal.MaterialInstanceConstantFactoryNew())
    editing = unreal.MaterialEditingLibrary
    parent = unreal.EditorAssetLibrary.load_asset(BASIC_MATERIAL)
    editing.set_material_instance_parent(material, parent)
    r, g, b, a = spec["base_color"]
    editing.set_material_instance_vector_parameter_value(material, "Color",
                                                         unreal.LinearColor(r, g, b, a))
    unreal.EditorAssetLibrary.save_loaded_asset(material)
    return material


def _spawn(unreal, cls, action):
    actors = unreal.get_editor_subsystem(unreal.EditorActorSubsystem)
    pitch, yaw, roll = action["rotation"]
    actor = actors.spawn_actor_from_class(cls, unreal.Vector(*action["location"]),
                                          unreal.Rotator(roll=roll, pitch=pitch, yaw=yaw))
    actor.set_actor_scale3d(unreal.Vector(*action["scale"]))
    actor.set_actor_label(action["label"])
    if action["folder"]:
        actor.set_folder_path(action["folder"])
    if action["tags"]:
        actor.set_editor_property("tags", [unreal.Name(t) for t in action["tags"]])
    return actor


def _mesh_actor(unreal, action, mesh, material):
    actor = _spawn(unreal, unreal.StaticMeshActor, action)
    component = actor.static_mesh_component
    static = action["mobility"] == "static"
    component.set_mobility(unreal.ComponentMobility.STATIC if static
                           else unreal.ComponentMobility.MOVABLE)
    component.set_static_mesh(mesh)
    if material is not None:
        component.set_material(0, material)
    component.set_collision_profile_name(action["collision"])
    if action["simulate"]:
        component.set_simulate_physics(True)
    return actor


def _apply(unreal, action, imported, materials):
    kind = action["kind"]
    if kind == "mesh":
        mesh = unreal.EditorAssetLibrary.load_asset(action["mesh"])
        _mesh_actor(unreal, action, mesh, materials.get(action["material"]))
    elif kind == "model":
        # Interchange bakes node transforms into the static meshes of a .glb, so every
        # mesh of the file goes at the node's transform.
        for asset in imported.get(action["file"], []):
            if isinstance(asset, unreal.StaticMesh):
                _mesh_actor(unreal, action, asset, None)
    elif kind == "light":
        _light(unreal, action)
    elif kind == "camera":
        _camera(unreal, action)
    elif kind == "audio":
        _audio(unreal, action, imported)
    elif kind == "skylight":
        actor = _spawn(unreal, unreal.SkyLight, action)
        component = actor.get_component_by_class(unreal.SkyLightComponent)
        component.set_intensity(action["intensity"])
        r, g, b = action["color"]
        component.set_light_color(unreal.LinearColor(r, g, b, 1.0))
    elif kind == "player_start":
        _spawn(unreal, unreal.PlayerStart, action)
    elif kind == "trigger_box":
        _spawn(unreal, unreal.TriggerBox, action)
    else:
        _spawn(unreal, unreal.TargetPoint, action)


def _light(unreal, action):
    spec = action["light"]
    cls = {"directional": unreal.DirectionalLight, "point": unreal.PointLight,
           "spot": unreal.SpotLight}[spec["type"]]
    actor = _spawn(unreal, cls, action)
    component = actor.get_component_by_class(unreal.LightComponent)
    component.set_intensity(spec["intensity"])
    r, g, b = spec["color"]
    component.set_light_color(unreal.LinearColor(r, g, b, 1.0))
    if spec["type"] != "directional":
        component.set_attenuation_radius(spec["range_cm"])
    if spec["type"] == "spot":
        component.set_inner_cone_angle(spec["inner_cone_deg"])
        component.set_outer_cone_angle(spec["outer_cone_deg"])


def _camera(unreal, action):
    spec = action["camera"]
    actor = _spawn(unreal, unreal.CameraActor, action)
    component = actor.get_component_by_class(unreal.CameraComponent)
    component.set_editor_property("field_of_view", spec["fov_deg"])
    if spec["projection"] == "orthographic":
        component.set_editor_property("projection_mode", unreal.CameraProjectionMode.ORTHOGRAPHIC)
        component.set_editor_property("ortho_width", spec["ortho_width_cm"])


def _audio(unreal, action, imported):
    spec = action["audio"]
    actor = _spawn(unreal, unreal.AmbientSound, action)
    component = actor.get_component_by_class(unreal.AudioComponent)
    sounds = [a for a in imported.get(spec["file"], []) if isinstance(a, unreal.SoundWave)]
    if sounds:
        sounds[0].set_editor_property("looping", spec["loop"])
        component.set_editor_property("sound", sounds[0])
    component.set_editor_property("auto_activate", spec["autoplay"])
    component.set_editor_property("volume_multiplier", spec["volume"])


def _autorun():
    """Run main() on the first editor tick, when levels can be created and saved."""
    try:
        import unreal
    except ImportError:
        return  # imported outside the editor (tests)
    handles = []

    def tick(_delta):
        unreal.unregister_slate_post_tick_callback(handles[0])
        try:
            main()
        except Exception as exc:  # keep the editor usable; the log says what failed
            unreal.log_error("pacai bootstrap failed: %r" % (exc,))

    handles.append(unreal.register_slate_post_tick_callback(tick))


_autorun()
'''
