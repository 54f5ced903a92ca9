"""Export time of big scenes, stage by stage, against the exporter before the big-worlds work.

    .venv/bin/python bench/export_time.py [--sizes 1000 10000 20000 100000]
                                          [--baseline-sizes 1000 10000 20000] [--no-baseline]
                                          [--plot docs/export_time.png]

Each size runs in a fresh process (so its peak RSS is its own): a generated scene of boxes
and spheres in groups of 100 under one material (as ``tests/conftest.py:stress_manifest``),
no assets, through the pipeline's own stage functions on one core, each timed in CPU
seconds of the process (other load on a shared machine counts less than in wall time):
validate (decode the manifest's bytes and build the models), each engine writer (files
written to disk by ``pipeline.stage_engine``, big ones streamed), pack (bundle.json,
deflate, zip), in that fixed order, each after a full collection of the cyclic garbage
collector (timed apart and printed, not in the total; see
``_collect``). The baseline is ``BASELINE`` (main when
the work started), checked out into a temporary ``git worktree`` and run by the same Python
with ``PYTHONPATH`` on its ``src``; the worktree is removed afterwards. Prints seconds per
stage, microseconds per node, peak RSS, and the ratio baseline / now per stage, and draws the
curve (µs per node by stage against nodes) into ``docs/export_time.png`` (``--plot``).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "84ce0da2876220f527863bf9888ae63907ccf7fd"  # main at the start of the work
STAGES = ("validate", "godot", "unity", "ue5", "pack")


def scene(nodes: int) -> dict[str, Any]:
    """Boxes and spheres in groups of 100, one material: the shape of the issue's figures."""
    items: list[dict[str, Any]] = [{"id": "sun", "light": {"type": "directional"}}]
    for i in range(nodes):
        group = f"group_{i // 100:04d}"
        if i % 100 == 0:
            items.append({"id": group, "name": f"Group {i // 100}"})
        items.append({"id": f"n{i:06d}", "name": f"Node {i}", "parent": group,
                      "mesh": {"primitive": "box" if i % 2 else "sphere"}, "material": "gold",
                      "transform": {"translation": [i % 50, (i // 50) % 10, i // 500]}})
    return {"schema": "pacai.manifest/v1", "project": {"id": "bench", "name": "Bench"},
            "materials": [{"id": "gold", "base_color": [1.0, 0.8, 0.2, 1.0], "metallic": 1.0}],
            "scenes": [{"id": "main", "name": "Main", "nodes": items}], "main_scene": "main"}


def measure(nodes: int) -> dict[str, Any]:
    """One size, in this process: seconds per stage and peak RSS (run by ``--one``)."""
    from pacai_export.bundle import prepare, zip_stage
    from pacai_export.engines.base import BuildContext
    from pacai_export.jobs import ExportJob
    from pacai_export.manifest import decode_manifest_bytes, parse_manifest
    from pacai_export.pipeline import bundle_meta, stage_engine
    from pacai_export.settings import Limits

    raw = json.dumps(scene(nodes)).encode()
    limits = dataclasses.replace(Limits(), manifest_bytes=1 << 30, nodes=1 << 24)
    times: dict[str, float] = {}
    collect: dict[str, float] = {}
    collect["validate"] = _collect()
    started = time.process_time()
    manifest = parse_manifest(decode_manifest_bytes(raw, limits, "bench"), limits)
    times["validate"] = time.process_time() - started
    rss_after = {"validate": _rss()}
    ctx = BuildContext(manifest=manifest, seed="bench", quality="high", include_assets=False)
    with tempfile.TemporaryDirectory(prefix="pacai-bench-") as tmp:
        stage = Path(tmp, "stage")
        for engine in STAGES[1:4]:
            collect[engine] = _collect()
            started = time.process_time()
            stage_engine(engine, ctx, stage / engine)  # as the pipeline: big files streamed
            times[engine] = time.process_time() - started
            rss_after[engine] = _rss()
        job, _ = ExportJob.parse({"project_id": "bench", "engines": list(STAGES[1:4]),
                                  "include_assets": False, "quality": "high"})
        collect["pack"] = _collect()
        started = time.process_time()
        prepared = prepare(stage, bundle_meta(job, manifest), Path(tmp, "deflated"))
        packed = zip_stage(stage, Path(tmp, "bundle.zip"), prepared.contents)
        times["pack"] = time.process_time() - started
    rss_after["pack"] = _rss()
    return {"nodes": nodes, "times": times, "collect": collect, "rss": _rss(),
            "rss_after": rss_after, "bundle": packed.bytes}


def _collect() -> float:
    """A full collection before a stage, its CPU seconds returned (reported, not in the
    total). Without it, the first full pass of the cyclic collector over the manifest's
    models (~0.13 s at 20,000 nodes) lands in whichever stage happens to cross the
    collector's threshold first: Godot's at 20,000 nodes, another stage's or none at other
    sizes. With it, each stage starts from the same collected heap and pays for the
    collections its own allocations cause, as in the pipeline, where each stage runs in a
    pool process that has not just built the whole manifest."""
    started = time.process_time()
    gc.collect()
    return time.process_time() - started


def _rss() -> int:
    """Peak RSS of this process so far, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(nodes: int, src: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run([sys.executable, __file__, "--one", str(nodes)], env=env, check=True,
                         capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def baseline_runs(sizes: list[int]) -> dict[int, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="pacai-baseline-") as tmp:
        tree = Path(tmp, "tree")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree),
                        BASELINE], check=True)
        try:
            return {n: run(n, tree / "src") for n in sizes}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=True)


def report(now: dict[int, dict[str, Any]], before: dict[int, dict[str, Any]]) -> None:
    print("export stages: CPU seconds of the one process (µs per node), so that other load on "
          "the machine counts less; peak RSS of the process")
    print(f"{'nodes':>7s} " + " ".join(f"{s:>17s}" for s in (*STAGES, "total")) + "   RSS")
    for label, runs in (("now", now), ("before", before)):
        for n, r in runs.items():
            t = r["times"]
            cells = [f"{t[s]:7.3f} ({t[s] / n * 1e6:5.1f})" for s in STAGES]
            total = sum(t.values())
            cells.append(f"{total:7.3f} ({total / n * 1e6:5.1f})")
            print(f"{n:7d} " + " ".join(f"{c:>17s}" for c in cells)
                  + f" {r['rss'] / 2**20:5.0f} MiB  {label}")
    for n, r in now.items():
        print(f"peak RSS after each stage at {n} nodes: " + ", ".join(
            f"{s} {v / 2**20:.0f} MiB" for s, v in r["rss_after"].items()))
    for label, runs in (("now", now), ("before", before)):
        for n, r in runs.items():
            print(f"untimed full collections before each stage at {n} nodes ({label}): "
                  + ", ".join(f"{s} {v:.3f} s" for s, v in r["collect"].items()))
    for n in sorted(set(now) & set(before)):
        a, b = now[n]["times"], before[n]["times"]
        ratios = ", ".join(f"{s} {b[s] / a[s]:.1f}x" for s in STAGES)
        print(f"speed-up at {n} nodes (before / now): {ratios}, "
              f"total {sum(b.values()) / sum(a.values()):.1f}x")


COLOURS = {"validate": (31, 119, 180), "godot": (44, 160, 44), "unity": (148, 103, 189),
           "ue5": (214, 39, 40), "pack": (255, 127, 14), "total": (0, 0, 0)}


def plot(now: dict[int, dict[str, Any]], before: dict[int, dict[str, Any]], path: Path) -> None:
    """The curve as a PNG (Pillow, already the bench extra's): µs per node of each stage and
    the total against the node count (log scale), the baseline's total dashed in grey. A flat
    line is a linear cost."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, left, right, top, bottom = 900, 520, 70, 170, 40, 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    series = {s: [(n, r["times"][s] / n * 1e6) for n, r in sorted(now.items())] for s in STAGES}
    series["total"] = [(n, sum(r["times"].values()) / n * 1e6) for n, r in sorted(now.items())]
    base = [(n, sum(r["times"].values()) / n * 1e6) for n, r in sorted(before.items())]
    sizes = sorted({n for n, _ in series["total"]} | {n for n, _ in base})
    ymax = max(v for pts in (*series.values(), base) for _, v in pts) * 1.1
    lo, hi = math.log10(min(sizes)), math.log10(max(sizes))

    def xy(n: int, v: float) -> tuple[float, float]:
        x = left + (math.log10(n) - lo) / max(hi - lo, 1e-9) * (width - left - right)
        return x, height - bottom - v / ymax * (height - top - bottom)

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    step = _nice_step(ymax / 6)
    for i in range(int(ymax / step) + 1):
        _, y = xy(sizes[0], i * step)
        draw.line([left, y, width - right, y], fill=(225, 225, 225))
        draw.text((left - 8, y), f"{i * step:g}", fill="black", font=font, anchor="rm")
    for n in sizes:
        x, _ = xy(n, 0)
        draw.line([x, top, x, height - bottom], fill=(225, 225, 225))
        draw.text((x, height - bottom + 8), f"{n:,}", fill="black", font=font, anchor="mt")
    draw.text((width / 2 - right / 2, height - 20), "nodes (log scale)", fill="black",
              font=font, anchor="mm")
    draw.text((10, top - 22), "CPU µs per node, by stage (bench/export_time.py)".replace(
        "µ", "u"), fill="black", font=font)
    _polyline(draw, [xy(n, v) for n, v in base], (150, 150, 150), dashed=True)
    for name, pts in series.items():
        _polyline(draw, [xy(n, v) for n, v in pts], COLOURS[name], width=3 if name == "total"
                  else 2)
    legend = [*series, "baseline total"]
    for i, name in enumerate(legend):
        y = top + 10 + i * 20
        colour = COLOURS.get(name, (150, 150, 150))
        draw.line([width - right + 15, y, width - right + 45, y], fill=colour, width=3)
        draw.text((width - right + 52, y), name, fill="black", font=font, anchor="lm")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)
    print(f"plot: {path}")


def _nice_step(raw: float) -> float:
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _polyline(draw: Any, points: list[tuple[float, float]], colour: tuple[int, int, int],
              width: int = 2, dashed: bool = False) -> None:
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if not dashed:
            draw.line([x0, y0, x1, y1], fill=colour, width=width)
            continue
        parts = max(int(math.hypot(x1 - x0, y1 - y0) / 8), 1)
        for k in range(0, parts, 2):
            a, b = k / parts, min((k + 1) / parts, 1.0)
            draw.line([x0 + (x1 - x0) * a, y0 + (y1 - y0) * a,
                       x0 + (x1 - x0) * b, y0 + (y1 - y0) * b], fill=colour, width=width)
    for x, y in points:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000, 100000])
    parser.add_argument("--baseline-sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "export_time.png",
                        help="where the PNG of the curve goes (default docs/export_time.png)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    now = {n: run(n, ROOT / "src") for n in args.sizes}
    before = {} if args.no_baseline else baseline_runs(args.baseline_sizes)
    report(now, before)
    plot(now, before, args.plot)


if __name__ == "__main__":
    if "PYTHONPATH" not in os.environ:
        sys.path.insert(0, str(ROOT / "src"))
    main()
