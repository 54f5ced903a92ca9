"""What a completed job's bundle holds, read from storage by range: the ``bundle.json``
summary, the files per engine, and the scene ``.glb`` the dashboard's 3D preview renders.

The bundle is never downloaded whole: ``zipfile`` reads the central directory and the few
entries it needs through ``RangeFile``, which turns each read into a ranged read of the stored
object (``pread`` on local disk, a ranged ``GetObject`` on S3), in a thread. Every entry's
declared size is checked against a cap before it is read, and the scene's glTF JSON is parsed
only after its length is checked against the chunk that holds it.

The scene is the preview file the worker stores beside the bundle
(``<key without .zip>.preview.glb``: the main scene, whatever engines the bundle holds),
read whole up to the same cap. A bundle stored before preview files existed falls back to
the scene the ``ue5`` folder carries as glTF binary (``SourceArt/<map>.glb``, the main map of
``SourceArt/scene.json``); with neither, the preview shows the summary and files only.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import zipfile
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import StorageError
from ..logs import get_logger
from ..signing import dsse
from ..storage import PreviewStorage, preview_key
from . import context as api_context
from .problems import Problem, require_job_id

log = get_logger("pacai_export.api.preview")
BUNDLE_JSON = "bundle.json"
SCENE_JSON = "ue5/SourceArt/scene.json"
MAX_JSON_BYTES = 16 * 1024 * 1024  # bundle.json, scene.json, a glb's JSON chunk
MAX_SCENE_BYTES = 64 * 1024 * 1024  # the .glb sent to the browser
MAX_LISTED_FILES = 500  # per engine; the rest are counted
READ_BUFFER = 256 * 1024  # zipfile's small reads coalesce into ranged reads this large
GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A


class RangeSource(Protocol):
    """A storage backend that can read part of a stored object (blocking: call in a thread)."""

    def read_range(self, key: str, start: int, length: int) -> bytes: ...


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over ``read(start, length)``: what ``zipfile`` needs."""

    def __init__(self, read: Callable[[int, int], bytes], size: int) -> None:
        self._read, self._size, self._pos = read, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        length = min(len(view), self._size - self._pos)
        if length <= 0:
            return 0
        data = self._read(self._pos, length)
        view[:len(data)] = data
        self._pos += len(data)
        return len(data)


class BundleError(Exception):
    """The stored bundle cannot be previewed; the message names the entry, never a path."""


def open_bundle(read: Callable[[int, int], bytes], size: int) -> zipfile.ZipFile:
    raw = io.BufferedReader(RangeFile(read, size), READ_BUFFER)
    try:
        return zipfile.ZipFile(raw)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"the stored bundle is not a readable zip: {exc}") from None


