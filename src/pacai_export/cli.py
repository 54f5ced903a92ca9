"""``pacai-export``: thin commands over the programmatic API (§9.2).

Each command parses its arguments, configures logging, reads settings once and calls one
function. Bad configuration prints one line naming the variable and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .engines import ENGINES
from .errors import (
    ConfigError,
    ExportError,
    InvalidInput,
    PreviewUnavailable,
    VerificationFailed,
)
from .jobs import QUALITIES
from .logs import configure
from .settings import Settings

EXIT_FAILED = 1
EXIT_CONFIG = 2

DESCRIPTION = """\
PacAI Export Worker: turns manifest v1 game projects into Godot 4, Unity 6 and Unreal 5
project bundles. Configuration comes from the environment (see README: Configuration)."""


def _engines(value: str) -> list[str]:
    engines = [e.strip() for e in value.split(",") if e.strip()]
    bad = [e for e in engines if e not in ENGINES]
    if not engines or bad:
        raise argparse.ArgumentTypeError(
            f"{','.join(bad) or value}: engines are a comma list of {', '.join(ENGINES)}")
    return engines


def _job_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engines", type=_engines, default=list(ENGINES),
                   help="comma list of godot, unity, ue5 (default: all three)")
    p.add_argument("--quality", choices=QUALITIES, default="high",
                   help="texture/mesh detail tier (default: high)")
    p.add_argument("--include-assets", action="store_true",
                   help="ship the manifest's textures, models and sounds")
    p.add_argument("--seed", help="drives every generated id (default: the project id)")


def _bundle_command(sub: Any, name: str, summary: str,
                    description: str) -> argparse.ArgumentParser:
    """A command that reads one bundle zip (``verify``, ``preview``). ``sub`` is the
    subparsers action, whose class argparse keeps private."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=description)
    p.add_argument("bundle", type=Path, help="the bundle zip")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pacai-export", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "worker", help="consume export jobs from the BullMQ queue",
        description="Run the export worker: consume jobs from EXPORT_QUEUE in REDIS_URL, store "
        "bundles, send callbacks, and serve /health, /ready and /metrics on HEALTH_PORT. "
        "SIGTERM or SIGINT drains active jobs within SHUTDOWN_TIMEOUT, then exits 0.")

    p = sub.add_parser(
        "export", help="export one manifest offline, without Redis",
        description="Run the export pipeline on a manifest file and write OUT/<project_id>.zip. "
        "Prints the result (download_url a file:// URL) as one JSON line, the last of stdout.")
    p.add_argument("manifest", type=Path, help="manifest v1 JSON file")
    _job_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="folder for the bundle")
    p.add_argument("--assets", type=Path,
                   help="root of relative asset URIs (default: the manifest's folder)")

    p = sub.add_parser(
        "enqueue", help="add an export job to the queue, as the API does",
        description="Add an export job to EXPORT_QUEUE with the contract's default job options. "
        "Prints the job id; with --wait, follows the job with a progress bar and prints its "
        "result (or error) as JSON.")
    p.add_argument("project_id", help="project id (the manifest is loaded from PROJECTS_DIR "
                   "by the worker unless --manifest is given)")
    _job_arguments(p)
    p.add_argument("--manifest", type=Path, help="send this manifest file inline with the job")
    p.add_argument("--job-id", help="explicit BullMQ job id (a repeated id is not enqueued twice)")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends")

    p = _bundle_command(
        sub, "verify", "check a bundle's files against bundle.json and its signature",
        "Check that every file of BUNDLE matches its size and SHA-256 in bundle.json, that "
        "none is missing or added, and, with --public-key, that bundle.json.sig is a valid "
        "signature by one of the keys. Exit 0 only when all hold.")
    p.add_argument("--public-key", type=Path, action="append", default=[],
                   help="Ed25519 public key (PEM); repeat for several (key rotation)")

    p = sub.add_parser(
        "keygen", help="write an Ed25519 key pair for signing bundles",
        description="Write NAME.key (PKCS#8 PEM, mode 0600; use as SIGNING_KEY_FILE) and "
        "NAME.pub (for verify --public-key) into OUT, and print the key id.")
    p.add_argument("--out", type=Path, default=Path("."), help="folder (default: .)")
    p.add_argument("--name", default="pacai-signing", help="file name stem")

    sub.add_parser(
        "api", help="serve the HTTP enqueue API, callback receiver and dashboard",
        description="Serve POST /v5/export, GET /v5/export/{id}, the callback receiver "
        "POST /v5/export/callback, /openapi.json and the operator dashboard /dashboard on "
        "API_PORT (default 8000). Bearer tokens come from API_TOKENS (comma list, required); "
        "see docs/api.md.")

    p = _bundle_command(
        sub, "preview", "render a still of a bundle's scene (headless Chromium)",
        "Draw the scene of BUNDLE (the ue5 folder's .glb) with the dashboard's 3D viewer in "
        "headless Chromium and save it as PNG. Needs Chromium (PACAI_CHROMIUM or chromium on "
        "PATH) and Playwright (pip install 'pacai-export[preview]').")
    p.add_argument("--out", type=Path, default=Path("preview.png"),
                   help="PNG to write (default: preview.png)")
    p.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH",
                   help="image size in pixels (default: 1280x800)")

    sub.add_parser(
        "demo", help="the whole flow on embedded defaults, ending with a real bundle",
        description="Start a Redis server (embedded when REDIS_URL is unset), a worker, enqueue "
        "the bundled example project to all three engines with its assets, wait for it, and "
        "print the path of the bundle (under EXPORTS_DIR, default ./exports).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "verify":  # needs no settings: it runs where bundles are downloaded
        return main_verify(args)
    if args.command == "keygen":
        return main_keygen(args)
    if args.command == "preview":
        return main_preview(args)
    try:
        settings = Settings.from_env()
        configure(settings.log_level, settings.log_format)
        code = int(asyncio.run(_dispatch(args, settings)) or 0)
    except ConfigError as exc:
        print(f"pacai-export: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    if args.command == "worker":
        _exit_now(code)
    return code


def _exit_now(code: int) -> NoReturn:
    """End the worker process without the interpreter's teardown: collecting the modules
    and objects of a process that held large jobs took over a second under load, time the
    platform's grace period may not have (SHUTDOWN_TIMEOUT + 2 s). Everything that holds
    state is closed by now; only the output buffers are left to flush."""
    _remove_multiprocessing_tempdir()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _remove_multiprocessing_tempdir() -> None:
    """The folder of the forkserver's socket (``pymp-*``) is removed by a multiprocessing
    finalizer that ``os._exit`` skips; without this every worker exit left one behind."""
    from multiprocessing import util

    shutil.rmtree(util.get_temp_dir(), ignore_errors=True)


def main_verify(args: argparse.Namespace) -> int:
    from .signing.keys import load_public
    from .signing.verify import verify_bundle

    try:
        keys = [load_public(path.read_bytes(), str(path)) for path in args.public_key]
    except (OSError, ValueError) as exc:
        print(f"pacai-export: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        verified = verify_bundle(args.bundle, keys)
    except VerificationFailed as exc:
        for problem in exc.problems:
            print(f"FAIL {problem}", file=sys.stderr)
        print(f"pacai-export: {args.bundle}: verification failed "
              f"({len(exc.problems)} problem{'s' if len(exc.problems) > 1 else ''})",
              file=sys.stderr)
        return EXIT_FAILED
    signed = f", signature by {verified.keyid}" if verified.keyid else ", signature not checked"
    print(f"OK {args.bundle}: {verified.files} files match bundle.json{signed}")
    return 0


def _size(value: str) -> tuple[int, int]:
    width, sep, height = value.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()
            and 16 <= int(width) <= 4096 and 16 <= int(height) <= 4096):
        raise argparse.ArgumentTypeError(f"{value}: WIDTHxHEIGHT, each 16 to 4096 pixels")
    return int(width), int(height)


def main_preview(args: argparse.Namespace) -> int:
    from .render import render_still

    try:
        render_still(args.bundle, args.out, *args.size)
    except PreviewUnavailable as exc:
        print(f"pacai-export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(args.out)
    return 0


def main_keygen(args: argparse.Namespace) -> int:
    from .signing.keys import generate

    try:
        private, public, key_id = generate(args.out, args.name)
    except FileExistsError as exc:
        print(f"pacai-export: {exc.filename} exists; not overwriting a key", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"keyid": key_id, "private_key": str(private), "public_key": str(public)}))
    return 0


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "worker":
        from .pool import limit_malloc_arenas
        from .worker import WorkerService

        settings.require_redis()
        limit_malloc_arenas()
        return await WorkerService(settings).run()
    if args.command == "export":
        return await _export(args, settings)
    if args.command == "enqueue":
        return await _enqueue(args, settings)
    if args.command == "api":
        from .api import run_api

        return await run_api(settings)
    from .demo import run_demo

    return await run_demo(settings)


def _job_data(args: argparse.Namespace, project_id: str, manifest: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"project_id": project_id, "engines": args.engines,
                            "include_assets": args.include_assets, "quality": args.quality}
    if args.seed is not None:
        data["seed"] = args.seed
    if manifest is not None:
        data["manifest"] = manifest
    return data


def _read_manifest(path: Path, settings: Settings) -> Any:
    from .manifest import decode_manifest_bytes

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SystemExit(f"pacai-export: cannot read {path}: {exc.strerror}") from None
    return decode_manifest_bytes(raw, settings.limits, str(path))


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import ExportJob
    from .progress import TerminalProgress
    from .runtime import open_runtime
    from .storage import FileStorage

    try:
        manifest = _read_manifest(args.manifest, settings)
        project_id = manifest.get("project", {}).get("id") if isinstance(manifest, dict) else None
        job, _ = ExportJob.parse(_job_data(args, str(project_id), manifest))
        storage = FileStorage(args.out / f"{job.project_id}.zip")
        async with open_runtime(settings, storage=storage, queues=False) as rt:
            with TerminalProgress(f"export {job.project_id}") as progress:
                result = await rt.require_exporter().export(
                    job, "offline", progress.report,
                    asset_root=args.assets or args.manifest.resolve().parent)
    except ConfigError:
        raise
    except ExportError as exc:
        print(f"pacai-export: export failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(result.model_dump_json())
    return 0


async def _enqueue(args: argparse.Namespace, settings: Settings) -> int:
    from .client import ExportClient
    from .progress import TerminalProgress

    settings.require_redis()
    manifest = _read_manifest(args.manifest, settings) if args.manifest else None
    client = ExportClient(settings)
    try:
        try:
            job_id = await client.enqueue(_job_data(args, args.project_id, manifest), args.job_id)
        except InvalidInput as exc:
            print(f"pacai-export: invalid job: {exc}", file=sys.stderr)
            return EXIT_FAILED
        if not args.wait:
            print(json.dumps({"id": job_id}))
            return 0
        with TerminalProgress(f"job {job_id}") as progress:
            status = await client.wait(job_id, progress.update)
        print(json.dumps(status, default=str))
        return 0 if status["state"] == "completed" else EXIT_FAILED
    finally:
        await client.aclose()
