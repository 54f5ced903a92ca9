"""Frame conversion from the manifest's glTF frame to each engine, plus shared geometry.

The manifest uses glTF's frame (§10.2): right-handed, +Y up, +Z toward the viewer, metres,
quaternions ``[x, y, z, w]``. Godot uses the very same frame, so its conversion is the
identity. Unity and Unreal follow what their glTF importers do, so that a ``.glb`` placed
under a converted node lands exactly where the same node would be inside the glTF.
"""

from __future__ import annotations

import dataclasses
import math

from ..manifest import Asset, Mesh, Node, Transform

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Matrix3 = tuple[Vec3, Vec3, Vec3]  # rows

UE_CM_PER_M = 100.0

# Unity lights and cameras look along local +Z, glTF's along -Z: glTFast puts them on a child
# turned 180° about Y; we do the same (x, y, z, w).
UNITY_FORWARD_FIX: Quat = (0.0, 1.0, 0.0, 0.0)
# Unreal lights and cameras look along local +X. glTF's forward -Z becomes UE's -Y after
# ConvertVec3, so the actor gets an extra yaw of -90° (about +Z) after the node's rotation.
UE_FORWARD_FIX: Quat = (0.0, 0.0, -math.sqrt(0.5), math.sqrt(0.5))


# --- Godot: identity ---------------------------------------------------------------------


def godot_basis(rotation: Quat, scale: Vec3) -> Matrix3:
    """Rows of Godot's ``Basis`` for rotation * scale (Godot's frame is glTF's)."""
    m = quat_to_matrix(rotation)
    return (
        (m[0][0] * scale[0], m[0][1] * scale[1], m[0][2] * scale[2]),
        (m[1][0] * scale[0], m[1][1] * scale[1], m[1][2] * scale[2]),
        (m[2][0] * scale[0], m[2][1] * scale[1], m[2][2] * scale[2]),
    )


# --- Unity: as glTFast ---------------------------------------------------------------------
# Unity-Technologies/com.unity.cloud.gltfast,
# Packages/com.unity.cloud.gltfast/Runtime/Scripts/NodeExtension.cs, GetTransform():
#   position = new Vector3(-translation[0], translation[1], translation[2]);
#   rotation = new Quaternion(rotation[0], -rotation[1], -rotation[2], rotation[3]);
#   scale    = new Vector3(scale[0], scale[1], scale[2]);
# i.e. a mirror of X (right-handed → left-handed) that keeps metres and +Y up.


def unity_position(t: Vec3) -> Vec3:
    """glTF translation → Unity ``m_LocalPosition`` (X negated, as glTFast)."""
    return (-t[0], t[1], t[2])


def unity_rotation(q: Quat) -> Quat:
    """glTF rotation → Unity ``m_LocalRotation`` (y and z negated, as glTFast)."""
    return (q[0], -q[1], -q[2], q[3])


def unity_scale(s: Vec3) -> Vec3:
    """glTF scale → Unity ``m_LocalScale`` (unchanged, as glTFast)."""
    return (s[0], s[1], s[2])


# --- Unreal: as the glTF importer (Interchange / GLTFCore) ---------------------------------
# Epic's GLTFCore conversions (GLTF::ConvertVec3 / GLTF::ConvertQuat in GLTFConversions.h,
# used by the Interchange glTF translator):
#   ConvertVec3(v)  = {v.X, v.Z, v.Y}            // swap Y/Z: Y-up right-handed → Z-up left-handed
#   ConvertQuat(q)  = {-q.X, -q.Z, -q.Y, q.W}    // same swap, handedness flip reverses the angle
# and the translator scales lengths by 100 (metres → centimetres). Scale uses ConvertVec3.


def ue_location(t: Vec3) -> Vec3:
    """glTF translation (m) → Unreal location (cm): ``(x, z, y) * 100``."""
    return (t[0] * UE_CM_PER_M, t[2] * UE_CM_PER_M, t[1] * UE_CM_PER_M)


def ue_vector(v: Vec3) -> Vec3:
    """A glTF direction or extent → Unreal axes, without unit change: ``(x, z, y)``."""
    return (v[0], v[2], v[1])


