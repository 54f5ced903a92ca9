"""One export, start to end: load → validate → gather assets → write engines → pack → store.

The worker and the offline CLI both call ``Exporter.export``; they differ only in how they
report progress (``Reporter``) and where relative assets live. CPU-bound steps run in the
``CpuPool``, blocking file I/O in threads; the event loop only waits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson

from . import __version__, workdirs
from .assets import GatheredAssets
from .assets.cache import AssetCache
from .assets.digests import SourceDigests
from .assets.fetch import Fetcher, FetchPolicy
from .assets.gather import AssetGatherer, Sources
from .assets.limits import default_s3_allow
from .assets.location import located
from .bundle import BundleMeta, prepare, zip_stage
from .engines import write_engine
from .engines.base import BuildContext, Chunks, Files
from .engines.components import component_report
from .engines.instancing import instancing_report
from .errors import InvalidManifest, LimitExceeded, ManifestNotFound, SourceNotFound
from .files import open_regular
from .jobs import ExportJob, ExportResult
from .jsonlimits import check_json
from .logs import get_logger
from .manifest import Manifest, decode_manifest_bytes, parse_manifest
from .pool import CpuPool
from .settings import Limits, Settings
from .signing import Signer, dsse
from .storage import PreviewStorage, Storage, StoredObject, preview_key

log = get_logger("pacai_export.pipeline")

# What the CPU pool's processes run for an export, imported when each process starts.
POOL_PRELOAD = ("pacai_export.manifest", "pacai_export.assets.process",
                "pacai_export.assets.textures", "pacai_export.assets.models",
                "pacai_export.engines.godot", "pacai_export.engines.unity",
                "pacai_export.engines.unreal", "pacai_export.bundle")


class Reporter(Protocol):
    """Receives the export's progress: an integer percent that never goes down, and a stage."""

    async def __call__(self, percent: int, stage: str, **fields: Any) -> None: ...


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """The settings an export reads, and nothing else."""

    limits: Limits
    fetch_policy: FetchPolicy
    s3_allow: tuple[str, ...]  # bucket/prefix entries s3:// assets may come from
    projects_dir: Path | None = None  # relative assets of project P live in projects_dir/P
    asset_base_url: str | None = None  # else under ASSET_BASE_URL/P

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportConfig:
        limits = settings.limits
        return cls(
            limits=limits,
            fetch_policy=FetchPolicy(
                allowlist=settings.asset_http_allowlist,
                connect_timeout=limits.fetch_connect_timeout,
                total_timeout=limits.fetch_timeout, max_redirects=limits.fetch_redirects),
            s3_allow=(settings.asset_s3_allow if settings.asset_s3_allow is not None
                      else default_s3_allow(settings.storage_url)),
            projects_dir=settings.projects_dir, asset_base_url=settings.asset_base_url)


class ManifestSource(Protocol):
    """Where the manifest of a job without an inline one comes from, chosen once per process
    (``manifest_source``)."""

    async def load(self, project_id: str, work: Path) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class NoManifests:
    """Neither PROJECTS_DIR nor PROJECT_MANIFEST_URL: only inline manifests can run."""

    async def load(self, project_id: str, work: Path) -> dict[str, Any]:  # noqa: ARG002 (ManifestSource protocol)
        raise ManifestNotFound(f"project {project_id!r}: the job has no manifest and "
                               "neither PROJECTS_DIR nor PROJECT_MANIFEST_URL is set")


@dataclasses.dataclass(frozen=True)
class ProjectsDir:
    """``PROJECTS_DIR/<project_id>/manifest.json``."""

    root: Path
    limits: Limits

    async def load(self, project_id: str, work: Path) -> dict[str, Any]:  # noqa: ARG002 (ManifestSource protocol)
        path = self.root / project_id / "manifest.json"
        name = f"PROJECTS_DIR/{project_id}/manifest.json"  # never the server's path
        try:
            raw = await asyncio.to_thread(_read_limited, path, self.limits.manifest_bytes)
        except FileNotFoundError:
            raise ManifestNotFound(f"project {project_id!r}: manifest not found "
                                   f"({name})") from None
        except OSError as exc:
            raise InvalidManifest(f"manifest ({name}): cannot be read ({exc.strerror})") from None
        if raw is None:
            raise InvalidManifest(f"manifest ({name}): not a regular file")
        # In a thread: decoding and walking megabytes of JSON would hold the event loop.
        return _object(await asyncio.to_thread(decode_manifest_bytes, raw, self.limits, name))


