"""A manifest whose world matrices exercise every placement case an engine writer must get
right (issue: engine fidelity), shared by the per-engine geometry-rebuild tests.

Cases: rotated children of a non-uniformly scaled parent (one without shear: a 90° turn
swaps the parent's scale axes; others with shear), negative scale, bodies under scaled
groups, collider-only nodes, box/sphere/capsule colliders, directional/point/spot lights
(some under a sheared parent), two cameras, transparent, emissive and metallic materials,
a model placeholder whose bounds are off-centre.
"""

from __future__ import annotations

import math
from typing import Any


def _about(axis: tuple[float, float, float], degrees: float) -> list[float]:
    half = math.radians(degrees) / 2
    s = math.sin(half)
    return [axis[0] * s, axis[1] * s, axis[2] * s, math.cos(half)]


Z, Y, X = (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)


def fidelity_manifest() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        # a parent stretched along X; its children are where UE's old compose went wrong
        {"id": "stretch", "name": "Stretch", "transform": {
            "translation": [1, 0, -2], "scale": [2, 1, 1]}},
        # 90° about Z under (2, 1, 1): no shear, the scale lands on the child's Y axis
        {"id": "post", "name": "Post", "parent": "stretch", "material": "mat_gold",
         "mesh": {"primitive": "cylinder", "radius": 0.25, "height": 12},
         "transform": {"translation": [0, 6, 0], "rotation": _about(Z, 90)}},
        # 30° about Z under (2, 1, 1): sheared world matrix
        {"id": "tilted", "name": "Tilted", "parent": "stretch", "material": "mat_glass",
         "mesh": {"primitive": "box", "size": [1, 2, 0.5]}, "body": "static",
         "collider": {"shape": "box", "size": [1, 2, 0.5]},
         "transform": {"translation": [1, 1, 0], "rotation": _about(Z, 30)}},
        # a simulated body under shear: no exact shape component exists (a known limit)
        {"id": "tilted_crate", "name": "Tilted Crate", "parent": "stretch", "body": "rigid",
         "mesh": {"primitive": "box", "size": [0.6, 0.6, 0.6]},
         "collider": {"shape": "box", "size": [0.6, 0.6, 0.6]},
         "transform": {"translation": [2, 0.3, 1], "rotation": _about(Z, 60)}},
        {"id": "tilted_spot", "name": "Tilted Spot", "parent": "tilted",
         "light": {"type": "spot", "range": 9, "inner_cone": 0.2, "outer_cone": 0.6},
         "transform": {"translation": [0, 1, 0], "rotation": _about(X, -60)}},
        {"id": "leaning_capsule", "name": "Leaning Capsule", "parent": "stretch",
         "mesh": {"primitive": "capsule", "radius": 0.3, "height": 1.6},
         "material": "mat_lava", "transform": {"translation": [-1, 1, 1],
                                               "rotation": _about(Z, 45)}},
        {"id": "stretched_ball", "name": "Stretched Ball", "parent": "stretch",
         "mesh": {"primitive": "sphere", "radius": 0.5},
         "transform": {"translation": [0, 3, 2], "rotation": _about(Y, 20)}},
        {"id": "stretched_lamp", "name": "Stretched Lamp", "parent": "stretch",
         "light": {"type": "point", "range": 6, "color": [1, 0.8, 0.6]},
         "transform": {"translation": [0.5, 2, 0], "rotation": _about(Z, 30)}},
        # a mirrored group (negative scale) with a body and a plane
        {"id": "mirror", "name": "Mirror", "transform": {
            "translation": [-4, 0, 3], "rotation": _about(Y, 25), "scale": [-1, 1.5, 1]}},
        {"id": "mirror_crate", "name": "Mirror Crate", "parent": "mirror", "body": "rigid",
         "mesh": {"primitive": "box", "size": [1, 1, 2]}, "material": "mat_gold",
         "collider": {"shape": "box", "size": [1, 1, 2]},
         "transform": {"translation": [1, 0.5, 0]}},
        {"id": "mirror_floor", "name": "Mirror Floor", "parent": "mirror",
         "mesh": {"primitive": "plane", "size": [3, 2]}, "transform": {"translation": [0, 0, 1]}},
        # collider-only nodes
        {"id": "wall", "name": "Wall", "body": "static",
         "collider": {"shape": "box", "size": [4, 3, 0.5]},
         "transform": {"translation": [0, 1.5, -6], "rotation": _about(Y, 35)}},
        {"id": "bumper", "name": "Bumper", "body": "rigid",
         "collider": {"shape": "sphere", "radius": 0.7}, "transform": {"translation": [3, 1, 3]}},
        {"id": "pole", "name": "Pole", "body": "kinematic",
         "collider": {"shape": "capsule", "radius": 0.2, "height": 2.5},
         "transform": {"translation": [5, 1.25, 0], "rotation": _about(X, 15)}},
        # a character capsule with its native capsule collider, under a uniformly scaled group
        {"id": "crowd", "name": "Crowd", "transform": {"translation": [2, 0, 4],
                                                      "scale": [1.5, 1.5, 1.5]}},
        {"id": "hero", "name": "Hero", "parent": "crowd", "body": "character",
         "mesh": {"primitive": "capsule", "radius": 0.35, "height": 1.7},
         "collider": {"shape": "capsule", "radius": 0.35, "height": 1.7},
         "transform": {"translation": [0, 0.85, 0], "rotation": _about(Y, 40)}},
        # a model that is not shipped: a placeholder from bounds that are off-centre
        {"id": "statue", "name": "Statue", "model": "mdl_statue", "body": "static",
         "parent": "stretch", "transform": {"translation": [0, 0, -3]}},
        {"id": "statue_turned", "name": "Statue Turned", "model": "mdl_statue",
         "body": "static", "parent": "stretch",
         "transform": {"translation": [-2, 0, -3], "rotation": _about(Y, 30)}},
        # lights and two cameras
        {"id": "sun", "name": "Sun", "light": {"type": "directional", "intensity": 3},
         "transform": {"rotation": _about(X, -50)}},
        {"id": "main_camera", "name": "Main Camera",
         "camera": {"projection": "perspective", "yfov": 0.9, "znear": 0.1, "zfar": 300},
         "transform": {"translation": [0, 4, 12], "rotation": _about(X, -15)}},
        {"id": "top_camera", "name": "Top Camera",
         "camera": {"projection": "orthographic", "ymag": 8},
         "transform": {"translation": [0, 20, 0], "rotation": _about(X, -90)}},
    ]
    return {
        "schema": "pacai.manifest/v1",
        "project": {"id": "fidelity", "name": "Fidelity", "version": "1.0.0"},
        "assets": [{"id": "mdl_statue", "type": "model", "uri": "statue.glb",
                    "bounds": {"min": [-0.5, 0, -0.25], "max": [0.5, 2.5, 0.75]}}],
        "materials": [
            {"id": "mat_glass", "base_color": [0.6, 0.8, 1.0, 0.35], "roughness": 0.05},
            {"id": "mat_lava", "base_color": [0.2, 0.02, 0.0, 1.0], "emissive": [1.0, 0.3, 0.02]},
            {"id": "mat_gold", "base_color": [1.0, 0.77, 0.34, 1.0], "metallic": 1.0,
             "roughness": 0.25},
        ],
        "scenes": [{"id": "main", "name": "Main",
                    "environment": {"sky_color": [0.4, 0.6, 0.9],
                                    "ambient_color": [0.25, 0.3, 0.35],
                                    "ambient_intensity": 0.8},
                    "nodes": nodes}],
        "main_scene": "main",
    }
