"""Texture processing per quality tier (§11), on libvips through ``pyvips``.

libvips won the measurement in ``bench/texture_libraries.py``: 2.1x faster than Pillow on the
same pool of processes (75 resizes: 8.6 s against 18.3 s), smaller PNGs, and a similar peak
(151 MiB against 133 MiB in the largest worker, 57 MiB of it the libvips import).

What a texture becomes:

- its longest side capped at ``low`` 512, ``medium`` 1024 or ``high`` 2048 pixels, aspect kept,
  never upscaled; libvips ``thumbnail`` shrinks on load (JPEG DCT scaling), box-shrinks to
  within 2x of the target, then resamples with Lanczos3, premultiplying alpha around it;
- PNG stays PNG (alpha and bit depth kept), JPEG stays JPEG; pixels stay as stored
  (EXIF orientation is not applied: engines read the stored pixels too);
- colour space: resampling happens in the stored encoding for both ``srgb`` and ``linear``
  textures. For ``linear`` data (normal, roughness, masks) that is exactly right, and no
  gamma or ICC conversion ever touches it. For ``srgb`` it is the same approximation sharp
  and Pillow make by default (resampling in linear light costs 3-5x here, measured, and
  changes little at these ratios); an embedded ICC profile on an ``srgb`` texture is applied
  (converted to sRGB) before it is stripped, so the colours survive;
- output bytes are deterministic: fixed encoder settings (PNG zlib level 6, all row filters;
  JPEG quality 90, standard Huffman tables, 4:2:0 chroma for ``srgb``, none for ``linear``)
  and no metadata (EXIF, XMP, ICC, text chunks are dropped; nothing carries a timestamp);
- an image within the cap, fully decodable and without metadata is passed through unchanged.

Hostile input (§13): the pixel limit is checked on the header (libvips opens images lazily),
before a pixel is decoded, so a small file claiming huge dimensions — a decompression bomb —
is refused in microseconds; libvips' own chunk limits bound what text and profile chunks may
inflate to. A truncated file, a file whose content is not what its name says, and corrupt
image data raise ``InvalidInput`` naming the file and the reason; for JPEG that includes
data libjpeg only warns about (a damaged scan it would paint grey).

Pure and synchronous: the caller runs it in a process pool.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pyvips

from ..errors import InvalidInput, LimitExceeded
from .limits import DecodeLimits

# Each texture is decoded once: libvips' operation cache would only hold memory (up to
# 100 MB per pool process) for results never asked for again.
pyvips.cache_set_max(0)
# One libvips worker thread per pool process: the pool already runs one image per core, and
# each extra thread holds its own tile buffers. Measured on the benchmark's 50 textures: the
# same wall time (3.99 s against 4.12 s) and a lower peak per process.
pyvips.concurrency_set(1)

QUALITY_CAPS = {"low": 512, "medium": 1024, "high": 2048}
COLOR_SPACES = ("srgb", "linear")
SUFFIXES = {"png": ".png", "jpeg": ".jpg"}
_NAMED = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}
TOLERATED_JPEG_WARNING = "extraneous bytes before marker"
# How far from the end an image's last chunk (PNG IEND) or marker (JPEG EOI) may lie: writers
# that pad each glTF bufferView to 4 bytes (trimesh) count the padding as part of the image,
# and libpng, libjpeg and every engine ignore what follows the end.
TAIL_BYTES = 64
_PNG_END = b"IEND\xaeB`\x82"
BAND_BYTES = {"uchar": 1, "char": 1, "ushort": 2, "short": 2, "uint": 4, "int": 4,
              "float": 4, "double": 8, "complex": 8, "dpcomplex": 16}
_METADATA = ("icc-profile-data", "exif-data", "xmp-data", "iptc-data", "png-comment-")


@dataclasses.dataclass(frozen=True)
class ProcessedTexture:
    """A texture written by ``process_texture``."""

    path: Path
    width: int
    height: int
    format: str  # "png" or "jpeg"


@dataclasses.dataclass(frozen=True)
class ProcessedImage:
    """Image bytes processed by ``process_image``; ``data`` is the input when passed through."""

    data: bytes
    width: int
    height: int
    format: str  # "png" or "jpeg"


def process_texture(src: Path, dest_dir: Path, *, quality: str, color_space: str,
                    max_pixels: int, decode: DecodeLimits | None = None) -> ProcessedTexture:
    """Write ``src`` sized for ``quality`` into ``dest_dir`` (same stem, ``.png`` or ``.jpg``).

    Raises ``LimitExceeded`` when the header claims more than ``max_pixels`` pixels, a side
    or a decoded row beyond ``decode``'s limits, and ``InvalidInput`` when the file is
    truncated, corrupt or not what its extension says.
    """
    with src.open("rb") as fh:
        head = fh.read(16)
        fh.seek(max(src.stat().st_size - TAIL_BYTES, 0))
        tail = fh.read(TAIL_BYTES)
    fmt = _sniff(head, src.name)
    named = _NAMED.get(src.suffix.lower())
    if named != fmt:
        raise InvalidInput(f"{src.name}: named {src.suffix or 'without extension'!r} but the "
                           f"content is a {fmt.upper()} image")
    _check_complete(fmt, tail, src.name)
    dest = dest_dir / (src.stem + SUFFIXES[fmt])
    out, width, height = _convert(src, fmt, cap=_cap(quality), color_space=color_space,
                                  max_pixels=max_pixels, what=src.name,
                                  decode=decode or DecodeLimits())
    dest_dir.mkdir(parents=True, exist_ok=True)
    if out is None:
        if dest.resolve() != src.resolve():
            shutil.copyfile(src, dest)
    else:
        dest.write_bytes(out)
    return ProcessedTexture(path=dest, width=width, height=height, format=fmt)


def process_image(data: bytes, *, quality: str, color_space: str, max_pixels: int,
                  what: str, decode: DecodeLimits | None = None) -> ProcessedImage:
    """``process_texture`` on bytes (images embedded in models); ``what`` names the image in
    error messages."""
    fmt = _sniff(data[:16], what)
    _check_complete(fmt, data[-TAIL_BYTES:], what)
    out, width, height = _convert(data, fmt, cap=_cap(quality), color_space=color_space,
                                  max_pixels=max_pixels, what=what,
                                  decode=decode or DecodeLimits())
    return ProcessedImage(data=data if out is None else out, width=width, height=height,
                          format=fmt)


def _cap(quality: str) -> int:
    try:
        return QUALITY_CAPS[quality]
    except KeyError:
        raise ValueError(f"unknown quality {quality!r}") from None


def image_format(data: bytes) -> str | None:
    """The format from the magic bytes: ``png``, ``jpeg``, or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def _sniff(head: bytes, what: str) -> str:
    """The format from the magic bytes: ``png`` or ``jpeg``."""
    fmt = image_format(head)
    if fmt is None:
        raise InvalidInput(f"{what}: the content is neither a PNG nor a JPEG image")
    return fmt


