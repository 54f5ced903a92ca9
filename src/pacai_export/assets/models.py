"""Model processing per quality tier (§11): ``.glb`` and ``.gltf`` in (buffers and images
embedded, as ``data:`` URIs, or in files beside the model); a validated, resized, simplified,
self-contained ``.glb`` out.

Steps, each refusing hostile input with ``InvalidInput`` naming the file and the reason:

1. **Container**: GLB header (magic, version 2, length = file size), chunk lengths within the
   file, JSON chunk first, valid JSON (no NaN); every buffer present (the BIN chunk, a
   ``data:`` URI, or a file the gatherer fetched: ``external_references`` lists them and
   ``externals`` maps each URI to its local copy), every buffer view and accessor inside its
   buffer, every index inside its vertex range. ``EXT_meshopt_compression`` views and
   ``KHR_draco_mesh_compression`` primitives are decoded (``compressed``): §11 wants neither
   in bundles.
2. **Images** in buffer views, ``data:`` URIs or files go through ``textures.process_image``
   at the same tier; an image a material uses as normal, occlusion or metallic-roughness map
   is ``linear``, any other ``srgb``. An external image the gatherer already processed (once
   per job, however many models share it) is embedded as it is. Other formats (WebP, KTX2)
   pass through.
3. **Meshes**: triangle primitives keep ``low`` 25 %, ``medium`` 50 % of their triangles
   (``high`` keeps all) through meshoptimizer's simplifier (``meshopt_simplify``). It only
   chooses a subset of the existing vertices and writes a new index list, so every vertex
   attribute — normals, UVs, tangents, colours, skin weights, morph targets — stays exact with
   no transfer step, and UV/normal seams (vertices sharing a position) collapse together
   without cracks. When simplification stops is the tier's rule (``MAX_ERROR``): ``medium``
   stops at 50 % of the triangles or when the next collapse would move the surface by more
   than 2 % of the mesh's extent, ``low`` at 25 % or 5 %; primitives under
   ``MIN_TRIANGLES`` are kept whole. Nothing collapses across a hard edge (split normals) or
   a UV seam, so a **flat-shaded** primitive — no NORMAL (glTF viewers then compute flat
   normals), or every corner's NORMAL within 0.26° of its face normal (``FLAT_COSINE``;
   0.78° for ``KHR_mesh_quantization`` byte normals, which cannot be closer), and TANGENT
   only if no material reads it (no normal map, no anisotropy) — is simplified on its shadow
   mesh instead: vertices equal in every attribute but NORMAL and TANGENT merged, so
   collapses cross the hard edges, then every kept triangle gets its face normal again (and
   a tangent in its plane), in the accessor's own type, and corners with equal attributes
   are merged. Primitives sharing one set of vertex accessors (a multi-material prop: UnityGLTF
   writes each Unity submesh as a primitive over the mesh's accessors) are flat-shaded
   together: each one's indices are simplified on the shared shadow mesh with its borders
   locked (``LOCK_BORDER``), so the edges between materials stay where they are on both
   sides and no crack opens, and they get one new shared set of vertices.
   UV seams and colour borders stay locked (on a palette-textured prop: the borders between
   colour regions): the pinned meshoptimizer package offers no working "permissive" mode
   that could collapse across them (``docs/decisions.md``). Skinned
   primitives (``JOINTS_0``) and primitives with morph targets are not simplified: a collapse
   judged on the rest pose can tear the mesh once joints or morph weights move it. Unused
   vertices are then dropped, unless another primitive shares the vertex accessors.
4. **Output**: one buffer; buffer views still used are copied, rewritten accessors and images
   get their own views, every view 4-byte aligned (vertex elements padded to 4 bytes);
   POSITION min/max recomputed; the source's triangle count in ``asset.extras`` (so a
   cached model still reports it, ``model_triangles``); JSON with sorted keys. Same input,
   same bytes.

The default scene's hierarchy is checked to be a tree of existing nodes and meshes.

Pure and synchronous: the caller runs it in a process pool.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import meshoptimizer
import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInput, LimitExceeded
from ..glb import CHUNK_BIN, CHUNK_JSON, write_glb
from ..jsonlimits import load_json
from ..settings import Limits
from .compressed import decode_draco_primitives, decode_meshopt_views, is_meshopt_fallback
from .limits import (
    DecodeLimits,
    check_zero_filled,
    ensure_headroom,
    simplifier_bytes,
    whole_number,
)
from .location import located
from .textures import QUALITY_CAPS, image_format, process_image

DETAIL = {"low": 0.25, "medium": 0.5, "high": 1.0}
# meshopt's relative error, a fraction of the mesh's extent: where each tier stops
MAX_ERROR = {"low": 0.05, "medium": 0.02, "high": 0.0}
MIN_TRIANGLES = 32  # a primitive this small is a detail of its prop: never simplified
FLAT_COSINE = 0.99999  # corner normal within 0.26° of its face normal: flat-shaded (a smooth
# mesh this close to its faces would need ~1,400 segments around, and shade the same)
# meshopt_SimplifyLockBorder (meshoptimizer.h): vertices on the border of the index list given
# (an edge used by one of its triangles) never move; a border between materials stays shut
LOCK_BORDER = 1
FACE_ATTRIBUTES = ("NORMAL", "TANGENT")  # what a flat-shaded prop's new faces get anew
SOURCE_TRIANGLES = "pacaiSourceTriangles"  # asset.extras key of the processed model

GLB_MAGIC = b"glTF"
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
LINEAR_SLOTS = ("normalTexture", "occlusionTexture", "metallicRoughnessTexture")
IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}

Array = NDArray[Any]
Buffer = bytes | memoryview  # glTF buffer data: views of the file's bytes are not copied


@dataclasses.dataclass(frozen=True)
class External:
    """A file a model refers to by URI, fetched by the gatherer."""

    path: Path
    processed: bool = False  # an image already sized for the tier: embedded as it is


@dataclasses.dataclass(frozen=True)
class Reference:
    """A URI a model refers to that is not embedded (``external_references``)."""

    uri: str
    kind: str  # "buffer" or "image"
    color_space: str  # for images: "linear" when used as a data map, else "srgb"
    field: str  # "buffers[0]", "images[2]": where the model names it


@dataclasses.dataclass(frozen=True)
class ProcessedModel:
    """A model written by ``process_model``."""

    path: Path
    triangles: int  # after simplification
    source_triangles: int


def process_model(src: Path, dest_dir: Path, *, quality: str, max_pixels: int,
                  externals: Mapping[str, External] | None = None,
                  decode: DecodeLimits | None = None) -> ProcessedModel:
    """Validate ``src`` (``.glb`` or ``.gltf``) and write it as ``dest_dir/<stem>.glb`` with
    images and meshes reduced for ``quality``; ``externals`` maps each URI of
    ``external_references(src)`` to its fetched file."""
    if quality not in DETAIL:
        raise ValueError(f"unknown quality {quality!r}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{src.stem}.glb"
    decode = decode or DecodeLimits()
    with located(src.name), _malformed():
        model = _EditableGltf.load(src, externals or {}, decode.json_depth)
        model.process_images(quality, max_pixels, decode)
        before, after = model.simplify(quality)
        model.check_scene()
        _record_source_triangles(model.doc, before)
        model.write_glb(dest)
    return ProcessedModel(path=dest, triangles=after, source_triangles=before)


@contextlib.contextmanager
def _malformed() -> Iterator[None]:
    """The JSON is not schema-checked field by field: a field of the wrong type or a missing
    one surfaces as one of these errors, and is the input's fault."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InvalidInput(f"malformed glTF ({type(exc).__name__}: {exc})") from None
    except MemoryError:  # the pool process's address-space cap
        raise LimitExceeded("processing it needs more memory than a worker process may "
                            "use") from None


