"""Decoding compressed glTF geometry: ``EXT_meshopt_compression`` buffer views and
``KHR_draco_mesh_compression`` primitives become plain buffer views and accessors, so the
processed model carries neither (§11: engines recompress on import, and not every importer
decodes them).

Decoders: meshoptimizer's own decoder (the ``meshoptimizer`` package the simplifier already
uses) and Google's Draco through ``DracoPy`` (docs/decisions.md). Both are bounded before they
allocate: the decoded size is known from the glTF (count * stride, count * components) and
must fit ``DECODED_LIMIT`` for the whole model.

Pure and synchronous: runs inside ``process_model``, in a pool process.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInput, LimitExceeded

MESHOPT, DRACO = "EXT_meshopt_compression", "KHR_draco_mesh_compression"
DECODED_LIMIT = 512 << 20  # bytes a model's compressed data may decode to, in all
_MODES = ("ATTRIBUTES", "TRIANGLES", "INDICES")
_FILTERS = ("NONE", "OCTAHEDRAL", "QUATERNION", "EXPONENTIAL")
_DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}

Buffer = bytes | memoryview


class _Budget:
    """Decoded bytes of one model, against ``DECODED_LIMIT``."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, size: int, what: str) -> None:
        self.used += size
        if size < 0 or self.used > DECODED_LIMIT:
            raise LimitExceeded(f"{what} would decode to more than "
                                f"{DECODED_LIMIT} bytes")


def is_meshopt_fallback(buffer: dict[str, Any]) -> bool:
    """A buffer that only exists for loaders without meshopt: it has no data of its own."""
    ext = buffer.get("extensions", {}).get(MESHOPT)
    return isinstance(ext, dict) and bool(ext.get("fallback")) and "uri" not in buffer


def decode_meshopt_views(doc: dict[str, Any], buffers: list[Buffer]) -> None:
    """Every meshopt-compressed buffer view decoded into a new buffer of ``buffers``, the view
    pointed at it, and the extension dropped."""
    budget = _Budget()
    for i, view in enumerate(doc.get("bufferViews", [])):
        ext = view.get("extensions", {}).get(MESHOPT) if isinstance(view, dict) else None
        if not isinstance(ext, dict):
            continue
        where = f"bufferViews[{i}] ({MESHOPT})"
        data = _decode_meshopt(ext, buffers, budget, where)
        if len(data) != int(view.get("byteLength", -1)):
            raise InvalidInput(f"{where}: decodes to {len(data)} bytes, the view says "
                               f"{view.get('byteLength')}")
        buffers.append(data)
        doc.setdefault("buffers", []).append({"byteLength": len(data)})
        view.update(buffer=len(buffers) - 1, byteOffset=0)
        _drop_extension(view, MESHOPT)
    _drop_used(doc, MESHOPT)


def _decode_meshopt(ext: dict[str, Any], buffers: list[Buffer], budget: _Budget,
                    where: str) -> bytes:
    import meshoptimizer

    count, stride = int(ext.get("count", 0)), int(ext.get("byteStride", 0))
    mode, filt = ext.get("mode"), ext.get("filter", "NONE")
    if mode not in _MODES or filt not in _FILTERS or count < 1 or not 0 < stride <= 256:
        raise InvalidInput(f"{where}: mode {mode!r}, filter {filt!r}, count {count} or "
                           f"byteStride {stride} is not valid")
    budget.take(count * stride, where)
    source = _source_bytes(ext, buffers, where)
    try:
        if mode == "ATTRIBUTES":
            decoded = meshoptimizer.decode_vertex_buffer(count, stride, source).view(np.uint8)
            decoded = _unfilter(meshoptimizer, filt, decoded, count, stride)
        elif mode == "TRIANGLES":
            decoded = _narrow(meshoptimizer.decode_index_buffer(count, stride, source), stride)
        else:
            decoded = _narrow(meshoptimizer.decode_index_sequence(count, stride, source), stride)
    except (RuntimeError, ValueError) as exc:
        raise InvalidInput(f"{where}: corrupt compressed data ({exc})") from None
    return bytes(np.ascontiguousarray(decoded).view(np.uint8).reshape(-1))


def _source_bytes(ext: dict[str, Any], buffers: list[Buffer], where: str) -> bytes:
    index = ext.get("buffer")
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise InvalidInput(f"{where}: buffer {index!r} does not exist")
    start, length = int(ext.get("byteOffset", 0)), int(ext.get("byteLength", 0))
    if start < 0 or length < 1 or start + length > len(buffers[index]):
        raise InvalidInput(f"{where}: its compressed bytes lie outside buffers[{index}]")
    return bytes(buffers[index][start:start + length])


