"""JSON read under the §13 bounds: nesting depth and number magnitudes.

Manifests, job data and glTF JSON chunks come from users. Nothing after the decoder —
pydantic, pickling to the CPU pool, ``json.dumps``, an engine writer — may meet a structure
deep enough for ``RecursionError`` or a number that is not finite, so both are refused here,
with the JSON path of the offending value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
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
    stack: list[tuple[Any, int, Callable[[], str]]] = [(value, 0, lambda: root)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise error(f"{_short(path())}: nested deeper than {max_depth} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(child, dict | list | float | int):
                    stack.append((child, depth + 1, _child_path(path, key)))
        elif isinstance(item, float) and not math.isfinite(item):
            raise error(f"{path()}: {item} is not a finite number")
        elif isinstance(item, int) and not isinstance(item, bool) and \
                abs(item) > MAX_JSON_INTEGER:
            raise error(f"{path()}: the number is out of range (beyond ±2**53)")


def _child_path(parent: Callable[[], str], key: object) -> Callable[[], str]:
    # Built lazily: a path string per value would cost more than the walk itself.
    if isinstance(key, int):
        return lambda: f"{parent()}[{key}]"
    return lambda: f"{parent()}.{str(key)[:64]}"


def _short(path: str) -> str:
    return path if len(path) <= 160 else f"{path[:150]}…"
