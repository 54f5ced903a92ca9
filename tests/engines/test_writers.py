"""Engine writers: formats that load, references that resolve, conversions pinned, determinism."""

from __future__ import annotations

import configparser
import importlib.util
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pacai_export.engines import WRITERS, coords, ids, names, write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.files import AssetFile
from pacai_export.manifest import Manifest

S = math.sqrt(0.5)
ROT_Y90 = (0.0, S, 0.0, S)  # 90 degrees about +Y (glTF)


def _manifest() -> Manifest:
    comps = [
        {"type": t, "params": p}
        for t, p in [
            ("spin", {"degrees_per_second": 45}),
            ("bob", {"amplitude": 0.5}),
            ("player_controller", {"speed": 6.0}),
            ("pickup", {"value": 3}),
            ("spawn_point", {}),
            ("trigger_zone", {"size": [3, 2, 1]}),
            ("weird_thing", {"x": [1, 2], "s": "hi"}),
        ]
    ]
    nodes: list[dict[str, Any]] = [
        {
            "id": "ground",
            "name": "Ground",
            "mesh": {"primitive": "plane", "size": [40, 40]},
            "material": "mat_grass",
            "body": "static",
            "collider": {"shape": "box", "size": [40, 0.2, 40]},
        },
        {"id": "forest", "name": 'Forest "Zone" / [A]\n'},
        {
            "id": "tree_01",
            "name": "Tree",
            "parent": "forest",
            "model": "mdl_tree",
            "transform": {"translation": [4, 0, -3]},
        },
        {
            "id": "tree_02",
            "name": "Tree",
            "parent": "forest",
            "model": "mdl_rock",
            "transform": {"translation": [1, 0, 1], "rotation": list(ROT_Y90)},
        },
        {
            "id": "sun",
            "light": {"type": "directional", "color": [1, 0.95, 0.9], "intensity": 3.0},
            "transform": {"rotation": [-0.383, 0, 0, 0.924]},
        },
        {"id": "lamp", "name": "Läмпа ✨", "light": {"type": "point", "range": 8}},
        {
            "id": "spot",
            "name": "Lamp",
            "light": {"type": "spot", "range": 5, "inner_cone": 0.2, "outer_cone": 0.6},
        },
        {
            "id": "camera",
            "camera": {"projection": "perspective", "yfov": 1.05, "zfar": 500},
            "transform": {"translation": [0, 5, 10]},
        },
        {"id": "ortho", "camera": {"projection": "orthographic", "ymag": 4}},
        {
            "id": "player",
            "mesh": {"primitive": "capsule", "radius": 0.4, "height": 1.8},
            "body": "character",
            "components": comps[2:3],
            "transform": {"translation": [1, 2, 3], "rotation": list(ROT_Y90)},
        },
        {
            "id": "coin",
            "mesh": {"primitive": "cylinder", "radius": 0.3, "height": 0.05},
            "parent": "player",
            "components": [comps[0], comps[1], comps[3], comps[6]],
            "audio": {"asset": "sfx_coin", "autoplay": True, "loop": True},
        },
        {
            "id": "crate",
            "mesh": {"primitive": "box", "size": [1, 2, 3]},
            "body": "rigid",
            "collider": {"shape": "mesh"},
            "material": "mat_bark",
        },
        {
            "id": "ball",
            "mesh": {"primitive": "sphere", "radius": 0.25},
            "body": "kinematic",
            "collider": {"shape": "sphere"},
        },
        {"id": "pill", "mesh": {"primitive": "capsule"}, "collider": {"shape": "capsule"}},
        {"id": "spawn", "name": "Spawn", "components": [comps[4]]},
        {"id": "zone", "name": "Spawn", "components": [comps[5]], "collider": {"shape": "box"}},
        {"id": "child_a", "name": "Mesh", "parent": "crate"},
        {"id": "spinner", "components": [comps[0], comps[6]]},
    ]
    return Manifest.model_validate(
        {
            "schema": "pacai.manifest/v1",
            "project": {"id": "forest-arena", "name": 'Forest Arena: "Deluxe"', "version": "1.2.0"},
            "assets": [
                {"id": "tex_bark", "type": "texture", "uri": "textures/bark.png"},
                {"id": "mdl_tree", "type": "model", "uri": "tree.glb"},
                {
                    "id": "mdl_rock",
                    "type": "model",
                    "uri": "rock.glb",
                    "bounds": {"min": [-1, 0, -2], "max": [1, 3, 2]},
                },
                {"id": "sfx_coin", "type": "audio", "uri": "audio/coin.ogg"},
            ],
            "materials": [
                {
                    "id": "mat_bark",
                    "base_color": [0.45, 0.3, 0.2, 1.0],
                    "base_color_texture": "tex_bark",
                    "roughness": 0.85,
                    "emissive": [0.1, 0, 0],
                },
                {"id": "mat_grass", "base_color": [0.2, 0.6, 0.2, 1.0]},
            ],
            "scenes": [
                {"id": "main", "name": "Main", "nodes": nodes},
                {"id": "level-2", "nodes": [{"id": "box", "mesh": {"primitive": "box"}}]},
            ],
            "main_scene": "main",
        }
    )


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    paths = {}
    for aid, fname in [
        ("tex_bark", "bark.png"),
        ("mdl_tree", "tree.glb"),
        ("sfx_coin", "coin.ogg"),
    ]:
        p = tmp_path / fname
        p.write_bytes(b"data-" + fname.encode())
        paths[aid] = AssetFile(aid, fname, p)
    # mdl_rock is left out: it must become a placeholder sized from its bounds.
    return BuildContext(
        manifest=_manifest(), seed="seed-1", quality="high", include_assets=True, assets=paths
    )


