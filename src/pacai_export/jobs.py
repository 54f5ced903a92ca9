"""The job data a producer enqueues (§2) and the result a worker returns (§3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, StrictBool, field_validator

from .engines import ENGINES
from .errors import InvalidJob, field_errors, format_errors, validation_errors

# ENGINES, the writers' registry, is the canonical order: bundle folders, results, hashes.
ENGINE_CHOICES = ", ".join(reversed(ENGINES))  # "ue5, unity, godot": the contract's order
QUALITIES = ("low", "medium", "high")
PROJECT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

Engine = str  # one of ENGINES (ExportJob._engines checks it)
Quality = Literal["low", "medium", "high"]


class ExportJob(BaseModel):
    """One export request: exactly the seed's interface; extra keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    project_id: str
    engines: tuple[Engine, ...]
    include_assets: StrictBool
    quality: Quality
    seed: str | None = None
    manifest: dict[str, Any] | None = None

    @field_validator("project_id", mode="before")
    @classmethod
    def _project_id(cls, value: object) -> object:
        if isinstance(value, str) and not PROJECT_ID_RE.fullmatch(value):  # "$" allows "\n"
            raise ValueError(f"{value!r} must match {PROJECT_ID_RE.pattern}")
        return value

    @field_validator("engines", mode="before")
    @classmethod
    def _engines(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return value
        if not value:
            raise ValueError(f"must name at least one of {ENGINE_CHOICES}")
        for index, engine in enumerate(value):
            if engine not in ENGINES:
                raise ValueError(f"[{index}]: {engine!r} is not one of {ENGINE_CHOICES}")
        # Duplicates removed, canonical order: the same set always gives the same bundle.
        return tuple(e for e in ENGINES if e in value)

    @field_validator("quality", mode="before")
    @classmethod
    def _quality(cls, value: object) -> object:
        if isinstance(value, str) and value not in QUALITIES:
            raise ValueError(f"{value!r} is not one of {', '.join(QUALITIES)}")
        return value

    @property
    def effective_seed(self) -> str:
        return self.seed if self.seed is not None else self.project_id

    @classmethod
    def parse(cls, data: object) -> tuple[ExportJob, list[str]]:
        """Validate raw job data; return the job and the names of ignored extra keys.

        Raises ``InvalidJob`` whose message names every bad field and its rule.
        """
        if not isinstance(data, Mapping):
            raise InvalidJob(f"job data must be a JSON object, got {type(data).__name__}")
        try:
            job = cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            pairs = validation_errors(exc)
            raise InvalidJob(format_errors(pairs), errors=field_errors(pairs)) from None
        extras = sorted(str(k) for k in data if k not in cls.model_fields)
        return job, extras


class ExportResult(BaseModel):
    """The job's ``returnvalue`` (§3)."""

    model_config = ConfigDict(frozen=True)

    status: Literal["completed"] = "completed"
    project_id: str
    job_id: str
    engines: list[str]
    quality: str
    include_assets: bool
    download_url: str
    key: str
    bytes: int
    sha256: str
    files: int
    signed: bool
    duration_ms: int
    reused: bool = False
