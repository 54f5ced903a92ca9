"""The command line as a user runs it: offline export, enqueue --wait, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pacai_export.settings import Settings
from tests.helpers import settings_env, small_manifest

CLI = str(Path(sys.executable).parent / "pacai-export")


def run(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env or dict(os.environ), cwd=cwd, timeout=timeout,
                          capture_output=True, text=True)


def test_export_offline_writes_the_zip_and_prints_the_result(tmp_path: Path) -> None:
    manifest = tmp_path / "project" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps(small_manifest("offline-arena")))
    out = tmp_path / "out"
    proc = run(["export", str(manifest), "--engines", "godot,unity", "--quality", "low",
                "--include-assets", "--seed", "s1", "--out", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # Processed assets went to the cache the worker would use (EXPORTS_DIR/_cache).
    assert [p.name for p in (tmp_path / "exports" / "_cache").iterdir()]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    bundle = out / "offline-arena.zip"
    assert result["download_url"] == bundle.resolve().as_uri()
    assert result["engines"] == ["godot", "unity"]
    assert result["bytes"] == bundle.stat().st_size
    names = subprocess.run(["zipinfo", "-1", str(bundle)], capture_output=True, text=True,
                           check=True).stdout.split()
    assert "unity/Packages/manifest.json" in names and "godot/project.godot" in names
    assert not [n for n in names if n.startswith("ue5/")]


def test_export_rejects_bad_engines_with_usage_error(tmp_path: Path) -> None:
    proc = run(["export", "m.json", "--engines", "godot,cry", "--out", str(tmp_path)])
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == ("pacai-export export: error: argument --engines: "
                                            "cry: engines are a comma list of godot, unity, ue5")


def test_export_of_an_invalid_manifest_names_the_problem(tmp_path: Path) -> None:
    m = small_manifest("broken")
    m["scenes"][0]["nodes"][0]["material"] = "nope"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(m))
    proc = run(["export", str(path), "--out", str(tmp_path / "out")])
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "pacai-export: export failed: manifest.scenes[0].nodes[0].material: 'nope' is not a "
        "material id")


def test_enqueue_wait_prints_the_result(settings: Settings, start_worker: Any,
                                        tmp_path: Path) -> None:
    start_worker(settings)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(small_manifest("queued")))
    proc = run(["enqueue", "queued", "--engines", "godot", "--manifest", str(manifest), "--wait"],
               env=settings_env(settings))
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status["state"] == "completed"
    assert status["result"]["project_id"] == "queued"


def test_demo_ends_with_a_real_bundle(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = run(["demo"], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bundle = Path(proc.stdout.strip().splitlines()[-1])
    assert bundle.is_file() and bundle.is_relative_to(tmp_path / "exports")
    test = subprocess.run(["unzip", "-tq", str(bundle)], capture_output=True, text=True)
    assert test.returncode == 0, test.stdout
    assert "embedded Redis" in proc.stderr


def test_help_explains_every_command() -> None:
    for command in ("worker", "export", "enqueue", "demo"):
        proc = run([command, "--help"])
        assert proc.returncode == 0
        assert len(proc.stdout.splitlines()) > 3
