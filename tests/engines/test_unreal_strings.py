"""Every string the UE writer puts into a file is encoded for that file's format.

Hostile names (newlines, quotes, brackets, INI comment and assignment characters, backslashes,
very long values) go through a manifest; each file is read back the way Unreal reads it:
``Config/*.ini`` by the rules of UE's config parser (FConfigFile::ProcessInputFileContents in
ConfigCacheIni.cpp: ``[Section]`` lines, ``Key=Value``, and a value starting with ``"`` read by
FParse::QuotedString, which understands ``\\\\`` and ``\\"``), the ``.uproject`` and
``scene.json`` as JSON, the bootstrap as Python, and actor labels, folders and tags as the
bootstrap would hand them to the editor.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.engines.unreal import BOOTSTRAP
from pacai_export.manifest import Manifest

HOSTILE_NAME = '"Quoted" Arena\n[/Script/Engine.Engine]\r\nGameEngine=Hack; x=\\"y\\" ] \\'
HOSTILE_VERSION = '1.0"\n+StartupScripts=evil.py'
HOSTILE_LABEL = 'Node "A"\n/[B]\\ {C}: 1.0'


def ue_ini(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → keys → values, read the way UE's config parser reads them."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a value outside any section: {raw!r}"
        key, _, value = line.partition("=")
        value = value.strip()
        if value.startswith('"'):
            value = quoted_string(value)
        current.setdefault(key.strip().lstrip("+-.!"), []).append(value)
    return sections


def quoted_string(value: str) -> str:
    """FParse::QuotedString: up to the closing quote, ``\\\\`` and ``\\"`` unescaped."""
    out, i = [], 1
    while i < len(value) and value[i] != '"':
        if value[i] == "\\" and i + 1 < len(value):
            i += 1
        out.append(value[i])
        i += 1
    assert i < len(value), f"no closing quote in {value!r}"
    assert value[i + 1:].strip() == "", f"text after the closing quote in {value!r}"
    return "".join(out)


def one_line(text: str) -> str:
    """What a single-line value keeps of free text: control characters become spaces."""
    cleaned = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    return " ".join(cleaned.split())


def hostile_manifest() -> dict[str, Any]:
    return {
        "schema": "pacai.manifest/v1",
        "project": {"id": "hostile", "name": HOSTILE_NAME, "version": HOSTILE_VERSION},
        "materials": [{"id": "mat_a", "base_color": [1, 0, 0, 0.5]}],
        "scenes": [{"id": "main", "name": HOSTILE_LABEL, "nodes": [
            {"id": "group", "name": HOSTILE_LABEL},
            {"id": "box", "name": HOSTILE_LABEL, "parent": "group", "material": "mat_a",
             "mesh": {"primitive": "box"},
             "components": [
                 {"type": 'odd"]\n[x', "params": {'k"\n=': "v\n[y]", "long": "z" * 5000}},
                 {"type": "pickup", "params": {"score": 5, "value": 2}}]},
        ]}],
        "main_scene": "main",
    }


def _export() -> tuple[Manifest, Files]:
    manifest = Manifest.model_validate(hostile_manifest())
    return manifest, write_engine("ue5", BuildContext(manifest, "s", "high", False, {}))


def _text(files: Files, path: str) -> str:
    content = files[path]
    assert isinstance(content, bytes)
    return content.decode("utf-8")


def test_ini_values_cannot_inject() -> None:
    _manifest, files = _export()
    game = ue_ini(_text(files, "Config/DefaultGame.ini"))
    assert list(game) == ["/Script/EngineSettings.GeneralProjectSettings"]
    settings = game["/Script/EngineSettings.GeneralProjectSettings"]
    assert sorted(settings) == ["ProjectID", "ProjectName", "ProjectVersion"]
    assert settings["ProjectName"] == [one_line(HOSTILE_NAME)]
    assert settings["ProjectVersion"] == [one_line(HOSTILE_VERSION)]
    engine = ue_ini(_text(files, "Config/DefaultEngine.ini"))
    assert sorted(engine) == ["/Script/EngineSettings.GameMapsSettings",
                              "/Script/PythonScriptPlugin.PythonScriptPluginSettings"]
    assert engine["/Script/PythonScriptPlugin.PythonScriptPluginSettings"]["StartupScripts"] \
        == ["pacai_bootstrap.py"]


def test_json_files_round_trip() -> None:
    _manifest, files = _export()
    uproject = json.loads(_text(files, next(p for p in files if p.endswith(".uproject"))))
    assert uproject["Description"] == HOSTILE_NAME
    scene = json.loads(_text(files, "SourceArt/scene.json"))
    assert scene["project"]["name"] == HOSTILE_NAME
    box = next(n for n in scene["scenes"][0]["nodes"] if n["id"] == "box")
    odd = box["components"][0]
    assert odd["type"] == 'odd"]\n[x' and odd["params"]['k"\n='] == "v\n[y]"


def test_generated_python_carries_no_manifest_text() -> None:
    _manifest, files = _export()
    source = _text(files, "Content/Python/pacai_bootstrap.py")
    assert source == BOOTSTRAP
    compile(source, "pacai_bootstrap.py", "exec")


def test_labels_folders_and_tags_are_safe_for_the_editor() -> None:
    _manifest, files = _export()
    namespace: dict[str, Any] = {"__name__": "pacai_bootstrap_plan"}
    exec(compile(_text(files, "Content/Python/pacai_bootstrap.py"), "bootstrap", "exec"),
         namespace)
    scene = json.loads(_text(files, "SourceArt/scene.json"))
    actions = namespace["plan"](scene["scenes"][0])
    invalid = set('"\',/.:|&!~@#(){}[]=;^%$`*?<>\\')  # UE's INVALID_OBJECTNAME_CHARACTERS
    for action in actions:
        label = action["label"]
        assert not invalid & set(label), label
        assert all(not unicodedata.category(c).startswith("C") for c in label), label
        for part in filter(None, action["folder"].split("/")):
            assert not invalid & set(part) and part.strip() == part, action["folder"]
        for tag in action["tags"]:
            assert len(tag) < 1024, "an FName holds at most 1023 characters"
            assert "\n" not in tag and "\r" not in tag, tag
    tags = next(a for a in actions if a.get("node") == "box")["tags"]
    # nothing the manifest gives is dropped: every component and parameter is a tag
    assert "pacai:pickup" in tags and "pacai:pickup.score=5" in tags
    assert "pacai:pickup.value=2" in tags
    assert 'pacai:odd\\"]\\n[x' in tags  # the type, JSON-escaped
    long_tag = next(t for t in tags if ".long=" in t)
    assert long_tag.endswith("=<5002 characters: see SourceArt/scene.json>")
