"""Gathering a job's assets: resolve each URI, fetch it once, check it, process it once (or
take it from the cache), and hand the files to every engine writer.

URI forms (§10.2): a relative path — under the project's asset root on disk
(``PROJECTS_DIR/<id>/``, or the manifest's folder offline), else under
``ASSET_BASE_URL/<id>/`` over HTTP — never escaping it; ``https://`` (``http://`` only for
allow-listed hosts); ``s3://bucket/key``; ``data:``. Fetches run concurrently (bounded),
processing runs in the CPU pool, both report progress per asset.

A model's own references (``.gltf`` buffers and images, or a ``.glb``'s images, named by a
URI that is not ``data:``) resolve against the model's URI under the same rules, and travel
the same guarded paths. Each distinct file is fetched once per job, and each distinct image
processed once per job and colour space, however many models share it (a kit's one
``colormap.png``); the processed model embeds them. The model's digest, in the bundle's key
and the processed-asset cache key, covers every file it refers to.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import json
import posixpath
import shutil
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes, urljoin, urlsplit

from ..errors import InvalidInput, LimitExceeded, TransientError
from ..files import AssetFile, sha256_file
from ..logs import get_logger
from ..manifest import Asset, Manifest
from ..pool import CpuPool
from ..settings import Limits
from .cache import AssetCache, cache_key
from .digests import SourceDigests
from .fetch import Fetched, Fetcher
from .limits import DecodeLimits, s3_refusal
from .location import located
from .process import (
    Externals,
    model_references,
    model_triangles,
    process_asset,
    process_referenced_image,
)

log = get_logger("pacai_export.assets")
FETCH_CONCURRENCY = 8
MAX_REFERENCES = 256  # files one model may refer to (real kits: a .bin and a few images)

EXTENSIONS = {
    "texture": {".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpg"},
    "model": {".glb": ".glb", ".gltf": ".gltf"},
    "audio": {".ogg": ".ogg", ".wav": ".wav", ".mp3": ".mp3"},
}
DATA_MEDIA_TYPES = {
    "image/png": ".png", "image/jpeg": ".jpg", "model/gltf-binary": ".glb",
    "model/gltf+json": ".gltf", "audio/ogg": ".ogg", "audio/wav": ".wav",
    "audio/x-wav": ".wav", "audio/mpeg": ".mp3",
}

Progress = Callable[[int, int], Awaitable[None]]  # (assets done, assets in all)


@dataclasses.dataclass(frozen=True)
class GatheredAssets:
    files: dict[str, AssetFile]
    digests: dict[str, str]  # asset id → SHA-256 of the source bytes (part of the input hash)
    cache_hits: int = 0
    # model asset id → (triangles of the source, triangles processed), for bundle.json
    triangles: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _References:
    """The files one model refers to, ready for ``process_model``, and their digest."""

    externals: Externals
    digest: str


@dataclasses.dataclass(frozen=True)
class Sources:
    """Where relative URIs resolve, and the clients remote ones need."""

    root: Path | None = None
    base_url: str | None = None  # ASSET_BASE_URL/<project_id>
    fetcher: Fetcher | None = None
    s3: Any | None = None  # a boto3 S3 client, for s3:// URIs
    s3_allow: tuple[str, ...] = ()  # ASSET_S3_ALLOW entries (limits.s3_refusal)
    project_id: str = ""  # fills ``{project_id}`` in those entries


class AssetGatherer:
    def __init__(self, limits: Limits, pool: CpuPool, cache: AssetCache | None,
                 quality: str, digests: SourceDigests | None = None) -> None:
        self.limits = limits
        self.pool = pool
        self.cache = cache
        self.quality = quality
        self.digests = digests  # the worker's memory of unchanged project files
        self.cache_hits = 0
        # Once per job: files models refer to (by resolved location), and their images
        # processed (by location and colour space).
        self._referenced: dict[str, asyncio.Task[Fetched]] = {}
        self._images: dict[tuple[str, str], asyncio.Task[Path]] = {}

    async def gather(self, manifest: Manifest, sources: Sources, work: Path,
                     progress: Progress) -> GatheredAssets:
        """Fetch and process every asset of ``manifest``; the first permanent problem fails
        the job (the others are cancelled)."""
        total, done = len(manifest.assets), 0
        semaphore = asyncio.Semaphore(FETCH_CONCURRENCY)
        self._semaphore = semaphore
        files: dict[str, AssetFile] = {}
        digests: dict[str, str] = {}
        triangles: dict[str, tuple[int, int]] = {}

        async def one(index: int, asset: Asset) -> None:
            nonlocal done
            with located(f"assets[{index}] {asset.id!r} ({_short(asset.uri)})"):
                async with semaphore:
                    fetched, ext = await self._fetch(asset, sources, work / "sources")
                _verify(asset, fetched, ext)
                refs = None
                if asset.type == "model":
                    refs = await self._references(asset, fetched, sources, work)
                files[asset.id], fetched = await self._process(asset, fetched, ext, work, refs)
            digests[asset.id] = _digest(fetched, refs)
            if asset.type == "model":
                triangles[asset.id] = await self.pool.run(model_triangles,
                                                          files[asset.id].path)
            done += 1
            await progress(done, total)

        try:
            async with asyncio.TaskGroup() as group:
                for index, asset in enumerate(manifest.assets):
                    group.create_task(one(index, asset))
        except BaseExceptionGroup as failed:
            raise _first(failed) from None  # the job fails with one clear reason
        finally:
            await self._settle_shared()
        return GatheredAssets(files=dict(sorted(files.items())),
                              digests=dict(sorted(digests.items())), cache_hits=self.cache_hits,
                              triangles=dict(sorted(triangles.items())))

    async def _settle_shared(self) -> None:
        """Shared fetches and image steps end with the job: none is left running."""
        shared: list[asyncio.Task[Any]] = [*self._referenced.values(), *self._images.values()]
        for task in shared:
            task.cancel()
        await asyncio.gather(*shared, return_exceptions=True)

    # --- fetch --------------------------------------------------------------------------

    async def _fetch(self, asset: Asset, sources: Sources,
                     dest_dir: Path) -> tuple[Fetched, str]:
        parts = urlsplit(asset.uri)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return await asyncio.to_thread(self._data_uri, asset, dest_dir)
        ext = _extension(asset, PurePosixPath(unquote(parts.path)).suffix.lower())
        dest = dest_dir / f"{asset.id}{ext}"
        if scheme in ("http", "https"):
            return await self._http(asset.uri, sources, dest), ext
        if scheme == "s3":
            return await self._s3_allowed(parts.netloc, parts.path.removeprefix("/"), sources,
                                          dest), ext
        if scheme:
            raise InvalidInput(f"{scheme}: URIs are not supported")
        return await self._relative(_relative_path(asset.uri), sources, dest), ext

    async def _s3_allowed(self, bucket: str, key: str, sources: Sources,
                          dest: Path) -> Fetched:
        """``s3://bucket/key``, once ASSET_S3_ALLOW covers it: assets and the files models
        refer to alike, so no job reads another tenant's keys."""
        refusal = s3_refusal(bucket, key, sources.s3_allow, sources.project_id)
        if refusal:
            raise InvalidInput(f"refused: {refusal}")
        return await asyncio.to_thread(self._s3, bucket, key, sources, dest)

    async def _relative(self, rel: PurePosixPath, sources: Sources, dest: Path) -> Fetched:
        """A relative path: under the project's folder on disk (in place), else under
        ASSET_BASE_URL (downloaded to ``dest``)."""
        if sources.root is not None:
            return await asyncio.to_thread(self._file, sources.root, rel)
        if sources.base_url is not None:
            url = f"{sources.base_url}/{quote(rel.as_posix())}"
            return await self._http(url, sources, dest)
        raise InvalidInput("a relative URI needs an asset root (PROJECTS_DIR, "
                           "ASSET_BASE_URL or --assets)")

    async def _http(self, url: str, sources: Sources, dest: Path) -> Fetched:
        if sources.fetcher is None:
            raise InvalidInput("remote assets are not fetched here")
        return await sources.fetcher.fetch(url, dest)

    def _file(self, root: Path, rel: PurePosixPath) -> Fetched:
        base = root.resolve()
        path = base.joinpath(*rel.parts).resolve()
        if not path.is_relative_to(base):  # a symlink pointing out of the root
            raise InvalidInput("the path escapes the project's asset root")
        # Errors say what is wrong with the asset, never where the server keeps it.
        try:
            info = path.stat()
        except FileNotFoundError:
            raise InvalidInput("not found under the project's asset root") from None
        except OSError as exc:
            raise InvalidInput(f"cannot be read ({exc.strerror})") from None
        if not stat.S_ISREG(info.st_mode):
            # A directory fails late and names the server path; a FIFO blocks the read.
            raise InvalidInput("not a regular file")
        size = info.st_size
        if size > self.limits.asset_bytes:
            raise LimitExceeded(f"{size} bytes exceed the limit of "
                                f"{self.limits.asset_bytes}")
        # Hashed where it lies (or remembered): a cache hit needs no copy (see _process).
        try:
            digest, size = self.digests.digest(path) if self.digests else sha256_file(path)
        except OSError as exc:
            raise InvalidInput(f"cannot be read ({exc.strerror})") from None
        if size > self.limits.asset_bytes:  # it grew after the stat
            raise LimitExceeded(f"{size} bytes exceed the limit of "
                                f"{self.limits.asset_bytes}")
        return Fetched(path=path, bytes=size, sha256=digest, in_place=True)

    def _s3(self, bucket: str, key: str, sources: Sources, dest: Path) -> Fetched:
        from botocore.exceptions import BotoCoreError, ClientError

        if sources.s3 is None:
            raise InvalidInput("s3:// assets need S3 credentials (STORAGE_URL=s3://…)")
        try:
            head = sources.s3.head_object(Bucket=bucket, Key=key)
            if int(head["ContentLength"]) > self.limits.asset_bytes:
                raise LimitExceeded(f"{head['ContentLength']} bytes exceed the limit "
                                    f"of {self.limits.asset_bytes}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            sources.s3.download_file(bucket, key, str(dest))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchKey", "NoSuchBucket", "403", "AccessDenied"):
                raise InvalidInput(f"S3 answered {code}") from None
            raise TransientError(str(exc)) from exc
        except BotoCoreError as exc:
            raise TransientError(str(exc)) from exc
        return _hash_file(dest)

    def _data_uri(self, asset: Asset, dest_dir: Path) -> tuple[Fetched, str]:
        header, sep, payload = asset.uri[5:].partition(",")
        if not sep:
            raise InvalidInput("malformed data: URI (no comma)")
        media, _, params = header.partition(";")
        ext = DATA_MEDIA_TYPES.get(media.lower())
        if ext is None or ext not in EXTENSIONS[asset.type].values():
            raise InvalidInput(f"data: URI media type {media!r} is not a {asset.type}")
        if len(payload) * 3 // 4 > self.limits.asset_bytes:
            raise LimitExceeded(f"exceeds the limit of {self.limits.asset_bytes} bytes")
        if params.lower() == "base64":
            try:
                raw = base64.b64decode(payload, validate=True)
            except binascii.Error:
                raise InvalidInput("data: URI is not valid base64") from None
        else:
            raw = unquote_to_bytes(payload)  # %80-%FF are bytes, not characters
        dest = dest_dir / f"{asset.id}{ext}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(raw)
        return Fetched(path=dest, bytes=len(raw), sha256=hashlib.sha256(raw).hexdigest()), ext

    # --- process ------------------------------------------------------------------------

    async def _process(self, asset: Asset, fetched: Fetched, ext: str, work: Path,
                       refs: _References | None = None) -> tuple[AssetFile, Fetched]:
        """The processed file, from the cache or the pool, and the source it was made from."""
        out_ext = ".glb" if ext == ".gltf" else ext
        key = cache_key(_digest(fetched, refs), asset.type, self.quality, asset.color_space,
                        out_ext)
        target = work / "processed" / f"{asset.id}{out_ext}"
        if self.cache is not None and await self._cache_get(key, target):
            self.cache_hits += 1
            return AssetFile(asset_id=asset.id, filename=target.name, path=target), fetched
        if fetched.in_place:
            # Process a private copy, hashed again as it is copied: a project file rewritten
            # meanwhile cannot mix two versions, and the digest names what was processed.
            fetched = await asyncio.to_thread(_copy_hashing, fetched.path,
                                              work / "sources" / f"{asset.id}{ext}")
            _verify(asset, fetched, ext)
            key = cache_key(_digest(fetched, refs), asset.type, self.quality,
                            asset.color_space, out_ext)
        # process_asset itself turns a MemoryError under the pool's address-space cap
        # (LIMIT_POOL_MEMORY_BYTES) into LimitExceeded, naming the file.
        path: Path = await self.pool.run(process_asset, asset.type, fetched.path, target,
                                         self.quality, asset.color_space,
                                         self.limits.image_pixels,
                                         refs.externals if refs else None,
                                         DecodeLimits.of(self.limits))
        if self.cache is not None:
            await self._cache_put(key, path)
        return AssetFile(asset_id=asset.id, filename=path.name, path=path), fetched

    # --- what models refer to -------------------------------------------------------------

    async def _references(self, asset: Asset, fetched: Fetched, sources: Sources,
                          work: Path) -> _References | None:
        """Every file the model refers to, fetched (images processed) once per job."""
        listed = await self.pool.run(model_references, fetched.path)
        if not listed:
            return None
        if len(listed) > MAX_REFERENCES:
            raise LimitExceeded(f"refers to {len(listed)} files, more than the limit "
                                f"of {MAX_REFERENCES}")

        async def one(ref: dict[str, Any]) -> tuple[str, Path, bool, str]:
            what = f"{ref['field']} {_short(ref['uri'])!r}"
            with located(what):
                location = _resolve_reference(asset.uri, ref["uri"])
                source = await self._shared_fetch(location, sources, work)
            if ref["kind"] != "image":
                return ref["uri"], source.path, False, source.sha256
            # The image's own messages name it (``what``), as textures name their files.
            image = await self._shared_image(location, source, ref["color_space"], work, what)
            return ref["uri"], image, True, source.sha256

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(ref)) for ref in listed]
        except BaseExceptionGroup as failed:
            raise _first(failed) from None
        done = [task.result() for task in tasks]
        externals = {uri: (path, processed) for uri, path, processed, _ in done}
        listing = sorted({(uri, digest) for uri, _, _, digest in done})
        digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
        return _References(externals=externals, digest=digest)

    async def _shared_fetch(self, location: str, sources: Sources, work: Path) -> Fetched:
        task = self._referenced.get(location)
        if task is None:
            dest = work / "sources" / "referenced" / _location_name(location)
            task = asyncio.create_task(self._fetch_location(location, sources, dest))
            self._referenced[location] = task
        return await asyncio.shield(task)  # one model failing leaves the shared fetch be

    async def _fetch_location(self, location: str, sources: Sources, dest: Path) -> Fetched:
        parts = urlsplit(location)
        async with self._semaphore:
            if parts.scheme in ("http", "https"):
                return await self._http(location, sources, dest)
            if parts.scheme == "s3":
                return await self._s3_allowed(parts.netloc, unquote(parts.path.lstrip("/")),
                                              sources, dest)
            found = await self._relative(PurePosixPath(unquote(parts.path)), sources, dest)
            if not found.in_place:
                return found
            # A private copy: the digest names exactly what the models embed.
            return await asyncio.to_thread(_copy_hashing, found.path, dest)

    async def _shared_image(self, location: str, source: Fetched, color_space: str,
                            work: Path, what: str) -> Path:
        task = self._images.get((location, color_space))
        if task is None:
            target = (work / "sources" / "referenced" /
                      f"{_location_name(location)}-{color_space}.image")
            task = asyncio.create_task(self._process_image(source, color_space, target, what))
            self._images[(location, color_space)] = task
        return await asyncio.shield(task)

    async def _process_image(self, source: Fetched, color_space: str, target: Path,
                             what: str) -> Path:
        key = cache_key(source.sha256, "model-image", self.quality, color_space, ".image")
        if self.cache is not None and await self._cache_get(key, target):
            return target
        path: Path = await self.pool.run(process_referenced_image, source.path, target,
                                         self.quality, color_space, self.limits.image_pixels,
                                         what)
        if self.cache is not None:
            await self._cache_put(key, path)
        return path

    async def _cache_get(self, key: str, target: Path) -> bool:
        assert self.cache is not None
        try:
            return await self.cache.get(key, target)
        except Exception as exc:  # a cache that fails is a cache that misses
            log.warning("asset cache read failed", key=key, error=str(exc))
            return False

    async def _cache_put(self, key: str, path: Path) -> None:
        assert self.cache is not None
        try:
            await self.cache.put(key, path)
        except Exception as exc:
            log.warning("asset cache write failed", key=key, error=str(exc))


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first failure of a task group, preferring a permanent one (it decides the job)."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        error = stack.pop(0)
        if isinstance(error, BaseExceptionGroup):
            stack[:0] = list(error.exceptions)
        else:
            leaves.append(error)
    return next((e for e in leaves if isinstance(e, InvalidInput)), leaves[0])


