"""The six generated behaviours (§10.2): their parameters, the natural names a manifest may
give them, and what the generated code does not use. Engine-neutral: every writer generates
the same names, and the pipeline reports the unused ones in ``bundle.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..manifest import Manifest

Param = float | int | str | tuple[float, float, float]

# The six generated behaviours (§10.2) and their parameters with defaults. The default's type
# is the parameter's type; every engine generates the same names.
COMPONENTS: dict[str, dict[str, Param]] = {
    "spin": {"degrees_per_second": 90.0, "axis": (0.0, 1.0, 0.0)},
    "bob": {"amplitude": 0.25, "frequency": 0.5},
    "player_controller": {"speed": 5.0, "jump_velocity": 4.5},
    "pickup": {"value": 1, "radius": 1.0},
    "spawn_point": {"index": 0},
    "trigger_zone": {"size": (2.0, 2.0, 2.0), "event": "triggered"},
}


# Natural names a manifest may use for a parameter, each mapped to the generated code's name:
# a pickup's ``score``, a bob's ``speed`` (cycles per second) and ``height``, a spin's
# ``speed`` (degrees per second). The generated name wins when both are given.
ALIASES: dict[str, dict[str, str]] = {
    "spin": {"speed": "degrees_per_second"},
    "bob": {"speed": "frequency", "height": "amplitude"},
    "player_controller": {"move_speed": "speed", "jump_speed": "jump_velocity"},
    "pickup": {"score": "value", "points": "value"},
    "spawn_point": {},
    "trigger_zone": {},
}


def component_params(type_: str, given: Mapping[str, Any]) -> dict[str, Param]:
    """A known component's parameters: defaults overridden by well-typed given values, given
    under the generated name or a natural alias (``ALIASES``).

    Values of the wrong type (or non-finite numbers) keep the default, so generated code
    always compiles; what is not used here is what ``unused_params`` returns, which every
    writer keeps as metadata and ``bundle.json`` reports.
    """
    result: dict[str, Param] = {}
    for name, default in COMPONENTS[type_].items():
        source = name if name in given else _alias_given(type_, name, given)
        result[name] = _coerce(given.get(source) if source else None, default)
    return result


def _alias_given(type_: str, name: str, given: Mapping[str, Any]) -> str | None:
    """The first alias of ``name`` present in ``given``, if any."""
    return next((a for a, target in ALIASES[type_].items() if target == name and a in given),
                None)


def unused_params(type_: str, given: Mapping[str, Any]) -> dict[str, str]:
    """Parameter name → why the generated code does not use it (unknown name, wrong type,
    alias of a name also given), for a known component type."""
    unused: dict[str, str] = {}
    defaults = COMPONENTS[type_]
    for name in sorted(given):
        target = ALIASES[type_].get(name, name)
        if target not in defaults:
            unused[name] = f"not a parameter of {type_}"
        elif target != name and (target in given or _alias_given(type_, target, given) != name):
            unused[name] = f"{target} is given too"
        elif not _well_typed(given[name], defaults[target]):
            unused[name] = f"not a {_kind(defaults[target])}"
    return unused


def _kind(default: Param) -> str:
    if isinstance(default, tuple):
        return "list of 3 finite numbers"
    if isinstance(default, str):
        return "string"
    return "finite number"


def component_report(manifest: Manifest) -> list[dict[str, str]]:
    """Every component or parameter the generated code does not use, engine-neutral: each is
    kept as metadata in every engine's files and listed in ``bundle.json`` (§10.2, §11)."""
    report: list[dict[str, str]] = []
    for scene in manifest.scenes:
        for node in scene.nodes:
            for comp in node.components:
                where = {"scene": scene.id, "node": node.id, "type": comp.type}
                if comp.type not in COMPONENTS:
                    report.append({**where, "reason": "unknown component type; kept as data"})
                    continue
                report += [{**where, "param": name, "reason": f"{why}; kept as metadata"}
                           for name, why in unused_params(comp.type, comp.params).items()]
    return report


def _coerce(value: Any, default: Param) -> Param:
    if not _well_typed(value, default):
        return default
    if isinstance(default, tuple):
        return (float(value[0]), float(value[1]), float(value[2]))
    if isinstance(default, str):
        return str(value)[:128]
    if isinstance(default, int):
        return int(value)
    return float(value)


def _well_typed(value: Any, default: Param) -> bool:
    if isinstance(default, tuple):
        return (isinstance(value, list | tuple) and len(value) == 3
                and all(_finite(v) for v in value))
    if isinstance(default, str):
        return isinstance(value, str)
    return _finite(value)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
