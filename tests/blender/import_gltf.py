"""Imports each .glb given on the command line with Blender's own glTF importer (the ``bpy``
wheel, in its own virtual environment: it needs numpy 1) and prints one JSON line per file:
what Blender made of it. Run by tests/assets/test_blender_import.py."""

from __future__ import annotations

import json
import sys

import bpy


def summary(path: str) -> dict[str, object]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for data in (bpy.data.objects, bpy.data.meshes, bpy.data.actions, bpy.data.images):
        for item in list(data):
            data.remove(item)
    result = bpy.ops.import_scene.gltf(filepath=path)
    meshes, armatures = [], []
    for obj in sorted(bpy.data.objects, key=lambda o: o.name):
        if obj.type == "MESH":
            mesh = obj.data
            meshes.append({
                # "body.001": Blender's suffix for a name already taken
                "name": obj.name.split(".")[0], "polygons": len(mesh.polygons),
                "triangles": sum(len(p.vertices) - 2 for p in mesh.polygons),
                "uv_layers": len(mesh.uv_layers), "colors": len(mesh.color_attributes),
                "shape_keys": [k.name for k in mesh.shape_keys.key_blocks]
                if mesh.shape_keys else [],
                "vertex_groups": [g.name for g in obj.vertex_groups],
                "materials": [m.name for m in mesh.materials if m is not None],
            })
        elif obj.type == "ARMATURE":
            armatures.append({"name": obj.name, "bones": sorted(b.name for b in obj.data.bones)})
    return {"path": path, "result": sorted(result), "meshes": meshes, "armatures": armatures,
            "actions": sorted(a.name for a in bpy.data.actions),
            "images": sorted([i.size[0], i.size[1]] for i in bpy.data.images
                             if i.size[0] > 0)}


for arg in sys.argv[1:]:
    print("SUMMARY " + json.dumps(summary(arg)), flush=True)
