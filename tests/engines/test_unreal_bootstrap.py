"""The UE5 bootstrap (``Content/Python/pacai_bootstrap.py``) run against a recording stand-in
for Unreal's ``unreal`` module (``tests/engines/ue_standin.py``): the calls it records are
checked against the manifest, and a call to an API that does not exist in UE 5.4 fails here
rather than in the editor.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from pacai_export.manifest import Manifest
from tests.engines.fidelity_scene import fidelity_manifest_with_extras
from tests.engines.ue_frames import rotator_rows
from tests.engines.ue_standin import (
    Project,
    RecordingUnrealStandIn,
    StandInObject,
    open_editor,
    write_project,
)
from tests.helpers import small_manifest

# --- the project under test -------------------------------------------------------------------

S = math.sqrt(0.5)


def bootstrap_manifest() -> dict[str, Any]:
    """The example project plus every kind of node the bootstrap builds."""
    manifest = small_manifest("ue-check", "UE Check")
    manifest["assets"] += [
        {"id": "mdl_tree", "type": "model", "uri": "tree.glb"},
        {"id": "mdl_rock", "type": "model", "uri": "rock.glb",
         "bounds": {"min": [-1, 0, -2], "max": [1, 3, 2]}},
        {"id": "tex_normal", "type": "texture", "uri": "normal.png", "color_space": "linear"},
        {"id": "tex_mask", "type": "texture", "uri": "mask.png", "color_space": "linear"},
    ]
    manifest["materials"].append({"id": "mat_stone", "normal_texture": "tex_normal"})
    manifest["scenes"][0]["nodes"] += [
        {"id": "rig", "name": "Rig", "transform": {"translation": [10, 1, -5],
                                                    "rotation": [0, S, 0, S],
                                                    "scale": [2, 2, 2]}},
        {"id": "rig_box", "name": "Rig Box", "parent": "rig", "mesh": {"primitive": "box",
                                                                        "size": [1, 2, 3]},
         "body": "kinematic", "transform": {"translation": [1, 0, 0],
                                            "rotation": [0.2, 0, 0, 0.98]}},
        {"id": "rig_spot", "name": "Spotlight", "parent": "rig",
         "light": {"type": "spot", "range": 6, "inner_cone": 0.2, "outer_cone": 0.5},
         "transform": {"rotation": [-0.383, 0, 0, 0.924]}},
        {"id": "tree", "name": "Big Tree", "model": "mdl_tree",
         "transform": {"translation": [-3, 0, 4], "rotation": [0, 0.3827, 0, 0.9239]}},
        {"id": "rock", "name": "Rock", "model": "mdl_rock", "body": "rigid"},
        {"id": "zone", "name": "Zone", "transform": {"translation": [0, 1, 8],
                                                     "scale": [2, 1, 1]},
         "components": [{"type": "trigger_zone", "params": {"size": [4, 2, 6]}}]},
        {"id": "start", "name": "Start", "transform": {"translation": [2, 0, 2],
                                                       "rotation": [0, 1, 0, 0]},
         "components": [{"type": "spawn_point", "params": {"index": 1}}]},
        {"id": "ortho", "name": "Top View", "camera": {"projection": "orthographic", "ymag": 10},
         "transform": {"translation": [0, 30, 0], "rotation": [-S, 0, 0, S]}},
        {"id": "orbit", "name": "Orbit", "components": [{"type": "mystery", "params": {}},
                                                        {"type": "bob", "params": {}}]},
    ]
    return manifest


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return write_project(tmp_path, bootstrap_manifest())


@pytest.fixture
def fidelity_project(tmp_path: Path) -> Project:
    return write_project(tmp_path, fidelity_manifest_with_extras())


# --- independent geometry: manifest (glTF frame) -> UE ---------------------------------------


def _quat_matrix(q: tuple[float, ...]) -> list[list[float]]:
    x, y, z, w = q
    n = math.sqrt(x * x + y * y + z * z + w * w)
    x, y, z, w = x / n, y / n, z / n, w / n
    return [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]


def _matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _apply(m: list[list[float]], v: tuple[float, ...]) -> tuple[float, float, float]:
    return (sum(m[0][k] * v[k] for k in range(3)), sum(m[1][k] * v[k] for k in range(3)),
            sum(m[2][k] * v[k] for k in range(3)))


@dataclasses.dataclass
class World:
    translation: tuple[float, float, float]
    rotation: list[list[float]]  # a pure rotation matrix (the test uses uniform parent scales)
    scale: tuple[float, float, float]


def world_transforms(manifest: Manifest) -> dict[str, World]:
    nodes = {n.id: n for n in manifest.scenes[0].nodes}
    out: dict[str, World] = {}

    def world(node_id: str) -> World:
        if node_id not in out:
            node = nodes[node_id]
            t = node.transform
            local = World(tuple(t.translation), _quat_matrix(tuple(t.rotation)),  # type: ignore[arg-type]
                          tuple(t.scale))  # type: ignore[arg-type]
            if node.parent is None:
                out[node_id] = local
            else:
                p = world(node.parent)
                scaled = tuple(c * s for c, s in zip(local.translation, p.scale, strict=True))
                moved = _apply(p.rotation, scaled)
                out[node_id] = World(
                    tuple(a + b for a, b in zip(p.translation, moved, strict=True)),  # type: ignore[arg-type]
                    _matmul(p.rotation, local.rotation),
                    tuple(a * b for a, b in zip(p.scale, local.scale, strict=True)))  # type: ignore[arg-type]
        return out[node_id]

    for node_id in nodes:
        world(node_id)
    return out


def to_ue(v: tuple[float, ...]) -> tuple[float, float, float]:
    """A glTF vector in UE axes (what GLTF::ConvertVec3 does): (x, z, y)."""
    return (v[0], v[2], v[1])


def _close(a: Any, b: Any, tol: float = 1e-3) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def _vec(v: Any) -> tuple[float, float, float]:
    return (v.x, v.y, v.z)


# --- the tests --------------------------------------------------------------------------------

LIGHT_CLASSES = {"directional": "DirectionalLight", "point": "PointLight", "spot": "SpotLight"}
SHAPES = {"box": "Cube", "sphere": "Sphere", "plane": "Plane", "cylinder": "Cylinder"}
PROFILES = {"static": "BlockAll", "rigid": "PhysicsActor", "kinematic": "BlockAllDynamic",
            "character": "Pawn"}
SUFFIXES = ("", " Model", " Placeholder", " Collider", " Light", " Camera", " Audio",
            " PlayerStart", " Trigger")


def test_scene_json_is_the_manifest_in_ue_units(project: Project) -> None:
    """SourceArt/scene.json holds the manifest converted to Z-up centimetres."""
    worlds = world_transforms(project.manifest)
    nodes = {n["id"]: n for n in project.scene["scenes"][0]["nodes"]}
    assert set(nodes) == set(worlds)
    labels = [n["label"] for n in nodes.values()]
    assert len(labels) == len({label.casefold() for label in labels})
    for node_id, w in worlds.items():
        data = nodes[node_id]
        expected = tuple(c * 100.0 for c in to_ue(w.translation))
        assert _close(data["world"]["location"], expected), (node_id, data["world"], expected)
        assert _close(data["world"]["scale"], to_ue(w.scale))
        # the rotator, read the way UE reads it, turns UE's axes like the node turns glTF's
        rows = rotator_rows(*(data["world"]["rotation"][k] for k in ("pitch", "yaw", "roll")))
        for axis, row in zip(((1, 0, 0), (0, 0, 1), (0, 1, 0)), rows, strict=True):
            # UE axis e -> glTF axis P e, rotated, back to UE: P R P e
            assert _close(row, to_ue(_apply(w.rotation, axis)), 1e-4), (node_id, row)
    for asset in project.scene["assets"]:
        assert asset["file"].startswith("SourceArt/") and asset["file"] in project.files


def test_first_open_builds_the_level(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ue = open_editor(project.root, monkeypatch)
    assert not ue.violations, f"calls outside UE 5.4's Python API: {ue.violations}"
    assert not [m for kind, m in ue.logs if kind == "error"], ue.logs
    print("\nunreal API names used by the bootstrap:\n  " + "\n  ".join(sorted(ue.used)))

    # 1. every SourceArt asset and generated mesh went through an automated AssetImportTask
    imported = {a.state["source"] for a in ue.assets.values()
                if isinstance(a, StandInObject) and "source" in a.state}
    expected_files = {str(project.root / a["file"]) for a in project.scene["assets"]}
    expected_files |= {str(project.root / path) for path in project.scene["generated"]}
    assert project.scene["generated"], "capsules are generated meshes"
    assert expected_files and imported == expected_files
    assert any(c.name == "import_asset_tasks" for c in ue.calls)

    # 2. one level per scene, created, saved, and the main map loaded last
    maps = [s["map"] for s in project.scene["scenes"]]
    assert list(ue.levels) == maps and ue.saved_levels == maps
    assert ue.loaded_level == project.scene["main_map"]
    assert (project.root / "Saved/pacai_bootstrap.done").is_file()

    # 3. actors: the right class per feature, at the converted transform, with collision
    worlds = world_transforms(project.manifest)
    scene = project.scene["scenes"][0]
    by_label = {}
    for actor in ue.levels[maps[0]]:
        label = actor.state["label"]
        assert label not in by_label, f"two actors labelled {label}"
        by_label[label] = actor
    claimed: set[str] = set()
    for node in project.manifest.scenes[0].nodes:
        data = next(n for n in scene["nodes"] if n["id"] == node.id)
        mine = {label[len(data["label"]):]: actor for label, actor in by_label.items()
                if label.startswith(data["label"])
                and label[len(data["label"]):] in SUFFIXES}
        claimed |= {data["label"] + s for s in mine}
        kinds = sorted(type(a).__name__ for a in mine.values())
        expected = _expected_classes(node, data)
        assert kinds == sorted(expected), (node.id, kinds, expected)
        w = worlds[node.id]
        location = tuple(c * 100.0 for c in to_ue(w.translation))
        for suffix, actor in mine.items():
            cls = type(actor).__name__
            if suffix in (" Collider", " Placeholder") or (
                    cls == "StaticMeshActor" and node.model and not node.mesh
                    and node.model not in {a["id"] for a in project.scene["assets"]}):
                continue  # colliders and placeholders sit at their shape's centre
            assert _close(_vec(actor.state["location"]), location), (node.id, cls)
            r = actor.state["rotation"]
            rows = rotator_rows(r.pitch, r.yaw, r.roll)
            if cls in ("DirectionalLight", "PointLight", "SpotLight", "CameraActor"):
                # glTF lights/cameras look along -Z with +Y up; UE's along +X with +Z up
                assert _close(rows[0], to_ue(_apply(w.rotation, (0, 0, -1))), 1e-4), node.id
                assert _close(rows[2], to_ue(_apply(w.rotation, (0, 1, 0))), 1e-4), node.id
            else:
                assert _close(rows[0], to_ue(_apply(w.rotation, (1, 0, 0))), 1e-4), node.id
                assert _close(rows[2], to_ue(_apply(w.rotation, (0, 1, 0))), 1e-4), node.id
            _check_actor(ue, node, data, actor, w)
    # every actor belongs to a node, except the scene's sky dome and sky light
    rest = sorted(type(by_label[r]).__name__ for r in set(by_label) - claimed)
    assert rest == ["SkyLight", "StaticMeshActor"], rest


COLLIDER_CLASSES = {"box": "TriggerBox", "sphere": "TriggerSphere", "capsule": "TriggerCapsule"}


def _expected_classes(node: Any, data: dict[str, Any]) -> list[str]:
    out = []
    if node.mesh is not None:
        out.append("StaticMeshActor")
    if node.model is not None:
        out.append("StaticMeshActor")  # the imported mesh, or a placeholder box
    collider = data["collider"]
    if collider is not None and collider["shape"] != "mesh":
        out.append(COLLIDER_CLASSES[collider["shape"]])
    if node.light is not None:
        out.append(LIGHT_CLASSES[node.light.type])
    if node.camera is not None:
        out.append("CameraActor")
    if node.audio is not None:
        out.append("AmbientSound")
    types_ = [c.type for c in node.components]
    if "spawn_point" in types_:
        out.append("PlayerStart")
    out += ["TriggerBox"] * types_.count("trigger_zone")
    if not out and types_:
        out.append("TargetPoint")  # components with nothing to hold them: a marker
    return out


def _extent(m: Any) -> tuple[float, ...]:
    """The primitive's size along its glTF axes (metres)."""
    if m.primitive == "box":
        return tuple(m.size)
    if m.primitive == "sphere":
        return (2 * m.radius,) * 3
    if m.primitive == "plane":
        return (m.size[0], 1.0, m.size[1])  # UE's plane is flat: its Z scale is moot
    return (2 * m.radius, m.height, 2 * m.radius)