def ue_rotation(q: Quat) -> Quat:
    """glTF rotation → Unreal ``FQuat``: ``(-x, -z, -y, w)``."""
    return (-q[0], -q[2], -q[1], q[3])


def ue_scale(s: Vec3) -> Vec3:
    """glTF scale → Unreal scale: ``(x, z, y)``."""
    return (s[0], s[2], s[1])


def ue_rotator(q: Quat) -> tuple[float, float, float]:
    """An Unreal ``FQuat`` → ``(pitch, yaw, roll)`` in degrees, as ``FQuat::Rotator()``."""
    x, y, z, w = q
    singularity = z * x - w * y
    yaw = math.degrees(math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))
    threshold = 0.4999995
    if singularity < -threshold:
        return (-90.0, yaw, _normalize_axis(-yaw - 2.0 * math.degrees(math.atan2(x, w))))
    if singularity > threshold:
        return (90.0, yaw, _normalize_axis(yaw - 2.0 * math.degrees(math.atan2(x, w))))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * singularity))))
    roll = math.degrees(math.atan2(-2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y)))
    return (pitch, yaw, roll)


def _normalize_axis(angle: float) -> float:
    angle = math.fmod(angle, 360.0)
    if angle > 180.0:
        angle -= 360.0
    elif angle < -180.0:
        angle += 360.0
    return angle


# --- quaternion and transform helpers ------------------------------------------------------


def quat_multiply(a: Quat, b: Quat) -> Quat:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def quat_normalize(q: Quat) -> Quat:
    """``q`` scaled to unit length (identity for a zero quaternion)."""
    # The same sum as sum(c * c for c in q), in the same order, without a generator: asked
    # once a node by every writer.
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    if n == 0.0:
        return (0.0, 0.0, 0.0, 1.0)
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def quat_to_matrix(q: Quat) -> Matrix3:
    """Rotation matrix (rows) of a unit quaternion ``[x, y, z, w]``."""
    x, y, z, w = quat_normalize(q)
    return (
        (1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
        (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
        (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)),
    )


def rotate(q: Quat, v: Vec3) -> Vec3:
    """``v`` rotated by ``q``."""
    m = quat_to_matrix(q)
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


@dataclasses.dataclass(frozen=True)
class Trs:
    translation: Vec3 = (0.0, 0.0, 0.0)
    rotation: Quat = (0.0, 0.0, 0.0, 1.0)
    scale: Vec3 = (1.0, 1.0, 1.0)


def trs(t: Transform) -> Trs:
    """The manifest transform as a ``Trs`` (still in glTF's frame)."""
    return Trs(tuple(t.translation), quat_normalize(tuple(t.rotation)), tuple(t.scale))  # type: ignore[arg-type]


# --- world matrices ---------------------------------------------------------------------------
# A node's world transform is the product of 4x4 matrices (glTF 2.0 §3.7.3: "the node's world
# matrix is the product of its ancestors' local matrices and its own"). A product of TRS
# matrices is not always a TRS: a rotated child under a non-uniformly scaled parent has shear,
# which no engine transform built from location/rotation/scale can carry.

Row4 = tuple[float, float, float, float]
Matrix4 = tuple[Row4, ...]  # 4 rows; points are column vectors
IDENTITY4: Matrix4 = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0),
                      (0.0, 0.0, 0.0, 1.0))
# Below this the columns of a world matrix count as orthogonal (relative to their lengths):
# 1e-6 rad of shear moves a 10 km corner by 1 cm, the placement tolerance.
SHEAR_TOLERANCE = 1e-6


def trs_matrix(t: Trs) -> Matrix4:
    """``T * R * S`` as a 4x4 matrix (rows), as glTF composes a node's TRS."""
    r = quat_to_matrix(t.rotation)
    s = t.scale
    rows: list[Row4] = [(r[i][0] * s[0], r[i][1] * s[1], r[i][2] * s[2], t.translation[i])
                        for i in range(3)]
    return (*rows, (0.0, 0.0, 0.0, 1.0))