def read_entry(zf: zipfile.ZipFile, name: str, cap: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise BundleError(f"{name}: not in the bundle") from None
    if info.file_size > cap:
        raise BundleError(f"{name}: {info.file_size} bytes, over the preview's {cap}")
    with zf.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise BundleError(f"{name}: larger than it declares")
    return data


def _json_entry(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(read_entry(zf, name, MAX_JSON_BYTES))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"{name}: not valid JSON ({exc})") from None


# --- the scene .glb ---------------------------------------------------------------------------


def scene_entry(zf: zipfile.ZipFile) -> str | None:
    """The main map's ``.glb`` in the ``ue5`` folder, or None when the bundle has none."""
    names = set(zf.namelist())
    if SCENE_JSON not in names:
        return None
    scene = _json_entry(zf, SCENE_JSON)
    main_map = str(scene.get("main_map", "")) if isinstance(scene, dict) else ""
    for item in scene.get("scenes", []) if isinstance(scene, dict) else []:
        glb = item.get("glb") if isinstance(item, dict) else None
        if isinstance(glb, str) and item.get("map") == main_map and "ue5/" + glb in names:
            return "ue5/" + glb
    candidates = sorted(n for n in names if n.startswith("ue5/SourceArt/") and n.endswith(".glb")
                        and n.count("/") == 2)
    return candidates[0] if candidates else None


def glb_json(data: bytes, name: str) -> dict[str, Any]:
    """The JSON chunk of a ``.glb``, its lengths checked before it is decoded."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise BundleError(f"{name}: not a glTF binary")
    _, _, total = struct.unpack_from("<4sII", data)
    length, kind = struct.unpack_from("<II", data, 12)
    if total != len(data) or kind != CHUNK_JSON or 20 + length > total or length > MAX_JSON_BYTES:
        raise BundleError(f"{name}: malformed glTF binary header")
    try:
        doc = json.loads(data[20:20 + length])
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"{name}: glTF JSON is not valid ({exc})") from None
    if not isinstance(doc, dict):
        raise BundleError(f"{name}: glTF JSON is not an object")
    return doc


def _mesh_triangles(doc: dict[str, Any], mesh: int) -> int:
    accessors = doc.get("accessors", [])
    total = 0
    for prim in doc.get("meshes", [])[mesh].get("primitives", []):
        if prim.get("mode", 4) != 4:  # only TRIANGLES count
            continue
        source = prim.get("indices", prim.get("attributes", {}).get("POSITION"))
        if isinstance(source, int) and 0 <= source < len(accessors):
            total += int(accessors[source].get("count", 0)) // 3
    return total


def scene_tree(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The default scene's node tree (name, kind, triangles, children) and its triangle total."""
    nodes = doc.get("nodes", [])
    scenes = doc.get("scenes", [])
    scene = scenes[doc.get("scene", 0)] if scenes else {"nodes": list(range(len(nodes)))}
    total, visits = 0, 0

    def visit(index: int, depth: int) -> dict[str, Any]:
        nonlocal total, visits
        node = nodes[index]
        visits += 1
        if visits > len(nodes):  # a node listed twice, or a cycle: not a tree
            raise BundleError("scene glTF: a node appears more than once in the hierarchy")
        triangles = _mesh_triangles(doc, node["mesh"]) if "mesh" in node else 0
        total += triangles
        kind = ("mesh" if "mesh" in node else "camera" if "camera" in node else
                "light" if "KHR_lights_punctual" in node.get("extensions", {}) else "node")
        children = [visit(c, depth + 1) for c in node.get("children", [])]
        return {"name": str(node.get("name", f"node {index}")), "kind": kind,
                "triangles": triangles, "children": children}

    try:
        tree = [visit(i, 0) for i in scene.get("nodes", [])]
    except (IndexError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise BundleError(f"scene glTF: broken node reference ({type(exc).__name__})") from None
    return tree, total


# --- the summary ------------------------------------------------------------------------------


def files_by_engine(zf: zipfile.ZipFile, engines: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for engine in engines:
        prefix = engine + "/"
        names = sorted(i.filename for i in zf.infolist()
                       if i.filename.startswith(prefix) and not i.is_dir())
        out[engine] = {"count": len(names),
                       "files": [n.removeprefix(prefix) for n in names[:MAX_LISTED_FILES]]}
    return out


def signature(zf: zipfile.ZipFile, document: bytes) -> dict[str, Any]:
    """Whether ``bundle.json`` is signed, by which key id, and whether the envelope signs
    exactly this ``bundle.json`` (the key itself is checked by ``pacai-export verify``)."""
    if dsse.SIGNATURE not in zf.namelist():
        return {"signed": False}
    try:
        _, payload, sigs = dsse.parse(read_entry(zf, dsse.SIGNATURE, MAX_JSON_BYTES))
    except ValueError as exc:
        return {"signed": True, "valid_envelope": False, "problem": str(exc)}
    return {"signed": True, "valid_envelope": True, "keyids": [k for k, _ in sigs],
            "signs_this_bundle_json": payload == document}


Scene = tuple[str, bytes]  # a scene .glb's name (for messages and the summary) and bytes


def bundle_scene(zf: zipfile.ZipFile) -> Scene | None:
    """The ``ue5`` folder's main scene: the fallback for bundles without a preview file."""
    entry = scene_entry(zf)
    if entry is None:
        return None
    return entry, read_entry(zf, entry, MAX_SCENE_BYTES)


def summarize(zf: zipfile.ZipFile, stored: Scene | None = None) -> dict[str, Any]:
    """The preview's JSON: bundle.json's facts, files per engine, signature, scene tree
    (from ``stored``, the preview file, when there is one)."""
    document = read_entry(zf, BUNDLE_JSON, MAX_JSON_BYTES)
    try:
        meta = json.loads(document)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"{BUNDLE_JSON}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{BUNDLE_JSON}: not an object")
    engines = [e for e in meta.get("engines", []) if isinstance(e, str)]
    summary: dict[str, Any] = {
        "project": meta.get("project"), "exporter": meta.get("exporter"), "engines": engines,
        "quality": meta.get("quality"), "include_assets": meta.get("include_assets"),
        "left_out": meta.get("left_out", []), "warnings": meta.get("warnings", []),
        "files": files_by_engine(zf, engines), "signature": signature(zf, document),
        "scene": None}
    scene = stored or bundle_scene(zf)
    if scene is not None:
        name, data = scene
        tree, triangles = scene_tree(glb_json(data, name))
        summary["scene"] = {"file": name, "bytes": len(data), "nodes": tree,
                            "triangles": triangles}
    return summary


def scene_bytes(zf: zipfile.ZipFile, stored: Scene | None = None) -> bytes:
    scene = stored or bundle_scene(zf)
    if scene is None:
        raise BundleError("the bundle has no scene .glb (only the ue5 folder carries one)")
    glb_json(scene[1], scene[0])
    return scene[1]


def stored_preview(source: object, key: str) -> Scene | None:
    """The preview file beside the bundle, or None (absent, or a backend without one);
    blocking: called in the thread that reads the bundle."""
    if not isinstance(source, PreviewStorage):
        return None
    target = preview_key(key)
    name = target.rsplit("/", 1)[-1]
    data = source.read_small(target, MAX_SCENE_BYTES)
    if data is None:
        return None
    if len(data) > MAX_SCENE_BYTES:
        raise BundleError(f"{name}: over the preview's {MAX_SCENE_BYTES} bytes")
    return name, data


# --- endpoints --------------------------------------------------------------------------------


async def _completed_key(request: Request) -> tuple[api_context.ApiContext, str, int]:
    from . import dashboard  # its auth; dashboard imports nothing of this module

    ctx = api_context.context(request)
    dashboard._require_json_auth(request, ctx)
    job_id = require_job_id(request.path_params["id"])
    status = await ctx.status(job_id)
    if status is None:
        raise Problem(404, "job-not-found", "Job not found",
                      f"no job {job_id!r} in queue {ctx.settings.queue_name}")
    result = status.get("result")
    if status["state"] != "completed" or not isinstance(result, dict) or not isinstance(
            result.get("key"), str):
        raise Problem(409, "not-completed", "Job is not completed",
                      f"job {job_id!r} is {status['state']}; a preview needs a completed job")
    try:
        stored = await ctx.storage().stat(result["key"])
    except StorageError as exc:  # its message may hold a server path: logged, not answered
        log.warning("preview: bundle unreadable", job_id=job_id, error=str(exc))
        raise Problem(503, "storage-unavailable", "Storage unavailable",
                      f"job {job_id!r}: its bundle could not be read from storage") from None
    if stored is None:
        raise Problem(404, "bundle-not-found", "Bundle not found",
                      f"job {job_id!r}: its bundle is no longer in storage")
    return ctx, result["key"], stored.bytes


async def _in_bundle(request: Request,
                     work: Callable[[zipfile.ZipFile, Scene | None], Any]) -> Any:
    ctx, key, size = await _completed_key(request)
    source = ctx.storage()
    if not hasattr(source, "read_range"):
        raise Problem(501, "preview-unsupported", "Preview unsupported",
                      "this storage backend cannot read part of a bundle")

    def run() -> Any:
        with open_bundle(lambda start, length: source.read_range(key, start, length),
                         size) as zf:
            return work(zf, stored_preview(source, key))

    try:
        return await asyncio.to_thread(run)
    except BundleError as exc:
        raise Problem(422, "bundle-unreadable", "Bundle cannot be previewed", str(exc)) from None
    except StorageError as exc:
        log.warning("preview: bundle unreadable", key=key, error=str(exc))
        raise Problem(503, "storage-unavailable", "Storage unavailable",
                      f"the bundle {key!r} could not be read from storage") from None


async def preview_json(request: Request) -> Response:
    summary = await _in_bundle(request, summarize)
    if summary["scene"] is not None:
        summary["scene"]["url"] = "/dashboard/api/scene/" + quote(request.path_params["id"],
                                                                 safe="")
    return JSONResponse(summary, headers={"cache-control": "no-store"})


async def scene_glb(request: Request) -> Response:
    data = await _in_bundle(request, scene_bytes)
    return Response(data, media_type="model/gltf-binary", headers={
        "cache-control": "private, max-age=300", "x-content-type-options": "nosniff"})


def routes() -> list[Route]:
    return [
        Route("/dashboard/api/preview/{id:path}", preview_json, methods=["GET"]),
        Route("/dashboard/api/scene/{id:path}", scene_glb, methods=["GET"]),
    ]
