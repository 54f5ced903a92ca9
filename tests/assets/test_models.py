"""Model processing (§11, §13): a numpy-built textured sphere simplified per tier, checked by
the Khronos glTF-Validator and an independent reader written here; hostile containers."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvips  # type: ignore[import-untyped]

from pacai_export.assets.models import process_model
from pacai_export.errors import InvalidInput
from tests.assets.corpus import encode_glb, read_glb
from tests.helpers import validate_gltf

ROOT = Path(__file__).resolve().parents[2]
MAX_PIXELS = 8192 * 8192
RINGS = SEGMENTS = 100  # 2 * 100 * 100 - 200 pole triangles = 19,800 triangles
SOURCE_TRIANGLES = 2 * RINGS * SEGMENTS - 2 * SEGMENTS


def _sphere() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A UV sphere of radius 1: positions, unit normals, UVs (seam duplicated) and indices,
    without the zero-area triangles at the poles."""
    theta, phi = np.meshgrid(np.linspace(0, np.pi, RINGS + 1),
                             np.linspace(0, 2 * np.pi, SEGMENTS + 1), indexing="ij")
    normals = np.stack([np.sin(theta) * np.cos(phi), np.cos(theta),
                        -np.sin(theta) * np.sin(phi)], -1).reshape(-1, 3)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    uvs = np.stack([phi / (2 * np.pi), theta / np.pi], -1).reshape(-1, 2)
    i, j = np.meshgrid(np.arange(RINGS), np.arange(SEGMENTS), indexing="ij")
    a = i * (SEGMENTS + 1) + j
    b, c, d = a + 1, a + SEGMENTS + 1, a + SEGMENTS + 2
    upper = np.stack([a, c, b], -1)[1:].reshape(-1, 3)  # ring 0: a and b are the pole
    lower = np.stack([b, c, d], -1)[:-1].reshape(-1, 3)  # last ring: c and d are the pole
    indices = np.concatenate([upper, lower])
    indices = indices.astype(np.uint16 if len(normals) < 0xFFFF else np.uint32)
    return (normals.astype(np.float32), normals.astype(np.float32), uvs.astype(np.float32),
            indices)


def _texture_png(width: int = 1500, height: int = 750) -> bytes:
    image = pyvips.Image.perlin(width, height, cell_size=64, seed=3) * 100 + 128
    rgb = image.bandjoin([image * 0.5 + 40, 255 - image]).cast("uchar")
    data: bytes = rgb.copy(interpretation="srgb").pngsave_buffer(keep="none")
    return data


