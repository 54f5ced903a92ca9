"""Gathering a job's assets from every URI form, once, with the cache across jobs."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest

from pacai_export.assets.cache import DiskCache
from pacai_export.assets.fetch import Fetcher, FetchPolicy
from pacai_export.assets.gather import AssetGatherer, GatheredAssets, Sources
from pacai_export.errors import InvalidInput
from pacai_export.manifest import Manifest
from pacai_export.pool import CpuPool
from pacai_export.settings import Limits
from tests.helpers import manifest, s3_client, serve_folder, wav


@pytest.fixture(scope="module")
def pool() -> Iterator[CpuPool]:
    p = CpuPool(2)
    yield p
    p.close()


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    async def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


async def run(m: Manifest, sources: Sources, work: Path, pool: CpuPool,
              cache: DiskCache | None = None) -> tuple[GatheredAssets, Progress]:
    progress = Progress()
    gathered = await AssetGatherer(Limits(), pool, cache, "high").gather(m, sources, work,
                                                                          progress)
    return gathered, progress


async def test_relative_and_data_uris(tmp_path: Path, pool: CpuPool) -> None:
    (tmp_path / "root" / "audio").mkdir(parents=True)
    (tmp_path / "root" / "audio" / "a.wav").write_bytes(wav())
    b = wav(tone=3)
    m = manifest([
        {"id": "sfx_a", "type": "audio", "uri": "audio/a.wav",
         "sha256": hashlib.sha256(wav()).hexdigest()},
        {"id": "sfx_b", "type": "audio", "uri": "data:audio/wav;base64," + base64.b64encode(b)
         .decode()}])
    gathered, progress = await run(m, Sources(root=tmp_path / "root"), tmp_path / "w", pool)
    assert sorted(gathered.files) == ["sfx_a", "sfx_b"]
    assert gathered.files["sfx_b"].path.read_bytes() == b
    assert gathered.digests == {"sfx_a": hashlib.sha256(wav()).hexdigest(),
                                "sfx_b": hashlib.sha256(b).hexdigest()}
    assert sorted(progress.calls) == [(1, 2), (2, 2)]


@pytest.mark.parametrize(("uri", "message"), [
    ("../secret.wav", "assets[0] 'sfx' (../secret.wav): the path escapes the project's asset "
                      "root"),
    ("audio/missing.wav", "assets[0] 'sfx' (audio/missing.wav): not found under the project's "
                          "asset root"),
    ("audio/a.flac", "assets[0] 'sfx' (audio/a.flac): a audio must be one of .mp3, .ogg, .wav, "
                     "got '.flac'"),
    ("ftp://example.test/a.wav", "assets[0] 'sfx' (ftp://example.test/a.wav): ftp: URIs are not "
                                 "supported"),
    ("data:image/png;base64,AAAA", "assets[0] 'sfx' (data:image/png;base64,AAAA): data: URI "
                                   "media type 'image/png' is not a audio"),
])
async def test_bad_uris_name_the_asset(tmp_path: Path, pool: CpuPool, uri: str,
                                       message: str) -> None:
    (tmp_path / "root" / "audio").mkdir(parents=True)
    with pytest.raises(InvalidInput) as info:
        await run(manifest([{"id": "sfx", "type": "audio", "uri": uri}]),
                  Sources(root=tmp_path / "root"), tmp_path / "w", pool)
    assert str(info.value) == message


async def test_symlink_out_of_the_root_is_refused(tmp_path: Path, pool: CpuPool) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside.wav").write_bytes(wav())
    os.symlink(tmp_path / "outside.wav", tmp_path / "root" / "a.wav")
    with pytest.raises(InvalidInput, match=r"the path escapes the project's asset root$"):
        await run(manifest([{"id": "sfx", "type": "audio", "uri": "a.wav"}]),
                  Sources(root=tmp_path / "root"), tmp_path / "w", pool)


async def test_checksum_and_content_are_checked(tmp_path: Path, pool: CpuPool) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a.wav").write_bytes(wav())
    (tmp_path / "root" / "fake.wav").write_bytes(b"ID3 this is an mp3 really" * 4)
    with pytest.raises(InvalidInput) as info:
        await run(manifest([{"id": "sfx", "type": "audio", "uri": "a.wav", "sha256": "0" * 64}]),
                  Sources(root=tmp_path / "root"), tmp_path / "w", pool)
    assert str(info.value) == (f"assets[0] 'sfx' (a.wav): sha256 mismatch: expected {'0' * 64}, "
                               f"got {hashlib.sha256(wav()).hexdigest()}")
    with pytest.raises(InvalidInput, match=r"^assets\[0\] 'sfx' \(fake.wav\): the content is not "
                                           r"a wav file$"):
        await run(manifest([{"id": "sfx", "type": "audio", "uri": "fake.wav"}]),
                  Sources(root=tmp_path / "root"), tmp_path / "w2", pool)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    (root / "p" / "audio").mkdir(parents=True)
    with serve_folder(root) as base:
        yield base, root


async def test_relative_uris_over_asset_base_url_and_absolute_urls(
        tmp_path: Path, pool: CpuPool, http_root: tuple[str, Path]) -> None:
    base, root = http_root
    (root / "p" / "audio" / "a.wav").write_bytes(wav())
    (root / "other.wav").write_bytes(wav(tone=5))
    fetcher = Fetcher(FetchPolicy(allowlist=("127.0.0.1",)), 1 << 20, 1 << 22)
    try:
        gathered, _ = await run(
            manifest([{"id": "a", "type": "audio", "uri": "audio/a.wav"},
                      {"id": "b", "type": "audio", "uri": f"{base}/other.wav"}]),
            Sources(base_url=f"{base}/p", fetcher=fetcher), tmp_path / "w", pool)
    finally:
        await fetcher.aclose()
    assert gathered.files["a"].path.read_bytes() == wav()
    assert gathered.files["b"].path.read_bytes() == wav(tone=5)
    assert fetcher.fetched_bytes == 2 * len(wav())


async def test_s3_uris(tmp_path: Path, pool: CpuPool, s3_endpoint: str,
                       bucket: str) -> None:
    client = s3_client(s3_endpoint)
    client.put_object(Bucket=bucket, Key="assets/a.wav", Body=wav())
    allow = Sources(s3=client, s3_allow=(bucket,))
    gathered, _ = await run(manifest([{"id": "a", "type": "audio",
                                       "uri": f"s3://{bucket}/assets/a.wav"}]),
                            allow, tmp_path / "w", pool)
    assert gathered.files["a"].path.read_bytes() == wav()
    with pytest.raises(InvalidInput, match=r"^assets\[0\] 'a' \(s3://.*/nope.wav\): S3 answered "
                                           r"404$"):
        await run(manifest([{"id": "a", "type": "audio", "uri": f"s3://{bucket}/nope.wav"}]),
                  allow, tmp_path / "w2", pool)


async def test_cache_skips_processing_of_unchanged_assets(tmp_path: Path,
                                                          pool: CpuPool) -> None:
    (tmp_path / "root").mkdir()
    for name, tone in (("a", 1), ("b", 2)):
        (tmp_path / "root" / f"{name}.wav").write_bytes(wav(tone=tone))
    m = manifest([{"id": "a", "type": "audio", "uri": "a.wav"},
                  {"id": "b", "type": "audio", "uri": "b.wav"}])
    cache = DiskCache(tmp_path / "cache", 1 << 30)
    first, _ = await run(m, Sources(root=tmp_path / "root"), tmp_path / "w1", pool, cache)
    again, _ = await run(m, Sources(root=tmp_path / "root"), tmp_path / "w2", pool, cache)
    (tmp_path / "root" / "b.wav").write_bytes(wav(tone=9))
    changed, _ = await run(m, Sources(root=tmp_path / "root"), tmp_path / "w3", pool, cache)
    assert (first.cache_hits, again.cache_hits, changed.cache_hits) == (0, 2, 1)
    assert changed.files["b"].path.read_bytes() == wav(tone=9)


async def test_project_files_are_copied_only_to_be_processed(tmp_path: Path,
                                                            pool: CpuPool) -> None:
    """A relative source is hashed where it lies; only a cache miss copies it (into the job's
    folder, to process a snapshot), and a hit links the cached result without a copy."""
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a.wav").write_bytes(wav())
    m = manifest([{"id": "a", "type": "audio", "uri": "a.wav"}])
    cache = DiskCache(tmp_path / "cache", 1 << 30)
    miss, _ = await run(m, Sources(root=tmp_path / "root"), tmp_path / "w1", pool, cache)
    hit, _ = await run(m, Sources(root=tmp_path / "root"), tmp_path / "w2", pool, cache)
    assert (tmp_path / "w1" / "sources" / "a.wav").read_bytes() == wav()
    assert not (tmp_path / "w2" / "sources").exists()
    assert hit.digests == miss.digests == {"a": hashlib.sha256(wav()).hexdigest()}
    entry = next(p for p in (tmp_path / "cache").rglob("*.wav"))
    assert hit.files["a"].path.stat().st_ino == entry.stat().st_ino  # one inode, no copy


def test_disk_cache_entries_are_immutable_under_links(tmp_path: Path) -> None:
    """A job's linked copy keeps its bytes when the entry is replaced or evicted."""
    cache = DiskCache(tmp_path / "c", max_bytes=1 << 20)
    (tmp_path / "v1").write_bytes(b"one")
    cache._put(tmp_path / "c" / "k", tmp_path / "v1")
    assert cache._get(tmp_path / "c" / "k", tmp_path / "job" / "k")
    (tmp_path / "v2").write_bytes(b"two")
    cache._put(tmp_path / "c" / "k", tmp_path / "v2")
    assert (tmp_path / "job" / "k").read_bytes() == b"one"
    assert (tmp_path / "c" / "k").read_bytes() == b"two"
    (tmp_path / "c" / "k").unlink()
    assert not cache._get(tmp_path / "c" / "k", tmp_path / "job" / "k2")


