"""Real-world models (§10.2, §11): what real tools write survives processing at every tier.

The corpus is made here (tests/assets/corpus.py): hand-built glTF for each feature game
models use, models written by trimesh and by the project's own glTF writer, ``.gltf`` with
its buffer and images in files, Draco and meshopt compressed inputs. Every output is checked
by the Khronos glTF-Validator (0 errors) and read back by the independent reader in
``corpus``; trimesh imports it as a second, independent importer.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import DracoPy  # type: ignore[import-untyped]
import meshoptimizer  # type: ignore[import-untyped]
import numpy as np
import pytest
import trimesh  # type: ignore[import-untyped]

from pacai_export.assets.models import External, model_triangles, process_model
from pacai_export.demo import example_manifest
from pacai_export.engines.gltf import scene_glb
from pacai_export.errors import InvalidInput
from pacai_export.manifest import parse_manifest
from pacai_export.settings import Limits
from tests.assets import corpus
from tests.assets.corpus import BYTE, FLOAT, SHORT, UINT, USHORT, Builder
from tests.assets.sample_models import MAX_PIXELS, TIERS, character, flat_rock, kit_prop, unity_rock
from tests.helpers import validate_gltf


def process_all(src: Path, out: Path, externals: dict[str, External] | None = None
                ) -> dict[str, Path]:
    """``src`` processed at every tier, each output validated with 0 errors."""
    done = {q: process_model(src, out / q, quality=q, max_pixels=MAX_PIXELS,
                             externals=externals).path for q in TIERS}
    reports = validate_gltf(list(done.values()))
    for report in reports:
        assert report["errors"] == 0, report["messages"]
    for path in done.values():  # a second, independent importer reads every output
        assert len(trimesh.load(path, force="scene").geometry) >= 1
    return done


# --- the character: skin, animation, morph targets, every material feature -----------------


@pytest.fixture(scope="module")
def character_tiers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Builder, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("character")
    b = character()
    (folder / "character.glb").write_bytes(b.glb())
    (source,) = validate_gltf([folder / "character.glb"])
    assert source["errors"] == 0, source["messages"]
    return b, process_all(folder / "character.glb", folder / "out")


@pytest.mark.parametrize("quality", TIERS)
def test_skin_animation_and_morph_targets_survive(
        character_tiers: tuple[Builder, dict[str, Path]], quality: str) -> None:
    b, outputs = character_tiers
    doc, binary = corpus.read_glb(outputs[quality])
    src, src_bin = b.doc, bytes(b.binary)
    # Skinned, morphed body: not simplified, every vertex's joints and weights intact.
    body, src_body = doc["meshes"][0]["primitives"][0], src["meshes"][0]["primitives"][0]
    assert sorted(body["attributes"]) == sorted(src_body["attributes"])
    for name in ("POSITION", "TEXCOORD_0", "TEXCOORD_1", "COLOR_0", "JOINTS_0", "WEIGHTS_0"):
        np.testing.assert_array_equal(
            corpus.accessor(doc, binary, body["attributes"][name]),
            corpus.accessor(src, src_bin, src_body["attributes"][name]), err_msg=name)
    np.testing.assert_array_equal(corpus.accessor(doc, binary, body["indices"]),
                                  corpus.accessor(src, src_bin, src_body["indices"]))
    np.testing.assert_array_equal(  # the sparse morph target, read back value for value
        corpus.accessor(doc, binary, body["targets"][0]["POSITION"]),
        corpus.accessor(src, src_bin, src_body["targets"][0]["POSITION"]))
    assert doc["meshes"][0]["weights"] == [0.0]
    assert doc["skins"] == src["skins"] or _same_skin(doc, binary, src, src_bin)
    assert [n.get("name") for n in doc["nodes"]] == ["body", "hips", "spine", "rock"]
    (anim,), (src_anim,) = doc["animations"], src["animations"]
    assert anim["channels"] == src_anim["channels"]
    for sampler, src_sampler in zip(anim["samplers"], src_anim["samplers"], strict=True):
        assert sampler["interpolation"] == "LINEAR"
        for part in ("input", "output"):
            np.testing.assert_array_equal(corpus.accessor(doc, binary, sampler[part]),
                                          corpus.accessor(src, src_bin, src_sampler[part]))


def _same_skin(doc: dict[str, Any], binary: bytes, src: dict[str, Any], src_bin: bytes) -> bool:
    (skin,), (src_skin,) = doc["skins"], src["skins"]
    same_ibm = np.array_equal(corpus.accessor(doc, binary, skin["inverseBindMatrices"]),
                              corpus.accessor(src, src_bin, src_skin["inverseBindMatrices"]))
    return bool(same_ibm and skin["joints"] == src_skin["joints"]
                and skin["skeleton"] == src_skin["skeleton"])


@pytest.mark.parametrize("quality", TIERS)
def test_material_features_survive(character_tiers: tuple[Builder, dict[str, Path]],
                                   quality: str) -> None:
    b, outputs = character_tiers
    doc, binary = corpus.read_glb(outputs[quality])
    assert doc["materials"] == b.doc["materials"]  # transform, emissive strength, unlit, alpha
    assert set(doc["extensionsUsed"]) == {
        "KHR_texture_transform", "KHR_materials_emissive_strength", "KHR_materials_unlit",
        "KHR_mesh_quantization"}
    assert doc["extensionsRequired"] == ["KHR_mesh_quantization"]
    assert corpus.image_size(corpus.image_bytes(doc, binary, 0)) == (64, 64)


def test_quantized_prop_is_simplified_per_tier_and_stays_quantized(
        character_tiers: tuple[Builder, dict[str, Path]]) -> None:
    _b, outputs = character_tiers
    kept = {}
    for quality, path in outputs.items():
        doc, binary = corpus.read_glb(path)
        prim = doc["meshes"][1]["primitives"][0]
        position = doc["accessors"][prim["attributes"]["POSITION"]]
        uv = doc["accessors"][prim["attributes"]["TEXCOORD_0"]]
        assert (position["componentType"], uv["componentType"], uv["normalized"]) == (
            SHORT, USHORT, True)
        values = corpus.accessor(doc, binary, prim["attributes"]["POSITION"])
        assert position["min"] == values.min(0).tolist()
        assert position["max"] == values.max(0).tolist()
        kept[quality] = doc["accessors"][prim["indices"]]["count"] // 3
    source = 40 * 40 * 2
    assert kept["high"] == source
    assert kept["low"] < kept["medium"] < source
    assert kept["medium"] <= source // 2 + 2 and kept["low"] <= source // 4 + 2


def test_processed_models_report_their_triangles(
        character_tiers: tuple[Builder, dict[str, Path]]) -> None:
    _, outputs = character_tiers
    body = 12 * 12 * 2  # skinned: kept whole
    reported = {q: model_triangles(p) for q, p in outputs.items()}
    assert {q: r[0] for q, r in reported.items()} == dict.fromkeys(TIERS, body + 3200)
    for quality, path in outputs.items():
        assert reported[quality][1] == corpus.triangles(corpus.read_glb(path)[0])
    assert reported["high"][1] == body + 3200
    assert reported["low"][1] < reported["medium"][1] < reported["high"][1]


# --- .gltf with files beside it ------------------------------------------------------------


def test_gltf_with_external_buffer_and_image(tmp_path: Path) -> None:
    (tmp_path / "Textures").mkdir()
    (tmp_path / "Textures" / "colormap.png").write_bytes(corpus.png(1500, 700))
    src = kit_prop(tmp_path, "barrel", "Textures/colormap.png")
    # The writer named the .bin with a percent-encoded space: the file has a real space.
    (tmp_path / "barrel%20data.bin").rename(tmp_path / "barrel data.bin")
    externals = {"barrel%20data.bin": External(tmp_path / "barrel data.bin"),
                 "Textures/colormap.png": External(tmp_path / "Textures" / "colormap.png")}
    outputs = process_all(src, tmp_path / "out", externals)
    for quality, cap in zip(TIERS, (512, 1024, 1500), strict=True):
        doc, binary = corpus.read_glb(outputs[quality])
        assert "uri" not in doc["images"][0] and doc["images"][0]["mimeType"] == "image/png"
        assert max(corpus.image_size(corpus.image_bytes(doc, binary, 0))) == cap
        assert [set(b) for b in doc["buffers"]] == [{"byteLength"}]  # one buffer, embedded


def test_an_already_processed_external_image_is_embedded_as_it_is(tmp_path: Path) -> None:
    image = corpus.png(40, 30)
    (tmp_path / "shared.png").write_bytes(image)
    src = tmp_path / "prop.glb"
    b = Builder()
    positions, _uvs, faces = corpus.grid(4)
    b.add("images", {"uri": "shared.png"})
    b.add("meshes", {"primitives": [{
        "attributes": {"POSITION": b.accessor(positions, FLOAT, bounds=True)},
        "indices": b.accessor(faces.reshape(-1, 1), USHORT, target=34963)}]})
    src.write_bytes(b.glb())
    out = process_model(src, tmp_path / "out", quality="low", max_pixels=MAX_PIXELS,
                        externals={"shared.png": External(tmp_path / "shared.png", True)})
    doc, binary = corpus.read_glb(out.path)
    assert corpus.image_bytes(doc, binary, 0) == image


# --- images as real encoders write them ----------------------------------------------------


def test_trimesh_padded_png_is_accepted_at_every_tier(tmp_path: Path) -> None:
    """trimesh pads every bufferView to 4 bytes and counts the padding in byteLength."""
    from PIL import Image

    texture = Image.open(io.BytesIO(corpus.png(301, 203)))  # 4-byte padding likely
    mesh = trimesh.creation.cylinder(radius=0.5, height=1.0, sections=64)
    uv = np.stack([np.arctan2(mesh.vertices[:, 2], mesh.vertices[:, 0]) / (2 * np.pi) + 0.5,
                   mesh.vertices[:, 1] + 0.5], -1)
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, image=texture)
    src = tmp_path / "trimesh.glb"
    src.write_bytes(trimesh.Scene([mesh]).export(file_type="glb"))
    doc, binary = corpus.read_glb(src)
    embedded = corpus.image_bytes(doc, binary, 0)
    assert not embedded.endswith(b"IEND\xaeB`\x82")  # the padding this test is about
    assert embedded.rstrip(b"\0").endswith(b"IEND\xaeB`\x82")
    outputs = process_all(src, tmp_path / "out")
    doc, binary = corpus.read_glb(outputs["high"])
    assert corpus.image_size(corpus.image_bytes(doc, binary, 0)) == (301, 203)


def test_trimesh_gltf_with_files(tmp_path: Path) -> None:
    mesh = trimesh.creation.icosphere(subdivisions=4)
    files = trimesh.Scene([mesh]).export(file_type="gltf")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    src = tmp_path / "model.gltf"
    externals = {n: External(tmp_path / n) for n in files if n != "model.gltf"}
    assert externals  # trimesh wrote the buffer as a file
    outputs = process_all(src, tmp_path / "out", externals)
    before, after = model_triangles(outputs["low"])
    assert before == len(mesh.faces) and after <= before // 4 + 2


def _image_model(tmp_path: Path, image: bytes, name: str) -> Path:
    b = Builder()
    positions, _, faces = corpus.grid(2)
    b.add("images", {"bufferView": b.view(image), "mimeType": "image/png"
                     if image[:4] == b"\x89PNG" else "image/jpeg"})
    b.add("meshes", {"primitives": [{
        "attributes": {"POSITION": b.accessor(positions, FLOAT, bounds=True)},
        "indices": b.accessor(faces.reshape(-1, 1), USHORT, target=34963)}]})
    path = tmp_path / name
    path.write_bytes(b.glb())
    return path


def test_padding_after_jpeg_eoi_is_accepted(tmp_path: Path) -> None:
    image = corpus.jpeg(100, 60) + b"\0\0\0"
    out = process_model(_image_model(tmp_path, image, "jpeg.glb"), tmp_path / "out",
                        quality="low", max_pixels=MAX_PIXELS)
    doc, binary = corpus.read_glb(out.path)
    assert corpus.image_size(corpus.image_bytes(doc, binary, 0)) == (100, 60)


@pytest.mark.parametrize(("cut", "message"), [
    (lambda d: d[:-40] + b"\0\0\0",
     "truncated PNG (it does not end with an IEND chunk)"),
    (lambda d: d[:len(d) // 2] + d[-12:],  # IEND kept, half the image data gone
     "corrupt PNG data"),
])
def test_truly_truncated_images_are_still_refused(tmp_path: Path, cut: Any,
                                                  message: str) -> None:
    path = _image_model(tmp_path, cut(corpus.png(200, 100)), "cut.glb")
    with pytest.raises(InvalidInput) as caught:
        process_model(path, tmp_path / "out", quality="low", max_pixels=MAX_PIXELS)
    assert str(caught.value).startswith(f"cut.glb: images[0]: {message}")


# --- compressed inputs ---------------------------------------------------------------------


def test_draco_compressed_model_is_decoded(tmp_path: Path) -> None:
    positions, uvs, faces = corpus.grid(20)
    encoded = DracoPy.encode(positions, faces, quantization_bits=16, preserve_order=True,
                             tex_coord=uvs.astype(np.float64))
    decoded = DracoPy.decode(encoded)
    # The ids the encoder gave each attribute (Draco's POSITION is type 0, TEX_COORD 3).
    ids = {a["attribute_type"]: a["unique_id"] for a in
           (decoded.get_attribute_by_unique_id(i) for i in range(2))}
    b = Builder()
    view = b.view(encoded)
    b.use("KHR_draco_mesh_compression", required=True)
    b.add("accessors", {"componentType": FLOAT, "count": len(positions), "type": "VEC3",
                        "min": positions.min(0).tolist(), "max": positions.max(0).tolist()})
    b.add("accessors", {"componentType": FLOAT, "count": len(uvs), "type": "VEC2"})
    b.add("accessors", {"componentType": USHORT, "count": faces.size, "type": "SCALAR"})
    b.add("meshes", {"primitives": [{
        "attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2,
        "extensions": {"KHR_draco_mesh_compression": {
            "bufferView": view, "attributes": {"POSITION": ids[0], "TEXCOORD_0": ids[3]}}}}]})
    b.add("nodes", {"mesh": 0})
    (tmp_path / "draco.glb").write_bytes(b.glb())
    outputs = process_all(tmp_path / "draco.glb", tmp_path / "out")
    for path in outputs.values():
        doc, _ = corpus.read_glb(path)
        assert "KHR_draco_mesh_compression" not in path.read_bytes().decode("latin-1")
        assert "extensionsUsed" not in doc and "extensions" not in doc["meshes"][0][
            "primitives"][0]
    doc, binary = corpus.read_glb(outputs["high"])
    prim = doc["meshes"][0]["primitives"][0]
    np.testing.assert_array_equal(corpus.accessor(doc, binary, prim["attributes"]["POSITION"]),
                                  np.asarray(decoded.points, np.float32))
    np.testing.assert_array_equal(corpus.accessor(doc, binary, prim["indices"])[:, 0],
                                  faces.reshape(-1))


def test_meshopt_compressed_model_is_decoded(tmp_path: Path) -> None:
    positions, uvs, faces = corpus.grid(20)
    b = Builder()
    vertices = np.concatenate([positions, uvs], 1).astype(np.float32)  # interleaved, 20 bytes
    indices = faces.reshape(-1).astype(np.uint32)
    packed_v = meshoptimizer.encode_vertex_buffer(vertices, len(vertices), 20)
    packed_i = meshoptimizer.encode_index_buffer(indices, len(indices), len(vertices))
    compressed = [b.view(packed_v), b.view(packed_i)]
    b.use("EXT_meshopt_compression", required=True)
    views = b.doc["bufferViews"]
    offsets = [views[i]["byteOffset"] for i in compressed]
    lengths = [views[i]["byteLength"] for i in compressed]
    b.doc["bufferViews"] = [
        {"buffer": 1, "byteOffset": 0, "byteLength": vertices.nbytes, "byteStride": 20,
         "target": 34962, "extensions": {"EXT_meshopt_compression": {
             "buffer": 0, "byteOffset": offsets[0], "byteLength": lengths[0],
             "byteStride": 20, "count": len(vertices), "mode": "ATTRIBUTES"}}},
        {"buffer": 1, "byteOffset": vertices.nbytes, "byteLength": indices.nbytes,
         "target": 34963, "extensions": {"EXT_meshopt_compression": {
             "buffer": 0, "byteOffset": offsets[1], "byteLength": lengths[1],
             "byteStride": 4, "count": len(indices), "mode": "TRIANGLES"}}}]
    b.doc["accessors"] = [
        {"bufferView": 0, "componentType": FLOAT, "count": len(vertices), "type": "VEC3",
         "min": positions.min(0).tolist(), "max": positions.max(0).tolist()},
        {"bufferView": 0, "byteOffset": 12, "componentType": FLOAT, "count": len(vertices),
         "type": "VEC2"},
        {"bufferView": 1, "componentType": UINT, "count": len(indices), "type": "SCALAR"}]
    b.add("meshes", {"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1},
                                     "indices": 2}]})
    b.add("nodes", {"mesh": 0})
    doc = dict(b.doc, buffers=[
        {"byteLength": len(b.binary)},
        {"byteLength": vertices.nbytes + indices.nbytes,
         "extensions": {"EXT_meshopt_compression": {"fallback": True}}}])
    (tmp_path / "meshopt.glb").write_bytes(corpus.encode_glb(doc, bytes(b.binary)))
    outputs = process_all(tmp_path / "meshopt.glb", tmp_path / "out")
    for path in outputs.values():
        assert b"EXT_meshopt_compression" not in path.read_bytes()
    doc, binary = corpus.read_glb(outputs["high"])
    prim = doc["meshes"][0]["primitives"][0]
    np.testing.assert_array_equal(corpus.accessor(doc, binary, prim["attributes"]["POSITION"]),
                                  positions)
    np.testing.assert_array_equal(
        corpus.accessor(doc, binary, prim["attributes"]["TEXCOORD_0"]), uvs)
    # The index codec may rotate a triangle's corners (winding kept): compare canonically.
    np.testing.assert_array_equal(
        _canonical(corpus.accessor(doc, binary, prim["indices"]).reshape(-1, 3)),
        _canonical(indices.reshape(-1, 3)))


def _canonical(triangles: np.ndarray) -> np.ndarray:
    """Each triangle rotated to start at its smallest index (winding kept)."""
    first = triangles.argmin(1)
    rows = np.arange(len(triangles))[:, None]
    return triangles[rows, (first[:, None] + np.arange(3)) % 3]


def test_corrupt_draco_data_names_the_primitive(tmp_path: Path) -> None:
    b = Builder()
    view = b.view(b"DRACO" + bytes(64))
    b.use("KHR_draco_mesh_compression", required=True)
    b.add("accessors", {"componentType": FLOAT, "count": 3, "type": "VEC3",
                        "min": [0, 0, 0], "max": [1, 1, 1]})
    b.add("meshes", {"primitives": [{"attributes": {"POSITION": 0}, "extensions": {
        "KHR_draco_mesh_compression": {"bufferView": view, "attributes": {"POSITION": 0}}}}]})
    (tmp_path / "bad.glb").write_bytes(b.glb())
    with pytest.raises(InvalidInput) as caught:
        process_model(tmp_path / "bad.glb", tmp_path / "out", quality="low",
                      max_pixels=MAX_PIXELS)
    assert str(caught.value).startswith(
        "bad.glb: meshes[0].primitives[0] (KHR_draco_mesh_compression): corrupt Draco data (")


# --- the project's own glTF writer ---------------------------------------------------------


def test_the_projects_own_scene_glb_survives(tmp_path: Path) -> None:
    manifest = parse_manifest(example_manifest(), Limits())
    src = tmp_path / "scene.glb"
    src.write_bytes(scene_glb(manifest, manifest.scenes[0]))
    outputs = process_all(src, tmp_path / "out")
    source_doc, _ = corpus.read_glb(src)
    for path in outputs.values():
        doc, _ = corpus.read_glb(path)
        assert [n.get("name") for n in doc["nodes"]] == [
            n.get("name") for n in source_doc["nodes"]]
        assert doc.get("extensionsUsed") == source_doc.get("extensionsUsed")


def test_sparse_positions_of_a_simplified_prop_are_applied(tmp_path: Path) -> None:
    """A sparse accessor on a mesh that is simplified: the output is dense and every vertex
    it keeps is a source vertex with the sparse values applied."""
    positions, _, faces = corpus.grid(30)
    b = Builder()
    base = b.view(positions.tobytes(), 34962)
    moved = np.arange(0, len(positions), 5, dtype=np.uint16)
    dense = positions.copy()
    dense[moved, 1] += 0.02
    sparse = {"count": len(moved),
              "indices": {"bufferView": b.view(moved.tobytes()), "componentType": USHORT},
              "values": {"bufferView": b.view(dense[moved].tobytes())}}
    b.add("accessors", {"bufferView": base, "componentType": FLOAT, "count": len(positions),
                        "type": "VEC3", "sparse": sparse, "min": dense.min(0).tolist(),
                        "max": dense.max(0).tolist()})
    b.add("meshes", {"primitives": [{
        "attributes": {"POSITION": 0},
        "indices": b.accessor(faces.reshape(-1, 1), USHORT, target=34963)}]})
    b.add("nodes", {"mesh": 0})
    (tmp_path / "sparse.glb").write_bytes(b.glb())
    outputs = process_all(tmp_path / "sparse.glb", tmp_path / "out")
    doc, binary = corpus.read_glb(outputs["high"])
    assert "sparse" in doc["accessors"][0]
    np.testing.assert_array_equal(corpus.accessor(doc, binary, 0), dense)
    doc, binary = corpus.read_glb(outputs["low"])
    prim = doc["meshes"][0]["primitives"][0]
    kept = corpus.accessor(doc, binary, prim["attributes"]["POSITION"])
    assert "sparse" not in doc["accessors"][prim["attributes"]["POSITION"]]
    source_rows = {tuple(row) for row in dense.tolist()}
    assert all(tuple(row) in source_rows for row in kept.tolist())
    assert any(tuple(row) in {tuple(r) for r in dense[moved].tolist()} for row in kept.tolist())


def test_meshopt_octahedral_normals_are_unfiltered(tmp_path: Path) -> None:
    """An OCTAHEDRAL-filtered normal stream (8-bit, KHR_mesh_quantization): decoded and
    unfiltered into unit normals, the filter's encoding gone."""
    positions, _, faces = corpus.grid(4)
    n = len(positions)
    # Octahedral encoding per the extension: (x, y) over "one" = 127 in the third byte.
    # x = 64/127, y = 0 unfolds to the unit vector (0.713, 0, 0.702).
    encoded = np.tile(np.array([64, 0, 127, 0], np.int8), (n, 1))
    b = Builder()
    compressed = b.view(meshoptimizer.encode_vertex_buffer(encoded.view(np.uint8), n, 4))
    src = b.doc["bufferViews"][compressed]
    b.doc["bufferViews"] = [{
        "buffer": 1, "byteLength": 4 * n, "byteStride": 4, "target": 34962,
        "extensions": {"EXT_meshopt_compression": {
            "buffer": 0, "byteOffset": src["byteOffset"], "byteLength": src["byteLength"],
            "byteStride": 4, "count": n, "mode": "ATTRIBUTES", "filter": "OCTAHEDRAL"}}}]
    b.add("accessors", {"bufferView": 0, "componentType": 5120, "normalized": True,
                        "count": n, "type": "VEC3"})
    attributes = {"NORMAL": 0, "POSITION": b.accessor(positions, FLOAT, bounds=True)}
    b.add("meshes", {"primitives": [{"attributes": attributes, "indices": b.accessor(
        faces.reshape(-1, 1), USHORT, target=34963)}]})
    b.add("nodes", {"mesh": 0})
    b.use("EXT_meshopt_compression", required=True)
    b.use("KHR_mesh_quantization", required=True)
    doc = dict(b.doc, buffers=[
        {"byteLength": len(b.binary)},
        {"byteLength": 4 * n, "extensions": {"EXT_meshopt_compression": {"fallback": True}}}])
    (tmp_path / "oct.glb").write_bytes(corpus.encode_glb(doc, bytes(b.binary)))
    outputs = process_all(tmp_path / "oct.glb", tmp_path / "out")
    out, binary = corpus.read_glb(outputs["high"])
    assert out["extensionsRequired"] == ["KHR_mesh_quantization"]
    normals = corpus.accessor(out, binary, out["meshes"][0]["primitives"][0]["attributes"][
        "NORMAL"]).astype(np.float64) / 127
    np.testing.assert_allclose(normals, np.tile([0.713, 0.0, 0.702], (n, 1)), atol=0.01)


