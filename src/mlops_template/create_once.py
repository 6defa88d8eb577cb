"""Create a resource once, whatever the network does.

Azure DevOps refuses a second project, repository, pipeline, environment, variable
group or service connection of the same name (409 or an "...AlreadyExists..." typeKey),
so for those a create whose answer was lost may be looked up and, if still missing,
re-sent: a duplicate would be refused. It does not refuse a second identical Approval
check ("Check Configurations - Add",
https://learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/check-configurations/add)
or a second branch policy of one type ("Configurations - Create",
https://learn.microsoft.com/rest/api/azure/devops/policy/configurations/create). For
those, a create whose answer was lost (timeout, dropped connection, 5xx: it may have
been carried out) is never re-sent in the same run: it is looked up again, a few times,
because a lookup right after a create may not see it yet; if it still does not show,
the run stops and says so, and the next run's lookup decides. A 429 is a refusal,
waited out by the client; then the resource is looked up and, if missing, re-sent.

Such a create stays ``pending`` (``shared_lock.SharedLock``, kept with the project's lock)
until it shows up. A later run, on any machine, that does not find it looks it up again,
more than once, until ``SETTLE`` seconds after it was sent (the service may carry a create
out, or list it, that late) before it sends it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from .errors import AlreadyExistsError, AzureDevOpsError, TooLongThrottledError, TransientError

log = logging.getLogger(__name__)

# Waits between the lookups after a lost answer (a lookup may lag a create).
RELOOKUP_DELAYS = (0.5, 1.0, 2.0, 4.0)
# How long after a lost create the service may still carry it out (or first list it).
SETTLE = 60.0


class Pending(Protocol):
    """Creates sent without an answer, kept across runs (``shared_lock.SharedLock``)."""

    def since(self, what: str) -> float | None: ...
    def sent(self, what: str) -> None: ...
    def done(self, what: str) -> None: ...


class NotConfirmedError(AzureDevOpsError):
    """A create's answer was lost and the resource does not show up (yet)."""


def create_once(
    what: str,
    lookup: Callable[[], Any],
    create: Callable[[], Any],
    *,
    refused_twice: bool,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    pending: Pending | None = None,
) -> Any:
    """Create ``what`` once; return it (as created, or as found by ``lookup``).

    ``refused_twice``: whether Azure DevOps refuses a second one of the same name.
    ``pending``: where creates whose answer was lost are kept (for those it does not refuse).
    """
    if pending is None or refused_twice:
        return _create_once(what, lookup, create, refused_twice, attempts, sleep)
    found = _settle(what, lookup, pending, sleep)
    if found is None:
        pending.sent(what)
        try:
            found = _create_once(what, lookup, create, refused_twice, attempts, sleep)
        except (NotConfirmedError, TransientError) as error:
            if isinstance(error, NotConfirmedError) or not error.answered:
                raise  # it may still be carried out: stays pending
            pending.done(what)
            raise
        except AzureDevOpsError:
            pending.done(what)  # refused: nothing to wait for
            raise
    pending.done(what)
    return found


def _settle(
    what: str, lookup: Callable[[], Any], pending: Pending, sleep: Callable[[float], None]
) -> Any:
    """After a create of ``what`` whose answer was lost: look it up until ``SETTLE`` s after."""
    since = pending.since(what)
    if since is None:
        return None
    delay = RELOOKUP_DELAYS[0]
    while (found := lookup()) is None:
        remaining = since + SETTLE - time.time()
        if remaining <= 0:
            log.info("%s: not there %.0f s after its lost create; sending it", what, SETTLE)
            return None
        sleep(min(delay, remaining))
        delay = min(delay * 2, 8.0)
    return found


def _create_once(
    what: str,
    lookup: Callable[[], Any],
    create: Callable[[], Any],
    refused_twice: bool,
    attempts: int,
    sleep: Callable[[float], None],
) -> Any:
    for attempt in range(attempts):
        try:
            return create()
        except AlreadyExistsError:
            pass
        except TransientError as error:
            log.info("create of %s failed (%s); looking it up first", what, error)
            if not error.answered and not refused_twice:
                return _confirm(what, lookup, sleep)
            if attempt == attempts - 1:
                raise
        except TooLongThrottledError:
            raise
        except AzureDevOpsError as error:
            raise AzureDevOpsError(
                f"Azure DevOps refused to create {what}: {error.service_message}",
                status=error.status,
                type_key=error.type_key,
                activity_id=error.activity_id,
                method=error.method,
                url=error.url,
            ) from None
        found = lookup()
        if found is not None:
            return found
    raise AzureDevOpsError(
        f"Azure DevOps refused to create {what} {attempts} times, and the lookup does not "
        "find it; run provision again"
    )


def _confirm(what: str, lookup: Callable[[], Any], sleep: Callable[[float], None]) -> Any:
    """Look a possibly created resource up until it shows; never re-send its create."""
    for delay in (0.0, *RELOOKUP_DELAYS):
        sleep(delay)
        found = lookup()
        if found is not None:
            return found
    raise NotConfirmedError(
        f"the answer to the create of {what} was lost, and it does not show up yet; it was "
        "not sent again, so that it cannot exist twice. Run provision again in a minute: "
        "it looks it up first"
    )