def matmul4(a: Matrix4, b: Matrix4) -> Matrix4:
    """The product ``a * b`` (apply ``b`` first) of two affine matrices (last row 0 0 0 1)."""
    b0, b1, b2 = b[0], b[1], b[2]
    rows: list[Row4] = []
    for r in a[:3]:
        x, y, z, w = r
        rows.append((x * b0[0] + y * b1[0] + z * b2[0],
                     x * b0[1] + y * b1[1] + z * b2[1],
                     x * b0[2] + y * b1[2] + z * b2[2],
                     x * b0[3] + y * b1[3] + z * b2[3] + w))
    return (*rows, (0.0, 0.0, 0.0, 1.0))


def compose(parent: Matrix4, child: Trs) -> Matrix4:
    """World matrix of ``child`` (its local TRS) under a parent whose world matrix is ``parent``."""
    return matmul4(parent, trs_matrix(child))


def transform_point(m: Matrix4, p: Vec3) -> Vec3:
    """``m`` applied to the point ``p``."""
    return (m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] * p[2] + m[0][3],
            m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] * p[2] + m[1][3],
            m[2][0] * p[0] + m[2][1] * p[1] + m[2][2] * p[2] + m[2][3])


def transform_vector(m: Matrix4, v: Vec3) -> Vec3:
    """``m``'s linear part applied to the direction ``v``."""
    return (m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
            m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
            m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2])


def _column(m: Matrix4, j: int) -> Vec3:
    return (m[0][j], m[1][j], m[2][j])


