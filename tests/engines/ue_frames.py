"""The manifest's world matrices and Unreal's rotator convention, computed with numpy from the
manifest alone (nothing from the writers). Shared by the UE fidelity and component tests."""

from __future__ import annotations

import math

import numpy as np

from pacai_export.manifest import Manifest

P = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # glTF <-> UE axes


def _quat(q: tuple[float, ...]) -> np.ndarray:
    x, y, z, w = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def manifest_worlds(manifest: Manifest) -> dict[str, np.ndarray]:
    """Each node's 4x4 world matrix: the product of its ancestors' T * R * S and its own."""
    nodes = {n.id: n for n in manifest.scenes[0].nodes}
    out: dict[str, np.ndarray] = {}

    def world(node_id: str) -> np.ndarray:
        if node_id not in out:
            t = nodes[node_id].transform
            local = np.eye(4)
            local[:3, :3] = _quat(t.rotation) @ np.diag(t.scale)
            local[:3, 3] = t.translation
            parent = nodes[node_id].parent
            out[node_id] = local if parent is None else world(parent) @ local
        return out[node_id]

    for node_id in nodes:
        world(node_id)
    return out


def rotator_rows(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """FRotationMatrix(FRotator(pitch, yaw, roll)): rows are the actor's X, Y, Z axes."""
    sp, cp = math.sin(math.radians(pitch)), math.cos(math.radians(pitch))
    sy, cy = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
    sr, cr = math.sin(math.radians(roll)), math.cos(math.radians(roll))
    return np.array([[cp * cy, cp * sy, sp],
                     [sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp],
                     [-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp]])
