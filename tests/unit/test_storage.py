import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from pacai_export.errors import StorageError
from pacai_export.storage import LocalStorage, StoredObject


def a_zip(path: Path) -> StoredObject:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", "a")
        zf.writestr("b.txt", "b" * 1000)
    data = path.read_bytes()
    return StoredObject(key="", bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), files=2)


async def test_put_is_atomic_and_reusable(tmp_path: Path) -> None:
    src = tmp_path / "src.zip"
    info = a_zip(src)
    storage = LocalStorage(tmp_path / "exports", "https://cdn.example.test/exports/")
    key = "proj/0123456789abcdef/proj.zip"
    assert await storage.stat(key) is None
    data = src.read_bytes()
    stored = await storage.put_file(key, src, info)
    assert stored.key == key and stored.bytes == info.bytes
    assert (tmp_path / "exports" / key).read_bytes() == data
    assert not src.exists()  # same file system: moved into place, not copied
    assert oct((tmp_path / "exports" / key).stat().st_mode & 0o777) == "0o644"
    assert await storage.stat(key) == stored
    assert storage.url(key) == "https://cdn.example.test/exports/proj/0123456789abcdef/proj.zip"
    # no temp files left beside it
    assert sorted(os.listdir(tmp_path / "exports" / "proj" / "0123456789abcdef")) == [
        "proj.zip", "proj.zip.meta.json"]


async def test_the_sidecar_is_synced_before_it_is_renamed_into_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spy on os.fsync (the real call still runs) records which files reach the disk: the
    sidecar's temp file must, like the bundle, or a crash could leave an empty sidecar."""
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    src = tmp_path / "src.zip"
    info = a_zip(src)
    storage = LocalStorage(tmp_path / "exports", "https://cdn.example.test/exports")
    await storage.put_file("proj/k/proj.zip", src, info)
    folder = tmp_path / "exports" / "proj" / "k"
    sidecar_temps = [p for p in synced if Path(p).name.startswith(".proj.zip.meta.json.")]
    assert len(sidecar_temps) == 1 and Path(sidecar_temps[0]).parent == folder, synced
    assert synced[-1] == str(folder)  # the folder last: the rename itself is durable
    assert json.loads((folder / "proj.zip.meta.json").read_bytes()) == {
        "bytes": info.bytes, "sha256": info.sha256, "files": 2}


async def test_reuse_reads_the_sidecar_and_falls_back_to_the_zip(tmp_path: Path) -> None:
    src = tmp_path / "src.zip"
    info = a_zip(src)
    storage = LocalStorage(tmp_path / "exports", "https://cdn.example.test/exports")
    key = "proj/0123456789abcdef/proj.zip"
    stored = await storage.put_file(key, src, info)
    sidecar = tmp_path / "exports" / (key + ".meta.json")
    sidecar.write_text('{"bytes": 1, "sha256": "stale", "files": 9}')  # does not match
    assert await storage.stat(key) == stored  # read back from the zip itself
    sidecar.unlink()
    assert await storage.stat(key) == stored


@pytest.mark.parametrize("key", ["../x.zip", "/etc/x.zip", "a/../../x.zip", "a//b.zip"])
async def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path, "file:///")
    with pytest.raises(ValueError, match="is not a relative path"):
        await storage.stat(key)


async def test_unwritable_root_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    src = tmp_path / "src"
    src.write_bytes(b"x")
    storage = LocalStorage(blocker, "file:///")
    with pytest.raises(StorageError, match=r"^could not store 'k/x\.zip'"):
        await storage.put_file("k/x.zip", src, StoredObject(key="k/x.zip", bytes=1))
