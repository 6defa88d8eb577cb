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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .errors import AlreadyExistsError, AzureDevOpsError, TooLongThrottledError, TransientError

log = logging.getLogger(__name__)

# Waits between the lookups after a lost answer (a lookup may lag a create).
RELOOKUP_DELAYS = (0.5, 1.0, 2.0, 4.0)


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
) -> Any:
    """Create ``what`` once; return it (as created, or as found by ``lookup``).

    ``refused_twice``: whether Azure DevOps refuses a second one of the same name.
    """
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
