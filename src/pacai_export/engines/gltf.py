"""glTF 2.0 binary (``.glb``) writer for manifest scenes and model placeholders (§11).

Pure and deterministic: the bytes depend on the manifest alone (no clock, no hash seed, no
dict order), built with the standard library only. What a scene becomes:

- one glTF node per manifest node, in manifest order, with ``children`` following ``parent``;
  TRS as in the manifest (the manifest frame *is* glTF's frame) except that rotations are
  re-normalised, since the manifest accepts quaternions up to 1e-3 off unit length and the
  glTF-Validator does not; names are display names, ``extras.id`` is the manifest node id;
- primitives (box, sphere, plane, capsule, cylinder) as triangle meshes with POSITION, NORMAL,
  TEXCOORD_0 and uint16 (uint32 when needed) indices; counter-clockwise front faces, outward
  normals, UVs in [0, 1]; the geometry of each distinct primitive + size is stored once and
  shared by every mesh using it (one glTF mesh per distinct geometry + material);
- manifest materials as PBR metallic-roughness materials (factors only: texture images are not
  available to a pure writer, so textures are left out and named in the material's ``extras``);
- lights through ``KHR_lights_punctual``; perspective and orthographic cameras;
- model nodes (``node.model``) as placeholder boxes sized to the asset's ``bounds`` (1 m cube
  when unknown), the mesh named after the asset.

Binary layout: one buffer; three buffer views — vec3 data (POSITION and NORMAL, stride 12),
vec2 data (TEXCOORD_0, stride 8) and indices — every accessor 4-byte aligned. JSON has sorted
keys and compact separators; chunks are padded to 4 bytes (JSON with spaces, BIN with zeros);
floats are packed as little-endian float32 and POSITION min/max are the float32 values.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from .. import EXPORTER_NAME, __version__
from ..glb import encode_glb
from ..manifest import Asset, Bounds, Camera, Light, Manifest, Material, Mesh, Node, Scene
from .coords import (
    Matrix4,
    bounds_box,
    determinant,
    quat_normalize,
    transform_point,
    transform_vector,
)

SEGMENTS = 24  # around the Y axis (sphere, capsule, cylinder)
SPHERE_RINGS = 12  # pole to pole
CAPSULE_RINGS = 6  # per hemisphere
ORTHO_ASPECT = 16.0 / 9.0  # xmag = ymag * aspect (the manifest only has ymag)

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
FLOAT = 5126
UNSIGNED_SHORT = 5123
UNSIGNED_INT = 5125
TRIANGLES = 4


Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]


# --- geometry -----------------------------------------------------------------------------


class Geometry:
    """An indexed triangle list: positions, unit normals, UVs and indices."""

    def __init__(self) -> None:
        self.positions: list[Vec3] = []
        self.normals: list[Vec3] = []
        self.uvs: list[Vec2] = []
        self.indices: list[int] = []

    def vertex(self, p: Vec3, n: Vec3, uv: Vec2) -> int:
        self.positions.append(p)
        self.normals.append(_unit(n))
        self.uvs.append((_clamp01(uv[0]), _clamp01(uv[1])))
        return len(self.positions) - 1

    def triangle(self, a: int, b: int, c: int) -> None:
        self.indices += (a, b, c)


def _unit(v: Vec3) -> Vec3:
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return (v[0] / n, v[1] / n, v[2] / n)


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))


# Faces of a box: (normal, u axis, v axis) with u x v = normal, so corners taken
# (-,-), (+,-), (+,+), (-,+) are counter-clockwise seen from outside.
_BOX_FACES: tuple[tuple[Vec3, Vec3, Vec3], ...] = (
    ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    ((0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ((0.0, 0.0, -1.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
)
_CORNERS = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))


def box(size: Vec3, center: Vec3 = (0.0, 0.0, 0.0)) -> Geometry:
    """An axis-aligned box of ``size`` around ``center``: 24 vertices, 12 triangles."""
    g = Geometry()
    half = (size[0] / 2, size[1] / 2, size[2] / 2)
    for normal, u, v in _BOX_FACES:
        base = len(g.positions)
        for su, sv in _CORNERS:
            p = tuple(center[k] + half[k] * (normal[k] + su * u[k] + sv * v[k])
                      for k in range(3))
            g.vertex(p, normal, ((su + 1) / 2, (1 - sv) / 2))  # type: ignore[arg-type]
        g.triangle(base, base + 1, base + 2)
        g.triangle(base, base + 2, base + 3)
    return g


def plane(size: Vec2) -> Geometry:
    """A plane in XZ facing +Y, ``size`` = [x, z]."""
    g = Geometry()
    hx, hz = size[0] / 2, size[1] / 2
    for su, sv in _CORNERS:
        # u axis +X, v axis -Z: u x v = +Y
        g.vertex((su * hx, 0.0, -sv * hz), (0.0, 1.0, 0.0), ((su + 1) / 2, (1 - sv) / 2))
    g.triangle(0, 1, 2)
    g.triangle(0, 2, 3)
    return g


def _lathe(g: Geometry, profile: Sequence[tuple[float, float, float, float]]) -> None:
    """Revolve ``profile`` — (radius, y, normal radial part, normal y part), bottom to top —
    about +Y. Vertex (i, j) is ``(r sin t, y, r cos t)`` with ``t = 2 pi j / SEGMENTS``, so
    the quad (i, j), (i, j+1), (i+1, j) faces outward counter-clockwise. Triangles that
    collapse at a pole (radius 0) are left out."""
    lengths = [0.0]
    for (r0, y0, _, _), (r1, y1, _, _) in itertools.pairwise(profile):
        lengths.append(lengths[-1] + math.hypot(r1 - r0, y1 - y0))
    total = lengths[-1] or 1.0
    base = len(g.positions)
    columns = SEGMENTS + 1  # the seam is duplicated so that u runs 0..1
    for (r, y, nr, ny), length in zip(profile, lengths, strict=True):
        for j in range(columns):
            s, c = _sincos(j)
            g.vertex((r * s, y, r * c), (nr * s, ny, nr * c), (j / SEGMENTS, 1 - length / total))
    for i in range(len(profile) - 1):
        for j in range(SEGMENTS):
            a = base + i * columns + j
            b, up, up_b = a + 1, a + columns, a + columns + 1
            if profile[i][0] > 0:
                g.triangle(a, b, up)
            if profile[i + 1][0] > 0:
                g.triangle(b, up_b, up)


def _sincos(j: int) -> tuple[float, float]:
    """sin and cos of ``2 pi j / SEGMENTS``, exact at the quarter turns (exact extents)."""
    if j % SEGMENTS == 0:
        return (0.0, 1.0)
    if SEGMENTS % 4 == 0:
        quarter = SEGMENTS // 4
        exact = {quarter: (1.0, 0.0), 2 * quarter: (0.0, -1.0), 3 * quarter: (-1.0, 0.0)}
        if j in exact:
            return exact[j]
    t = 2 * math.pi * j / SEGMENTS
    return (math.sin(t), math.cos(t))


def _arc(radius: float, center_y: float, start: int, stop: int,
         steps: int) -> list[tuple[float, float, float, float]]:
    """Profile points of a circle arc, angles ``k * (pi/2) / steps`` for k in start..stop."""
    out = []
    for k in range(start, stop + 1):
        if k == -steps:
            c, s = 0.0, -1.0
        elif k == steps:
            c, s = 0.0, 1.0
        elif k == 0:
            c, s = 1.0, 0.0
        else:
            phi = (math.pi / 2) * k / steps
            c, s = math.cos(phi), math.sin(phi)
        out.append((radius * c, center_y + radius * s, c, s))
    return out


def sphere(radius: float) -> Geometry:
    g = Geometry()
    half = SPHERE_RINGS // 2
    _lathe(g, _arc(radius, 0.0, -half, half, half))
    return g


def capsule(radius: float, height: float) -> Geometry:
    """A capsule of total ``height`` (caps included, at least ``2 * radius``)."""
    g = Geometry()
    straight = max(height / 2 - radius, 0.0)
    bottom = _arc(radius, -straight, -CAPSULE_RINGS, 0, CAPSULE_RINGS)
    top = _arc(radius, straight, 0, CAPSULE_RINGS, CAPSULE_RINGS)
    if straight == 0.0:
        top = top[1:]  # one equator only: no zero-height band of degenerate triangles
    _lathe(g, bottom + top)
    return g


def cylinder(radius: float, height: float) -> Geometry:
    g = Geometry()
    h = height / 2
    _lathe(g, [(radius, -h, 1.0, 0.0), (radius, h, 1.0, 0.0)])
    for y, ny in ((h, 1.0), (-h, -1.0)):
        center = g.vertex((0.0, y, 0.0), (0.0, ny, 0.0), (0.5, 0.5))
        ring = []
        for j in range(SEGMENTS):
            s, c = _sincos(j)
            ring.append(g.vertex((radius * s, y, radius * c), (0.0, ny, 0.0),
                                 (0.5 + 0.5 * s, 0.5 - 0.5 * c * ny)))
        for j in range(SEGMENTS):
            a, b = ring[j], ring[(j + 1) % SEGMENTS]
            # (center, a, b) faces +Y; the bottom cap is wound the other way.
            if ny > 0:
                g.triangle(center, a, b)
            else:
                g.triangle(center, b, a)
    return g


GeometryKey = tuple[Any, ...]


def _mesh_key(node: Node) -> GeometryKey:
    assert node.mesh is not None
    return primitive_key(node.mesh)


def primitive_key(mesh: Mesh) -> GeometryKey:
    """What decides a primitive's geometry (its kind and sizes)."""
    if mesh.primitive == "box":
        return ("box", *mesh.size)
    if mesh.primitive == "plane":
        return ("plane", *mesh.size)
    if mesh.primitive == "sphere":
        return ("sphere", mesh.radius)
    return (mesh.primitive, mesh.radius, mesh.height)