def _unfilter(lib: Any, filt: str, data: NDArray[np.uint8], count: int,
              stride: int) -> NDArray[np.uint8]:
    if filt == "NONE":
        return data
    decode = {"OCTAHEDRAL": lib.decode_filter_oct, "QUATERNION": lib.decode_filter_quat,
              "EXPONENTIAL": lib.decode_filter_exp}[filt]
    out: NDArray[np.uint8] = decode(data, count, stride)
    return out


def _narrow(indices: NDArray[np.uint32], size: int) -> NDArray[Any]:
    if size not in (2, 4):
        raise ValueError(f"index byteStride {size} is neither 2 nor 4")
    return indices.astype(np.uint16 if size == 2 else np.uint32)


def decode_draco_primitives(doc: dict[str, Any], view_bytes: Any) -> dict[int, NDArray[Any]]:
    """Dense data for every accessor a Draco primitive uses (accessor → array of its type);
    the extension dropped from the primitives and the document. ``view_bytes(index)`` gives
    a buffer view's bytes (checked to lie inside its buffer)."""
    replaced: dict[int, NDArray[Any]] = {}
    budget = _Budget()
    for m, mesh in enumerate(doc.get("meshes", [])):
        for p, prim in enumerate(mesh.get("primitives", [])):
            ext = prim.get("extensions", {}).get(DRACO)
            if not isinstance(ext, dict):
                continue
            where = f"meshes[{m}].primitives[{p}] ({DRACO})"
            replaced.update(_decode_draco(doc, prim, ext, view_bytes, budget, where))
            _drop_extension(prim, DRACO)
    _drop_used(doc, DRACO)
    return replaced


def _decode_draco(doc: dict[str, Any], prim: dict[str, Any], ext: dict[str, Any],
                  view_bytes: Any, budget: _Budget, where: str) -> dict[int, NDArray[Any]]:
    import DracoPy

    accessors = doc.get("accessors", [])
    for acc in [prim.get("indices"), *prim.get("attributes", {}).values()]:
        if isinstance(acc, int) and 0 <= acc < len(accessors):
            a = accessors[acc]
            budget.take(int(a.get("count", 0)) * _COMPONENTS.get(a.get("type"), 16) * 4, where)
    try:
        mesh = DracoPy.decode(bytes(view_bytes(ext.get("bufferView"))))
    except Exception as exc:  # DracoPy raises plain Exception subclasses for bad data
        raise InvalidInput(f"{where}: corrupt Draco data ({exc})") from None
    out: dict[int, NDArray[Any]] = {}
    for semantic, uid in sorted(ext.get("attributes", {}).items()):
        acc = prim["attributes"].get(semantic)
        attribute = mesh.get_attribute_by_unique_id(int(uid))
        if acc is None or attribute is None:
            raise InvalidInput(f"{where}: attribute {semantic} (Draco id {uid}) is missing")
        out[int(acc)] = _as_accessor(np.asarray(attribute["data"]), accessors[acc], where)
    if "indices" in prim:
        faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), np.uint32).reshape(-1, 1)
        out[int(prim["indices"])] = _as_accessor(faces, accessors[prim["indices"]], where)
    return out


def _as_accessor(data: NDArray[Any], acc: dict[str, Any], where: str) -> NDArray[Any]:
    """``data`` in the accessor's declared type and count (normalized integers rescaled)."""
    dtype = np.dtype(_DTYPES.get(int(acc.get("componentType", 5126)), "<f4"))
    comps = _COMPONENTS.get(str(acc.get("type")), 0)
    data = data.reshape(len(data), -1)
    if data.shape != (int(acc.get("count", -1)), comps):
        raise InvalidInput(f"{where}: decoded {data.shape[0]} × {data.shape[1]} values, the "
                           f"accessor says {acc.get('count')} × {comps}")
    if data.dtype.kind == "f" and dtype.kind in "iu" and acc.get("normalized"):
        data = np.rint(data * np.iinfo(dtype).max)
    return np.ascontiguousarray(data.astype(dtype))


def _drop_extension(obj: dict[str, Any], name: str) -> None:
    extensions = obj.get("extensions", {})
    extensions.pop(name, None)
    if not extensions:
        obj.pop("extensions", None)


def _drop_used(doc: dict[str, Any], name: str) -> None:
    for key in ("extensionsUsed", "extensionsRequired"):
        if name in doc.get(key, []):
            doc[key] = [e for e in doc[key] if e != name]
            if not doc[key]:
                del doc[key]