def test_disk_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c", max_bytes=2500)
    for i in range(3):
        src = tmp_path / f"{i}.bin"
        src.write_bytes(bytes([i]) * 1000)
        cache._put(tmp_path / "c" / f"k{i}", src)
        os.utime(tmp_path / "c" / f"k{i}", (1000 + i, 1000 + i))
    cache._evict()
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["k1", "k2"]


async def test_data_uri_with_percent_encoded_high_bytes(tmp_path: Path, pool: CpuPool) -> None:
    raw = wav(tone=4)
    assert max(raw) >= 0x80
    m = manifest([{"id": "sfx", "type": "audio",
                   "uri": "data:audio/wav," + quote_from_bytes(raw)}])
    gathered, _ = await run(m, Sources(), tmp_path / "w", pool)
    assert gathered.files["sfx"].path.read_bytes() == raw


@pytest.mark.parametrize(("make", "uri", "message"), [
    (lambda root: (root / "adir.wav").mkdir(), "adir.wav", "not a regular file"),
    (lambda root: os.mkfifo(root / "pipe.wav"), "pipe.wav", "not a regular file"),
    (lambda root: None, "a%00.wav", "the path contains a control character"),  # noqa: ARG005 (the double keeps the real signature)
])
async def test_only_regular_files_and_no_server_paths(tmp_path: Path, pool: CpuPool,
                                                      make: Any, uri: str,
                                                      message: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    make(root)
    with pytest.raises(InvalidInput) as info:
        await run(manifest([{"id": "sfx", "type": "audio", "uri": uri}]), Sources(root=root),
                  tmp_path / "w", pool)
    assert str(info.value) == f"assets[0] 'sfx' ({uri}): {message}"


async def test_a_file_swapped_for_a_fifo_after_the_check_does_not_block(
        tmp_path: Path, pool: CpuPool, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    root.mkdir()
    target = root / "swap.wav"
    target.write_bytes(wav())
    real_stat, resolved = Path.stat, target.resolve()

    def stat_then_swap(self: Path, **kwargs: Any) -> os.stat_result:
        info = real_stat(self, **kwargs)
        checking = sys._getframe(1).f_code.co_name == "_file"  # the gatherer's own check
        if checking and self == resolved and stat.S_ISREG(info.st_mode):
            target.unlink()  # the race: a regular file at the check, a FIFO at the read
            os.mkfifo(target)
        return info

    monkeypatch.setattr(Path, "stat", stat_then_swap)
    with pytest.raises(InvalidInput) as info:
        await run(manifest([{"id": "sfx", "type": "audio", "uri": "swap.wav"}]),
                  Sources(root=root), tmp_path / "w", pool)
    assert str(info.value) == "assets[0] 'sfx' (swap.wav): cannot be read (not a regular file)"


async def test_s3_assets_outside_the_allowed_prefixes_are_refused(
        tmp_path: Path, pool: CpuPool, s3_endpoint: str, bucket: str) -> None:
    client = s3_client(s3_endpoint)
    client.put_object(Bucket=bucket, Key="tenant-b/secret.wav", Body=wav())
    uri = f"s3://{bucket}/tenant-b/secret.wav"
    with pytest.raises(InvalidInput) as info:
        await run(manifest([{"id": "a", "type": "audio", "uri": uri}]),
                  Sources(s3=client, s3_allow=(f"{bucket}/tenant-a/",)), tmp_path / "w", pool)
    assert str(info.value) == (f"assets[0] 'a' ({uri}): refused: the bucket and prefix are not "
                               "in ASSET_S3_ALLOW")
    gathered, _ = await run(manifest([{"id": "a", "type": "audio", "uri": uri}]),
                            Sources(s3=client, s3_allow=(f"{bucket}/{{project_id}}/",),
                                    project_id="tenant-b"), tmp_path / "w2", pool)
    assert gathered.files["a"].path.read_bytes() == wav()
