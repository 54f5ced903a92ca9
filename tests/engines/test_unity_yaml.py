"""Unity output read back by an independent Unity-YAML reader (``unityparser``), with every
reference between objects, files and ``.meta`` GUIDs resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from unityparser import UnityDocument  # type: ignore[import-untyped]

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.engines.components import COMPONENTS
from pacai_export.files import AssetFile
from pacai_export.manifest import Manifest
from tests.helpers import small_manifest, stress_manifest

BUILTIN_GUIDS = {"0000000000000000e000000000000000", "0000000000000000f000000000000000"}
# Unity's built-in primitive meshes in "Library/unity default resources".
BUILTIN_MESHES = {10202, 10206, 10207, 10208, 10209}
# Main-object fileID and reference type of each kind of asset a scene may point at:
# type 3 for imported assets (scripts, textures, audio, models), 2 for native (.mat).
ASSET_REFS = {".cs": (11500000, 3), ".png": (2800000, 3), ".jpg": (2800000, 3),
              ".wav": (8300000, 3), ".ogg": (8300000, 3), ".mat": (2100000, 2)}
GUID_RE = re.compile(r"[0-9a-f]{32}")


def all_components_manifest() -> dict[str, Any]:
    """The example project plus every component type, stacked and alone, and an unknown one."""
    manifest = small_manifest("unity-check", "Unity Check")
    manifest["assets"].append({"id": "mdl_tree", "type": "model", "uri": "tree.glb"})
    every = [{"type": t, "params": {}} for t in COMPONENTS]
    manifest["scenes"][0]["nodes"] += [
        {"id": "everything", "name": "Everything", "components": every},
        {"id": "tree", "name": "Tree 'Big'", "parent": "everything", "model": "mdl_tree",
         "components": [{"type": "bob", "params": {"amplitude": 1}}]},
        {"id": "zone", "name": "Zone", "collider": {"shape": "box", "size": [4, 2, 4]},
         "components": [{"type": "trigger_zone", "params": {"event": "door: 'A' #1"}},
                        {"type": "mystery", "params": {"x": [1, {"y": "z"}]}}]},
        {"id": "spot", "light": {"type": "spot", "range": 5}},
        {"id": "ortho", "camera": {"projection": "orthographic", "ymag": 3}},
    ]
    manifest["scenes"].append({"id": "level-2", "name": "Level 2",
                               "nodes": [{"id": "box", "mesh": {"primitive": "box"}}]})
    return manifest


def _ctx(tmp_path: Path, manifest: dict[str, Any]) -> BuildContext:
    m = Manifest.model_validate(manifest)
    assets: dict[str, AssetFile] = {}
    for asset in m.assets:
        ext = {"model": ".glb", "texture": ".png", "audio": ".wav"}[asset.type]
        path = tmp_path / "src" / f"{asset.id}{ext}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"stand-in bytes")
        assets[asset.id] = AssetFile(asset.id, f"{asset.id}{ext}", path)
    return BuildContext(m, "unity-seed", "high", True, assets)


def _write(files: Files, root: Path) -> Path:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
    return root


def _refs(value: Any) -> Iterator[dict[str, str]]:
    """Every ``{fileID: …}`` mapping anywhere inside a unityparser value."""
    if isinstance(value, dict):
        if "fileID" in value:
            yield value
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _fid(ref: dict[str, str]) -> int:
    return int(ref["fileID"])


def _fields(entry: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(entry).items() if k not in ("anchor", "extra_anchor_data")}


def _public_fields(cs: str) -> set[str]:
    """Names of the public serialised fields of a generated MonoBehaviour."""
    names = set()
    for match in re.finditer(r"^\s*(?:\[\w+\]\s*)?public (?!static|event|class)[\w.<>]+ @?(\w+)",
                             cs, re.M):
        names.add(match.group(1))
    return names


def check_project(files: Files, root: Path) -> dict[str, int]:
    """Load every YAML asset with unityparser and resolve every reference; returns counts."""
    _write(files, root)
    # --- metas: every file and folder under Assets/, unique well-formed GUIDs -------------
    assets = [p for p in files if p.startswith("Assets/") and not p.endswith(".meta")]
    folders = {str(parent) for p in assets for parent in Path(p).parents
               if str(parent) not in (".", "Assets")}
    guid_of: dict[str, str] = {}
    for path in sorted([*assets, *folders]):
        meta = yaml.safe_load(files[path + ".meta"])  # type: ignore[arg-type]
        assert meta["fileFormatVersion"] == 2, path
        guid = str(meta["guid"])
        assert GUID_RE.fullmatch(guid) and guid not in BUILTIN_GUIDS, (path, guid)
        assert (meta.get("folderAsset") is True) == (path in folders), path
        guid_of[path] = guid
    assert len(set(guid_of.values())) == len(guid_of), "duplicate GUIDs"
    orphans = [p for p in files if p.endswith(".meta") and p[:-5] not in guid_of]
    assert not orphans, orphans
    path_of = {g: p for p, g in guid_of.items()}
    on_disk = {str(p.relative_to(root)) for p in (root / "Assets").rglob("*")}
    assert on_disk == set(assets) | folders | {p + ".meta" for p in [*assets, *folders]}

    counts = {"files": 0, "objects": 0, "refs": 0, "scripts": 0}
    yaml_files = sorted(p for p in files if p.startswith(("Assets/", "ProjectSettings/"))
                        and p.endswith((".unity", ".mat", ".asset")))
    for rel in yaml_files:
        doc = UnityDocument.load_yaml(str(root / rel))
        counts["files"] += 1
        objects = {int(e.anchor): e for e in doc.entries}
        assert len(objects) == len(doc.entries), f"{rel}: duplicate fileIDs"
        counts["objects"] += len(objects)
        for entry in doc.entries:
            for ref in _refs(_fields(entry)):
                counts["refs"] += 1
                fid, ref_guid = _fid(ref), ref.get("guid")
                where = (rel, type(entry).__name__, entry.anchor, dict(ref))
                if ref_guid is None:
                    assert fid == 0 or fid in objects, where
                    continue
                if ref_guid in BUILTIN_GUIDS:
                    assert ref["type"] == "0", where
                    if ref_guid.startswith("0000000000000000e") and type(entry).__name__ == \
                            "MeshFilter":
                        assert fid in BUILTIN_MESHES, where
                    continue
                assert ref_guid in path_of, f"unknown guid {where}"
                target = path_of[ref_guid]
                expected = ASSET_REFS.get(Path(target).suffix)
                assert expected is not None, f"reference to {target}: {where}"
                assert (fid, int(ref["type"])) == expected, where
        if rel.endswith(".unity"):
            counts["scripts"] += _check_scene(rel, doc, objects, guid_of, files)
    # --- build settings list each scene with its meta GUID -------------------------------
    build = UnityDocument.load_yaml(str(root / "ProjectSettings/EditorBuildSettings.asset"))
    listed = [(s["path"], s["guid"]) for s in build.entries[0].m_Scenes]
    scenes = sorted(p for p in files if p.endswith(".unity"))
    assert sorted(p for p, _ in listed) == scenes
    assert all(guid_of[p] == g and GUID_RE.fullmatch(g) for p, g in listed), listed
    return counts


def _check_scene(rel: str, doc: Any, objects: dict[int, Any], guid_of: dict[str, str],
                 files: Files) -> int:
    scripts = 0
    by_class: dict[str, list[Any]] = {}
    for entry in doc.entries:
        by_class.setdefault(type(entry).__name__, []).append(entry)
    for name in ("OcclusionCullingSettings", "RenderSettings", "LightmapSettings",
                 "NavMeshSettings", "SceneRoots"):
        assert len(by_class.get(name, [])) == 1, (rel, name)
    for go in by_class["GameObject"]:
        comps = [_fid(c["component"]) for c in go.m_Component]
        assert comps and len(comps) == len(set(comps)), (rel, go.m_Name)
        first = objects[comps[0]]
        assert type(first).__name__ == "Transform", f"{rel}: {go.m_Name} starts without one"
        for fid in comps:
            assert fid in objects, (rel, go.m_Name, fid)
            assert _fid(objects[fid].m_GameObject) == int(go.anchor), (rel, go.m_Name, fid)
    components = [e for e in doc.entries if hasattr(e, "m_GameObject")]
    for comp in components:  # every component is listed by the GameObject it names
        owner = objects[_fid(comp.m_GameObject)]
        assert int(comp.anchor) in [_fid(c["component"]) for c in owner.m_Component]
    transforms = {int(t.anchor): t for t in by_class["Transform"]}
    for fid, t in transforms.items():
        father = _fid(t.m_Father)
        if father:
            assert fid in [_fid(c) for c in transforms[father].m_Children], (rel, fid)
        for child in t.m_Children:
            assert _fid(transforms[_fid(child)].m_Father) == fid, (rel, fid)
        # no transform is its own ancestor
        seen, cur = set(), fid
        while cur:
            assert cur not in seen, f"{rel}: cycle at {fid}"
            seen.add(cur)
            cur = _fid(transforms[cur].m_Father)
    roots = {_fid(r) for r in by_class["SceneRoots"][0].m_Roots}
    assert roots == {f for f, t in transforms.items() if not _fid(t.m_Father)}, rel
    for mb in by_class.get("MonoBehaviour", []):
        guid = mb.m_Script["guid"]
        script = next(p for p, g in guid_of.items() if g == guid)
        assert script.startswith("Assets/Scripts/") and script.endswith(".cs"), script
        assert mb.m_Script["fileID"] == "11500000" and mb.m_Script["type"] == "3"
        cs = files[script]
        assert isinstance(cs, bytes)
        source = cs.decode()
        cls = re.search(r"public class (\w+) : MonoBehaviour", source)
        assert cls and cls.group(1) == Path(script).stem, script
        own = set(_fields(mb)) - {"m_ObjectHideFlags", "m_CorrespondingSourceObject",
                                  "m_PrefabInstance", "m_PrefabAsset", "m_GameObject",
                                  "m_Enabled", "m_EditorHideFlags", "m_Script", "m_Name",
                                  "m_EditorClassIdentifier"}
        assert own == _public_fields(source), (script, own)
        scripts += 1
    return scripts


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return write_engine("unity", _ctx(tmp_path, all_components_manifest()))


def test_everything_resolves(files: Files, tmp_path: Path) -> None:
    counts = check_project(files, tmp_path / "unity")
    # two scenes, three materials, build settings, player settings
    assert counts["files"] == 2 + 3 + 1 + 1
    m = all_components_manifest()
    comps = sum(len(n.get("components", [])) for s in m["scenes"] for n in s["nodes"])
    assert counts["scripts"] == comps
    for type_ in COMPONENTS:
        assert f"Assets/Scripts/{''.join(w.title() for w in type_.split('_'))}.cs" in files
    # the bootstrap places the model under the node's GameObject path, quotes kept
    bootstrap = files["Assets/Editor/PacaiBootstrap.cs"]
    assert isinstance(bootstrap, bytes)
    assert b"\"Everything/Tree 'Big'\", \"Assets/Models/mdl_tree.glb\"" in bootstrap


@pytest.mark.parametrize("make", [small_manifest, lambda: stress_manifest("unity-stress", 120)])
def test_other_projects_resolve(tmp_path: Path, make: Any) -> None:
    files = write_engine("unity", _ctx(tmp_path, make()))
    check_project(files, tmp_path / "unity")


def test_checker_catches_broken_references(files: Files, tmp_path: Path) -> None:
    """The checks are not a rubber stamp: a dangling fileID or a foreign GUID is refused."""
    scene = files["Assets/Scenes/main.unity"]
    assert isinstance(scene, bytes)
    text = scene.decode()
    father = re.search(r"m_Father: \{fileID: (\d+)\}", text.split("m_Father: {fileID: 0}", 1)[1])
    assert father
    broken = [
        text.replace(f"m_Father: {{fileID: {father.group(1)}}}", "m_Father: {fileID: 12345}", 1),
        re.sub(r"(m_Materials:\n  - \{fileID: 2100000, guid: )\w+", r"\g<1>" + "cd" * 16, text,
               count=1),
        re.sub(r"(m_Script: \{fileID: 11500000, guid: )\w+", r"\g<1>" + "ab" * 16, text,
               count=1),
    ]
    for index, bad in enumerate(broken):
        assert bad != text
        with pytest.raises((AssertionError, KeyError, StopIteration)):
            check_project({**files, "Assets/Scenes/main.unity": bad.encode()},
                          tmp_path / f"broken-{index}")


def test_texture_metas_say_colour_space_and_normal_maps(tmp_path: Path) -> None:
    """Unity's default import is a colour texture decoded from sRGB: wrong for a normal map
    (the Standard shader expects the normal-map type) and for linear data such as masks."""
    manifest = small_manifest("unity-textures", "Unity Textures")
    manifest["assets"] += [
        {"id": "tex_albedo", "type": "texture", "uri": "albedo.png"},
        {"id": "tex_normal", "type": "texture", "uri": "normal.png", "color_space": "linear"},
        {"id": "tex_mask", "type": "texture", "uri": "mask.png", "color_space": "linear"}]
    manifest["materials"].append({"id": "mat_rock", "base_color_texture": "tex_albedo",
                                  "normal_texture": "tex_normal"})
    files = write_engine("unity", _ctx(tmp_path, manifest))
    check_project(files, tmp_path / "unity")

    def importer(asset_id: str) -> Any:
        meta = files[f"Assets/Textures/{asset_id}.png.meta"]
        assert isinstance(meta, bytes)
        return yaml.safe_load(meta)["TextureImporter"]

    settings = {a: importer(a) for a in ("tex_albedo", "tex_normal", "tex_mask")}
    assert {a: (s["mipmaps"]["sRGBTexture"], s["textureType"]) for a, s in settings.items()} == {
        "tex_albedo": (1, 0), "tex_normal": (0, 1), "tex_mask": (0, 0)}