def _placeholder_key(bounds: Bounds | None) -> GeometryKey:
    """The box of a model placeholder, as ``coords.bounds_box`` sizes it for every engine."""
    shape = bounds_box(Asset(id="placeholder", type="model", uri="-", bounds=bounds))
    return ("placeholder", *shape.size, *shape.center)


def _build(key: GeometryKey) -> Geometry:
    kind, *v = key
    if kind == "box":
        return box((v[0], v[1], v[2]))
    if kind == "plane":
        return plane((v[0], v[1]))
    if kind == "sphere":
        return sphere(v[0])
    if kind == "capsule":
        return capsule(v[0], v[1])
    if kind == "cylinder":
        return cylinder(v[0], v[1])
    if kind == "placeholder":
        return box((v[0], v[1], v[2]), (v[3], v[4], v[5]))
    raise ValueError(f"unknown geometry {kind!r}")


def _mesh_name(key: GeometryKey) -> str:
    kind, *v = key
    return f"{kind} " + "x".join(f"{x:g}" for x in v[:3 if kind == "box" else 2])


# --- GLB assembly ---------------------------------------------------------------------------


def _f(x: float) -> float:
    """A JSON float without ``-0.0``."""
    return 0.0 if x == 0 else float(x)


def _f32(x: float) -> float:
    """``x`` rounded to float32, as stored in the buffer."""
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return _f(value)