def _text(files: Files, path: str) -> str:
    content = files[path]
    assert isinstance(content, bytes), path
    return content.decode("utf-8")


def _close(
    a: tuple[float, ...] | list[float], b: tuple[float, ...] | list[float], tol: float = 1e-5
) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_registry_and_determinism(ctx: BuildContext) -> None:
    assert set(WRITERS) == {"godot", "unity", "ue5"}
    for engine in WRITERS:
        first, second = write_engine(engine, ctx), write_engine(engine, ctx)
        assert first == second
        assert all(not p.startswith("/") and ".." not in p.split("/") for p in first)
    other = BuildContext(ctx.manifest, "seed-2", "high", True, ctx.assets)
    assert write_engine("unity", other) != write_engine("unity", ctx)
    with pytest.raises(ValueError):
        write_engine("cryengine", ctx)


# --- coordinates ------------------------------------------------------------------------------


def test_coordinates_pinned() -> None:
    t = (1.0, 2.0, 3.0)
    # Godot: identity; the basis of 90 degrees about +Y maps +X to -Z (rows).
    basis = coords.godot_basis(ROT_Y90, (1.0, 1.0, 1.0))
    assert (
        _close(basis[0], (0, 0, 1)) and _close(basis[1], (0, 1, 0)) and _close(basis[2], (-1, 0, 0))
    )
    # Unity (glTFast): X mirrored.
    assert coords.unity_position(t) == (-1.0, 2.0, 3.0)
    assert _close(coords.unity_rotation(ROT_Y90), (0, -S, 0, S))
    # Unreal (GLTF::ConvertVec3 / ConvertQuat): (x, z, y) * 100 and (-x, -z, -y, w).
    assert coords.ue_location(t) == (100.0, 300.0, 200.0)
    q = coords.ue_rotation(ROT_Y90)
    assert _close(q, (0, 0, -S, S))
    assert _close(coords.ue_rotator(q), (0, -90, 0))
    # glTF +X turned by 90 about +Y is -Z; in UE that direction is -Y, and yaw -90 maps X to -Y.
    assert _close(coords.rotate(q, (1, 0, 0)), (0, -1, 0))
    assert _close(coords.ue_rotator(coords.UE_FORWARD_FIX), (0, -90, 0))


