"""One provisioning run at a time per Azure DevOps project, on this machine.

Two runs at once would each look up "no Approval check yet" and each create one (the
service does not refuse the second). An advisory lock on a file named after the
organization and project, in the user's cache folder, makes the second run wait
until the first has finished; it then looks up what the first created and writes
nothing. The operating system releases the lock when a run ends, however it ends.

This holds for runs on one machine under one user. Two machines (or users) share no
file: runs that change something also hold the project's lock in Azure DevOps
(``shared_lock``), which this one spares the requests when both runs are here.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ANNOUNCE_AFTER = 1.0


def lock_path(organization: str, project: str) -> Path:
    """The lock file of one organization's project (names compared case-insensitively)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256(f"{organization}/{project}".lower().encode()).hexdigest()[:16]
    return Path(base) / "mlops-template" / "locks" / f"{digest}.lock"


def _try_lock(handle: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@contextmanager
def project_lock(
    organization: str,
    project: str,
    on_wait: Callable[[str], None] = lambda message: None,
    timeout: float = 600.0,
) -> Iterator[None]:
    """Hold the project's lock; wait (and say so) while another run holds it."""
    path = lock_path(organization, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        start, announced = time.monotonic(), False
        while not _try_lock(handle):
            waited = time.monotonic() - start
            if waited > ANNOUNCE_AFTER and not announced:
                on_wait(f"another provision run is working on {project!r}; waiting for it")
                announced = True
            if waited > timeout:
                raise TimeoutError(
                    f"another provision run has held {path} for {timeout:.0f} s; if none is "
                    "running, delete that file and run again"
                )
            time.sleep(0.1)
        yield
    finally:
        os.close(handle)  # releases the lock
