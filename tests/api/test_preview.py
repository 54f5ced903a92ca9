"""The preview endpoints over real bundles (made by ``pacai-export export``) in real storage —
local disk, and S3 through moto's server — read by range; jobs completed by a real BullMQ
worker in this process whose result names the stored bundle."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import bullmq
import httpx
import pytest

from pacai_export.api.preview import BundleError, glb_json, scene_tree
from pacai_export.settings import Settings
from pacai_export.storage import preview_key
from pacai_export.storage.local import LocalStorage
from tests.api.conftest import AUTH
from tests.helpers import LAYOUT, NODE_NAMES, VENV_BIN, s3_client, validate_gltf

KEY = "layout/0123456789abcdef/layout.zip"


def export(tmp_path: Path, engines: str, **env: str) -> Path:
    manifest = tmp_path / "layout.json"
    manifest.write_text(json.dumps(LAYOUT))
    out = tmp_path / f"out-{engines.replace(',', '-')}"
    subprocess.run([str(VENV_BIN / "pacai-export"), "export", str(manifest), "--engines",
                    engines, "--quality", "low", "--out", str(out)], check=True,
                   capture_output=True, env={**os.environ, **env})
    return out / "layout.zip"


async def completed_job(s: Settings, result: dict[str, Any]) -> str:
    """A job that a real BullMQ worker completes with ``result`` as its returnvalue."""
    queue = bullmq.Queue(s.queue_name, {"connection": s.redis_url, "prefix": s.queue_prefix})
    job = await queue.add("export", {"project_id": "layout"}, {})
    done = asyncio.Event()

    async def process(job: bullmq.Job, token: str) -> Any:
        return result

    worker = bullmq.Worker(s.queue_name, process, {"connection": s.redis_url,
                                                   "prefix": s.queue_prefix})
    worker.on("completed", lambda *_: done.set())
    await asyncio.wait_for(done.wait(), 30)
    await worker.close()
    await queue.close()
    return str(job.id)


def store_local(s: Settings, bundle: Path) -> None:
    target = s.exports_dir / KEY
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle, target)


async def test_preview_summary_and_scene_read_by_range_from_local_storage(
        api_settings: Settings, api: httpx.AsyncClient, tmp_path: Path) -> None:
    bundle = export(tmp_path, "godot,unity,ue5")
    store_local(api_settings, bundle)
    job_id = await completed_job(api_settings, {"key": KEY})
    summary = (await api.get(f"/dashboard/api/preview/{job_id}", headers=AUTH)).json()
    with zipfile.ZipFile(bundle) as zf:
        names = [i.filename for i in zf.infolist()]
        glb = zf.read("ue5/SourceArt/main.glb")
    assert (summary["engines"], summary["quality"], summary["include_assets"]) == (
        ["godot", "unity", "ue5"], "low", False)
    assert summary["signature"] == {"signed": False}
    for engine in ("godot", "unity", "ue5"):
        listed = sorted(n.removeprefix(engine + "/") for n in names
                        if n.startswith(engine + "/"))
        assert summary["files"][engine] == {"count": len(listed), "files": listed}
    scene = summary["scene"]
    assert (scene["file"], scene["bytes"]) == ("ue5/SourceArt/main.glb", len(glb))

    def flat(nodes: list[dict[str, Any]]) -> list[str]:
        return [n for node in nodes for n in [node["name"], *flat(node["children"])]]

    assert flat(scene["nodes"]) == NODE_NAMES
    assert [n["name"] for n in scene["nodes"][1]["children"]] == ["Red Box", "Blue Ball"]
    # plane 2 + box 12 + sphere (24 segments x 12 rings, pole rows single) 528
    assert [scene["triangles"], scene["nodes"][0]["triangles"]] == [542, 2]
    served = await api.get(scene["url"], headers=AUTH)
    assert served.status_code == 200
    assert served.headers["content-type"] == "model/gltf-binary"
    assert served.content == glb
    path = tmp_path / "served.glb"
    path.write_bytes(served.content)
    assert validate_gltf([path])[0]["errors"] == 0


async def test_preview_of_a_signed_bundle_without_a_scene(
        api_settings: Settings, api: httpx.AsyncClient, tmp_path: Path) -> None:
    keys = subprocess.run([str(VENV_BIN / "pacai-export"), "keygen", "--out", str(tmp_path)],
                          check=True, capture_output=True, text=True)
    keyid = json.loads(keys.stdout)["keyid"]
    bundle = export(tmp_path, "godot",
                    SIGNING_KEY_FILE=str(tmp_path / "pacai-signing.key"))
    store_local(api_settings, bundle)
    job_id = await completed_job(api_settings, {"key": KEY})
    summary = (await api.get(f"/dashboard/api/preview/{job_id}", headers=AUTH)).json()
    assert summary["signature"] == {"signed": True, "valid_envelope": True, "keyids": [keyid],
                                    "signs_this_bundle_json": True}
    assert summary["scene"] is None
    scene = await api.get(f"/dashboard/api/scene/{job_id}", headers=AUTH)
    assert (scene.status_code, scene.json()["detail"]) == (
        422, "the bundle has no scene .glb (only the ue5 folder carries one)")


async def test_preview_errors_name_the_job_and_the_entry(
        api_settings: Settings, api: httpx.AsyncClient, tmp_path: Path) -> None:
    gone = await completed_job(api_settings, {"key": "layout/ffffffffffffffff/layout.zip"})
    corrupt_key = "layout/eeeeeeeeeeeeeeee/layout.zip"
    (api_settings.exports_dir / corrupt_key).parent.mkdir(parents=True)
    (api_settings.exports_dir / corrupt_key).write_bytes(b"PK\x03\x04 not really a zip" * 40)
    corrupt = await completed_job(api_settings, {"key": corrupt_key})
    bare_key = "layout/dddddddddddddddd/layout.zip"
    (api_settings.exports_dir / bare_key).parent.mkdir(parents=True)
    with zipfile.ZipFile(api_settings.exports_dir / bare_key, "w") as zf:
        zf.writestr("README.txt", "no bundle.json here")
    bare = await completed_job(api_settings, {"key": bare_key})
    queue = bullmq.Queue(api_settings.queue_name, {"connection": api_settings.redis_url})
    waiting = (await queue.add("export", {"project_id": "layout"}, {})).id  # no worker left
    await queue.close()
    answers = {name: await api.get(f"/dashboard/api/preview/{job}", headers=AUTH)
               for name, job in (("waiting", waiting), ("gone", gone), ("corrupt", corrupt),
                                 ("bare", bare), ("missing", "no-such-job"))}
    anonymous = await api.get(f"/dashboard/api/preview/{gone}")
    assert {name: (r.status_code, r.json()["detail"]) for name, r in answers.items()} == {
        "waiting": (409, f"job '{waiting}' is waiting; a preview needs a completed job"),
        "gone": (404, f"job '{gone}': its bundle is no longer in storage"),
        "corrupt": (503, f"job '{corrupt}': its bundle could not be read from storage"),
        "bare": (422, "bundle.json: not in the bundle"),
        "missing": (404, f"no job 'no-such-job' in queue {api_settings.queue_name}"),
    }
    assert anonymous.status_code == 401
    assert str(tmp_path) not in json.dumps([r.json() for r in answers.values()])


async def test_preview_reads_an_s3_bundle_by_range(
        api_settings: Settings, tmp_path: Path, s3_endpoint: str,
        bucket: str) -> None:
    from pacai_export.api import create_app

    bundle = export(tmp_path, "ue5")
    s3_client(s3_endpoint).upload_file(str(bundle), bucket, "exports/" + KEY)
    s = dataclasses.replace(api_settings, storage_url=f"s3://{bucket}/exports/",
                            s3_endpoint_url=s3_endpoint)
    job_id = await completed_job(s, {"key": KEY})
    app = create_app(s)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        summary = (await http.get(f"/dashboard/api/preview/{job_id}", headers=AUTH)).json()
        served = await http.get(f"/dashboard/api/scene/{job_id}", headers=AUTH)
    with zipfile.ZipFile(bundle) as zf:
        assert served.content == zf.read("ue5/SourceArt/main.glb")
        ue5_files = [n for n in zf.namelist() if n.startswith("ue5/") and not n.endswith("/")]
    assert summary["scene"]["triangles"] == 542
    assert summary["files"]["ue5"]["count"] == len(ue5_files)


def test_read_range_is_exact_at_the_edges(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.zip").write_bytes(data)
    storage = LocalStorage(tmp_path, "https://example.test")
    assert storage.read_range("a/b.zip", 0, 10) == data[:10]
    assert storage.read_range("a/b.zip", 1020, 10) == data[1020:]


@pytest.mark.parametrize("name", ["viewer.js", "live.js", "preview.js", "preview.css"])
async def test_static_files_are_served_from_the_package(api: httpx.AsyncClient,
                                                        name: str) -> None:
    response = await api.get(f"/dashboard/static/{name}")
    source = Path(__file__).parents[2] / "src/pacai_export/api/static" / name
    assert response.status_code == 200
    assert response.content == source.read_bytes()
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_static_file_is_a_404(api: httpx.AsyncClient) -> None:
    unlisted = await api.get("/dashboard/static/__init__.py")
    climbing = await api.get("/dashboard/static/..%2Fapp.py")
    assert (unlisted.status_code, unlisted.json()["detail"]) == (
        404, "no static file '__init__.py'")
    assert (climbing.status_code, climbing.json()["detail"]) == (
        404, "GET /dashboard/static/../app.py: Not Found")


def test_committed_viewer_equals_a_fresh_build_of_the_pinned_sources(tmp_path: Path) -> None:
    web = Path(__file__).parents[2] / "web" / "viewer"
    esbuild = web / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail("web/viewer/node_modules missing: run `make setup` (npm ci in web/viewer)")
    script = json.loads((web / "package.json").read_text())["scripts"]["build"]
    args = script.split()[1:]
    out = tmp_path / "viewer.js"
    args = [a if not a.startswith("--outfile=") else f"--outfile={out}" for a in args]
    subprocess.run([str(esbuild), *args], cwd=web, check=True, capture_output=True)
    committed = Path(__file__).parents[2] / "src/pacai_export/api/static/viewer.js"
    assert out.read_bytes() == committed.read_bytes()


def _glb(doc: dict[str, Any]) -> bytes:
    body = json.dumps(doc).encode()
    body += b" " * (-len(body) % 4)
    return struct.pack("<4sII", b"glTF", 2, 20 + len(body)) + struct.pack(
        "<II", len(body), 0x4E4F534A) + body


@pytest.mark.parametrize(("doc", "message"), [
    ({"nodes": [{"name": "a", "children": [0]}], "scenes": [{"nodes": [0]}]},
     "scene glTF: a node appears more than once in the hierarchy"),
    ({"nodes": [{"name": "a", "children": [5]}], "scenes": [{"nodes": [0]}]},
     "scene glTF: broken node reference (IndexError)"),
    ({"nodes": [{"name": "a", "mesh": 3}], "scenes": [{"nodes": [0]}]},
     "scene glTF: broken node reference (IndexError)"),
])
def test_a_hostile_scene_is_refused_by_name(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(BundleError) as caught:
        scene_tree(glb_json(_glb(doc), "ue5/SourceArt/main.glb"))
    assert str(caught.value) == message


def test_a_glb_whose_lengths_lie_is_refused_before_its_json_is_read() -> None:
    data = bytearray(_glb({"nodes": []}))
    struct.pack_into("<I", data, 12, 1 << 30)  # JSON chunk "longer" than the file
    with pytest.raises(BundleError) as caught:
        glb_json(bytes(data), "ue5/SourceArt/main.glb")
    assert str(caught.value) == "ue5/SourceArt/main.glb: malformed glTF binary header"


# --- the preview file the worker stores beside each bundle ------------------------------------


async def _quiet(percent: int, stage: str, **fields: Any) -> None:
    return None


async def worker_export(s: Settings, storage: Any, engines: list[str]) -> Any:
    """An export as the worker runs it (``Exporter`` with a real backend and CPU pool)."""
    from pacai_export.jobs import ExportJob
    from pacai_export.pipeline import Exporter
    from pacai_export.pool import CpuPool

    pool = CpuPool(1)
    job, _ = ExportJob.parse({"project_id": "layout", "engines": engines, "quality": "low",
                              "include_assets": False, "manifest": LAYOUT})
    try:
        return await Exporter.from_settings(s, storage, pool).export(job, "t", _quiet)
    finally:
        pool.close()


def flat_names(nodes: list[dict[str, Any]]) -> list[str]:
    return [n for node in nodes for n in [node["name"], *flat_names(node["children"])]]


async def test_a_godot_only_export_gets_a_3d_preview_from_its_preview_file(
        api_settings: Settings, api: httpx.AsyncClient, tmp_path: Path) -> None:
    storage = LocalStorage(api_settings.exports_dir, api_settings.export_bucket_url)
    result = await worker_export(api_settings, storage, ["godot"])
    stored = api_settings.exports_dir / preview_key(result.key)
    assert stored.name == "layout.preview.glb"
    assert stored.parent == (api_settings.exports_dir / result.key).parent
    job_id = await completed_job(api_settings, {"key": result.key})
    summary = (await api.get(f"/dashboard/api/preview/{job_id}", headers=AUTH)).json()
    assert summary["engines"] == ["godot"]
    scene = summary["scene"]
    assert (scene["file"], scene["bytes"]) == ("layout.preview.glb", stored.stat().st_size)
    assert flat_names(scene["nodes"]) == NODE_NAMES
    assert scene["triangles"] == 542
    served = await api.get(scene["url"], headers=AUTH)
    assert (served.status_code, served.headers["content-type"]) == (200, "model/gltf-binary")
    assert served.content == stored.read_bytes()
    path = tmp_path / "served.glb"
    path.write_bytes(served.content)
    assert validate_gltf([path])[0]["errors"] == 0


async def test_the_preview_file_is_the_ue5_scene_byte_for_byte_and_deterministic(
        api_settings: Settings, tmp_path: Path) -> None:
    first = LocalStorage(tmp_path / "one", "https://example.test")
    second = LocalStorage(tmp_path / "two", "https://example.test")
    a = await worker_export(api_settings, first, ["godot"])
    b = await worker_export(api_settings, second, ["ue5"])
    preview_a = (tmp_path / "one" / preview_key(a.key)).read_bytes()
    preview_b = (tmp_path / "two" / preview_key(b.key)).read_bytes()
    assert preview_a == preview_b
    with zipfile.ZipFile(tmp_path / "two" / b.key) as zf:
        assert zf.read("ue5/SourceArt/main.glb") == preview_a
    again = LocalStorage(tmp_path / "three", "https://example.test")
    c = await worker_export(api_settings, again, ["godot"])
    assert (tmp_path / "three" / preview_key(c.key)).read_bytes() == preview_a


async def test_a_reused_bundle_gets_its_missing_preview_written_once(
        api_settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store", "https://example.test")
    first = await worker_export(api_settings, storage, ["godot"])
    path = tmp_path / "store" / preview_key(first.key)
    original = path.read_bytes()
    path.unlink()  # a bundle stored before preview files existed
    second = await worker_export(api_settings, storage, ["godot"])
    assert (second.reused, second.key) == (True, first.key)
    assert path.read_bytes() == original
    before = path.stat().st_mtime_ns
    third = await worker_export(api_settings, storage, ["godot"])
    assert third.reused and path.stat().st_mtime_ns == before  # already there: not rewritten
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "layout.preview.glb", "layout.zip", "layout.zip.meta.json"]  # no temp files left


async def test_an_s3_export_stores_and_serves_its_preview_file(
        api_settings: Settings, tmp_path: Path, s3_endpoint: str,
        bucket: str) -> None:
    from pacai_export.api import create_app
    from pacai_export.storage import open_storage

    s = dataclasses.replace(api_settings, storage_url=f"s3://{bucket}/exports/",
                            s3_endpoint_url=s3_endpoint)
    storage = open_storage(s)
    try:
        result = await worker_export(s, storage, ["godot"])
    finally:
        await storage.aclose()
    head = s3_client(s3_endpoint).head_object(Bucket=bucket,
                                              Key="exports/" + preview_key(result.key))
    assert head["ContentType"] == "model/gltf-binary"
    job_id = await completed_job(s, {"key": result.key})
    app = create_app(s)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        summary = (await http.get(f"/dashboard/api/preview/{job_id}", headers=AUTH)).json()
        served = await http.get(f"/dashboard/api/scene/{job_id}", headers=AUTH)
    assert summary["scene"]["file"] == "layout.preview.glb"
    assert flat_names(summary["scene"]["nodes"]) == NODE_NAMES
    assert served.content == s3_client(s3_endpoint).get_object(
        Bucket=bucket, Key="exports/" + preview_key(result.key))["Body"].read()
    assert len(served.content) == head["ContentLength"]


async def test_an_oversized_preview_file_is_refused_by_name(
        api_settings: Settings, api: httpx.AsyncClient, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pacai_export.api import preview

    store_local(api_settings, export(tmp_path, "godot"))
    (api_settings.exports_dir / preview_key(KEY)).write_bytes(b"glTF" + bytes(60))
    monkeypatch.setattr(preview, "MAX_SCENE_BYTES", 32)
    job_id = await completed_job(api_settings, {"key": KEY})
    answer = await api.get(f"/dashboard/api/scene/{job_id}", headers=AUTH)
    assert (answer.status_code, answer.json()["detail"]) == (
        422, "layout.preview.glb: over the preview's 32 bytes")
