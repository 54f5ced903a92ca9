"""A progress bar on a terminal (stderr), silent elsewhere so pipes and logs stay clean."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class TerminalProgress:
    def __init__(self, title: str) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._title = title
        self._percent = 0

    def __enter__(self) -> TerminalProgress:
        if sys.stderr.isatty():
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                 transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self._title, total=100)
        return self

    async def report(self, percent: int, stage: str, **fields: Any) -> None:
        """The pipeline's ``Reporter``: percent plus the stage as the bar's label."""
        label = " ".join([self._title, stage, *(f"{k}={v}" for k, v in fields.items())])
        self._show(percent, label)

    async def update(self, percent: int) -> None:
        self._show(percent, None)

    def _show(self, percent: int, label: str | None) -> None:
        self._percent = max(self._percent, percent)
        if self._bar is not None and self._task is not None:
            if label is not None:
                self._bar.update(self._task, completed=self._percent, description=label)
            else:
                self._bar.update(self._task, completed=self._percent)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
