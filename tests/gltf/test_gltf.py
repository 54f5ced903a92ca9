"""glTF writer: Khronos glTF-Validator on every .glb we make, plus an independent GLB reader
(header, chunks, JSON, binary data parsed here with ``struct``) that checks the content
against the manifest, the geometry (extents, winding, normals, UVs) and determinism."""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pacai_export.engines import gltf, write_engine
from pacai_export.engines.base import BuildContext
from pacai_export.files import AssetFile
from pacai_export.manifest import Bounds, Manifest, Scene
from tests.helpers import validate_gltf

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "src" / "pacai_export" / "examples" / "forest-arena.json"

# Validator messages we accept, with why. Severity 0 = error, 1 = warning, 2 = info, 3 = hint.
# UNUSED_OBJECT (info) on TEXCOORD_0: the UVs are there for the engines (textures assigned after
# import, lightmap UVs) although no texture is referenced from inside the .glb.
ACCEPTED_INFOS = {"UNUSED_OBJECT"}
S = math.sqrt(0.5)


# --- an independent GLB reader ----------------------------------------------------------------


class Glb:
    def __init__(self, data: bytes) -> None:
        magic, version, length = struct.unpack_from("<III", data, 0)
        assert magic == 0x46546C67 and version == 2 and length == len(data)
        json_len, json_type = struct.unpack_from("<II", data, 12)
        assert json_type == 0x4E4F534A and json_len % 4 == 0
        text = data[20:20 + json_len]
        assert text.rstrip(b" ").endswith(b"}") and len(text) - len(text.rstrip(b" ")) < 4
        self.json: dict[str, Any] = json.loads(text)
        self.bin = b""
        rest = 20 + json_len
        if rest < len(data):
            bin_len, bin_type = struct.unpack_from("<II", data, rest)
            assert bin_type == 0x004E4942 and bin_len % 4 == 0
            assert rest + 8 + bin_len == len(data)
            self.bin = data[rest + 8:]
            assert self.json["buffers"][0]["byteLength"] <= len(self.bin)
            assert set(self.bin[self.json["buffers"][0]["byteLength"]:]) <= {0}

    def accessor(self, index: int) -> list[tuple[float, ...]]:
        acc = self.json["accessors"][index]
        view = self.json["bufferViews"][acc["bufferView"]]
        fmt, size = {5126: ("f", 4), 5123: ("H", 2), 5125: ("I", 4)}[acc["componentType"]]
        n = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[acc["type"]]
        stride = view.get("byteStride", size * n)
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        assert start % size == 0
        return [struct.unpack_from(f"<{n}{fmt}", self.bin, start + i * stride)
                for i in range(acc["count"])]

    def primitive(self, mesh: int) -> dict[str, Any]:
        prims = self.json["meshes"][mesh]["primitives"]
        assert len(prims) == 1
        p: dict[str, Any] = prims[0]
        return p

    def positions(self, mesh: int) -> list[tuple[float, ...]]:
        return self.accessor(self.primitive(mesh)["attributes"]["POSITION"])

    def extent(self, mesh: int) -> tuple[list[float], list[float]]:
        acc = self.json["accessors"][self.primitive(mesh)["attributes"]["POSITION"]]
        return acc["min"], acc["max"]


def _f32(x: float) -> float:
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


# --- the validator ----------------------------------------------------------------------------


def _assert_valid(paths: list[Path]) -> None:
    reports = validate_gltf(paths)
    for report in reports:
        print(report["path"], "errors", report["errors"], "warnings", report["warnings"],
              "infos", report["infos"])
        for message in report["messages"]:
            print("   ", message)
        assert report["errors"] == 0, report
        assert report["warnings"] == 0, report
        unexpected = [m for m in report["messages"]
                      if m["severity"] < 2 or m["code"] not in ACCEPTED_INFOS]
        assert not unexpected, unexpected


# --- manifests --------------------------------------------------------------------------------


