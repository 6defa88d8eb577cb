"""One provisioning run at a time per project, on every machine: a lock held in Azure DevOps.

The file lock (``lock``) keeps two runs on one machine apart; two machines share no file.
This lock is a Git ref in the project's repository, ``refs/mlops-template/provision-lock``,
created only when it is absent: a push whose ``oldObjectId`` is forty zeros creates the ref,
and a second one is refused (TF401028), because Azure Repos changes a ref only from the
value the request names ("Pushes - Create",
https://learn.microsoft.com/rest/api/azure/devops/git/pushes/create; "Refs - Update Refs",
https://learn.microsoft.com/rest/api/azure/devops/git/refs/update-refs, ``staleOldObjectId``).
The ref's commit says who holds it, from where and since when (its comment, JSON). A run
that finds it held waits, and says so; one held longer than ``STALE_AFTER``, or by a process
of this machine that no longer exists, belongs to a run that died, and is taken over (from
that very commit, so only one waiting run can). Release deletes the ref, again only if it
still is this run's. The ref is outside ``refs/heads``: no branch, no pipeline trigger, not
fetched by a clone.

The lock also carries what a run could not confirm: a create of a check, a policy or a run
(the service does not refuse a second one) whose answer was lost. Released with such
creates pending, the ref stays, marked free, naming them and when they were sent; the next
run, on any machine, looks each up again over ``SETTLE`` seconds from then before it sends
the create again (``once.create_once``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .azure_devops import AzureDevOps
from .bodies import NO_COMMIT
from .create_once import SETTLE
from .errors import AlreadyExistsError, AzureDevOpsError, TransientError

log = logging.getLogger(__name__)

LOCK_REF = "refs/mlops-template/provision-lock"
LOCK_FILE = "/provision-lock.json"
# A run holds the lock a few minutes; one held longer than this was left by a run that died.
STALE_AFTER = 20 * 60.0


def _when(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%Y-%m-%d %H:%M:%S} UTC"


def _died_here(info: dict[str, Any]) -> bool:
    """Whether the lock's holder ran on this machine and its process is gone (a crash, a
    kill): then a resume need not wait ``STALE_AFTER`` for it."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


class SharedLock:
    """Hold the project's lock in its repository (``with``); also the record of lost creates.

    ``holder``: who runs (for the message another run shows while it waits).
    """

    def __init__(
        self,
        devops: AzureDevOps,
        repository_id: str,
        holder: str,
        *,
        on_wait: Callable[[str], None] = lambda message: None,
        timeout: float = 900.0,
        poll: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.devops, self.repository_id, self.holder = devops, repository_id, holder
        self.on_wait, self.timeout, self.poll = on_wait, timeout, poll
        self._sleep, self._clock = sleep, clock
        self.run = uuid.uuid4().hex
        self._commit: str | None = None
        self._pending: dict[str, float] = {}
        self._guard = threading.Lock()

    def __enter__(self) -> SharedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- creates whose answer was lost (see once.create_once) ----------------------------

    def since(self, what: str) -> float | None:
        """When a create of ``what`` was sent without an answer (this run or an earlier)."""
        with self._guard:
            return self._pending.get(what)

    def sent(self, what: str) -> None:
        """A create of ``what`` is on its way; pending until ``done``."""
        with self._guard:
            self._pending[what] = self._clock()

    def done(self, what: str) -> None:
        """``what`` exists (or was refused): nothing to wait for."""
        with self._guard:
            self._pending.pop(what, None)

    # -- the ref ---------------------------------------------------------------------------

    def _content(self, state: str, pending: dict[str, float]) -> str:
        return json.dumps(
            {
                "lock": "mlops-template provision",
                "state": state,
                "holder": self.holder,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "run": self.run,
                "since": self._clock(),
                "pending": pending,
            },
            sort_keys=True,
        )

    def _read(self) -> tuple[str, dict[str, Any]] | None:
        """The lock's commit and what it says, or None when nobody holds it."""
        commit = self.devops.ref(self.repository_id, LOCK_REF)
        if commit is None:
            return None
        try:
            info = json.loads(self.devops.commit(self.repository_id, commit).get("comment") or "")
        except ValueError:
            info = {}
        return commit, info if isinstance(info, dict) else {}

    def _held(self, info: dict[str, Any]) -> bool:
        since = info.get("since")
        if info.get("state") != "held" or not isinstance(since, int | float):
            return False  # released with creates pending, or not ours to read: free
        if _died_here(info):
            self.on_wait(
                f"taking over the provision lock {info.get('holder', '?')} left at "
                f"{_when(since)}: that run (process {info['pid']} on this machine) has ended"
            )
            return False
        if self._clock() - since > STALE_AFTER:
            self.on_wait(
                f"taking over the provision lock {info.get('holder', '?')} left on "
                f"{info.get('host', '?')} at {_when(since)} (that run did not end normally)"
            )
            return False
        return True

    def acquire(self) -> None:
        """Take the lock; wait (and say so) while another run holds it."""
        deadline, announced = self._clock() + self.timeout, False
        current: tuple[str, dict[str, Any]] | None = None  # first try: assume it is absent
        while True:
            old, info = current or (NO_COMMIT, {})
            if current is not None and self._held(info):
                since = float(info["since"])
                if self._clock() > deadline:
                    raise TimeoutError(
                        f"another provision run ({info.get('holder', '?')} on "
                        f"{info.get('host', '?')}) has held the project's lock since "
                        f"{_when(since)}; run provision again once it is done (the lock is "
                        f"taken over {STALE_AFTER / 60:.0f} minutes after it was taken)"
                    )
                if not announced:
                    self.on_wait(
                        f"another provision run ({info.get('holder', '?')} on "
                        f"{info.get('host', '?')}, since {_when(since)}) is working on this "
                        "project; waiting for it"
                    )
                    announced = True
                self._sleep(self.poll)
                current = self._read()
                continue
            pending = info.get("pending") if isinstance(info.get("pending"), dict) else {}
            with self._guard:
                self._pending = {
                    str(what): float(at)
                    for what, at in pending.items()
                    if isinstance(at, int | float) and self._clock() - at < SETTLE
                }
                content = self._content("held", self._pending)
            if self._take(old, content):
                return
            current = self._read()

    def _take(self, old: str, content: str) -> bool:
        """Move the ref from ``old`` to a new commit of ours; whether this run holds it."""
        try:
            self._commit = self.devops.commit_file(
                self.repository_id, LOCK_REF, old, LOCK_FILE, content
            )
            return True
        except AlreadyExistsError:
            return False  # another run moved it first: read it again
        except TransientError as error:
            if error.answered:
                return False
            found = self._read()  # the answer was lost: did the ref move to our commit?
            if found is not None and found[1].get("run") == self.run:
                self._commit = found[0]
                return True
            return False

    def release(self) -> None:
        """Give the lock back (keeping what is pending for the next run)."""
        if self._commit is None:
            return
        with self._guard:
            pending = {w: at for w, at in self._pending.items() if self._clock() - at < SETTLE}
            content = self._content("free", pending)
        try:
            if pending:
                self.devops.commit_file(
                    self.repository_id, LOCK_REF, self._commit, LOCK_FILE, content
                )
            elif not self.devops.delete_ref(self.repository_id, LOCK_REF, self._commit):
                log.warning("the provision lock had been taken over; left as it is")
        except AzureDevOpsError as error:
            log.warning(
                "the provision lock was not released (%s); the next run takes it over after "
                "%.0f minutes",
                error,
                STALE_AFTER / 60,
            )
        finally:
            self._commit = None
