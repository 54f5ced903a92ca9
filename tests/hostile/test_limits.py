"""The §13 bounds one by one: the pool's address-space cap, image sides and rows, zero-filled
accessors, JSON depth and numbers, the s3:// allow rule, and their settings."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest

from pacai_export.assets.gather import AssetGatherer, Sources
from pacai_export.assets.limits import (
    DecodeLimits,
    check_zero_filled,
    default_s3_allow,
    s3_refusal,
    whole_number,
)
from pacai_export.assets.location import located
from pacai_export.assets.process import process_referenced_image
from pacai_export.assets.textures import process_texture
from pacai_export.errors import ConfigError, InvalidInput, InvalidManifest, LimitExceeded
from pacai_export.jobs import ExportJob
from pacai_export.jsonlimits import check_json, load_json
from pacai_export.manifest import Manifest, parse_manifest
from pacai_export.pipeline import POOL_PRELOAD, Exporter
from pacai_export.pool import CpuPool
from pacai_export.settings import Limits, Settings
from pacai_export.storage import FileStorage
from tests.hostile import bombs
from tests.hostile.procinfo import vm_size

MiB = 1024 * 1024


# --- the CPU pool's address-space cap ------------------------------------------------------


async def test_pool_processes_run_under_the_address_space_cap() -> None:
    pool = CpuPool(1, memory_bytes=900 * MiB)
    try:
        soft, _ = await pool.run(resource.getrlimit, resource.RLIMIT_AS)
    finally:
        pool.close()
    assert soft == 900 * MiB


@pytest.fixture(scope="module")
def soup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 million honest vertices (24 MB): about 100 MiB of work to process."""
    return bombs.write(tmp_path_factory.mktemp("soup") / "models" / "soup.glb",
                       bombs.triangle_soup(2_000_000))


async def _gather_soup(soup: Path, tmp: Path, headroom: int, quality: str = "high") -> Any:
    """Process ``soup`` through the gatherer in a pool capped at its resting size plus
    ``headroom`` bytes."""
    probe = CpuPool(1, POOL_PRELOAD)
    try:
        resting = await probe.run(vm_size)
    finally:
        probe.close()
    pool = CpuPool(1, POOL_PRELOAD, memory_bytes=resting + headroom)
    manifest = Manifest.model_validate({
        "schema": "pacai.manifest/v1", "project": {"id": "p", "name": "P"},
        "assets": [{"id": "soup", "type": "model", "uri": "models/soup.glb"}],
        "scenes": [{"id": "main"}], "main_scene": "main"})

    async def progress(done: int, total: int) -> None:
        return None

    try:
        return await AssetGatherer(Limits(), pool, None, quality).gather(
            manifest, Sources(root=soup.parent.parent), tmp, progress)
    finally:
        pool.close()


async def test_memory_error_under_the_cap_is_limit_exceeded_naming_the_asset(
        soup: Path, tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded) as info:
        await _gather_soup(soup, tmp_path / "small", 16 * MiB)
    assert str(info.value) == ("assets[0] 'soup' (models/soup.glb): soup.glb: processing it "
                               "needs more memory than a worker process may use")


async def test_the_same_model_passes_with_room(soup: Path, tmp_path: Path) -> None:
    gathered = await _gather_soup(soup, tmp_path / "room", 1024 * MiB)
    assert gathered.files["soup"].path.stat().st_size > 24_000_000


async def test_native_code_short_of_memory_is_limit_exceeded_not_a_crash(
        tmp_path: Path) -> None:
    """meshoptimizer's C++ aborts the process when an allocation fails under the cap; the
    simplifier's memory is reserved first, so the asset is refused instead (a dead pool
    process would be a transient error, retried)."""
    small = bombs.write(tmp_path / "small" / "models" / "soup.glb",
                        bombs.triangle_soup(1_000_000))
    with pytest.raises(LimitExceeded) as info:
        await _gather_soup(small, tmp_path / "low", 100 * MiB, quality="low")
    assert str(info.value) == ("assets[0] 'soup' (models/soup.glb): soup.glb: processing it "
                               "needs more memory than a worker process may use")


