"""Print the import graph of ``src/pacai_export`` by layer; exit 1 if an arrow runs back up.

    python scripts/import_graph.py

Each module belongs to a layer (``LAYERS``, lowest first). A module may import from its own
layer and the ones below; an import of a higher layer is an arrow running back up, printed
with ``!!`` and failing the run unless it is in ``KNOWN`` (each with the change that removes
it). Imports under ``if TYPE_CHECKING:`` count too: they are still a dependency of the code.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "pacai_export"
SRC = Path(__file__).resolve().parent.parent / "src"

# Lowest first. A name is a module or a subpackage (everything under it).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("pacai_export", "errors", "settings", "logs", "gcpause", "jsonlimits",
              "workdirs", "metrics", "pool", "_forkserver", "redis_server", "files",
              "examples")),
    ("model", ("manifest",)),
    ("formats", ("glb", "zipwriter", "storage")),
    ("assets", ("assets",)),
    ("engines", ("engines",)),
    ("bundle", ("bundle", "signing")),
    ("pipeline", ("jobs", "pipeline")),
    ("service", ("queues", "callbacks", "client", "processor", "progress", "server")),
    ("entry", ("runtime", "worker", "api", "demo", "render", "cli")),
]

# Arrows known to run back up, each with the change that removes it; a new one fails the run.
KNOWN: set[tuple[str, str]] = set()


def unit(module: str) -> str:
    """``pacai_export.assets.gather`` → ``assets``; the package itself → ``pacai_export``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(name: str) -> int:
    for index, (_, names) in enumerate(LAYERS):
        if name in names:
            return index
    raise SystemExit(f"import_graph: {name} is in no layer; add it to LAYERS")


def imports(path: Path, module: str) -> set[str]:
    """The package's modules ``path`` imports (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] == PACKAGE:
                found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
    return found


def graph() -> dict[str, set[str]]:
    """Unit → the units it imports (its own excluded)."""
    arrows: dict[str, set[str]] = defaultdict(set)
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        source = unit(module)
        arrows[source] |= {unit(t) for t in imports(path, module)} - {source}
    return arrows


def main() -> int:
    arrows = graph()
    up = []
    for index, (name, members) in enumerate(LAYERS):
        print(f"{index} {name}")
        for source in sorted(s for s in arrows if s in members):
            targets = []
            for target in sorted(arrows[source], key=lambda t: (layer_of(t), t)):
                if layer_of(target) > index:
                    targets.append(f"!!{target}")
                    up.append((source, target))
                else:
                    targets.append(target)
            print(f"    {source} -> {', '.join(targets) or '(nothing)'}")
    unknown = [arrow for arrow in up if arrow not in KNOWN]
    for source, target in up:
        note = "known, being removed" if (source, target) in KNOWN else "NOT ALLOWED"
        print(f"arrow back up: {source} -> {target} ({note})")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
