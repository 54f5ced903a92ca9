"""The hostile-input catalogue, asset and manifest side (§13), end to end.

One real ``pacai-export worker`` process (S3 storage on a real S3 API server, callbacks to a
real receiver, a project folder full of traps, a loopback server that misbehaves) takes one
job per attack. Each must end with the documented error code in its ``export.failed``
callback, a message naming the asset or the field (never a server path), no retry when no
retry can help, and the same worker then exports a good project.

The catalogue keeps the attacks a security review found refused (SSRF spellings, scheme
tricks, redirects, traversal, symlinks, pixel bombs) beside the ones fixed since (accessor
and wide-image bombs, cross-tenant S3, broken HTTP answers, ``data:`` bytes, FIFOs and
directories, IPv6 transition forms, depth and magnitude, counts).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
import redis

from pacai_export.client import ExportClient
from pacai_export.queues import add_job
from pacai_export.redis_server import free_port
from pacai_export.settings import Settings
from tests.helpers import (
    S3_ENV,
    WORKER_CMD,
    Receiver,
    WorkerProcess,
    finished,
    s3_client,
    settings_env,
    wav,
)
from tests.hostile import bombs
from tests.hostile.bad_http import cut_short, garbage, redirect, reset, serve_badly

pytestmark = pytest.mark.slow

PROJECT = "hostile"
STAND_IN = 1.2345e300  # rewritten as 1e400 in the stored job data
NO_RETRY = {"attempts": 3, "backoff": {"type": "fixed", "delay": 100}}
ONE_RETRY = {"attempts": 2, "backoff": {"type": "fixed", "delay": 100}}


# --- the world: a project full of traps, buckets, a worker ---------------------------------


@dataclasses.dataclass
class World:
    settings: Settings
    worker: WorkerProcess
    receiver: Receiver
    bad_http: str  # http://localhost:<port> (ASSET_HTTP_ALLOWLIST=localhost)
    own_bucket: str
    other_bucket: str
    tmp: Path


def _project_files(root: Path, outside: Path) -> None:
    for name, (filename, build) in bombs.MEMORY_BOMBS.items():
        bombs.write(root / "bombs" / f"{name}{Path(filename).suffix}", build())
    bombs.write(root / "ok.wav", wav())
    nested = "[" * 100_000 + "]" * 100_000
    bombs.write(root / "bombs" / "deep.gltf",
                f'{{"asset": {{"version": "2.0"}}, "extras": {nested}}}'.encode())
    bombs.write(outside / "secret.wav", wav(tone=9))
    (root / "adir.png").mkdir()
    os.mkfifo(root / "pipe.wav")
    os.symlink(outside / "secret.wav", root / "link.wav")
    (root.parent / "hostile-fifo").mkdir()
    os.mkfifo(root.parent / "hostile-fifo" / "manifest.json")
    (root.parent / "hostile-dir" / "manifest.json").mkdir(parents=True)
    brackets = root.parent / "hostile-brackets"
    bombs.write(brackets / "manifest.json", bombs.manifest_brackets())
    bombs.write(root.parent / "hostile-huge-number" / "manifest.json",
                b'{"schema": "pacai.manifest/v1", "project": {"id": "hostile-huge-number", '
                b'"name": "H"}, "scenes": [{"id": "main", "nodes": [{"id": "n", "transform": '
                b'{"translation": [1e400, 0, 0]}}]}], "main_scene": "main"}')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, redis_url: str,
          s3_server: str) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("hostile")
    _project_files(tmp / "projects" / PROJECT, tmp / "outside")
    s3 = s3_client(s3_server)
    own, other = (f"{kind}-{uuid.uuid4().hex[:10]}" for kind in ("own", "tenant"))
    for bucket in (own, other):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=other, Key="secret/notes.wav", Body=wav(tone=1))
    s3.put_object(Bucket=own, Key="exports/_assets/other-tenant/notes.wav", Body=wav(tone=2))
    s3.put_object(Bucket=own, Key=f"exports/_assets/{PROJECT}/ok.wav", Body=wav(tone=3))
    s3.put_object(Bucket=other, Key="secret/mesh.bin", Body=b"\0" * 36)
    s3.put_object(Bucket=own, Key=f"exports/_assets/{PROJECT}/ref.gltf", Body=json.dumps({
        "asset": {"version": "2.0"},
        "buffers": [{"uri": f"s3://{other}/secret/mesh.bin", "byteLength": 36}]}).encode())
    bad = serve_badly({
        "/garbage.png": garbage, "/cut.png": cut_short, "/reset.png": reset,
        "/to-loopback.png": redirect("https://127.0.0.2:{port}/x.png"),
        "/to-file.png": redirect("file:///etc/passwd"),
        "/loop.png": redirect("http://localhost:{port}/loop.png"),
    })
    receiver = Receiver()
    queue = f"test{uuid.uuid4().hex[:10]}"
    settings = Settings(redis_url=redis_url, queue_name=queue, exports_dir=tmp / "exports",
                        export_bucket_url="https://cdn.example.test/exports",
                        projects_dir=tmp / "projects", concurrency=2, shutdown_timeout=10,
                        callback_url=receiver.url, callback_secret=receiver.secret)
    port = free_port()
    env = {**settings_env(settings), **S3_ENV, "HEALTH_PORT": str(port),
           "STORAGE_URL": f"s3://{own}/exports", "S3_ENDPOINT_URL": s3_server,
           "ASSET_HTTP_ALLOWLIST": "localhost"}
    log = tmp / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(WORKER_CMD, env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=tmp)
    worker = WorkerProcess(proc, port, log)
    try:
        assert worker.wait_status("/ready", 200), log.read_text()[-3000:]
        yield World(settings, worker, receiver, f"http://localhost:{bad.getsockname()[1]}",
                    own, other, tmp)
    finally:
        proc.kill()
        proc.wait(10)
        bad.close()
        receiver.close()
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"bull:{queue}*", count=1000):
            client.delete(key)
        client.close()


def manifest(project_id: str = PROJECT, assets: list[dict[str, Any]] | None = None,
             **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "pacai.manifest/v1", "project": {"id": project_id, "name": "Hostile"},
        "assets": assets or [],
        "scenes": [{"id": "main", "nodes": [{"id": "n", "mesh": {"primitive": "box"}}]}],
        "main_scene": "main"}
    doc.update(changes)
    return doc


def job(project_id: str = PROJECT, manifest_doc: dict[str, Any] | None = None,
        **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"project_id": project_id, "engines": ["godot"],
                            "include_assets": True, "quality": "low"}
    if manifest_doc is not None:
        data["manifest"] = manifest_doc
    data.update(changes)
    return data


def one_asset(uri: str, kind: str = "texture", asset_id: str = "evil") -> dict[str, Any]:
    return job(manifest_doc=manifest(assets=[{"id": asset_id, "type": kind, "uri": uri}]))


async def run_job(world: World, data: dict[str, Any],
                  opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job's final status, and the ``data`` of its ``export.failed`` callback."""
    client = ExportClient(world.settings)
    try:
        job_id = await add_job(client.queue, "export", data, opts)
        if "delay" in opts:
            _rewrite_stand_in(world, job_id)
        status = await finished(client, job_id, timeout=120)
    finally:
        await client.aclose()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for delivery in list(world.receiver.deliveries):
            body = json.loads(delivery.body)
            if body["type"] == "export.failed" and body["data"]["job_id"] == job_id:
                return status, body["data"]
        time.sleep(0.05)
    raise AssertionError(f"no export.failed callback for job {job_id}: {status}")


