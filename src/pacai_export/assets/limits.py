"""Bounds on hostile assets, checked before the work they guard (§13); JSON's own bounds
are in ``jsonlimits``.

- integers a glTF file gives as counts, offsets and lengths: whole numbers in range, so no
  ``int(1e400)`` and no allocation sized by a float;
- ``s3://`` asset URIs: only the buckets and prefixes the operator allows;
- ``DecodeLimits``: the limits a CPU-pool process applies while decoding images and models.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput, LimitExceeded
from ..jsonlimits import MAX_JSON_INTEGER
from ..settings import Limits

S3_KEY_SEGMENT_RE = re.compile(r"^[^\x00-\x1f\x7f]+$")


@dataclasses.dataclass(frozen=True)
class DecodeLimits:
    """What a pool process may decode: image sides and rows, JSON nesting."""

    image_dimension: int = Limits.image_dimension
    image_row_bytes: int = Limits.image_row_bytes
    json_depth: int = Limits.json_depth

    @classmethod
    def of(cls, limits: Limits) -> DecodeLimits:
        return cls(image_dimension=limits.image_dimension,
                   image_row_bytes=limits.image_row_bytes, json_depth=limits.json_depth)


def whole_number(value: Any, field: str, where: str, lo: int = 0,
                 hi: int = MAX_JSON_INTEGER) -> int:
    """``value`` as an int in ``[lo, hi]``; a float, bool or string is refused, not cast."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where}: {field} must be a whole number, got {_show(value)}")
    if not lo <= value <= hi:
        raise InvalidInput(f"{where}: {field} {value} is out of range ({lo} to {hi})")
    return value


def check_zero_filled(accessors: list[dict[str, Any]],
                      element_bytes: Callable[[dict[str, Any]], int],
                      compressed: frozenset[int] = frozenset()) -> None:
    """Bound the accessors without a ``bufferView``: they decode to zeros (plus any sparse
    values), so nothing in the file pays for their size: 276 bytes can ask for 30 million
    vertices. Such an accessor may decode to no more bytes than the largest accessor whose
    data the file does hold (a morph target without displacement is its mesh's positions'
    size), or than its own sparse values. Counts and types are checked by now.
    ``compressed``: accessors a Draco primitive fills, which its decoder checks instead."""
    def size(acc: dict[str, Any], count: int) -> int:
        return count * element_bytes(acc)

    backed = max((size(a, int(a["count"])) for a in accessors if "bufferView" in a), default=0)
    for i, acc in enumerate(accessors):
        if "bufferView" in acc or i in compressed:
            continue
        sparse = acc.get("sparse")
        bound = max(backed, size(acc, int(sparse["count"])) if isinstance(sparse, dict) else 0)
        if size(acc, int(acc["count"])) > bound:
            raise LimitExceeded(f"accessors[{i}] has no bufferView and a count of "
                                f"{acc['count']} ({size(acc, int(acc['count']))} bytes), more "
                                f"than the {bound} bytes of the file's largest accessor")


def simplifier_bytes(vertices: int, indices: int) -> int:
    """A generous bound on what meshoptimizer's simplifier allocates: per vertex its
    position copy, quadric, remap tables and flags (about 100 bytes), per index its
    adjacency and collapse entries (about 20)."""
    return 128 * vertices + 32 * indices


def ensure_headroom(nbytes: int) -> None:
    """Raise MemoryError now if ``nbytes`` more would not fit this process's address space.

    Native code may abort the process on a failed allocation (C++ ``std::bad_alloc`` in
    meshoptimizer ends in ``terminate``) where Python and numpy raise MemoryError. Reserving
    the space first, untouched (``np.empty`` maps pages it never writes), turns that abort
    into a MemoryError the caller reports as ``limit_exceeded``; the space is unmapped
    again at once, for the native code to take."""
    import numpy as np

    np.empty(nbytes, np.uint8)


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float) else type(value).__name__
    return text[:40]


# --- s3:// assets -----------------------------------------------------------------------------


def default_s3_allow(storage_url: str | None) -> tuple[str, ...]:
    """The worker's own asset prefix: ``<bucket>/<prefix>/_assets/{project_id}/`` of an
    ``s3://`` STORAGE_URL (project ids cannot start with ``_``, so no bundle lives there),
    and nothing with local storage."""
    if not storage_url or not storage_url.startswith("s3://"):
        return ()
    bucket, _, prefix = storage_url[5:].partition("/")
    prefix = prefix.strip("/")
    return (f"{bucket}/{prefix + '/' if prefix else ''}_assets/{{project_id}}/",)


def s3_refusal(bucket: str, key: str, allow: tuple[str, ...], project_id: str) -> str | None:
    """Why ``s3://bucket/key`` may not be read, or None when an ``allow`` entry covers it.

    An entry is ``bucket`` (the whole bucket) or ``bucket/prefix``; a prefix that does not
    end with ``/`` still matches whole path segments only (``a/b`` covers ``a/b/c``, not
    ``a/bc``). ``{project_id}`` in an entry stands for the job's project."""
    segments = key.split("/")
    if not key or any(s in ("", ".", "..") or not S3_KEY_SEGMENT_RE.match(s)
                      for s in segments):
        return "the key has empty, '.', '..' or control-character segments"
    for entry in allow:
        allowed_bucket, _, prefix = entry.replace("{project_id}", project_id).partition("/")
        if allowed_bucket != bucket:
            continue
        prefix = prefix.strip("/")
        if not prefix or key.startswith(prefix + "/"):
            return None
    if not allow:
        return "s3:// assets are not allowed here (ASSET_S3_ALLOW)"
    return "the bucket and prefix are not in ASSET_S3_ALLOW"
