"""Big generated files (Unity's scene) are ``Chunks``: produced piece by piece as the pipeline
writes them, never held whole, and the bytes on disk are those of the joined file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Chunks
from pacai_export.manifest import Manifest, parse_manifest
from pacai_export.pipeline import stage_engine
from pacai_export.settings import Limits
from tests.helpers import stress_manifest

SCENE = "Assets/Scenes/main.unity"


def _ctx(nodes: int) -> BuildContext:
    manifest: Manifest = parse_manifest(stress_manifest("streamed", nodes), Limits())
    return BuildContext(manifest=manifest, seed="s", quality="high", include_assets=False)


def test_unity_scene_is_streamed_in_bounded_pieces() -> None:
    ctx = _ctx(3000)
    lazy = write_engine("unity", ctx, lazy=True)
    scene = lazy[SCENE]
    assert isinstance(scene, Chunks)
    pieces = list(scene)
    whole = b"".join(pieces)
    # ~2.4 KB of YAML a prop, 256 objects a piece: far more than one piece, none near the whole.
    assert len(whole) > 3000 * 2000
    assert len(pieces) >= 3000 // 256
    assert max(len(p) for p in pieces) < 1 << 20
    assert whole == write_engine("unity", ctx)[SCENE]


def test_staged_files_are_the_bytes_of_the_materialized_files(tmp_path: Path) -> None:
    ctx = _ctx(600)
    eager = write_engine("unity", ctx)
    assert not any(isinstance(c, Chunks) for c in eager.values())
    count = stage_engine("unity", ctx, tmp_path)
    staged = {p.relative_to(tmp_path).as_posix(): p.read_bytes()
              for p in tmp_path.rglob("*") if p.is_file()}
    assert count == len(eager) == len(staged)
    assert staged == eager


def test_chunks_are_read_once() -> None:
    scene = write_engine("unity", _ctx(10), lazy=True)[SCENE]
    assert isinstance(scene, Chunks)
    assert b"".join(scene).startswith(b"%YAML 1.1\n")
    with pytest.raises(RuntimeError, match=r"^a Chunks content is read once$"):
        b"".join(scene)