# --- reading and validating -----------------------------------------------------------------


def _parse_glb(data: bytes,
               max_depth: int = Limits.json_depth) -> tuple[dict[str, Any], Buffer | None]:
    """(JSON, BIN chunk or None) of a GLB, every length checked against the bytes. The BIN
    chunk is a view of ``data``, not a copy."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise InvalidInput("not a GLB file (no glTF header)")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        raise InvalidInput(f"GLB version {version} is not supported (only 2)")
    if length != len(data):
        raise InvalidInput(f"truncated or padded GLB: the header says {length} bytes, "
                           f"the file has {len(data)}")
    chunks: list[tuple[int, memoryview]] = []
    whole = memoryview(data)
    offset = 12
    while offset < length:
        if offset + 8 > length:
            raise InvalidInput(f"GLB chunk header at byte {offset} is cut short")
        size, kind = struct.unpack_from("<II", data, offset)
        if offset + 8 + size > length:
            raise InvalidInput(f"GLB chunk at byte {offset} claims {size} bytes but only "
                               f"{length - offset - 8} remain")
        chunks.append((kind, whole[offset + 8:offset + 8 + size]))
        offset += 8 + size + (-size % 4)
    if not chunks or chunks[0][0] != CHUNK_JSON:
        raise InvalidInput("the first GLB chunk is not JSON")
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == CHUNK_BIN else None
    return _parse_json(bytes(chunks[0][1]), max_depth), binary


def _parse_json(text: bytes, max_depth: int = Limits.json_depth) -> dict[str, Any]:
    # Depth and numbers bounded (no NaN, no 1e400) before any field is read.
    doc = load_json(text, "the glTF JSON", max_depth)
    if not isinstance(doc, dict) or not str(doc.get("asset", {}).get("version", "")
                                                ).startswith("2."):
        raise InvalidInput("not a glTF 2.0 document (asset.version must be 2.x)")
    return doc


def _record_source_triangles(doc: dict[str, Any], triangles: int) -> None:
    extras = doc["asset"].setdefault("extras", {})
    if not isinstance(extras, dict):
        raise InvalidInput("glTF asset.extras must be an object")
    extras[SOURCE_TRIANGLES] = triangles


def model_triangles(path: Path) -> tuple[int, int]:
    """(source triangles, triangles) of a model ``process_model`` wrote; read from the JSON
    chunk alone, so a processed model from the cache reports what its processing did."""
    with path.open("rb") as fh:
        head = fh.read(20)
        size = struct.unpack_from("<I", head, 12)[0] if len(head) == 20 else 0
        doc = json.loads(fh.read(size))
    triangles = 0
    accessors = doc.get("accessors", [])
    for prim in _EditableGltf(doc, [])._triangle_primitives():
        acc = prim.get("indices", prim["attributes"]["POSITION"])
        triangles += int(accessors[acc]["count"]) // 3
    return int(doc["asset"].get("extras", {}).get(SOURCE_TRIANGLES, triangles)), triangles


def external_references(src: Path) -> list[Reference]:
    """Every buffer and image URI of a model that is neither embedded nor ``data:``, in
    document order; an image's colour space says how the model uses it."""
    with located(src.name), _malformed():
        return _references(src)


