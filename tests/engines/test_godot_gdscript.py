"""Godot output checked by independent tools: gdtoolkit parses and lints every generated
``.gd``; a small ``.tscn`` reader resolves every resource, node path, script and ``uid://``."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from gdtoolkit.linter import DEFAULT_CONFIG, lint_code  # type: ignore[import-untyped]
from gdtoolkit.parser import parser  # type: ignore[import-untyped]
from lark import Tree

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.engines.components import COMPONENTS
from pacai_export.files import AssetFile
from pacai_export.manifest import Manifest
from tests.helpers import small_manifest, stress_manifest

ALL_COMPONENTS = ("spin", "bob", "player_controller", "pickup", "spawn_point", "trigger_zone")


def all_components_manifest() -> dict[str, Any]:
    """The example project plus nodes that use all six component types, alone, stacked on one
    node (so some become helper children) and on every kind of primary node."""
    manifest = small_manifest("gd-check", "GDScript Check")
    manifest["assets"] += [
        {"id": "mdl_tree", "type": "model", "uri": "tree.glb"},
        {"id": "mdl_rock", "type": "model", "uri": "rock.glb",
         "bounds": {"min": [-1, 0, -1], "max": [1, 2, 1]}},
    ]
    nodes = manifest["scenes"][0]["nodes"]
    every = [{"type": t, "params": {}} for t in ALL_COMPONENTS]
    nodes += [
        {"id": "everything", "name": "Everything", "components": every,
         "transform": {"translation": [1, 2, 3]}},
        {"id": "spinner", "name": "Spinner", "mesh": {"primitive": "box"},
         "components": [{"type": "spin", "params": {"axis": [1, 0, 0],
                                                    "degrees_per_second": 45}}]},
        {"id": "bobber", "name": "Bobber", "parent": "spinner", "model": "mdl_tree",
         "components": [{"type": "bob", "params": {"amplitude": 1, "frequency": 2}}]},
        {"id": "rock", "name": "Rock", "model": "mdl_rock",
         "components": [{"type": "pickup", "params": {"value": 5, "radius": 2}}]},
        {"id": "zone", "name": "Zone", "collider": {"shape": "box", "size": [4, 2, 4]},
         "components": [{"type": "trigger_zone", "params": {"size": [4, 2, 4],
                                                            "event": 'door "A"'}},
                        {"type": "mystery", "params": {"x": [1, {"y": "z"}]}}]},
        {"id": "lamp_spawn", "name": "Lamp", "light": {"type": "spot"},
         "components": [{"type": "spawn_point", "params": {"index": 2}}]},
        {"id": "cam_player", "name": "Cam", "camera": {"projection": "orthographic", "ymag": 3},
         "components": [{"type": "player_controller", "params": {"speed": 7}}]},
    ]
    return manifest


def _ctx(tmp_path: Path, manifest: dict[str, Any]) -> BuildContext:
    m = Manifest.model_validate(manifest)
    assets: dict[str, AssetFile] = {}
    for asset in m.assets:
        ext = {"model": ".glb", "texture": ".png", "audio": ".wav"}[asset.type]
        if asset.id == "mdl_rock":
            continue  # left out: a placeholder sized from its bounds
        path = tmp_path / f"{asset.id}{ext}"
        path.write_bytes(b"stand-in bytes")
        assets[asset.id] = AssetFile(asset.id, f"{asset.id}{ext}", path)
    return BuildContext(m, "gd-seed", "high", True, assets)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return write_engine("godot", _ctx(tmp_path, all_components_manifest()))


def _text(files: Files, path: str) -> str:
    content = files[path]
    assert isinstance(content, bytes), path
    return content.decode("utf-8")


# --- GDScript: gdtoolkit's parser and linter ------------------------------------------------

# Every default gdlint rule stays on, with its default settings: none is disabled.
LINT_CONFIG = dict(DEFAULT_CONFIG)


def _exports(tree: Tree[Any]) -> dict[str, str]:
    """``@export var name: Type`` declarations at the top level of a parsed script."""
    out: dict[str, str] = {}
    children = list(tree.children)
    for before, stmt in itertools.pairwise(children):
        if not (isinstance(before, Tree) and before.data == "annotation"
                and str(before.children[0]) == "export"):
            continue
        assert isinstance(stmt, Tree) and stmt.data == "class_var_stmt", stmt
        decl = stmt.children[0]
        assert isinstance(decl, Tree) and decl.data.startswith("class_var_typed"), decl
        out[str(decl.children[0])] = str(decl.children[1])
    return out


def _extends(tree: Tree[Any]) -> str:
    stmt = next(c for c in tree.children if isinstance(c, Tree) and c.data == "extends_stmt")
    return str(stmt.children[0])


def test_every_script_parses_and_lints_clean(files: Files) -> None:
    scripts = sorted(p for p in files if p.endswith(".gd"))
    assert scripts == [f"scripts/{t}.gd" for t in sorted(ALL_COMPONENTS)]
    problems: list[str] = []
    for path in scripts:
        text = _text(files, path)
        tree = parser.parse(text)  # raises on any syntax error
        assert _extends(tree) == "Node3D"
        type_ = path.removeprefix("scripts/").removesuffix(".gd")
        exported = _exports(tree)
        # every parameter the scenes assign is an exported variable of a matching type
        for name, default in COMPONENTS[type_].items():
            expected = {float: "float", int: "int", str: "String", tuple: "Vector3"}[type(default)]
            assert exported.get(name) == expected, (path, name, exported)
        problems += [f"{path}:{p.line}: {p.name}: {p.description}"
                     for p in lint_code(text, LINT_CONFIG)]
    assert not problems, "\n".join(problems)


# --- .tscn: a small independent reader ------------------------------------------------------

HEADER_RE = re.compile(r"^\[(gd_scene|gd_resource|ext_resource|sub_resource|node|connection|"
                       r"editable)\b(.*)\]$")
ATTR_RE = re.compile(r'\s+(\w+)=("(?:[^"\\]|\\.)*"|\w+\("(?:[^"\\]|\\.)*"\)|[^\s\]"]+)')
UID_RE = re.compile(r"uid://([a-y0-8]{1,13})")
GODOT_ALPHABET = "abcdefghijklmnopqrstuvwxy012345678"
# Constructors the writer may use, with their argument counts (None: any count).
CONSTRUCTORS = {"Vector2": 2, "Vector3": 3, "Color": 4, "Transform3D": 12,
                "PackedStringArray": None, "PackedFloat32Array": None, "ExtResource": 1,
                "SubResource": 1}
# Node classes that are Node3D (so a script that `extends Node3D` may be attached).
NODE3D_CLASSES = {"Node3D", "Area3D", "StaticBody3D", "RigidBody3D", "AnimatableBody3D",
                  "CharacterBody3D", "MeshInstance3D", "DirectionalLight3D", "OmniLight3D",
                  "SpotLight3D", "Camera3D", "AudioStreamPlayer3D", "CollisionShape3D",
                  "MultiMeshInstance3D"}


@dataclasses.dataclass
class Section:
    tag: str
    attrs: dict[str, str]
    props: dict[str, Any]
    line: int


def _unquote(text: str) -> str:
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", r"\1", text[1:-1])


class _Value:
    """A recursive-descent reader of Godot's Variant text (the subset .tscn files use)."""

    TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?(?:e-?\d+)?)|'
                       r"(?P<name>[A-Za-z_]\w*)|(?P<punct>[\[\]{}(),:]))", re.S)

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = self.TOKEN.match(text, pos)
            assert match, f"bad Variant text at {text[pos:pos + 30]!r}"
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0

    def parse(self) -> Any:
        value = self._value()
        assert self.i == len(self.tokens), f"trailing tokens {self.tokens[self.i:]}"
        return value

    def _next(self) -> tuple[str, str]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _expect(self, punct: str) -> None:
        assert self._next() == ("punct", punct)

    def _value(self) -> Any:
        kind, text = self._next()
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return float(text)
        if kind == "name":
            if text in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[text]
            assert text in CONSTRUCTORS, f"unknown constructor {text}"
            self._expect("(")
            args = self._items(")")
            arity = CONSTRUCTORS[text]
            assert arity is None or len(args) == arity, f"{text} takes {arity}, got {args}"
            return (text, *args)
        if text == "[":
            return self._items("]")
        assert text == "{", text
        out: dict[str, Any] = {}
        while self.tokens[self.i] != ("punct", "}"):
            key = self._value()
            self._expect(":")
            out[key] = self._value()
            if self.tokens[self.i] == ("punct", ","):
                self.i += 1
        self.i += 1
        return out

    def _items(self, close: str) -> list[Any]:
        items: list[Any] = []
        while self.tokens[self.i] != ("punct", close):
            items.append(self._value())
            if self.tokens[self.i] == ("punct", ","):
                self.i += 1
        self.i += 1
        return items


