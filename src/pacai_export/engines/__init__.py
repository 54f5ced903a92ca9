"""Engine writers (§11): the registry, and what every writer shares about a scene.

Writers are imported lazily so that importing one engine (or this package) never pays for
the others, and so that the writers can import from here without a cycle. The component
catalogue is ``components.py``.
"""

from __future__ import annotations

import importlib

from ..errors import InvalidInput
from ..gcpause import paused
from ..manifest import Scene
from .base import BuildContext, Files, Writer, materialized
from .names import path_problems

ENGINES = ("godot", "unity", "ue5")
_MODULES = {"godot": "godot", "unity": "unity", "ue5": "unreal"}


def main_camera(scene: Scene) -> str | None:
    """Id of the scene's main camera: its first node with a camera, in manifest order. Every
    writer makes that one the play view and leaves the others off."""
    return next((n.id for n in scene.nodes if n.camera is not None), None)


def _lazy(engine: str) -> Writer:
    def write(ctx: BuildContext) -> Files:
        module = importlib.import_module(f".{_MODULES[engine]}", __name__)
        result: Files = module.write(ctx)
        return result

    write.__name__ = f"write_{engine}"
    write.__doc__ = f"Write the {engine} project folder for ``ctx``."
    return write


WRITERS: dict[str, Writer] = {engine: _lazy(engine) for engine in ENGINES}


def write_engine(engine: str, ctx: BuildContext, *, lazy: bool = False) -> Files:
    """Run the writer of ``engine`` (``godot``, ``unity`` or ``ue5``) on ``ctx``.

    Every content is ``bytes`` or a ``Path``, unless ``lazy``: then big generated files stay
    ``Chunks``, produced as they are read (the pipeline writes them straight to disk).
    """
    try:
        writer = WRITERS[engine]
    except KeyError:
        expected = ", ".join(ENGINES)
        raise ValueError(f"unknown engine {engine!r}; expected one of {expected}") from None
    with paused():
        files = writer(ctx)
    problems = path_problems(files)
    if problems:
        # Deterministic, so retrying cannot help: the ids give paths that cannot coexist.
        raise InvalidInput(f"{engine} files: {problems[0]}")
    return files if lazy else dict(materialized(files))


__all__ = ["ENGINES", "WRITERS", "main_camera", "write_engine"]
