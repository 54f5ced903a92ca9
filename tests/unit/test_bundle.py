"""The packer, read back by Info-ZIP's unzip (an independent implementation)."""

import hashlib
import json
import subprocess
from pathlib import Path

from pacai_export.bundle import BundleMeta, pack

META = BundleMeta(project_id="p1", project_name="Project One", engines=("godot",),
                  quality="low", include_assets=False, seed="s",
                  left_out=({"asset": "tex", "type": "texture", "uri": "t.png",
                             "reason": "include_assets is false"},))


def stage(root: Path) -> Path:
    (root / "godot" / "scenes").mkdir(parents=True)
    (root / "godot" / "project.godot").write_text("config_version=5\n")
    (root / "godot" / "scenes" / "main.tscn").write_text("[gd_scene format=3]\n")
    (root / "godot" / "big.bin").write_bytes(bytes(range(256)) * 20000)
    return root


def unzip_listing(path: Path) -> list[str]:
    out = subprocess.run(["zipinfo", "-T", "-l", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line.startswith("-")]


def test_pack_is_read_back_by_unzip(tmp_path: Path) -> None:
    packed = pack(stage(tmp_path / "stage"), META, tmp_path / "b.zip")
    test = subprocess.run(["unzip", "-t", str(packed.path)], capture_output=True, text=True)
    assert test.returncode == 0, test.stdout
    rows = unzip_listing(packed.path)
    names = [row.split()[-1] for row in rows]
    assert names == ["README.txt", "bundle.json", "godot/big.bin", "godot/project.godot",
                     "godot/scenes/main.tscn"]
    assert all(row.startswith("-rw-r--r--") for row in rows)
    assert all(" 19800101.000000 " in row for row in rows)
    assert packed.files == 5
    assert packed.sha256 == hashlib.sha256(packed.path.read_bytes()).hexdigest()


def test_bundle_json_lists_every_other_file(tmp_path: Path) -> None:
    packed = pack(stage(tmp_path / "stage"), META, tmp_path / "b.zip")
    doc = json.loads(subprocess.run(["unzip", "-p", str(packed.path), "bundle.json"],
                                    capture_output=True, check=True).stdout)
    assert [f["path"] for f in doc["files"]] == ["README.txt", "godot/big.bin",
                                                 "godot/project.godot", "godot/scenes/main.tscn"]
    for entry in doc["files"]:
        data = subprocess.run(["unzip", "-p", str(packed.path), entry["path"]],
                              capture_output=True, check=True).stdout
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["project"] == {"id": "p1", "name": "Project One"}
    assert doc["left_out"] == list(META.left_out)
    assert (doc["engines"], doc["quality"], doc["seed"]) == (["godot"], "low", "s")


def test_same_stage_same_bytes(tmp_path: Path) -> None:
    a = pack(stage(tmp_path / "a"), META, tmp_path / "a.zip")
    b = pack(stage(tmp_path / "b"), META, tmp_path / "b.zip")
    assert a.path.read_bytes() == b.path.read_bytes()