def _sphere_gltf() -> tuple[dict[str, Any], bytes]:
    """The glTF JSON and binary buffer of the textured sphere, on a node moved up by 2."""
    positions, normals, uvs, indices = _sphere()
    parts = [positions.tobytes(), normals.tobytes(), uvs.tobytes(), indices.tobytes(),
             _texture_png()]
    views, offset = [], 0
    targets = [34962, 34962, 34962, 34963, None]
    for part, target in zip(parts, targets, strict=True):
        view: dict[str, Any] = {"buffer": 0, "byteOffset": offset, "byteLength": len(part)}
        if target:
            view["target"] = target
        views.append(view)
        offset += len(part) + (-len(part) % 4)
    binary = b"".join(p + b"\0" * (-len(p) % 4) for p in parts)
    doc = {
        "asset": {"version": "2.0", "generator": "tests"},
        "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "ball", "mesh": 0, "translation": [0, 2, 0]}],
        "meshes": [{"name": "sphere", "primitives": [{
            "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2}, "indices": 3,
            "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "textures": [{"source": 0, "sampler": 0}], "samplers": [{}],
        "images": [{"bufferView": 4, "mimeType": "image/png"}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(positions), "type": "VEC3",
             "min": positions.min(0).tolist(), "max": positions.max(0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": len(normals), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5126, "count": len(uvs), "type": "VEC2"},
            {"bufferView": 3, "componentType": 5123 if indices.itemsize == 2 else 5125,
             "count": indices.size, "type": "SCALAR"},
        ],
        "bufferViews": views, "buffers": [{"byteLength": len(binary)}],
    }
    return doc, binary


def _image_size(doc: dict[str, Any], binary: bytes) -> tuple[int, int]:
    view = doc["bufferViews"][doc["images"][0]["bufferView"]]
    png = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height




@pytest.fixture(scope="module")
def sphere_glb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "sphere.glb"
    path.write_bytes(encode_glb(*_sphere_gltf()))
    return path


def test_the_source_model_is_valid(sphere_glb: Path) -> None:
    (report,) = validate_gltf([sphere_glb])
    assert report["errors"] == 0, report["messages"]


@pytest.fixture(scope="module")
def tiers(sphere_glb: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out")
    return {q: process_model(sphere_glb, out / q, quality=q, max_pixels=MAX_PIXELS)
            for q in ("low", "medium", "high")}


@pytest.mark.parametrize(("quality", "share", "image"), [
    ("high", 1.0, (1500, 750)), ("medium", 0.5, (1024, 512)), ("low", 0.25, (512, 256))])
def test_tiers_reduce_triangles_and_images(tiers: dict[str, Any], quality: str, share: float,
                                           image: tuple[int, int]) -> None:
    done = tiers[quality]
    assert done.path.name == "sphere.glb"
    assert done.source_triangles == SOURCE_TRIANGLES
    assert abs(done.triangles - share * SOURCE_TRIANGLES) <= 0.03 * SOURCE_TRIANGLES
    doc, binary = read_glb(done.path)
    indices = doc["accessors"][doc["meshes"][0]["primitives"][0]["indices"]]
    assert indices["count"] == 3 * done.triangles
    assert _image_size(doc, binary) == image
    position = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    # the simplifier may drop an extreme vertex: the box shrinks by at most a little
    assert position["min"] == pytest.approx([-1, -1, -1], abs=0.01)
    assert position["max"] == pytest.approx([1, 1, 1], abs=0.01)
    if share < 1:  # unused vertices dropped
        assert position["count"] < (RINGS + 1) * (SEGMENTS + 1) * share * 1.2


def test_every_output_passes_the_khronos_validator(tiers: dict[str, Any]) -> None:
    reports = validate_gltf([done.path for done in tiers.values()])
    assert len(reports) == 3
    for report in reports:
        assert report["errors"] == 0, report["messages"]
        assert report["warnings"] == 0, report["messages"]


def test_a_node_cycle_is_refused(tmp_path: Path) -> None:
    """A hierarchy that loops (the ball its own grandchild) would hang an importer."""
    doc, binary = _sphere_gltf()
    doc["nodes"] = [{"name": "ball", "mesh": 0, "children": [1]}, {"children": [0]}]
    (tmp_path / "loop.glb").write_bytes(encode_glb(doc, binary))
    with pytest.raises(InvalidInput) as info:
        process_model(tmp_path / "loop.glb", tmp_path / "out", quality="high",
                      max_pixels=MAX_PIXELS)
    assert str(info.value) == "loop.glb: nodes[0] appears twice in the scene hierarchy"


def test_output_is_deterministic(sphere_glb: Path, tiers: dict[str, Any],
                                 tmp_path: Path) -> None:
    again = process_model(sphere_glb, tmp_path, quality="low", max_pixels=MAX_PIXELS)
    assert again.path.read_bytes() == tiers["low"].path.read_bytes()


def test_gltf_with_data_uris_becomes_a_glb(tmp_path: Path) -> None:
    doc, binary = _sphere_gltf()
    doc["buffers"] = [{"byteLength": len(binary), "uri": "data:application/octet-stream;base64,"
                       + base64.b64encode(binary).decode()}]
    src = tmp_path / "ball.gltf"
    src.write_text(json.dumps(doc))
    done = process_model(src, tmp_path / "out", quality="medium", max_pixels=MAX_PIXELS)
    assert done.path.name == "ball.glb"
    (report,) = validate_gltf([done.path])
    assert report["errors"] == 0, report["messages"]


def test_non_indexed_triangles_are_welded_then_simplified(tmp_path: Path) -> None:
    doc, binary = _sphere_gltf()
    positions, normals, uvs, indices = _sphere()
    soup = [a[indices.ravel()] for a in (positions, normals, uvs)]
    parts = [p.tobytes() for p in soup]
    doc["bufferViews"] = [{"buffer": 0, "byteOffset": sum(map(len, parts[:i])),
                           "byteLength": len(p), "target": 34962} for i, p in enumerate(parts)]
    for accessor in doc["accessors"][:3]:
        accessor["count"] = indices.size
    del doc["accessors"][3], doc["meshes"][0]["primitives"][0]["indices"]
    del doc["images"], doc["textures"], doc["samplers"], doc["materials"]
    del doc["meshes"][0]["primitives"][0]["material"]
    binary = b"".join(parts)
    doc["buffers"] = [{"byteLength": len(binary)}]
    src = tmp_path / "soup.glb"
    src.write_bytes(encode_glb(doc, binary))
    done = process_model(src, tmp_path / "out", quality="low", max_pixels=MAX_PIXELS)
    assert abs(done.triangles - 0.25 * SOURCE_TRIANGLES) <= 0.03 * SOURCE_TRIANGLES
    (report,) = validate_gltf([done.path])
    assert report["errors"] == 0, report["messages"]


def test_truncated_glb(sphere_glb: Path, tmp_path: Path) -> None:
    data = sphere_glb.read_bytes()
    (tmp_path / "cut.glb").write_bytes(data[:len(data) // 2])
    with pytest.raises(InvalidInput) as caught:
        process_model(tmp_path / "cut.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)
    assert str(caught.value) == (f"cut.glb: truncated or padded GLB: the header says "
                                 f"{len(data)} bytes, the file has {len(data) // 2}")


def test_json_chunk_length_that_lies(sphere_glb: Path, tmp_path: Path) -> None:
    data = bytearray(sphere_glb.read_bytes())
    (json_len,) = struct.unpack_from("<I", data, 12)
    struct.pack_into("<I", data, 12, len(data))  # longer than the file
    (tmp_path / "long.glb").write_bytes(data)
    with pytest.raises(InvalidInput) as caught:
        process_model(tmp_path / "long.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)
    assert str(caught.value) == (f"long.glb: GLB chunk at byte 12 claims {len(data)} bytes "
                                 f"but only {len(data) - 20} remain")
    # shorter: the next chunk header is read from inside the JSON text and claims too much
    struct.pack_into("<I", data, 12, json_len - 8)
    (tmp_path / "short.glb").write_bytes(data)
    with pytest.raises(InvalidInput, match=f"^short.glb: GLB chunk at byte {12 + json_len} "
                                           "claims [0-9]+ bytes but only"):
        process_model(tmp_path / "short.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)


def test_lying_buffer_views_and_indices(tmp_path: Path) -> None:
    doc, binary = _sphere_gltf()
    doc["accessors"][0]["count"] += 10  # reads past its buffer view
    (tmp_path / "over.glb").write_bytes(encode_glb(doc, binary))
    with pytest.raises(InvalidInput, match=r"^over.glb: accessors\[0\] .* reaches past its "):
        process_model(tmp_path / "over.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)
    doc, binary = _sphere_gltf()
    doc["bufferViews"][4]["byteLength"] += 1000  # the image view leaves the buffer
    (tmp_path / "view.glb").write_bytes(encode_glb(doc, binary))
    with pytest.raises(InvalidInput, match=r"^view.glb: bufferViews\[4\] .* lies outside"):
        process_model(tmp_path / "view.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)
    doc, binary = _sphere_gltf()
    doc["accessors"][0]["count"] -= 100  # indices now point past the vertices
    for accessor in doc["accessors"][1:3]:
        accessor["count"] -= 100
    doc["accessors"][0]["max"] = doc["accessors"][0]["min"] = [0, 0, 0]
    (tmp_path / "index.glb").write_bytes(encode_glb(doc, binary))
    with pytest.raises(InvalidInput, match=r"holds an index beyond the primitive's 10101 "):
        process_model(tmp_path / "index.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)


def test_an_external_file_the_gatherer_did_not_fetch_is_refused(tmp_path: Path) -> None:
    doc, binary = _sphere_gltf()
    doc["images"] = [{"uri": "bark.png"}]
    (tmp_path / "ext.glb").write_bytes(encode_glb(doc, binary))
    (tmp_path / "bark.png").write_bytes(_texture_png(8, 8))  # beside it, but not handed over
    with pytest.raises(InvalidInput) as caught:
        process_model(tmp_path / "ext.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)
    assert str(caught.value) == "ext.glb: images[0]: refers to 'bark.png', which was not fetched"


def test_an_oversized_embedded_image_is_refused(tmp_path: Path) -> None:
    doc, binary = _sphere_gltf()
    (tmp_path / "big.glb").write_bytes(encode_glb(doc, binary))
    with pytest.raises(InvalidInput, match=r"^big.glb: images\[0\]: 1500×750 = 1125000 pixels"):
        process_model(tmp_path / "big.glb", tmp_path / "out", quality="low",
                      max_pixels=1_000_000)
