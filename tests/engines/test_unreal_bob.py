"""``bob`` in Unreal: the exact sine with the PacaiGameplay plugin, the triangle wave without.

With the plugin's classes loaded the bootstrap's plan puts a ``UPacaiBobComponent`` on the
node's moving actor (amplitude in world cm along the parent's up axis, frequency in Hz) in
place of the InterpToMovementComponent it uses without them (unchanged, see
test_unreal_components.py). The component's C++ itself is run: ``PacaiBobComponent.cpp`` is
compiled by g++ against the declaration mirrors (``ue_decls/``) with a small harness that
defines a stand-in actor and root component (not Unreal: a root that stores the relative
location it is given), then ticked with uneven frame times; its positions must be the
manifest's ``origin + up * A * sin(2 pi f t)`` (computed here from the manifest, in glTF,
then converted) at every sample time.
"""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pacai_export.manifest import Manifest
from tests.engines.ue_components import (
    bootstrap_namespace,
    components_manifest,
    ue_scene_json,
)
from tests.engines.ue_frames import P, manifest_worlds
from tests.engines.ue_plugin_build import DECLS, GXX, SOURCE, needs_gxx, plugin_tree
from tests.engines.ue_standin import open_editor, write_project

PLUGIN = ("PacaiGameMode", "PacaiPlayerStart", "PacaiPickupComponent", "PacaiTriggerComponent",
          "PacaiBobComponent")

# Stand-ins (not Unreal) for what the mirrors only declare: one actor whose root component
# stores its relative location. The component's own code is PacaiBobComponent.cpp as shipped.
HARNESS = r"""
#include <cstdio>
#include <cstdlib>
#include "PacaiBobComponent.h"
#include "Components/SceneComponent.h"
#include "GameFramework/Actor.h"

static USceneComponent StandInRoot;
static AActor StandInOwner;
void USceneComponent::SetRelativeLocation(FVector NewLocation, bool, void*, ETeleportType)
{
	RelativeLocation = NewLocation;
}
USceneComponent* AActor::GetRootComponent() const { return &StandInRoot; }
void AActor::SetActorEnableCollision(bool) {}
bool AActor::Destroy(bool, bool) { return true; }
void AActor::BeginPlay() {}
AActor* UActorComponent::GetOwner() const { return &StandInOwner; }
void UActorComponent::BeginPlay() {}
void UActorComponent::TickComponent(float, ELevelTick, FActorComponentTickFunction*) {}

// argv: amplitude x y z, frequency, start x y z, then one frame time per tick; prints the
// root's relative location after each tick.
int main(int argc, char** argv)
{
	double A[7];
	for (int i = 0; i < 7; ++i) A[i] = std::strtod(argv[i + 1], nullptr);
	StandInRoot.SetRelativeLocation(FVector{A[4], A[5], A[6]});
	UPacaiBobComponent Bob;
	Bob.Amplitude = FVector{A[0], A[1], A[2]};
	Bob.Frequency = static_cast<float>(A[3]);
	static_cast<UActorComponent&>(Bob).BeginPlay();
	for (int i = 8; i < argc; ++i)
	{
		Bob.TickComponent(std::strtof(argv[i], nullptr), LEVELTICK_All, nullptr);
		const FVector L = StandInRoot.GetRelativeLocation();
		std::printf("%.17g %.17g %.17g\n", L.X, L.Y, L.Z);
	}
	return 0;
}
"""


def _buoy(actions: list[dict[str, Any]]) -> dict[str, Any]:
    (primary,) = [a for a in actions if a.get("node") == "buoy" and a["kind"] == "collider"]
    return primary


def _up_cm(manifest: Manifest) -> np.ndarray:
    """The manifest's bob top: the parent's up times the amplitude, glTF -> UE cm."""
    up = manifest_worlds(manifest)["float_group"][:3, :3] @ np.array([0.0, 0.5, 0.0])
    return np.asarray(P @ up * 100.0)


def test_with_the_plugin_bob_is_a_pacai_bob_component() -> None:
    actions = bootstrap_namespace()["plan"](ue_scene_json(components_manifest()), PLUGIN)
    primary = _buoy(actions)
    assert primary["movement"] == []  # no InterpToMovementComponent beside it
    (spec,) = primary["gameplay"]
    assert spec["class"] == "PacaiBobComponent" and spec["properties"]["frequency"] == 2.0
    amplitude = np.asarray(spec["properties"]["amplitude"])
    manifest = Manifest.model_validate(components_manifest())
    # world axes (the unattached root's relative frame), not the actor's rotated frame
    assert np.abs(amplitude - _up_cm(manifest)).max() < 1e-6
    assert np.linalg.norm(amplitude) == pytest.approx(100.0)  # 0.5 m under the parent's 2x
    assert primary["mobility"] == "movable"
    others = [a for a in actions if a.get("node") == "buoy" and a is not primary]
    assert others and all(a["attach_to"] == primary["label"] for a in others)


def test_without_the_plugin_bob_stays_the_interp_to_movement() -> None:
    namespace = bootstrap_namespace()
    scene = ue_scene_json(components_manifest())
    without = namespace["plan"](scene)
    assert without == namespace["plan"](scene, PLUGIN[:4])  # the bob class alone decides
    (spec,) = _buoy(without)["movement"]
    assert spec["component"] == "interp_to" and "gameplay" not in _buoy(without)


