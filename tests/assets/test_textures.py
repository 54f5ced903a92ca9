"""Texture processing (§11, §13): tiers, formats, colour space, determinism, hostile files.

Images are generated with libvips (seeded) and read back with a PNG header parser written
here and with libvips; the hostile PNGs are crafted byte by byte.
"""

from __future__ import annotations

import random
import shutil
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import pyvips  # type: ignore[import-untyped]

from pacai_export.assets.textures import process_image, process_texture
from pacai_export.errors import InvalidInput, LimitExceeded

MAX_PIXELS = 8192 * 8192


def _noise(width: int, height: int, bands: int, seed: int = 1) -> pyvips.Image:
    """A deterministic image: gradients plus seeded noise, alpha varying when 4 bands."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)),
                     ((x + y) % 256), (x % 200 + 55)][:bands], axis=-1)
    pixels = np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)
    return pyvips.Image.new_from_array(pixels, interpretation="srgb")


def _save(image: pyvips.Image, path: Path) -> Path:
    if path.suffix == ".png":
        image.pngsave(str(path), keep="none")
    else:
        image.jpegsave(str(path), Q=90, keep="none")
    return path


def _png_header(path: Path) -> tuple[int, int, int]:
    """(width, height, colour type) from the IHDR chunk, read by hand."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height, _, color_type = struct.unpack(">IIBB", data[16:26])
    return width, height, color_type


def _png_chunks(path: Path) -> list[bytes]:
    data, offset, kinds = path.read_bytes(), 8, []
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset:offset + 4])
        kinds.append(data[offset + 4:offset + 8])
        offset += 12 + size
    return kinds


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _crafted_png(width: int, height: int, idat: bytes, bit_depth: int = 8,
                 color_type: int = 6) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def wide_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(_noise(3000, 1500, 4), tmp_path_factory.mktemp("src") / "wide.png")


@pytest.mark.parametrize(("quality", "size"), [("high", (2048, 1024)), ("medium", (1024, 512)),
                                               ("low", (512, 256))])
def test_png_tiers_cap_the_longest_side_keep_aspect_and_alpha(
        wide_png: Path, tmp_path: Path, quality: str, size: tuple[int, int]) -> None:
    done = process_texture(wide_png, tmp_path, quality=quality, color_space="srgb",
                           max_pixels=MAX_PIXELS)
    assert (done.path, done.width, done.height, done.format) == (
        tmp_path / "wide.png", *size, "png")
    assert _png_header(done.path) == (*size, 6)  # colour type 6: RGBA, alpha kept
    alpha = pyvips.Image.new_from_file(str(done.path))[3]
    source_alpha = pyvips.Image.new_from_file(str(wide_png))[3]
    assert alpha.min() < 100 and alpha.max() > 200  # still varying, not flattened
    assert abs(alpha.avg() - source_alpha.avg()) < 2
    # metadata stripped: only the chunks the pixels need
    assert set(_png_chunks(done.path)) <= {b"IHDR", b"IDAT", b"IEND", b"pHYs"}


def test_small_images_pass_through_unchanged(tmp_path: Path) -> None:
    src = _save(_noise(300, 200, 4), tmp_path / "small.png")
    for quality in ("low", "medium", "high"):
        done = process_texture(src, tmp_path / quality, quality=quality, color_space="srgb",
                               max_pixels=MAX_PIXELS)
        assert (done.width, done.height) == (300, 200)
        assert done.path.read_bytes() == src.read_bytes()


def test_an_image_at_the_cap_is_not_resampled(tmp_path: Path) -> None:
    src = _save(_noise(2048, 1000, 3), tmp_path / "edge.jpg")
    done = process_texture(src, tmp_path / "out", quality="high", color_space="srgb",
                           max_pixels=MAX_PIXELS)
    assert done.path.read_bytes() == src.read_bytes()


def test_jpeg_stays_jpeg(tmp_path: Path) -> None:
    src = _save(_noise(3000, 2000, 3), tmp_path / "photo.jpeg")
    done = process_texture(src, tmp_path / "out", quality="low", color_space="srgb",
                           max_pixels=MAX_PIXELS)
    assert (done.path.name, done.width, done.height, done.format) == (
        "photo.jpg", 512, 341, "jpeg")
    data = done.path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and data.endswith(b"\xff\xd9")
    image = pyvips.Image.new_from_file(str(done.path))
    assert (image.width, image.height, image.bands) == (512, 341, 3)
    assert "exif-data" not in image.get_fields()


