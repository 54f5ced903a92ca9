"""The examples a user reads, exported to all three engines; and determinism across
processes with different hash seeds and time zones."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/manifest.json"))
CLI = str(Path(sys.executable).parent / "pacai-export")


def export(manifest: Path, out: Path, **env: str) -> dict[str, object]:
    proc = subprocess.run(
        [CLI, "export", str(manifest), "--engines", "godot,unity,ue5", "--quality", "high",
         "--include-assets", "--out", str(out)],
        # In the test's folder: the processed-asset cache defaults to ./exports/_cache.
        env={**os.environ, **env}, cwd=out.parent, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_there_are_examples() -> None:
    assert EXAMPLES == ["arena", "platformer", "stress-1000"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_exports_to_every_engine(name: str, tmp_path: Path) -> None:
    manifest = ROOT / "examples" / name / "manifest.json"
    result = export(manifest, tmp_path)
    bundle = tmp_path / f"{json.loads(manifest.read_text())['project']['id']}.zip"
    assert subprocess.run(["unzip", "-tq", str(bundle)], capture_output=True).returncode == 0
    names = subprocess.run(["zipinfo", "-1", str(bundle)], capture_output=True, text=True,
                           check=True).stdout.split()
    assert "godot/project.godot" in names
    assert "unity/ProjectSettings/ProjectVersion.txt" in names
    assert any(n.startswith("ue5/") and n.endswith(".uproject") for n in names)
    assert result["files"] == len(names)


def test_same_manifest_same_bytes_across_processes(tmp_path: Path) -> None:
    manifest = ROOT / "examples" / "platformer" / "manifest.json"
    a = export(manifest, tmp_path / "a", PYTHONHASHSEED="1", TZ="Pacific/Kiritimati")
    b = export(manifest, tmp_path / "b", PYTHONHASHSEED="4242", TZ="America/Adak")
    bytes_a = (tmp_path / "a" / "platformer.zip").read_bytes()
    bytes_b = (tmp_path / "b" / "platformer.zip").read_bytes()
    assert hashlib.sha256(bytes_a).hexdigest() == hashlib.sha256(bytes_b).hexdigest()
    assert bytes_a == bytes_b
    assert a["key"] == b["key"] and a["sha256"] == b["sha256"]


def test_stress_example_is_what_its_generator_writes() -> None:
    generator = runpy.run_path(str(ROOT / "examples" / "stress-1000" / "generate.py"))
    committed = (ROOT / "examples" / "stress-1000" / "manifest.json").read_text()
    assert generator["render"]() == committed
    assert len(json.loads(committed)["scenes"][0]["nodes"]) == 1000


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_outputs_pass_the_engine_checks(name: str, tmp_path: Path) -> None:
    """Every example through the same independent checks as the writer tests: the Godot
    scene reader, unityparser on every Unity asset, the Khronos validator on every .glb."""
    from pacai_export.assets.gather import AssetGatherer, Sources
    from pacai_export.engines import write_engine
    from pacai_export.engines.base import BuildContext
    from pacai_export.manifest import parse_manifest
    from pacai_export.settings import Limits
    from tests.engines import test_godot_gdscript as godot_checks
    from tests.engines import test_unity_yaml as unity_checks
    from tests.gltf import test_gltf as gltf_checks

    folder = ROOT / "examples" / name
    manifest = parse_manifest(json.loads((folder / "manifest.json").read_text()), Limits())
    from pacai_export.pool import CpuPool

    async def gather() -> Any:
        async def progress(done: int, total: int) -> None:
            return None
        pool = CpuPool(1)
        try:
            return await AssetGatherer(Limits(), pool, None, "high").gather(
                manifest, Sources(root=folder), tmp_path / "assets", progress)
        finally:
            pool.close()

    gathered = asyncio.run(gather())
    ctx = BuildContext(manifest, name, "high", True, gathered.files)
    godot_checks.check_project(write_engine("godot", ctx))
    unity_checks.check_project(write_engine("unity", ctx), tmp_path / "unity")
    glbs = []
    for rel, content in write_engine("ue5", ctx).items():
        if rel.endswith(".glb") and isinstance(content, bytes):
            glbs.append(tmp_path / Path(rel).name)
            glbs[-1].write_bytes(content)
    assert glbs, "the Unreal bundle carries the scenes as .glb"
    gltf_checks._assert_valid(glbs)


def test_forest_generator_makes_20000_nodes_deterministically() -> None:
    generator = runpy.run_path(str(ROOT / "examples" / "forest-20000" / "generate.py"))
    text = generator["render"]()
    assert text == generator["render"]()
    manifest = json.loads(text)
    assert len(manifest["scenes"][0]["nodes"]) == 20_000


def test_instanced_export_reports_its_groups_in_the_bundle(tmp_path: Path) -> None:
    """A small forest through the offline CLI: bundle.json's per-instance table matches the
    Godot MultiMesh read from the zip by an independent reader (zipfile)."""
    import zipfile

    from tests.helpers import small_manifest

    manifest = small_manifest("grove", "Grove")
    nodes = manifest["scenes"][0]["nodes"]
    nodes.append({"id": "grove"})
    nodes += [{"id": f"tree_{i:03d}", "parent": "grove", "mesh": {"primitive": "cylinder"},
               "material": "mat_gold", "transform": {"translation": [i, 0, 0]}}
              for i in range(40)]
    path = tmp_path / "grove.json"
    path.write_text(json.dumps(manifest))
    export(path, tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / "grove.zip") as bundle:
        report = json.loads(bundle.read("bundle.json"))["instanced"]
        scene = bundle.read("godot/scenes/main.tscn").decode()
        ue_scene = json.loads(bundle.read("ue5/SourceArt/scene.json"))["scenes"][0]
    assert report == [{"scene": "main", "parent": "grove", "primitive": "cylinder",
                       "model": None, "material": "mat_gold", "count": 40,
                       "as": {"godot": "MultiMeshInstance3D",
                              "unity": "GPU instancing on the shared material",
                              "ue5": "HierarchicalInstancedStaticMeshComponent"},
                       "ids": [f"tree_{i:03d}" for i in range(40)]}]
    (group,) = ue_scene["instanced"]  # one entry, a row per instance, no node entries
    assert group["ids"] == report[0]["ids"] and len(group["instances"]) == 40
    assert not set(group["ids"]) & {n["id"] for n in ue_scene["nodes"]}
    ids = ", ".join(f'"tree_{i:03d}"' for i in range(40))
    assert f"metadata/pacai_ids = PackedStringArray({ids})" in scene
    assert "instance_count = 40" in scene
