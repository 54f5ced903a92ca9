"""The worker's memory of project files' digests: used while a file is unchanged, never
after a write, however the write tries to hide."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pacai_export.assets import digests
from pacai_export.assets.digests import SourceDigests


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file actually read to hash it."""
    seen: list[Path] = []
    real = digests.sha256_file

    def counting(path: Path) -> tuple[str, int]:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(digests, "sha256_file", counting)
    return seen


def test_an_unchanged_file_is_read_once(tmp_path: Path, reads: list[Path]) -> None:
    source = tmp_path / "rock.png"
    source.write_bytes(b"rock" * 1000)
    memory = SourceDigests(stable_after=0)
    first, again = memory.digest(source), memory.digest(source)
    assert first == again == (hashlib.sha256(b"rock" * 1000).hexdigest(), 4000)
    assert reads == [source]


def test_a_write_that_keeps_size_and_mtime_is_seen(tmp_path: Path, reads: list[Path]) -> None:
    source = tmp_path / "rock.png"
    source.write_bytes(b"rock" * 1000)
    memory = SourceDigests(stable_after=0)
    memory.digest(source)
    st = source.stat()
    with source.open("r+b") as fh:  # same inode, same size
        fh.write(b"ROCK")
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old modification time
    digest, _ = memory.digest(source)
    assert digest == hashlib.sha256(b"ROCK" + b"rock" * 999).hexdigest()
    assert reads == [source, source]


def test_a_replaced_file_is_read_again(tmp_path: Path, reads: list[Path]) -> None:
    source = tmp_path / "rock.png"
    source.write_bytes(b"one")
    memory = SourceDigests(stable_after=0)
    memory.digest(source)
    (tmp_path / "new").write_bytes(b"two")
    os.replace(tmp_path / "new", source)
    assert memory.digest(source)[0] == hashlib.sha256(b"two").hexdigest()


def test_a_file_changed_just_before_the_read_is_not_remembered(tmp_path: Path,
                                                              reads: list[Path]) -> None:
    source = tmp_path / "rock.png"
    source.write_bytes(b"fresh")
    memory = SourceDigests(stable_after=60)  # written less than a minute ago: racy
    memory.digest(source)
    memory.digest(source)
    assert reads == [source, source]


def test_memory_is_bounded(tmp_path: Path, reads: list[Path]) -> None:
    memory = SourceDigests(max_entries=2, stable_after=0)
    files = [tmp_path / f"{i}.png" for i in range(3)]
    for i, path in enumerate(files):
        path.write_bytes(bytes([i]))
        memory.digest(path)
    memory.digest(files[0])  # the oldest was forgotten
    assert reads == [*files, files[0]]
