"""The PacaiGameplay plugin's C++ compiles for syntax and types against UE's declarations.

No Unreal toolchain runs here, so ``g++ -fsyntax-only -std=c++20`` checks every ``.cpp`` of the
plugin against ``tests/engines/ue_decls``: minimal mirrors of the UE 5 headers the plugin
includes, each naming the UE source file it mirrors (see its README for which declarations were
checked against a public copy of the header). The ``X.generated.h`` files UnrealHeaderTool
would write are made here from each class's declared base (``Super``, ``ThisClass``,
``StaticClass``). A deliberately broken copy proves the check can fail. What this does not
check: UHT's own rules (specifiers, reflection of the properties) and linking.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from pacai_export.engines import unreal, write_engine
from pacai_export.engines.base import BuildContext
from pacai_export.manifest import Manifest
from tests.engines.ue_components import components_manifest
from tests.engines.ue_plugin_build import DECLS, GXX, SOURCE, needs_gxx, plugin_tree


def _compile(root: Path, source: Path) -> subprocess.CompletedProcess[str]:
    assert GXX is not None
    return subprocess.run(
        [GXX, "-fsyntax-only", "-std=c++20", "-Wall", "-Werror", "-Wno-unused-value",
         f"-I{root / SOURCE / 'Public'}", f"-I{DECLS}", f"-I{root / 'generated'}", str(source)],
        capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, LC_ALL="C"))  # ASCII quotes in the messages


@needs_gxx
def test_every_source_compiles_for_syntax_and_types(tmp_path: Path) -> None:
    root = plugin_tree(tmp_path)
    sources = sorted((root / SOURCE / "Private").glob("*.cpp"))
    assert [s.name for s in sources] == [
        "PacaiBobComponent.cpp", "PacaiCharacter.cpp", "PacaiGameMode.cpp",
        "PacaiGameplayModule.cpp", "PacaiPickupComponent.cpp", "PacaiPlayerStart.cpp",
        "PacaiTriggerComponent.cpp"]
    for source in sources:
        done = _compile(root, source)
        assert done.returncode == 0, (source.name, done.stderr[-3000:])


@needs_gxx
@pytest.mark.parametrize("file,good,bad,error", [
    ("PacaiCharacter.cpp", "Movement->JumpZVelocity = JumpVelocity;",
     "Movement->JumpVelocity = JumpVelocity;", "has no member named 'JumpVelocity'"),
    ("PacaiPickupComponent.cpp", "UGameplayStatics::GetPlayerPawn(this, 0)",
     "UGameplayStatics::GetPlayerPawn(0)", "no matching function"),
    ("PacaiGameMode.cpp", "AttachToActor(Character, FAttachmentTransformRules",
     "AttachToActor(Start, FAttachmentTransformRules", "invalid conversion"),
    ("PacaiTriggerComponent.cpp", "OnEntered.Broadcast(Player, EventName)",
     "OnEntered.Broadcast(EventName)", "no matching function"),
    ("PacaiBobComponent.cpp", "Root->SetRelativeLocation(Start + OffsetAt(Cycles));",
     "Owner->SetRelativeLocation(Start + OffsetAt(Cycles));", "has no member named"),
])
def test_a_wrong_declaration_use_fails(tmp_path: Path, file: str, good: str, bad: str,
                                       error: str) -> None:
    root = plugin_tree(tmp_path)
    source = root / SOURCE / "Private" / file
    text = source.read_text("utf-8")
    assert good in text
    source.write_text(text.replace(good, bad), "utf-8")
    done = _compile(root, source)
    assert done.returncode != 0 and error in done.stderr, done.stderr[-3000:]


def test_the_project_ships_the_plugin_disabled() -> None:
    files = unreal.plugin_files()
    descriptor = json.loads(files["Plugins/PacaiGameplay/PacaiGameplay.uplugin"])  # type: ignore[arg-type]
    assert descriptor["EnabledByDefault"] is False
    assert descriptor["Modules"] == [
        {"Name": "PacaiGameplay", "Type": "Runtime", "LoadingPhase": "Default"}]
    build = files[f"{SOURCE}/PacaiGameplay.Build.cs"]
    assert isinstance(build, bytes) and b"class PacaiGameplay : ModuleRules" in build
    manifest = Manifest.model_validate(components_manifest())
    project = write_engine("ue5", BuildContext(manifest, "s", "high", False, {}))
    uproject = json.loads(project["Components.uproject"])  # type: ignore[arg-type]
    assert {"Name": "PacaiGameplay", "Enabled": False} in uproject["Plugins"]
    assert {k: v for k, v in project.items() if k.startswith("Plugins/")} == files


def test_every_input_the_character_binds_is_mapped() -> None:
    """The axis and action names PacaiCharacter binds are mapped in DefaultInput.ini, with the
    legacy input classes that process BindAxis/BindAction."""
    source = unreal.plugin_files()[f"{SOURCE}/Private/PacaiCharacter.cpp"]
    assert isinstance(source, bytes)
    axes = set(re.findall(r'BindAxis\("(\w+)"', source.decode()))
    actions = set(re.findall(r'BindAction\("(\w+)"', source.decode()))
    assert axes == {"PacaiMoveForward", "PacaiMoveRight"} and actions == {"PacaiJump"}
    ini = unreal.INPUT_INI.decode()
    mapped_axes = re.findall(r'^\+AxisMappings=\(AxisName="(\w+)",Scale=(-?1)\.0+,Key=(\w+)\)$',
                             ini, re.M)
    assert {(a, s) for a, s, _key in mapped_axes} == {(a, s) for a in axes for s in ("1", "-1")}
    assert {k for _a, _s, k in mapped_axes} == {"W", "S", "A", "D", "Up", "Down", "Left", "Right"}
    assert set(re.findall(r'^\+ActionMappings=\(ActionName="(\w+)",Key=SpaceBar\)$', ini,
                          re.M)) == actions
    assert "DefaultInputComponentClass=/Script/Engine.InputComponent" in ini.splitlines()
