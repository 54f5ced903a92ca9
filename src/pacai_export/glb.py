"""The GLB container (glTF 2.0 binary): a glTF document and its one buffer as bytes.

Shared by the scene writer (``engines.gltf``) and model processing (``assets.models``), so it
sits below both. Canonical JSON (sorted keys, compact separators, ASCII) padded with spaces,
the binary chunk padded with zeros: the same document gives the same bytes every time.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942


def encode_glb(gltf: dict[str, Any], binary: bytes) -> bytes:
    """A glTF document and its buffer as GLB: canonical JSON (sorted keys, compact, ASCII)
    padded with spaces, the binary chunk padded with zeros — the same bytes every time."""
    head, tail = _glb_frame(gltf, len(binary))
    return head + binary + tail


def write_glb(dest: Path, gltf: dict[str, Any], binary: bytes | bytearray) -> None:
    """``encode_glb`` written to ``dest`` piece by piece: the buffer is never copied."""
    head, tail = _glb_frame(gltf, len(binary))
    with dest.open("wb") as fh:
        fh.write(head)
        fh.write(binary)
        fh.write(tail)


def _glb_frame(gltf: dict[str, Any], binary_length: int) -> tuple[bytes, bytes]:
    """What goes before and after a buffer of ``binary_length`` bytes in its GLB."""
    text = json.dumps(gltf, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")
    text += b" " * (-len(text) % 4)
    head = struct.pack("<II", len(text), CHUNK_JSON) + text
    padding = b"\0" * (-binary_length % 4)
    if binary_length:
        head += struct.pack("<II", binary_length + len(padding), CHUNK_BIN)
    total = 12 + len(head) + (binary_length + len(padding) if binary_length else 0)
    return struct.pack("<III", GLB_MAGIC, 2, total) + head, padding if binary_length else b""
