"""Texture library choice: libvips (``pyvips`` + ``pyvips-binary``) against Pillow, both in a
process pool, resizing the same files to the same quality tiers in one run.

    .venv/bin/python bench/texture_libraries.py [--workers 2] [--rounds 1] [--keep DIR]

Inputs, generated deterministically with libvips (seeded Perlin noise plus Gaussian grain, so
compression behaves like real textures): 20 PNG 2048² RGBA and 5 JPEG 4096² RGB. Each
library then processes every file at ``high`` (2048), ``medium`` (1024) and ``low`` (512):
libvips through ``assets/textures.process_texture`` itself, Pillow through the equivalent
code below. Both: never upscaled (an image already within the cap is fully decoded to
validate it, then copied), Lanczos3 after a box pre-shrink to within 2x of the target (vips
``thumbnail``; Pillow ``thumbnail(reducing_gap=2.0)``, with JPEG draft mode), alpha
premultiplied while resampling, metadata stripped, PNG zlib level 6 (libvips tries every row
filter, Pillow its adaptive default), JPEG quality 90, 4:2:0 chroma, optimised Huffman tables.

Each library runs in a fresh child process (spawned) holding a pool of ``--workers`` spawned
processes. Peak RSS is read from ``VmHWM`` in ``/proc/self/status`` of every process (not
``ru_maxrss``, which carries the parent's peak over ``exec``): "sum" adds the child's peak to
each pool worker's, "max" is the largest single process.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CAPS = {"high": 2048, "medium": 1024, "low": 512}
PNG_COUNT, PNG_SIZE = 20, 2048
JPEG_COUNT, JPEG_SIZE = 5, 4096
LIBRARIES = ("pyvips", "pillow")


def peak_rss_kib() -> int:
    """This process's own peak resident set (``VmHWM``), in KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- inputs ---------------------------------------------------------------------------------


def _noise_image(size: int, bands: int, seed: int) -> Any:
    """A texture-like uchar image: Perlin noise per band at two scales plus fine grain."""
    import pyvips

    layers = []
    for band in range(bands):
        coarse = pyvips.Image.perlin(size, size, cell_size=256, seed=seed * 16 + band)
        fine = pyvips.Image.perlin(size, size, cell_size=32, seed=seed * 16 + band + 8)
        layers.append(coarse * 90 + fine * 30 + 128)
    image = layers[0].bandjoin(layers[1:]) if bands > 1 else layers[0]
    grain = pyvips.Image.gaussnoise(size, size, sigma=6.0, mean=0.0, seed=seed)
    image = (image + grain).cast("uchar")  # cast clamps to 0..255
    return image.copy(interpretation="srgb")


