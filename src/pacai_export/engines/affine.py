"""Affine 3x4 matrices in the manifest's glTF frame, for writers that must bake transforms.

A node's world matrix (parent x local, all the way up) can carry non-uniform scale and
shear that a physics body must not have (Godot Physics resets a body's scale). These
helpers split a world matrix into a rigid part (rotation and translation, for the body) and
the rest (for the body's mesh and shapes). Pure Python on purpose: the same inputs give the
same bits on every machine, which keeps bundles byte-identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..manifest import Node, Scene
from .coords import Matrix3, Shape, Trs, Vec3, quat_to_matrix, trs

# Rows of the 3x3 linear part, then the translation: x' = A x + t.
Affine = tuple[Matrix3, Vec3]

IDENTITY3: Matrix3 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
IDENTITY: Affine = (IDENTITY3, (0.0, 0.0, 0.0))
_POLAR_STEPS = 60
# Segments of a round shape's hull: the flat between two points stays within
# r·(1 - cos(π/24)) < 0.9 % of the radius of the true surface.
_AROUND = 24
_UP = 12
_EPS = 1e-9


def from_trs(t: Trs) -> Affine:
    """The matrix of translation x rotation x scale."""
    r = quat_to_matrix(t.rotation)
    linear = tuple(tuple(r[i][j] * t.scale[j] for j in range(3)) for i in range(3))
    return linear, t.translation  # type: ignore[return-value]


def mul3(a: Matrix3, b: Matrix3) -> Matrix3:
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3))
                 for i in range(3))  # type: ignore[return-value]


def apply3(a: Matrix3, v: Vec3) -> Vec3:
    return tuple(sum(a[i][k] * v[k] for k in range(3)) for i in range(3))  # type: ignore[return-value]


def mul(a: Affine, b: Affine) -> Affine:
    """``a`` after ``b``."""
    t = apply3(a[0], b[1])
    return mul3(a[0], b[0]), (t[0] + a[1][0], t[1] + a[1][1], t[2] + a[1][2])


def transpose(a: Matrix3) -> Matrix3:
    return tuple(tuple(a[j][i] for j in range(3)) for i in range(3))  # type: ignore[return-value]


def det(a: Matrix3) -> float:
    return (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]))


def inverse3(a: Matrix3) -> Matrix3:
    d = det(a)
    if abs(d) < 1e-300:
        raise ValueError("singular matrix")
    cof = (
        (a[1][1] * a[2][2] - a[1][2] * a[2][1], a[0][2] * a[2][1] - a[0][1] * a[2][2],
         a[0][1] * a[1][2] - a[0][2] * a[1][1]),
        (a[1][2] * a[2][0] - a[1][0] * a[2][2], a[0][0] * a[2][2] - a[0][2] * a[2][0],
         a[0][2] * a[1][0] - a[0][0] * a[1][2]),
        (a[1][0] * a[2][1] - a[1][1] * a[2][0], a[0][1] * a[2][0] - a[0][0] * a[2][1],
         a[0][0] * a[1][1] - a[0][1] * a[1][0]),
    )
    return tuple(tuple(c / d for c in row) for row in cof)  # type: ignore[return-value]


def inverse(a: Affine) -> Affine:
    inv = inverse3(a[0])
    t = apply3(inv, a[1])
    return inv, (-t[0], -t[1], -t[2])


def is_rigid(a: Matrix3, tol: float = 1e-6) -> bool:
    """Whether ``a`` is a proper rotation (orthonormal, determinant +1)."""
    p = mul3(transpose(a), a)
    return all(abs(p[i][j] - (1.0 if i == j else 0.0)) <= tol
               for i in range(3) for j in range(3)) and det(a) > 0


def is_diagonal(a: Matrix3, tol: float = 1e-6) -> bool:
    scale = max(abs(a[i][i]) for i in range(3)) or 1.0
    return all(abs(a[i][j]) <= tol * scale for i in range(3) for j in range(3) if i != j)


def rotation_part(a: Matrix3) -> Matrix3:
    """The proper rotation closest to ``a`` (polar decomposition by Newton's iteration,
    ``R ← (R + R⁻ᵀ)/2``); a mirroring ``a`` is first flipped along X so the result is a
    rotation, the flip then stays in the remainder ``Rᵀ a``."""
    flip = -1.0 if det(a) < 0 else 1.0
    r = _build(lambda i, j: a[i][j] * (flip if j == 0 else 1.0))
    for _ in range(_POLAR_STEPS):
        inv_t = transpose(inverse3(r))
        nxt = _build(lambda i, j: (r[i][j] + inv_t[i][j]) / 2)  # noqa: B023 - used at once
        done = max(abs(nxt[i][j] - r[i][j]) for i in range(3) for j in range(3)) < _EPS
        r = nxt
        if done:
            break
    return _snap(r)


def _build(value: Callable[[int, int], float]) -> Matrix3:
    return ((value(0, 0), value(0, 1), value(0, 2)), (value(1, 0), value(1, 1), value(1, 2)),
            (value(2, 0), value(2, 1), value(2, 2)))


def _snap(a: Matrix3) -> Matrix3:
    """Values within 1e-12 of a whole number made whole: identical inputs reached by
    different float paths then print identically."""
    return tuple(tuple(float(round(v)) if abs(v - round(v)) < 1e-12 else v for v in row)
                 for row in a)  # type: ignore[return-value]


def rigid_split(a: Affine) -> tuple[Affine, Matrix3]:
    """``a`` as (rigid part, remainder): ``a = rigid x remainder`` with the remainder a pure
    linear map (scale, shear, mirror) and the rigid part a rotation plus ``a``'s translation."""
    r = rotation_part(a[0])
    return (r, a[1]), _snap(mul3(transpose(r), a[0]))


