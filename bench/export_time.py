"""Export time of the examples: each engine alone and all three together, same run.

    .venv/bin/python bench/export_time.py [--example stress-1000] [--rounds 3]

Runs the real pipeline (validation, writers and packing in the CPU pool, storage on local
disk) on ``examples/<example>/manifest.json`` with ``include_assets`` on, and prints the median
wall time per engine set and the ratio of all three engines to the slowest single one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pacai_export.jobs import ExportJob
from pacai_export.pipeline import Exporter
from pacai_export.pool import CpuPool
from pacai_export.settings import Settings
from pacai_export.storage import FileStorage

ROOT = Path(__file__).resolve().parents[1]
ENGINE_SETS = (("godot",), ("unity",), ("ue5",), ("godot", "unity", "ue5"))


async def quiet(percent: int, stage: str, **fields: Any) -> None:
    return None


async def once(manifest: dict[str, Any], engines: tuple[str, ...], root: Path, pool: CpuPool,
               out: Path) -> float:
    job, _ = ExportJob.parse({"project_id": manifest["project"]["id"], "engines": list(engines),
                              "include_assets": True, "quality": "high", "manifest": manifest})
    exporter = Exporter(Settings(), FileStorage(out / "bundle.zip"), pool)
    started = time.perf_counter()
    await exporter.export(job, "bench", quiet, asset_root=root)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--example", default="stress-1000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = ROOT / "examples" / args.example
    manifest = json.loads((folder / "manifest.json").read_text())
    nodes = sum(len(s["nodes"]) for s in manifest["scenes"])
    pool = CpuPool(2)
    times: dict[tuple[str, ...], list[float]] = {s: [] for s in ENGINE_SETS}
    with tempfile.TemporaryDirectory() as tmp:
        await once(manifest, ("godot",), folder, pool, Path(tmp))  # warm the pool up
        for _ in range(args.rounds):
            for engines in ENGINE_SETS:
                times[engines].append(await once(manifest, engines, folder, pool, Path(tmp)))
    pool.close()
    print(f"export time: examples/{args.example} ({nodes} nodes), {args.rounds} rounds, "
          "median wall time")
    for engines, samples in times.items():
        print(f"  {'+'.join(engines):18s} {statistics.median(samples):7.3f} s  "
              f"({', '.join(f'{t:.3f}' for t in samples)})")
    slowest = max(statistics.median(times[s]) for s in ENGINE_SETS[:3])
    print(f"  all three / slowest single engine: "
          f"{statistics.median(times[ENGINE_SETS[3]]) / slowest:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    asyncio.run(main())