def test_output_bytes_are_deterministic(wide_png: Path, tmp_path: Path) -> None:
    jpeg = _save(_noise(2500, 2500, 3, seed=7), tmp_path / "photo.jpg")
    for src in (wide_png, jpeg):
        first = process_texture(src, tmp_path / "a", quality="medium", color_space="srgb",
                                max_pixels=MAX_PIXELS)
        second = process_texture(src, tmp_path / "b", quality="medium", color_space="srgb",
                                 max_pixels=MAX_PIXELS)
        assert first.path.read_bytes() == second.path.read_bytes()


def test_resampling_is_in_the_stored_encoding(tmp_path: Path) -> None:
    """A 1-pixel black/white checkerboard averages to mid-grey 127.5 *in the stored values*
    for both colour spaces: right for linear data; for sRGB the documented approximation
    (linear-light resampling would give ~188)."""
    board = (np.indices((1024, 1024)).sum(axis=0) % 2 * 255).astype(np.uint8)
    src = _save(pyvips.Image.new_from_array(np.stack([board] * 3, -1), interpretation="srgb"),
                tmp_path / "board.png")
    for space in ("linear", "srgb"):
        done = process_texture(src, tmp_path / space, quality="low", color_space=space,
                               max_pixels=MAX_PIXELS)
        image = pyvips.Image.new_from_file(str(done.path))
        assert abs(image.avg() - 127.5) < 2, space
        assert image.deviate() < 3, space


def test_linear_textures_are_never_colour_converted(tmp_path: Path) -> None:
    """An embedded (Display P3) profile: an sRGB texture is converted to sRGB, then the
    profile is stripped; a linear texture keeps its stored values (mid-grey stays put)."""
    flat = pyvips.Image.black(64, 64).new_from_image([128, 128, 128]).cast("uchar")
    red = pyvips.Image.black(64, 64).new_from_image([200, 40, 40]).cast("uchar")
    for name, image in (("grey", flat), ("red", red)):
        p3 = image.copy(interpretation="srgb").icc_transform("p3", input_profile="srgb")
        p3.pngsave(str(tmp_path / f"{name}.png"))
    stored = pyvips.Image.new_from_file(str(tmp_path / "red.png"))(10, 10)
    results = {}
    for space in ("linear", "srgb"):
        for name in ("grey", "red"):
            done = process_texture(tmp_path / f"{name}.png", tmp_path / space, quality="low",
                                   color_space=space, max_pixels=MAX_PIXELS)
            out = pyvips.Image.new_from_file(str(done.path))
            assert "icc-profile-data" not in out.get_fields()
            results[space, name] = out(10, 10)
    assert results["linear", "red"] == stored  # stored values untouched
    assert all(abs(v - 128) <= 1 for v in results["linear", "grey"])
    assert all(abs(a - b) <= 2 for a, b in zip(results["srgb", "red"], [200, 40, 40],
                                               strict=True))


def test_oversized_header_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(_crafted_png(100_000, 100_000, zlib.compress(b"\0" * 1000)))
    started = time.perf_counter()
    with pytest.raises(LimitExceeded) as caught:
        process_texture(path, tmp_path / "out", quality="low", color_space="srgb",
                        max_pixels=MAX_PIXELS)
    assert time.perf_counter() - started < 0.5
    assert str(caught.value) == ("huge.png: 100000×100000 = 10000000000 pixels exceed the "
                                 "limit of 67108864 pixels")


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    """A real, complete 1-bit PNG of 12000² (144 Mpx) that compresses to a few KB."""
    rows = (b"\0" + b"\0" * 1500) * 12000
    path = tmp_path / "bomb.png"
    path.write_bytes(_crafted_png(12_000, 12_000, zlib.compress(rows, 9), bit_depth=1,
                                  color_type=0))
    assert path.stat().st_size < 64 * 1024
    started = time.perf_counter()
    with pytest.raises(LimitExceeded, match="12000×12000 = 144000000 pixels exceed"):
        process_texture(path, tmp_path / "out", quality="low", color_space="srgb",
                        max_pixels=MAX_PIXELS)
    assert time.perf_counter() - started < 0.5


def test_pixel_limit_is_a_setting(tmp_path: Path) -> None:
    src = _save(_noise(300, 200, 3), tmp_path / "small.png")
    with pytest.raises(LimitExceeded, match="300×200 = 60000 pixels exceed the limit of 1000"):
        process_texture(src, tmp_path / "out", quality="low", color_space="srgb",
                        max_pixels=1000)