def test_a_negative_frequency_flips_the_plugin_amplitude() -> None:
    data = components_manifest()
    buoy = next(n for n in data["scenes"][0]["nodes"] if n["id"] == "buoy")
    buoy["components"] = [{"type": "bob", "params": {"amplitude": 0.5, "frequency": -2}}]
    actions = bootstrap_namespace()["plan"](ue_scene_json(data), PLUGIN)
    (spec,) = _buoy(actions)["gameplay"]
    assert spec["properties"]["frequency"] == 2.0
    manifest = Manifest.model_validate(data)
    assert np.abs(np.asarray(spec["properties"]["amplitude"]) + _up_cm(manifest)).max() < 1e-6


def test_bob_and_spin_on_one_node_keep_the_parent_up_axis() -> None:
    """Godot and Unity bob along the parent's up while the node spins; with the plugin the
    bob's axis stays the world one (the fallback's control points are in the actor's frame,
    which the spin turns)."""
    data = components_manifest()
    buoy = next(n for n in data["scenes"][0]["nodes"] if n["id"] == "buoy")
    buoy["transform"] = {"rotation": [0.0, 0.0, 0.5, 0.8660254]}
    buoy["components"].append({"type": "spin", "params": {"degrees_per_second": 90}})
    actions = bootstrap_namespace()["plan"](ue_scene_json(data), PLUGIN)
    primary = _buoy(actions)
    (rotating,) = primary["movement"]
    assert rotating["component"] == "rotating"
    (bob,) = primary["gameplay"]
    manifest = Manifest.model_validate(data)
    assert np.abs(np.asarray(bob["properties"]["amplitude"]) - _up_cm(manifest)).max() < 1e-6
    assert abs(primary["rotation"][2]) > 1.0  # the actor is turned, its bob axis is not


def _run_component(tmp_path: Path, amplitude: list[float], frequency: float,
                   start: list[float], frames: list[float]) -> np.ndarray:
    assert GXX is not None
    root = plugin_tree(tmp_path)
    harness = tmp_path / "bob_harness.cpp"
    harness.write_text(HARNESS, "utf-8")
    binary = tmp_path / "bob_harness"
    built = subprocess.run(
        [GXX, "-std=c++20", "-Wall", "-Werror", "-O0", f"-I{root / SOURCE / 'Public'}",
         f"-I{DECLS}", f"-I{root / 'generated'}", str(root / SOURCE / "Private" /
                                                      "PacaiBobComponent.cpp"),
         str(harness), "-o", str(binary)],
        capture_output=True, text=True, timeout=180, check=False,
        env=dict(os.environ, LC_ALL="C"))
    assert built.returncode == 0, built.stderr[-3000:]
    args = [*map(repr, amplitude), repr(frequency), *map(repr, start), *map(repr, frames)]
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60,
                          check=True)
    return np.array([[float(v) for v in line.split()] for line in done.stdout.splitlines()])


@needs_gxx
def test_the_component_follows_the_manifest_sine(tmp_path: Path) -> None:
    actions = bootstrap_namespace()["plan"](ue_scene_json(components_manifest()), PLUGIN)
    primary = _buoy(actions)
    (spec,) = primary["gameplay"]
    rng = np.random.default_rng(18)
    # uneven frame times as float32 (TickComponent's DeltaTime), then an hour in one frame
    frames = [float(np.float32(d)) for d in rng.uniform(1 / 144, 1 / 20, 300)]
    frames += [3600.0] + [float(np.float32(1 / 60))] * 40
    located = _run_component(tmp_path, spec["properties"]["amplitude"],
                             spec["properties"]["frequency"], primary["location"], frames)
    times = np.cumsum(frames)
    manifest = Manifest.model_validate(components_manifest())
    params = manifest.scenes[0].nodes[4].components[0].params
    assert (params["amplitude"], params["frequency"]) == (0.5, 2)
    sine = np.sin(2 * math.pi * params["frequency"] * times)[:, None] * _up_cm(manifest)
    expected = np.asarray(primary["location"]) + sine
    assert located.shape == expected.shape
    assert np.abs(located - expected).max() < 1e-6  # cm
    reach = np.linalg.norm(located - primary["location"], axis=1)
    assert reach.max() > 99.0 and reach.min() < 1.0  # it goes from the start to the top


def test_the_editor_with_the_plugin_adds_the_bob_component(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_project(tmp_path, components_manifest())
    ue = open_editor(project.root, monkeypatch, plugin=True)
    assert not ue.violations, ue.violations
    buoy = {a.state["label"]: a for a in ue.actors()}["Buoy Collider"].state["components"]
    assert not [c for c in buoy if type(c).__name__ == "InterpToMovementComponent"]
    (bob,) = [c for c in buoy if type(c).__name__ == "PacaiBobComponent"]
    amplitude = bob.props["amplitude"]
    assert type(amplitude).__name__ == "Vector"
    manifest = Manifest.model_validate(components_manifest())
    assert np.allclose([amplitude.x, amplitude.y, amplitude.z], _up_cm(manifest), atol=1e-6)
    assert bob.props["frequency"] == 2.0