def _rewrite_stand_in(world: World, job_id: str) -> None:
    client = redis.Redis.from_url(world.settings.redis_url or "")
    try:
        key = f"bull:{world.settings.queue_name}:{job_id}"
        raw = client.hget(key, "data")
        assert isinstance(raw, bytes) and json.dumps(STAND_IN).encode() in raw
        client.hset(key, "data", raw.replace(json.dumps(STAND_IN).encode(), b"1e400"))
    finally:
        client.close()


# --- the catalogue ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    data: Callable[[World], dict[str, Any]]
    code: str
    message: str  # the whole failedReason, ``{...}`` filled from the world
    opts: dict[str, Any] = dataclasses.field(default_factory=lambda: NO_RETRY)
    attempts: int = 1


def refused(uri: str, host: str, address: str, reason: str) -> Case:
    return Case(f"ssrf {uri}", lambda w: one_asset(uri), "invalid_input",  # noqa: ARG005 (the double keeps the real signature)
                f"assets[0] 'evil' ({uri}): refused: {host} resolves to {address}, {reason}")


def evil(name: str, uri: str, code: str, why: str, kind: str = "texture") -> Case:
    """A case whose message is ``assets[0] 'evil' (<uri>): <why>``; ``{http}`` in the URI
    is the misbehaving server, ``{own}``/``{other}`` the buckets."""
    def data(w: World) -> dict[str, Any]:
        return one_asset(_fill(uri, w), kind)
    shown = uri if len(uri) <= 80 else uri[:77] + "..."  # messages cut long URIs
    return Case(name, data, code, f"assets[0] 'evil' ({shown}): {why}")


