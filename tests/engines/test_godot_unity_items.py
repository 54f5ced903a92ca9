"""What the Godot and Unity projects say beyond placement: materials, lights, cameras,
import settings, component parameters, hostile strings and file names. Files are read back
with PyYAML / unityparser (Unity) and this module's own ``.tscn`` reader (Godot)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from unityparser import UnityDocument  # type: ignore[import-untyped]

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.engines.components import component_report
from pacai_export.errors import InvalidInput
from pacai_export.files import AssetFile
from pacai_export.manifest import Manifest
from tests.engines.fidelity_scene import fidelity_manifest
from tests.engines.scene_readers import Tscn, UnityScene

CLI = str(Path(sys.executable).parent / "pacai-export")
GLTFAST_IMPORTER = "715df9372183c47e389bb6e19fbc3b52"  # glTFast Editor/Scripts/GltfImporter.cs
_DEVICE = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)", re.IGNORECASE)


def _ctx(manifest: dict[str, Any], tmp_path: Path | None = None) -> BuildContext:
    m = Manifest.model_validate(manifest)
    assets: dict[str, AssetFile] = {}
    if tmp_path is not None:
        for asset in m.assets:
            ext = {"model": ".glb", "texture": ".png", "audio": ".ogg"}[asset.type]
            path = tmp_path / f"{asset.id}{ext}"
            path.write_bytes(b"stand-in bytes")
            assets[asset.id] = AssetFile(asset.id, f"{asset.id}{ext}", path)
    return BuildContext(m, "items", "high", True, assets)


def _text(files: Files, path: str) -> str:
    data = files[path]
    assert isinstance(data, bytes), path
    return data.decode()


def _material(files: Files, name: str) -> dict[str, Any]:
    doc = yaml.safe_load(_text(files, f"Assets/Materials/{name}.mat").split("\n", 3)[3])
    mat: dict[str, Any] = doc["Material"]
    return mat


def _floats(mat: dict[str, Any]) -> dict[str, float]:
    return {k: v for item in mat["m_SavedProperties"]["m_Floats"] for k, v in item.items()}


# --- Unity: materials, colour space, lights, cameras -----------------------------------------


def test_unity_transparent_material_blends() -> None:
    files = write_engine("unity", _ctx(fidelity_manifest()))
    glass, lava = _material(files, "glass"), _material(files, "lava")
    floats = _floats(glass)
    # Standard.shader: Blend [_SrcBlend] [_DstBlend], ZWrite [_ZWrite]; Fade mode
    assert (floats["_SrcBlend"], floats["_DstBlend"], floats["_ZWrite"], floats["_Mode"]) == \
        (5, 10, 0, 2)
    assert glass["m_ValidKeywords"] == ["_ALPHABLEND_ON"]
    assert glass["m_CustomRenderQueue"] == 3000
    assert glass["stringTagMap"] == {"RenderType": "Transparent"}
    opaque = _floats(lava)
    assert (opaque["_SrcBlend"], opaque["_DstBlend"], opaque["_ZWrite"], opaque["_Mode"]) == \
        (1, 0, 1, 0)
    assert lava["m_CustomRenderQueue"] == -1 and lava["m_ValidKeywords"] == ["_EMISSION"]


def test_unity_metallic_is_written_for_its_gamma_declaration() -> None:
    manifest = fidelity_manifest()
    manifest["materials"].append({"id": "half", "metallic": 0.5})
    files = write_engine("unity", _ctx(manifest))
    # [Gamma] _Metallic is linearised in a linear project: write sRGB(0.5) to render 0.5
    assert _floats(_material(files, "half"))["_Metallic"] == pytest.approx(0.735357, abs=1e-6)
    assert _floats(_material(files, "gold"))["_Metallic"] == 1
    settings = yaml.safe_load(
        _text(files, "ProjectSettings/ProjectSettings.asset").split("\n", 3)[3])
    assert settings["PlayerSettings"]["m_ActiveColorSpace"] == 1  # linear, explicitly
    assert settings["PlayerSettings"]["productName"] == "Fidelity"


def test_unity_lights_agree_with_gltfast() -> None:
    scene = UnityScene(_text(write_engine("unity", _ctx(fidelity_manifest())),
                             "Assets/Scenes/main.unity"))

    def light(name: str) -> dict[str, Any]:
        (value,) = scene.components(scene.kids(scene.find(name))["Light"], 108)
        return value

    # LightPunctualExtension.LightAssignIntensity: built-in pipeline divides by π;
    # a missing range becomes 100000 (glTF: infinite)
    assert light("Lamp")["m_Intensity"] == pytest.approx(20 / math.pi, abs=1e-5)
    assert light("Lamp")["m_Range"] == 100000
    assert light("Sun")["m_Intensity"] == pytest.approx(3 / math.pi, abs=1e-5)
    spot = light("Spot")
    assert spot["m_Range"] == 20
    assert spot["m_SpotAngle"] == pytest.approx(math.degrees(0.6) * 2, abs=1e-4)
    assert spot["m_InnerSpotAngle"] == pytest.approx(math.degrees(0.3) * 2, abs=1e-4)


def test_unity_only_the_main_camera_is_enabled() -> None:
    scene = UnityScene(_text(write_engine("unity", _ctx(fidelity_manifest())),
                             "Assets/Scenes/main.unity"))
    main = scene.kids(scene.find("Main View"))["Camera"]
    side = scene.kids(scene.find("Side View"))["Camera"]
    assert scene.components(main, 20)[0]["m_Enabled"] == 1
    assert scene.components(side, 20)[0]["m_Enabled"] == 0
    assert scene.gos[main]["m_TagString"] == "MainCamera"
    assert scene.gos[side]["m_TagString"] == "Untagged"
    listeners = [fid for fid, (cls, _) in scene.objects.items() if cls == 81]
    assert len(listeners) == 1 and scene.components(main, 81)


def test_unity_capsule_and_cylinder_shapes() -> None:
    manifest = fidelity_manifest()
    manifest["scenes"][0]["nodes"].append(
        {"id": "pill", "name": "Pill", "mesh": {"primitive": "capsule", "radius": 0.5,
                                                 "height": 2}, "body": "static"})
    scene = UnityScene(_text(write_engine("unity", _ctx(manifest)), "Assets/Scenes/main.unity"))
    player = scene.find("Player")
    parts = scene.kids(scene.kids(player)["Mesh"])
    assert sorted(parts) == ["Body", "Bottom", "Top"]
    assert scene.components(parts["Body"], 33)[0]["m_Mesh"]["fileID"] == 10206
    assert scene.components(parts["Top"], 33)[0]["m_Mesh"]["fileID"] == 10207
    (capsule,) = scene.components(player, 136)  # native CapsuleCollider with radius/height
    assert (capsule["m_Radius"], capsule["m_Height"], capsule["m_Direction"]) == (0.35, 1.7, 1)
    # a capsule 4 radii tall is Unity's own capsule scaled uniformly
    pill = scene.find("Pill")
    assert scene.components(pill, 33)[0]["m_Mesh"]["fileID"] == 10208
    # a cylinder collides as a convex MeshCollider on the cylinder mesh, not a capsule
    pillar = scene.find("Pillar")
    assert not scene.components(pillar, 136)
    (hull,) = scene.components(scene.kids(pillar)["Mesh"], 64)
    assert hull["m_Convex"] == 1 and hull["m_Mesh"]["fileID"] == 10206


def test_unity_model_and_audio_metas_match_their_role(tmp_path: Path) -> None:
    manifest = fidelity_manifest()
    manifest["assets"] = [{"id": "mdl_tree", "type": "model", "uri": "tree.glb"},
                          {"id": "music", "type": "audio", "uri": "music.ogg"},
                          {"id": "coin", "type": "audio", "uri": "coin.ogg"}]
    manifest["scenes"][0]["nodes"] += [
        {"id": "tree", "model": "mdl_tree"},
        {"id": "radio", "audio": {"asset": "music", "loop": True, "autoplay": True}},
        {"id": "coin", "audio": {"asset": "coin"}}]
    files = write_engine("unity", _ctx(manifest, tmp_path))
    model = yaml.safe_load(_text(files, "Assets/Models/mdl_tree.glb.meta"))
    assert model["ScriptedImporter"]["script"] == {"fileID": 11500000,
                                                   "guid": GLTFAST_IMPORTER, "type": 3}
    music = yaml.safe_load(_text(files, "Assets/Audio/music.ogg.meta"))["AudioImporter"]
    coin = yaml.safe_load(_text(files, "Assets/Audio/coin.ogg.meta"))["AudioImporter"]
    assert music["defaultSettings"]["loadType"] == 2  # streamed: looped music
    assert coin["defaultSettings"]["loadType"] == 0  # decompressed on load: an effect


# --- hostile strings in every file format -----------------------------------------------------

INJECTION = "x\n--- !u!1 &999\nGameObject:\n  m_Name: 'Evil'\n"
GODOT_INJECTION = 'x"]\n[node name="Evil" type="Node3D" parent="."]\nscript = "'


def _hostile_manifest() -> dict[str, Any]:
    manifest = fidelity_manifest()
    manifest["scenes"][0]["nodes"] += [
        {"id": "hostile", "name": "Hostile",
         "components": [{"type": INJECTION, "params": {"k": GODOT_INJECTION}},
                        {"type": GODOT_INJECTION, "params": {}},
                        {"type": "trigger_zone",
                         "params": {"event": INJECTION + "\u2028\x85\ud800" + GODOT_INJECTION}},
                        {"type": "pickup", "params": {"note": INJECTION}}]}]
    return manifest


def test_unity_strings_cannot_add_documents(tmp_path: Path) -> None:
    files = write_engine("unity", _ctx(_hostile_manifest()))
    text = _text(files, "Assets/Scenes/main.unity")
    plain = _text(write_engine("unity", _ctx(fidelity_manifest())), "Assets/Scenes/main.unity")
    extra_objects = 4 + 1  # component data x3, trigger zone, pickup; + its GameObject, Transform
    assert text.count("\n--- ") == plain.count("\n--- ") + extra_objects + 2
    assert "&999" not in re.findall(r"^--- !u!\d+ (&\d+)", text, re.MULTILINE)
    scene = UnityScene(text)
    assert not [go for go in scene.gos.values() if go["m_Name"] == "Evil"]
    behaviours = scene.components(scene.find("Hostile"), 114)
    data = [b for b in behaviours if "params_json" in b]
    assert [b["type"] for b in data] == [INJECTION, GODOT_INJECTION, "pickup"]
    assert json.loads(data[0]["params_json"]) == {"k": GODOT_INJECTION}
    assert json.loads(data[2]["params_json"]) == {"note": INJECTION}
    (zone,) = [b for b in behaviours if "event" in b]
    assert zone["event"] == INJECTION + "\u2028\x85\ufffd" + GODOT_INJECTION
    written = tmp_path / "main.unity"
    written.write_text(text)
    names = [e.m_Name for e in UnityDocument.load_yaml(str(written)).entries
             if type(e).__name__ == "GameObject"]
    assert "Evil" not in names and "Hostile" in names  # the reference reader agrees


def test_godot_strings_stay_literals() -> None:
    files = write_engine("godot", _ctx(_hostile_manifest()))
    text = _text(files, "scenes/main.tscn")
    scene = Tscn(text)
    assert not [a for a, _ in scene.nodes.values() if a.get("name") == "Evil"]
    assert not [line for line in text.splitlines() if line.startswith('[node name="Evil"')]
    hostile = scene.nodes[scene.find("Hostile")][1]
    literal = hostile["metadata/pacai_components"]
    assert _godot_literal(GODOT_INJECTION) in literal
    assert _godot_literal(INJECTION) in literal
    # the first known component's script sits on the node itself
    assert hostile["event"] == ('"' + _godot_literal(INJECTION + "\u2028\x85\ufffd"
                                                  + GODOT_INJECTION) + '"')


def _godot_literal(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


# --- file names: case folding and device names ------------------------------------------------


def _names_manifest() -> dict[str, Any]:
    manifest = fidelity_manifest()
    manifest["materials"] += [{"id": i} for i in ("Tex", "tex", "TEX", "CON", "aux", "nul",
                                                  "COM1", "LPT9", "tex-2")]
    manifest["scenes"] += [{"id": i, "nodes": [{"id": "b", "mesh": {"primitive": "box"},
                                                "material": i.split(".")[0]}]}
                           for i in ("Tex", "tex", "TEX", "CON", "aux", "nul.x", "LPT9")]
    manifest["assets"] = [{"id": i, "type": "texture", "uri": f"{i}.png"}
                          for i in ("Tex", "tex", "prn", "com1.png")]
    return manifest


@pytest.mark.parametrize("engine", ["godot", "unity", "ue5"])
def test_file_names_unique_under_case_folding_and_no_device_names(engine: str,
                                                                  tmp_path: Path) -> None:
    files = write_engine(engine, _ctx(_names_manifest(), tmp_path))
    folded = [p.casefold() for p in files]
    assert len(set(folded)) == len(folded)
    devices = [p for p in files if any(_DEVICE.fullmatch(c.split(".")[0])
                                       for c in p.split("/"))]
    assert devices == []
    if engine == "unity":  # every renderer's material still resolves to a .mat by GUID
        guids = {yaml.safe_load(_text(files, p))["guid"]: p[:-5] for p in files
                 if p.endswith(".mat.meta")}
        assert len(guids) == 12
        for path in (p for p in files if p.endswith(".unity")):
            for guid in re.findall(r"fileID: 2100000, guid: (\w+)", _text(files, path)):
                assert guid in guids, (path, guid)


def test_writers_refuse_paths_that_would_collide() -> None:
    from pacai_export.engines import WRITERS

    def clashing(ctx: BuildContext) -> Files:
        return {"a/Tex.png": b"1", "a/tex.png": b"2"}

    WRITERS["test-clash"] = clashing
    try:
        with pytest.raises(InvalidInput) as err:
            write_engine("test-clash", _ctx(fidelity_manifest()))
    finally:
        del WRITERS["test-clash"]
    assert str(err.value) == "test-clash files: 'a/tex.png' and 'a/Tex.png' differ only in case"


# --- component parameters, end to end -------------------------------------------------------


def test_component_params_reach_the_code_or_are_reported(tmp_path: Path) -> None:
    manifest = fidelity_manifest()
    manifest["scenes"][0]["nodes"] += [
        {"id": "coin", "name": "Coin", "mesh": {"primitive": "cylinder"},
         "components": [{"type": "pickup", "params": {"score": 10, "sparkle": True}},
                        {"type": "bob", "params": {"speed": 1.5, "amplitude": "high"}},
                        {"type": "glow", "params": {"hue": 0.3}}]}]
    source = tmp_path / "manifest.json"
    source.write_text(json.dumps(manifest))
    proc = subprocess.run([CLI, "export", str(source), "--engines", "godot,unity,ue5",
                           "--quality", "low", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with zipfile.ZipFile(tmp_path / "out" / "fidelity.zip") as bundle:
        report = json.loads(bundle.read("bundle.json"))["kept_as_metadata"]
        tscn = bundle.read("godot/scenes/main.tscn").decode()
        unity = bundle.read("unity/Assets/Scenes/main.unity").decode()
    assert report == [
        {"scene": "main", "node": "coin", "type": "pickup", "param": "sparkle",
         "reason": "not a parameter of pickup; kept as metadata"},
        {"scene": "main", "node": "coin", "type": "bob", "param": "amplitude",
         "reason": "not a finite number; kept as metadata"},
        {"scene": "main", "node": "coin", "type": "glow",
         "reason": "unknown component type; kept as data"},
    ]
    scene = Tscn(tscn)
    coin = scene.find("Coin")
    props = scene.nodes[coin][1]
    assert props["value"] == "10"
    assert props["metadata/pacai_params"] == '{\n"sparkle": true\n}'
    bob = scene.nodes[scene.kids(coin)["bob"]][1]
    assert bob["frequency"] == "1.5" and bob["amplitude"] == "0.25"
    assert '"sparkle": true' in tscn and '"amplitude": "high"' in tscn
    behaviours = UnityScene(unity).components(UnityScene(unity).find("Coin"), 114)
    assert any(b.get("value") == 10 for b in behaviours)
    assert any(b.get("frequency") == 1.5 for b in behaviours)
    kept = {b["type"]: json.loads(b["params_json"]) for b in behaviours if "params_json" in b}
    assert kept == {"pickup": {"sparkle": True}, "bob": {"amplitude": "high"},
                    "glow": {"hue": 0.3}}


# --- materials wired alike, and the project name as hostile text ----------------------------


def _textured_manifest() -> dict[str, Any]:
    manifest = fidelity_manifest()
    manifest["project"]["name"] = 'Evil"\n[application]\nrun/main_scene="res://x.tscn'
    manifest["assets"] = [{"id": "bark", "type": "texture", "uri": "bark.png"},
                          {"id": "bark_n", "type": "texture", "uri": "bark_n.png",
                           "color_space": "linear"}]
    manifest["materials"].append({"id": "wood", "base_color": [0.5, 0.4, 0.3, 1.0],
                                  "base_color_texture": "bark", "normal_texture": "bark_n",
                                  "metallic": 0.2, "roughness": 0.7, "emissive": [0.1, 0, 0]})
    manifest["scenes"][0]["nodes"].append({"id": "log", "name": "Log", "material": "wood",
                                           "mesh": {"primitive": "cylinder"}})
    return manifest


def test_godot_material_and_project_name(tmp_path: Path) -> None:
    files = write_engine("godot", _ctx(_textured_manifest(), tmp_path))
    scene = Tscn(_text(files, "scenes/main.tscn"))
    mesh_type, mesh = scene.resource(scene.find("Log"), "mesh")  # a MeshInstance3D itself
    ref = re.fullmatch(r'SubResource\("([^"]+)"\)', mesh["material"])
    assert ref is not None
    kind, mat = scene.sub[ref.group(1)]
    assert (mesh_type, kind) == ("CylinderMesh", "StandardMaterial3D")
    ext = {a["id"]: a["path"] for k, a, _ in scene.sections if k == "ext_resource"}
    texture = re.compile(r'ExtResource\("([^"]+)"\)')
    albedo, normal = texture.fullmatch(mat["albedo_texture"]), texture.fullmatch(
        mat["normal_texture"])
    assert albedo and normal
    assert ext[albedo.group(1)] == "res://assets/bark.png"
    assert ext[normal.group(1)] == "res://assets/bark_n.png"
    assert (mat["metallic"], mat["roughness"], mat["normal_enabled"]) == ("0.2", "0.7", "true")
    assert mat["emission_enabled"] == "true" and mat["emission"].startswith("Color(0.349")
    project = _text(files, "project.godot")
    lines = project.splitlines()
    assert lines.count("[application]") == 1
    assert [line for line in lines if line.startswith("run/main_scene=")] == [
        'run/main_scene="res://scenes/main.tscn"']
    assert 'config/name="Evil\\" [application] run/main_scene=\\"res://x.tscn"' in project


def test_unity_material_and_project_name(tmp_path: Path) -> None:
    files = write_engine("unity", _ctx(_textured_manifest(), tmp_path))
    wood = _material(files, "wood")
    guid = {p: yaml.safe_load(_text(files, p + ".meta"))["guid"]
            for p in ("Assets/Textures/bark.png", "Assets/Textures/bark_n.png")}
    tex = {k: v["m_Texture"] for item in wood["m_SavedProperties"]["m_TexEnvs"]
           for k, v in item.items()}
    assert tex["_MainTex"]["guid"] == guid["Assets/Textures/bark.png"]
    assert tex["_BumpMap"]["guid"] == guid["Assets/Textures/bark_n.png"]
    assert wood["m_ValidKeywords"] == ["_EMISSION", "_NORMALMAP"]
    floats = _floats(wood)
    assert floats["_Glossiness"] == pytest.approx(0.3)
    normal_meta = yaml.safe_load(_text(files, "Assets/Textures/bark_n.png.meta"))
    assert normal_meta["TextureImporter"]["textureType"] == 1
    assert normal_meta["TextureImporter"]["mipmaps"]["sRGBTexture"] == 0
    settings = yaml.safe_load(
        _text(files, "ProjectSettings/ProjectSettings.asset").split("\n", 3)[3])
    assert settings["PlayerSettings"]["productName"] == _textured_manifest()["project"]["name"]


def test_shipped_examples_lose_no_parameter() -> None:
    root = Path(__file__).resolve().parents[2]
    arena = Manifest.model_validate(json.loads((root / "examples/arena/manifest.json")
                                               .read_text()))
    assert component_report(arena) == []
    files = write_engine("godot", BuildContext(arena, "arena", "high", False))
    scene = next(_text(files, p) for p in files if p.startswith("scenes/"))
    assert "value = 10\n" in scene  # the example's pickup score
    assert "frequency = 1.5\n" in scene  # the example's bob speed
    for name in ("examples/platformer/manifest.json",
                 "src/pacai_export/examples/forest-arena.json"):
        m = Manifest.model_validate(json.loads((root / name).read_text()))
        # only the platformer's deliberately unknown component type is kept as data
        assert all(r["reason"] == "unknown component type; kept as data"
                   for r in component_report(m)), name