def _check_complete(fmt: str, tail: bytes, what: str) -> None:
    """Refuse a file cut short: a PNG's IEND chunk, a JPEG's EOI (FFD9) must lie in its last
    ``TAIL_BYTES`` (padding after them is fine). A file cut short elsewhere, or whose data is
    damaged, fails decoding (``_convert``)."""
    if fmt == "png" and _PNG_END not in tail:
        raise InvalidInput(f"{what}: truncated PNG (it does not end with an IEND chunk)")
    # FFD9 cannot occur inside entropy-coded data (FF is stuffed).
    if fmt == "jpeg" and b"\xff\xd9" not in tail:
        raise InvalidInput(f"{what}: truncated JPEG (it does not end with an EOI marker)")


def _convert(source: Path | bytes, fmt: str, *, cap: int, color_space: str, max_pixels: int,
             what: str, decode: DecodeLimits) -> tuple[bytes | None, int, int]:
    """(encoded bytes, or None to pass the source through; width; height)."""
    if color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {color_space!r}")
    # libjpeg reports damaged entropy-coded data only as a warning ("Corrupt JPEG data:
    # premature end of data segment") and paints the rest of the image grey: JPEGs are decoded
    # failing on warnings, but for the one common harmless warning, stray bytes between
    # markers, which is then decoded again failing on errors only.
    strict = "warning" if fmt == "jpeg" else "error"
    limits = (max_pixels, decode)
    try:
        try:
            return _decode_and_encode(source, fmt, cap, color_space, limits, what, strict)
        except pyvips.Error as exc:
            if strict == "error" or TOLERATED_JPEG_WARNING not in str(exc):
                raise
            return _decode_and_encode(source, fmt, cap, color_space, limits, what, "error")
    except pyvips.Error as exc:
        if "out of memory" in str(exc).lower():  # the pool process's address-space cap
            raise LimitExceeded(f"{what}: decoding it needs more memory than a worker "
                                "process may use") from None
        lines = [line.strip() for line in str(exc).strip().splitlines()]
        reason = lines[1] if len(lines) > 1 else lines[0]  # lines[0] is "unable to call …"
        reason = reason.removeprefix("VipsJpeg: ")
        raise InvalidInput(f"{what}: corrupt {fmt.upper()} data ({reason})") from None