async def test_a_referenced_image_short_of_memory_is_limit_exceeded_naming_it(
        tmp_path: Path) -> None:
    """A model's external image is processed by its own pool call: a file too big for the
    cap is refused as a limit naming the image, as a manifest asset is (not a MemoryError
    that reads as a bug)."""
    src = tmp_path / "big.webp"  # not PNG/JPEG: passed through, read whole
    src.write_bytes(b"RIFF" + bytes(4) + b"WEBP" + bytes(64 * MiB))
    probe = CpuPool(1, POOL_PRELOAD)
    try:
        resting = await probe.run(vm_size)
    finally:
        probe.close()
    pool = CpuPool(1, POOL_PRELOAD, memory_bytes=resting + 16 * MiB)
    try:
        with pytest.raises(LimitExceeded) as info:
            await pool.run(process_referenced_image, src, tmp_path / "out.image", "high",
                           "srgb", 1 << 26, "rock.glb: images[0]")
    finally:
        pool.close()
    assert str(info.value) == ("rock.glb: images[0]: processing it needs more memory than a "
                               "worker process may use")


# --- images: each side and the decoded row ---------------------------------------------------


def test_a_decoded_row_beyond_its_limit_is_refused(tmp_path: Path) -> None:
    src = bombs.write(tmp_path / "row.png", bombs.png(4096, 2, bit_depth=16, colour=6))
    with pytest.raises(LimitExceeded) as info:
        process_texture(src, tmp_path / "out", quality="low", color_space="srgb",
                        max_pixels=1 << 26, decode=DecodeLimits(image_row_bytes=16_384))
    assert str(info.value) == ("row.png: a decoded row of 32768 bytes (4096 pixels × 4 bands "
                               "of ushort) exceeds the limit of 16384")
    done = process_texture(src, tmp_path / "out", quality="low", color_space="srgb",
                           max_pixels=1 << 26)
    assert (done.width, done.height) == (512, 1)  # within the default limits: resized


def test_a_side_beyond_its_limit_is_refused(tmp_path: Path) -> None:
    src = bombs.write(tmp_path / "tall.png", bombs.png(1, 3000))
    with pytest.raises(LimitExceeded) as info:
        process_texture(src, tmp_path / "out", quality="low", color_space="srgb",
                        max_pixels=1 << 26, decode=DecodeLimits(image_dimension=2048))
    assert str(info.value) == ("tall.png: 1×3000: a side of 3000 pixels exceeds the limit of "
                               "2048")


# --- glTF numbers and zero-filled accessors --------------------------------------------------


def _acc(count: int, view: bool, kind: str = "VEC3") -> dict[str, Any]:
    acc: dict[str, Any] = {"componentType": 5126, "type": kind, "count": count}
    if view:
        acc["bufferView"] = 0
    return acc


def _size(acc: dict[str, Any]) -> int:
    return {"SCALAR": 4, "VEC3": 12, "MAT4": 64}[acc["type"]]


def test_zero_filled_accessors_may_match_the_data_the_file_holds() -> None:
    # A morph target without displacement: as large as the positions it displaces.
    check_zero_filled([_acc(1000, True), _acc(1000, False)], _size)
    # Sparse values back their own count.
    sparse = {**_acc(50, False), "sparse": {"count": 50}}
    check_zero_filled([sparse], _size)
    with pytest.raises(LimitExceeded) as info, located("m.glb"):
        check_zero_filled([_acc(1000, True), _acc(188, False, "MAT4")], _size)
    assert str(info.value) == ("m.glb: accessors[1] has no bufferView and a count of 188 "
                               "(12032 bytes), more than the 12000 bytes of the file's largest "
                               "accessor")


