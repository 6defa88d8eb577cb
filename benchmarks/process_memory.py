"""Memory figures of the current process, for the workers that run in a baked environment."""

from __future__ import annotations

from pathlib import Path


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc (VmRSS now, VmHWM the peak).

    VmHWM belongs to the address space, so unlike ru_maxrss it does not carry
    the parent's peak across fork and exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")