@dataclasses.dataclass(frozen=True)
class ManifestUrl:
    """``PROJECT_MANIFEST_URL`` with ``{project_id}`` filled in, fetched under the same
    guards as assets and the manifest's own size limit."""

    template: str
    policy: FetchPolicy
    limits: Limits

    async def load(self, project_id: str, work: Path) -> dict[str, Any]:
        url = self.template.replace("{project_id}", project_id)
        where = f"project {project_id!r}: manifest ({url})"
        size = self.limits.manifest_bytes
        fetcher = Fetcher(self.policy, size, size)
        try:
            with located(where):
                fetched = await fetcher.fetch(url, work / "manifest.json")
        except SourceNotFound:
            raise ManifestNotFound(f"{where}: not found") from None
        finally:
            await fetcher.aclose()
        raw = await asyncio.to_thread(fetched.path.read_bytes)
        return _object(await asyncio.to_thread(decode_manifest_bytes, raw, self.limits, url))


def manifest_source(settings: Settings, config: ExportConfig) -> ManifestSource:
    """PROJECTS_DIR when set, else PROJECT_MANIFEST_URL when set, else none."""
    if settings.projects_dir is not None:
        return ProjectsDir(settings.projects_dir, config.limits)
    if settings.project_manifest_url:
        return ManifestUrl(settings.project_manifest_url, config.fetch_policy, config.limits)
    return NoManifests()


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidManifest("manifest: must be a JSON object")
    return data


