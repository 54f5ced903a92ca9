"""Models that refer to files beside them (§10.2): resolved against the model's own URI on
disk, over ASSET_BASE_URL, over https and in S3; each file fetched, and each image
processed, once per job; the model's digest covering them; escapes refused."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pacai_export.assets.cache import DiskCache
from pacai_export.assets.fetch import Fetcher, FetchPolicy
from pacai_export.assets.gather import AssetGatherer, GatheredAssets, Sources
from pacai_export.errors import InvalidInput, LimitExceeded
from pacai_export.pool import CpuPool
from pacai_export.settings import Limits
from tests.assets import corpus
from tests.assets.sample_models import kit_prop
from tests.helpers import manifest, s3_client, serve_folder, validate_gltf


class CountingPool(CpuPool):
    """The real process pool, counting what it is asked to run."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.calls: Counter[str] = Counter()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.calls[fn.__name__] += 1
        return await super().run(fn, *args)


@pytest.fixture(scope="module")
def pool() -> Iterator[CountingPool]:
    p = CountingPool(2)
    yield p
    p.close()


async def gather(models: list[str], sources: Sources, work: Path, pool: CountingPool,
                 cache: DiskCache | None = None, quality: str = "low") -> GatheredAssets:
    pool.calls.clear()
    m = manifest([{"id": f"mdl_{i}", "type": "model", "uri": uri}
                  for i, uri in enumerate(models)])
    return await AssetGatherer(Limits(), pool, cache, quality).gather(m, sources, work,
                                                                      _no_progress)


async def _no_progress(done: int, total: int) -> None:
    pass


def kit(root: Path, props: int) -> list[str]:
    """A kit as real ones ship: ``Models/<name>.gltf`` + ``.bin``, one shared
    ``Textures/colormap.png``."""
    (root / "Models").mkdir(parents=True, exist_ok=True)
    (root / "Textures").mkdir(parents=True, exist_ok=True)
    (root / "Textures" / "colormap.png").write_bytes(corpus.png(1024, 1024))
    for i in range(props):
        kit_prop(root / "Models", f"prop{i:02d}", "../Textures/colormap.png")
    return [f"Models/prop{i:02d}.gltf" for i in range(props)]


def _unescape_bins(folder: Path) -> None:
    for path in folder.glob("*%20data.bin"):
        path.rename(path.with_name(path.name.replace("%20", " ")))


async def test_a_kit_sharing_one_texture_fetches_and_processes_it_once(
        tmp_path: Path, pool: CountingPool) -> None:
    root = tmp_path / "root"
    uris = kit(root, 30)
    _unescape_bins(root / "Models")
    gathered = await gather(uris, Sources(root=root), tmp_path / "w", pool)
    assert pool.calls["process_referenced_image"] == 1
    assert pool.calls["process_asset"] == 30
    assert len(list((tmp_path / "w" / "sources" / "referenced").iterdir())) == 1 + 30 + 1
    outputs = [gathered.files[f"mdl_{i}"].path for i in range(30)]
    reports = validate_gltf(outputs[:3])
    assert [r["errors"] for r in reports] == [0, 0, 0], reports[0]["messages"]
    doc, binary = corpus.read_glb(outputs[0])
    assert corpus.image_size(corpus.image_bytes(doc, binary, 0)) == (512, 512)
    assert gathered.triangles["mdl_0"] == (1800, gathered.triangles["mdl_0"][1])
    assert gathered.triangles["mdl_0"][1] <= 1800 // 4 + 2