def _check_actor(ue: RecordingUnrealStandIn, node: Any, data: dict[str, Any], actor: Any,
                 w: World) -> None:
    cls = type(actor).__name__
    scale = _vec(actor.state["scale"])
    if cls == "StaticMeshActor":
        comp = actor.state["components"][0]
        sets = comp.state.get("set", {})
        mesh = sets["set_static_mesh"][0]
        if node.mesh is not None and node.mesh.primitive == "capsule":
            # a generated capsule of the true radius and height: only the node's scale
            assert mesh.state["source"].endswith(data["mesh"]["file"]), node.id
            assert _close(scale, to_ue(w.scale)), (node.id, scale)
        elif node.mesh is not None and mesh.state.get("path", "").startswith("/Engine/"):
            assert mesh.state["path"] == "/Engine/BasicShapes/" + SHAPES[node.mesh.primitive]
            extent = _extent(node.mesh)
            # UE basic shapes are 1 m (100 cm) across
            expected = to_ue(tuple(e * s for e, s in zip(extent, w.scale, strict=True)))
            assert _close(scale, expected), (node.id, scale, expected)
        collider = data["collider"]
        if collider is not None and collider["shape"] == "mesh":
            profile = PROFILES[node.body or "static"]  # the cylinder's own hull
        else:
            profile = "NoCollision"  # the collider actor collides, if any
        mobility = ("ComponentMobility.STATIC" if collider is not None
                    and node.body in (None, "static") else "ComponentMobility.MOVABLE")
        assert sets["set_collision_profile_name"] == (profile,), (node.id, sets)
        assert sets["set_mobility"] == (mobility,), node.id
        assert "set_simulate_physics" not in sets or profile != "NoCollision", node.id
        if node.material is not None and node.mesh is not None:
            assert "set_material" in sets, node.id
    elif cls == "TriggerBox" and not node.collider and not node.body:
        size = next(c for c in node.components if c.type == "trigger_zone").params["size"]
        # an unscaled TriggerBox is 80 cm a side (InitBoxExtent(40, 40, 40))
        expected = to_ue(tuple(e * 100.0 / 80.0 * s for e, s in zip(size, w.scale, strict=True)))
        assert _close(scale, expected), (node.id, scale, expected)
    elif cls in LIGHT_CLASSES.values():
        comp = actor.state["components"][0]
        sets = comp.state.get("set", {})
        assert sets["set_intensity"] == (node.light.intensity,)
        if node.light.type == "spot":
            assert _close(sets["set_outer_cone_angle"], (math.degrees(node.light.outer_cone),))
            assert _close(sets["set_attenuation_radius"], (node.light.range * 100.0,))
    elif cls == "CameraActor":
        comp = actor.state["components"][0]
        if node.camera.projection == "orthographic":
            assert comp.props["projection_mode"] == "CameraProjectionMode.ORTHOGRAPHIC"
    elif cls == "AmbientSound":
        comp = actor.state["components"][0]
        assert comp.props["auto_activate"] is node.audio.autoplay
        assert comp.props["sound"] is not None  # the imported SoundWave


