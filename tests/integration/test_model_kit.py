"""A real worker exports a project whose models are a kit's: ``.gltf`` + ``.bin`` props that
share one ``Textures/colormap.png`` on disk (§10.2, §11). bundle.json reports each model's
triangles; the texture is embedded; changing only the texture changes the bundle's key."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from pacai_export.client import ExportClient
from pacai_export.settings import Settings
from tests.assets import corpus
from tests.assets.sample_models import kit_prop
from tests.helpers import finished, job_data, small_manifest, validate_gltf


def kit_project(folder: Path, project_id: str) -> dict[str, Any]:
    (folder / "Models").mkdir(parents=True)
    (folder / "Textures").mkdir()
    (folder / "Textures" / "colormap.png").write_bytes(corpus.png(800, 800))
    for name in ("crate", "barrel"):
        kit_prop(folder / "Models", name, "../Textures/colormap.png")
        bin_name = f"{name}%20data.bin"
        (folder / "Models" / bin_name).rename(folder / "Models" / f"{name} data.bin")
    manifest = small_manifest(project_id)
    manifest["assets"] += [{"id": f"mdl_{n}", "type": "model", "uri": f"Models/{n}.gltf"}
                           for n in ("crate", "barrel")]
    manifest["scenes"][0]["nodes"] += [
        {"id": f"{n}_1", "model": f"mdl_{n}", "transform": {"translation": [i * 2.0, 0, 0]}}
        for i, n in enumerate(("crate", "barrel"))]
    return manifest


async def test_a_kit_project_exports_with_its_shared_texture(
        settings: Settings, start_worker: Any, client: ExportClient) -> None:
    assert settings.projects_dir is not None
    folder = settings.projects_dir / "kit"
    manifest = kit_project(folder, "kit")
    start_worker(settings)
    data = job_data("kit", engines=["godot"], quality="low", manifest=manifest)
    first = await finished(client, await client.enqueue(data), timeout=120)
    assert first["state"] == "completed", first
    bundle = settings.exports_dir / first["result"]["key"]
    with zipfile.ZipFile(bundle) as zf:
        doc = json.loads(zf.read("bundle.json"))
        names = zf.namelist()
        glb = next(n for n in names if n.startswith("godot/assets/") and "crate" in n
                   and n.endswith(".glb"))
        out = settings.exports_dir.parent / "crate.glb"
        out.write_bytes(zf.read(glb))
    assert [m["asset"] for m in doc["models"]] == ["mdl_barrel", "mdl_crate"]
    for model in doc["models"]:
        assert model["source_triangles"] == 1800
        assert 0 < model["triangles"] <= 1800 // 4 + 2
    (report,) = validate_gltf([out])
    assert report["errors"] == 0, report["messages"]
    gltf, binary = corpus.read_glb(out)
    assert corpus.image_size(corpus.image_bytes(gltf, binary, 0)) == (512, 512)
    assert not any(n.endswith((".bin", "colormap.png")) for n in names)

    (folder / "Textures" / "colormap.png").write_bytes(corpus.png(800, 800, seed=5))
    second = await finished(client, await client.enqueue(data), timeout=120)
    assert second["state"] == "completed", second
    assert second["result"]["key"] != first["result"]["key"]
    assert second["result"]["reused"] is False
