"""The deterministic bundle (§6, §7): a staged folder in, one zip with ``bundle.json`` out.

The zip's bytes are a function of the staged files alone: entries sorted by path, every
timestamp 1980-01-01 00:00, permissions 0644, one compression level (images and compressed
audio stored as they are), no extra fields. Files
are streamed from disk in chunks, so a bundle is never whole in memory.

Runs in the CPU pool: everything here is blocking and pure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from . import EXPORTER_NAME, __version__

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
CHUNK = 1 << 20
COMPRESS_LEVEL = 6
BUNDLE_JSON = "bundle.json"
README = "README.txt"
ZIP64_THRESHOLD = (1 << 31) - 1
PRECOMPRESSED = {".png", ".jpg", ".jpeg", ".webp", ".ogg", ".mp3", ".ktx2"}
# Vertex data and PCM audio deflate to the same size at level 1 as at level 6, 3 times faster.
BINARY_LEVEL, BINARY = 1, {".glb", ".gltf", ".bin", ".wav"}

README_TEXT = """\
{name} ({project_id}), exported by {exporter} {version}

Each folder is a project for one engine:

  godot/   Godot 4.3 or newer: Project Manager > Import > choose godot/project.godot.
  unity/   Unity 6 (6000.0 LTS): Unity Hub > Add > Add project from disk > choose unity/.
           On first open Unity resolves glTFast from Packages/manifest.json; the scene is
           in Assets/Scenes.
  ue5/     Unreal Engine 5.4 or newer: open ue5/{uproject}. On first open the Python
           bootstrap imports SourceArt/ and builds the level once.

bundle.json lists every file with its size and SHA-256.
"""


@dataclasses.dataclass(frozen=True)
class BundleMeta:
    """What ``bundle.json`` says about the export, beside its file list."""

    project_id: str
    project_name: str
    engines: tuple[str, ...]
    quality: str
    include_assets: bool
    seed: str
    left_out: tuple[dict[str, str], ...] = ()
    uproject: str = ""


@dataclasses.dataclass(frozen=True)
class PackedBundle:
    path: Path
    bytes: int
    sha256: str
    files: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def staged_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` as (POSIX path, file), sorted by path."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = Path(dirpath, name)
            found.append((full.relative_to(root).as_posix(), full))
    return iter(sorted(found))


def render_readme(meta: BundleMeta) -> bytes:
    return README_TEXT.format(
        name=meta.project_name, project_id=meta.project_id, exporter=EXPORTER_NAME,
        version=__version__, uproject=meta.uproject or "<Project>.uproject",
    ).encode()


def bundle_json(meta: BundleMeta, listing: list[dict[str, Any]]) -> bytes:
    doc = {
        "exporter": {"name": EXPORTER_NAME, "version": __version__},
        "project": {"id": meta.project_id, "name": meta.project_name},
        "engines": list(meta.engines),
        "quality": meta.quality,
        "include_assets": meta.include_assets,
        "seed": meta.seed,
        "files": listing,
        "left_out": list(meta.left_out),
    }
    return (json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()


def prepare(stage_dir: Path, meta: BundleMeta) -> bytes:
    """Write README.txt and bundle.json (listing every staged file) into ``stage_dir``;
    return bundle.json's bytes, the document a signature covers."""
    (stage_dir / README).write_bytes(render_readme(meta))
    # Engines share asset files as hard links: hash each file once, however many names it has.
    hashes: dict[tuple[int, int], str] = {}
    listing = []
    for name, path in staged_files(stage_dir):
        st = path.stat()
        digest = hashes.get((st.st_dev, st.st_ino)) or sha256_file(path)
        hashes[(st.st_dev, st.st_ino)] = digest
        listing.append({"path": name, "size": st.st_size, "sha256": digest})
    document = bundle_json(meta, listing)
    (stage_dir / BUNDLE_JSON).write_bytes(document)
    return document


def zip_stage(stage_dir: Path, out: Path) -> PackedBundle:
    """Zip everything staged, deterministically, at ``out``."""
    entries = list(staged_files(stage_dir))
    with out.open("wb") as raw:
        stream = _HashingStream(raw)
        with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED,  # type: ignore[call-overload]
                             compresslevel=COMPRESS_LEVEL) as zf:
            for name, path in entries:
                _add(zf, name, path)
    return PackedBundle(path=out, bytes=stream.position, sha256=stream.digest.hexdigest(),
                        files=len(entries))


class _HashingStream:
    """A write-only, forward-only file for ``zipfile``: it hashes the bundle as it is written,
    so a bundle of gigabytes is not read back just to hash it. (Not seekable, so zipfile
    writes each entry's sizes and CRC in a data descriptor after it, instead of seeking back.)
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.position = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.position += len(data)
        return self._raw.write(data)

    def tell(self) -> int:
        return self.position

    def seek(self, *args: object) -> int:
        raise OSError("forward-only stream")

    def flush(self) -> None:
        self._raw.flush()


def pack(stage_dir: Path, meta: BundleMeta, out: Path) -> PackedBundle:
    """``prepare`` then ``zip_stage``: an unsigned bundle in one call."""
    prepare(stage_dir, meta)
    return zip_stage(stage_dir, out)


def _add(zf: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    # Already-compressed formats gain nothing from deflate and cost most of the packing time.
    suffix = Path(name).suffix.lower()
    info.compress_type = zipfile.ZIP_STORED if suffix in PRECOMPRESSED else zipfile.ZIP_DEFLATED
    # The per-entry level: ``_compresslevel`` on 3.11 and 3.12 (3.13 names it compress_level
    # and keeps this spelling as an alias); zipfile ignores ZipFile(compresslevel=) here.
    level = BINARY_LEVEL if suffix in BINARY else COMPRESS_LEVEL
    setattr(info, "_compresslevel", level)  # noqa: B010 (typeshed does not know the field)
    info.create_system = 3  # Unix, so the permission bits below are read by unzip
    info.external_attr = (0o100644 & 0xFFFF) << 16
    size = path.stat().st_size
    with path.open("rb") as src, zf.open(info, "w", force_zip64=size > ZIP64_THRESHOLD) as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