def _digest(fetched: Fetched, refs: _References | None) -> str:
    """An asset's digest: its own bytes' SHA-256, and for a model referring to other files,
    theirs too (changing only a model's texture changes its key)."""
    if refs is None:
        return fetched.sha256
    return hashlib.sha256(f"{fetched.sha256}+{refs.digest}".encode()).hexdigest()


def _resolve_reference(model_uri: str, ref: str) -> str:
    """Where a model's reference ``ref`` lies: an ``https://``/``http://`` URL or an
    ``s3://`` URI (as given, or joined to the model's), or a relative path under the
    project's asset root (normalised, never escaping it)."""
    parts = urlsplit(ref)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https", "s3"):
        return ref
    if scheme or parts.netloc:
        raise InvalidInput(f"{scheme or 'scheme-relative'} URIs are not supported")
    base = urlsplit(model_uri)
    if base.scheme.lower() == "data":
        raise InvalidInput("a model given as a data: URI cannot refer to other files")
    if base.scheme.lower() in ("http", "https"):
        return urljoin(model_uri, ref)
    folder = PurePosixPath(unquote(base.path).lstrip("/")).parent  # an s3:// key's folder
    path = _join_under(folder, unquote(parts.path))
    if base.scheme.lower() == "s3":
        return f"s3://{base.netloc}/{quote(path)}"
    return quote(path)


