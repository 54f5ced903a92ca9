"""Name sanitising: display names and file names that every engine accepts.

Manifest names are free text (Unicode, quotes, slashes, newlines, duplicates). Each engine
has its own rules, so each gets a function; all of them are pure and keep Unicode letters.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePosixPath

# Godot's String::get_invalid_node_name_characters(): ". : @ / \" %".
_GODOT_INVALID = set('.:@/"%')
# Characters that break Unity's Transform.Find paths or UE actor labels / object paths.
_UNITY_INVALID = set("/\\")
_UE_INVALID = set('"\',/.:|&!~@#(){}[]=;^%$`*?<>\\')
_FILE_OK = re.compile(r"[^A-Za-z0-9_\-]")
MAX_NAME = 64
MAX_FILENAME = 80
# Names Windows reserves for devices in every folder, whatever the extension ("CON.txt",
# "aux.png"): such a file cannot be created there (Microsoft, "Naming Files, Paths, and
# Namespaces"). Superscript digits count too, but file names here are ASCII.
_DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9]|conin\$|conout\$|clock\$)",
                     re.IGNORECASE)
# What safe_filename appends to a changed name; an unchanged name must never look like it.
_DIGEST_TAIL = re.compile(r"-[0-9a-f]{8}$")


def _clean(text: str, invalid: set[str], fallback: str) -> str:
    """Drop control/format characters, replace engine-invalid ones, collapse whitespace."""
    if text.isascii() and text.isprintable() and invalid.isdisjoint(text):
        # The common case, once per node of a big scene: nothing to drop or replace.
        return " ".join(text.split())[:MAX_NAME].strip() or fallback
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


def is_device_name(component: str) -> bool:
    """Whether a path component is a Windows device name (``CON``, ``aux.png``, ``LPT9.x``)."""
    return _DEVICE.fullmatch(component.split(".", 1)[0].rstrip(" ")) is not None


def safe_filename(stem: str, ext: str = "") -> str:
    """A file name from an id that can never escape its folder.

    Only ``[A-Za-z0-9_-]`` survive (so no ``/``, ``..`` or leading dot); if anything was
    changed or cut, or the stem is a Windows device name (``CON``, ``aux``), a short hash of
    the original is appended so distinct ids stay distinct. ``ext`` (``".tscn"``) is
    appended as given after the same check. Two ids differing only in case (``Tex``/``tex``)
    still give names equal under case folding: writers pass names of one folder through
    ``UniqueFiles``.
    """
    cleaned = _FILE_OK.sub("_", stem)[:MAX_FILENAME]
    if (cleaned != stem or not cleaned or is_device_name(cleaned)
            or _DIGEST_TAIL.search(cleaned)):
        digest = hashlib.sha256(stem.encode("utf-8")).hexdigest()[:8]
        cleaned = f"{cleaned[:MAX_FILENAME - 9]}-{digest}" if cleaned else f"f-{digest}"
    suffix = ext if re.fullmatch(r"(\.[A-Za-z0-9]{1,8})?", ext) else ""
    return cleaned + suffix


class UniqueFiles:
    """File names unique under case folding within one folder, as Windows and macOS compare
    them: the first ``Tex.png`` stays, a later ``tex.png`` becomes ``tex-2.png``. Each id
    keeps the name it was first given, so every reference to it agrees."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._used = {n.casefold() for n in taken}
        self._given: dict[str, str] = {}

    def name(self, key: str, filename: str) -> str:
        """The unique name for ``key`` (first call: ``filename`` or a numbered variant)."""
        if key in self._given:
            return self._given[key]
        stem, dot, ext = filename.rpartition(".")
        if not dot:
            stem, ext = filename, ""
        candidate, n = filename, 1
        while candidate.casefold() in self._used:
            n += 1
            candidate = f"{stem}-{n}{dot}{ext}"
        self._used.add(candidate.casefold())
        self._given[key] = candidate
        return candidate


def unique_filenames(ids: Iterable[str], ext: str = "") -> dict[str, str]:
    """``safe_filename`` of each id, made unique under case folding (one folder's names)."""
    pool = UniqueFiles()
    return {i: pool.name(i, safe_filename(i, ext)) for i in ids}


def asset_filenames(files: Mapping[str, str]) -> dict[str, str]:
    """Asset id → a file name safe in any folder and unique under case folding, from each
    asset's processed file name (``tree.glb``), in id order so the result is deterministic."""
    pool = UniqueFiles()
    out: dict[str, str] = {}
    for asset_id in sorted(files):
        name = PurePosixPath(files[asset_id].replace("\\", "/")).name
        stem, dot, ext = name.rpartition(".")
        safe = safe_filename(stem, "." + ext.lower()) if dot else safe_filename(name)
        out[asset_id] = pool.name(asset_id, safe)
    return out


def path_problems(paths: Iterable[str]) -> list[str]:
    """Why a set of zip entry paths cannot be extracted everywhere: two paths equal under
    case folding, or a component that is a Windows device name. Empty when all is well."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(paths):
        folded = path.casefold()
        if folded in seen:
            problems.append(f"{path!r} and {seen[folded]!r} differ only in case")
        seen[folded] = path
        device = next((c for c in path.split("/") if is_device_name(c)), None)
        if device is not None:
            problems.append(f"{path!r}: {device!r} is a Windows device name")
    return problems


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


# What a double-quoted string literal (Godot, YAML) must escape to stay one token on one
# line: the quote, the backslash, control and line-breaking characters, the BOM and lone
# surrogates.
_QUOTED_UNSAFE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]')


def double_quoter(table: Mapping[str, str]) -> Callable[[str], str]:
    """A function writing a text as a double-quoted string literal (Godot, YAML): the
    format's own escapes from ``table``, U+FFFD for a lone surrogate (it cannot be written as
    UTF-8), and ``\\uXXXX`` for every other unsafe character."""
    def escape(match: re.Match[str]) -> str:
        ch = match.group()
        if ch in table:
            return table[ch]
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return "\ufffd"
        return f"\\u{ord(ch):04x}"

    def quote(text: str) -> str:
        return '"' + _QUOTED_UNSAFE.sub(escape, text) + '"'

    return quote
