"""Facts about the process a function runs in (picklable helpers for CPU-pool tests)."""

from __future__ import annotations


def vm_size() -> int:
    """This process's address-space size in bytes (``VmSize``)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")