def _full_manifest() -> Manifest:
    """Every primitive, light and camera type, materials, model placeholders, a hierarchy."""
    nodes: list[dict[str, Any]] = [
        {"id": "root", "name": "Wörld ✨ \"root\""},
        {"id": "ground", "parent": "root", "mesh": {"primitive": "plane", "size": [40, 20]},
         "material": "mat_grass"},
        {"id": "crate", "name": "Crate", "parent": "root",
         "mesh": {"primitive": "box", "size": [1, 2, 3]}, "material": "mat_bark",
         "transform": {"translation": [1, 2, 3], "rotation": [0, S, 0, S],
                       "scale": [2, 2, 2]}},
        {"id": "crate2", "name": "Crate", "parent": "crate",
         "mesh": {"primitive": "box", "size": [1, 2, 3]}, "material": "mat_bark"},
        {"id": "crate3", "mesh": {"primitive": "box", "size": [1, 2, 3]}},
        {"id": "ball", "mesh": {"primitive": "sphere", "radius": 0.25}, "material": "mat_glass"},
        {"id": "pill", "mesh": {"primitive": "capsule", "radius": 0.4, "height": 1.8},
         "material": "mat_gold"},
        {"id": "round", "mesh": {"primitive": "capsule", "radius": 0.5, "height": 1.0}},
        {"id": "coin", "parent": "pill", "mesh": {"primitive": "cylinder", "radius": 0.3,
                                                  "height": 0.05}, "material": "mat_gold"},
        # a quaternion within the manifest's 1e-3 tolerance but not unit for the validator
        {"id": "sun", "light": {"type": "directional", "color": [1, 0.95, 0.9],
                                "intensity": 3.0},
         "transform": {"rotation": [-0.383, 0, 0, 0.924]}},
        {"id": "lamp", "name": "Lamp", "light": {"type": "point", "range": 8, "intensity": 20}},
        {"id": "bulb", "light": {"type": "point"}},
        {"id": "spot", "light": {"type": "spot", "range": 5, "inner_cone": 0.2,
                                 "outer_cone": 0.6}, "parent": "lamp"},
        {"id": "camera", "camera": {"projection": "perspective", "yfov": 1.05, "zfar": 500},
         "transform": {"translation": [0, 5, 10]}},
        {"id": "ortho", "camera": {"projection": "orthographic", "ymag": 4}},
        {"id": "tree", "name": "Tree", "parent": "root", "model": "mdl_tree"},
        {"id": "rock", "name": "Rock", "model": "mdl_rock",
         "transform": {"translation": [3, 0, 0]}},
        {"id": "rock_on_box", "model": "mdl_rock", "mesh": {"primitive": "box"}},
    ]
    return Manifest.model_validate({
        "schema": "pacai.manifest/v1",
        "project": {"id": "gltf-test", "name": "glTF Test"},
        "assets": [
            {"id": "tex_bark", "type": "texture", "uri": "textures/bark.png"},
            {"id": "mdl_tree", "type": "model", "uri": "tree.glb"},
            {"id": "mdl_rock", "type": "model", "uri": "rock.glb",
             "bounds": {"min": [-1, 0, -2], "max": [1, 3, 2]}},
        ],
        "materials": [
            {"id": "mat_bark", "base_color": [0.45, 0.3, 0.2, 1.0],
             "base_color_texture": "tex_bark", "roughness": 0.85, "emissive": [0.1, 0, 0]},
            {"id": "mat_grass", "base_color": [0.2, 0.6, 0.2, 1.0]},
            {"id": "mat_gold", "base_color": [1.0, 0.78, 0.2, 1.0], "metallic": 1.0,
             "roughness": 0.3, "emissive": [0.1, 0.08, 0.0]},
            {"id": "mat_glass", "base_color": [0.8, 0.9, 1.0, 0.3], "roughness": 0.05},
            {"id": "mat_unused"},
        ],
        "scenes": [
            {"id": "main", "name": "Main", "nodes": nodes},
            {"id": "empty", "nodes": []},
        ],
        "main_scene": "main",
    })


def _example() -> Manifest:
    return Manifest.model_validate(json.loads(EXAMPLE.read_text("utf-8")))


HALF_EXTENTS = {
    "ground": (20.0, 0.0, 10.0),
    "crate": (0.5, 1.0, 1.5),
    "ball": (0.25, 0.25, 0.25),
    "pill": (0.4, 0.9, 0.4),
    "round": (0.5, 0.5, 0.5),
    "coin": (0.3, 0.025, 0.3),
}


# --- tests ------------------------------------------------------------------------------------


