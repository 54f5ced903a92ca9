"""Imported only inside the multiprocessing forkserver (``CpuPool`` preloads it there).

The forkserver is a child of the worker process; if the worker is SIGKILLed (the OOM killer)
the forkserver and the pool processes forked from it would live on as orphans. This asks the
kernel to kill the forkserver when the worker dies; ``pool.guard_child`` does the same for
each pool process.
"""

from .pool import die_with_parent

die_with_parent()