def _fill(text: str, w: World) -> str:
    return text.format(http=w.bad_http, own=w.own_bucket, other=w.other_bucket)


LOOPBACK = "a loopback address"
METADATA = "a link-local address (cloud metadata lives there)"

CASES = [
    # SSRF in every spelling (refused before, kept refused), and the IPv6 transition forms.
    refused("https://127.0.0.1/a.png", "127.0.0.1", "127.0.0.1", LOOPBACK),
    refused("https://127.1/a.png", "127.1", "127.0.0.1", LOOPBACK),
    refused("https://2130706433/a.png", "2130706433", "127.0.0.1", LOOPBACK),
    refused("https://0x7f.1/a.png", "0x7f.1", "127.0.0.1", LOOPBACK),
    refused("https://[::1]/a.png", "::1", "::1", LOOPBACK),
    refused("https://[::ffff:127.0.0.1]/a.png", "::ffff:127.0.0.1", "::ffff:127.0.0.1",
            "an IPv6 form of 127.0.0.1, a loopback address"),
    refused("https://169.254.169.254/latest/a.png", "169.254.169.254", "169.254.169.254",
            METADATA),
    refused("https://10.0.0.1/a.png", "10.0.0.1", "10.0.0.1", "a private address"),
    refused("https://0.0.0.0/a.png", "0.0.0.0", "0.0.0.0",
            "the unspecified address (it reaches this host)"),
    refused("https://[::7f00:1]/a.png", "::7f00:1", "::127.0.0.1",
            "an IPv6 form of 127.0.0.1, a loopback address"),
    refused("https://[64:ff9b::a9fe:a9fe]/a.png", "64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe",
            f"an IPv6 form of 169.254.169.254, {METADATA}"),
    refused("https://[2002:a9fe:a9fe::1]/a.png", "2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1",
            f"an IPv6 form of 169.254.169.254, {METADATA}"),
    refused("https://[::ffff:0:7f00:1]/a.png", "::ffff:0:7f00:1", "::ffff:0:7f00:1",
            "an IPv6 form of 127.0.0.1, a loopback address"),
    refused("https://[fec0::1]/a.png", "fec0::1", "fec0::1", "a site-local address"),
    refused("https://224.0.0.1/a.png", "224.0.0.1", "224.0.0.1", "a multicast address"),
    # Scheme tricks.
    evil("file scheme", "file:///etc/passwd.png", "invalid_input",
         "file: URIs are not supported"),
    evil("ftp scheme", "ftp://example.test/a.png", "invalid_input",
         "ftp: URIs are not supported"),
    evil("plain http to a host not allowed", "http://example.test/a.png", "invalid_input",
         "http:// is only fetched from ASSET_HTTP_ALLOWLIST hosts, not 'example.test'"),
    evil("scheme-relative", "//127.0.0.1/a.png", "invalid_input",
         "the path escapes the project's asset root"),
    # Redirects: each hop checked again.
    evil("redirect to loopback", "{http}/to-loopback.png", "invalid_input",
         "refused: 127.0.0.2 resolves to 127.0.0.2, a loopback address"),
    evil("redirect to file", "{http}/to-file.png", "invalid_input",
         "cannot fetch a file URL: file:///etc/passwd"),
    evil("redirect loop", "{http}/loop.png", "invalid_input", "more than 3 redirects"),
    # HTTP answers that are not HTTP: permanent, named, no library text.
    evil("garbage status line", "{http}/garbage.png", "invalid_input",
         "the server's answer is not valid HTTP"),
    # Paths: traversal, symlinks, directories, FIFOs, NUL.
    evil("traversal", "../outside/secret.wav", "invalid_input",
         "the path escapes the project's asset root", "audio"),
    evil("encoded traversal", "%2e%2e/%2e%2e/outside/secret.wav", "invalid_input",
         "the path escapes the project's asset root", "audio"),
    evil("absolute path", "/etc/hostname.wav", "invalid_input",
         "the path escapes the project's asset root", "audio"),
    evil("symlink out of the root", "link.wav", "invalid_input",
         "the path escapes the project's asset root", "audio"),
    evil("directory", "adir.png", "invalid_input", "not a regular file"),
    evil("fifo", "pipe.wav", "invalid_input", "not a regular file", "audio"),
    evil("nul byte", "ok%00.wav", "invalid_input", "the path contains a control character",
         "audio"),
    # s3:// only from the buckets and prefixes allowed (default: the worker's own prefix).
    evil("another tenant's bucket", "s3://{other}/secret/notes.wav", "invalid_input",
         "refused: the bucket and prefix are not in ASSET_S3_ALLOW", "audio"),
    evil("another project's asset prefix", "s3://{own}/exports/_assets/other-tenant/notes.wav",
         "invalid_input", "refused: the bucket and prefix are not in ASSET_S3_ALLOW", "audio"),
    evil("a model's reference into another tenant's bucket",
         "s3://{own}/exports/_assets/hostile/ref.gltf", "invalid_input",
         "buffers[0] 's3://{other}/secret/mesh.bin': refused: the bucket and prefix are not in "
         "ASSET_S3_ALLOW", "model"),
    evil("dot segments in the key", "s3://{own}/exports/_assets/hostile/../other-tenant/"
         "notes.wav", "invalid_input",
         "refused: the key has empty, '.', '..' or control-character segments", "audio"),
    # Memory and time bombs, refused before decoding. The JSON is read first where the file
    # lies, for the model's references (so those messages name the project's file name),
    # the rest when the model is processed (named after the asset's id).
    evil("glb accessor bomb", "bombs/glb_accessor_30M_no_bufferview.glb", "limit_exceeded",
         "evil.glb: accessors[0] has no bufferView and a count of 30000000 (360000000 bytes), "
         "more than the 0 bytes of the file's largest accessor", "model"),
    evil("glb count 1.5e9", "bombs/glb_accessor_count_1.5e9.glb", "invalid_input",
         "evil.glb: accessors[0]: count must be a whole number, got 1500000000.0", "model"),
    evil("glb count 1e400", "bombs/glb_accessor_count_1e400.glb", "invalid_input",
         "glb_accessor_count_1e400.glb: the glTF JSON: the number 1e400 is out of range",
         "model"),
    evil("glb json nested deep", "bombs/glb_json_100k_deep.glb", "invalid_input",
         "glb_json_100k_deep.glb: the glTF JSON: nested deeper than 64 levels", "model"),
    evil("gltf json nested deep", "bombs/deep.gltf", "invalid_input",
         "deep.gltf: the glTF JSON: nested deeper than 64 levels", "model"),
    evil("accessor bomb inline", "data:model/gltf-binary;base64,"
         + base64.b64encode(bombs.accessor_bomb()).decode(), "limit_exceeded",
         "evil.glb: accessors[0] has no bufferView and a count of 30000000 (360000000 bytes), "
         "more than the 0 bytes of the file's largest accessor", "model"),
    evil("wide png", "bombs/png_16777216x4_rgb8.png", "limit_exceeded",
         "evil.png: 16777216×4: a side of 16777216 pixels exceeds the limit of 16384"),
    evil("wide 16-bit png", "bombs/png_67108864x1_rgba16.png", "limit_exceeded",
         "evil.png: 67108864×1: a side of 67108864 pixels exceeds the limit of 16384"),
    evil("pixel bomb", "bombs/png_100000x100000_header.png", "limit_exceeded",
         "evil.png: 100000×100000 = 10000000000 pixels exceed the limit of 67108864 pixels"),
    # Depth, magnitude and counts in the manifest.
    Case("params nested 400 deep",
         lambda w: job(manifest_doc=manifest(scenes=[{"id": "main", "nodes": [  # noqa: ARG005 (the double keeps the real signature)
             {"id": "n", "components": [{"type": "spin", "params": bombs.nested_params(400)}]}
         ]}])), "invalid_manifest",
         # Long paths are cut at 150 characters.
         ("manifest.scenes[0].nodes[0].components[0].params" + ".p" * 400)[:150]
         + "…: nested deeper than 64 levels"),
    # bullmq's encoder cannot write 1e400; a producer writing JSON itself can. The job is
    # added delayed with a stand-in number, which is then rewritten in Redis.
    Case("1e400 in job data",
         lambda w: job(manifest_doc=manifest(scenes=[{"id": "main", "nodes": [  # noqa: ARG005 (the double keeps the real signature)
             {"id": "n", "components": [{"type": "spin", "params": {"speed": STAND_IN}}]}
         ]}])), "invalid_manifest",
         "manifest.scenes[0].nodes[0].components[0].params.speed: inf is not a finite number",
         {**NO_RETRY, "delay": 1500}),
    Case("manifest of 100k [", lambda w: job("hostile-brackets"), "invalid_manifest",  # noqa: ARG005 (the double keeps the real signature)
         "manifest (PROJECTS_DIR/hostile-brackets/manifest.json): nested deeper than 64 "
         "levels"),
    Case("manifest.json is a FIFO", lambda w: job("hostile-fifo"), "invalid_manifest",  # noqa: ARG005 (the double keeps the real signature)
         "manifest (PROJECTS_DIR/hostile-fifo/manifest.json): not a regular file"),
    Case("manifest.json is a directory", lambda w: job("hostile-dir"), "invalid_manifest",  # noqa: ARG005 (the double keeps the real signature)
         "manifest (PROJECTS_DIR/hostile-dir/manifest.json): not a regular file"),
    Case("manifest number 1e400", lambda w: job("hostile-huge-number"), "invalid_manifest",  # noqa: ARG005 (the double keeps the real signature)
         "manifest (PROJECTS_DIR/hostile-huge-number/manifest.json): the number 1e400 is out "
         "of range"),
    Case("20k scenes",
         lambda w: job(manifest_doc=manifest(scenes=[{"id": f"s{i}"} for i in range(20_000)],  # noqa: ARG005 (the double keeps the real signature)
                                             main_scene="s0")),
         "limit_exceeded", "manifest.scenes: 20000 scenes exceed the limit of 1000"),
    Case("10001 materials",
         lambda w: job(manifest_doc=manifest(materials=[{"id": f"m{i}"}  # noqa: ARG005 (the double keeps the real signature)
                                                        for i in range(10_001)])),
         "limit_exceeded", "manifest.materials: 10001 materials exceed the limit of 10000"),
    Case("65 components on a node",
         lambda w: job(manifest_doc=manifest(scenes=[{"id": "main", "nodes": [  # noqa: ARG005 (the double keeps the real signature)
             {"id": "n", "components": [{"type": "spin"}] * 65}]}])),
         "limit_exceeded",
         "manifest.scenes[0].nodes[0].components: 65 components exceed the limit of 64"),
    # Transient: the connection broke; retried, then failed with a message of our own.
    Case("body cut short", lambda w: one_asset(f"{w.bad_http}/cut.png"), "transient",
         "assets[0] 'evil' ({http}/cut.png): the server closed the connection before the "
         "whole body arrived, after 4 attempts", ONE_RETRY, 2),
    Case("connection reset", lambda w: one_asset(f"{w.bad_http}/reset.png"), "transient",
         "assets[0] 'evil' ({http}/reset.png): the connection broke while the server was "
         "answering, after 4 attempts", ONE_RETRY, 2),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_input_is_refused(world: World, case: Case) -> None:
    status, failed = await run_job(world, case.data(world), case.opts)
    message = _fill(case.message, world)
    assert status["state"] == "failed", status
    assert status["error"] == message
    assert failed["error"] == {"code": case.code, "message": message}
    assert status["attempts_made"] == case.attempts  # nothing retried that cannot work
    assert str(world.tmp) not in message and "/tmp/" not in message
    assert world.worker.proc.poll() is None


async def test_the_worker_still_serves_the_next_job(world: World) -> None:
    """After the catalogue, the same worker exports a good project that uses the edges the
    fixes must keep open: a data: URI with bytes >= 0x80 percent-encoded, an s3:// asset
    under the worker's own prefix, a project file."""
    raw = wav(tone=4)
    assert any(b >= 0x80 for b in raw)
    assets = [
        {"id": "inline", "type": "audio", "uri": "data:audio/wav," + quote_from_bytes(raw)},
        {"id": "own", "type": "audio",
         "uri": f"s3://{world.own_bucket}/exports/_assets/{PROJECT}/ok.wav"},
        {"id": "local", "type": "audio", "uri": "ok.wav"},
    ]
    client = ExportClient(world.settings)
    try:
        job_id = await add_job(client.queue, "export", job(manifest_doc=manifest(
            assets=assets)), NO_RETRY)
        status = await finished(client, job_id, timeout=120)
    finally:
        await client.aclose()
    assert status["state"] == "completed", status
    assert world.worker.proc.poll() is None
    logs = world.worker.logs()
    # Every refusal above was an error the worker meant: none escaped as a bug.
    assert not [line for line in logs if "unexpected error" in str(line.get("event"))]
