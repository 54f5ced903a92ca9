"""The packer, read back by Info-ZIP's unzip (an independent implementation)."""

import hashlib
import json
import random
import subprocess
import zipfile
from pathlib import Path

import pytest

from pacai_export import zipwriter
from pacai_export.bundle import BundleMeta, PackedBundle, prepare, staged_files, zip_stage

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


def pack_bundle(stage_dir: Path, out: Path) -> PackedBundle:
    """``prepare`` then ``zip_stage``, as the pipeline runs them (scratch beside ``out``)."""
    prepared = prepare(stage_dir, META, out.with_name(out.name + ".scratch"))
    return zip_stage(stage_dir, out, prepared.contents)


def unzip_listing(path: Path) -> list[str]:
    out = subprocess.run(["zipinfo", "-T", "-l", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line.startswith("-")]


def test_pack_is_read_back_by_unzip(tmp_path: Path) -> None:
    packed = pack_bundle(stage(tmp_path / "stage"), tmp_path / "b.zip")
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
    packed = pack_bundle(stage(tmp_path / "stage"), tmp_path / "b.zip")
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
    a = pack_bundle(stage(tmp_path / "a"), tmp_path / "a.zip")
    b = pack_bundle(stage(tmp_path / "b"), tmp_path / "b.zip")
    assert a.path.read_bytes() == b.path.read_bytes()


def read_back(path: Path) -> dict[str, bytes]:
    """Every entry through Python's zipfile, which checks each CRC, and Info-ZIP's test."""
    test = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def tricky_stage(root: Path) -> Path:
    (root / "unity" / "Assets").mkdir(parents=True)
    (root / "godot" / "assets").mkdir(parents=True)
    (root / "godot" / "assets" / "rock.glb").write_bytes(b"glTF" + bytes(300_000))
    (root / "unity" / "Assets" / "rock.glb").hardlink_to(root / "godot" / "assets" / "rock.glb")
    (root / "godot" / "assets" / "noise.bin").write_bytes(random.Random(7).randbytes(50_000))
    (root / "godot" / "empty.txt").write_bytes(b"")
    (root / "godot" / "tête.tscn").write_text("[gd_scene format=3]\n" * 100)
    return root


def test_shared_and_odd_entries_read_back(tmp_path: Path) -> None:
    staged = tricky_stage(tmp_path / "stage")
    packed = pack_bundle(staged, tmp_path / "b.zip")
    entries = read_back(packed.path)
    for name, path in staged_files(staged):
        assert entries[name] == path.read_bytes(), name
    with zipfile.ZipFile(packed.path) as zf:
        info = {i.filename: i for i in zf.infolist()}
    # Deflated once, carried twice; incompressible data stored; the UTF-8 name flagged.
    assert info["godot/assets/rock.glb"].compress_type == zipfile.ZIP_DEFLATED
    rock = info["godot/assets/rock.glb"]
    assert info["unity/Assets/rock.glb"].compress_size == rock.compress_size < rock.file_size
    assert info["godot/assets/noise.bin"].compress_type == zipfile.ZIP_STORED
    assert info["godot/tête.tscn"].flag_bits & 0x800


def test_zip64_fields_read_back(tmp_path: Path) -> None:
    """Bundles past 4 GiB need Zip64 sizes, offsets and end records; forced here from byte
    0, so every one of those fields is written and read by both readers."""
    staged = tricky_stage(tmp_path / "stage")
    prepared = prepare(staged, META, tmp_path / "scratch")
    packed = zip_stage(staged, tmp_path / "b.zip", prepared.contents, zip64_from=0)
    entries = read_back(packed.path)
    assert set(entries) == {name for name, _ in staged_files(staged)}
    assert entries["godot/assets/rock.glb"] == b"glTF" + bytes(300_000)
    raw = packed.path.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw  # Zip64 end record and locator
    assert packed.sha256 == hashlib.sha256(raw).hexdigest() and packed.bytes == len(raw)


def test_large_deflated_data_goes_through_scratch(tmp_path: Path) -> None:
    staged = tmp_path / "stage"
    (staged / "ue5" / "SourceArt").mkdir(parents=True)
    # 4 bits of entropy per byte: deflates to about half, past INLINE_BYTES, so it spills.
    big = random.Random(3).randbytes(4_000_000).translate(bytes(i & 15 for i in range(256)))
    (staged / "ue5" / "SourceArt" / "big.wav").write_bytes(big)
    prepared = prepare(staged, META, tmp_path / "scratch")
    content = prepared.contents["ue5/SourceArt/big.wav"]
    assert isinstance(content.payload, Path) and content.payload.parent == tmp_path / "scratch"
    packed = zip_stage(staged, tmp_path / "b.zip", prepared.contents)
    assert read_back(packed.path)["ue5/SourceArt/big.wav"] == big


def test_a_file_cut_short_while_packing_is_an_error(tmp_path: Path) -> None:
    staged = stage(tmp_path / "stage")
    prepared = prepare(staged, META, tmp_path / "scratch")
    # Too small to gain from deflate, so stored: its bytes are copied from the file.
    (staged / "godot" / "project.godot").write_bytes(b"")
    with pytest.raises(OSError, match=r"project.godot: 17 of 17 bytes missing: it changed "
                                      "while packing"):
        zip_stage(staged, tmp_path / "b.zip", prepared.contents)


def test_buffered_writing_gives_the_same_bytes(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Where O_DIRECT is refused (tmpfs, other systems) the writer is buffered; same zip."""
    staged = tricky_stage(tmp_path / "stage")
    direct = pack_bundle(staged, tmp_path / "direct.zip")
    monkeypatch.setattr(zipwriter, "O_DIRECT", 0)
    buffered = pack_bundle(staged, tmp_path / "buffered.zip")
    assert direct.path.read_bytes() == buffered.path.read_bytes()
    assert direct.bytes % zipwriter.BLOCK != 0  # the padded last block was cut off again
