"""Blender imports what the worker writes (§11): the ``bpy`` wheel, Blender's own glTF
importer, an importer written by neither this project nor the validator's authors.

bpy needs numpy 1.x and the worker numpy 2, so Blender runs from its own virtual
environment (``.venv-blender``, made by ``make setup``) in a child process that imports every
processed model and prints what it made of it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pacai_export.assets.models import External, process_model
from tests.assets import corpus
from tests.assets.corpus import BYTE
from tests.assets.sample_models import (
    MAX_PIXELS,
    REGIONS,
    TIERS,
    character,
    kit_prop,
    unity_rock,
)

ROOT = Path(__file__).resolve().parents[2]
BLENDER_PYTHON = ROOT / ".venv-blender" / "bin" / "python"
SCRIPT = ROOT / "tests" / "blender" / "import_gltf.py"

pytestmark = pytest.mark.slow


def blender_import(paths: list[Path]) -> list[dict[str, Any]]:
    if not BLENDER_PYTHON.exists():
        pytest.skip("Blender (bpy) is not installed: run make setup")
    done = subprocess.run([str(BLENDER_PYTHON), str(SCRIPT), *map(str, paths)],
                          capture_output=True, text=True, timeout=600, check=True)
    lines = [json.loads(line[8:]) for line in done.stdout.splitlines()
             if line.startswith("SUMMARY ")]
    assert [r["path"] for r in lines] == [str(p) for p in paths], done.stderr[-2000:]
    return lines


def test_blender_imports_every_tier_of_the_character(tmp_path: Path) -> None:
    (tmp_path / "character.glb").write_bytes(character().glb())
    outputs = [process_model(tmp_path / "character.glb", tmp_path / q, quality=q,
                             max_pixels=MAX_PIXELS).path for q in TIERS]
    for quality, summary in zip(TIERS, blender_import(outputs), strict=True):
        assert summary["result"] == ["FINISHED"]
        meshes = {m["name"]: m for m in summary["meshes"]}
        body, rock = meshes["body"], meshes["rock"]
        assert summary["armatures"] == [{"name": "Armature", "bones": ["hips", "spine"]}]
        assert summary["actions"] == ["idle"]
        assert body["triangles"] == 12 * 12 * 2, quality  # skinned: never simplified
        assert (body["uv_layers"], body["colors"]) == (2, 1)
        assert body["shape_keys"] == ["Basis", "target_0"]
        assert body["vertex_groups"] == ["hips", "spine"]
        assert (body["materials"], rock["materials"]) == (["skin"], ["glass"])
        doc, _ = corpus.read_glb(outputs[TIERS.index(quality)])
        assert rock["triangles"] == doc["accessors"][
            doc["meshes"][1]["primitives"][0]["indices"]]["count"] // 3
        assert summary["images"] == [[64, 64]]


def test_blender_imports_a_gltf_kit_prop_with_its_texture(tmp_path: Path) -> None:
    (tmp_path / "Textures").mkdir()
    (tmp_path / "Textures" / "colormap.png").write_bytes(corpus.png(900, 600))
    src = kit_prop(tmp_path, "crate", "Textures/colormap.png")
    externals = {"crate%20data.bin": External(tmp_path / "crate%20data.bin"),
                 "Textures/colormap.png": External(tmp_path / "Textures" / "colormap.png")}
    out = process_model(src, tmp_path / "out", quality="medium", max_pixels=MAX_PIXELS,
                        externals=externals).path
    (summary,) = blender_import([out])
    (mesh,) = summary["meshes"]
    assert mesh["name"] == "crate" and mesh["uv_layers"] == 1
    assert summary["images"] == [[900, 600]]


def test_blender_imports_every_tier_of_a_multi_material_flat_prop(tmp_path: Path) -> None:
    """Primitives sharing one vertex buffer, simplified (float normals, byte normals, float
    normals with tangents): one mesh with its three materials and every triangle the file
    holds."""
    outputs = []
    for name, rock in (("float", unity_rock()), ("byte", unity_rock(BYTE)),
                       ("tangents", unity_rock(tangents=True))):
        (tmp_path / f"{name}.glb").write_bytes(rock.glb())
        outputs += [process_model(tmp_path / f"{name}.glb", tmp_path / f"{q}-{name}",
                                  quality=q, max_pixels=MAX_PIXELS).path for q in TIERS]
    for path, summary in zip(outputs, blender_import(outputs), strict=True):
        assert summary["result"] == ["FINISHED"]
        (mesh,) = summary["meshes"]
        assert mesh["materials"] == list(REGIONS)
        assert mesh["triangles"] == corpus.triangles(corpus.read_glb(path)[0]), path
