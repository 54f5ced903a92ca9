"""The CPU pool: where every CPU-bound step runs, so the event loop stays free.

BullMQ's lock renewal and stall checks run on the same event loop as the jobs; a job that
hashed or compressed on the loop would let its lock expire and be taken by another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import importlib
import multiprocessing
import os
import resource
import select
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextvars import ContextVar
from typing import Any, TypeVar

from .errors import TransientError

T = TypeVar("T")


M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # glibc only


_LIBC = _load_libc()


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas for this process: each thread (libvips' in the pool, the
    I/O threads in the worker) would otherwise get an arena of its own, each keeping the
    memory freed in it. Measured: 4 MiB less in the worker, 10-15 MiB per pool process."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, MALLOC_ARENAS)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
FORKSERVER_PRELOAD = ["pacai_export._forkserver"]


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent exits (Linux; else a no-op)."""
    if _LIBC is not None and sys.platform.startswith("linux"):
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _exit_when_gone(pid: int) -> None:
    """Block until process ``pid`` has exited, then end this process at once."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, or before 5.3): poll each second
        with contextlib.suppress(ProcessLookupError):
            while True:
                os.kill(pid, 0)
                threading.Event().wait(1.0)
        os._exit(1)
    select.select([fd], [], [])  # a pidfd becomes readable when its process exits
    os._exit(1)


def guard_child(owner: int) -> None:
    """Make this pool process end with the worker ``owner``, however the worker dies: its
    direct parent is the forkserver (``PR_SET_PDEATHSIG`` covers that one), and a thread
    watches the worker itself (a pidfd, so a recycled pid cannot fool it)."""
    die_with_parent()
    threading.Thread(target=_exit_when_gone, args=(owner,), name="owner-watch",
                     daemon=True).start()


def limit_address_space(limit: int) -> None:
    """Cap this process's address space (RLIMIT_AS): an allocation beyond it raises
    MemoryError (numpy, Python) or fails in libvips, instead of the kernel's OOM killer
    taking the whole worker. 0 leaves the limit as it is."""
    if limit > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS,
                           (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _init_child(preload: tuple[str, ...], owner: int, memory_bytes: int = 0) -> None:
    guard_child(owner)
    # Ctrl-C reaches the whole process group; the parent decides how to drain, so the
    # children must not die half-way through a job on their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_malloc_arenas()
    limit_address_space(memory_bytes)
    for module in preload:  # imported once at start, not in the middle of a first job
        importlib.import_module(module)


def _call(fn: Callable[..., T], *args: object) -> T:
    """Run one task in a child, then hand the memory it freed back to the system: without
    it, each child keeps the high-water mark of every image and model it ever processed."""
    try:
        return fn(*args)
    finally:
        if _LIBC is not None:
            _LIBC.malloc_trim(0)


# The pool tasks started under the innermost ``CpuPool.settled()`` (and the asyncio tasks it
# starts, which copy the context), so it can wait for them.
_IN_FLIGHT: ContextVar[set[Future[Any]] | None] = ContextVar("pool_in_flight", default=None)


class CpuPool:
    """A process pool that is rebuilt when a child dies (e.g. killed for memory)."""

    def __init__(self, workers: int, preload: tuple[str, ...] = (),
                 memory_bytes: int = 0) -> None:
        self.workers = max(1, workers)
        self.preload = preload
        self.memory_bytes = memory_bytes  # each process's address-space cap; 0: none
        self._executor: ProcessPoolExecutor | None = None

    def _get(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: forking a process that runs an event loop and threads is unsafe.
            context = multiprocessing.get_context("forkserver")
            # Takes effect when the forkserver starts (once per process).
            context.set_forkserver_preload(FORKSERVER_PRELOAD)
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context,
                                                 initializer=_init_child,
                                                 initargs=(self.preload, os.getpid(),
                                                           self.memory_bytes))
        return self._executor

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` in a child process; ``fn`` and its arguments must pickle."""
        executor = self._get()
        try:
            future: Future[T] = executor.submit(_call, fn, *args)
            tracked = _IN_FLIGHT.get()
            if tracked is not None:
                tracked.add(future)
                future.add_done_callback(tracked.discard)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
            raise TransientError(f"a CPU pool process died: {exc}") from exc

    @contextlib.asynccontextmanager
    async def settled(self) -> AsyncIterator[None]:
        """On leaving, wait until every pool task started inside has finished, including
        those whose awaiting task was cancelled: cancelling the wait does not stop the
        process, which goes on writing into the job's folder."""
        futures: set[Future[Any]] = set()
        token = _IN_FLIGHT.set(futures)
        try:
            yield
        finally:
            _IN_FLIGHT.reset(token)
            running = [asyncio.wrap_future(f) for f in list(futures) if not f.done()]
            if running:
                await asyncio.wait(running)

    def terminate(self) -> None:
        """Kill the pool's processes now: their tasks end with ``BrokenProcessPool``. For a
        drain that ran out of time, where waiting for the work would outlast the platform's
        grace period."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        # ProcessPoolExecutor has no public way to stop running work before Python 3.14.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