async def test_the_model_digest_covers_the_files_it_refers_to(tmp_path: Path,
                                                              pool: CountingPool) -> None:
    root = tmp_path / "root"
    uris = kit(root, 2)
    _unescape_bins(root / "Models")
    cache = DiskCache(tmp_path / "cache", 1 << 30)
    first = await gather(uris, Sources(root=root), tmp_path / "w1", pool, cache)
    again = await gather(uris, Sources(root=root), tmp_path / "w2", pool, cache)
    assert again.digests == first.digests and again.cache_hits == 2
    assert pool.calls["process_asset"] == 0
    (root / "Textures" / "colormap.png").write_bytes(corpus.png(1024, 1024, seed=9))
    changed = await gather(uris, Sources(root=root), tmp_path / "w3", pool, cache)
    assert changed.cache_hits == 0 and pool.calls["process_asset"] == 2
    assert all(changed.digests[k] != first.digests[k] for k in first.digests)


@pytest.mark.parametrize(("reference", "message"), [
    ("../../secret.png", "assets[0] 'mdl_0' (Models/prop00.gltf): images[0] "
                         "'../../secret.png': the path escapes the project's asset root"),
    ("/etc/hostname", "assets[0] 'mdl_0' (Models/prop00.gltf): images[0] '/etc/hostname': "
                      "the path escapes the project's asset root"),
    ("file:///etc/hostname", "assets[0] 'mdl_0' (Models/prop00.gltf): images[0] "
                             "'file:///etc/hostname': file URIs are not supported"),
    ("missing.png", "assets[0] 'mdl_0' (Models/prop00.gltf): images[0] 'missing.png': not "
                    "found under the project's asset root"),
    ("a%00.png", "assets[0] 'mdl_0' (Models/prop00.gltf): images[0] 'a%00.png': the path "
                 "contains a control character"),
])
async def test_references_escaping_the_root_or_missing_are_refused(
        tmp_path: Path, pool: CountingPool, reference: str, message: str) -> None:
    root = tmp_path / "root"
    (root / "Models").mkdir(parents=True)
    (tmp_path / "secret.png").write_bytes(corpus.png(8, 8))
    kit_prop(root / "Models", "prop00", reference)
    _unescape_bins(root / "Models")
    with pytest.raises(InvalidInput) as caught:
        await gather(["Models/prop00.gltf"], Sources(root=root), tmp_path / "w", pool)
    assert str(caught.value) == message