class _Builder:
    def __init__(self, name_prefix: str = "") -> None:
        self.name_prefix = name_prefix
        self.gltf: dict[str, Any] = {
            "asset": {"version": "2.0", "generator": f"{EXPORTER_NAME} {__version__}"},
        }
        self.accessors: list[dict[str, Any]] = []
        self.meshes: list[dict[str, Any]] = []
        self.materials: list[dict[str, Any]] = []
        self.lights: list[dict[str, Any]] = []
        self.cameras: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = []
        self.vec3 = bytearray()
        self.vec2 = bytearray()
        self.index = bytearray()
        self._geometry: dict[GeometryKey, dict[str, int]] = {}
        self._meshes: dict[tuple[GeometryKey, int | None], int] = {}

    # geometry → accessors (once per distinct key)
    def geometry(self, key: GeometryKey) -> dict[str, int]:
        if key not in self._geometry:
            self._geometry[key] = self.add_geometry(_build(key))
        return self._geometry[key]

    def add_geometry(self, g: Geometry) -> dict[str, int]:
        count = len(g.positions)
        positions = [tuple(_f32(c) for c in p) for p in g.positions]
        lo = [min(p[k] for p in positions) for k in range(3)]
        hi = [max(p[k] for p in positions) for k in range(3)]
        attributes = {
            "POSITION": self._accessor(0, self.vec3, _pack_floats(g.positions), count, "VEC3",
                                       FLOAT, min=lo, max=hi),
            "NORMAL": self._accessor(0, self.vec3, _pack_floats(g.normals), count, "VEC3",
                                     FLOAT),
            "TEXCOORD_0": self._accessor(1, self.vec2, _pack_floats(g.uvs), count, "VEC2",
                                         FLOAT),
        }
        if max(g.indices) < 0xFFFF:  # 65535 is the primitive restart value
            data, component = struct.pack(f"<{len(g.indices)}H", *g.indices), UNSIGNED_SHORT
        else:
            data, component = struct.pack(f"<{len(g.indices)}I", *g.indices), UNSIGNED_INT
        attributes["indices"] = self._accessor(2, self.index, data, len(g.indices), "SCALAR",
                                               component)
        return attributes

    def _accessor(self, view: int, target: bytearray, data: bytes, count: int, type_: str,
                  component: int, **extra: Any) -> int:
        offset = len(target)
        target += data
        target += b"\0" * (-len(target) % 4)
        accessor: dict[str, Any] = {"bufferView": view, "byteOffset": offset,
                                    "componentType": component, "count": count, "type": type_}
        accessor.update(extra)
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def mesh(self, key: GeometryKey, material: int | None, name: str | None = None) -> int:
        """The mesh of ``key`` with ``material``, added on first use and named ``name`` (the
        geometry's own name when ``None``, formatted only then: big scenes repeat a few)."""
        if (key, material) not in self._meshes:
            attrs = self.geometry(key)
            primitive: dict[str, Any] = {
                "attributes": {k: v for k, v in attrs.items() if k != "indices"},
                "indices": attrs["indices"], "mode": TRIANGLES}
            if material is not None:
                primitive["material"] = material
            self.meshes.append({"name": self.name_prefix + (name or _mesh_name(key)),
                                "primitives": [primitive]})
            self._meshes[(key, material)] = len(self.meshes) - 1
        return self._meshes[(key, material)]

    def finish(self) -> bytes:
        g = self.gltf
        views: list[dict[str, Any]] = []
        buffer = bytearray()
        # (data, stride, target): attribute views carry a stride because several accessors
        # share them; the index view must not.
        for data, stride, target in ((self.vec3, 12, ARRAY_BUFFER), (self.vec2, 8, ARRAY_BUFFER),
                                     (self.index, None, ELEMENT_ARRAY_BUFFER)):
            view: dict[str, Any] = {"buffer": 0, "byteOffset": len(buffer),
                                    "byteLength": len(data), "target": target}
            if stride is not None:
                view["byteStride"] = stride
            views.append(view)
            buffer += data
        if buffer:
            g["buffers"] = [{"byteLength": len(buffer)}]
            g["bufferViews"] = views
            g["accessors"] = self.accessors
        for key, items in (("meshes", self.meshes), ("materials", self.materials),
                           ("cameras", self.cameras), ("nodes", self.nodes)):
            if items:
                g[key] = items
        if self.lights:
            g.setdefault("extensions", {})["KHR_lights_punctual"] = {"lights": self.lights}
            g["extensionsUsed"] = ["KHR_lights_punctual"]
        return encode_glb(g, bytes(buffer))