# --- flat-shaded low-poly props: the tiers differ ------------------------------------------


def rock_without_normals() -> Any:
    """The same rock with no NORMAL: glTF viewers compute flat normals for it."""
    rock = flat_rock()
    return trimesh.Trimesh(rock.vertices, rock.faces, process=False)


def palette_tree() -> Any:
    """A low-poly tree textured from a palette, as the Kenney kits are: a 12-sided trunk and
    a lumpy crown, flat-shaded, each region's faces on one texel (brown trunk, two greens)."""
    rng = np.random.default_rng(3)
    trunk = trimesh.creation.cylinder(radius=0.15, height=1.0, sections=12)
    trunk.apply_translation([0, 0, 0.5])
    crown = trimesh.creation.icosphere(subdivisions=2, radius=0.7)
    crown.vertices *= 1 + 0.1 * rng.standard_normal((len(crown.vertices), 1))
    crown.apply_translation([0, 0, 1.5])
    both = trimesh.util.concatenate([trunk, crown])
    tree = trimesh.Trimesh(both.vertices, both.faces, process=False)
    tree.unmerge_vertices()
    uv = np.zeros((len(tree.vertices), 2))
    for f, face in enumerate(tree.faces):
        top = tree.vertices[face].mean(0)[2] > 1.5
        uv[face] = [0.25, 0.5] if f < len(trunk.faces) else [0.75, 0.25 if top else 0.75]
    from PIL import Image
    tree.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.new("RGB", (4, 4)))
    _ = tree.vertex_normals
    return tree


