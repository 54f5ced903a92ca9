"""Deterministic identifiers derived from ``(seed, path)`` (contract §7).

Every id is a slice of ``sha256`` over a JSON array ``["pacai-id/v1", kind, seed, *parts]``:
JSON quoting makes the delimiting unambiguous (``("a/b", "c")`` and ``("a", "b/c")`` differ),
and the ``kind`` keeps a Unity GUID and a Godot uid of the same path independent.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from json.encoder import encode_basestring

_VERSION = "pacai-id/v1"

# Godot's ResourceUID::id_to_text alphabet: 'a'..'y' then '0'..'8' (base 34), see
# godotengine/godot core/io/resource_uid.cpp (uuid_characters / char_count + '9' - '0').
_GODOT_ALPHABET = "abcdefghijklmnopqrstuvwxy012345678"
_INT63 = (1 << 63) - 1
_FILE_ID_RANGE = _INT63 - (1 << 21)  # Unity fileIDs: 2**20 + (hash mod this)
_FILE_ID_BASE = 1 << 20


def _digest(kind: str, seed: str, *parts: str) -> bytes:
    # The bytes of json.dumps([...], ensure_ascii=False, separators=(",", ":")) for a list
    # of strings, without building an encoder per call (a big scene asks for ~10 ids a node).
    text = "[" + ",".join(map(encode_basestring, (_VERSION, kind, seed, *parts))) + "]"
    return hashlib.sha256(text.encode("utf-8")).digest()


@functools.lru_cache(maxsize=4096)  # a scene asks for its few materials' guids once a node
def unity_guid(seed: str, path: str) -> str:
    """A Unity asset GUID (32 lowercase hex digits) for the asset at ``path``."""
    return _digest("unity-guid", seed, path)[:16].hex()


def unity_file_id(seed: str, scene_path: str, key: str) -> int:
    """A Unity local fileID: a positive int64 unique per (seed, scene path, object key).

    Kept above 2**20 so it can never meet the small ids Unity reserves for a scene's
    settings objects (1..4) nor the SceneRoots id (2**63 - 1).
    """
    value = int.from_bytes(_digest("unity-fileid", seed, scene_path, key)[:8], "big")
    return (value % _FILE_ID_RANGE) + _FILE_ID_BASE


class UnityFileIds:
    """``unity_file_id`` for one scene, faster: the hash state of the JSON prefix shared by
    every id of the scene (``["pacai-id/v1","unity-fileid",seed,scene_path,``) is computed
    once and copied per key — the same bytes hashed, so the same ids, in half the time (a big
    scene asks for four ids a node)."""

    def __init__(self, seed: str, scene_path: str) -> None:
        prefix = ",".join(map(encode_basestring, (_VERSION, "unity-fileid", seed, scene_path)))
        self._prefix = hashlib.sha256(("[" + prefix + ",").encode("utf-8"))

    def __call__(self, key: str) -> int:
        h = self._prefix.copy()
        h.update((encode_basestring(key) + "]").encode("utf-8"))
        value = int.from_bytes(h.digest()[:8], "big")
        return (value % _FILE_ID_RANGE) + _FILE_ID_BASE

    def leaf(self, key: str) -> tuple[int, int, int, int]:
        """``[self(p + key) for p in ("t:", "g:", "mf:", "mr:")]``, unrolled, as a tuple: the
        four ids of a plain Unity prop, asked at once. ``key`` is escaped once: for prefixes
        that JSON keeps as they are (ASCII letters and ``:``), ``encode_basestring(p + key)``
        is ``'"' + p`` followed by ``encode_basestring(key)`` without its opening quote."""
        tail = (encode_basestring(key)[1:] + "]").encode("utf-8")
        copy, first = self._prefix.copy, _FIRST_U64
        t, g, mf, mr = copy(), copy(), copy(), copy()
        t.update(b'"t:' + tail)
        g.update(b'"g:' + tail)
        mf.update(b'"mf:' + tail)
        mr.update(b'"mr:' + tail)
        return (first(t.digest())[0] % _FILE_ID_RANGE + _FILE_ID_BASE,
                first(g.digest())[0] % _FILE_ID_RANGE + _FILE_ID_BASE,
                first(mf.digest())[0] % _FILE_ID_RANGE + _FILE_ID_BASE,
                first(mr.digest())[0] % _FILE_ID_RANGE + _FILE_ID_BASE)


# The first 8 bytes of a digest as a big-endian integer, without slicing the digest:
# the same value as ``int.from_bytes(digest[:8], "big")``.
_FIRST_U64 = struct.Struct(">Q").unpack_from


def godot_uid_int(seed: str, path: str) -> int:
    """The 63-bit integer behind a Godot ``uid://`` (never 0, never negative)."""
    value = int.from_bytes(_digest("godot-uid", seed, path)[:8], "big") & _INT63
    return value or 1


def godot_uid_text(value: int) -> str:
    """Godot's text form of a uid, as ``ResourceUID::id_to_text`` writes it."""
    if value < 0:
        raise ValueError("Godot uids are non-negative")
    chars: list[str] = []
    while True:
        value, digit = divmod(value, len(_GODOT_ALPHABET))
        chars.append(_GODOT_ALPHABET[digit])
        if value == 0:
            break
    return "uid://" + "".join(reversed(chars))


def godot_uid(seed: str, path: str) -> str:
    """A Godot ``uid://…`` for the resource at ``res://`` + ``path``."""
    return godot_uid_text(godot_uid_int(seed, path))


def ue_guid(seed: str, path: str) -> str:
    """An Unreal ``FGuid`` in its 32-digit form (uppercase hex, ``EGuidFormats::Digits``)."""
    return _digest("ue-guid", seed, path)[:16].hex().upper()
