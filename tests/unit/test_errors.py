"""Errors carry data: ``errors`` (JSON path → message) and ``status``, for every class."""

from __future__ import annotations

import pytest

from pacai_export import errors
from pacai_export.api.problems import field_errors
from pacai_export.assets.location import located
from pacai_export.errors import ExportError, InvalidJob, InvalidManifest, VerificationFailed
from pacai_export.jobs import ExportJob
from pacai_export.manifest import parse_manifest
from pacai_export.settings import Limits
from tests.helpers import small_manifest


def _classes(root: type[ExportError]) -> list[type[ExportError]]:
    found = []
    for cls in root.__subclasses__():
        found += [cls, *_classes(cls)]
    return found


@pytest.mark.parametrize("cls", [c for c in _classes(ExportError) if c is not VerificationFailed],
                         ids=lambda c: c.__name__)
def test_every_class_is_built_alike_and_keeps_its_data(cls: type[ExportError]) -> None:
    exc = cls("asset 'a': the server answered HTTP 404", errors={"assets[0].uri": "not found"},
              status=404)
    assert (str(exc), exc.errors, exc.status) == (
        "asset 'a': the server answered HTTP 404", {"assets[0].uri": "not found"}, 404)
    plain = cls("message only")
    assert (plain.errors, plain.status) == ({}, None)
    assert cls.__name__ in errors.__doc__  # drawn in the tree


def test_an_invalid_job_names_each_field_in_its_errors() -> None:
    with pytest.raises(InvalidJob) as caught:
        ExportJob.parse({"project_id": "p", "engines": ["godot", "cryengine"],
                         "include_assets": "yes", "quality": "high", "extra": 1})
    exc = caught.value
    assert sorted(exc.errors) == ["engines[1]", "include_assets"]
    assert exc.errors["engines[1]"] == "'cryengine' is not one of ue5, unity, godot"
    assert exc.errors["include_assets"] == "Input should be a valid boolean"
    # The message is the same pairs, joined: what logs and callbacks have always carried.
    assert str(exc) == "; ".join(f"{path}: {message}" for path, message in exc.errors.items())
    assert field_errors(exc) == [{"field": path, "message": message}
                                 for path, message in exc.errors.items()]


def test_an_error_that_blames_no_field_is_one_entry_for_the_body() -> None:
    with pytest.raises(InvalidJob) as caught:
        ExportJob.parse([1, 2])
    assert caught.value.errors == {}
    assert field_errors(caught.value) == [
        {"field": "$", "message": "job data must be a JSON object, got list"}]


def test_an_invalid_manifest_splits_reference_problems_into_paths() -> None:
    manifest = small_manifest("p")
    nodes = manifest["scenes"][0]["nodes"]
    nodes[0]["parent"] = "missing"
    nodes.append({**nodes[0], "id": "b", "parent": "also-missing"})
    last = len(nodes) - 1
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(manifest, Limits())
    # One model-level error of two reference lines becomes two paths.
    assert caught.value.errors == {
        "manifest.scenes[0].nodes[0].parent": "'missing' is not a node of scene 'main'",
        f"manifest.scenes[0].nodes[{last}].parent": "'also-missing' is not a node of scene 'main'",
    }
    assert str(caught.value) == "; ".join(
        f"{path}: {message}" for path, message in caught.value.errors.items())


@pytest.mark.parametrize("cls", [c for c in _classes(ExportError) if c is not VerificationFailed],
                         ids=lambda c: c.__name__)
def test_the_location_boundary_keeps_class_and_data(cls: type[ExportError]) -> None:
    with pytest.raises(cls) as caught, located("assets[0] 'rock' (rock.png)"):
        raise cls("the server answered HTTP 404", errors={"uri": "not found"}, status=404)
    exc = caught.value
    assert type(exc) is cls
    assert (str(exc), exc.errors, exc.status) == (
        "assets[0] 'rock' (rock.png): the server answered HTTP 404", {"uri": "not found"}, 404)