def test_validator_full_scene_example_and_placeholders(tmp_path: Path) -> None:
    full, example = _full_manifest(), _example()
    paths = []
    for label, manifest in (("full", full), ("example", example)):
        for scene in manifest.scenes:
            path = tmp_path / f"{label}-{scene.id}.glb"
            path.write_bytes(gltf.scene_glb(manifest, scene, name_prefix="P_"))
            paths.append(path)
    for name, bounds in (("mdl_rock", Bounds(min=(-1, 0, -2), max=(1, 3, 2))),
                         ("mdl_flat", Bounds(min=(0, 0, 0), max=(1, 0, 1))),
                         ("mdl_unknown", None)):
        path = tmp_path / f"{name}.glb"
        path.write_bytes(gltf.placeholder_glb(name, bounds))
        paths.append(path)
    _assert_valid(paths)


@pytest.mark.parametrize("include_assets", [False, True])
@pytest.mark.parametrize("which", ["full", "example"])
def test_validator_on_every_glb_of_an_unreal_export(tmp_path: Path, include_assets: bool,
                                                    which: str) -> None:
    manifest = _full_manifest() if which == "full" else _example()
    assets = {}
    if include_assets and which == "full":
        model = tmp_path / "tree.glb"
        model.write_bytes(gltf.placeholder_glb("tree", None))  # a real model file stand-in
        assets["mdl_tree"] = AssetFile("mdl_tree", "tree.glb", model)
    ctx = BuildContext(manifest=manifest, seed="s", quality="high",
                       include_assets=include_assets, assets=assets)
    files = write_engine("ue5", ctx)
    assert files == write_engine("ue5", ctx)
    out = tmp_path / "ue5"
    glbs = []
    for rel, content in sorted(files.items()):
        if rel.endswith(".glb"):
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
            glbs.append(path)
    scene_json = json.loads(files["SourceArt/scene.json"])  # type: ignore[arg-type]
    for scene in scene_json["scenes"]:
        assert scene["glb"] in files and isinstance(files[scene["glb"]], bytes)
        doc = Glb(files[scene["glb"]]).json  # type: ignore[arg-type]
        assert doc["scenes"][0]["extras"]["id"] == scene["id"]
    placeholders = sorted(p for p in files if p.startswith("SourceArt/placeholders/"))
    models = [a.id for a in manifest.assets if a.type == "model"]
    if include_assets:
        assert placeholders == []
    else:
        assert placeholders == sorted(f"SourceArt/placeholders/{m}.glb" for m in models)
    assert glbs
    _assert_valid(glbs)


