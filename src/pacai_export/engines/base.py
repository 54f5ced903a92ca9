"""What every engine writer shares: its input (``BuildContext``) and its output (``Files``).

A writer is a pure function ``write(ctx) -> Files``: data in, files out, no Redis, network
or clock inside. That is what makes bundles deterministic and writers testable in
milliseconds. ``Files`` maps a POSIX path relative to the engine's folder (``project.godot``,
``Assets/Scenes/Main.unity``) to its content: ``bytes`` for generated text, a ``Path`` to a
file on disk (an asset binary) that the packer streams into the zip without loading it, or
``Chunks``: a big generated file (Unity's scene: ~240 MB of YAML at 100,000 nodes) produced
piece by piece when it is read, so the pipeline writes it to disk without ever holding it
whole. The writer still does no I/O: it returns the recipe, whoever reads it decides where
the bytes go.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ..files import AssetFile
from ..gcpause import paused
from ..manifest import Manifest


@dataclasses.dataclass(eq=False)
class Chunks:
    """A generated file's content as a sequence of ``bytes`` pieces, produced on demand.

    Read once: producing may consume the writer's state (Unity drops each GameObject once
    rendered), so a second read raises rather than returning a truncated file. The pieces
    are produced with the cyclic collector paused, as the writer itself runs
    (``gcpause``): producing them is the same big, acyclic work.
    """

    produce: Callable[[], Iterator[bytes]]
    _read: bool = dataclasses.field(default=False, init=False)

    def __iter__(self) -> Iterator[bytes]:
        if self._read:
            raise RuntimeError("a Chunks content is read once")
        self._read = True
        with paused():
            yield from self.produce()


FileData = bytes | Path | Chunks
Files = dict[str, FileData]


def materialized(files: Files) -> dict[str, bytes | Path]:
    """``files`` with every ``Chunks`` joined into ``bytes``: for readers that want the text
    (tests, small exports), never for the pipeline's big ones."""
    return {rel: b"".join(c) if isinstance(c, Chunks) else c for rel, c in files.items()}


@dataclasses.dataclass(frozen=True)
class BuildContext:
    manifest: Manifest
    seed: str
    quality: str
    include_assets: bool
    assets: Mapping[str, AssetFile] = dataclasses.field(default_factory=dict)


Writer = Callable[[BuildContext], Files]