@pytest.mark.parametrize("make", [flat_rock, palette_tree, rock_without_normals],
                         ids=["rock", "palette tree", "rock without normals"])
def test_flat_shaded_props_simplify_per_tier(tmp_path: Path, make: Any) -> None:
    """Collapses cross the hard edges (a position-only shadow mesh), the result gets face
    normals again: low < medium < high, the box nearly kept, unit normals, UVs from the
    source's texels only (seams between palette regions are kept)."""
    source = make()
    src = tmp_path / "prop.glb"
    src.write_bytes(source.export(file_type="glb"))
    outputs = process_all(src, tmp_path / "out")
    source_attributes = corpus.read_glb(src)[0]["meshes"][0]["primitives"][0]["attributes"]
    counts = {q: model_triangles(path) for q, path in outputs.items()}
    assert {before for before, _ in counts.values()} == {len(source.faces)}
    assert counts["low"][1] < counts["medium"][1] < counts["high"][1] == len(source.faces)
    assert counts["medium"][1] <= 0.85 * len(source.faces)
    extent = float(np.ptp(source.vertices, axis=0).max())
    for path in outputs.values():
        doc, binary = corpus.read_glb(path)
        prim = doc["meshes"][0]["primitives"][0]
        positions = corpus.accessor(doc, binary, prim["attributes"]["POSITION"])
        assert np.abs(positions.min(0) - source.vertices.min(0)).max() <= 0.05 * extent
        assert np.abs(positions.max(0) - source.vertices.max(0)).max() <= 0.05 * extent
        assert ("NORMAL" in prim["attributes"]) == ("NORMAL" in source_attributes)
        if "NORMAL" not in prim["attributes"]:
            continue
        normals = corpus.accessor(doc, binary, prim["attributes"]["NORMAL"]).astype(np.float64)
        assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
        triangles = corpus.accessor(doc, binary, prim["indices"])[:, 0].reshape(-1, 3)
        corners = positions[triangles].astype(np.float64)
        faces = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        faces /= np.linalg.norm(faces, axis=1)[:, None]
        assert (np.einsum("tcj,tj->tc", normals[triangles], faces) > 0.999).all()  # flat
        if "TEXCOORD_0" in prim["attributes"]:
            uvs = corpus.accessor(doc, binary, prim["attributes"]["TEXCOORD_0"])
            assert {tuple(uv) for uv in uvs} <= {tuple(uv) for uv in
                                                 source.visual.uv.astype(np.float32)}


