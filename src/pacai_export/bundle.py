"""The deterministic bundle (§6, §7): a staged folder in, one zip with ``bundle.json`` out.

Two passes, both in the CPU pool, neither holding a file whole in memory:

1. ``prepare`` surveys each distinct content once. Engines share asset files as hard links,
   so a three-engine bundle has three names for every asset and one content: its SHA-256
   (for ``bundle.json``), its CRC-32 and, for what deflates, its deflated bytes (in a scratch
   folder when large) are computed once, by a few threads (hashlib and zlib release the GIL).
   Then it writes ``README.txt`` and ``bundle.json``.
2. ``zip_stage`` lays the zip out (every entry's sizes and CRC are known, so local headers
   carry them and no data descriptors follow) and writes it, hashing it on the way
   (``zipwriter``).

The zip's bytes are a function of the staged files alone: entries sorted by path, every
timestamp 1980-01-01 00:00, permissions 0644, no extra fields but Zip64 where sizes or
offsets need it, fixed compression: images and compressed audio stored as they are, vertex
data and PCM audio deflated at level 1, text at level 6, and any entry that deflate would not
make smaller stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from . import EXPORTER_NAME, __version__, zipwriter

# Bytes read at a time from a file being hashed, deflated or verified (one reused buffer).
FILE_BLOCK = 1 << 20
BUNDLE_JSON = "bundle.json"
README = "README.txt"
PRECOMPRESSED = {".png", ".jpg", ".jpeg", ".webp", ".ogg", ".mp3", ".ktx2"}
# Vertex data and PCM audio deflate to the same size at level 1 as at level 6, 3 times faster.
BINARY_LEVEL, BINARY = 1, {".glb", ".gltf", ".bin", ".wav"}
TEXT_LEVEL = 6
INLINE_BYTES = 64 << 10  # deflated data up to this size travels in memory, not in a file
SURVEY_THREADS = 2

README_TEXT = """\
{name} ({project_id}), exported by {exporter} {version}

Each folder is a project for one engine:

  godot/   Godot 4.3 or newer: Project Manager > Import > choose godot/project.godot.
  unity/   Unity 6 (6000.0 LTS): Unity Hub > Add > Add project from disk > choose unity/.
           On first open Unity resolves glTFast from Packages/manifest.json; the scene is
           in Assets/Scenes.
  ue5/     Unreal Engine 5.4 or newer: open ue5/<Project>.uproject. On first open the Python
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
    # Components and parameters no generated code uses, each kept as metadata in the engine
    # files (engines.components.component_report): listed so that nothing is dropped silently.
    kept_as_metadata: tuple[dict[str, str], ...] = ()
    # Per model asset: {"asset", "source_triangles", "triangles"} (what its tier kept).
    models: tuple[dict[str, Any], ...] = ()
    instanced: tuple[dict[str, object], ...] = ()  # engines/instancing.py: instancing_report


@dataclasses.dataclass(frozen=True)
class PackedBundle:
    path: Path
    bytes: int
    sha256: str
    files: int


@dataclasses.dataclass(frozen=True)
class PackedContent:
    """One distinct file content as the zip carries it; every name of the file shares it."""

    size: int
    sha256: str
    crc32: int
    method: int  # zipwriter.STORED or zipwriter.DEFLATED
    packed: int  # bytes of the entry's data in the zip
    # The deflated bytes, or a scratch file holding them; None: stored, the file itself.
    payload: bytes | Path | None = None


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What ``prepare`` hands on: the document a signature covers, and the survey."""

    document: bytes
    contents: dict[str, PackedContent]


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
        version=__version__).encode()


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
        "kept_as_metadata": list(meta.kept_as_metadata),
        "models": list(meta.models),
        "instanced": list(meta.instanced),
    }
    return (json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()


# --- pass 1: survey and bundle.json -------------------------------------------------------


def prepare(stage_dir: Path, meta: BundleMeta, scratch: Path) -> Prepared:
    """Write README.txt into ``stage_dir``, survey every staged file (deflated data of large
    files goes to ``scratch``), then write bundle.json listing them. Its bytes are the
    document a signature covers."""
    (stage_dir / README).write_bytes(render_readme(meta))
    contents = survey(stage_dir, scratch)
    listing = [{"path": name, "size": c.size, "sha256": c.sha256}
               for name, c in sorted(contents.items())]
    document = bundle_json(meta, listing)
    (stage_dir / BUNDLE_JSON).write_bytes(document)
    return Prepared(document=document, contents=contents)


def survey(stage_dir: Path, scratch: Path | None,
           known: Mapping[str, PackedContent] | None = None) -> dict[str, PackedContent]:
    """Every staged file, name → content: as ``known`` says, or surveyed, each distinct file
    (inode) read once. Without ``scratch`` deflated data stays in memory whatever its size."""
    known = known or {}
    names: dict[tuple[int, int], list[str]] = {}  # inode → its staged names, sorted
    for name, path in staged_files(stage_dir):
        if name in known:
            continue
        st = path.stat()
        names.setdefault((st.st_dev, st.st_ino), []).append(name)
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    jobs = [(stage_dir / shared[0], shared[0], scratch / f"{n}.deflate" if scratch else None)
            for n, shared in enumerate(names.values())]
    with ThreadPoolExecutor(SURVEY_THREADS) as threads:
        surveyed = list(threads.map(lambda job: _survey_file(*job), jobs))
    found = dict(known)
    for shared, content in zip(names.values(), surveyed, strict=True):
        found.update(dict.fromkeys(shared, content))
    return found


def _level(name: str) -> int | None:
    """The deflate level for an entry, or None to store it as it is."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix in PRECOMPRESSED:
        return None
    return BINARY_LEVEL if suffix in BINARY else TEXT_LEVEL