def axis_lengths(a: Matrix3) -> Vec3:
    """Length of each column: how much ``a`` stretches each local axis."""
    return tuple(math.sqrt(sum(a[i][j] ** 2 for i in range(3))) for j in range(3))  # type: ignore[return-value]


def hull_points(shape: Shape) -> list[Vec3]:
    """Points whose convex hull is ``shape`` (round ones to within 0.9 % of the radius),
    around its centre, for engines that must bake a stretch into a convex hull."""
    if shape.kind == "box":
        hx, hy, hz = (c / 2 for c in shape.size)
        return [(x, y, z) for x in (-hx, hx) for y in (-hy, hy) for z in (-hz, hz)]
    r = shape.radius
    if shape.kind == "cylinder":
        h = shape.height / 2
        return [p for y in (-h, h) for p in _ring(r, y)]
    straight = max(shape.height - 2 * r, 0.0) / 2 if shape.kind == "capsule" else 0.0
    points: list[Vec3] = [(0.0, r + straight, 0.0), (0.0, -r - straight, 0.0)]
    for i in range(1, _UP):
        polar = math.pi * i / _UP
        y = r * math.cos(polar)
        y += straight if y > 0 else -straight if y < 0 else 0.0
        points += _ring(r * math.sin(polar), y)
        if i == _UP // 2 and straight > 0:  # the equator twice: both ends of the straight
            points += _ring(r, straight) + _ring(r, -straight)
    return points


def _ring(radius: float, y: float) -> list[Vec3]:
    return [(radius * math.cos(2 * math.pi * k / _AROUND), y,
             radius * math.sin(2 * math.pi * k / _AROUND)) for k in range(_AROUND)]


class WorldMatrices:
    """Every node's world matrix in the manifest's frame (parent x local, up to the root),
    each computed when first asked for: most writers need only a few of them."""

    def __init__(self, scene: Scene) -> None:
        self._nodes = {n.id: n for n in scene.nodes}
        self._world: dict[str, Affine] = {}

    def __getitem__(self, node_id: str) -> Affine:
        chain: list[Node] = []
        current: str | None = node_id
        while current is not None and current not in self._world:
            node = self._nodes[current]
            chain.append(node)
            current = node.parent
        for node in reversed(chain):  # from the highest unknown ancestor down
            local = from_trs(trs(node.transform))
            parent = node.parent
            self._world[node.id] = mul(self._world[parent], local) if parent else local
        return self._world[node_id]


def is_conformal(a: Matrix3, tol: float = 1e-6) -> bool:
    """Whether ``a`` is a rotation (or mirror) times one uniform scale: spheres stay spheres."""
    p = mul3(transpose(a), a)
    k = p[0][0]
    return all(abs(p[i][j] - (k if i == j else 0.0)) <= tol * max(k, 1.0)
               for i in range(3) for j in range(3))


def is_unsheared(a: Matrix3, tol: float = 1e-6) -> bool:
    """Whether ``a`` keeps right angles between the local axes (rotation x axis scales)."""
    p = mul3(transpose(a), a)
    k = max(p[i][i] for i in range(3))
    return all(abs(p[i][j]) <= tol * max(k, 1.0) for i in range(3) for j in range(3) if i != j)
