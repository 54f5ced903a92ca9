"""Readers of this suite's own for Godot ``.tscn`` and Unity scene YAML (PyYAML per document),
nothing from the writers. Shared by the Godot/Unity fidelity and item tests."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import yaml

from tests.engines.fidelity_scene import (
    Points,
)

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ \]]+)')


_PROP = re.compile(r"^([A-Za-z_][\w/]*) = (.*)$")


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


class Tscn:
    def __init__(self, text: str) -> None:
        self.sections: list[tuple[str, dict[str, str], dict[str, str]]] = []
        key = ""
        for line in text.splitlines():
            if line.startswith("["):
                kind = line[1:].split(" ", 1)[0].rstrip("]")
                attrs = {k: v.strip('"') for k, v in _ATTR.findall(line)}
                self.sections.append((kind, attrs, {}))
            elif (m := _PROP.match(line)) and self.sections:
                key = m.group(1)
                self.sections[-1][2][key] = m.group(2)
            elif line and self.sections:  # a value spread over lines (a Dictionary)
                self.sections[-1][2][key] += "\n" + line
        self.sub = {a["id"]: (a["type"], p) for k, a, p in self.sections if k == "sub_resource"}
        self.nodes: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        for kind, attrs, props in self.sections:
            if kind != "node":
                continue
            parent = attrs.get("parent")
            path = "" if parent is None else (attrs["name"] if parent == "." else
                                              f"{parent}/{attrs['name']}")
            self.nodes[path] = (attrs, props)

    def local(self, path: str) -> Points:
        props = self.nodes[path][1]
        m = np.eye(4)
        if "transform" in props:
            v = [float(x) for x in NUMBER.findall(props["transform"].split("(", 1)[1])]
            m[:3, :3] = np.array(v[:9]).reshape(3, 3)  # basis rows, then the origin
            m[:3, 3] = v[9:12]
        return m

    def world(self, path: str) -> Points:
        if path == "":
            return np.eye(4)
        if self.nodes[path][1].get("top_level") == "true":
            return self.local(path)  # its transform is global
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        return self.world(parent) @ self.local(path)

    def resource(self, path: str, key: str) -> tuple[str, dict[str, str]]:
        ref = self.nodes[path][1][key]
        rid = re.fullmatch(r'SubResource\("([^"]+)"\)', ref)
        assert rid, ref
        return self.sub[rid.group(1)]

    def find(self, name: str) -> str:
        found = [p for p, (a, _) in self.nodes.items() if a.get("name") == name]
        assert len(found) == 1, (name, found)
        return found[0]

    def kids(self, path: str) -> dict[str, str]:
        """Child name → path."""
        return {a["name"]: p for p, (a, _) in self.nodes.items()
                if p.rsplit("/", 1)[0] == path and p != path and "/" in p}


_DOC = re.compile(r"^--- !u!(\d+) &(-?\d+)[^\n]*\n", re.MULTILINE)


MIRROR = np.diag([-1.0, 1.0, 1.0, 1.0])  # Unity's left-handed frame ↔ glTF's (X mirrored)


class UnityScene:
    def __init__(self, text: str) -> None:
        marks = list(_DOC.finditer(text))
        self.objects: dict[int, tuple[int, dict[str, Any]]] = {}
        for mark, end in zip(marks, [*marks[1:], None], strict=True):
            body = text[mark.end():end.start() if end else len(text)]
            data = yaml.safe_load(body)
            (_kind, value), = data.items()
            self.objects[int(mark.group(2))] = (int(mark.group(1)), value)
        self.gos = {fid: v for fid, (cls, v) in self.objects.items() if cls == 1}

    def components(self, go: int, cls: int) -> list[dict[str, Any]]:
        out = []
        for ref in self.gos[go]["m_Component"]:
            kind, value = self.objects[ref["component"]["fileID"]]
            if kind == cls:
                out.append(value)
        return out

    def transform(self, go: int) -> dict[str, Any]:
        return self.components(go, 4)[0]

    def go_of(self, transform_id: int) -> int:
        return int(self.objects[transform_id][1]["m_GameObject"]["fileID"])

    def world(self, go: int) -> Points:
        """The GameObject's localToWorld, converted to glTF's frame."""
        t = self.transform(go)
        r, p, s = t["m_LocalRotation"], t["m_LocalPosition"], t["m_LocalScale"]
        local = np.eye(4)
        local[:3, :3] = _rotation(r["x"], r["y"], r["z"], r["w"]) @ np.diag(
            [s["x"], s["y"], s["z"]])
        local[:3, 3] = [p["x"], p["y"], p["z"]]
        father = t["m_Father"]["fileID"]
        unity = (self._unity_world(self.go_of(father)) if father else np.eye(4)) @ local
        return MIRROR @ unity @ MIRROR

    def _unity_world(self, go: int) -> Points:
        return MIRROR @ self.world(go) @ MIRROR

    def find(self, name: str) -> int:
        found = [fid for fid, go in self.gos.items() if go["m_Name"] == name]
        assert len(found) == 1, (name, found)
        return found[0]

    def kids(self, go: int) -> dict[str, int]:
        return {self.gos[self.go_of(c["fileID"])]["m_Name"]: self.go_of(c["fileID"])
                for c in self.transform(go)["m_Children"]}


def _rotation(x: float, y: float, z: float, w: float) -> Points:
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