class Exporter:
    """Runs exports with one storage backend and one CPU pool, shared by every job."""

    def __init__(self, config: ExportConfig, manifests: ManifestSource, storage: Storage,
                 pool: CpuPool, signer: Signer | None = None, cache: AssetCache | None = None,
                 s3_client: Any | None = None) -> None:
        self.config = config
        self.manifests = manifests
        self.storage = storage
        self.pool = pool
        self.signer = signer
        self.cache = cache
        self.s3_client = s3_client  # for s3:// asset URIs
        self.source_digests = SourceDigests()

    @classmethod
    def from_settings(cls, settings: Settings, storage: Storage, pool: CpuPool,
                      signer: Signer | None = None, cache: AssetCache | None = None,
                      s3_client: Any | None = None) -> Exporter:
        config = ExportConfig.from_settings(settings)
        return cls(config, manifest_source(settings, config), storage, pool, signer, cache,
                   s3_client)

    @property
    def work_root(self) -> Path | None:
        """Where jobs stage their files: on the storage's file system when it has one (a
        finished bundle is then renamed into place), else the system's temp folder."""
        return self.storage.work_root

    def _fetcher(self) -> Fetcher:
        limits = self.config.limits
        return Fetcher(self.config.fetch_policy, limits.asset_bytes, limits.job_fetch_bytes)

    async def export(self, job: ExportJob, job_id: str, report: Reporter, *,
                     asset_root: Path | None = None) -> ExportResult:
        started = time.monotonic()
        limits = self.config.limits
        if asset_root is None and self.config.projects_dir is not None:
            asset_root = self.config.projects_dir / job.project_id
        workdir = await asyncio.to_thread(workdirs.create, self.work_root, job.project_id)
        work = workdir.path
        fetcher = self._fetcher()
        try:
            # Settled before the folder goes: pool work whose awaiting task was cancelled (a
            # sibling asset failed) keeps running and would re-create folders in it.
            async with self.pool.settled():
                raw = await self._load_manifest(job, work)
                await report(10, "validating")
                manifest, manifest_digest = await self.pool.run(_validate, raw, limits,
                                                                job.project_id)
                assets = await self._gather(job, manifest, asset_root, fetcher, work, report)
                key = bundle_key(job, manifest_digest, assets.digests,
                                 self.signer.keyid if self.signer else None)
                stored, reused = await self._build_or_reuse(job, manifest, assets, key, work,
                                                            report)
                await self._store_preview(manifest, key)
        finally:
            await fetcher.aclose()
            await asyncio.to_thread(workdir.remove)
        return ExportResult(
            project_id=job.project_id, job_id=job_id, engines=list(job.engines),
            quality=job.quality, include_assets=job.include_assets,
            download_url=self.storage.url(key), key=key, bytes=stored.bytes,
            sha256=stored.sha256 or "", files=stored.files or 0, signed=self.signer is not None,
            reused=reused,
            duration_ms=round((time.monotonic() - started) * 1000),
        )

    async def _load_manifest(self, job: ExportJob, work: Path) -> dict[str, Any]:
        if job.manifest is None:
            return await self.manifests.load(job.project_id, work)
        limits = self.config.limits
        # In a thread: walking 10,000 nodes takes a few hundred ms of the loop's time.
        size = await asyncio.to_thread(_inline_size, job.manifest, limits)
        if size > limits.manifest_bytes:
            raise LimitExceeded(f"manifest: {size} bytes exceed the limit of "
                                f"{limits.manifest_bytes}")
        return job.manifest

    async def _gather(self, job: ExportJob, manifest: Manifest, root: Path | None,
                      fetcher: Fetcher, work: Path, report: Reporter) -> GatheredAssets:
        if not job.include_assets or not manifest.assets:
            return GatheredAssets(files={}, digests={})
        total = len(manifest.assets)
        await report(15, "fetching", assets=total)

        async def progress(done: int, of: int) -> None:
            await report(15 + 30 * done // of, "asset ready", done=done, of=of)

        base = self.config.asset_base_url
        # Relative URIs: the project's folder on disk when there is one, else ASSET_BASE_URL.
        on_disk = root is not None and (not base or await asyncio.to_thread(root.is_dir))
        sources = Sources(root=root if on_disk else None,
                          base_url=f"{base.rstrip('/')}/{job.project_id}" if base else None,
                          fetcher=fetcher, s3=self.s3_client, s3_allow=self.config.s3_allow,
                          project_id=job.project_id)
        gatherer = AssetGatherer(self.config.limits, self.pool, self.cache, job.quality,
                                 self.source_digests)
        gathered = await gatherer.gather(manifest, sources, work / "assets", progress)
        log.info("assets gathered", assets=total, cache_hits=gathered.cache_hits,
                 fetched_bytes=fetcher.fetched_bytes)
        return gathered

    async def _build_or_reuse(self, job: ExportJob, manifest: Manifest, assets: GatheredAssets,
                              key: str, work: Path, report: Reporter) -> tuple[StoredObject, bool]:
        existing = await self.storage.stat(key)
        if existing is not None and existing.complete:
            await report(90, "reusing", key=key)
            return existing, True
        ctx = BuildContext(manifest=manifest, seed=job.effective_seed, quality=job.quality,
                           include_assets=job.include_assets, assets=assets.files)
        stage = work / "stage"
        built = 0

        async def build(engine: str) -> None:
            nonlocal built
            await report(45, "building", engine=engine)
            await self.pool.run(stage_engine, engine, ctx, stage / engine)
            built += 1
            await report(45 + 35 * built // len(job.engines), "built", engine=engine)

        # The engines are independent: write them side by side in the pool. Wait for all
        # before raising, so no writer is still filling the folder that cleanup removes.
        outcomes = await asyncio.gather(*(build(e) for e in job.engines), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        await report(80, "packing")
        prepared = await self.pool.run(prepare, stage, bundle_meta(job, manifest, assets),
                                       work / "deflated")
        document = prepared.document
        if self.signer is not None:
            await report(82, "signing", keyid=self.signer.keyid)
            signature = await self.signer.sign(dsse.pae(dsse.PAYLOAD_TYPE, document))
            await asyncio.to_thread((stage / dsse.SIGNATURE).write_bytes,
                                    dsse.envelope(document, self.signer.keyid, signature))
        out = work / f"{job.project_id}.zip"
        packed = await self.pool.run(zip_stage, stage, out, prepared.contents)
        await report(90, "storing", key=key)
        info = StoredObject(key=key, bytes=packed.bytes, sha256=packed.sha256, files=packed.files)
        return await self.storage.put_file(key, out, info), False


    async def _store_preview(self, manifest: Manifest, key: str) -> None:
        """The main scene as ``.glb`` beside the bundle, for the dashboard's 3D view of any
        bundle (with or without the ue5 folder). Written once: a reused bundle whose preview
        is already stored costs one existence check."""
        if not isinstance(self.storage, PreviewStorage):
            return  # the offline command writes the bundle only
        target = preview_key(key)
        if await self.storage.has(target):
            return
        data = await self.pool.run(preview_glb, manifest)
        await self.storage.put_bytes(target, data, "model/gltf-binary")


def bundle_meta(job: ExportJob, manifest: Manifest,
                assets: GatheredAssets | None = None) -> BundleMeta:
    left_out: tuple[dict[str, str], ...] = ()
    if not job.include_assets:
        left_out = tuple({"asset": a.id, "type": a.type, "uri": a.uri,
                          "reason": "include_assets is false"} for a in manifest.assets)
    models = tuple({"asset": asset_id, "source_triangles": before, "triangles": after}
                   for asset_id, (before, after) in (assets.triangles if assets else {}).items())
    return BundleMeta(project_id=job.project_id, project_name=manifest.project.name,
                      engines=job.engines, quality=job.quality,
                      include_assets=job.include_assets, seed=job.effective_seed,
                      left_out=left_out,
                      kept_as_metadata=tuple(component_report(manifest)),
                      models=models,
                      instanced=tuple(instancing_report(manifest)))


def bundle_key(job: ExportJob, manifest_digest: str, asset_digests: Mapping[str, str],
               signing_keyid: str | None = None) -> str:
    """``<project_id>/<16 hex of the input hash>/<project_id>.zip`` (§3).

    The hash covers everything that decides the bundle's bytes, so equal inputs share a key.
    """
    inputs = {
        "exporter": __version__,
        "manifest": manifest_digest,
        "engines": list(job.engines),
        "include_assets": job.include_assets,
        "quality": job.quality,
        "seed": job.effective_seed,
        "assets": dict(sorted(asset_digests.items())),
        "signing_key": signing_keyid,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return f"{job.project_id}/{digest[:16]}/{job.project_id}.zip"


# --- run in the CPU pool ------------------------------------------------------------------


def _validate(raw: dict[str, Any], limits: Limits, project_id: str) -> tuple[Manifest, str]:
    manifest = parse_manifest(raw, limits, expected_id=project_id)
    return manifest, hashlib.sha256(_canonical(raw)).hexdigest()


def _canonical(raw: dict[str, Any]) -> bytes:
    """The manifest as compact JSON with sorted keys (orjson: ~10x json.dumps on 100k nodes)."""
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
        raise InvalidManifest(f"manifest: cannot be written back as JSON: {exc}") from None


def preview_glb(manifest: Manifest) -> bytes:
    """The main scene, written exactly as the ue5 folder's ``SourceArt/<map>.glb``
    (placeholder boxes for models): equal manifests give equal bytes."""
    from .engines import gltf

    return gltf.scene_glb(manifest, manifest.main)


def stage_engine(engine: str, ctx: BuildContext, dest: Path) -> int:
    """Write one engine's files under ``dest``; return how many."""
    return write_files(write_engine(engine, ctx, lazy=True), dest)


def write_files(files: Files, dest: Path) -> int:
    for rel, content in files.items():
        target = dest.joinpath(*rel.split("/"))
        if not target.resolve().is_relative_to(dest.resolve()):
            raise ValueError(f"engine file {rel!r} would land outside its folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, Chunks):
            _write_chunks(content, target)
        else:
            try:
                target.hardlink_to(content)
            except OSError:
                shutil.copyfile(content, target)
    return len(files)


def _write_chunks(chunks: Chunks, target: Path) -> None:
    """A lazily produced file, written piece by piece: never held whole in memory."""
    with target.open("wb") as fh:
        for piece in chunks:
            fh.write(piece)


def _inline_size(manifest: dict[str, Any], limits: Limits) -> int:
    """The job's inline manifest's size as JSON, after its depth and numbers are checked:
    before anything recursive (``json.dumps``, pickling to the pool) walks it."""
    check_json(manifest, "manifest", limits.json_depth, InvalidManifest)
    return len(_canonical(manifest))


def _read_limited(path: Path, limit: int) -> bytes | None:
    """Up to ``limit + 1`` bytes of a regular file, None for anything else (a FIFO in the
    project's folder would otherwise block the read forever)."""
    fh = open_regular(path)
    if fh is None:
        return None
    with fh:
        return fh.read(limit + 1)