# --- multi-material flat-shaded props: primitives sharing one vertex buffer ---------------


def open_edges(triangles: list[np.ndarray], positions: np.ndarray) -> int:
    """Edges not shared by exactly two triangles, over every primitive, vertices at the same
    position counted as one (a crack between materials opens such edges)."""
    _, weld = np.unique(positions, axis=0, return_inverse=True)
    faces = weld.reshape(-1)[np.concatenate(triangles)]
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    return int((uses != 2).sum())


@pytest.mark.parametrize("normals", [FLOAT, BYTE, SHORT],
                         ids=["float normals", "byte normals", "short normals"])
def test_multi_material_flat_props_simplify_without_cracks(tmp_path: Path,
                                                           normals: int) -> None:
    """Primitives sharing one vertex buffer are simplified each on the shared shadow mesh,
    the borders between materials locked: low < medium < high, every primitive keeps its
    material and still shares the vertices, no crack opens, normals are face normals again
    in the source's own encoding."""
    src = tmp_path / "rock.glb"
    src.write_bytes(unity_rock(normals).glb())
    source, source_binary = corpus.read_glb(src)
    source_positions = corpus.accessor(source, source_binary, 0)
    source_faces = [corpus.accessor(source, source_binary, p["indices"])[:, 0].reshape(-1, 3)
                    for p in source["meshes"][0]["primitives"]]
    assert open_edges(source_faces, source_positions) == 0  # the source is closed
    outputs = process_all(src, tmp_path / "out")
    counts = {q: model_triangles(path) for q, path in outputs.items()}
    assert counts["low"][1] < counts["medium"][1] < counts["high"][1] == 320
    assert counts["low"][1] <= 0.6 * 320
    extent = float(np.ptp(source_positions, axis=0).max())
    cosine = 0.999 if normals == FLOAT else float(np.cos(np.radians(1.5)))
    for quality, path in outputs.items():
        doc, binary = corpus.read_glb(path)
        prims = doc["meshes"][0]["primitives"]
        assert [p["material"] for p in prims] == [0, 1, 2]
        assert all(p["attributes"] == prims[0]["attributes"] for p in prims)  # still shared
        attributes = prims[0]["attributes"]
        assert doc["accessors"][attributes["NORMAL"]]["componentType"] == normals
        positions = corpus.accessor(doc, binary, attributes["POSITION"]).astype(np.float64)
        assert np.abs(positions.min(0) - source_positions.min(0)).max() <= 0.05 * extent
        assert np.abs(positions.max(0) - source_positions.max(0)).max() <= 0.05 * extent
        triangles = [corpus.accessor(doc, binary, p["indices"])[:, 0].reshape(-1, 3)
                     for p in prims]
        assert all(len(t) for t in triangles), quality
        assert open_edges(triangles, positions) == 0, quality
        stored = corpus.accessor(doc, binary, attributes["NORMAL"]).astype(np.float64)
        unit = stored if normals == FLOAT else stored / np.iinfo(corpus.DTYPES[normals]).max
        assert np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5 if normals == FLOAT
                           else 0.02)
        every = np.concatenate(triangles)
        corners = positions[every]
        faces = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        faces /= np.linalg.norm(faces, axis=1)[:, None]
        unit /= np.linalg.norm(unit, axis=1)[:, None]
        assert (np.einsum("tcj,tj->tc", unit[every], faces) > cosine).all(), quality