def test_structure_matches_the_manifest() -> None:
    manifest = _full_manifest()
    scene = manifest.main
    doc = Glb(gltf.scene_glb(manifest, scene))
    g = doc.json
    assert g["asset"]["version"] == "2.0"
    assert g["scene"] == 0 and len(g["scenes"]) == 1
    # one glTF node per manifest node, in order, plus one child for the node that has both a
    # primitive and a model (a glTF node holds one mesh)
    both = [n for n in scene.nodes if n.mesh is not None and n.model is not None]
    assert len(g["nodes"]) == len(scene.nodes) + len(both)
    for i, node in enumerate(scene.nodes):
        out = g["nodes"][i]
        assert out["name"] == node.display_name
        assert out["extras"]["id"] == node.id
        children = [j for j, n in enumerate(scene.nodes) if n.parent == node.id]
        extra = [j for j in out.get("children", []) if j >= len(scene.nodes)]
        assert out.get("children", []) == extra + children
        assert ("mesh" in out) == (node.mesh is not None or node.model is not None)
        assert ("camera" in out) == (node.camera is not None)
        assert ("extensions" in out) == (node.light is not None)
    assert g["scenes"][0]["nodes"] == [i for i, n in enumerate(scene.nodes) if n.parent is None]
    extra_node = g["nodes"][len(scene.nodes)]
    assert extra_node["name"] == "mdl_rock" and extra_node["extras"]["id"] == "rock_on_box"
    # every node is reachable exactly once from the scene roots
    seen: list[int] = []
    stack = list(g["scenes"][0]["nodes"])
    while stack:
        index = stack.pop()
        seen.append(index)
        stack += g["nodes"][index].get("children", [])
    assert sorted(seen) == list(range(len(g["nodes"])))
    # TRS: unchanged, except the rotation re-normalised
    crate = g["nodes"][2]
    assert crate["translation"] == [1, 2, 3] and crate["scale"] == [2, 2, 2]
    assert crate["rotation"] == [0, S, 0, S]
    sun = g["nodes"][9]["rotation"]
    assert abs(math.sqrt(sum(c * c for c in sun)) - 1) < 1e-12
    assert sun[0] / sun[3] == pytest.approx(-0.383 / 0.924)
    assert "translation" not in g["nodes"][4] and "rotation" not in g["nodes"][4]
    # meshes: one per distinct geometry + material; geometry shared between them
    distinct: set[tuple[Any, ...]] = {
        (gltf._mesh_key(n), n.material) for n in scene.nodes if n.mesh is not None}
    distinct |= {(n.model, None) for n in scene.nodes if n.model is not None}
    assert len(g["meshes"]) == len(distinct)
    crate_mesh, crate2_mesh, crate3_mesh = (g["nodes"][i]["mesh"] for i in (2, 3, 4))
    assert crate_mesh == crate2_mesh != crate3_mesh
    assert (doc.primitive(crate_mesh)["attributes"]
            == doc.primitive(crate3_mesh)["attributes"])
    # lights and cameras
    lights = g["extensions"]["KHR_lights_punctual"]["lights"]
    assert g["extensionsUsed"] == ["KHR_lights_punctual"]
    assert "extensionsRequired" not in g
    assert [x["type"] for x in lights] == ["directional", "point", "point", "spot"]
    assert "range" not in lights[0] and lights[1]["range"] == 8 and "range" not in lights[2]
    assert lights[3]["spot"] == {"innerConeAngle": 0.2, "outerConeAngle": 0.6}
    assert lights[1]["intensity"] == 20 and lights[1]["name"] == "Lamp"
    cameras = g["cameras"]
    assert [c["type"] for c in cameras] == ["perspective", "orthographic"]
    assert cameras[0]["perspective"] == {"yfov": 1.05, "znear": 0.1, "zfar": 500}
    assert cameras[1]["orthographic"]["ymag"] == 4
    assert cameras[1]["orthographic"]["xmag"] == pytest.approx(4 * 16 / 9)
    # materials: those used, in manifest order, factors as given
    mats = {m["name"]: m for m in g["materials"]}
    assert list(mats) == ["mat_bark", "mat_grass", "mat_gold", "mat_glass"]
    assert mats["mat_bark"]["pbrMetallicRoughness"] == {
        "baseColorFactor": [0.45, 0.3, 0.2, 1.0], "metallicFactor": 0.0,
        "roughnessFactor": 0.85}
    assert mats["mat_bark"]["emissiveFactor"] == [0.1, 0, 0]
    assert mats["mat_bark"]["extras"]["textures_left_out"] == {"base_color_texture": "tex_bark"}
    assert "emissiveFactor" not in mats["mat_grass"]
    assert mats["mat_glass"]["alphaMode"] == "BLEND"
    assert mats["mat_gold"]["pbrMetallicRoughness"]["metallicFactor"] == 1.0
    # an empty scene is a valid document with no buffer
    empty = Glb(gltf.scene_glb(manifest, manifest.scene("empty"))).json
    assert "nodes" not in empty["scenes"][0] and "buffers" not in empty