def _decode_and_encode(source: Path | bytes, fmt: str, cap: int, color_space: str,
                       limits: tuple[int, DecodeLimits], what: str,
                       fail_on: str) -> tuple[bytes | None, int, int]:
    image = _open(source, fail_on)  # reads the header only
    _check_pixels(image.width, image.height, limits[0], what)
    _check_shape(image, limits[1], what)
    if max(image.width, image.height) > cap:
        image = _thumbnail(source, cap, fail_on)
    elif not _has_metadata(image):
        image.avg()  # decode every pixel once: corrupt data fails here, not in an engine
        return None, image.width, image.height
    if color_space == "srgb" and image.get_typeof("icc-profile-data"):
        depth = 16 if image.format == "ushort" else 8
        image = image.icc_transform("srgb", embedded=True, intent="perceptual", depth=depth)
    return _encode(image, fmt, color_space), image.width, image.height


def _source(source: Path | bytes) -> Any:
    if isinstance(source, bytes):
        return pyvips.Source.new_from_memory(source)
    return pyvips.Source.new_from_file(str(source))


def _open(source: Path | bytes, fail_on: str) -> Any:
    return pyvips.Image.new_from_source(_source(source), "", access="sequential",
                                        fail_on=fail_on)


def _thumbnail(source: Path | bytes, cap: int, fail_on: str) -> Any:
    # fail_on must reach the loader through option_string: thumbnail's own fail_on argument
    # lets corrupt PNG data through (measured with libvips 8.18).
    return pyvips.Image.thumbnail_source(_source(source), cap, height=cap, size="down",
                                         no_rotate=True, option_string=f"fail_on={fail_on}")


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width * height > max_pixels:
        raise LimitExceeded(f"{what}: {width}×{height} = {width * height} pixels exceed the "
                            f"limit of {max_pixels} pixels")


def _check_shape(image: Any, decode: DecodeLimits, what: str) -> None:
    """Each side and the decoded row, from the header: resampling holds whole rows (and,
    shrinking a very wide image, many of them), so width matters beyond the pixel count."""
    side = max(image.width, image.height)
    if side > decode.image_dimension:
        raise LimitExceeded(f"{what}: {image.width}×{image.height}: a side of {side} pixels "
                            f"exceeds the limit of {decode.image_dimension}")
    row = image.width * image.bands * BAND_BYTES.get(image.format, 8)
    if row > decode.image_row_bytes:
        raise LimitExceeded(f"{what}: a decoded row of {row} bytes ({image.width} pixels × "
                            f"{image.bands} bands of {image.format}) exceeds the limit of "
                            f"{decode.image_row_bytes}")


def _has_metadata(image: Any) -> bool:
    return any(field.startswith(_METADATA) for field in image.get_fields())


def _encode(image: Any, fmt: str, color_space: str) -> bytes:
    if fmt == "png":
        data: bytes = image.pngsave_buffer(compression=6, filter="all", keep="none")
    else:
        # Optimised Huffman tables would make the file 4.8 % smaller, at 3.5x the encoding
        # time and 21 MiB more peak memory per process (libjpeg holds every coefficient of
        # the image for the second pass); measured on the benchmark's 2048² JPEGs.
        data = image.jpegsave_buffer(Q=90, optimize_coding=False, keep="none",
                                     subsample_mode="on" if color_space == "srgb" else "off")
    return data
