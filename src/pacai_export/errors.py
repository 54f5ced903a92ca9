"""The one exception tree of the export worker.

    ExportError                      root: everything the worker raises on purpose
    ├── InvalidInput                 the job or its manifest is wrong: fail once, never retry
    │   ├── InvalidJob               job data breaks §2 (field and rule in the message)
    │   ├── InvalidManifest          manifest breaks §10 (JSON path in the message)
    │   ├── ManifestNotFound         no manifest for the project (§10.4)
    │   └── LimitExceeded            a §13 limit was hit
    ├── TransientError               worth retrying: network, storage, Redis
    │   ├── StorageError             a storage backend failed
    │   └── JobStalled               BullMQ failed the job: its workers kept stopping mid-job
    ├── ConfigError                  bad settings; the CLI exits 2 with the message
    ├── VerificationFailed           a bundle does not match its bundle.json or signature
    └── PreviewUnavailable           ``preview`` lacks Chromium/Playwright, or the bundle a scene

Anything else escaping a job is a bug: it is retried like a transient error (the job may
still succeed on another worker) and logged with its traceback.

The mapping to BullMQ's ``UnrecoverableError`` happens in one place: ``worker.py``.
"""

from __future__ import annotations


class ExportError(Exception):
    """Root of every error the export worker raises on purpose."""

    code = "export_error"


class InvalidInput(ExportError):
    """The input can never succeed: the job fails on its first attempt."""

    code = "invalid_input"


class InvalidJob(InvalidInput):
    code = "invalid_job"


class InvalidManifest(InvalidInput):
    code = "invalid_manifest"


class ManifestNotFound(InvalidInput):
    code = "manifest_not_found"


class LimitExceeded(InvalidInput):
    code = "limit_exceeded"


class TransientError(ExportError):
    """A failure that another attempt may not meet (network, storage, Redis)."""

    code = "transient"


class StorageError(TransientError):
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
