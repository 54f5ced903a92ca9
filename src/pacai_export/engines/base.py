"""What every engine writer shares: its input (``BuildContext``) and its output (``Files``).

A writer is a pure function ``write(ctx) -> Files``: data in, files out, no Redis, network
or clock inside. That is what makes bundles deterministic and writers testable in
milliseconds. ``Files`` maps a POSIX path relative to the engine's folder (``project.godot``,
``Assets/Scenes/Main.unity``) to its content: ``bytes`` for generated text, or a ``Path`` to a
file on disk (an asset binary) that the packer streams into the zip without loading it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from ..files import AssetFile
from ..manifest import Manifest

Content = bytes | Path
Files = dict[str, Content]


@dataclasses.dataclass(frozen=True)
class BuildContext:
    manifest: Manifest
    seed: str
    quality: str
    include_assets: bool
    assets: Mapping[str, AssetFile] = dataclasses.field(default_factory=dict)


Writer = Callable[[BuildContext], Files]