async def test_a_corrupt_shared_image_names_the_model_and_image(tmp_path: Path,
                                                                pool: CountingPool) -> None:
    root = tmp_path / "root"
    uris = kit(root, 1)
    _unescape_bins(root / "Models")
    good = corpus.png(64, 64)
    (root / "Textures" / "colormap.png").write_bytes(good[:len(good) // 2] + good[-12:])
    with pytest.raises(InvalidInput) as caught:
        await gather(uris, Sources(root=root), tmp_path / "w", pool)
    assert str(caught.value).startswith(
        "assets[0] 'mdl_0' (Models/prop00.gltf): images[0] '../Textures/colormap.png': "
        "corrupt PNG data (")


async def test_references_over_asset_base_url_count_against_the_job(
        tmp_path: Path, pool: CountingPool) -> None:
    served = tmp_path / "served"
    uris = kit(served / "p", 3)
    _unescape_bins(served / "p" / "Models")
    with serve_folder(served) as base:
        fetcher = Fetcher(FetchPolicy(allowlist=("127.0.0.1",)), 1 << 24, 1 << 26)
        try:
            gathered = await gather(uris, Sources(base_url=f"{base}/p", fetcher=fetcher),
                                    tmp_path / "w", pool)
        finally:
            await fetcher.aclose()
    files = [p for p in (served / "p").rglob("*") if p.is_file()]
    assert fetcher.fetched_bytes == sum(p.stat().st_size for p in files)  # each file once
    assert sorted(gathered.files) == ["mdl_0", "mdl_1", "mdl_2"]
    small = Fetcher(FetchPolicy(allowlist=("127.0.0.1",)), 1 << 24,
                    sum(p.stat().st_size for p in files) - 1)
    with serve_folder(served) as base:
        try:
            with pytest.raises(InvalidInput, match=r"the job's assets exceed \d+ bytes$"):
                await gather(uris, Sources(base_url=f"{base}/p", fetcher=small),
                             tmp_path / "w2", pool)
        finally:
            await small.aclose()


async def test_references_beside_an_s3_model(tmp_path: Path, pool: CountingPool,
                                             s3_endpoint: str, bucket: str
                                             ) -> None:
    local = tmp_path / "kit"
    uris = kit(local, 1)
    _unescape_bins(local / "Models")
    client = s3_client(s3_endpoint)
    for path in local.rglob("*"):
        if path.is_file():
            key = f"kits/{path.relative_to(local).as_posix()}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    gathered = await gather([f"s3://{bucket}/kits/{uris[0]}"],
                            Sources(s3=client, s3_allow=(bucket,)), tmp_path / "w", pool)
    (report,) = validate_gltf([gathered.files["mdl_0"].path])
    assert report["errors"] == 0, report["messages"]
    shutil.rmtree(local)


async def test_a_data_uri_model_cannot_refer_to_files(tmp_path: Path,
                                                      pool: CountingPool) -> None:
    import base64
    import json

    doc = {"asset": {"version": "2.0"}, "images": [{"uri": "colormap.png"}]}
    uri = "data:model/gltf+json;base64," + base64.b64encode(json.dumps(doc).encode()).decode()
    with pytest.raises(InvalidInput) as caught:
        await gather([uri], Sources(root=tmp_path), tmp_path / "w", pool)
    assert str(caught.value) == (f"assets[0] 'mdl_0' ({uri[:77]}...): images[0] "
                                 "'colormap.png': a model given as a data: URI cannot refer "
                                 "to other files")


async def test_a_model_referring_to_too_many_files_is_refused(tmp_path: Path,
                                                              pool: CountingPool) -> None:
    import json

    (tmp_path / "m.gltf").write_text(json.dumps({
        "asset": {"version": "2.0"}, "images": [{"uri": f"i{i}.png"} for i in range(300)]}))
    with pytest.raises(LimitExceeded) as caught:
        await gather(["m.gltf"], Sources(root=tmp_path), tmp_path / "w", pool)
    assert str(caught.value) == ("assets[0] 'mdl_0' (m.gltf): refers to 300 files, more than "
                                 "the limit of 256")
    assert pool.calls["_file"] == 0 and not (tmp_path / "w" / "sources" / "referenced").exists()


@pytest.mark.parametrize(("doc", "message"), [
    ({"images": [{"uri": 5}]}, "m.gltf: images[0].uri must be a string"),
    ({"materials": [{"normalTexture": {"index": "x"}}], "textures": [{"source": 0}],
      "images": [{"uri": "n.png"}]},
     "m.gltf: malformed glTF (ValueError: invalid literal for int() with base 10: 'x')"),
])
async def test_malformed_references_name_the_model(tmp_path: Path, pool: CountingPool,
                                                   doc: dict[str, Any], message: str) -> None:
    import json

    (tmp_path / "m.gltf").write_text(json.dumps({"asset": {"version": "2.0"}, **doc}))
    with pytest.raises(InvalidInput) as caught:
        await gather(["m.gltf"], Sources(root=tmp_path), tmp_path / "w", pool)
    assert str(caught.value) == f"assets[0] 'mdl_0' (m.gltf): {message}"


async def test_models_with_references_are_byte_identical_across_jobs(
        tmp_path: Path, pool: CountingPool) -> None:
    root = tmp_path / "root"
    uris = kit(root, 2)
    _unescape_bins(root / "Models")
    first = await gather(uris, Sources(root=root), tmp_path / "w1", pool, quality="medium")
    again = await gather(list(reversed(uris)), Sources(root=root), tmp_path / "w2", pool,
                         quality="medium")
    assert first.digests == {"mdl_0": again.digests["mdl_1"], "mdl_1": again.digests["mdl_0"]}
    assert (first.files["mdl_0"].path.read_bytes()
            == again.files["mdl_1"].path.read_bytes())
