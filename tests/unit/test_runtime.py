"""``open_runtime``: what it opens is closed when the block ends, and after a failed start."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from pacai_export.assets.cache import S3Cache
from pacai_export.errors import ConfigError
from pacai_export.runtime import open_runtime, pool_size
from pacai_export.settings import Settings
from pacai_export.storage import FileStorage, LocalStorage
from pacai_export.storage.s3 import S3Storage


class ClosingFileStorage(FileStorage):
    """The offline command's real storage, counting its ``aclose`` calls."""

    closed = 0

    async def aclose(self) -> None:
        self.closed += 1
        await super().aclose()


def _double(x: int) -> int:
    return 2 * x


# Helpers multiprocessing keeps for the life of this process, whatever the pool does.
LIFELONG = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def _pool_processes() -> set[int]:
    """Descendants of this process but its own helpers (pool processes are forked by the
    forkserver, so they share its command line but not its parent)."""
    me = psutil.Process()
    return {p.pid for p in me.children(recursive=True) if _running(p) and not _lifelong(me, p)}


def _running(p: psutil.Process) -> bool:
    """Alive, not a zombie an earlier test's child left for its parent to reap."""
    try:
        return bool(p.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:  # ZombieProcess is one too
        return False


def _lifelong(me: psutil.Process, p: psutil.Process) -> bool:
    try:
        return p.ppid() == me.pid and any(h in " ".join(p.cmdline()) for h in LIFELONG)
    except psutil.NoSuchProcess:
        return False


async def test_a_start_that_fails_at_a_late_step_closes_what_it_opened(tmp_path: Path) -> None:
    storage = ClosingFileStorage(tmp_path / "out.zip")
    settings = Settings(exports_dir=tmp_path, redis_url=None)
    # Storage, pool, cache and exporter open; then the Redis step finds no REDIS_URL.
    with pytest.raises(ConfigError, match=r"^REDIS_URL: required"):
        async with open_runtime(settings, storage=storage):
            pytest.fail("the block must not run")
    assert storage.closed == 1


async def test_a_signer_that_cannot_open_closes_the_storage_before_it(tmp_path: Path) -> None:
    storage = ClosingFileStorage(tmp_path / "out.zip")
    settings = Settings(exports_dir=tmp_path, signing_key_file=tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match=r"^SIGNING_KEY_FILE: cannot read "):
        async with open_runtime(settings, storage=storage, queues=False):
            pytest.fail("the block must not run")
    assert storage.closed == 1


async def test_the_block_gets_every_part_and_closes_the_pool_it_used(tmp_path: Path) -> None:
    storage = ClosingFileStorage(tmp_path / "out.zip")
    before = _pool_processes()
    async with open_runtime(Settings(exports_dir=tmp_path), storage=storage,
                            queues=False) as rt:
        assert rt.storage is storage
        assert rt.pool is not None and rt.exporter is not None and rt.cache is not None
        assert rt.exporter.storage is storage and rt.exporter.pool is rt.pool
        assert rt.redis is None and rt.queue is None and rt.outbox is None
        assert await rt.pool.run(_double, 21) == 42
        assert _pool_processes() - before, "the pool started no process"
        assert rt.pool.workers == pool_size(rt.settings)
    assert storage.closed == 1
    left = _pool_processes() - before
    assert not left, [psutil.Process(p).cmdline() for p in left]


async def test_the_api_runtime_opens_storage_only(tmp_path: Path) -> None:
    settings = Settings.from_env({"EXPORTS_DIR": str(tmp_path)})
    async with open_runtime(settings, export=False, queues=False) as rt:
        assert isinstance(rt.storage, LocalStorage)
        assert (rt.signer, rt.pool, rt.exporter, rt.redis, rt.queue) == (None,) * 5
        with pytest.raises(RuntimeError, match=r"^this runtime was opened without the exporter$"):
            rt.require_exporter()


async def test_with_s3_storage_the_cache_and_s3_assets_share_its_client(
        tmp_path: Path, s3_endpoint: str, bucket: str) -> None:
    settings = Settings(exports_dir=tmp_path, storage_url=f"s3://{bucket}/exports",
                        s3_endpoint_url=s3_endpoint, export_bucket_url="https://cdn.test")
    async with open_runtime(settings, queues=False) as rt:
        assert isinstance(rt.storage, S3Storage) and isinstance(rt.cache, S3Cache)
        assert rt.exporter is not None
        assert rt.cache.client is rt.storage.client is rt.exporter.s3_client
        assert rt.exporter.work_root is None  # staged in the system's temp folder