def _dot(a: Vec3, b: Vec3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(v: Vec3) -> float:
    return math.sqrt(_dot(v, v))


def determinant(m: Matrix4) -> float:
    """Determinant of ``m``'s linear part (negative: the matrix mirrors)."""
    return _dot(_column(m, 0), _cross(_column(m, 1), _column(m, 2)))


def has_shear(m: Matrix4) -> bool:
    """True when ``m``'s linear part is no rotation times axis scale (or is degenerate)."""
    cols = [_column(m, j) for j in range(3)]
    lengths = [_norm(c) for c in cols]
    if min(lengths) == 0.0:
        return True
    for a, b in ((0, 1), (0, 2), (1, 2)):
        if abs(_dot(cols[a], cols[b])) > SHEAR_TOLERANCE * lengths[a] * lengths[b]:
            return True
    return False


def decompose(m: Matrix4) -> Trs:
    """The TRS of ``m``: exact when ``not has_shear(m)``; otherwise the closest rotation
    that keeps the local -Z axis (where lights and cameras look) and then +Y, with the
    columns' lengths as scale. A mirroring matrix gets a negative X scale."""
    cols = [_column(m, j) for j in range(3)]
    scale = [_norm(c) for c in cols]
    if determinant(m) < 0:
        scale[0] = -scale[0]
    unit = [_unit_or(c, s, axis) for c, s, axis in zip(cols, scale, range(3), strict=True)]
    z = unit[2]
    x = _cross(unit[1], z)
    if _norm(x) < 1e-12:
        x = unit[0]
    x = _normalized(x)
    y = _cross(z, x)
    rotation = matrix_to_quat(((x[0], y[0], z[0]), (x[1], y[1], z[1]), (x[2], y[2], z[2])))
    translation = (m[0][3], m[1][3], m[2][3])
    return Trs(translation, rotation, (scale[0], scale[1], scale[2]))


def _unit_or(v: Vec3, length: float, axis: int) -> Vec3:
    if length == 0.0:
        return tuple(1.0 if k == axis else 0.0 for k in range(3))  # type: ignore[return-value]
    return (v[0] / length, v[1] / length, v[2] / length)


def _normalized(v: Vec3) -> Vec3:
    n = _norm(v)
    return (v[0] / n, v[1] / n, v[2] / n)


def matrix_to_quat(r: Matrix3) -> Quat:
    """Unit quaternion ``[x, y, z, w]`` of a rotation matrix (rows), Shepperd's method."""
    trace = r[0][0] + r[1][1] + r[2][2]
    if trace > 0:
        s = math.sqrt(trace + 1.0) * 2
        q = ((r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s, s / 4)
    elif r[0][0] > r[1][1] and r[0][0] > r[2][2]:
        s = math.sqrt(1.0 + r[0][0] - r[1][1] - r[2][2]) * 2
        q = (s / 4, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s, (r[2][1] - r[1][2]) / s)
    elif r[1][1] > r[2][2]:
        s = math.sqrt(1.0 + r[1][1] - r[0][0] - r[2][2]) * 2
        q = ((r[0][1] + r[1][0]) / s, s / 4, (r[1][2] + r[2][1]) / s, (r[0][2] - r[2][0]) / s)
    else:
        s = math.sqrt(1.0 + r[2][2] - r[0][0] - r[1][1]) * 2
        q = ((r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, s / 4, (r[1][0] - r[0][1]) / s)
    if q[3] < 0:  # one sign for the same rotation: stable bytes
        q = (-q[0], -q[1], -q[2], -q[3])
    return quat_normalize(q)


def linear_to_srgb(c: float) -> float:
    """Linear [0, 1] → sRGB-encoded [0, 1]: Godot and Unity store material/light colours encoded."""
    if c <= 0.0031308:
        return max(0.0, c * 12.92)
    return min(1.0, 1.055 * math.pow(c, 1.0 / 2.4) - 0.055)


# --- collider shapes shared by the writers ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shape:
    """A collision shape in the node's local glTF frame (metres)."""

    kind: str  # "box" | "sphere" | "capsule" | "cylinder"
    size: Vec3 = (1.0, 1.0, 1.0)
    radius: float = 0.5
    height: float = 2.0
    center: Vec3 = (0.0, 0.0, 0.0)


PLANE_THICKNESS = 0.02


def bounds_box(asset: Asset | None) -> Shape:
    """The box a model occupies: its bounds when known, else a 1 m cube at the origin."""
    if asset is None or asset.bounds is None:
        return Shape("box")
    lo, hi = asset.bounds.min, asset.bounds.max
    size = tuple(max(h - low, 0.01) for low, h in zip(lo, hi, strict=True))
    center = tuple((h + low) / 2 for low, h in zip(lo, hi, strict=True))
    return Shape("box", size=size, center=center)  # type: ignore[arg-type]


def primitive_extent(mesh: Mesh) -> Vec3:
    """A primitive's size along its glTF axes in metres (a plane is 1 thick): the scale that
    turns an engine's 1 m basic shape into it."""
    if mesh.primitive == "box":
        return mesh.size
    if mesh.primitive == "sphere":
        return (2 * mesh.radius,) * 3
    if mesh.primitive == "plane":
        return (mesh.size[0], 1.0, mesh.size[1])
    return (2 * mesh.radius, mesh.height, 2 * mesh.radius)


def mesh_shape(node: Node, asset: Asset | None) -> Shape:
    """The primitive-matching shape of a node's visual (mesh, else model bounds)."""
    mesh = node.mesh
    if mesh is None:
        return bounds_box(asset)
    if mesh.primitive == "box":
        return Shape("box", size=mesh.size)
    if mesh.primitive == "sphere":
        return Shape("sphere", radius=mesh.radius)
    if mesh.primitive == "plane":
        return Shape("box", size=(mesh.size[0], PLANE_THICKNESS, mesh.size[1]))
    if mesh.primitive == "capsule":
        return Shape("capsule", radius=mesh.radius, height=max(mesh.height, 2 * mesh.radius))
    return Shape("cylinder", radius=mesh.radius, height=mesh.height)


def collider_shape(node: Node, asset: Asset | None) -> Shape | None:
    """The collision shape of a node, or None when it has neither collider nor body.

    A ``mesh`` collider (or a body without collider) uses the primitive's matching shape:
    exact mesh collision needs the triangles, which only the engines' importers have.
    """
    collider = node.collider
    if collider is None:
        return mesh_shape(node, asset) if node.body is not None else None
    base = mesh_shape(node, asset)
    if collider.shape == "mesh":
        return base
    if collider.shape == "box":
        size = collider.size or (base.size if base.kind == "box" else _extent(base))
        return Shape("box", size=size)
    radius = collider.radius or base.radius
    if collider.shape == "sphere":
        return Shape("sphere", radius=radius)
    height = collider.height or (base.height if base.kind in ("capsule", "cylinder") else 2.0)
    return Shape("capsule", radius=radius, height=max(height, 2 * radius))


def _extent(shape: Shape) -> Vec3:
    if shape.kind == "sphere":
        return (2 * shape.radius,) * 3
    return (2 * shape.radius, shape.height, 2 * shape.radius)
