"""Export time of big scenes, stage by stage, against the exporter before the big-worlds work.

    .venv/bin/python bench/export_time.py [--sizes 1000 10000 20000 100000]
                                          [--baseline-sizes 1000 10000 20000] [--no-baseline]

Each size runs in a fresh process (so its peak RSS is its own): a generated scene of boxes
and spheres in groups of 100 under one material (as ``tests/conftest.py:stress_manifest``),
no assets, through the pipeline's own stage functions on one core, each timed in CPU
seconds of the process (other load on a shared machine counts less than in wall time):
validate (decode the manifest's bytes and build the models), each engine writer (files
written to disk), pack (bundle.json, deflate, zip). The baseline is ``BASELINE`` (main when
the work started), checked out into a temporary ``git worktree`` and run by the same Python
with ``PYTHONPATH`` on its ``src``; the worktree is removed afterwards. Prints seconds per
stage, microseconds per node, peak RSS, and the ratio baseline / now per stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
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
    from pacai_export.engines import write_engine
    from pacai_export.engines.base import BuildContext
    from pacai_export.jobs import ExportJob
    from pacai_export.manifest import decode_manifest_bytes, parse_manifest
    from pacai_export.pipeline import bundle_meta, write_files
    from pacai_export.settings import Limits

    raw = json.dumps(scene(nodes)).encode()
    limits = dataclasses.replace(Limits(), manifest_bytes=1 << 30, nodes=1 << 24)
    times: dict[str, float] = {}
    started = time.process_time()
    manifest = parse_manifest(decode_manifest_bytes(raw, limits, "bench"), limits)
    times["validate"] = time.process_time() - started
    rss_after = {"validate": _rss()}
    ctx = BuildContext(manifest=manifest, seed="bench", quality="high", include_assets=False)
    with tempfile.TemporaryDirectory(prefix="pacai-bench-") as tmp:
        stage = Path(tmp, "stage")
        for engine in STAGES[1:4]:
            started = time.process_time()
            write_files(write_engine(engine, ctx), stage / engine)
            times[engine] = time.process_time() - started
            rss_after[engine] = _rss()
        job, _ = ExportJob.parse({"project_id": "bench", "engines": list(STAGES[1:4]),
                                  "include_assets": False, "quality": "high"})
        started = time.process_time()
        prepared = prepare(stage, bundle_meta(job, manifest), Path(tmp, "deflated"))
        packed = zip_stage(stage, Path(tmp, "bundle.zip"), prepared.contents)
        times["pack"] = time.process_time() - started
    rss_after["pack"] = _rss()
    return {"nodes": nodes, "times": times, "rss": _rss(), "rss_after": rss_after,
            "bundle": packed.bytes}


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
    for n in sorted(set(now) & set(before)):
        a, b = now[n]["times"], before[n]["times"]
        ratios = ", ".join(f"{s} {b[s] / a[s]:.1f}x" for s in STAGES)
        print(f"speed-up at {n} nodes (before / now): {ratios}, "
              f"total {sum(b.values()) / sum(a.values()):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000, 100000])
    parser.add_argument("--baseline-sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    now = {n: run(n, ROOT / "src") for n in args.sizes}
    before = {} if args.no_baseline else baseline_runs(args.baseline_sizes)
    report(now, before)


if __name__ == "__main__":
    if "PYTHONPATH" not in os.environ:
        sys.path.insert(0, str(ROOT / "src"))
    main()