def _references(src: Path) -> list[Reference]:
    if src.suffix.lower() == ".glb":
        doc, _ = _parse_glb(src.read_bytes())
    else:
        doc = _parse_json(src.read_bytes())
    linear = _EditableGltf(doc, [])._linear_images()
    out = []
    for kind in ("buffers", "images"):
        for i, item in enumerate(_list(doc, kind)):
            uri = item.get("uri")
            if isinstance(uri, str) and not uri.startswith("data:"):
                space = "linear" if kind == "images" and i in linear else "srgb"
                out.append(Reference(uri=uri, kind=kind[:-1], color_space=space,
                                     field=f"{kind}[{i}]"))
            elif uri is not None and not isinstance(uri, str):
                raise InvalidInput(f"{kind}[{i}].uri must be a string")
    return out


def _uri_bytes(uri: str, what: str, externals: Mapping[str, External]) -> bytes:
    """The bytes a buffer or image URI names: a ``data:`` URI decoded, or the fetched file."""
    if uri.startswith("data:"):
        return _data_uri(uri, what)
    external = externals.get(uri)
    if external is None:
        raise InvalidInput(f"{what}: refers to {uri[:80]!r}, which was not fetched")
    return external.path.read_bytes()


def _data_uri(uri: str, what: str) -> bytes:
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise InvalidInput(f"{what}: malformed data: URI (no comma)")
    if not header.endswith(";base64"):
        return unquote_to_bytes(payload)
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise InvalidInput(f"{what}: data: URI is not valid base64") from None


