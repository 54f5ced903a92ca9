"""Asset gathering for ``include_assets: true``: resolve, check, copy into the job's folder.

This version reads relative URIs (under the project's asset root, never escaping it) and
``data:`` URIs; it verifies ``sha256`` when given, checks each file's content against its
type, and enforces the per-asset and per-job byte limits (§13) before copying. Remote URIs
(``https://``, ``http://``, ``s3://``) fail the job with an error that says so.

Blocking file I/O: call ``gather`` through ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..engines.base import AssetFile
from ..errors import InvalidInput, LimitExceeded
from ..manifest import Asset, Manifest
from ..settings import Limits

EXTENSIONS = {
    "texture": {".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpg"},
    "model": {".glb": ".glb"},
    "audio": {".ogg": ".ogg", ".wav": ".wav", ".mp3": ".mp3"},
}
DATA_MEDIA_TYPES = {
    "image/png": ".png", "image/jpeg": ".jpg", "model/gltf-binary": ".glb",
    "audio/ogg": ".ogg", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/mpeg": ".mp3",
}


@dataclasses.dataclass(frozen=True)
class GatheredAssets:
    files: dict[str, AssetFile]
    digests: dict[str, str]  # asset id → sha256 of its bytes (part of the input hash)


def gather(manifest: Manifest, root: Path | None, dest: Path,
           limits: Limits) -> GatheredAssets:
    """Copy every asset of ``manifest`` into ``dest``; raise ``InvalidInput`` on the first bad
    one."""
    dest.mkdir(parents=True, exist_ok=True)
    files: dict[str, AssetFile] = {}
    digests: dict[str, str] = {}
    total = 0
    for index, asset in enumerate(manifest.assets):
        where = f"assets[{index}] {asset.id!r} ({_short(asset.uri)})"
        raw, ext = _read(asset, root, where, limits)
        total += len(raw)
        if total > limits.job_fetch_bytes:
            raise LimitExceeded(f"{where}: the job's assets exceed {limits.job_fetch_bytes} bytes")
        digest = hashlib.sha256(raw).hexdigest()
        if asset.sha256 is not None and digest != asset.sha256:
            raise InvalidInput(f"{where}: sha256 mismatch: expected {asset.sha256}, got {digest}")
        _check_content(asset, raw, ext, where)
        target = dest / f"{asset.id}{ext}"
        target.write_bytes(raw)
        files[asset.id] = AssetFile(asset_id=asset.id, filename=target.name, path=target)
        digests[asset.id] = digest
    return GatheredAssets(files=files, digests=digests)


def _short(uri: str) -> str:
    return uri if len(uri) <= 80 else uri[:77] + "..."


def _read(asset: Asset, root: Path | None, where: str, limits: Limits) -> tuple[bytes, str]:
    scheme = urlsplit(asset.uri).scheme.lower()
    if scheme == "data":
        return _read_data_uri(asset, where, limits)
    if scheme:
        raise InvalidInput(f"{where}: {scheme}:// asset URIs are not supported by this worker "
                           "version; use a path relative to the project or a data: URI")
    return _read_relative(asset, root, where, limits)


def _read_relative(asset: Asset, root: Path | None, where: str,
                   limits: Limits) -> tuple[bytes, str]:
    if root is None:
        raise InvalidInput(f"{where}: a relative URI needs an asset root "
                           "(PROJECTS_DIR or --assets)")
    rel = PurePosixPath(unquote(asset.uri))
    if rel.is_absolute() or ".." in rel.parts:
        raise InvalidInput(f"{where}: the path escapes the project's asset root")
    base = root.resolve()
    path = base.joinpath(*rel.parts).resolve()
    if not path.is_relative_to(base):  # a symlink pointing out of the root
        raise InvalidInput(f"{where}: the path escapes the project's asset root")
    ext = _extension(asset, rel.suffix.lower(), where)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput(f"{where}: not found under the project's asset root") from None
    if size > limits.asset_bytes:
        raise LimitExceeded(f"{where}: {size} bytes exceed the limit of {limits.asset_bytes}")
    with path.open("rb") as fh:
        return fh.read(limits.asset_bytes + 1), ext


def _read_data_uri(asset: Asset, where: str, limits: Limits) -> tuple[bytes, str]:
    header, sep, payload = asset.uri[5:].partition(",")
    if not sep:
        raise InvalidInput(f"{where}: malformed data: URI (no comma)")
    media, _, params = header.partition(";")
    ext = DATA_MEDIA_TYPES.get(media.lower())
    if ext is None or ext not in EXTENSIONS[asset.type].values():
        raise InvalidInput(f"{where}: data: URI media type {media!r} is not a {asset.type}")
    if len(payload) * 3 // 4 > limits.asset_bytes:
        raise LimitExceeded(f"{where}: exceeds the limit of {limits.asset_bytes} bytes")
    if params.lower() != "base64":
        return unquote(payload).encode("latin-1"), ext
    try:
        return base64.b64decode(payload, validate=True), ext
    except binascii.Error:
        raise InvalidInput(f"{where}: data: URI is not valid base64") from None


def _extension(asset: Asset, suffix: str, where: str) -> str:
    allowed = EXTENSIONS[asset.type]
    if suffix not in allowed:
        raise InvalidInput(f"{where}: a {asset.type} must be one of "
                           f"{', '.join(sorted(allowed))}, got {suffix or 'no extension'!r}")
    return allowed[suffix]


def _check_content(asset: Asset, raw: bytes, ext: str, where: str) -> None:
    """Refuse a file whose bytes are not what its type and extension say."""
    ok = {
        ".png": raw.startswith(b"\x89PNG\r\n\x1a\n"),
        ".jpg": raw.startswith(b"\xff\xd8\xff"),
        ".glb": raw[:4] == b"glTF",
        ".ogg": raw.startswith(b"OggS"),
        ".wav": raw[:4] == b"RIFF" and raw[8:12] == b"WAVE",
        ".mp3": raw.startswith(b"ID3") or raw[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    }[ext]
    if not ok:
        raise InvalidInput(f"{where}: the content is not a {ext[1:]} file")

