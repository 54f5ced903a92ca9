"""Where an error happened, said once at the boundary that knows it (as httpx's
``request_context`` attaches the request to an error raised below it).

The functions below a boundary raise errors that say *what* is wrong ("not found under the
project's asset root"); the boundary (one asset in ``gather``, one reference of a model, the
manifest fetch in ``pipeline``) prefixes *where* ("assets[2] 'rock' (rock.glb): …"). The
error keeps its class, its attributes (``status``, ``errors``…), its cause and its traceback,
whatever its constructor takes: the copy is made without calling it. A copy, not the error
itself, because one error may reach several boundaries (a file shared by several models is
fetched once, and its failure is awaited by each of them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..errors import ExportError


@contextlib.contextmanager
def located(where: str) -> Iterator[None]:
    """Errors of the project's tree raised inside carry ``where`` before their message."""
    try:
        yield
    except ExportError as exc:
        raise at(exc, where) from exc.__cause__


def at(exc: ExportError, where: str) -> ExportError:
    """A copy of ``exc`` (same class and attributes) whose message starts with ``where``."""
    copy = type(exc).__new__(type(exc), f"{where}: {exc}")
    copy.__dict__.update(exc.__dict__)
    copy.__suppress_context__ = True
    return copy.with_traceback(exc.__traceback__)