def parse_tscn(text: str) -> list[Section]:
    sections: list[Section] = []
    pending: tuple[str, list[str]] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            key, lines = pending
            sections[-1].props[key] = _Value("\n".join(lines)).parse()
            pending = None

    for number, line in enumerate(text.split("\n"), 1):
        header = HEADER_RE.match(line)
        if header:
            flush()
            rest = header.group(2)
            attrs = dict(ATTR_RE.findall(rest))
            assert ATTR_RE.sub("", rest).strip() == "", f"line {number}: bad header {line!r}"
            sections.append(Section(header.group(1), attrs, {}, number))
            continue
        prop = re.match(r"^([A-Za-z_][\w/]*) = (.*)$", line)
        if prop:
            flush()
            assert sections, f"line {number}: property before any section"
            assert prop.group(1) not in sections[-1].props, f"line {number}: repeated property"
            pending = (prop.group(1), [prop.group(2)])
        elif pending is not None and line != "":
            pending[1].append(line)  # a multi-line value (metadata dictionaries)
        else:
            assert line == "", f"line {number}: stray text {line!r}"
    flush()
    return sections


def _refs(value: Any, kind: str) -> list[str]:
    if isinstance(value, tuple) and value and value[0] == kind:
        return [value[1]]
    if isinstance(value, tuple | list):
        return [r for v in value for r in _refs(v, kind)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v, kind)]
    return []


