"""Game models built for the real-model tests: an animated character, a kit prop with its texture,
a rock with regions. Shared by the model, Blender and model-kit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import trimesh  # type: ignore[import-untyped]

from tests.assets import corpus
from tests.assets.corpus import FLOAT, SHORT, UBYTE, USHORT, Builder

TIERS = ("low", "medium", "high")


MAX_PIXELS = 4096 * 4096


def character() -> Builder:
    """A skinned, animated sheet with a sparse morph target, two UV sets, vertex colours,
    and materials using texture transform, emissive strength, unlit and every alpha mode;
    beside it a KHR_mesh_quantization prop big enough to simplify."""
    b = Builder()
    positions, uvs, faces = corpus.grid(12)
    n = len(positions)
    normals = np.tile([0.0, 1.0, 0.0], (n, 1))
    colors = np.tile([255, 128, 64, 255], (n, 1))
    joints = np.tile([0, 1, 0, 0], (n, 1))
    weights = np.stack([1 - uvs[:, 0] * 0.5, uvs[:, 0] * 0.5, 0 * uvs[:, 0], 0 * uvs[:, 0]], -1)
    # Morph target: a sparse POSITION delta on 10 vertices (no bufferView: zeros elsewhere).
    moved = np.arange(0, n, n // 10)[:10].astype(np.uint16)
    delta = np.tile([0.0, 0.25, 0.0], (len(moved), 1)).astype(np.float32)
    target_values = np.zeros((n, 3), np.float32)
    target_values[moved] = delta
    sparse = {"count": len(moved),
              "indices": {"bufferView": b.view(moved.tobytes()), "componentType": USHORT},
              "values": {"bufferView": b.view(delta.tobytes())}}
    morph = b.add("accessors", {"componentType": FLOAT, "count": n, "type": "VEC3",
                                "sparse": sparse, "min": target_values.min(0).tolist(),
                                "max": target_values.max(0).tolist()})
    attributes = {
        "POSITION": b.accessor(positions, FLOAT, bounds=True),
        "NORMAL": b.accessor(normals, FLOAT),
        "TEXCOORD_0": b.accessor(uvs, FLOAT),
        "TEXCOORD_1": b.accessor(uvs[:, ::-1], FLOAT),
        "COLOR_0": b.accessor(colors, UBYTE, normalized=True),
        "JOINTS_0": b.accessor(joints, UBYTE),
        "WEIGHTS_0": b.accessor(weights, FLOAT),
    }
    indices = b.accessor(faces.reshape(-1, 1), USHORT, target=34963)
    b.add("images", {"bufferView": b.view(corpus.png(64, 64)), "mimeType": "image/png"})
    b.add("textures", {"source": 0})
    b.use("KHR_texture_transform", "KHR_materials_emissive_strength", "KHR_materials_unlit")
    b.add("materials", {"name": "skin", "alphaMode": "MASK", "alphaCutoff": 0.3,
                        "doubleSided": True, "emissiveFactor": [1.0, 0.5, 0.0],
                        "extensions": {"KHR_materials_emissive_strength":
                                       {"emissiveStrength": 4.0}},
                        "pbrMetallicRoughness": {"baseColorTexture": {
                            "index": 0, "texCoord": 1, "extensions": {"KHR_texture_transform": {
                                "offset": [0.5, 0.0], "scale": [2.0, 2.0], "rotation": 0.5}}}}})
    b.add("materials", {"name": "glass", "alphaMode": "BLEND",
                        "extensions": {"KHR_materials_unlit": {}},
                        "pbrMetallicRoughness": {"baseColorFactor": [0.2, 0.6, 1.0, 0.4]}})
    b.add("meshes", {"name": "body", "weights": [0.0], "primitives": [{
        "attributes": attributes, "indices": indices, "material": 0,
        "targets": [{"POSITION": morph}]}]})
    _quantized_prop(b)
    _skeleton_and_animation(b)
    return b


def _quantized_prop(b: Builder) -> None:
    """KHR_mesh_quantization: SHORT positions (scaled by the node), USHORT normalized UVs."""
    positions, uvs, faces = corpus.grid(40, size=2.0)
    b.use("KHR_mesh_quantization", required=True)
    b.add("meshes", {"name": "rock", "primitives": [{
        "attributes": {
            "POSITION": b.accessor(np.rint(positions * 10000), SHORT, bounds=True),
            "TEXCOORD_0": b.accessor(np.rint(uvs * 65535), USHORT, normalized=True)},
        "indices": b.accessor(faces.reshape(-1, 1), USHORT, target=34963), "material": 1}]})


def _skeleton_and_animation(b: Builder) -> None:
    ibm = np.stack([np.eye(4), np.eye(4)]).astype(np.float32)
    ibm[1][1, 3] = -1.0  # joint 1 sits 1 m up: its inverse bind moves back down
    ibm_acc = b.accessor(ibm.transpose(0, 2, 1).reshape(2, 16), FLOAT, target=None)
    b.add("nodes", {"name": "body", "mesh": 0, "skin": 0})
    b.add("nodes", {"name": "hips", "children": [2]})
    b.add("nodes", {"name": "spine", "translation": [0.0, 1.0, 0.0]})
    b.add("nodes", {"name": "rock", "mesh": 1, "scale": [1e-4, 1e-4, 1e-4],
                    "translation": [3.0, 0.0, 0.0]})
    b.add("skins", {"joints": [1, 2], "inverseBindMatrices": ibm_acc, "skeleton": 1})
    b.doc["scenes"] = [{"nodes": [0, 1, 3]}]
    b.doc["scene"] = 0
    times = np.array([[0.0], [0.5], [1.0]], np.float32)
    half = np.sqrt(0.5)
    outputs = {
        "translation": (2, np.array([[0, 1, 0], [0, 1.2, 0], [0, 1, 0]], np.float32)),
        "rotation": (2, np.array([[0, 0, 0, 1], [0, 0, half, half], [0, 0, 0, 1]],
                                 np.float32)),
        "scale": (1, np.array([[1, 1, 1], [1.1, 1.1, 1.1], [1, 1, 1]], np.float32)),
        "weights": (0, np.array([[0.0], [1.0], [0.0]], np.float32)),
    }
    channels, samplers = [], []
    time_acc = b.accessor(times, FLOAT, target=None, bounds=True)
    for path, (node, values) in outputs.items():
        samplers.append({"input": time_acc, "output": b.accessor(values, FLOAT, target=None),
                         "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path}})
    b.add("animations", {"name": "idle", "channels": channels, "samplers": samplers})


def kit_prop(folder: Path, name: str, image_uri: str) -> Path:
    """A kit prop as UnityGLTF writes one: JSON, a .bin, and a texture named by a relative
    URI (with a space, percent-encoded)."""
    b = Builder()
    positions, uvs, faces = corpus.grid(30)
    b.add("images", {"uri": image_uri})
    b.add("textures", {"source": 0})
    b.add("materials", {"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}})
    b.add("meshes", {"primitives": [{
        "attributes": {"POSITION": b.accessor(positions, FLOAT, bounds=True),
                       "TEXCOORD_0": b.accessor(uvs, FLOAT)},
        "indices": b.accessor(faces.reshape(-1, 1), USHORT, target=34963), "material": 0}]})
    b.add("nodes", {"name": name, "mesh": 0})
    b.doc.update(scene=0, scenes=[{"nodes": [0]}])
    return b.write_gltf(folder, f"{name}.gltf", f"{name} data.bin".replace(" ", "%20"))


def flat_rock() -> Any:
    """A low-poly rock as kit exporters write one: a lumpy icosphere, every face with its own
    three vertices and face normal (320 triangles, no shared vertex)."""
    rng = np.random.default_rng(7)
    sphere = trimesh.creation.icosphere(subdivisions=2)
    lumps = 1 + 0.15 * rng.standard_normal((len(sphere.vertices), 1))
    rock = trimesh.Trimesh(sphere.vertices * lumps * [1.4, 0.8, 1.0], sphere.faces,
                           process=False)
    rock.unmerge_vertices()
    _ = rock.vertex_normals  # computed, so trimesh writes them (the face normals)
    return rock


REGIONS = ("dirt", "stone", "moss")  # materials, bottom to top


def unity_rock(normals: int = FLOAT, tangents: bool = False) -> Builder:
    """A multi-material low-poly rock as UnityGLTF writes one (``GLTFSceneExporter.
    ExportPrimitive``, Runtime/Scripts/SceneExporter/ExporterMeshes.cs): the Unity mesh's
    vertex arrays become one set of accessors, and each submesh a primitive with its own
    index accessor and material over those same accessors. The mesh is flat-shaded as Unity
    imports one (every face its own three vertices, NORMAL its face normal), UVs a planar
    projection continuous across faces and materials; faces belong to dirt, stone or moss by
    height. ``normals``: FLOAT, or BYTE / SHORT normalized (KHR_mesh_quantization);
    ``tangents``: with the TANGENT UnityGLTF writes when the Unity mesh has tangents."""
    rock = flat_rock()
    vertices = rock.vertices.astype(np.float32)
    uvs = (vertices[:, [0, 2]] - vertices[:, [0, 2]].min(0)) / np.ptp(vertices[:, [0, 2]], 0)
    face_normals = np.repeat(rock.face_normals, 3, axis=0)
    b = Builder()
    attributes = {"POSITION": b.accessor(vertices, FLOAT, bounds=True),
                  "TEXCOORD_0": b.accessor(uvs.astype(np.float32), FLOAT)}
    if normals == FLOAT:
        attributes["NORMAL"] = b.accessor(face_normals.astype(np.float32), FLOAT)
    else:
        scale = np.iinfo(corpus.DTYPES[normals]).max
        attributes["NORMAL"] = b.accessor(np.round(face_normals * scale), normals,
                                          normalized=True)
        b.use("KHR_mesh_quantization", required=True)
    if tangents:  # in each face's plane, handedness +1
        along = np.cross(face_normals, [0.0, 0.0, 1.0]) + np.cross(face_normals, [1e-3, 1, 0])
        along /= np.linalg.norm(along, axis=1)[:, None]
        attributes["TANGENT"] = b.accessor(np.hstack([along, np.ones((len(along), 1))]), FLOAT)
    height = vertices[rock.faces].mean(1)[:, 2]
    region = np.digitize(height, [-0.35, 0.35])
    primitives = []
    for m, name in enumerate(REGIONS):
        b.add("materials", {"name": name, "pbrMetallicRoughness": {
            "baseColorFactor": [0.3 + 0.2 * m, 0.4, 0.2, 1.0]}})
        faces = rock.faces[region == m].reshape(-1, 1)
        primitives.append({"attributes": attributes, "material": m,
                           "indices": b.accessor(faces, USHORT, target=34963)})
    b.add("meshes", {"name": "rock", "primitives": primitives})
    b.add("nodes", {"name": "rock", "mesh": 0})
    b.doc.update(scene=0, scenes=[{"nodes": [0]}])
    return b
