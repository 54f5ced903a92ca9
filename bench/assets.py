"""Export with assets at fleet scale: cold, warm, one texture changed, peak memory, and the
texture stage against sharp (libvips for Node) — all in one run.

    .venv/bin/python bench/assets.py [--keep DIR] [--textures-only] [--rounds N]
    (needs `cd bench/node && npm ci` for the sharp baseline)

It generates a reference project (deterministic): 40 PNG textures 2048² (RGBA), 10 JPEG
textures 4096², 30 models from 5,000 to 200,000 triangles (.glb), 10 audio files (.wav), and
a 2,000-node scene that uses them all. Then four exports by a real `pacai-export worker`
(default settings: local storage, the processed-asset disk cache, a CPU pool of one process
per core; the project in PROJECTS_DIR), each a job on its own queue in Redis (REDIS_URL,
default redis://127.0.0.1:6379/0), high quality, assets included, timed from enqueue until
the queue reports it completed, with the RSS and PSS of the worker and all its children
sampled every 50 ms meanwhile. Each cold export runs on a worker just started, after one
export without assets (untimed, so that the pool is up as in a worker that has run a job);
the re-exports run on the worker that made the three-engine bundle. The four exports run
``--rounds`` times (default 3) and the medians are reported:

1. cold export to one engine (godot), empty cache;
2. cold export to three engines, empty cache;
3. warm re-export to three engines (unchanged project: the stored bundle's key exists, so
   the worker checks the sources' digests and returns the stored bundle);
4. re-export to three engines with one texture changed (a new key: one texture processed,
   the rest from the cache, the bundle written again);

and the texture stage alone: the worker's `process_texture` over the 50 textures in a CPU
pool of 2 processes, against sharp resizing the same files with its default concurrency
(both timed after their libraries are loaded).

The kit case (``--kit-only`` runs it alone): 30 ``.gltf`` props (JSON + ``.bin``, 1,800
triangles each) that all name one 2048² ``Textures/colormap.png``, gathered at medium
quality by the worker's ``AssetGatherer`` on a CPU pool of 2 processes, against the same 30
props as ``.glb`` files each embedding its own copy of the texture: how many image steps
and referenced files each needs, and the wall time (median of ``--rounds``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyvips

ROOT = Path(__file__).resolve().parents[1]
PROJECT_ID = "bench-ref"
REDIS_URL = "redis://127.0.0.1:6379/0"
SHARP = ROOT / "bench" / "node" / "resize.mjs"
TRIANGLES = [int(5_000 * (40 ** (i / 29))) for i in range(30)]  # 5k … 200k, geometric


# --- the reference project ------------------------------------------------------------------


def texture(path: Path, size: int, seed: int, alpha: bool) -> None:
    bands = [pyvips.Image.perlin(size, size, cell_size=64 + 16 * (seed % 4), seed=seed + b)
             for b in range(4 if alpha else 3)]
    noise = pyvips.Image.gaussnoise(size, size, sigma=12, mean=0, seed=seed)
    image = bands[0].bandjoin(bands[1:]) * 96 + 128 + noise
    image = image.cast("uchar")
    if path.suffix == ".png":
        image.pngsave(str(path), compression=6, strip=True)
    else:
        image.jpegsave(str(path), Q=90, strip=True)


def sphere(triangles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rings = max(4, int(math.sqrt(triangles / 2)))
    segments = max(8, triangles // (2 * rings))
    theta = np.linspace(0, math.pi, rings + 1)
    phi = np.linspace(0, 2 * math.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    normals = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], -1)
    normals = normals.reshape(-1, 3).astype(np.float32)
    uvs = np.stack([p / (2 * math.pi), t / math.pi], -1).reshape(-1, 2).astype(np.float32)
    r, s = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a = r * (segments + 1) + s
    b, c, d = a + segments + 1, a + 1, a + segments + 2
    faces = np.concatenate([np.stack([a, c, b], -1), np.stack([c, d, b], -1)], 0).reshape(-1, 3)
    return normals.copy(), normals, uvs, faces.astype(np.uint32)


def glb(path: Path, triangles: int) -> None:
    pos, nrm, uv, idx = sphere(triangles)
    blobs = [pos.tobytes(), nrm.tobytes(), uv.tobytes(), idx.tobytes()]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).tolist()
    doc = {
        "asset": {"version": "2.0", "generator": "pacai bench"},
        "buffers": [{"byteLength": offsets[-1]}],
        "bufferViews": [{"buffer": 0, "byteOffset": offsets[i], "byteLength": len(b),
                         "target": 34963 if i == 3 else 34962} for i, b in enumerate(blobs)],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(pos), "type": "VEC3",
             "min": pos.min(0).tolist(), "max": pos.max(0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": len(nrm), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5126, "count": len(uv), "type": "VEC2"},
            {"bufferView": 3, "componentType": 5125, "count": idx.size, "type": "SCALAR"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1,
                                                   "TEXCOORD_0": 2}, "indices": 3}]}],
        "nodes": [{"mesh": 0}], "scenes": [{"nodes": [0]}], "scene": 0}
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    binary = b"".join(blobs)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, total)
                     + struct.pack("<I4s", len(text), b"JSON") + text
                     + struct.pack("<I4s", len(binary), b"BIN\0") + binary)


def wav(path: Path, seed: int) -> None:
    rate = 22050
    t = np.arange(rate) / rate
    data = (np.sin(2 * math.pi * (220 + 40 * seed) * t) * 12000).astype("<i2").tobytes()
    path.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
                     + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
                     + b"data" + struct.pack("<I", len(data)) + data)


def project(root: Path) -> Path:
    for sub in ("textures", "models", "audio"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    assets: list[dict[str, Any]] = []
    for i in range(40):
        texture(root / "textures" / f"t{i:02d}.png", 2048, i, alpha=True)
        assets.append({"id": f"tex_{i:02d}", "type": "texture", "uri": f"textures/t{i:02d}.png"})
    for i in range(10):
        texture(root / "textures" / f"j{i:02d}.jpg", 4096, 100 + i, alpha=False)
        assets.append({"id": f"jpg_{i:02d}", "type": "texture", "uri": f"textures/j{i:02d}.jpg"})
    for i, tris in enumerate(TRIANGLES):
        glb(root / "models" / f"m{i:02d}.glb", tris)
        assets.append({"id": f"mdl_{i:02d}", "type": "model", "uri": f"models/m{i:02d}.glb"})
    for i in range(10):
        wav(root / "audio" / f"a{i:02d}.wav", i)
        assets.append({"id": f"sfx_{i:02d}", "type": "audio", "uri": f"audio/a{i:02d}.wav"})
    textures = [a["id"] for a in assets if a["type"] == "texture"]
    materials = [{"id": f"mat_{i:02d}", "base_color_texture": tex, "roughness": 0.7}
                 for i, tex in enumerate(textures)]
    nodes: list[dict[str, Any]] = [{"id": "sun", "light": {"type": "directional"}}]
    for i in range(1999):
        node: dict[str, Any] = {"id": f"n{i:04d}", "transform": {
            "translation": [float(i % 50) * 3, 0.0, float(i // 50) * 3]}}
        if i % 3 == 0:
            node["model"] = f"mdl_{i % 30:02d}"
        else:
            node["mesh"] = {"primitive": "box" if i % 2 else "sphere"}
            node["material"] = f"mat_{i % len(materials):02d}"
        if i % 200 == 0:
            node["audio"] = {"asset": f"sfx_{(i // 200) % 10:02d}"}
        nodes.append(node)
    manifest = {"schema": "pacai.manifest/v1", "project": {"id": PROJECT_ID, "name": "Bench"},
                "assets": assets, "materials": materials,
                "scenes": [{"id": "main", "nodes": nodes}], "main_scene": "main"}
    path = root / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


# --- measurement ----------------------------------------------------------------------------


class PeakRss:
    """Samples the memory of a process and all its descendants every 50 ms and keeps the
    peaks of two sums: RSS (what the issue asks; counts shared library pages once per process)
    and PSS (each shared page split among its sharers: what the processes cost the machine)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.peak_pss, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = pss = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        info = proc.memory_full_info()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    total += info.rss
                    pss += getattr(info, "pss", info.rss)
            except psutil.NoSuchProcess:
                break
            self.peak, self.peak_pss = max(self.peak, total), max(self.peak_pss, pss)
            time.sleep(0.05)

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak, self.peak_pss


