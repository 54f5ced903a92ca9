"""A project served over HTTP: manifest from PROJECT_MANIFEST_URL, assets from
ASSET_BASE_URL, through the real pipeline."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pacai_export.errors import ManifestNotFound
from pacai_export.jobs import ExportJob
from pacai_export.pipeline import Exporter
from pacai_export.pool import CpuPool
from pacai_export.settings import Settings
from pacai_export.storage import FileStorage
from tests.helpers import serve_folder, wav


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    (root / "manifests" / "remote").mkdir(parents=True)
    (root / "assets" / "remote" / "audio").mkdir(parents=True)
    with serve_folder(root) as base:
        yield base, root


async def quiet(percent: int, stage: str, **fields: Any) -> None:
    return None


async def export(settings: Settings, project_id: str, out: Path) -> Any:
    pool = CpuPool(1)
    job, _ = ExportJob.parse({"project_id": project_id, "engines": ["godot"],
                              "include_assets": True, "quality": "low"})
    try:
        exporter = Exporter.from_settings(settings, FileStorage(out), pool)
        return await exporter.export(job, "t", quiet)
    finally:
        pool.close()


async def test_manifest_and_assets_over_http(site: tuple[str, Path], tmp_path: Path) -> None:
    base, root = site
    (root / "assets" / "remote" / "audio" / "coin.wav").write_bytes(wav())
    (root / "manifests" / "remote" / "manifest.json").write_text(json.dumps({
        "schema": "pacai.manifest/v1", "project": {"id": "remote", "name": "Remote"},
        "assets": [{"id": "sfx_coin", "type": "audio", "uri": "audio/coin.wav"}],
        "scenes": [{"id": "main", "nodes": [{"id": "coin", "audio": {"asset": "sfx_coin"}}]}],
        "main_scene": "main"}))
    settings = Settings(project_manifest_url=f"{base}/manifests/{{project_id}}/manifest.json",
                        asset_base_url=f"{base}/assets", asset_http_allowlist=("127.0.0.1",))
    result = await export(settings, "remote", tmp_path / "out.zip")
    assert result.project_id == "remote"
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert zf.read("godot/assets/sfx_coin.wav") == wav()


async def test_missing_remote_manifest(site: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = site
    settings = Settings(project_manifest_url=f"{base}/manifests/{{project_id}}/manifest.json",
                        asset_http_allowlist=("127.0.0.1",))
    with pytest.raises(ManifestNotFound) as info:
        await export(settings, "ghost", tmp_path / "out.zip")
    assert str(info.value) == (f"project 'ghost': manifest ({base}/manifests/ghost/manifest.json)"
                               ": not found")
