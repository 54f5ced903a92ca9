"""The UE bootstrap type-checks against Unreal's own generated Python API.

PyPI ``unreal-stub`` 0.3 is the ``unreal`` module stub that UE 5.6's editor generates
(``unreal/unreal.py``, 25 MB). ``make setup`` installs it with ``pip --target`` into
``.venv/stubs/unreal`` rather than into site-packages: its module is named ``unreal`` and
does not import (one generated default value is not valid Python), so on ``sys.path`` it would
shadow the real editor module and break ``import unreal`` everywhere. Here the stub is copied
with that default replaced by ``...`` (the only change) and mypy --strict checks the bootstrap
against it: an unknown name, a wrong signature or a wrong argument type fails the test. A
deliberately broken copy of the bootstrap is checked in the same run, so the test proves the
check can fail.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pacai_export.engines.unreal import BOOTSTRAP

STUB = Path(sys.prefix) / "stubs" / "unreal" / "unreal" / "unreal.py"

BROKEN = '''

def _broken_calls() -> None:
    levels = unreal.get_editor_subsystem(unreal.LevelEditorSubsystem)
    assert levels is not None
    levels.new_levle("/Game/Maps/x")
    unreal.EditorAssetLibrary.does_asset_exist(42)
'''


def blank_defaults(line: str) -> str:
    """``line`` (one ``def``) with every parameter default replaced by ``...``."""
    out, i, depth = [], 0, 0
    while i < len(line):
        c = line[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if depth == 1 and line.startswith(" = ", i):
            out.append(" = ...")
            i = _skip_value(line, i + 3)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _skip_value(line: str, i: int) -> int:
    """The index just past the default value starting at ``i`` (brackets and quotes nest)."""
    depth, quote = 0, None
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0:
                return i
            depth -= 1
        elif ch == "," and depth == 0:
            return i
        i += 1
    return i


def patched_stub(source: str) -> tuple[str, list[int]]:
    """The stub with the defaults of each unparsable ``def`` blanked; the lines changed."""
    lines = source.split("\n")
    changed: list[int] = []
    while True:
        try:
            ast.parse("\n".join(lines))
            return "\n".join(lines), changed
        except SyntaxError as exc:
            assert exc.lineno is not None and exc.lineno not in changed, exc
            assert lines[exc.lineno - 1].lstrip().startswith("def "), exc
            lines[exc.lineno - 1] = blank_defaults(lines[exc.lineno - 1])
            changed.append(exc.lineno)


@pytest.fixture(scope="module")
def stub_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert STUB.is_file(), f"{STUB} is missing: run `make setup` (it installs unreal-stub)"
    text, changed = patched_stub(STUB.read_text("utf-8-sig"))
    assert len(changed) == 1, changed  # the one SlateBrush default engine-references.md names
    root = tmp_path_factory.mktemp("stubs")
    (root / "unreal").mkdir()
    (root / "unreal" / "__init__.pyi").write_text(text, "utf-8")
    return root


def _errors(output: str, filename: str) -> list[tuple[int, str]]:
    pattern = re.compile(rf"^{re.escape(filename)}:(\d+): error: .*\[([a-z-]+)\]$")
    return [(int(m[1]), m[2]) for m in map(pattern.match, output.splitlines()) if m]


def test_bootstrap_type_checks_against_the_ue_stub(stub_path: Path, tmp_path: Path) -> None:
    (tmp_path / "pacai_bootstrap.py").write_text(BOOTSTRAP, "utf-8")
    (tmp_path / "broken_bootstrap.py").write_text(BOOTSTRAP + BROKEN, "utf-8")
    env = dict(os.environ, MYPYPATH=str(stub_path))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
         "--no-incremental", "--cache-dir", os.devnull, "--python-version", "3.11",
         "pacai_bootstrap.py", "broken_bootstrap.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False)
    output = done.stdout + done.stderr
    assert not _errors(output, "pacai_bootstrap.py"), output[-4000:]
    lines = len(BOOTSTRAP.splitlines())
    broken = _errors(output, "broken_bootstrap.py")
    assert broken == [(lines + 6, "attr-defined"), (lines + 7, "arg-type")], broken
