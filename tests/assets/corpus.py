"""A corpus of real-shaped glTF models the tests make themselves: a small glTF builder for
hand-built JSON (every feature of issue-sized game models), models written by trimesh, and
an independent reader for what the worker writes.

Nothing here imports the worker's model code: the builder and the reader are written
against the glTF 2.0 specification alone.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyvips  # type: ignore[import-untyped]

FLOAT, BYTE, UBYTE, USHORT, SHORT, UINT = 5126, 5120, 5121, 5123, 5122, 5125
TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def png(width: int, height: int, seed: int = 1) -> bytes:
    """A noisy RGB PNG (it does not compress to nothing)."""
    image = pyvips.Image.perlin(width, height, cell_size=16, seed=seed) * 100 + 128
    rgb = image.bandjoin([image * 0.5 + 40, 255 - image]).cast("uchar")
    data: bytes = rgb.copy(interpretation="srgb").pngsave_buffer(keep="none")
    return data


def jpeg(width: int, height: int, seed: int = 1) -> bytes:
    image = pyvips.Image.perlin(width, height, cell_size=16, seed=seed) * 100 + 128
    rgb = image.bandjoin([image * 0.5 + 40, 255 - image]).cast("uchar")
    data: bytes = rgb.copy(interpretation="srgb").jpegsave_buffer(keep="none")
    return data


class Builder:
    """glTF JSON and one binary buffer, built view by view (4-byte aligned)."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {"asset": {"version": "2.0", "generator": "tests"},
                                    "accessors": [], "bufferViews": []}
        self.binary = bytearray()

    def view(self, data: bytes, target: int | None = None, stride: int | None = None) -> int:
        self.binary += b"\0" * (-len(self.binary) % 4)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.binary),
                                "byteLength": len(data)}
        if target:
            view["target"] = target
        if stride:
            view["byteStride"] = stride
        self.binary += data
        self.doc["bufferViews"].append(view)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, data: np.ndarray, component: int, *, target: int | None = 34962,
                 normalized: bool = False, bounds: bool = False) -> int:
        data = np.ascontiguousarray(data.astype(DTYPES[component]))
        rows = data.reshape(len(data), -1)
        element = rows.shape[1] * rows.itemsize
        stride = element + (-element % 4) if target == 34962 else None
        raw = rows.view(np.uint8).reshape(len(rows), -1)
        if stride and stride != element:
            padded = np.zeros((len(rows), stride), np.uint8)
            padded[:, :element] = raw
            raw = padded
        acc: dict[str, Any] = {"bufferView": self.view(raw.tobytes(), target,
                                                       stride if stride != element else None),
                               "componentType": component, "count": len(rows),
                               "type": TYPES[rows.shape[1]]}
        if normalized:
            acc["normalized"] = True
        if bounds:
            acc["min"] = [_num(x) for x in rows.min(0)]
            acc["max"] = [_num(x) for x in rows.max(0)]
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def add(self, key: str, item: dict[str, Any]) -> int:
        self.doc.setdefault(key, []).append(item)
        return len(self.doc[key]) - 1

    def use(self, *extensions: str, required: bool = False) -> None:
        for ext in extensions:
            used = self.doc.setdefault("extensionsUsed", [])
            if ext not in used:
                used.append(ext)
            if required:
                self.doc.setdefault("extensionsRequired", []).append(ext)

    def glb(self) -> bytes:
        doc = dict(self.doc, buffers=[{"byteLength": len(self.binary)}])
        return encode_glb(doc, bytes(self.binary))

    def write_gltf(self, folder: Path, name: str, bin_uri: str) -> Path:
        """``name`` (JSON) with the buffer in ``bin_uri`` beside it."""
        doc = dict(self.doc, buffers=[{"byteLength": len(self.binary), "uri": bin_uri}])
        (folder / bin_uri).parent.mkdir(parents=True, exist_ok=True)
        (folder / bin_uri).write_bytes(bytes(self.binary))
        (folder / name).write_text(json.dumps(doc, indent=1))
        return folder / name


def encode_glb(doc: dict[str, Any], binary: bytes) -> bytes:
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def _num(x: Any) -> float | int:
    return int(x) if isinstance(x, np.integer) else float(x)


def grid(n: int, size: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth, bumpy (n+1)² vertex sheet: positions, UVs, triangle indices."""
    u, v = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1), indexing="ij")
    height = 0.15 * np.sin(u * 6) * np.cos(v * 5)
    positions = np.stack([(u - 0.5) * size, height * size, (v - 0.5) * size], -1).reshape(-1, 3)
    uvs = np.stack([u, v], -1).reshape(-1, 2)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a = i * (n + 1) + j
    quads = np.stack([a, a + 1, a + n + 1, a + 1, a + n + 2, a + n + 1], -1)
    return positions.astype(np.float32), uvs.astype(np.float32), quads.reshape(-1, 3)


# --- the independent reader ---------------------------------------------------------------


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_len, _ = struct.unpack_from("<II", data, 12)
    doc = json.loads(data[20:20 + json_len])
    if 20 + json_len == len(data):
        return doc, b""
    bin_len, _ = struct.unpack_from("<II", data, 20 + json_len)
    return doc, data[28 + json_len:28 + json_len + bin_len]


def accessor(doc: dict[str, Any], binary: bytes, index: int) -> np.ndarray:
    """Accessor ``index`` as a dense (count, components) array, sparse values applied."""
    acc = doc["accessors"][index]
    dtype, comps, count = np.dtype(DTYPES[acc["componentType"]]), COMPONENTS[acc["type"]], \
        acc["count"]
    out = np.zeros((count, comps), dtype)
    if "bufferView" in acc:
        out = _strided(doc, binary, acc["bufferView"], acc.get("byteOffset", 0), count, dtype,
                       comps)
    if "sparse" in acc:
        sparse = acc["sparse"]
        idx_dtype = np.dtype(DTYPES[sparse["indices"]["componentType"]])
        idx = _strided(doc, binary, sparse["indices"]["bufferView"],
                       sparse["indices"].get("byteOffset", 0), sparse["count"], idx_dtype, 1)
        out[idx[:, 0]] = _strided(doc, binary, sparse["values"]["bufferView"],
                                  sparse["values"].get("byteOffset", 0), sparse["count"],
                                  dtype, comps)
    return out


def _strided(doc: dict[str, Any], binary: bytes, view_index: int, offset: int, count: int,
             dtype: np.dtype[Any], comps: int) -> np.ndarray:
    view = doc["bufferViews"][view_index]
    element = dtype.itemsize * comps
    stride = view.get("byteStride", element)
    start = view.get("byteOffset", 0) + offset
    rows = [binary[start + i * stride:start + i * stride + element] for i in range(count)]
    return np.frombuffer(b"".join(rows), dtype).reshape(count, comps).copy()


def image_bytes(doc: dict[str, Any], binary: bytes, index: int) -> bytes:
    view = doc["bufferViews"][doc["images"][index]["bufferView"]]
    return binary[view.get("byteOffset", 0):view.get("byteOffset", 0) + view["byteLength"]]


def image_size(data: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(data, "")
    return int(image.width), int(image.height)


def triangles(doc: dict[str, Any]) -> int:
    total = 0
    for mesh in doc.get("meshes", []):
        for prim in mesh["primitives"]:
            if prim.get("mode", 4) == 4:
                acc = prim.get("indices", prim["attributes"]["POSITION"])
                total += doc["accessors"][acc]["count"] // 3
    return total