@pytest.mark.parametrize(("value", "message"), [
    (1.5e9, "w: count must be a whole number, got 1500000000.0"),
    (True, "w: count must be a whole number, got true"),
    ("3", 'w: count must be a whole number, got "3"'),
    (None, "w: count must be a whole number, got NoneType"),
    (-1, "w: count -1 is out of range (0 to 9007199254740992)"),
    (2**60, "w: count 1152921504606846976 is out of range (0 to 9007199254740992)"),
])
def test_whole_numbers(value: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        whole_number(value, "count", "w")
    assert str(info.value) == message
    assert whole_number(7, "count", "w") == 7


# --- JSON depth and magnitude ----------------------------------------------------------------


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_json_depth_is_checked_without_recursion() -> None:
    with pytest.raises(InvalidInput) as info:
        check_json({"a": _nested(100_000)}, "doc", 64)
    assert str(info.value).endswith(": nested deeper than 64 levels")
    assert str(info.value).startswith("doc.a[0][0]")
    check_json({"a": _nested(62)}, "doc", 64)


@pytest.mark.parametrize(("text", "message"), [
    (b"[" * 100_000, "m: nested deeper than 64 levels"),
    (b'{"a": 1e400}', "m: the number 1e400 is out of range"),
    (b'{"a": NaN}', "m: the number NaN is out of range"),
    (b'{"a": ' + b"9" * 5000 + b"}", "m: a number is out of range"),
    (b'{"a": 9007199254740993}', "m.a: the number is out of range (beyond ±2**53)"),
    (b'{"a": "\xff"}', "m: not valid UTF-8 JSON (invalid start byte at byte 7)"),
])
def test_json_magnitudes(text: bytes, message: str) -> None:
    with pytest.raises(InvalidManifest) as info:
        load_json(text, "m", 64, InvalidManifest)
    assert str(info.value) == message


def _manifest(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": "pacai.manifest/v1", "project": {"id": "p", "name": "P"},
                           "scenes": [{"id": "main"}], "main_scene": "main"}
    doc.update(changes)
    return doc


def test_params_nested_1000_deep_are_an_invalid_manifest() -> None:
    params: dict[str, Any] = {}
    for _ in range(1000):
        params = {"p": params}
    with pytest.raises(InvalidManifest, match=r"nested deeper than 64 levels$"):
        parse_manifest(_manifest(scenes=[{"id": "main", "nodes": [
            {"id": "n", "components": [{"type": "spin", "params": params}]}]}]), Limits())


async def test_a_job_manifest_3000_deep_fails_before_anything_recursive(tmp_path: Path) -> None:
    """Job data decoded 3000 deep reaches the exporter as a dict: ``json.dumps`` and pickling
    it to the pool would raise RecursionError; it is refused first."""
    deep: dict[str, Any] = {}
    for _ in range(3000):
        deep = {"p": deep}
    job, _ = ExportJob.parse({"project_id": "p", "engines": ["godot"], "include_assets": False,
                              "quality": "low", "manifest": _manifest(extra=deep)})
    pool = CpuPool(1)

    async def quiet(percent: int, stage: str, **fields: Any) -> None:
        return None

    try:
        with pytest.raises(InvalidManifest, match=r"^manifest\.extra\.p\.p.*nested deeper"):
            exporter = Exporter.from_settings(Settings(), FileStorage(tmp_path / "out.zip"), pool)
            await exporter.export(job, "t", quiet)
    finally:
        pool.close()


@pytest.mark.parametrize(("changes", "message"), [
    ({"scenes": [{"id": f"s{i}"} for i in range(4)], "main_scene": "s0"},
     "manifest.scenes: 4 scenes exceed the limit of 3"),
    ({"materials": [{"id": f"m{i}"} for i in range(3)]},
     "manifest.materials: 3 materials exceed the limit of 2"),
    ({"scenes": [{"id": "main", "nodes": [{"id": "n", "components": [{"type": "spin"}] * 5}]}]},
     "manifest.scenes[0].nodes[0].components: 5 components exceed the limit of 4"),
])
def test_counts_are_limited_and_configurable(changes: dict[str, Any], message: str) -> None:
    limits = Limits(scenes=3, materials=2, components=4)
    with pytest.raises(LimitExceeded) as info:
        parse_manifest(_manifest(**changes), limits)
    assert str(info.value) == message


# --- s3:// assets --------------------------------------------------------------------------


@pytest.mark.parametrize(("bucket", "key", "allow", "refusal"), [
    ("own", "exports/_assets/p/a.wav", ("own/exports/_assets/{project_id}/",), None),
    ("own", "exports/_assets/q/a.wav", ("own/exports/_assets/{project_id}/",),
     "the bucket and prefix are not in ASSET_S3_ALLOW"),
    ("own", "exports/_assets/pq/a.wav", ("own/exports/_assets/p",),
     "the bucket and prefix are not in ASSET_S3_ALLOW"),  # whole segments only
    ("other", "exports/_assets/p/a.wav", ("own/exports/_assets/{project_id}/",),
     "the bucket and prefix are not in ASSET_S3_ALLOW"),
    ("shared", "any/key.wav", ("shared",), None),
    ("own", "exports/_assets/p/../q/a.wav", ("own",),
     "the key has empty, '.', '..' or control-character segments"),
    ("own", "exports//a.wav", ("own",),
     "the key has empty, '.', '..' or control-character segments"),
    ("own", "a.wav", (), "s3:// assets are not allowed here (ASSET_S3_ALLOW)"),
])
def test_s3_allow_rule(bucket: str, key: str, allow: tuple[str, ...],
                       refusal: str | None) -> None:
    assert s3_refusal(bucket, key, allow, "p") == refusal


def test_default_s3_allow_is_the_workers_own_asset_prefix() -> None:
    assert default_s3_allow("s3://bundles/exports/") == ("bundles/exports/_assets/{project_id}/",)
    assert default_s3_allow("s3://bundles") == ("bundles/_assets/{project_id}/",)
    assert default_s3_allow(None) == ()


def test_settings_of_the_new_limits() -> None:
    s = Settings.from_env({"ASSET_S3_ALLOW": "art-bucket/shared, own/exports/_assets",
                           "LIMIT_SCENES": "10", "LIMIT_MATERIALS": "20",
                           "LIMIT_COMPONENTS": "5", "LIMIT_JSON_DEPTH": "32",
                           "LIMIT_IMAGE_DIMENSION": "4096", "LIMIT_IMAGE_ROW_BYTES": "65536",
                           "LIMIT_POOL_MEMORY_BYTES": str(1024 * MiB)})
    assert s.asset_s3_allow == ("art-bucket/shared", "own/exports/_assets")
    limits = s.limits
    assert (limits.scenes, limits.materials, limits.components, limits.json_depth,
            limits.image_dimension, limits.image_row_bytes, limits.pool_memory_bytes) == (
        10, 20, 5, 32, 4096, 65536, 1024 * MiB)
    assert Settings.from_env({}).asset_s3_allow is None
    assert Settings.from_env({"ASSET_S3_ALLOW": "none"}).asset_s3_allow == ()


@pytest.mark.parametrize(("env", "message"), [
    ({"ASSET_S3_ALLOW": "Bad_Bucket/x"},
     "ASSET_S3_ALLOW: 'Bad_Bucket/x' is not a bucket/prefix entry"),
    ({"ASSET_S3_ALLOW": "bucket/../x"},
     "ASSET_S3_ALLOW: 'bucket/../x' is not a bucket/prefix entry"),
    ({"LIMIT_POOL_MEMORY_BYTES": "1000"},
     "LIMIT_POOL_MEMORY_BYTES: must be 0 (no limit) or at least 536870912, got 1000"),
    ({"LIMIT_JSON_DEPTH": "2"}, "LIMIT_JSON_DEPTH: must be between 8 and 400, got 2"),
])
def test_bad_limit_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value) == message