def _pack_floats(items: Iterable[tuple[float, ...]]) -> bytes:
    flat = [c for item in items for c in item]
    return struct.pack(f"<{len(flat)}f", *flat)


# --- manifest → glTF ------------------------------------------------------------------------


def _material(mat: Material, name_prefix: str) -> dict[str, Any]:
    pbr: dict[str, Any] = {"baseColorFactor": [_f(c) for c in mat.base_color],
                           "metallicFactor": _f(mat.metallic),
                           "roughnessFactor": _f(mat.roughness)}
    out: dict[str, Any] = {"name": name_prefix + mat.id, "pbrMetallicRoughness": pbr,
                           "extras": {"id": mat.id}}
    if any(mat.emissive):
        out["emissiveFactor"] = [_f(c) for c in mat.emissive]
    if mat.base_color[3] < 1.0:
        out["alphaMode"] = "BLEND"
    # Texture images are not available to a pure writer: name them for the importer's side.
    textures = {k: v for k, v in (("base_color_texture", mat.base_color_texture),
                                  ("normal_texture", mat.normal_texture)) if v is not None}
    if textures:
        out["extras"]["textures_left_out"] = textures
    return out


def _light(light: Light, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": light.type,
                           "color": [_f(c) for c in light.color],
                           "intensity": _f(light.intensity)}
    if light.type != "directional" and light.range is not None:
        out["range"] = _f(light.range)
    if light.type == "spot":
        out["spot"] = {"innerConeAngle": _f(light.inner_cone),
                       "outerConeAngle": _f(light.outer_cone)}
    return out


