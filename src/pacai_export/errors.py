"""The one exception tree of the export worker.

    ExportError                      root: everything the worker raises on purpose
    ├── InvalidInput                 the job or its manifest is wrong: fail once, never retry
    │   ├── InvalidJob               job data breaks §2 (field and rule in the message)
    │   ├── InvalidManifest          manifest breaks §10 (JSON path in the message)
    │   ├── ManifestNotFound         no manifest for the project (§10.4)
    │   ├── SourceNotFound           a fetched URL answered 404 or 410 (``status`` says which)
    │   └── LimitExceeded            a §13 limit was hit
    ├── TransientError               worth retrying: network, storage, Redis
    │   ├── StorageError             a storage backend failed
    │   └── JobStalled               BullMQ failed the job: its workers kept stopping mid-job
    ├── ConfigError                  bad settings; the CLI exits 2 with the message
    ├── VerificationFailed           a bundle does not match its bundle.json or signature
    └── PreviewUnavailable           ``preview`` lacks Chromium/Playwright, or the bundle a scene

Every ``ExportError`` is built as ``Class(message, errors=..., status=...)``, both keywords
optional, and carries:

* ``errors``: JSON path → message, one entry per field to blame (``InvalidJob`` and
  ``InvalidManifest`` from a pydantic validation; empty when no single field is). The API
  answers them as its ``errors`` list instead of parsing the message.
* ``status``: the HTTP status an upstream server answered (a fetched asset or manifest), or
  None when no server was involved.

Where an error happened (``assets[2] 'rock' (rock.glb): …``) is added to its message once,
at the boundary that knows it, by ``assets.location.located``: a copy that keeps the class
and these attributes.

Anything else escaping a job is a bug: it is retried like a transient error (the job may
still succeed on another worker) and logged with its traceback.

The mapping to BullMQ's ``UnrecoverableError`` happens in one place: ``processor.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pydantic


class ExportError(Exception):
    """Root of every error the export worker raises on purpose."""

    code = "export_error"

    def __init__(self, message: str = "", *, errors: Mapping[str, str] | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.errors: dict[str, str] = dict(errors or {})
        self.status = status


class InvalidInput(ExportError):
    """The input can never succeed: the job fails on its first attempt."""

    code = "invalid_input"


class InvalidJob(InvalidInput):
    """The job data breaks §2 (``ExportJob.parse``); ``errors`` names each field."""

    code = "invalid_job"


class InvalidManifest(InvalidInput):
    """The manifest breaks §10, or its file cannot be read; ``errors`` names each JSON path
    when a validation found it."""

    code = "invalid_manifest"


class ManifestNotFound(InvalidInput):
    """No manifest for the project: none inline, and none where the settings look (§10.4)."""

    code = "manifest_not_found"


class SourceNotFound(InvalidInput):
    """A URL the export fetches answered 404 or 410: retrying will not make it appear."""

    code = "invalid_input"  # the code callbacks have always carried for it


class LimitExceeded(InvalidInput):
    """An input passes a §13 limit (bytes, pixels, counts, memory); the message names it."""

    code = "limit_exceeded"


class TransientError(ExportError):
    """A failure that another attempt may not meet (network, storage, Redis)."""

    code = "transient"


class StorageError(TransientError):
    """A storage backend could not check, read or write a key."""

    code = "storage_error"


class JobStalled(TransientError):
    """The job stalled (its worker died or stopped renewing its lock) more than
    ``MAX_STALLED_COUNT`` times, and BullMQ failed it without another attempt."""

    code = "stalled"


class ConfigError(ExportError):
    """A setting is missing or malformed; the message names the variable."""

    code = "config_error"


def error_code(exc: BaseException) -> str:
    """The stable machine-readable code of an error, for callbacks and metrics."""
    if isinstance(exc, ExportError):
        return exc.code
    return "internal_error"


class VerificationFailed(ExportError):
    """``verify`` found problems; ``problems`` lists each one."""

    code = "verification_failed"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class PreviewUnavailable(ExportError):
    """``pacai-export preview`` cannot draw: Chromium or Playwright is missing, or the bundle
    has no scene ``.glb``; the message says which and what to do."""

    code = "preview_unavailable"


def validation_errors(exc: pydantic.ValidationError, root: str = "") -> list[tuple[str, str]]:
    """Pydantic's errors as (JSON path in ``a.b[1]`` style, message) pairs, in its order."""
    found = []
    for err in exc.errors():
        path = root
        for loc in err["loc"]:
            path += f"[{loc}]" if isinstance(loc, int) else (f".{loc}" if path else str(loc))
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "is required"
        elif err["type"] == "extra_forbidden":
            message = "is not a known field"
        # Engine validators report the offending index in the message itself.
        if message.startswith("[") and "]: " in message:
            index, message = message[1:].split("]: ", 1)
            path += f"[{index}]"
        found.append((path or "$", message))
    return found


def field_errors(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """(path, message) pairs as the ``errors`` mapping; two messages on one path are joined
    with ``"; "``."""
    errors: dict[str, str] = {}
    for path, message in pairs:
        errors[path] = f"{errors[path]}; {message}" if path in errors else message
    return errors


def format_errors(pairs: list[tuple[str, str]]) -> str:
    """(path, message) pairs as one message: ``path: message; path: message``."""
    return "; ".join(f"{path}: {message}" for path, message in pairs)
