"""Plain props (a mesh under a material, nothing else) take Unity's fast path: one f-string
and their ids hashed together. Its output must be the bytes of the general path."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pacai_export.engines import unity, write_engine
from pacai_export.engines.base import BuildContext
from pacai_export.engines.ids import UnityFileIds, unity_file_id
from pacai_export.manifest import Manifest, parse_manifest
from pacai_export.settings import Limits
from tests.engines.fidelity_scene import fidelity_manifest
from tests.helpers import stress_manifest


def _mixed_manifest() -> dict[str, Any]:
    """Plain props at the root and under parents, beside nodes that are not plain: a rigid
    body, a scaled sphere, a capsule, a prop with a component, a parent with children
    (plain itself, but not a leaf)."""
    manifest = stress_manifest("plain", 300)
    nodes = manifest["scenes"][0]["nodes"]
    nodes += [
        {"id": "root_box", "mesh": {"primitive": "box"}, "material": "mat_gold"},
        {"id": "root_plain_default", "name": "Ünïcode \"quoted\" / name", "mesh":
         {"primitive": "sphere"}},
        {"id": "rigid", "mesh": {"primitive": "box"}, "body": "rigid"},
        {"id": "big", "mesh": {"primitive": "sphere", "radius": 2.0}},
        {"id": "pill", "mesh": {"primitive": "capsule"}},
        {"id": "spinner", "mesh": {"primitive": "box"}, "components": [{"type": "spin"}]},
        {"id": "holder", "mesh": {"primitive": "box"},
         "transform": {"rotation": [0, 0.7071068, 0, 0.7071068], "scale": [2, 1, 1]}},
        {"id": "held", "parent": "holder", "mesh": {"primitive": "box"},
         "transform": {"translation": [1.5, -2.25, 0.125]}},
    ]
    # Turned plain props (the rotation text is cached per rotation): a unit quaternion, one
    # a little off unit length (normalised on the way), negative zeros, the same rotation
    # twice, scaled and mirrored.
    turns = [[0, 0.7071068, 0, 0.7071068], [0.1, -0.2, 0.3, 0.9277], [-0.0, 0.0, -0.0, -1.0],
             [0, 0.7071068, 0, 0.7071068]]
    nodes += [{"id": f"turned_{i}", "parent": "group_0001", "mesh": {"primitive": "box"},
               "material": "mat_gold", "transform": {"translation": [-0.0, 2.5, -1e-7],
                                                     "rotation": q, "scale": [1, -2, 0.5]}}
              for i, q in enumerate(turns)]
    return manifest


def _parse(data: dict[str, Any]) -> Manifest:
    return parse_manifest(data, Limits())


def _digest(files: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        h.update(path.encode() + b"\0" + (content if isinstance(content, bytes)
                                          else str(content).encode()) + b"\0")
    return h.hexdigest()


@pytest.mark.parametrize("make", [_mixed_manifest, fidelity_manifest])
def test_plain_props_render_the_bytes_of_the_general_path(make: Any, monkeypatch: Any) -> None:
    manifest = make()
    parsed = _parse(manifest)
    plain = [n for n in parsed.scenes[0].nodes if unity._plain(n)]
    ctx = BuildContext(manifest=parsed, seed="s", quality="high",
                       include_assets=False)
    fast = write_engine("unity", ctx)
    monkeypatch.setattr(unity, "_plain", lambda _node: False)
    general = write_engine("unity", ctx)
    assert fast.keys() == general.keys()
    for path in fast:
        assert fast[path] == general[path], path
    assert _digest(fast) == _digest(general)
    if make is _mixed_manifest:
        assert {n.id for n in plain} >= {"root_box", "root_plain_default", "held",
                                         "turned_0", "turned_1", "turned_2", "turned_3"}
        assert not {n.id for n in plain} & {"rigid", "big", "pill", "spinner"}


@pytest.mark.parametrize("key", ["n:n000001", "n:Ünï\"co\\de", "n:tab\there", "n:" + "x" * 300])
def test_leaf_file_ids_are_the_ids_hashed_one_by_one(key: str) -> None:
    ids = UnityFileIds("seed ✓", "Assets/Scenes/Main.unity")
    prefixes = ("t:", "g:", "mf:", "mr:")
    expected = [unity_file_id("seed ✓", "Assets/Scenes/Main.unity", p + key) for p in prefixes]
    assert list(ids.leaf(key)) == expected
    assert [ids(p + key) for p in prefixes] == expected


class _CrowdedFileIds(UnityFileIds):
    """The real ids folded into 4,093 values (a test double: real 63-bit ids never meet), so
    a few hundred props collide often, within a prop too, and the salting path runs."""

    salted = 0

    def __call__(self, key: str) -> int:
        _CrowdedFileIds.salted += key.endswith("#")
        return super().__call__(key) % 4093 + (1 << 20)

    def leaf(self, key: str) -> tuple[int, int, int, int]:
        t, g, mf, mr = (self(p + key) for p in ("t:", "g:", "mf:", "mr:"))
        return t, g, mf, mr


def test_plain_props_resolve_colliding_ids_as_the_general_path(monkeypatch: Any) -> None:
    monkeypatch.setattr(unity, "UnityFileIds", _CrowdedFileIds)
    monkeypatch.setattr(_CrowdedFileIds, "salted", 0)
    ctx = BuildContext(manifest=_parse(_mixed_manifest()), seed="s", quality="high",
                       include_assets=False)
    fast = write_engine("unity", ctx)
    fast_salted, _CrowdedFileIds.salted = _CrowdedFileIds.salted, 0
    monkeypatch.setattr(unity, "_plain", lambda _node: False)
    general = write_engine("unity", ctx)
    assert fast_salted > 10 and _CrowdedFileIds.salted == fast_salted
    for path in fast:
        assert fast[path] == general[path], path