def test_textures_are_imported_with_their_colour_space(project: Project,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Unreal imports every texture as sRGB colour: linear data and normal maps are fixed
    after import, and saved."""
    ue = open_editor(project.root, monkeypatch)
    assert not ue.violations
    textures = [a for a in ue.assets.values()
                if type(a).__name__ == "Texture2D" and "source" in a.state]
    settings = {Path(t.state["source"]).name: (t.props.get("srgb"),
                                               t.props.get("compression_settings"))
                for t in textures}
    assert settings == {"tex_bark.png": (True, None), "tex_mask.png": (False, None),
                        "tex_normal.png": (False, "TextureCompressionSettings.TC_NORMALMAP")}
    saved = {c.args[0] for c in ue.calls if c.name == "save_loaded_asset"}
    assert all(t in saved for t in textures)


def test_second_open_does_nothing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    open_editor(project.root, monkeypatch)
    marker = project.root / "Saved/pacai_bootstrap.done"
    stamp = marker.stat().st_mtime_ns
    again = open_editor(project.root, monkeypatch)
    assert not again.violations
    touched = [c for c in again.calls
               if c.target not in ("Paths", "unreal")
               or c.name not in {"project_dir", "project_saved_dir",
                                 "convert_relative_path_to_full", "load_class",
                                 "register_slate_post_tick_callback",
                                 "unregister_slate_post_tick_callback"}]
    assert not touched, touched
    assert not again.levels and marker.stat().st_mtime_ns == stamp
    assert marker.read_text("utf-8") == "done\ngameplay=none\n"
    assert not [m for kind, m in again.logs if kind == "warning"]


def test_enabling_the_plugin_after_the_first_open_says_how_to_rebuild(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    open_editor(project.root, monkeypatch)
    again = open_editor(project.root, monkeypatch, plugin=True)
    assert not again.levels  # nothing rebuilt or deleted behind the user's back
    assert again.logs == [("warning", "pacai: the PacaiGameplay plugin is loaded but the "
                           "levels were built without it: delete Content/Maps and "
                           "Saved/pacai_bootstrap.done, then reopen the project to rebuild "
                           "them with it")]


def test_stand_in_refuses_unknown_api(tmp_path: Path) -> None:
    """The stand-in is strict: names that UE 5.4 does not have are refused and recorded."""
    ue = RecordingUnrealStandIn(tmp_path)
    with pytest.raises(AttributeError):
        _ = ue.EditorLevelLibrary2
    with pytest.raises(AttributeError):
        ue.EditorAssetLibrary.import_asset("x")
    task = ue.AssetImportTask()
    with pytest.raises(Exception, match="no editor property"):
        task.set_editor_property("file_name", "x")
    with pytest.raises(AttributeError):
        _ = ue.ComponentMobility.DYNAMIC
    with pytest.raises(AssertionError):
        ue.Rotator(pitch=1, heading=2)
    assert len(ue.violations) == 4


# --- materials, sky, camera, colliders on the fidelity scene ------------------------------------


def _by_label(ue: RecordingUnrealStandIn) -> dict[str, Any]:
    return {a.state["label"]: a for a in ue.actors()}


def test_materials_are_instances_of_a_parameterised_master(
        fidelity_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ue = open_editor(fidelity_project.root, monkeypatch)
    assert not ue.violations and not [m for k, m in ue.logs if k == "error"], ue.logs
    masters = {p.rsplit("/", 1)[1]: a for p, a in ue.assets.items()
               if type(a).__name__ == "Material" and p.startswith("/Game/Materials/")}
    assert set(masters) == {"M_PacaiOpaque", "M_PacaiTranslucent", "M_PacaiSky"}
    for name, master in masters.items():
        props = master.state.get("properties", {})
        wired = {prop: _parameter_names(source) for prop, (source, _out) in props.items()}
        if name == "M_PacaiSky":
            assert master.props["is_sky"] is True
            assert master.props["shading_model"] == "MaterialShadingModel.MSM_UNLIT"
            assert wired == {"MaterialProperty.MP_EMISSIVE_COLOR": {"SkyColor"}}
            continue
        expected = {"MaterialProperty.MP_BASE_COLOR": {"BaseColor", "BaseColorTexture"},
                    "MaterialProperty.MP_METALLIC": {"Metallic"},
                    "MaterialProperty.MP_ROUGHNESS": {"Roughness"},
                    "MaterialProperty.MP_EMISSIVE_COLOR": {"Emissive"},
                    "MaterialProperty.MP_NORMAL": {"NormalTexture"}}
        if name == "M_PacaiTranslucent":
            assert master.props["blend_mode"] == "BlendMode.BLEND_TRANSLUCENT"
            expected["MaterialProperty.MP_OPACITY"] = {"BaseColor", "BaseColorTexture"}
        else:
            assert "blend_mode" not in master.props  # a new material is opaque
        assert wired == expected, name
    instances = {p.rsplit("/", 1)[1]: a for p, a in ue.assets.items()
                 if type(a).__name__ == "MaterialInstanceConstant"
                 and p.startswith("/Game/Materials/")}
    for mat in fidelity_project.manifest.materials:
        instance = instances["MI_" + mat.id]
        master = "M_PacaiTranslucent" if mat.base_color[3] < 1 else "M_PacaiOpaque"
        assert instance.state["parent"] is masters[master], mat.id
        params = instance.state["params"]
        color = params["BaseColor"]
        assert _close((color.r, color.g, color.b, color.a), mat.base_color), mat.id
        emissive = params["Emissive"]
        assert _close((emissive.r, emissive.g, emissive.b), mat.emissive), mat.id
        assert params["Metallic"] == mat.metallic and params["Roughness"] == mat.roughness
    # the sky: a dome in the sky colour, captured by a movable sky light in the ambient colour
    actors = _by_label(ue)
    env = fidelity_project.manifest.scenes[0].environment
    dome = actors["Sky"].state["components"][0].state["set"]
    sky = dome["set_material"][1]
    assert sky.state["parent"] is masters["M_PacaiSky"]
    sky_color = sky.state["params"]["SkyColor"]
    assert _close((sky_color.r, sky_color.g, sky_color.b), env.sky_color)
    assert dome["set_collision_profile_name"] == ("NoCollision",)
    assert dome["set_cast_shadow"] == (False,)
    light = actors["SkyLight"].state["components"][0]
    assert light.props["source_type"] == "SkyLightSourceType.SLS_CAPTURED_SCENE"
    assert light.state["set"]["set_real_time_capture"] == (True,)
    assert light.state["set"]["set_intensity"] == (env.ambient_intensity,)
    ambient = light.state["set"]["set_light_color"][0]
    assert _close((ambient.r, ambient.g, ambient.b), env.ambient_color)


def _parameter_names(expression: Any) -> set[str]:
    """The parameters feeding an expression, through Multiply nodes."""
    name = expression.props.get("parameter_name")
    if name is not None:
        return {name}
    out: set[str] = set()
    for source, _output in expression.state["inputs"].values():
        out |= _parameter_names(source)
    return out


def test_main_camera_is_the_play_view(fidelity_project: Project,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ue = open_editor(fidelity_project.root, monkeypatch)
    actors = _by_label(ue)
    assert actors["Main View"].props["auto_activate_for_player"] == "AutoReceiveInput.PLAYER0"
    for other in ("Side View", "Top View"):
        assert "auto_activate_for_player" not in actors[other].props


def test_colliders_are_sized_components(fidelity_project: Project,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ue = open_editor(fidelity_project.root, monkeypatch)
    assert not ue.violations
    actors = _by_label(ue)
    nodes = {n["id"]: n for n in fidelity_project.scene["scenes"][0]["nodes"]}
    wall = actors["Barrier"]  # collider only: the actor exists, a box of the manifest's size
    assert type(wall).__name__ == "TriggerBox"
    box = wall.state["components"][0].state["set"]
    assert _close(_vec(box["set_box_extent"][0]), (200.0, 25.0, 150.0))  # (x, z, y) / 2 cm
    assert box["set_collision_profile_name"] == ("BlockAll",)
    assert wall.state["components"][0].props["generate_overlap_events"] is False
    bumper = actors["Bumper"].state["components"][0].state["set"]
    assert bumper["set_sphere_radius"] == (70.0,) and bumper["set_simulate_physics"] == (True,)
    hero = actors["Hero Collider"].state["components"][0].state["set"]
    # radius 0.35 m and height 1.7 m under a 1.5 scale; UE's half height includes the caps
    assert _close(hero["set_capsule_size"], (52.5, 127.5))
    assert hero["set_collision_profile_name"] == ("Pawn",)
    crate = actors["Mirror Crate"]
    attached = [c for c in ue.calls if c.name == "attach_to_actor" and c.args[0] is not None]
    assert any(c.target == f"<StaticMeshActor #{crate._id}>"
               and c.args[0] is actors["Mirror Crate Collider"] for c in attached)
    # a sheared static collider: the baked mesh, its triangles its collision, hidden in game
    baked = actors["Wide Box Collider"]
    mesh = baked.state["components"][0].state["set"]["set_static_mesh"][0]
    assert mesh.state["source"].endswith(nodes["wide_box"]["collider"]["file"])
    flag = mesh.props["body_setup"].props["collision_trace_flag"]
    assert flag == "CollisionTraceFlag.CTF_USE_COMPLEX_AS_SIMPLE"
    assert baked.state["set"]["set_actor_hidden_in_game"] == (True,)


def test_textures_are_wired_into_the_instances(project: Project,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Base-colour and normal textures reach the material instances as the imported assets."""
    ue = open_editor(project.root, monkeypatch)
    assert not ue.violations
    instances = {p.rsplit("/", 1)[1]: a for p, a in ue.assets.items()
                 if type(a).__name__ == "MaterialInstanceConstant"
                 and p.startswith("/Game/Materials/")}
    files = {a["id"]: str(project.root / a["file"]) for a in project.scene["assets"]}
    wired = 0
    for mat in project.manifest.materials:
        params = instances["MI_" + mat.id].state["params"]
        for param, texture in (("BaseColorTexture", mat.base_color_texture),
                               ("NormalTexture", mat.normal_texture)):
            if texture is None:
                assert param not in params, (mat.id, param)  # the master's default stays
                continue
            assert type(params[param]).__name__ == "Texture2D", (mat.id, param)
            assert params[param].state["source"] == files[texture], (mat.id, param)
            wired += 1
    assert wired >= 2  # the example's bark colour map and the stone's normal map