def _uid_value(uid: str) -> int:
    match = UID_RE.fullmatch(uid)
    assert match, f"malformed uid {uid!r}"
    value = 0
    for ch in match.group(1):
        value = value * len(GODOT_ALPHABET) + GODOT_ALPHABET.index(ch)
    assert 0 < value < 1 << 63, uid
    return value


def check_project(files: Files) -> dict[str, int]:
    """Resolve everything in every .tscn and .import; returns counts of what was checked."""
    uid_of: dict[str, str] = {}  # res path -> uid

    def claim(res: str, uid: str) -> None:
        _uid_value(uid)
        assert uid_of.setdefault(res, uid) == uid, f"{res} has two uids"

    for path in [p for p in files if p.endswith(".import")]:
        text = _text(files, path)
        uid = re.search(r'^uid="([^"]+)"$', text, re.M)
        source = re.search(r'^source_file="res://([^"]+)"$', text, re.M)
        assert uid and source and source.group(1) == path.removesuffix(".import"), path
        assert source.group(1) in files
        claim("res://" + source.group(1), uid.group(1))

    checked = {"scenes": 0, "nodes": 0, "scripts": 0, "ext": 0, "sub": 0}
    for path in sorted(p for p in files if p.endswith(".tscn")):
        sections = parse_tscn(_text(files, path))
        head = sections[0]
        assert head.tag == "gd_scene" and head.attrs["format"] == "3", path
        claim(f"res://{path}", _unquote(head.attrs["uid"]))
        ext: dict[str, Section] = {}
        sub: dict[str, Section] = {}
        nodes: dict[str, str | None] = {}  # node path -> type (None: an instance)
        for section in sections[1:]:
            refs_ext = _refs(list(section.props.values()), "ExtResource")
            refs_sub = _refs(list(section.props.values()), "SubResource")
            if section.tag == "ext_resource":
                rid = _unquote(section.attrs["id"])
                assert rid not in ext, f"{path}: duplicate ext id {rid}"
                res = _unquote(section.attrs["path"])
                assert res.startswith("res://") and res[len("res://"):] in files, (path, res)
                if "uid" in section.attrs:
                    claim(res, _unquote(section.attrs["uid"]))
                ext[rid] = section
                checked["ext"] += 1
            elif section.tag == "sub_resource":
                rid = _unquote(section.attrs["id"])
                assert rid not in sub, f"{path}: duplicate sub id {rid}"
                # a sub_resource may only use resources defined above it
                assert all(r in sub for r in refs_sub), (path, rid, refs_sub)
                assert all(r in ext for r in refs_ext), (path, rid, refs_ext)
                sub[rid] = section
                checked["sub"] += 1
            elif section.tag == "node":
                checked["nodes"] += 1
                name = _unquote(section.attrs["name"])
                assert name and not set('.:@/"%') & set(name), (path, name)
                node_type = _unquote(section.attrs["type"]) if "type" in section.attrs else None
                if "instance" in section.attrs:
                    inst = re.fullmatch(r'ExtResource\("([^"]+)"\)', section.attrs["instance"])
                    assert inst and inst.group(1) in ext, (path, name)
                    assert _unquote(ext[inst.group(1)].attrs["type"]) == "PackedScene"
                    node_type = "Node3D"  # a glTF scene's root
                else:
                    assert node_type is not None, (path, name)
                if "parent" not in section.attrs:
                    assert not nodes, f"{path}: second root {name}"
                    nodes["."] = node_type
                    continue
                parent = _unquote(section.attrs["parent"])
                assert parent in nodes, f"{path}: {name} under {parent!r}, not an earlier node"
                full = name if parent == "." else f"{parent}/{name}"
                assert full not in nodes, f"{path}: duplicate node path {full}"
                nodes[full] = node_type
                assert all(r in ext for r in refs_ext), (path, name, refs_ext)
                assert all(r in sub for r in refs_sub), (path, name, refs_sub)
                script = section.props.get("script")
                if script is not None:
                    checked["scripts"] += 1
                    assert isinstance(script, tuple) and script[0] == "ExtResource"
                    target = ext[script[1]]
                    assert _unquote(target.attrs["type"]) == "Script"
                    res = _unquote(target.attrs["path"])[len("res://"):]
                    assert res.endswith(".gd") and res in files, res
                    tree = parser.parse(_text(files, res))
                    assert _extends(tree) == "Node3D" and node_type in NODE3D_CLASSES, (
                        path, full, node_type)
                    exported = _exports(tree)
                    for key, value in section.props.items():
                        if key in exported:
                            _check_type(exported[key], value, (path, full, key))
                    type_ = Path(res).stem
                    assert set(COMPONENTS[type_]) <= set(section.props), (path, full)
                    if section.props.get("metadata/pacai_acts_on_parent"):
                        assert parent != ".", "a helper needs a node to act on"
            else:
                raise AssertionError(f"{path}: unexpected section {section.tag}")
        # Godot's loader wants ext_resources, then sub_resources, then nodes.
        tags = [s.tag for s in sections]
        rank = {"gd_scene": 0, "ext_resource": 1, "sub_resource": 2, "node": 3}
        assert [rank[t] for t in tags] == sorted(rank[t] for t in tags), f"{path}: order"
        steps = int(head.attrs["load_steps"])
        assert steps == len(ext) + len(sub) + 1, path
        checked["scenes"] += 1
    uids = list(uid_of.values())
    assert len(uids) == len(set(uids)), "two resources share a uid"
    return checked


