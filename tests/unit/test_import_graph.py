"""The import graph of src/ runs one way: scripts/import_graph.py exits 0, and non-zero
once an import runs back up."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_graph.py"


def test_no_arrow_runs_back_up() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "0 base"
    assert not [line for line in lines if line.startswith("arrow back up")]
    # The service layers sit on the export core, never the other way round.
    assert "    pipeline -> " in "\n".join(lines)
    core = [line for line in lines if line.startswith(("    assets ->", "    engines ->",
                                                      "    bundle ->", "    storage ->"))]
    assert core and not any(name in line for line in core
                            for name in ("queues", "worker", "runtime", "api", "pipeline"))


def test_an_arrow_back_up_fails_the_run(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The pipeline put below the core: each of its imports of the core now runs back up.
    pipeline = [layer for layer in module.LAYERS if layer[0] == "pipeline"]
    monkeypatch.setattr(module, "LAYERS", pipeline + [
        layer for layer in module.LAYERS if layer[0] != "pipeline"])
    assert module.main() == 1
    assert "arrow back up: pipeline -> engines (NOT ALLOWED)" in capsys.readouterr().out