def _camera(camera: Camera, name: str) -> dict[str, Any]:
    if camera.projection == "perspective":
        return {"name": name, "type": "perspective",
                "perspective": {"yfov": _f(camera.yfov), "znear": _f(camera.znear),
                                "zfar": _f(camera.zfar)}}
    return {"name": name, "type": "orthographic",
            "orthographic": {"xmag": _f(camera.ymag * ORTHO_ASPECT), "ymag": _f(camera.ymag),
                             "znear": _f(camera.znear), "zfar": _f(camera.zfar)}}


def _trs(node: Node) -> dict[str, Any]:
    t = node.transform
    out: dict[str, Any] = {}
    if any(t.translation):
        out["translation"] = [_f(c) for c in t.translation]
    rotation = quat_normalize(t.rotation)
    if rotation != (0.0, 0.0, 0.0, 1.0):
        out["rotation"] = [_f(c) for c in rotation]
    if t.scale != (1.0, 1.0, 1.0):
        out["scale"] = [_f(c) for c in t.scale]
    return out


def scene_glb(manifest: Manifest, scene: Scene, *, name_prefix: str = "") -> bytes:
    """``scene`` as a self-contained ``.glb`` (see the module docstring).

    ``name_prefix`` goes before mesh and material names — the names importers give the
    assets they create — never before node names, which stay the display names.
    """
    b = _Builder(name_prefix)
    used = {n.material for n in scene.nodes if n.material is not None and n.mesh is not None}
    material_index: dict[str, int] = {}
    for mat in manifest.materials:  # manifest order, only those this scene uses
        if mat.id in used:
            material_index[mat.id] = len(b.materials)
            b.materials.append(_material(mat, name_prefix))
    index = {n.id: i for i, n in enumerate(scene.nodes)}
    b.nodes = [{} for _ in scene.nodes]
    extra_nodes: list[dict[str, Any]] = []
    roots: list[int] = []
    for i, node in enumerate(scene.nodes):
        out = b.nodes[i]
        out["name"] = node.display_name
        out["extras"] = {"id": node.id}
        out.update(_trs(node))
        if node.mesh is not None:
            key = _mesh_key(node)
            material = material_index.get(node.material) if node.material else None
            out["mesh"] = b.mesh(key, material)
        if node.model is not None:
            asset = manifest.asset(node.model)
            mesh = b.mesh(_placeholder_key(asset.bounds), None, asset.id)
            out["extras"]["model"] = asset.id
            if "mesh" in out:  # a node holds one mesh: the placeholder goes on a child
                extra_nodes.append({"name": asset.id, "mesh": mesh,
                                    "extras": {"id": node.id, "model": asset.id}})
                out["children"] = [len(scene.nodes) + len(extra_nodes) - 1]
            else:
                out["mesh"] = mesh
        if node.light is not None:
            b.lights.append(_light(node.light, node.display_name))
            out["extensions"] = {"KHR_lights_punctual": {"light": len(b.lights) - 1}}
        if node.camera is not None:
            b.cameras.append(_camera(node.camera, node.display_name))
            out["camera"] = len(b.cameras) - 1
    for i, node in enumerate(scene.nodes):
        if node.parent is None:
            roots.append(i)
        else:
            b.nodes[index[node.parent]].setdefault("children", []).append(i)
    b.nodes += extra_nodes
    out_scene: dict[str, Any] = {"name": scene.display_name, "extras": {"id": scene.id}}
    if roots:
        out_scene["nodes"] = roots
    b.gltf["scenes"] = [out_scene]
    b.gltf["scene"] = 0
    return b.finish()