def _join_under(folder: PurePosixPath, ref: str) -> str:
    _refuse_control_characters(ref)
    if not ref or ref.startswith("/"):
        raise InvalidInput("the path escapes the project's asset root")
    joined = posixpath.normpath(posixpath.join(folder.as_posix(), ref))
    if joined == "." or joined == ".." or joined.startswith(("../", "/")):
        raise InvalidInput("the path escapes the project's asset root")
    return joined


def _location_name(location: str) -> str:
    """A file name for a fetched reference: its location's digest (names stay short and
    carry nothing from the input)."""
    return hashlib.sha256(location.encode()).hexdigest()[:32]


def _short(uri: str) -> str:
    return uri if len(uri) <= 80 else uri[:77] + "..."


def _refuse_control_characters(path: str) -> None:
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):  # %00 would end a C path early
        raise InvalidInput("the path contains a control character")


def _relative_path(uri: str) -> PurePosixPath:
    """A relative URI as a path under the asset root; NUL, control characters, absolute
    paths and ``..`` refused (``%00`` would end the path early in C, or raise)."""
    text = unquote(uri)
    rel = PurePosixPath(text)
    _refuse_control_characters(text)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise InvalidInput("the path escapes the project's asset root")
    return rel


def _extension(asset: Asset, suffix: str) -> str:
    allowed = EXTENSIONS[asset.type]
    if suffix not in allowed:
        raise InvalidInput(f"a {asset.type} must be one of "
                           f"{', '.join(sorted(allowed))}, got {suffix or 'no extension'!r}")
    return allowed[suffix]


def _copy_hashing(src: Path, dest: Path) -> Fetched:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return _hash_file(dest)


def _hash_file(path: Path) -> Fetched:
    digest, size = sha256_file(path)
    return Fetched(path=path, bytes=size, sha256=digest)


MAGIC: dict[str, Callable[[bytes], bool]] = {
    ".png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
    ".jpg": lambda h: h.startswith(b"\xff\xd8\xff"),
    ".glb": lambda h: h[:4] == b"glTF",
    ".gltf": lambda h: h.lstrip()[:1] == b"{",
    ".ogg": lambda h: h.startswith(b"OggS"),
    ".wav": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE",
    ".mp3": lambda h: h.startswith(b"ID3") or h[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
}


def _verify(asset: Asset, fetched: Fetched, ext: str) -> None:
    """The declared SHA-256, and content that is what its type and extension say."""
    if asset.sha256 is not None and fetched.sha256 != asset.sha256:
        raise InvalidInput(f"sha256 mismatch: expected {asset.sha256}, "
                           f"got {fetched.sha256}")
    with fetched.path.open("rb") as fh:
        head = fh.read(16)
    if not MAGIC[ext](head):
        raise InvalidInput(f"the content is not a {ext[1:]} file")
