"""Hostile asset files, built byte by byte: small files that ask for a lot of memory or time
when decoded naively. Shared by the catalogue tests and ``bench/hostile.py``."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

GLB_JSON, GLB_BIN = 0x4E4F534A, 0x004E4942


def glb(doc_json: bytes, binary: bytes | None = None) -> bytes:
    """A GLB container around a JSON text (taken as given: it may be hostile) and a BIN."""
    doc_json += b" " * (-len(doc_json) % 4)
    chunks = struct.pack("<II", len(doc_json), GLB_JSON) + doc_json
    if binary is not None:
        binary += b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<II", len(binary), GLB_BIN) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks


def _mesh_doc(count: str, extra: str = "") -> bytes:
    """One triangle mesh whose POSITION accessor has no bufferView (zeros) and ``count``
    given as raw JSON text."""
    return (
        '{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0}],'
        '"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],'
        f'"accessors":[{{"componentType":5126,"type":"VEC3","count":{count}}}]{extra}}}'
    ).encode()


def accessor_bomb(count: int = 30_000_000) -> bytes:
    """The issue's 276-byte GLB: 30 million zero vertices, nothing backing them."""
    return glb(_mesh_doc(str(count)))


def accessor_count_literal(literal: str) -> bytes:
    """``count`` as any JSON literal: ``1.5e9``, ``1e400``, ``-1``, ``"3"``."""
    return glb(_mesh_doc(literal))


def deep_gltf_json(depth: int = 100_000) -> bytes:
    """A glTF JSON chunk whose ``extras`` nest ``depth`` arrays deep."""
    return glb(_mesh_doc("3", f',"extras":{"[" * depth}{"]" * depth}'))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def png(width: int, height: int, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A valid PNG of zeros, its rows compressed as they are made (a 512 MiB image is a
    few hundred KB and never held whole). ``colour``: 2 RGB, 6 RGBA."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row_bytes = 1 + width * channels * bit_depth // 8  # filter byte 0, then the pixels
    piece = b"\0" * min(row_bytes, 1 << 20)
    packer = zlib.compressobj(9)
    parts = []
    for _ in range(height):
        left = row_bytes
        while left:
            parts.append(packer.compress(piece[:min(left, len(piece))]))
            left -= min(left, len(piece))
    idat = b"".join(parts) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` by ``height`` with one byte of image data: the classic
    pixel bomb header, refused before any decoding."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0")) + _png_chunk(b"IEND", b""))


def manifest_brackets(count: int = 100_000) -> bytes:
    return b"[" * count


def nested_params(depth: int) -> dict[str, object]:
    """Component params nested ``depth`` objects deep."""
    params: dict[str, object] = {"speed": 1.0}
    for _ in range(depth):
        params = {"p": params}
    return params


# name → (file name, builder): the memory and time bombs the benchmark measures.
MEMORY_BOMBS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "glb_accessor_30M_no_bufferview": ("bomb.glb", accessor_bomb),
    "glb_accessor_count_1.5e9": ("bomb.glb", lambda: accessor_count_literal("1.5e9")),
    "glb_accessor_count_1e400": ("bomb.glb", lambda: accessor_count_literal("1e400")),
    "glb_json_100k_deep": ("bomb.glb", deep_gltf_json),
    "png_16777216x4_rgb8": ("bomb.png", lambda: png(16_777_216, 4)),
    "png_67108864x1_rgba16": ("bomb.png", lambda: png(67_108_864, 1, bit_depth=16, colour=6)),
    "png_100000x100000_header": ("bomb.png", lambda: png_header_only(100_000, 100_000)),
}


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def triangle_soup(vertices: int, seed: int = 7) -> bytes:
    """A valid GLB of ``vertices`` random float positions, not indexed: honest data whose
    welding and simplification need several times its size in memory."""
    import numpy as np

    positions = np.random.default_rng(seed).random((vertices, 3), dtype=np.float32)
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}], "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": vertices,
                       "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 1]}],
        "bufferViews": [{"buffer": 0, "byteLength": positions.nbytes}],
        "buffers": [{"byteLength": positions.nbytes}],
    }
    return glb(json.dumps(doc).encode(), positions.tobytes())