def _check_type(declared: str, value: Any, where: tuple[str, ...]) -> None:
    if declared == "float":
        assert isinstance(value, float), where
    elif declared == "int":
        assert isinstance(value, float) and value == int(value), where
    elif declared == "String":
        assert isinstance(value, str), where
    elif declared == "Vector3":
        assert isinstance(value, tuple) and value[0] == "Vector3", where


def test_scene_references_resolve(files: Files) -> None:
    checked = check_project(files)
    assert checked["scenes"] == 1 and checked["ext"] >= 9 and checked["sub"] > 10
    # every component instance in the manifest got a script (stacked ones on helper nodes)
    m = all_components_manifest()
    known = sum(1 for s in m["scenes"] for n in s["nodes"] for c in n.get("components", [])
                if c["type"] in COMPONENTS)
    assert checked["scripts"] == known
    main = _text(files, "scenes/main.tscn")
    assert 'event = "door \\"A\\""' in main  # a quoted string param, escaped not broken
    assert "metadata/pacai_components" in main  # the unknown component kept as data
    # a body-less trigger zone must let the player in: an Area3D, not a StaticBody3D
    assert '[node name="Zone" type="Area3D" parent="."]' in main


@pytest.mark.parametrize("make", [small_manifest, lambda: stress_manifest("gd-stress", 250)])
def test_other_projects_resolve(tmp_path: Path, make: Any) -> None:
    check_project(write_engine("godot", _ctx(tmp_path, make())))


def test_reader_catches_broken_scenes() -> None:
    """The reader is not a rubber stamp: each kind of breakage is refused."""
    good = ('[gd_scene load_steps=2 format=3 uid="uid://b1"]\n\n'
            '[sub_resource type="BoxMesh" id="m"]\nsize = Vector3(1, 2, 3)\n\n'
            '[node name="Root" type="Node3D"]\n\n'
            '[node name="A" type="MeshInstance3D" parent="."]\nmesh = SubResource("m")\n')
    check_project({"scenes/a.tscn": good.encode()})
    broken = [
        good.replace('SubResource("m")', 'SubResource("x")'),  # dangling sub_resource
        good.replace('parent="."', 'parent="Nope"'),  # parent is not an earlier node
        good.replace("Vector3(1, 2, 3)", "Vector3(1, 2)"),  # wrong arity
        good.replace('uid="uid://b1"', 'uid="uid://z9"'),  # not Godot's uid alphabet
        good.replace("load_steps=2", "load_steps=3"),
        good + '\n[node name="B" type="Node3D" parent="."]\nscript = ExtResource("s")\n',
    ]
    for text in broken:
        with pytest.raises((AssertionError, KeyError)):
            check_project({"scenes/a.tscn": text.encode()})
