"""Memory and time bombs against the asset and manifest checks: the peak RSS of the process
that processes each one, and the time to its refusal.

    .venv/bin/python bench/hostile.py [--rounds 3]

Each case runs in a fresh Python process set up like a CPU-pool process (the pool's
modules imported, the address-space cap of the default settings, ``LIMIT_POOL_MEMORY_BYTES``
= 2 GiB, applied), which processes one hostile file the way the worker does
(``assets.process.process_asset`` for files, ``manifest`` decoding and validation for
manifests) and reports:

- ``peak RSS``: the process's high-water mark (``ru_maxrss``), imports included;
- ``over resting``: that peak minus the RSS measured just before the case, i.e. what the
  hostile input itself cost;
- ``refused in``: wall time from the call to the refusal (median of ``--rounds``).

Goal (issue 12): every case under 256 MiB peak and under 1 s to refusal.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the bombs are built by the tests' own builders

from tests.hostile import bombs  # noqa: E402

GOAL_RSS_MIB, GOAL_SECONDS = 256, 1.0


def _manifest_cases() -> dict[str, tuple[str, Callable[[], bytes]]]:
    def nested_params() -> bytes:
        return json.dumps({
            "schema": "pacai.manifest/v1", "project": {"id": "p", "name": "P"},
            "scenes": [{"id": "main", "nodes": [{"id": "n", "components": [
                {"type": "spin", "params": bombs.nested_params(900)}]}]}],
            "main_scene": "main"}).encode()

    def scenes() -> bytes:
        return json.dumps({
            "schema": "pacai.manifest/v1", "project": {"id": "p", "name": "P"},
            "scenes": [{"id": f"s{i}", "nodes": [{"id": "n"}]} for i in range(20_000)],
            "main_scene": "s0"}).encode()

    return {
        "manifest_100k_[": ("manifest.json", bombs.manifest_brackets),
        "manifest_params_900_deep": ("manifest.json", nested_params),
        "manifest_20k_scenes": ("manifest.json", scenes),
    }


# Honest files at the edge of the limits: processed, not refused; their peak is what the
# limits let through.
AT_THE_LIMITS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "at_limits_png_16384x4096_rgba16": (
        "edge.png", lambda: bombs.png(16_384, 4096, bit_depth=16, colour=6)),
    "at_limits_png_16384x4096_rgb8": ("edge.png", lambda: bombs.png(16_384, 4096)),
}


def cases() -> dict[str, tuple[str, Callable[[], bytes]]]:
    return {**bombs.MEMORY_BOMBS, **_manifest_cases(), **AT_THE_LIMITS}


# --- the measuring child ------------------------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(path: Path) -> dict[str, Any]:
    """Process ``path`` as the worker would, in this process; report what it cost."""
    from pacai_export.assets.process import process_asset
    from pacai_export.manifest import decode_manifest_bytes, parse_manifest
    from pacai_export.pipeline import POOL_PRELOAD
    from pacai_export.pool import limit_address_space, limit_malloc_arenas
    from pacai_export.settings import Limits

    limits = Limits()
    limit_malloc_arenas()
    limit_address_space(limits.pool_memory_bytes)
    for module in POOL_PRELOAD:
        __import__(module)
    resting = _rss_kib()
    started = time.perf_counter()
    try:
        if path.name == "manifest.json":
            parse_manifest(decode_manifest_bytes(path.read_bytes(), limits, "bench"), limits)
        else:
            kind = "model" if path.suffix == ".glb" else "texture"
            process_asset(kind, path, path.parent / "out" / path.name, "high", "srgb",
                          limits.image_pixels)
        outcome = "processed (not refused)"
    except Exception as exc:  # the refusal is the result
        outcome = f"{getattr(exc, 'code', type(exc).__name__)}: {str(exc)[:90]}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_kib": peak, "over_kib": peak - resting,
            "outcome": outcome}


def measure(name: str, filename: str, build: Callable[[], bytes], rounds: int,
            folder: Path) -> dict[str, Any]:
    case_dir = folder / name
    case_dir.mkdir(parents=True)
    path = case_dir / filename
    path.write_bytes(build())
    runs = []
    for _ in range(rounds):
        done = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True,
                              capture_output=True, text=True)
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    return {"name": name, "bytes": path.stat().st_size,
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mib": max(r["peak_kib"] for r in runs) / 1024,
            "over_mib": max(r["over_kib"] for r in runs) / 1024,
            "outcome": runs[0]["outcome"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="pacai-hostile-") as tmp:
        for name, (filename, build) in cases().items():
            rows.append(measure(name, filename, build, args.rounds, Path(tmp)))
    print(f"{'case':32} {'file':>9} {'peak RSS':>10} {'over resting':>13} {'refused in':>11}"
          "  outcome")
    for r in rows:
        print(f"{r['name']:32} {r['bytes']:>9} {r['peak_mib']:>7.1f} MiB {r['over_mib']:>9.1f}"
              f" MiB {r['seconds'] * 1000:>8.1f} ms  {r['outcome']}")
    refused = [r for r in rows if not r["name"].startswith("at_limits")]
    worst_rss = max(r["peak_mib"] for r in refused)
    worst_time = max(r["seconds"] for r in refused)
    print(f"\nworst peak RSS {worst_rss:.1f} MiB (goal < {GOAL_RSS_MIB}); worst time to refusal "
          f"{worst_time * 1000:.1f} ms (goal < {GOAL_SECONDS * 1000:.0f})")
    print("every bomb refused:", all("not refused" not in r["outcome"] for r in rows
                                     if not r["name"].startswith("at_limits")))


if __name__ == "__main__":
    main()