def generate(folder: Path) -> list[Path]:
    """Write the benchmark inputs into ``folder`` (same bytes on every run)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(PNG_COUNT):
        path = folder / f"tex_{i:02d}.png"
        _noise_image(PNG_SIZE, 4, i).pngsave(str(path), compression=6, keep="none")
        paths.append(path)
    for i in range(JPEG_COUNT):
        path = folder / f"photo_{i:02d}.jpg"
        _noise_image(JPEG_SIZE, 3, 100 + i).jpegsave(str(path), Q=90, keep="none",
                                                     subsample_mode="on",
                                                     optimize_coding=True)
        paths.append(path)
    return paths


# --- the two implementations ----------------------------------------------------------------


def resize_pyvips(src: Path, dest: Path, cap: int) -> tuple[int, int, int]:
    """libvips: what ships, ``assets/textures.process_texture`` (header first, ``thumbnail``
    with shrink-on-load and Lanczos3 when over the cap)."""
    from pacai_export.assets.textures import QUALITY_CAPS, process_texture

    quality = next(q for q, c in QUALITY_CAPS.items() if c == cap)
    done = process_texture(src, dest.parent / quality, quality=quality, color_space="srgb",
                           max_pixels=8192 * 8192)
    return done.width, done.height, done.path.stat().st_size


def resize_pillow(src: Path, dest: Path, cap: int) -> tuple[int, int, int]:
    """Pillow: header first, ``thumbnail`` (draft for JPEG, Lanczos) when over the cap."""
    from PIL import Image

    with Image.open(src) as image:
        if max(image.size) <= cap:
            image.load()
            shutil.copyfile(src, dest)
            return image.width, image.height, dest.stat().st_size
        image.thumbnail((cap, cap), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if src.suffix == ".png":
            image.save(dest, format="PNG", compress_level=6)
        else:
            image.save(dest, format="JPEG", quality=90, subsampling="4:2:0", optimize=True)
        return image.width, image.height, dest.stat().st_size


def _task(library: str, src: Path, dest: Path, cap: int) -> tuple[int, int, int, int, int]:
    """One resize in a pool worker: (pid, its VmHWM so far, width, height, output bytes)."""
    resize = resize_pyvips if library == "pyvips" else resize_pillow
    width, height, size = resize(src, dest, cap)
    return os.getpid(), peak_rss_kib(), width, height, size


def _warm(library: str) -> int:
    """Import the library in a pool worker, so the timed run measures work, not imports."""
    if library == "pyvips":
        import pacai_export.assets.textures  # noqa: F401
    else:
        import PIL.Image  # noqa: F401
    time.sleep(0.2)  # let every worker take one
    return os.getpid()


def run_library(library: str, inputs: list[Path], out: Path, workers: int) -> dict[str, Any]:
    """In a fresh child: every input at every tier through a pool of ``workers``."""
    ctx = multiprocessing.get_context("spawn")
    jobs = [(src, tier) for tier in CAPS for src in inputs]
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(_warm, [library] * workers))
        t0 = time.perf_counter()
        futures = [pool.submit(_task, library, src, out / f"{tier}_{src.name}", CAPS[tier])
                   for src, tier in jobs]
        results = [f.result() for f in futures]
        wall = time.perf_counter() - t0
    peaks: dict[int, int] = {}
    sizes: dict[str, int] = dict.fromkeys(CAPS, 0)
    for (_, tier), (pid, peak, _, _, size) in zip(jobs, results, strict=True):
        peaks[pid] = max(peaks.get(pid, 0), peak)
        sizes[tier] += size
    return {"library": library, "wall": wall, "rss_sum_mib": (sum(peaks.values())
            + peak_rss_kib()) / 1024, "rss_max_mib": max(peaks.values()) / 1024,
            "sizes_mib": {t: s / 2**20 for t, s in sizes.items()}}


def _child(library: str, inputs: list[Path], out: Path, workers: int,
           queue: Any) -> None:
    queue.put(run_library(library, inputs, out, workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write inputs and outputs here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="texbench-"))
    try:
        t0 = time.perf_counter()
        inputs = generate(folder / "in")
        print(f"inputs: {PNG_COUNT} PNG {PNG_SIZE}² RGBA + {JPEG_COUNT} JPEG {JPEG_SIZE}², "
              f"{sum(p.stat().st_size for p in inputs) / 2**20:.1f} MiB, generated in "
              f"{time.perf_counter() - t0:.1f} s; {args.workers} pool workers, "
              f"{len(inputs) * len(CAPS)} resizes per round")
        ctx = multiprocessing.get_context("spawn")
        rows: dict[str, list[dict[str, Any]]] = {lib: [] for lib in LIBRARIES}
        for _ in range(args.rounds):
            for library in LIBRARIES:
                out = folder / "out" / library
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                queue = ctx.Queue()
                child = ctx.Process(target=_child,
                                    args=(library, inputs, out, args.workers, queue))
                child.start()
                rows[library].append(queue.get())
                child.join()
        _report(rows)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _report(rows: dict[str, list[dict[str, Any]]]) -> None:
    print(f"{'library':8} {'wall s':>7} {'peak RSS sum':>13} {'max proc':>9}   "
          "output MiB high / medium / low")
    walls = {}
    for library, runs in rows.items():
        walls[library] = statistics.median(r["wall"] for r in runs)
        last = runs[-1]
        sizes = " / ".join(f"{last['sizes_mib'][t]:.1f}" for t in CAPS)
        print(f"{library:8} {walls[library]:7.2f} {last['rss_sum_mib']:10.0f} MiB "
              f"{last['rss_max_mib']:5.0f} MiB   {sizes}")
    print(f"pillow / pyvips wall time: {walls['pillow'] / walls['pyvips']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