def placeholder_glb(name: str, bounds: Bounds | None) -> bytes:
    """One box named ``name`` filling ``bounds`` (a 1 m cube at the origin when unknown)."""
    b = _Builder()
    mesh = b.mesh(_placeholder_key(bounds), None, name)
    b.nodes = [{"name": name, "mesh": mesh, "extras": {"placeholder": True}}]
    b.gltf["scenes"] = [{"name": name, "nodes": [0]}]
    b.gltf["scene"] = 0
    return b.finish()


# --- one primitive, optionally with a transform baked in --------------------------------------


def transformed(g: Geometry, m: Matrix4) -> Geometry:
    """``g`` with ``m`` applied to its vertices: positions by ``m``, normals by the cofactor
    matrix (the inverse transpose up to a factor, right for shear), and the winding reversed
    when ``m`` mirrors so that front faces stay counter-clockwise."""
    cols = [transform_vector(m, axis) for axis in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0),
                                                   (0.0, 0.0, 1.0))]
    sign = -1.0 if determinant(m) < 0 else 1.0
    cof = [_cross(cols[1], cols[2]), _cross(cols[2], cols[0]), _cross(cols[0], cols[1])]
    out = Geometry()
    for p, n, uv in zip(g.positions, g.normals, g.uvs, strict=True):
        normal = tuple(sign * sum(cof[j][i] * n[j] for j in range(3)) for i in range(3))
        if max(abs(c) for c in normal) < 1e-12:  # a zero scale flattened the mesh
            normal = _flat_normal(cols)
        out.vertex(transform_point(m, p), normal, uv)  # type: ignore[arg-type]
    for i in range(0, len(g.indices), 3):
        a, b, c = g.indices[i:i + 3]
        if sign < 0:
            out.triangle(a, c, b)
        else:
            out.triangle(a, b, c)
    return out


def _flat_normal(cols: list[Vec3]) -> Vec3:
    """A unit normal for a mesh flattened by a zero scale: across the axes that remain."""
    for a, b in ((cols[0], cols[1]), (cols[1], cols[2]), (cols[2], cols[0])):
        n = _cross(a, b)
        if max(abs(c) for c in n) > 1e-12:
            return n
    return (0.0, 1.0, 0.0)


def _cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def primitive_glb(name: str, mesh: Mesh, matrix: Matrix4 | None = None) -> bytes:
    """One primitive as a ``.glb`` of one node at identity, named ``name``; with ``matrix``
    the geometry is moved by it (world geometry baked for engines whose transforms cannot
    carry shear)."""
    b = _Builder()
    geometry = _build(primitive_key(mesh))
    if matrix is not None:
        geometry = transformed(geometry, matrix)
    attrs = b.add_geometry(geometry)
    primitive: dict[str, Any] = {
        "attributes": {k: v for k, v in attrs.items() if k != "indices"},
        "indices": attrs["indices"], "mode": TRIANGLES}
    b.meshes.append({"name": name, "primitives": [primitive]})
    b.nodes = [{"name": name, "mesh": 0}]
    b.gltf["scenes"] = [{"name": name, "nodes": [0]}]
    b.gltf["scene"] = 0
    return b.finish()
