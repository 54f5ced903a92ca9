"""Name sanitising: display names and file names that every engine accepts.

Manifest names are free text (Unicode, quotes, slashes, newlines, duplicates). Each engine
has its own rules, so each gets a function; all of them are pure and keep Unicode letters.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

# Godot's String::get_invalid_node_name_characters(): ". : @ / \" %".
_GODOT_INVALID = set('.:@/"%')
# Characters that break Unity's Transform.Find paths or UE actor labels / object paths.
_UNITY_INVALID = set("/\\")
_UE_INVALID = set('"\',/.:|&!~@#(){}[]=;^%$`*?<>\\')
_FILE_OK = re.compile(r"[^A-Za-z0-9_\-]")
MAX_NAME = 64
MAX_FILENAME = 80


def _clean(text: str, invalid: set[str], fallback: str) -> str:
    """Drop control/format characters, replace engine-invalid ones, collapse whitespace."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category.startswith("C") or category in ("Zl", "Zp"):
            out.append(" ")  # newlines, tabs, NUL, bidi controls: never part of a name
        elif ch in invalid:
            out.append("_")
        else:
            out.append(ch)
    cleaned = " ".join("".join(out).split())[:MAX_NAME].strip()
    return cleaned or fallback


def godot_node_name(text: str) -> str:
    """A valid Godot node name (no ``. : @ / " %``, no control characters, not empty)."""
    return _clean(text, _GODOT_INVALID, "Node")


def unity_object_name(text: str) -> str:
    """A GameObject name safe for ``Transform.Find``-style paths (no slashes)."""
    return _clean(text, _UNITY_INVALID, "GameObject")


def ue_label(text: str) -> str:
    """An actor label without the characters UE rejects in object names."""
    return _clean(text, _UE_INVALID, "Actor")


class UniqueNames:
    """Hands out names unique among everything taken so far (case-insensitively, as file
    systems and UE compare): the first ``Tree`` stays ``Tree``, later ones become ``Tree 2``,
    ``Tree 3``… Constant time per name, however many are taken."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._used = {n.casefold() for n in taken}
        self._next: dict[str, int] = {}

    def take(self, name: str) -> str:
        key = name.casefold()
        candidate, n = name, self._next.get(key, 1)
        while candidate.casefold() in self._used:
            n += 1
            candidate = f"{name} {n}"
        self._next[key] = n
        self._used.add(candidate.casefold())
        return candidate


def unique(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """Make ``names`` unique in order; names in ``taken`` are reserved beforehand."""
    pool = UniqueNames(taken)
    return [pool.take(name) for name in names]


def safe_filename(stem: str, ext: str = "") -> str:
    """A file name from an id that can never escape its folder.

    Only ``[A-Za-z0-9_-]`` survive (so no ``/``, ``..`` or leading dot); if anything was
    changed or cut, a short hash of the original is appended so distinct ids stay distinct.
    ``ext`` (``".tscn"``) is appended as given after the same check.
    """
    cleaned = _FILE_OK.sub("_", stem)[:MAX_FILENAME]
    if cleaned != stem or not cleaned:
        digest = hashlib.sha256(stem.encode("utf-8")).hexdigest()[:8]
        cleaned = f"{cleaned[:MAX_FILENAME - 9]}-{digest}" if cleaned else f"f-{digest}"
    suffix = ext if re.fullmatch(r"(\.[A-Za-z0-9]{1,8})?", ext) else ""
    return cleaned + suffix


def pascal_case(text: str) -> str:
    """``player_controller`` → ``PlayerController``: a C# class name from a component type."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", text) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    if not name or name[0].isdigit():
        name = "C" + name
    return name


def ue_project_name(text: str) -> str:
    """A UE project name: ASCII letters, digits, underscore; starts with a letter; ≤ 20 chars."""
    ascii_only = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^A-Za-z0-9]+", ascii_only) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name or not name[0].isalpha():
        name = "P" + name
    return name[:20]


def ini_value(text: str) -> str:
    """A single-line value for an .ini file (no control characters)."""
    return _clean(text, set(), "")