def test_geometry_extents_winding_normals_uvs() -> None:
    manifest = _full_manifest()
    scene = manifest.main
    doc = Glb(gltf.scene_glb(manifest, scene))
    nodes = {n["extras"]["id"]: n for n in doc.json["nodes"] if "mesh" in n}
    for node_id, half in HALF_EXTENTS.items():
        lo, hi = doc.extent(nodes[node_id]["mesh"])
        assert lo == [_f32(-h) if h else 0.0 for h in half], node_id
        assert hi == [_f32(h) for h in half], node_id
    # placeholders: the asset's bounds, or a 1 m cube around the origin
    assert doc.extent(nodes["rock"]["mesh"]) == ([-1, 0, -2], [1, 3, 2])
    assert doc.extent(nodes["tree"]["mesh"]) == ([-0.5] * 3, [0.5] * 3)
    assert doc.json["meshes"][nodes["tree"]["mesh"]]["name"] == "mdl_tree"
    for mesh in range(len(doc.json["meshes"])):
        prim = doc.primitive(mesh)
        attrs = prim["attributes"]
        positions = doc.accessor(attrs["POSITION"])
        normals = doc.accessor(attrs["NORMAL"])
        uvs = doc.accessor(attrs["TEXCOORD_0"])
        indices = [int(i[0]) for i in doc.accessor(prim["indices"])]
        lo, hi = doc.extent(mesh)
        assert lo == [min(p[k] for p in positions) for k in range(3)]
        assert hi == [max(p[k] for p in positions) for k in range(3)]
        assert all(abs(math.hypot(*n) - 1) < 1e-6 for n in normals)
        assert all(0 <= c <= 1 for uv in uvs for c in uv)
        assert len(indices) % 3 == 0 and max(indices) < len(positions)
        center = [(a + b) / 2 for a, b in zip(lo, hi, strict=True)]
        for t in range(0, len(indices), 3):
            a, b, c = (positions[i] for i in indices[t:t + 3])
            e1 = [b[k] - a[k] for k in range(3)]
            e2 = [c[k] - a[k] for k in range(3)]
            cross = (e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                     e1[0] * e2[1] - e1[1] * e2[0])
            assert math.hypot(*cross) > 0, f"degenerate triangle in mesh {mesh}"
            normal = [sum(normals[i][k] for i in indices[t:t + 3]) for k in range(3)]
            # counter-clockwise seen from outside: geometric normal along the vertex normals
            assert sum(x * y for x, y in zip(cross, normal, strict=True)) > 0, mesh
            # outward normals on closed shapes: pointing away from the centre
            middle = [(a[k] + b[k] + c[k]) / 3 - center[k] for k in range(3)]
            if hi[1] > lo[1]:  # not the plane
                assert sum(x * y for x, y in zip(middle, normal, strict=True)) > 0, mesh


def test_binary_layout_rules() -> None:
    manifest = _full_manifest()
    g = Glb(gltf.scene_glb(manifest, manifest.main)).json
    for view in g["bufferViews"]:
        assert view["byteOffset"] % 4 == 0 and view["target"] in (34962, 34963)
        assert ("byteStride" in view) == (view["target"] == 34962)
    for acc in g["accessors"]:
        view = g["bufferViews"][acc["bufferView"]]
        assert acc["byteOffset"] % 4 == 0
        if view["target"] == 34963:
            assert acc["componentType"] in (5123, 5125) and acc["type"] == "SCALAR"
        else:
            assert acc["componentType"] == 5126


def test_uint32_indices_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gltf, "SEGMENTS", 400)
    monkeypatch.setattr(gltf, "SPHERE_RINGS", 400)
    manifest = _full_manifest()
    scene = Scene(id="big", nodes=[manifest.main.nodes[5]])  # the sphere
    data = gltf.scene_glb(manifest, scene)
    doc = Glb(data)
    prim = doc.primitive(0)
    assert doc.json["accessors"][prim["indices"]]["componentType"] == 5125
    assert doc.json["accessors"][prim["attributes"]["POSITION"]]["count"] > 65535


def test_placeholder_glb() -> None:
    doc = Glb(gltf.placeholder_glb("Rock ✨", Bounds(min=(-1, 0, -2), max=(1, 3, 2))))
    assert [n["name"] for n in doc.json["nodes"]] == ["Rock ✨"]
    assert doc.json["meshes"][0]["name"] == "Rock ✨"
    assert doc.extent(0) == ([-1, 0, -2], [1, 3, 2])
    assert Glb(gltf.placeholder_glb("x", None)).extent(0) == ([-0.5] * 3, [0.5] * 3)


def test_deterministic_across_runs_and_hash_seeds() -> None:
    manifest = _full_manifest()
    first = gltf.scene_glb(manifest, manifest.main)
    assert first == gltf.scene_glb(_full_manifest(), _full_manifest().main)
    code = ("import hashlib, sys; sys.path.insert(0, sys.argv[1]);"
            "from tests.gltf.test_gltf import _full_manifest, _example;"
            "from pacai_export.engines import gltf; m = _full_manifest(); e = _example();"
            "print(hashlib.sha256(gltf.scene_glb(m, m.main) + gltf.scene_glb(e, e.main)"
            " + gltf.placeholder_glb('p', None)).hexdigest())")
    example = _example()
    expected = hashlib.sha256(first + gltf.scene_glb(example, example.main)
                              + gltf.placeholder_glb("p", None)).hexdigest()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True,
                              text=True, check=True, env=env, cwd=ROOT, timeout=60)
        assert done.stdout.strip() == expected