def test_flat_props_with_tangents_and_no_normal_map_get_tangents_in_each_face(
        tmp_path: Path) -> None:
    """No material reads TANGENT (no normal map): the prop is simplified like one without,
    and every new face gets a unit tangent in its plane (handedness +1)."""
    src = tmp_path / "rock.glb"
    src.write_bytes(unity_rock(tangents=True).glb())
    outputs = process_all(src, tmp_path / "out")
    assert model_triangles(outputs["low"])[1] < model_triangles(outputs["medium"])[1] < 320
    for path in outputs.values():
        doc, binary = corpus.read_glb(path)
        attributes = doc["meshes"][0]["primitives"][0]["attributes"]
        normals, tangents = (corpus.accessor(doc, binary, attributes[name]).astype(np.float64)
                             for name in ("NORMAL", "TANGENT"))
        assert np.allclose(np.linalg.norm(tangents[:, :3], axis=1), 1.0, atol=1e-5)
        assert np.abs(np.einsum("vj,vj->v", normals, tangents[:, :3])).max() < 1e-5
        assert set(tangents[:, 3]) == {1.0}


def test_flat_props_whose_material_has_a_normal_map_keep_their_tangents(
        tmp_path: Path) -> None:
    """A normal map reads TANGENT, which is not recomputed: the prop stays on the general
    path, whose collapses never cross a hard edge, so no corner gets a normal its tangent
    was not made for (every output normal and tangent pair is one of the source's)."""
    b = unity_rock(tangents=True)
    b.add("images", {"bufferView": b.view(corpus.png(8, 8)), "mimeType": "image/png"})
    b.add("textures", {"source": 0})
    b.doc["materials"][1]["normalTexture"] = {"index": 0}
    src = tmp_path / "rock.glb"
    src.write_bytes(b.glb())
    source, source_binary = corpus.read_glb(src)
    attributes = source["meshes"][0]["primitives"][0]["attributes"]
    pairs = {tuple(row) for row in np.hstack([
        corpus.accessor(source, source_binary, attributes[name]) for name in
        ("NORMAL", "TANGENT")])}
    outputs = process_all(src, tmp_path / "out")
    for path in outputs.values():
        doc, binary = corpus.read_glb(path)
        out = doc["meshes"][0]["primitives"][0]["attributes"]
        kept = np.hstack([corpus.accessor(doc, binary, out[name])
                          for name in ("NORMAL", "TANGENT")])
        assert {tuple(row) for row in kept} <= pairs
    assert model_triangles(outputs["low"])[1] == 320  # every vertex on a hard edge