def test_world_composition() -> None:
    parent = coords.trs_matrix(coords.Trs((1.0, 0.0, 0.0), ROT_Y90, (2.0, 2.0, 2.0)))
    child = coords.decompose(coords.compose(parent, coords.Trs((1.0, 0.0, 0.0))))
    assert _close(child.translation, (1, 0, -2))


# --- ids and names ----------------------------------------------------------------------------


def test_ids() -> None:
    guid = ids.unity_guid("s", "Assets/Scenes/main.unity")
    assert re.fullmatch(r"[0-9a-f]{32}", guid)
    assert guid != ids.unity_guid("s", "Assets/Scenes/main.unity.meta")
    assert re.fullmatch(r"[0-9A-F]{32}", ids.ue_guid("s", "x"))
    fid = ids.unity_file_id("s", "scene", "key")
    assert 1 << 20 <= fid < (1 << 63) - 1
    # the per-scene hasher hashes the same bytes: the same ids, whatever the characters
    per_scene = ids.UnityFileIds("s\"é", "Assets/Scenes/a b.unity")
    for key in ("key", "g:n:tree 1", 'q"\\x', "ключ ✨", ""):
        assert per_scene(key) == ids.unity_file_id("s\"é", "Assets/Scenes/a b.unity", key)
    assert ids.godot_uid_text(0x7FFFFFFFFFFFFFFF) == "uid://d4n4ub6itg400"  # from Godot's source
    assert ids.godot_uid_text(0) == "uid://a"
    assert re.fullmatch(r"uid://[a-y0-8]{1,13}", ids.godot_uid("s", "res://x.tscn"))


@pytest.mark.parametrize(
    "raw", ['a"b', "a/b", "[x]", "Läмпа ✨", "line\nbreak", "", ". : @ %", "../up"]
)
def test_names_valid(raw: str) -> None:
    g = names.godot_node_name(raw)
    assert g and not set('.:@/"%') & set(g) and "\n" not in g
    u = names.unity_object_name(raw)
    assert u and "/" not in u and "\n" not in u
    f = names.safe_filename(raw, ".tscn")
    assert re.fullmatch(r"[A-Za-z0-9_\-]+\.tscn", f) and not f.startswith(".")
    assert names.safe_filename("x" * 500).__len__() <= 100


def test_names_unique() -> None:
    assert names.unique(["Tree", "Tree", "tree", "Tree 2"]) == [
        "Tree",
        "Tree 2",
        "tree 3",
        "Tree 2 2",
    ]
    assert names.safe_filename("a.b") != names.safe_filename("a_b")
    assert names.safe_filename("main") == "main"
    name = names.ue_project_name("9 Forest Arena: Deluxe Edition Extra")
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,19}", name)


# --- Godot ------------------------------------------------------------------------------------

NODE_RE = re.compile(
    r'^\[node name="((?:[^"\\]|\\.)*)"(?: type="[^"]*")?(?: parent="((?:[^"\\]|\\.)*)")?', re.M
)


