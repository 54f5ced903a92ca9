import pytest

from pacai_export.errors import InvalidJob
from pacai_export.jobs import ExportJob

BASE = {"project_id": "forest-arena", "engines": ["godot"], "include_assets": False,
        "quality": "low"}


def test_engines_are_deduplicated_in_canonical_order() -> None:
    job, extras = ExportJob.parse({**BASE, "engines": ["ue5", "godot", "ue5", "unity"],
                                   "priority": 5})
    assert job.engines == ("godot", "unity", "ue5")
    assert extras == ["priority"]
    assert job.effective_seed == "forest-arena"


@pytest.mark.parametrize(("patch", "message"), [
    ({"engines": ["godot", "cryengine"]},
     "engines[1]: 'cryengine' is not one of ue5, unity, godot"),
    ({"engines": []}, "engines: must name at least one of ue5, unity, godot"),
    ({"quality": "ultra"}, "quality: 'ultra' is not one of low, medium, high"),
    ({"project_id": "../../etc"},
     "project_id: '../../etc' must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
    ({"include_assets": "yes"}, "include_assets: Input should be a valid boolean"),
    ({"project_id": "abc\n"}, "project_id: 'abc\\n' must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
    ({"project_id": None}, "project_id: Input should be a valid string"),
])
def test_invalid_fields_are_named(patch: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidJob) as info:
        ExportJob.parse({**BASE, **patch})
    assert str(info.value) == message


def test_missing_field() -> None:
    data = dict(BASE)
    del data["quality"]
    with pytest.raises(InvalidJob, match=r"^quality: is required$"):
        ExportJob.parse(data)


def test_non_object() -> None:
    with pytest.raises(InvalidJob, match=r"^job data must be a JSON object, got list$"):
        ExportJob.parse([1, 2])
