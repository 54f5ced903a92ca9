"""JSON read under the §13 bounds: nesting depth and number magnitudes.

Manifests, job data and glTF JSON chunks come from users. Nothing after the decoder —
pydantic, pickling to the CPU pool, ``json.dumps``, an engine writer — may meet a structure
deep enough for ``RecursionError`` or a number that is not finite, so both are refused here,
with the JSON path of the offending value.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from .errors import InvalidInput

MAX_JSON_INTEGER = 2**53  # beyond this, JSON readers in other languages lose precision


def load_json(text: bytes, what: str, max_depth: int,
              error: type[InvalidInput] = InvalidInput) -> Any:
    """``text`` decoded, refusing nesting deeper than ``max_depth`` and numbers that are not
    finite or too long, with ``error`` naming ``what``."""

    def refuse_number(literal: str) -> NoReturn:
        raise error(f"{what}: the number {literal[:40]} is out of range")

    def finite(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            refuse_number(literal)
        return value

    try:
        value = json.loads(text, parse_float=finite, parse_constant=refuse_number)
    except RecursionError:
        # The C decoder stops at the interpreter's recursion limit, long before the stack.
        raise error(f"{what}: nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError as exc:
        raise error(f"{what}: not valid UTF-8 JSON ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what}: not valid JSON: {exc}") from None
    except ValueError:  # an integer literal longer than int's digit limit
        raise error(f"{what}: a number is out of range") from None
    check_json(value, what, max_depth, error)
    return value


def check_json(value: Any, root: str, max_depth: int,
               error: type[InvalidInput] = InvalidInput) -> None:
    """Refuse containers nested deeper than ``max_depth`` and numbers that are not finite or
    beyond ±2**53, naming the JSON path. Iterative: safe on any depth."""
    # Each container's (parent, key), so a path is only spelled out for an error.
    trail: list[tuple[int, object]] = [(-1, root)]
    _check_scalar(value, trail, 0, error)
    stack: list[tuple[Any, int, int]] = [(value, 0, 0)] if isinstance(value, dict | list) else []
    while stack:
        item, depth, at = stack.pop()
        if depth >= max_depth:
            raise error(f"{_short(_path(trail, at))}: nested deeper than {max_depth} levels")
        for key, child in (item.items() if isinstance(item, dict) else enumerate(item)):
            if isinstance(child, dict | list):
                trail.append((at, key))
                stack.append((child, depth + 1, len(trail) - 1))
            elif isinstance(child, float | int):
                trail.append((at, key))
                _check_scalar(child, trail, len(trail) - 1, error)
                trail.pop()


def _check_scalar(value: Any, trail: list[tuple[int, object]], at: int,
                  error: type[InvalidInput]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{_path(trail, at)}: {value} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_JSON_INTEGER:
        raise error(f"{_path(trail, at)}: the number is out of range (beyond ±2**53)")


def _path(trail: list[tuple[int, object]], at: int) -> str:
    keys: list[object] = []
    while at >= 0:
        at, key = trail[at]
        keys.append(key)
    root, *rest = reversed(keys)
    return str(root) + "".join(f"[{k}]" if isinstance(k, int) else f".{str(k)[:64]}"
                               for k in rest)


def _short(path: str) -> str:
    return path if len(path) <= 160 else f"{path[:150]}…"