def test_godot(ctx: BuildContext) -> None:
    files = write_engine("godot", ctx)
    assert not any(p.startswith(".godot") for p in files)
    cfg = configparser.ConfigParser(strict=True, interpolation=None)
    cfg.read_string("[root]\n" + _text(files, "project.godot"))
    assert cfg["root"]["config_version"] == "5"
    main = cfg["application"]["run/main_scene"].strip('"')
    assert main.startswith("res://") and main[len("res://") :] in files
    assert "4.3" in cfg["application"]["config/features"]
    assert isinstance(files["assets/tree.glb"], Path)
    assert 'uid="uid://' in _text(files, "assets/tree.glb.import")
    uids: set[str] = set()
    for path in [p for p in files if p.endswith(".tscn")]:
        text = _text(files, path)
        header = text.splitlines()[0]
        assert re.fullmatch(r'\[gd_scene load_steps=\d+ format=3 uid="uid://[a-y0-8]+"\]', header)
        ext = set(re.findall(r'^\[ext_resource [^\]]*id="([^"]+)"\]', text, re.M))
        sub = set(re.findall(r'^\[sub_resource [^\]]*id="([^"]+)"\]', text, re.M))
        steps = int(re.search(r"load_steps=(\d+)", header).group(1))  # type: ignore[union-attr]
        assert steps == len(ext) + len(sub) + 1
        assert set(re.findall(r'ExtResource\("([^"]+)"\)', text)) <= ext
        assert set(re.findall(r'SubResource\("([^"]+)"\)', text)) <= sub
        for res in re.findall(r'^\[ext_resource [^\]]*path="res://([^"]+)"', text, re.M):
            assert res in files
        uids |= set(re.findall(r'uid="(uid://[^"]+)"', header))
        nodes: set[str] = set()
        for name, parent in NODE_RE.findall(text):
            assert name and not set(".:@/%") & set(name.replace('\\"', ""))
            assert '\\"' not in name  # quotes are replaced, never escaped
            if parent == "" and not nodes:
                nodes.add(".")
                continue
            assert parent == "." or parent in nodes, (path, name, parent)
            full = name if parent == "." else f"{parent}/{name}"
            assert full not in nodes, f"duplicate sibling {full}"
            nodes.add(full)
    assert len(uids) == 2
    main_text = _text(files, "scenes/main.tscn")
    for needle in [
        "PlaneMesh",
        "BoxMesh",
        "SphereMesh",
        "CapsuleMesh",
        "CylinderMesh",
        "StandardMaterial3D",
        "DirectionalLight3D",
        "OmniLight3D",
        "SpotLight3D",
        "Camera3D",
        "StaticBody3D",
        "RigidBody3D",
        "AnimatableBody3D",
        "CharacterBody3D",
        "CollisionShape3D",
        "BoxShape3D",
        "SphereShape3D",
        "CapsuleShape3D",
        "AudioStreamPlayer3D",
        "WorldEnvironment",
        "metadata/pacai_components",
        'type="PackedScene"',
        "albedo_texture = ExtResource",
    ]:
        assert needle in main_text, needle
    # the player: translation [1, 2, 3], rotated 90 degrees about +Y
    assert "transform = Transform3D(0, 0, 1, 0, 1, 0, -1, 0, 0, 1, 2, 3)" in main_text
    for type_ in ["spin", "bob", "player_controller", "pickup", "spawn_point", "trigger_zone"]:
        script = _text(files, f"scripts/{type_}.gd")
        assert script.startswith("extends Node3D")
        assert "\n    " not in script  # GDScript indentation with tabs only
    assert "scripts/weird_thing.gd" not in files


# --- Unity ------------------------------------------------------------------------------------

DOC_RE = re.compile(r"^--- !u!(\d+) &(\d+)", re.M)


def _unity_docs(text: str) -> dict[int, tuple[int, dict[str, Any]]]:
    assert text.startswith("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n")
    docs: dict[int, tuple[int, dict[str, Any]]] = {}
    chunks = DOC_RE.split(text)[1:]
    for class_id, file_id, body in zip(chunks[::3], chunks[1::3], chunks[2::3], strict=True):
        assert int(file_id) not in docs
        docs[int(file_id)] = (int(class_id), yaml.safe_load(body))
    return docs


