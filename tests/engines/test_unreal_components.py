"""Manifest components in Unreal: built-in engine components with converted parameters.

The bootstrap's plan for a manifest using every component is read and each construct is
checked against the manifest with this file's own math: ``spin`` → RotatingMovementComponent
(its RotationRate, an FRotator in deg/s applied in local space, must turn the actor as the
manifest's axis and speed turn the node: FRotationMatrix, RotationMatrix.h), ``bob`` →
InterpToMovementComponent (control points relative to the start location, looping once per
period, reaching the amplitude along the parent's up axis), ``spawn_point`` → PlayerStart,
``trigger_zone`` → TriggerBox with PacaiTriggerComponent and its event name, ``pickup`` →
PacaiPickupComponent, ``player_controller`` → PacaiGameMode's pawn with the speeds from a
PacaiPlayerStart (the opt-in C++ plugin; every parameter also stays in actor tags). The editor
run (recording stand-in, no plugin loaded) checks the built-in components are really added.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext
from pacai_export.manifest import Manifest
from tests.engines.ue_components import bootstrap_namespace, components_manifest, ue_scene_json
from tests.engines.ue_frames import P, manifest_worlds, rotator_rows
from tests.engines.ue_standin import open_editor, write_project


@pytest.fixture
def plan() -> tuple[Manifest, list[dict[str, Any]], dict[str, np.ndarray]]:
    manifest = Manifest.model_validate(components_manifest())
    actions = bootstrap_namespace()["plan"](ue_scene_json(components_manifest()))
    return manifest, actions, manifest_worlds(manifest)


def _moving(actions: list[dict[str, Any]], node: str) -> dict[str, Any]:
    (action,) = [a for a in actions if a.get("node") == node and "movement" in a]
    return action


def _axis_angle(axis: tuple[float, ...], degrees: float) -> np.ndarray:
    a = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    t = math.radians(degrees)
    return np.asarray(np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k)


@pytest.mark.parametrize("node,axis,speed", [("coin", (0, 1, 0), 90.0),
                                             ("fan", (1, 0, 0), -45.0)])
def test_spin_is_a_rotating_movement_component(plan: Any, node: str,
                                               axis: tuple[float, ...], speed: float) -> None:
    _manifest, actions, _worlds = plan
    (spec,) = _moving(actions, node)["movement"]
    assert spec["component"] == "rotating" and spec["exact"] is True
    for seconds in (0.25, 1.0, 3.0):
        # the actor's local turn after `seconds`, as UE builds it from the rotator
        turned = rotator_rows(*(r * seconds for r in spec["rotation_rate"])).T
        # the node's local turn in the manifest, seen in UE's axes
        expected = P @ _axis_angle(axis, speed * seconds) @ P
        assert np.abs(turned - expected).max() < 1e-6, (node, seconds)


def test_spin_about_an_oblique_axis_is_flagged(plan: Any) -> None:
    _manifest, actions, _worlds = plan
    (spec,) = _moving(actions, "wobble")["movement"]
    assert spec["exact"] is False  # a rotator rate is not an axis-angle rate off the axes


def test_bob_is_an_interp_to_movement_component(plan: Any) -> None:
    _manifest, actions, worlds = plan
    primary = _moving(actions, "buoy")
    assert primary["kind"] == "collider"  # the kinematic body's collider carries the motion
    (spec,) = primary["movement"]
    assert spec["component"] == "interp_to" and spec["behaviour"] == "LOOP_RESET"
    assert spec["duration_s"] == 0.5  # one loop per period of 2 Hz
    # ComputeMoveDelta rotates relative points by the actor's rotation: R^T p, i.e. p @ rows
    world_cm = np.asarray(spec["control_points_cm"]) @ rotator_rows(*primary["rotation"])
    points = world_cm @ P.T / 100.0  # back to glTF metres
    up = worlds["float_group"][:3, :3] @ np.array([0.0, 0.5, 0.0])
    assert np.abs(points - np.array([0 * up, up, 0 * up, -up, 0 * up])).max() < 1e-6
    # everything else of the node moves with it, and can move
    others = [a for a in actions if a.get("node") == "buoy" and a is not primary]
    assert {a["kind"] for a in others} == {"mesh", "light"}
    assert all(a["attach_to"] == primary["label"] for a in others)
    assert all(a.get("mobility", "movable") == "movable" for a in [primary, *others])


def _ue_triangle(points_cm: np.ndarray, duration: float, t: float) -> np.ndarray:
    """UInterpToMovementComponent's position at time t (LOOP_RESET): each segment gets a
    share of Duration proportional to its length and is lerped (UpdateControlPoints,
    ComputeMoveDelta in InterpToMovementComponent.cpp)."""
    lengths = np.linalg.norm(np.diff(points_cm, axis=0), axis=1)
    share = (t % duration) / duration * lengths.sum()
    for i, length in enumerate(lengths):
        if share <= length:
            return np.asarray(points_cm[i] + (points_cm[i + 1] - points_cm[i]) * share / length)
        share -= length
    return np.asarray(points_cm[-1])


def test_bob_is_the_triangle_wave_of_the_sine_within_the_stated_deviation(plan: Any) -> None:
    _manifest, actions, worlds = plan
    (spec,) = _moving(actions, "buoy")["movement"]
    up_cm = P @ (worlds["float_group"][:3, :3] @ np.array([0.0, 0.5, 0.0])) * 100.0
    offsets = np.asarray(spec["offsets_cm"])
    times = np.linspace(0.0, 2 * spec["duration_s"], 4001)
    gaps = [np.linalg.norm(_ue_triangle(offsets, spec["duration_s"], t)
                           - up_cm * math.sin(2 * math.pi * 2.0 * t)) for t in times]
    amplitude = float(np.linalg.norm(up_cm))  # 0.5 m scaled by the parent's 2: 100 cm
    assert amplitude == pytest.approx(100.0)
    assert max(gaps) == pytest.approx(spec["max_deviation_cm"], rel=1e-3)
    assert spec["max_deviation_cm"] == pytest.approx(0.2105 * amplitude, rel=1e-3)
    # the same extremes and zeros as the sine: a quarter period is the top, a half is zero
    quarter = spec["duration_s"] / 4
    assert np.allclose(_ue_triangle(offsets, spec["duration_s"], quarter), up_cm, atol=1e-4)
    assert np.allclose(_ue_triangle(offsets, spec["duration_s"], 2 * quarter), 0, atol=1e-4)


def test_spawn_point_and_trigger_zone(plan: Any) -> None:
    _manifest, actions, worlds = plan
    (start,) = [a for a in actions if a.get("node") == "start"]
    assert start["kind"] == "player_start"
    assert np.allclose(np.asarray(start["location"]) @ P.T / 100.0, worlds["start"][:3, 3])
    (door,) = [a for a in actions if a.get("node") == "door"]
    assert door["kind"] == "trigger_box"
    assert 'pacai:trigger_zone.event="door_open"' in door["tags"]
    # glTF size (2, 3, 1) m -> UE (x, z, y) cm over ATriggerBox's 80 cm default box
    assert np.allclose(door["scale"], [2 * 100 / 80, 1 * 100 / 80, 3 * 100 / 80])
    assert door["gameplay"] == [{"class": "PacaiTriggerComponent",
                                 "properties": {"event_name": "door_open"}}]


def test_pickup_is_a_pickup_component_on_the_actor_it_removes(plan: Any) -> None:
    _manifest, actions, _worlds = plan
    coin = [a for a in actions if a.get("node") == "coin"]
    (primary,) = [a for a in coin if "gameplay" in a]
    # value=3 given beside its alias score=50: the canonical name wins (catalogue rule)
    assert primary["gameplay"] == [{"class": "PacaiPickupComponent",
                                    "properties": {"value": 3, "radius": 100.0}}]
    assert all(a["attach_to"] == primary["label"] for a in coin if a is not primary)


def test_player_controller_is_the_game_mode_pawn_with_converted_speeds(plan: Any) -> None:
    _manifest, actions, _worlds = plan
    scene = ue_scene_json(components_manifest())
    namespace = bootstrap_namespace()
    level = namespace["level"](scene)
    assert level == {"game_mode": "PacaiGameMode", "player_node": "player",
                     "walk_speed": 700.0, "jump_velocity": 500.0}  # 7 and 5 m/s in cm/s
    (start,) = [a for a in actions if a["kind"] == "player_start"]
    player = [a for a in actions if a.get("node") == "player"]
    body = next(a for a in player if a["kind"] == "collider")
    assert start["gameplay_class"] == "PacaiPlayerStart" and start["body"] == body["label"]
    # the manifest's capsule (radius 0.5 m, height 2 m with the caps) as UE's capsule sizes
    assert start["properties"] == {"walk_speed": 700.0, "jump_velocity": 500.0,
                                   "capsule_radius": 50.0, "capsule_half_height": 100.0}
    assert all(a["attach_to"] == body["label"] for a in player if a is not body)
    data = components_manifest()
    data["scenes"][0]["nodes"] = [n for n in data["scenes"][0]["nodes"] if n["id"] != "player"]
    assert namespace["level"](ue_scene_json(data)) == {"game_mode": None, "player_node": None}
    (plain,) = [a for a in namespace["plan"](ue_scene_json(data)) if a["kind"] == "player_start"]
    assert "gameplay_class" not in plain  # no player controller: the engine's default pawn


def test_every_component_has_its_construct(plan: Any) -> None:
    """One manifest using every component: each one's construct in the plan."""
    _manifest, actions, _worlds = plan
    constructs = set()
    for action in actions:
        constructs.update(spec["component"] for spec in action.get("movement", []))
        constructs.update(spec["class"] for spec in action.get("gameplay", []))
        constructs.add(action.get("gameplay_class") or action["kind"])
    assert {"rotating", "interp_to", "PacaiPlayerStart", "trigger_box", "PacaiTriggerComponent",
            "PacaiPickupComponent"} <= constructs
    used = {c["type"] for n in components_manifest()["scenes"][0]["nodes"]
            for c in n.get("components", [])}
    assert used == {"spin", "bob", "player_controller", "pickup", "spawn_point", "trigger_zone"}


