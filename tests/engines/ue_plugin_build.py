"""The UE C++ plugin as the writer ships it, laid out to be syntax-checked by g++ against the
header mirrors in ``tests/engines/ue_decls``. Shared by the C++ plugin and bob tests."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pacai_export.engines import unreal

DECLS = Path(__file__).parent / "ue_decls"


SOURCE = "Plugins/PacaiGameplay/Source/PacaiGameplay"


CLASS = re.compile(r"^class PACAIGAMEPLAY_API (\w+) : public (\w+)$", re.M)


GXX = shutil.which("g++")


needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is missing: run `make setup`")


def plugin_tree(tmp_path: Path) -> Path:
    """The plugin as the writer ships it, with UHT's generated headers beside it."""
    root = tmp_path / "project"
    for path, data in unreal.plugin_files().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        assert isinstance(data, bytes)
        target.write_bytes(data)
    generated = root / "generated"
    generated.mkdir()
    for header in (root / SOURCE / "Public").glob("*.h"):
        (cls, base), = CLASS.findall(header.read_text("utf-8"))
        (generated / f"{header.stem}.generated.h").write_text(
            "#undef PACAI_GENERATED_BODY\n"
            f"#define PACAI_GENERATED_BODY public: using Super = {base}; "
            f"using ThisClass = {cls}; static UClass* StaticClass(); private:\n", "utf-8")
    return root