def test_unity(ctx: BuildContext) -> None:
    files = write_engine("unity", ctx)
    assert "m_EditorVersion: 6000.0." in _text(files, "ProjectSettings/ProjectVersion.txt")
    deps = json.loads(_text(files, "Packages/manifest.json"))["dependencies"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", deps["com.unity.cloud.gltfast"])
    assert {"com.unity.modules.physics", "com.unity.modules.audio"} <= set(deps)
    # metas: every file and folder under Assets/, unique GUIDs
    guids: dict[str, str] = {}
    assets = [p for p in files if p.startswith("Assets/") and not p.endswith(".meta")]
    folders = {str(Path(p).parent) for p in assets} - {"Assets"}
    for path in [*assets, *folders]:
        meta = _text(files, path + ".meta")
        guid = re.search(r"^guid: ([0-9a-f]{32})$", meta, re.M).group(1)  # type: ignore[union-attr]
        assert guid not in guids.values(), path
        guids[path] = guid
        assert ("folderAsset: yes" in meta) == (path in folders)
    assert not [
        p for p in files if p.endswith(".meta") and p[:-5] not in files and p[:-5] not in folders
    ]
    build = _text(files, "ProjectSettings/EditorBuildSettings.asset")
    scenes = re.findall(r"path: (\S+)\n    guid: (\w+)", build)
    assert scenes[0][0] == "Assets/Scenes/main.unity" and len(scenes) == 2
    assert all(guids[p] == g for p, g in scenes)
    for path, _ in scenes:
        _check_unity_scene(_text(files, path), guids)
    main = _unity_docs(_text(files, "Assets/Scenes/main.unity"))
    classes = {c for c, _ in main.values()}
    assert {1, 4, 20, 23, 33, 54, 65, 81, 82, 108, 114, 135, 136} <= classes
    by_name = {d["GameObject"]["m_Name"]: fid for fid, (c, d) in main.items() if c == 1}
    assert 'Forest "Zone" _ [A]' in by_name and "Tree" in by_name and "Tree 2" in by_name
    player_t = next(
        d["Transform"]
        for c, d in main.values()
        if c == 4 and d["Transform"]["m_GameObject"]["fileID"] == by_name["player"]
    )
    assert player_t["m_LocalPosition"] == {"x": -1, "y": 2, "z": 3}
    rot = player_t["m_LocalRotation"]
    assert _close([rot["x"], rot["y"], rot["z"], rot["w"]], [0, -S, 0, S])
    bootstrap = _text(files, "Assets/Editor/PacaiBootstrap.cs")
    row = r'"Assets/Scenes/main.unity", "Forest \"Zone\" _ [A]/Tree", "Assets/Models/tree.glb"'
    assert row in bootstrap
    assert "mdl_rock" in by_name  # missing model: placeholder cube named after the asset
    assert bootstrap.count("{") == bootstrap.count("}")
    for cs in [p for p in files if p.endswith(".cs")]:
        text = _text(files, cs)
        assert text.count("{") == text.count("}") and text.count("(") == text.count(")")
        cls = re.search(r"class (\w+)", text).group(1)  # type: ignore[union-attr]
        assert cs.endswith(f"/{cls}.cs") or cls == "PacaiBootstrap"
    mat = _text(files, "Assets/Materials/mat_bark.mat")
    assert guids["Assets/Textures/bark.png"] in mat
    yaml.safe_load(DOC_RE.sub("", mat.split("\n", 2)[2]))


def _check_unity_scene(text: str, guids: dict[str, str]) -> None:
    docs = _unity_docs(text)
    for match in re.finditer(r"\{fileID: (-?\d+)(, guid: (\w+), type: \d)?\}", text):
        fid, guid = int(match.group(1)), match.group(3)
        if guid is not None:
            assert guid.startswith("0000000000000000") or guid in guids.values(), match.group(0)
        elif fid != 0:
            assert fid in docs, match.group(0)
    transforms = {fid: d["Transform"] for fid, (c, d) in docs.items() if c == 4}
    for fid, t in transforms.items():
        father = t["m_Father"]["fileID"]
        if father:
            assert fid in [c["fileID"] for c in transforms[father]["m_Children"]]
        for child in t["m_Children"]:
            assert transforms[child["fileID"]]["m_Father"]["fileID"] == fid
        go = docs[t["m_GameObject"]["fileID"]][1]["GameObject"]
        for comp in go["m_Component"]:
            owner = next(iter(docs[comp["component"]["fileID"]][1].values()))
            assert owner["m_GameObject"]["fileID"] == t["m_GameObject"]["fileID"]
    roots = next(d["SceneRoots"] for c, d in docs.values() if c == 1660057539)
    assert {r["fileID"] for r in roots["m_Roots"]} == {
        f for f, t in transforms.items() if not t["m_Father"]["fileID"]
    }


# --- Unreal -----------------------------------------------------------------------------------


def _bootstrap_module(files: Files) -> Any:
    spec = importlib.util.spec_from_loader("pacai_bootstrap", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(
        compile(_text(files, "Content/Python/pacai_bootstrap.py"), "pacai_bootstrap.py", "exec"),
        module.__dict__,
    )
    return module


def test_unreal(ctx: BuildContext) -> None:
    files = write_engine("ue5", ctx)
    uprojects = [p for p in files if p.endswith(".uproject")]
    assert len(uprojects) == 1 and re.fullmatch(
        r"[A-Za-z][A-Za-z0-9_]{0,19}\.uproject", uprojects[0]
    )
    project = json.loads(_text(files, uprojects[0]))
    assert project["FileVersion"] == 3 and project["EngineAssociation"].startswith("5.")
    plugins = {p["Name"] for p in project["Plugins"] if p["Enabled"]}
    assert {"PythonScriptPlugin", "EditorScriptingUtilities"} <= plugins
    engine = configparser.ConfigParser(strict=False, interpolation=None)
    engine.read_string(_text(files, "Config/DefaultEngine.ini"))
    assert (
        engine["/Script/EngineSettings.GameMapsSettings"]["EditorStartupMap"]
        == "/Game/Maps/main.main"
    )
    startup = engine["/Script/PythonScriptPlugin.PythonScriptPluginSettings"]["+StartupScripts"]
    assert "Content/Python/" + startup in files
    game = configparser.ConfigParser(interpolation=None)
    game.read_string(_text(files, "Config/DefaultGame.ini"))
    # free text is written as a UE quoted string (FParse::QuotedString reads it back)
    assert game["/Script/EngineSettings.GeneralProjectSettings"]["ProjectVersion"] == '"1.2.0"'
    scene = json.loads(_text(files, "SourceArt/scene.json"))
    for asset in scene["assets"]:
        assert asset["file"] in files and isinstance(files[asset["file"]], Path)
    nodes = {n["id"]: n for n in scene["scenes"][0]["nodes"]}
    player = nodes["player"]
    assert _close(player["transform"]["location"], coords.ue_location((1.0, 2.0, 3.0)))
    assert _close(player["transform"]["rotation"]["quat"], coords.ue_rotation(ROT_Y90))
    assert _close(
        [player["transform"]["rotation"][k] for k in ("pitch", "yaw", "roll")], [0, -90, 0]
    )
    coin = nodes["coin"]  # child of the player: world = player's world composed with its own
    assert _close(coin["world"]["location"], player["world"]["location"])
    # plan() runs without unreal and covers every kind of actor
    module = _bootstrap_module(files)
    actions = module.plan(scene["scenes"][0])
    kinds = {a["kind"] for a in actions}
    assert {
        "mesh",
        "model",
        "light",
        "camera",
        "audio",
        "player_start",
        "trigger_box",
        "marker",
        "skylight",
    } <= kinds
    by_label = {a["label"]: a for a in actions}
    assert _close(by_label["player"]["location"], [100, 300, 200])
    # collision is a separate, sized collider actor; the visuals follow a simulated one
    assert by_label["crate Collider"]["simulate"] is True
    assert by_label["crate"]["attach_to"] == "crate Collider"
    assert by_label["Ground Collider"]["collision"] == "BlockAll"
    assert all((a["mesh"] or "").startswith("/Engine/BasicShapes/")
               or a["file"].startswith("SourceArt/Generated/")
               for a in actions if a["kind"] == "mesh")
    rock = next(a for a in actions if a["node"] == "tree_02")
    assert rock["kind"] == "mesh" and _close(rock["scale"], [2, 4, 3])  # bounds, UE axes
    labels = [a["label"] for a in actions]
    assert len(labels) == len(set(labels))