def _survey_file(path: Path, name: str, scratch: Path | None) -> PackedContent:
    level = _level(name)
    digest, crc, size = hashlib.sha256(), 0, 0
    deflated = _Deflated(level, scratch) if level is not None else None
    buffer = bytearray(FILE_BLOCK)  # one buffer reused, not a megabyte of garbage per chunk
    try:
        with path.open("rb", buffering=0) as src:
            while n := src.readinto(buffer):
                chunk = memoryview(buffer)[:n]
                digest.update(chunk)
                crc = zlib.crc32(chunk, crc)
                size += n
                if deflated is not None:
                    deflated.feed(chunk)
        payload = deflated.finish() if deflated is not None else None
    except BaseException:
        if deflated is not None:
            deflated.discard()
        raise
    if deflated is None or deflated.packed >= size:  # deflate would not make it smaller
        if deflated is not None:
            deflated.discard()
        return PackedContent(size, digest.hexdigest(), crc, zipwriter.STORED, size)
    return PackedContent(size, digest.hexdigest(), crc, zipwriter.DEFLATED, deflated.packed,
                   payload)


class _Deflated:
    """One file's deflated bytes: in memory while small, spilled to ``scratch`` past
    ``INLINE_BYTES`` (when there is a scratch file to spill to)."""

    def __init__(self, level: int, scratch: Path | None) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._scratch = scratch
        self._pieces: list[bytes] = []
        self._file: BinaryIO | None = None
        self.packed = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        self._keep(self._z.compress(chunk))

    def finish(self) -> bytes | Path:
        self._keep(self._z.flush())
        if self._file is None:
            return b"".join(self._pieces)
        self._file.close()
        assert self._scratch is not None
        return self._scratch

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            assert self._scratch is not None
            self._scratch.unlink(missing_ok=True)

    def _keep(self, data: bytes) -> None:
        self.packed += len(data)
        if self._file is None and self._scratch is not None and self.packed > INLINE_BYTES:
            self._file = self._scratch.open("wb")
            self._file.write(b"".join(self._pieces))
            self._pieces.clear()
        if self._file is not None:
            self._file.write(data)
        else:
            self._pieces.append(data)


# --- pass 2: the zip ----------------------------------------------------------------------


def zip_stage(stage_dir: Path, out: Path, contents: Mapping[str, PackedContent] | None = None,
              zip64_from: int = zipwriter.ZIP32_LIMIT) -> PackedBundle:
    """Zip everything staged, deterministically, at ``out``. ``contents`` is ``prepare``'s
    survey; files it does not know (bundle.json, its signature) are surveyed here.
    ``zip64_from`` lowers the size from which Zip64 fields are written (tests)."""
    entries = list(staged_files(stage_dir))
    known = survey(stage_dir, None, contents or {})
    segments = zipwriter.layout([_zip_entry(name, path, known[name]) for name, path in entries],
                                zip64_from)
    digest, size = zipwriter.write_hashing(segments, out)
    return PackedBundle(path=out, bytes=size, sha256=digest, files=len(entries))


def _zip_entry(name: str, path: Path, c: PackedContent) -> zipwriter.ZipEntry:
    data: zipwriter.Segment = c.payload if isinstance(c.payload, bytes) else (
        c.payload or path, c.packed)
    return zipwriter.ZipEntry(name=name, size=c.size, crc32=c.crc32, method=c.method,
                              packed=c.packed, data=data)

