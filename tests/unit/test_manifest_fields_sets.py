"""The manifest's models share their fields sets (memory of big scenes); what pydantic does
with those sets must not change."""

from __future__ import annotations

import pickle
from typing import Any

from pacai_export.manifest import Manifest, Node, parse_manifest
from pacai_export.settings import Limits
from tests.helpers import stress_manifest


def _manifest() -> Manifest:
    data: dict[str, Any] = stress_manifest("sets", 200)
    return parse_manifest(data, Limits())


def _props(manifest: Manifest) -> list[Node]:
    return [n for n in manifest.scenes[0].nodes if n.mesh is not None]


def test_nodes_given_the_same_fields_share_one_set() -> None:
    props = _props(_manifest())
    assert len(props) == 200
    assert props[0].model_fields_set == {"id", "name", "parent", "mesh", "material",
                                         "transform"}
    assert len({id(n.__pydantic_fields_set__) for n in props}) == 1
    assert len({id(n.transform.__pydantic_fields_set__) for n in props}) == 1
    assert props[0].transform.model_fields_set == {"translation"}
    sun = _manifest().scenes[0].nodes[0]
    assert sun.model_fields_set == {"id", "light"}


def test_a_copy_with_updates_leaves_the_shared_set_alone() -> None:
    props = _props(_manifest())
    moved = props[0].model_copy(update={"body": "static"})
    assert moved.model_fields_set == {"id", "name", "parent", "mesh", "material", "transform",
                                      "body"}
    assert props[1].model_fields_set == {"id", "name", "parent", "mesh", "material",
                                         "transform"}
    assert props[1].model_dump(exclude_unset=True).keys() == {
        "id", "name", "parent", "mesh", "material", "transform"}


def test_pickled_manifests_keep_fields_and_sharing() -> None:
    manifest = _manifest()
    copy = pickle.loads(pickle.dumps(manifest))
    assert copy == manifest
    props = _props(copy)
    assert len({id(n.__pydantic_fields_set__) for n in props}) == 1
    assert props[5].model_dump(exclude_unset=True) == _props(manifest)[5].model_dump(
        exclude_unset=True)