def test_logic_components_keep_every_parameter(plan: Any) -> None:
    _manifest, actions, _worlds = plan
    coin = next(a for a in actions if a.get("node") == "coin" and a["tags"])
    assert {"pacai:pickup", "pacai:pickup.value=3", "pacai:pickup.score=50"} <= set(coin["tags"])
    player = next(a for a in actions if a.get("node") == "player" and a["tags"])
    assert {"pacai:player_controller.speed=7.0",
            "pacai:player_controller.jump_velocity=5.0"} <= set(player["tags"])
    buoy = next(a for a in actions if a.get("node") == "buoy" and a["tags"])
    assert "pacai:bob.speed=3" in buoy["tags"]  # a name the catalogue does not know


def test_the_editor_adds_the_components(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_project(tmp_path, components_manifest())
    ue = open_editor(project.root, monkeypatch)
    assert not ue.violations, ue.violations
    assert not [m for kind, m in ue.logs if kind in ("error", "warning")], ue.logs
    actors = {a.state["label"]: a for a in ue.actors()}
    coin = actors["Coin"].state["components"]
    (rotating,) = [c for c in coin if type(c).__name__ == "RotatingMovementComponent"]
    rate = rotating.props["rotation_rate"]
    assert (rate.pitch, rate.yaw, rate.roll) == (0.0, -90.0, 0.0)
    assert rotating.props["rotation_in_local_space"] is True
    buoy = actors["Buoy Collider"].state["components"]
    (interp,) = [c for c in buoy if type(c).__name__ == "InterpToMovementComponent"]
    assert interp.props["behaviour_type"] == "InterpToBehaviourType.LOOP_RESET"
    assert interp.props["duration"] == 0.5
    assert all(p.relative for p in interp.props["control_points"])
    assert len(interp.props["control_points"]) == 5
    # no compiled PacaiGameplay plugin here: its components are not added, the tags stay
    everything = [c for a in actors.values() for c in a.state["components"]]
    assert not [c for c in everything if type(c).__name__.startswith("Pacai")]
    assert ("log", "pacai: PacaiGameplay plugin not loaded: pickups, triggers and the player "
            "controller stay actor tags and bob moves as a triangle wave (enable it in the "
            ".uproject; it needs a C++ compiler)") in ue.logs


def test_without_a_spawn_point_the_player_starts_at_the_player(plan: Any) -> None:
    _manifest, actions, worlds = plan
    assert not [a for a in actions if a.get("node") == "player" and a["kind"] == "player_start"]
    data = components_manifest()
    nodes = data["scenes"][0]["nodes"]
    data["scenes"][0]["nodes"] = [n for n in nodes if n["id"] != "start"]
    actions = bootstrap_namespace()["plan"](ue_scene_json(data))
    (start,) = [a for a in actions if a["kind"] == "player_start"]
    assert start["node"] == "player" and start["label"] == "Player PlayerStart"
    assert np.allclose(np.asarray(start["location"]) @ P.T / 100.0, worlds["player"][:3, 3])


def test_a_negative_bob_frequency_is_the_opposite_amplitude() -> None:
    data = components_manifest()
    buoy = next(n for n in data["scenes"][0]["nodes"] if n["id"] == "buoy")
    buoy["components"] = [{"type": "bob", "params": {"amplitude": 0.5, "frequency": -2}}]
    manifest = Manifest.model_validate(data)
    files = write_engine("ue5", BuildContext(manifest, "s", "high", False, {}))
    scene = json.loads(files["SourceArt/scene.json"])  # type: ignore[arg-type]
    node = next(n for n in scene["scenes"][0]["nodes"] if n["id"] == "buoy")
    (spec,) = node["movement"]
    assert spec["duration_s"] == 0.5
    up = manifest_worlds(manifest)["float_group"][:3, :3] @ np.array([0.0, 0.5, 0.0])
    first = np.asarray(spec["offsets_cm"][1]) @ P.T / 100.0
    assert np.allclose(first, -up)  # sin(2 pi (-f) t) starts downwards


def test_the_editor_with_the_plugin_adds_the_gameplay(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_project(tmp_path, components_manifest())
    ue = open_editor(project.root, monkeypatch, plugin=True)
    assert not ue.violations, ue.violations
    assert not [m for kind, m in ue.logs if kind in ("error", "warning")], ue.logs
    actors = {a.state["label"]: a for a in ue.actors()}
    start = actors["Start"]
    assert type(start).__name__ == "PacaiPlayerStart"
    assert start.props["walk_speed"] == 700.0 and start.props["jump_velocity"] == 500.0
    assert start.props["body"] is actors["Player Collider"]
    assert (start.props["capsule_radius"], start.props["capsule_half_height"]) == (50.0, 100.0)
    (trigger,) = [c for c in actors["Door"].state["components"]
                  if type(c).__name__ == "PacaiTriggerComponent"]
    assert trigger.props == {"event_name": "door_open"}
    (pickup,) = [c for c in actors["Coin"].state["components"]
                 if type(c).__name__ == "PacaiPickupComponent"]
    assert pickup.props == {"value": 3, "radius": 100.0}
    (settings,) = [a for k, a in ue.assets.items() if k.startswith("world settings:")]
    assert settings.props["default_game_mode"].__name__ == "PacaiGameMode"


def test_the_stand_in_plugin_classes_are_the_headers() -> None:
    """The property names the bootstrap sets exist on the C++ classes: each UPROPERTY of the
    plugin's headers in the snake_case UE's Python uses (WalkSpeed -> walk_speed)."""
    from pacai_export.engines.unreal import plugin_files
    from tests.engines.ue_standin import PLUGIN_API

    declared: dict[str, set[str]] = {}
    pattern = re.compile(r"class PACAIGAMEPLAY_API [AU](\w+) : public [AU](\w+)")
    for path, data in plugin_files().items():
        if not path.endswith(".h"):
            continue
        text = data.decode()  # type: ignore[union-attr]
        (name, base), = pattern.findall(text)
        props = re.findall(r"UPROPERTY\([^)]*\)\s+[\w<>]+\s+(\w+)", text)
        declared[name] = {re.sub(r"(?<!^)(?=[A-Z])", "_", p).lower() for p in props}
        if name in PLUGIN_API:
            assert PLUGIN_API[name][0] == base, name
    for name, (_base, _methods, properties) in PLUGIN_API.items():
        assert properties <= declared[name], (name, properties - declared[name])
