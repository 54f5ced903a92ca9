import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from pacai_export.errors import InvalidManifest, LimitExceeded
from pacai_export.manifest import decode_manifest_bytes, json_schema, parse_manifest
from pacai_export.settings import Limits
from tests.helpers import small_manifest

ROOT = Path(__file__).resolve().parents[2]


def bad(mutate: Any) -> str:
    m = small_manifest()
    mutate(m)
    with pytest.raises(InvalidManifest) as info:
        parse_manifest(m, Limits())
    return str(info.value)


def test_example_is_valid() -> None:
    manifest = parse_manifest(small_manifest(), Limits())
    assert manifest.main.id == "main"
    assert len(manifest.main.nodes) == 12


def test_unknown_parent_names_the_path() -> None:
    def mutate(m: dict[str, Any]) -> None:
        m["scenes"][0]["nodes"][2]["parent"] = "missing"
    assert bad(mutate) == ("manifest.scenes[0].nodes[2].parent: 'missing' is not a node of "
                           "scene 'main'")


def test_every_reference_problem_is_reported_at_once() -> None:
    def mutate(m: dict[str, Any]) -> None:
        nodes = m["scenes"][0]["nodes"]
        nodes[0]["material"] = "mat_nope"
        nodes[3]["parent"] = "tree_01"
        nodes[2]["parent"] = "tree_02"
        nodes[4]["id"] = "ground"
        m["main_scene"] = "other"
    assert bad(mutate).split("; ") == [
        "manifest.scenes[0].nodes[4].id: duplicate id 'ground'",
        "manifest.scenes[0].nodes[0].material: 'mat_nope' is not a material id",
        "manifest.scenes[0].nodes[2].parent: parent cycle 'tree_01' -> 'tree_02' -> 'tree_01'",
        "manifest.main_scene: 'other' is not a scene id",
    ]


def test_shape_errors_name_the_path() -> None:
    def mutate(m: dict[str, Any]) -> None:
        m["scenes"][0]["nodes"][4]["transform"]["rotation"] = [0, 0, 0, 2]
        m["materials"][0]["roughness"] = 3
    assert bad(mutate).split("; ") == [
        "manifest.materials[0].roughness: Input should be less than or equal to 1",
        "manifest.scenes[0].nodes[4].transform.rotation: must be a unit quaternion [x, y, z, w], "
        "its length is 2.0000",
    ]


def test_wrong_asset_kind() -> None:
    def mutate(m: dict[str, Any]) -> None:
        m["materials"][1]["base_color_texture"] = "sfx_coin"
    assert bad(mutate) == ("manifest.materials[1].base_color_texture: asset 'sfx_coin' is of "
                           "type audio, not texture")


def test_project_id_must_match_the_job() -> None:
    with pytest.raises(InvalidManifest, match="does not match the job's project_id 'other'"):
        parse_manifest(small_manifest(), Limits(), expected_id="other")


def test_node_limit_is_checked_before_validation() -> None:
    m = small_manifest()
    with pytest.raises(LimitExceeded, match=r"^manifest.scenes: 12 nodes exceed the limit of 5$"):
        parse_manifest(m, Limits(nodes=5))


def test_published_schema_is_the_models_schema() -> None:
    published = json.loads((ROOT / "schemas" / "manifest.v1.json").read_text())
    assert published == json_schema()


def test_schema_accepts_the_example() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(copy.deepcopy(small_manifest()), json_schema())


def test_hierarchy_depth_is_limited() -> None:
    m = small_manifest()
    chain = [{"id": f"n{i}", **({"parent": f"n{i - 1}"} if i else {})} for i in range(300)]
    m["scenes"][0]["nodes"] = chain
    with pytest.raises(LimitExceeded, match=r"^manifest.scenes\[0\].nodes\[256\].parent: the "
                       r"hierarchy is deeper than 256 levels$"):
        parse_manifest(m, Limits())
    assert parse_manifest(m, Limits(hierarchy_depth=300)).main.nodes[-1].id == "n299"


def test_default_limits_hold_200000_named_nodes() -> None:
    """Contract §13: the default manifest size limit is large enough for 200,000 nodes."""
    m = small_manifest()
    m["scenes"][0]["nodes"] = [
        {"id": f"node_{i:06d}", "name": f"Tree {i}", "parent": "node_000000" if i else None,
         "mesh": {"primitive": "cylinder", "radius": 0.25, "height": 4.0}, "material": "mat_gold",
         "transform": {"translation": [i * 0.5, 1.25, -i * 0.25],
                       "rotation": [0.0, 0.3826834, 0.0, 0.9238795], "scale": [1.1, 1.1, 1.1]}}
        for i in range(200_000)]
    raw = orjson.dumps(m)
    limits = Limits()
    assert len(raw) <= limits.manifest_bytes
    decoded = decode_manifest_bytes(raw, limits, "big.json")
    assert isinstance(decoded, dict) and len(decoded["scenes"][0]["nodes"]) == 200_000
    decoded["scenes"][0]["nodes"].append({"id": "one_more"})
    with pytest.raises(LimitExceeded, match=r"^manifest.scenes: 200001 nodes exceed the limit "
                                            r"of 200000$"):
        parse_manifest(decoded, limits)


def test_manifest_bytes_over_the_limit_are_refused_before_decoding() -> None:
    with pytest.raises(LimitExceeded, match=r"^manifest \(p.json\): 11 bytes exceed the limit "
                                            r"of 10$"):
        decode_manifest_bytes(b'{"a": "bc"}', Limits(manifest_bytes=10), "p.json")
    with pytest.raises(InvalidManifest, match=r"^manifest \(p.json\): not valid JSON: "):
        decode_manifest_bytes(b'{"a": ', Limits(), "p.json")