def test_truncated_png(wide_png: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(wide_png.read_bytes()[:50_000])
    with pytest.raises(InvalidInput) as caught:
        process_texture(path, tmp_path / "out", quality="low", color_space="srgb",
                        max_pixels=MAX_PIXELS)
    assert str(caught.value) == "cut.png: truncated PNG (it does not end with an IEND chunk)"


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = _save(_noise(600, 400, 3), tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    with pytest.raises(InvalidInput) as caught:
        process_texture(tmp_path / "cut.jpg", tmp_path / "out", quality="low",
                        color_space="srgb", max_pixels=MAX_PIXELS)
    assert str(caught.value) == "cut.jpg: truncated JPEG (it does not end with an EOI marker)"


@pytest.mark.parametrize("quality", ["low", "high"])  # resized, and passed through
def test_corrupt_png_data(tmp_path: Path, quality: str) -> None:
    """Complete chunk structure, garbage compressed data: libvips' reason is in the message."""
    path = tmp_path / "bad.png"
    path.write_bytes(_crafted_png(600, 400, b"\x78\x9c" + bytes(range(256)) * 20))
    with pytest.raises(InvalidInput) as caught:
        process_texture(path, tmp_path / "out", quality=quality, color_space="srgb",
                        max_pixels=MAX_PIXELS)
    assert str(caught.value).startswith("bad.png: corrupt PNG data (")


@pytest.mark.parametrize("quality", ["low", "high"])  # resized, and passed through
def test_corrupt_jpeg_scan(tmp_path: Path, quality: str) -> None:
    """Garbage in the middle of the scan, every marker in place: libjpeg only warns, and
    would paint the rest grey."""
    data = bytearray(_save(_noise(600, 400, 3), tmp_path / "good.jpg").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = random.Random(1).randbytes(2000)
    (tmp_path / "bad.jpg").write_bytes(bytes(data))
    with pytest.raises(InvalidInput) as caught:
        process_texture(tmp_path / "bad.jpg", tmp_path / "out", quality=quality,
                        color_space="srgb", max_pixels=MAX_PIXELS)
    assert str(caught.value) == ("bad.jpg: corrupt JPEG data (Corrupt JPEG data: premature "
                                 "end of data segment)")


def test_stray_bytes_between_jpeg_markers_are_tolerated(tmp_path: Path) -> None:
    """The one libjpeg warning common in real files that decode whole."""
    data = _save(_noise(600, 400, 3), tmp_path / "good.jpg").read_bytes()
    scan = data.index(b"\xff\xda")
    (tmp_path / "stray.jpg").write_bytes(data[:scan] + b"\x00\x00\x00" + data[scan:])
    done = process_texture(tmp_path / "stray.jpg", tmp_path / "out", quality="low",
                           color_space="srgb", max_pixels=MAX_PIXELS)
    assert (done.width, done.height, done.format) == (512, 341, "jpeg")


def test_jpeg_named_png_is_refused(tmp_path: Path) -> None:
    jpeg = _save(_noise(100, 100, 3), tmp_path / "real.jpg")
    shutil.copyfile(jpeg, tmp_path / "fake.png")
    with pytest.raises(InvalidInput) as caught:
        process_texture(tmp_path / "fake.png", tmp_path / "out", quality="low",
                        color_space="srgb", max_pixels=MAX_PIXELS)
    assert str(caught.value) == "fake.png: named '.png' but the content is a JPEG image"


def test_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(InvalidInput) as caught:
        process_texture(tmp_path / "notes.png", tmp_path / "out", quality="low",
                        color_space="srgb", max_pixels=MAX_PIXELS)
    assert str(caught.value) == "notes.png: the content is neither a PNG nor a JPEG image"


def test_process_image_on_bytes(wide_png: Path) -> None:
    done = process_image(wide_png.read_bytes(), quality="medium", color_space="srgb",
                         max_pixels=MAX_PIXELS, what="model.glb images[0]")
    assert (done.width, done.height, done.format) == (1024, 512, "png")
    assert done.data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InvalidInput, match=r"^model.glb images\[0\]: truncated PNG"):
        process_image(wide_png.read_bytes()[:1000], quality="low", color_space="srgb",
                      max_pixels=MAX_PIXELS, what="model.glb images[0]")
