"""The CPU pool: where every CPU-bound step runs, so the event loop stays free.

BullMQ's lock renewal and stall checks run on the same event loop as the jobs; a job that
hashed or compressed on the loop would let its lock expire and be taken by another worker.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from .errors import TransientError

T = TypeVar("T")


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; the parent decides how to drain, so the
    # children must not die half-way through a job on their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class CpuPool:
    """A process pool that is rebuilt when a child dies (e.g. killed for memory)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._executor: ProcessPoolExecutor | None = None

    def _get(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: forking a process that runs an event loop and threads is unsafe.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context,
                                                 initializer=_ignore_sigint)
        return self._executor

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` in a child process; ``fn`` and its arguments must pickle."""
        loop = asyncio.get_running_loop()
        executor = self._get()
        try:
            return await loop.run_in_executor(executor, fn, *args)
        except BrokenProcessPool as exc:
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
            raise TransientError(f"a CPU pool process died: {exc}") from exc

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