class Worker:
    """``pacai-export worker`` as deployed (default settings: local storage, the disk cache
    of processed assets, concurrency 4, a CPU pool of one process per core), on its own queue
    in Redis, the project in PROJECTS_DIR. Each export is a job enqueued as the API does it
    and timed from enqueue until the queue reports it completed; the memory of the worker
    and all its children is sampled during it."""

    def __init__(self, work: Path) -> None:
        from pacai_export.redis_server import free_port
        from pacai_export.settings import Settings

        queue = f"bench-assets-{os.getpid()}"
        self.env = {**os.environ, "REDIS_URL": os.environ.get("REDIS_URL", REDIS_URL),
                    "EXPORT_QUEUE": queue, "PROJECTS_DIR": str(work / "projects"),
                    "EXPORTS_DIR": str(work / "exports"), "ASSET_CACHE_DIR": str(work / "cache"),
                    "HEALTH_PORT": str(free_port()), "LOG_LEVEL": "warning"}
        self.settings = Settings.from_env(self.env)
        self.cache = work / "cache"
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("pacai-export")),
                                      "worker"], env=self.env, stdout=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        url = f"http://127.0.0.1:{self.env['HEALTH_PORT']}/ready"
        for _ in range(200):
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the worker did not become ready")

    async def _run(self, data: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        from pacai_export.client import ExportClient

        client = ExportClient(self.settings)
        try:
            started = time.perf_counter()
            job_id = await client.enqueue(data)
            status = await client.wait(job_id, poll=0.02)
            elapsed = time.perf_counter() - started
        finally:
            await client.aclose()
        if status["state"] != "completed":
            raise SystemExit(f"export failed: {status.get('error')}")
        return elapsed, status["result"]

    def warm_up(self) -> None:
        """One export without assets first, so the pool's processes are up (as they are in a
        worker that has run a job) before anything is timed."""
        asyncio.run(self._run({"project_id": PROJECT_ID, "engines": ["godot", "unity", "ue5"],
                               "include_assets": False, "quality": "high", "seed": "warm-up"}))

    def export(self, engines: str, cold: bool
               ) -> tuple[float, tuple[int, int], dict[str, Any]]:
        if cold:
            shutil.rmtree(self.cache, ignore_errors=True)
        sampler = PeakRss(self.proc.pid)
        try:
            elapsed, result = asyncio.run(self._run({
                "project_id": PROJECT_ID, "engines": engines.split(","), "include_assets": True,
                "quality": "high"}))
        finally:
            peak = sampler.stop()
        return elapsed, peak, result

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


async def ours_texture_stage(files: list[Path], out: Path, quality: str) -> float:
    from pacai_export.assets.process import process_asset
    from pacai_export.pipeline import POOL_PRELOAD
    from pacai_export.pool import CpuPool

    pool = CpuPool(2, POOL_PRELOAD)
    # Start both processes (and their imports) before the clock, as sharp's is after import.
    await asyncio.gather(pool.run(time.sleep, 0.5), pool.run(time.sleep, 0.5))
    started = time.perf_counter()
    await asyncio.gather(*(pool.run(process_asset, "texture", f, out / f.name, quality, "srgb",
                                    8192 * 8192) for f in files))
    elapsed = time.perf_counter() - started
    pool.close()
    return elapsed


def sharp_texture_stage(files: list[Path], out: Path, cap: int) -> float:
    result = subprocess.run(["node", str(SHARP), str(out), str(cap), *map(str, files)],
                            capture_output=True, text=True, check=True)
    return float(json.loads(result.stdout)["wall_s"])


Run = tuple[float, tuple[int, int], dict[str, Any]]  # wall time, (peak RSS, PSS), result
LABELS = ("cold, 1 engine", "cold, 3 engines", "warm, 3 engines",
          "one texture changed, 3 engines")


def export_round(work: Path, index: int) -> dict[str, Run]:
    """The four exports once. A cold export runs on a worker just started (nothing cached, no
    digest remembered, no bundle stored); the re-exports on the worker that made the
    three-engine bundle, as they would. Round ``index`` changes the texture its own way."""
    changed = work / "project" / "textures" / "t00.png"
    backup = changed.read_bytes()
    runs: dict[str, Run] = {}
    worker: Worker | None = None
    try:
        for label, engines in zip(LABELS[:2], ("godot", "godot,unity,ue5"), strict=True):
            if worker is not None:
                worker.close()
            shutil.rmtree(work / "exports", ignore_errors=True)
            worker = Worker(work)
            worker.warm_up()
            runs[label] = worker.export(engines, cold=True)
        assert worker is not None
        runs[LABELS[2]] = worker.export("godot,unity,ue5", cold=False)
        texture(changed, 2048, 999 - index, alpha=True)
        runs[LABELS[3]] = worker.export("godot,unity,ue5", cold=False)
    finally:
        changed.write_bytes(backup)
        if worker is not None:
            worker.close()
    return runs


def report(runs: dict[str, list[Run]]) -> None:
    wall = {label: statistics.median(r[0] for r in rounds) for label, rounds in runs.items()}
    rounds = len(runs[LABELS[0]])
    print(f"export (high quality, assets included), median wall time of {rounds} round(s), "
          "peak RSS and PSS of all processes:")
    for label, done in runs.items():
        result = done[-1][2]
        print(f"  {label:32s} {wall[label]:6.2f} s "
              f"({', '.join(f'{r[0]:.2f}' for r in done)})  "
              f"RSS {max(r[1][0] for r in done) / 2**20:6.1f} MiB  "
              f"PSS {max(r[1][1] for r in done) / 2**20:6.1f} MiB  "
              f"({result['bytes'] / 2**20:.0f} MiB bundle, {result['files']} files"
              f"{', stored bundle reused' if result['reused'] else ''})")
    cold3 = wall[LABELS[1]]
    print(f"  3 engines / 1 engine:           {cold3 / wall[LABELS[0]]:.2f} (goal <= 1.3)")
    print(f"  warm / cold:                    {wall[LABELS[2]] / cold3:.2f} (goal <= 0.10)")
    print(f"  one changed / cold:             {wall[LABELS[3]] / cold3:.2f} (goal <= 0.15)")
    peaks = [r[1] for done in runs.values() for r in done]
    print(f"  peak RSS:                       {max(p[0] for p in peaks) / 2**20:.1f} MiB "
          f"(goal < 400); peak PSS {max(p[1] for p in peaks) / 2**20:.1f} MiB")


KIT_PROPS = 30


def kit(root: Path) -> list[str]:
    """30 props sharing ``Textures/colormap.png`` (.gltf + .bin), and the same 30 as .glb
    each embedding a copy of it; the manifests' URIs of both."""
    (root / "Textures").mkdir(parents=True, exist_ok=True)
    (root / "Models").mkdir(exist_ok=True)
    colormap = root / "Textures" / "colormap.png"
    texture(colormap, 2048, 7, alpha=False)
    image = colormap.read_bytes()
    for i in range(KIT_PROPS):
        glb(root / "Models" / f"p{i:02d}.glb", 1_800)
        data = (root / "Models" / f"p{i:02d}.glb").read_bytes()
        json_len = struct.unpack_from("<I", data, 12)[0]
        doc = json.loads(data[20:20 + json_len])
        binary = data[28 + json_len:]
        doc["buffers"] = [{"byteLength": len(binary), "uri": f"p{i:02d}.bin"}]
        doc["images"] = [{"uri": "../Textures/colormap.png"}]
        doc["textures"] = [{"source": 0}]
        doc["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
        doc["meshes"][0]["primitives"][0]["material"] = 0
        (root / "Models" / f"p{i:02d}.bin").write_bytes(binary)
        (root / "Models" / f"p{i:02d}.gltf").write_text(json.dumps(doc))
        embedded = dict(doc, buffers=[{"byteLength": len(binary) + len(image)}])
        embedded["bufferViews"] = [*doc["bufferViews"], {
            "buffer": 0, "byteOffset": len(binary), "byteLength": len(image)}]
        embedded["images"] = [{"bufferView": len(doc["bufferViews"]),
                               "mimeType": "image/png"}]
        text = json.dumps(embedded).encode()
        text += b" " * (-len(text) % 4)
        payload = binary + image + b"\0" * (-len(image) % 4)
        total = 12 + 8 + len(text) + 8 + len(payload)
        (root / "Models" / f"e{i:02d}.glb").write_bytes(
            struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON")
            + text + struct.pack("<I4s", len(payload), b"BIN\0") + payload)
    return [f"Models/p{i:02d}.gltf" for i in range(KIT_PROPS)]


async def gather_kit(root: Path, uris: list[str], work: Path) -> tuple[float, dict[str, int]]:
    from collections import Counter

    from pacai_export.assets.gather import AssetGatherer, Sources
    from pacai_export.manifest import Manifest
    from pacai_export.pipeline import POOL_PRELOAD
    from pacai_export.pool import CpuPool
    from pacai_export.settings import Limits

    calls: Counter[str] = Counter()

    class Counting(CpuPool):
        async def run(self, fn: Any, *args: Any) -> Any:
            calls[fn.__name__] += 1
            return await super().run(fn, *args)

    pool = Counting(2, POOL_PRELOAD)
    await asyncio.gather(pool.run(time.sleep, 0.5), pool.run(time.sleep, 0.5))
    calls.clear()
    manifest = Manifest.model_validate({
        "schema": "pacai.manifest/v1", "project": {"id": "kit", "name": "Kit"},
        "assets": [{"id": f"m{i:02d}", "type": "model", "uri": u} for i, u in enumerate(uris)],
        "scenes": [{"id": "main", "nodes": [{"id": "n"}]}], "main_scene": "main"})

    async def progress(done: int, total: int) -> None:
        pass

    started = time.perf_counter()
    await AssetGatherer(Limits(), pool, None, "medium").gather(manifest, Sources(root=root),
                                                                work, progress)
    elapsed = time.perf_counter() - started
    pool.close()
    referenced = work / "sources" / "referenced"
    calls["referenced files"] = len(list(referenced.iterdir())) if referenced.exists() else 0
    return elapsed, dict(calls)


def kit_case(work: Path, rounds: int) -> None:
    root = work / "kit"
    if not root.exists():
        kit(root)
    shared = [f"Models/p{i:02d}.gltf" for i in range(KIT_PROPS)]
    embedded = [f"Models/e{i:02d}.glb" for i in range(KIT_PROPS)]
    for label, uris in (("one shared colormap.png", shared), ("30 embedded copies", embedded)):
        times, calls = [], {}
        for _ in range(rounds):
            shutil.rmtree(work / "kit-out", ignore_errors=True)
            elapsed, calls = asyncio.run(gather_kit(root, uris, work / "kit-out"))
            times.append(elapsed)
        print(f"kit, {KIT_PROPS} props, medium, {label:24s}: "
              f"{statistics.median(times):5.2f} s ({', '.join(f'{t:.2f}' for t in times)}); "
              f"image steps {calls.get('process_referenced_image', 0)}, model steps "
              f"{calls.get('process_asset', 0)}, referenced files fetched "
              f"{calls['referenced files'] - calls.get('process_referenced_image', 0)}")
    shutil.rmtree(work / "kit-out", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    parser.add_argument("--textures-only", action="store_true")
    parser.add_argument("--kit-only", action="store_true",
                        help="only the kit case: 30 models sharing one texture")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the four exports; medians are reported (default 3)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pacai-bench-"))
    kit_case(work, args.rounds)
    if args.kit_only:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return
    manifest = work / "project" / "manifest.json"
    if not manifest.exists():
        t0 = time.perf_counter()
        project(work / "project")
        print(f"generated the reference project in {time.perf_counter() - t0:.1f} s")
    textures = sorted((work / "project" / "textures").iterdir())
    # high: the 40 PNGs are already at the cap (ours validates and copies them, sharp
    # re-encodes them) and the JPEGs shrink; medium: every texture is resized by both.
    for quality, cap in (("high", 2048), ("medium", 1024)):
        for name in ("ours", "sharp"):
            shutil.rmtree(work / f"tex-{name}", ignore_errors=True)
            (work / f"tex-{name}").mkdir()
        ours = asyncio.run(ours_texture_stage(textures, work / "tex-ours", quality))
        sharp = sharp_texture_stage(textures, work / "tex-sharp", cap)
        print(f"texture stage, {len(textures)} textures, cap {cap}: ours {ours:.2f} s, "
              f"sharp {sharp:.2f} s, ratio ours/sharp {ours / sharp:.2f} (goal <= 1.0)")
    if args.textures_only:
        return
    (work / "projects").mkdir(exist_ok=True)
    if not (work / "projects" / PROJECT_ID).exists():
        (work / "projects" / PROJECT_ID).symlink_to(work / "project")
    runs: dict[str, list[Run]] = {label: [] for label in LABELS}
    for _ in range(args.rounds):
        for label, run in export_round(work, len(runs[LABELS[-1]])).items():
            runs[label].append(run)
    report(runs)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