class _EditableGltf:
    """A glTF document with its buffers, edited in place then written as one GLB."""

    def __init__(self, doc: dict[str, Any], buffers: list[Buffer],
                 externals: Mapping[str, External] | None = None) -> None:
        self.doc = doc
        self.buffers = buffers
        self.externals = externals or {}
        self.replaced: dict[int, Array] = {}  # accessor index → new dense data
        self.images: dict[int, tuple[bytes, str | None]] = {}  # image → (bytes, mime type)

    @classmethod
    def load(cls, src: Path, externals: Mapping[str, External],
             max_depth: int = Limits.json_depth) -> _EditableGltf:
        data = src.read_bytes()
        if src.suffix.lower() == ".glb":
            doc, binary = _parse_glb(data, max_depth)
        elif src.suffix.lower() == ".gltf":
            doc, binary = _parse_json(data, max_depth), None
        else:
            raise InvalidInput("a model must be .glb or .gltf")
        buffers = [_buffer_bytes(buf, i, binary, externals)
                   for i, buf in enumerate(_list(doc, "buffers"))]
        decode_meshopt_views(doc, buffers)
        model = cls(doc, buffers, externals)
        model.check()
        model.replaced.update(decode_draco_primitives(doc, model._checked_view))
        return model

    def _checked_view(self, index: Any) -> memoryview:
        views = _list(self.doc, "bufferViews")
        return self._view_bytes(views[_index(index, len(views), "bufferView")])

    def check(self) -> None:
        """Every buffer view and accessor inside its buffer (no data is decoded)."""
        for i, view in enumerate(_list(self.doc, "bufferViews")):
            where = f"bufferViews[{i}]"
            buffer = _index(view.get("buffer"), len(self.buffers), f"{where}.buffer")
            end = (whole_number(view.get("byteOffset", 0), "byteOffset", where)
                   + whole_number(view.get("byteLength"), "byteLength", where, lo=1))
            if "byteStride" in view:
                whole_number(view["byteStride"], "byteStride", where, lo=4, hi=252)
            if end > len(self.buffers[buffer]):
                raise InvalidInput(f"bufferViews[{i}] (ends at byte {end}) lies "
                                   f"outside buffers[{buffer}] ({len(self.buffers[buffer])} "
                                   "bytes)")
        for i in range(len(_list(self.doc, "accessors"))):
            self._layout(i)
        check_zero_filled(_list(self.doc, "accessors"), _element_bytes,
                          _draco_accessors(self.doc))

    def _layout(self, index: int) -> tuple[dict[str, Any], np.dtype[Any], int, int]:
        """(accessor, dtype, components, stride), its extent checked against its view."""
        acc = _list(self.doc, "accessors")[index]
        where = f"accessors[{index}]"
        if acc.get("componentType") not in DTYPES or acc.get("type") not in COMPONENTS:
            raise InvalidInput(f"{where} has an unknown componentType or type")
        dtype, comps = np.dtype(DTYPES[acc["componentType"]]), COMPONENTS[acc["type"]]
        count = whole_number(acc.get("count"), "count", where, lo=1)
        element = dtype.itemsize * comps
        stride = element
        if "sparse" in acc:
            whole_number(acc["sparse"].get("count"), "sparse.count", where, lo=1, hi=count)
        if "bufferView" in acc:
            views = _list(self.doc, "bufferViews")
            view = views[_index(acc["bufferView"], len(views), "bufferView", where)]
            stride = int(view.get("byteStride", element))
            end = (whole_number(acc.get("byteOffset", 0), "byteOffset", where)
                   + stride * max(count - 1, 0) + element)
            if count < 1 or stride < element or end > int(view["byteLength"]):
                raise InvalidInput(f"{where} ({count} × {element} bytes, stride {stride}) "
                                   f"reaches past its bufferView ({view['byteLength']} bytes)")
        return acc, dtype, comps, stride

    def read(self, index: int) -> Array:
        """Accessor ``index`` as a dense ``(count, components)`` array of its stored type."""
        if index in self.replaced:
            return self.replaced[index]
        acc, dtype, comps, stride = self._layout(index)
        count = int(acc["count"])
        if "bufferView" not in acc:
            out: Array = np.zeros((count, comps), dtype)
        else:
            out = self._strided(acc["bufferView"], int(acc.get("byteOffset", 0)), count,
                                dtype, comps, stride)
        if "sparse" in acc:
            out = out.copy()
            sparse = acc["sparse"]
            n = int(sparse["count"])
            itype = np.dtype(DTYPES.get(sparse["indices"].get("componentType"), "<u4"))
            idx = self._strided(sparse["indices"]["bufferView"],
                                int(sparse["indices"].get("byteOffset", 0)), n, itype, 1,
                                itype.itemsize)[:, 0]
            if n and int(idx.max()) >= count:
                raise InvalidInput(f"accessors[{index}] sparse index out of range")
            out[idx] = self._strided(sparse["values"]["bufferView"],
                                     int(sparse["values"].get("byteOffset", 0)), n, dtype,
                                     comps, dtype.itemsize * comps)
        return out

    def _strided(self, view_index: int, offset: int, count: int, dtype: np.dtype[Any],
                 comps: int, stride: int) -> Array:
        view = _list(self.doc, "bufferViews")[view_index]
        start = int(view.get("byteOffset", 0)) + offset
        element = dtype.itemsize * comps
        if start + stride * max(count - 1, 0) + element > len(self.buffers[view["buffer"]]):
            raise InvalidInput(f"bufferViews[{view_index}] data out of range")
        raw = np.frombuffer(self.buffers[view["buffer"]], np.uint8)
        rows = np.lib.stride_tricks.as_strided(raw[start:], shape=(count, element),
                                               strides=(stride, 1))
        return np.ascontiguousarray(rows).view(dtype).reshape(count, comps)

    # --- images ------------------------------------------------------------------------------

    def process_images(self, quality: str, max_pixels: int,
                       decode: DecodeLimits | None = None) -> None:
        """Resize every embedded PNG/JPEG image for ``quality``."""
        assert quality in QUALITY_CAPS
        linear = self._linear_images()
        for i, image in enumerate(_list(self.doc, "images")):
            where = f"images[{i}]"
            if "uri" in image:
                uri = str(image["uri"])
                data = _uri_bytes(uri, where, self.externals)
                external = self.externals.get(uri)
                if external is not None and external.processed:
                    self.images[i] = (data, _sniff_mime(data, image.get("mimeType")))
                    continue
            elif "bufferView" in image:
                views = _list(self.doc, "bufferViews")
                view = views[_index(image["bufferView"], len(views), "bufferView", where)]
                start = int(view.get("byteOffset", 0))
                data = bytes(self.buffers[view["buffer"]][start:start + int(view["byteLength"])])
            else:
                raise InvalidInput(f"{where} has neither uri nor bufferView")
            mime = image.get("mimeType")
            if image_format(data) is not None:
                done = process_image(data, quality=quality, max_pixels=max_pixels, what=where,
                                     color_space="linear" if i in linear else "srgb",
                                     decode=decode)
                data, mime = done.data, IMAGE_TYPES[done.format]
            elif mime in IMAGE_TYPES.values():
                raise InvalidInput(f"{where}: declared {mime} but the content is not")
            self.images[i] = (data, mime)

    def _linear_images(self) -> set[int]:
        """Images used as data maps (normal, occlusion, metallic-roughness)."""
        textures = _list(self.doc, "textures")
        out = set()
        for material in _list(self.doc, "materials"):
            slots = [material.get(s) for s in LINEAR_SLOTS]
            slots.append(material.get("pbrMetallicRoughness", {}).get(LINEAR_SLOTS[2]))
            for slot in slots:
                if isinstance(slot, dict) and 0 <= int(slot.get("index", -1)) < len(textures):
                    source = textures[slot["index"]].get("source")
                    if source is not None:
                        out.add(int(source))
        return out

    # --- meshes --------------------------------------------------------------------------------

    def _triangle_primitives(self) -> Iterator[dict[str, Any]]:
        for mesh in _list(self.doc, "meshes"):
            for prim in mesh.get("primitives", []):
                if prim.get("mode", 4) == 4 and "POSITION" in prim.get("attributes", {}):
                    yield prim

    def simplify(self, quality: str) -> tuple[int, int]:
        """Simplify every triangle primitive by the tier's rule; (before, after)."""
        keep, max_error = DETAIL[quality], MAX_ERROR[quality]
        groups: dict[str, list[dict[str, Any]]] = {}
        refs: dict[int, int] = {}
        for prim in self._triangle_primitives():
            groups.setdefault(_vertex_key(prim), []).append(prim)
            for acc in [*_vertex_accessors(prim), prim.get("indices")]:
                if acc is not None:
                    refs[acc] = refs.get(acc, 0) + 1
        before = after = 0
        for prims in groups.values():
            reduce = keep < 1.0 and _simplifiable(prims[0])
            owned = all(refs[a] == len(prims) for a in _vertex_accessors(prims[0]))
            if reduce and owned and self._flat_shaded(prims):
                counts = self._simplify_flat(prims, keep, max_error, refs)
                before, after = before + counts[0], after + counts[1]
                continue
            if reduce and owned and len(prims) == 1 and "indices" not in prims[0]:
                self._weld(prims[0])
            indices = [self._indices(p) for p in prims]
            before += sum(len(i) // 3 for i in indices)
            if reduce:
                positions = self.read(prims[0]["attributes"]["POSITION"]).astype(np.float32)
                indices = [_simplify(i, positions, keep, max_error) for i in indices]
            after += sum(len(i) // 3 for i in indices)
            if reduce:
                self._rewrite(prims, indices, compact=owned, refs=refs)
        return before, after

    def _flat_shaded(self, prims: list[dict[str, Any]]) -> bool:
        """No NORMAL (glTF: the engine computes flat normals), or every corner's NORMAL (float,
        or normalized integers of ``KHR_mesh_quantization``) is its triangle's face normal, in
        every primitive sharing the vertices: the prop is flat-shaded, every vertex on a hard
        edge. TANGENT only where no material reads it (``_tangents_unused``)."""
        attributes = prims[0]["attributes"]
        triangles = [self._indices(p).reshape(-1, 3) for p in prims]
        if max(len(t) for t in triangles) < MIN_TRIANGLES:
            return False
        if "TANGENT" in attributes and not (
                "NORMAL" in attributes and self._tangents_unused(prims)
                and _unit_vectors(self._layout(attributes["TANGENT"])[0])):
            return False
        positions = self._positions(prims[0])
        if "NORMAL" not in attributes:  # every primitive keeps a triangle with an area
            return all(_face_normals(positions, t)[1].any() for t in triangles)
        acc, dtype = self._layout(attributes["NORMAL"])[:2]
        if not _unit_vectors(acc):
            return False
        normals = _as_float(self.read(attributes["NORMAL"]), acc)
        if dtype.kind == "i":  # rounding changes the length too: only the direction counts
            normals /= np.maximum(np.linalg.norm(normals, axis=1), 1e-12)[:, None]
        cosine = _flat_cosine(dtype)
        # A smooth mesh fails on its first triangles: only a flat one pays the whole check.
        return all(_normals_flat(positions, normals, part, cosine)
                   for t in triangles for part in (t[:MIN_TRIANGLES], t))

    def _tangents_unused(self, prims: list[dict[str, Any]]) -> bool:
        """No material of ``prims`` reads tangents: no normal map (core, or a clearcoat's) and
        no anisotropy. Tangents then change nothing on screen, and the new faces may get any
        tangent in their plane (``_face_tangents``)."""
        materials = _list(self.doc, "materials")
        for prim in prims:
            if "material" not in prim:
                continue  # the default material has no textures
            material = materials[_index(prim["material"], len(materials), "material")]
            extensions = material.get("extensions") or {}
            if ("normalTexture" in material or "KHR_materials_anisotropy" in extensions
                    or "clearcoatNormalTexture" in (extensions.get("KHR_materials_clearcoat")
                                                    or {})):
                return False
        return True

    def _simplify_flat(self, prims: list[dict[str, Any]], keep: float, max_error: float,
                       refs: dict[int, int]) -> tuple[int, int]:
        """Simplify flat-shaded primitives on their shadow mesh (vertices equal in every
        attribute but NORMAL and TANGENT merged), so collapses cross their hard edges; UV
        seams and colour borders stay (they are not merged); then give every triangle its face
        normal (and a tangent in its plane) again. Primitives sharing the vertices (a
        multi-material prop) are simplified one by one on the same shadow mesh with their
        borders locked: the edges between materials stay where they are on both sides, so no
        crack opens between them."""
        named = sorted(prims[0]["attributes"].items())
        others = [int(acc) for name, acc in named if name not in FACE_ATTRIBUTES]
        columns = [self.read(acc) for acc in others]
        rows = np.concatenate([c.view(np.uint8).reshape(len(c), -1) for c in columns], axis=1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        shadow_of = inverse.reshape(-1).astype(np.uint32)
        positions = self._positions(prims[0])[first]
        options = LOCK_BORDER if len(prims) > 1 else 0
        before, parts = 0, []
        for prim in prims:
            shadow = shadow_of[self._indices(prim)]
            before += len(shadow) // 3
            kept = _simplify(shadow, positions.astype(np.float32), keep, max_error,
                             options).reshape(-1, 3)
            parts.append(kept[_face_normals(positions, kept)[1]])
        kept = np.concatenate(parts)
        faces = self._face_attributes(prims[0], _face_normals(positions, kept)[0])
        # Corners that share a shadow vertex (and a face normal) become one vertex again.
        corners = np.concatenate([kept.reshape(-1, 1).view(np.uint8).reshape(-1, 4)] + [
            data.view(np.uint8).reshape(len(kept) * 3, -1) for data in faces.values()], axis=1)
        _, unique, remap = np.unique(corners, axis=0, return_index=True, return_inverse=True)
        source = first[kept.reshape(-1)[unique]]
        for acc, column in zip(others, columns, strict=True):
            self.replaced[acc] = column[source]
        for acc, data in faces.items():
            self.replaced[acc] = data[unique]
        ends = np.cumsum([3 * len(part) for part in parts])[:-1]
        indices = np.split(remap.reshape(-1).astype(np.uint32), ends)
        self._rewrite(prims, indices, compact=False, refs=refs)
        return before, len(kept)

    def _face_attributes(self, prim: dict[str, Any], normals: NDArray[np.float64]
                         ) -> dict[int, Array]:
        """accessor → its new per-corner data, in its own type: NORMAL the face normals,
        TANGENT a unit vector in each face's plane (handedness +1)."""
        out: dict[int, Array] = {}
        corners = np.repeat(normals, 3, axis=0)
        for name in FACE_ATTRIBUTES:
            if name in prim["attributes"]:
                acc = int(prim["attributes"][name])
                data = corners if name == "NORMAL" else _face_tangents(corners)
                out[acc] = _encode_normals(data, self._layout(acc)[1])
        return out

    def _positions(self, prim: dict[str, Any]) -> NDArray[np.float64]:
        acc = prim["attributes"]["POSITION"]
        return _as_float(self.read(acc), self._layout(acc)[0])

    def _weld(self, prim: dict[str, Any]) -> None:
        """Index a triangle soup: identical vertices (every attribute equal) merged, so the
        simplifier sees shared edges."""
        accessors = _vertex_accessors(prim)
        columns = [self.read(a) for a in accessors]
        rows = np.concatenate([c.view(np.uint8).reshape(len(c), -1) for c in columns], axis=1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        for acc, column in zip(accessors, columns, strict=True):
            self.replaced[acc] = column[first]
        self.doc["accessors"].append({"componentType": 5125, "count": len(inverse),
                                      "type": "SCALAR"})
        prim["indices"] = len(self.doc["accessors"]) - 1
        self.replaced[prim["indices"]] = inverse.astype(np.uint32).reshape(-1, 1)

    def _indices(self, prim: dict[str, Any]) -> NDArray[np.uint32]:
        count = int(self._layout(prim["attributes"]["POSITION"])[0]["count"])
        for acc in _vertex_accessors(prim):
            if int(self._layout(acc)[0]["count"]) != count:
                raise InvalidInput("a primitive's attributes differ in count")
        if "indices" not in prim:
            return np.arange(count - count % 3, dtype=np.uint32)
        indices = self.read(prim["indices"])[:, 0].astype(np.uint32)
        if len(indices) and int(indices.max()) >= count:
            raise InvalidInput(f"accessors[{prim['indices']}] holds an index "
                               f"beyond the primitive's {count} vertices")
        return indices[:len(indices) - len(indices) % 3]

    def _rewrite(self, prims: list[dict[str, Any]], indices: list[NDArray[np.uint32]],
                 compact: bool, refs: dict[int, int]) -> None:
        """New index accessors; vertices nobody uses dropped when the group owns them."""
        if compact:
            used = np.unique(np.concatenate(indices))
            remap = np.zeros(int(used[-1]) + 1 if len(used) else 1, np.uint32)
            remap[used] = np.arange(len(used), dtype=np.uint32)
            for acc in _vertex_accessors(prims[0]):
                self.replaced[acc] = self.read(acc)[used]
            indices = [remap[i] for i in indices]
        accessors = _list(self.doc, "accessors")
        for prim, idx in zip(prims, indices, strict=True):
            dtype = np.uint16 if len(idx) == 0 or int(idx.max()) < 0xFFFF else np.uint32
            if refs.get(prim.get("indices", -1)) != 1:  # shared or absent: a new accessor
                accessors.append({"type": "SCALAR"})
                prim["indices"] = len(accessors) - 1
            accessors[prim["indices"]]["componentType"] = 5123 if dtype == np.uint16 else 5125
            self.replaced[prim["indices"]] = idx.astype(dtype).reshape(-1, 1)

    # --- scene ---------------------------------------------------------------------------------

    def check_scene(self) -> None:
        """The default scene's hierarchy is a tree of existing nodes and meshes (a cycle
        would hang an importer walking it)."""
        meshes = _list(self.doc, "meshes")
        for node in _walk(self.doc):
            if "mesh" in node:
                _index(node["mesh"], len(meshes), "mesh")

    # --- writing -------------------------------------------------------------------------------

    def write_glb(self, dest: Path) -> None:
        """The document as one GLB at ``dest``: kept views copied, new data in new views."""
        doc, views = self.doc, _list(self.doc, "bufferViews")
        accessors = _list(self.doc, "accessors")
        kept = sorted({int(a["bufferView"]) for i, a in enumerate(accessors)
                       if i not in self.replaced and "bufferView" in a}
                      | {int(v["bufferView"]) for i, a in enumerate(accessors)
                         if i not in self.replaced for v in _sparse_parts(a)})
        out = _BinWriter()
        new_index = {old: out.view(self._view_bytes(views[old]), views[old]) for old in kept}
        prims = list(self._triangle_primitives())
        index_accessors = {p.get("indices") for p in prims}
        positions = {p["attributes"]["POSITION"] for p in prims}
        for i, acc in enumerate(accessors):
            if i in self.replaced:
                accessors[i] = _emit_accessor(out, acc, self.replaced[i],
                                              is_index=i in index_accessors,
                                              is_position=i in positions)
            else:
                if "bufferView" in acc:
                    acc["bufferView"] = new_index[int(acc["bufferView"])]
                for part in _sparse_parts(acc):
                    part["bufferView"] = new_index[int(part["bufferView"])]
        for i, (data, mime) in sorted(self.images.items()):
            image = doc["images"][i]
            image.pop("uri", None)
            image["bufferView"] = out.view(data, {})
            if mime:
                image["mimeType"] = mime
        doc.pop("buffers", None)
        doc.pop("bufferViews", None)
        if out.views:
            doc["buffers"] = [{"byteLength": len(out.data)}]
            doc["bufferViews"] = out.views
        write_glb(dest, doc, out.data)

    def _view_bytes(self, view: dict[str, Any]) -> memoryview:
        start, buffer = int(view.get("byteOffset", 0)), self.buffers[int(view["buffer"])]
        return memoryview(buffer)[start:start + int(view["byteLength"])]


def _emit_accessor(out: _BinWriter, acc: dict[str, Any], data: Array, *, is_index: bool,
                   is_position: bool) -> dict[str, Any]:
    """``acc`` pointing at ``data`` in a new view; vertex elements padded to 4 bytes."""
    new = {k: v for k, v in acc.items()
           if k not in ("bufferView", "byteOffset", "sparse", "min", "max")}
    new["count"] = len(data)
    target = ELEMENT_ARRAY_BUFFER if is_index else ARRAY_BUFFER
    element = data.dtype.itemsize * data.shape[1]
    stride = element + (-element % 4) if target == ARRAY_BUFFER else element
    rows = np.zeros((len(data), stride), np.uint8)
    rows[:, :element] = np.ascontiguousarray(data).view(np.uint8).reshape(len(data), -1)
    info: dict[str, Any] = {"target": target}
    if stride != element:
        info["byteStride"] = stride
    if len(data):
        new["bufferView"] = out.view(rows.tobytes(), info)
        if "min" in acc or is_position:
            new["min"] = [_number(x) for x in data.min(0)]
            new["max"] = [_number(x) for x in data.max(0)]
    return new


class _BinWriter:
    """The output buffer: views appended 4-byte aligned."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict[str, Any]] = []

    def view(self, data: Buffer, like: dict[str, Any]) -> int:
        self.data += b"\0" * (-len(self.data) % 4)
        view: dict[str, Any] = {k: like[k] for k in ("byteStride", "target", "name") if k in like}
        view.update(buffer=0, byteOffset=len(self.data), byteLength=len(data))
        self.data += data
        self.views.append(view)
        return len(self.views) - 1


# --- helpers --------------------------------------------------------------------------------


def _buffer_bytes(buf: dict[str, Any], i: int, binary: Buffer | None,
                  externals: Mapping[str, External]) -> Buffer:
    where = f"buffers[{i}]"
    raw: Buffer
    if "uri" in buf:
        raw = _uri_bytes(str(buf["uri"]), where, externals)
    elif i == 0 and binary is not None:
        raw = binary
    elif is_meshopt_fallback(buf):
        return b""  # its views are all compressed: decoding gives them buffers of their own
    else:
        raise InvalidInput(f"{where} has no data (no uri and no GLB BIN chunk)")
    if len(raw) < int(buf.get("byteLength", 0)):
        raise InvalidInput(f"{where}: byteLength {buf['byteLength']} exceeds its "
                           f"{len(raw)} bytes of data")
    return raw


def _sniff_mime(data: bytes, declared: Any) -> str | None:
    fmt = image_format(data)
    if fmt is not None:
        return IMAGE_TYPES[fmt]
    return declared if isinstance(declared, str) else None


def _draco_accessors(doc: dict[str, Any]) -> frozenset[int]:
    """The accessors KHR_draco_mesh_compression primitives fill (no bufferView of their own)."""
    found: set[int] = set()
    for mesh in _list(doc, "meshes"):
        for prim in mesh.get("primitives", []):
            if "KHR_draco_mesh_compression" in (prim.get("extensions") or {}):
                found.update(v for v in prim.get("attributes", {}).values()
                             if isinstance(v, int))
                if isinstance(prim.get("indices"), int):
                    found.add(prim["indices"])
    return frozenset(found)


def _element_bytes(acc: dict[str, Any]) -> int:
    return int(np.dtype(DTYPES[acc["componentType"]]).itemsize) * COMPONENTS[acc["type"]]


def _list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(f"glTF {key} must be a list of objects")
    return value


def _index(value: Any, length: int, field: str, where: str = "") -> int:
    """``value`` as an index into a list of ``length``; ``where`` names the field's owner."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < length:
        owner = f"{where}: " if where else ""
        raise InvalidInput(f"{owner}{field} {value!r} does not exist")
    return value


def _vertex_accessors(prim: dict[str, Any]) -> list[int]:
    out = [int(a) for _, a in sorted(prim["attributes"].items())]
    for target in prim.get("targets", []):
        out += [int(a) for _, a in sorted(target.items())]
    return out


def _vertex_key(prim: dict[str, Any]) -> str:
    return json.dumps([prim["attributes"], prim.get("targets", [])], sort_keys=True)


def _sparse_parts(acc: dict[str, Any]) -> list[dict[str, Any]]:
    sparse = acc.get("sparse")
    return [sparse["indices"], sparse["values"]] if isinstance(sparse, dict) else []


def _simplifiable(prim: dict[str, Any]) -> bool:
    """Skinned and morphed primitives keep every triangle (see the module's docstring)."""
    return "JOINTS_0" not in prim["attributes"] and not prim.get("targets")


def _face_normals(positions: NDArray[np.float64], triangles: NDArray[Any]
                  ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(unit face normal of each triangle by its winding, which triangles have an area)."""
    p = positions[triangles]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    length = np.linalg.norm(cross, axis=1)
    solid = length > 1e-12
    return cross / np.where(solid, length, 1.0)[:, None], solid


def _normals_flat(positions: NDArray[np.float64], normals: NDArray[np.float64],
                  triangles: NDArray[Any], cosine: float = FLAT_COSINE) -> bool:
    """Every corner normal of ``triangles`` is its face normal (within ``cosine``)."""
    faces, solid = _face_normals(positions, triangles)
    cosines = np.einsum("tcj,tj->tc", normals[triangles[solid]], faces[solid])
    return bool(solid.any()) and bool((cosines >= cosine).all())


def _flat_cosine(dtype: np.dtype[Any]) -> float:
    """How close a stored normal of ``dtype`` must be to its face normal to count as flat.
    A normalized integer normal (KHR_mesh_quantization: signed byte or short) is off by up to
    half a step per component, √3 / 2 steps in all: twice that is allowed (a byte normal:
    0.78°, a short one: below ``FLAT_COSINE`` anyway)."""
    if dtype.kind != "i":
        return FLAT_COSINE
    return min(FLAT_COSINE, float(np.cos(np.sqrt(3) / np.iinfo(dtype).max)))


def _unit_vectors(acc: dict[str, Any]) -> bool:
    """A NORMAL or TANGENT accessor this module can write anew: float, or normalized signed
    integers (the types glTF and KHR_mesh_quantization allow them)."""
    return acc["componentType"] == 5126 or (bool(acc.get("normalized"))
                                            and acc["componentType"] in (5120, 5122))


def _face_tangents(normals: NDArray[np.float64]) -> NDArray[np.float64]:
    """A unit tangent in each normal's plane, handedness +1: the normal crossed with the
    axis it is least aligned with (never parallel, so never a zero vector)."""
    axes = np.eye(3)[np.argmin(np.abs(normals), axis=1)]
    along = np.cross(normals, axes)
    along /= np.linalg.norm(along, axis=1)[:, None]
    return np.hstack([along, np.ones((len(along), 1))])


def _encode_normals(normals: NDArray[np.float64], dtype: np.dtype[Any]) -> Array:
    """Unit normals (or tangents) in their accessor's own type: float, or normalized signed integers
    (decoded as ``max(c / max, -1)``: KHR_mesh_quantization, "Encoding quantized data")."""
    if dtype.kind != "i":
        return normals.astype(np.float32)
    scale = np.iinfo(dtype).max
    return np.clip(np.round(normals * scale), -scale, scale).astype(dtype)


def _simplify(indices: NDArray[np.uint32], positions: NDArray[np.float32],
              keep: float, max_error: float, options: int = 0) -> NDArray[np.uint32]:
    """meshopt_simplify down to ``keep`` of the triangles, moving the surface by at most
    ``max_error`` of the mesh's extent; ``options``: meshopt_SimplifyXxx bits."""
    if len(indices) < 3 * MIN_TRIANGLES:
        return indices
    target = max(int(len(indices) // 3 * keep), 1) * 3
    dest = np.zeros(len(indices), np.uint32)
    ensure_headroom(simplifier_bytes(len(positions), len(indices)))
    count = meshoptimizer.simplify(dest, np.ascontiguousarray(indices),
                                   np.ascontiguousarray(positions), target_index_count=target,
                                   target_error=max_error, options=options)
    return dest[:int(count)].copy() if count else indices


def _as_float(data: Array, acc: dict[str, Any]) -> NDArray[np.float64]:
    values = data.astype(np.float64)
    if acc.get("normalized") and data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        values = np.maximum(values / info.max, -1.0)
    return values


def _number(x: Any) -> float | int:
    return int(x) if isinstance(x, np.integer) else (0.0 if x == 0 else float(x))


def _walk(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of the default scene (every root without scenes), each once."""
    nodes, scenes = _list(doc, "nodes"), _list(doc, "scenes")
    if scenes:
        scene = scenes[_index(doc.get("scene", 0), len(scenes), "scene")]
        roots = list(scene.get("nodes", []))
    else:
        children = {c for n in nodes for c in n.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    stack = [_index(r, len(nodes), "scene node") for r in reversed(roots)]
    seen: set[int] = set()
    while stack:
        index = stack.pop()
        if index in seen:
            raise InvalidInput(f"nodes[{index}] appears twice in the scene hierarchy")
        seen.add(index)
        yield nodes[index]
        for child in reversed(nodes[index].get("children", [])):
            stack.append(_index(child, len(nodes), "child node"))
