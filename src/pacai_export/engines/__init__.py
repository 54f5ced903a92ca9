"""Engine writers (§11) and what they share: the registry and the component catalogue.

Writers are imported lazily so that importing one engine (or this package) never pays for
the others, and so that the writers can import ``COMPONENTS`` from here without a cycle.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from .base import BuildContext, Files, Writer
from .names import path_problems

ENGINES = ("godot", "unity", "ue5")
_MODULES = {"godot": "godot", "unity": "unity", "ue5": "unreal"}

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


def component_params(type_: str, given: Mapping[str, Any]) -> dict[str, Param]:
    """A known component's parameters: defaults overridden by well-typed given values.

    Values of the wrong type (or non-finite numbers) keep the default, so generated code
    always compiles; unknown parameter names are dropped.
    """
    result: dict[str, Param] = {}
    for name, default in COMPONENTS[type_].items():
        result[name] = _coerce(given.get(name), default)
    return result


def _coerce(value: Any, default: Param) -> Param:
    if value is None or isinstance(value, bool):
        return default
    if isinstance(default, tuple):
        if (isinstance(value, list | tuple) and len(value) == 3
                and all(_finite(v) for v in value)):
            return (float(value[0]), float(value[1]), float(value[2]))
        return default
    if isinstance(default, str):
        return value[:128] if isinstance(value, str) else default
    if not _finite(value):
        return default
    if isinstance(default, int):
        return int(value)
    return float(value)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _lazy(engine: str) -> Writer:
    def write(ctx: BuildContext) -> Files:
        module = importlib.import_module(f".{_MODULES[engine]}", __name__)
        result: Files = module.write(ctx)
        return result

    write.__name__ = f"write_{engine}"
    write.__doc__ = f"Write the {engine} project folder for ``ctx``."
    return write


WRITERS: dict[str, Writer] = {engine: _lazy(engine) for engine in ENGINES}


def write_engine(engine: str, ctx: BuildContext) -> Files:
    """Run the writer of ``engine`` (``godot``, ``unity`` or ``ue5``) on ``ctx``."""
    try:
        writer = WRITERS[engine]
    except KeyError:
        expected = ", ".join(ENGINES)
        raise ValueError(f"unknown engine {engine!r}; expected one of {expected}") from None
    files = writer(ctx)
    problems = path_problems(files)
    if problems:
        # Deterministic, so retrying cannot help: the ids give paths that cannot coexist.
        raise InvalidInput(f"{engine} files: {problems[0]}")
    return files


__all__ = ["COMPONENTS", "ENGINES", "WRITERS", "component_params", "write_engine"]
