"""The pace of one client's requests: backoff, ``Retry-After``, and waits told or refused.

A wait a service asks for (``Retry-After``, which Azure DevOps also sends on a 200 to slow
the next call: "Rate and usage limits",
https://learn.microsoft.com/azure/devops/integrate/concepts/rate-limits) holds back every
request of the client, from every thread, until it has passed. A wait longer than
``ANNOUNCE_AFTER`` is told (``on_wait``); one longer than ``max_wait`` is refused with when
to run again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .errors import TooLongThrottledError

# Waits longer than this are announced (``on_wait``), never silent.
ANNOUNCE_AFTER = 5.0
# The longest wait a service may ask for (``Retry-After``) that a client waits out.
MAX_WAIT = 120.0


class Pace:
    """When the next request of one client may go (``service``: its name, in messages)."""

    def __init__(
        self,
        service: str,
        *,
        max_delay: float,
        max_wait: float,
        sleep: Callable[[float], None],
        on_wait: Callable[[str], None],
    ) -> None:
        self.service = service
        self.max_delay, self.max_wait = max_delay, max_wait
        self.sleep, self.on_wait = sleep, on_wait
        self._lock = threading.Lock()
        self._not_before = 0.0

    def wait_turn(self) -> None:
        """Sleep until the waits asked for so far have passed."""
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            self.sleep(delay)

    def slow_down(self, seconds: float, method: str, url: str) -> None:
        """Send nothing for ``seconds``; announce a long wait, refuse a too long one."""
        if seconds > self.max_wait:
            raise TooLongThrottledError(
                f"{self.service} is throttling these requests and asked to wait {seconds:.0f} s; "
                f"nothing more was sent. Run provision again {after(seconds)}",
                status=429,
                method=method,
                url=url,
            )
        if seconds > ANNOUNCE_AFTER:
            self.on_wait(f"throttled by {self.service}, waiting {seconds:.0f} s")
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """The wait before attempt ``attempt + 1``: ``Retry-After``, else exponential, jittered."""
        if retry_after is not None:
            return retry_after
        return min(0.5 * 2**attempt, self.max_delay) * (0.5 + random.random())


def after(seconds: float) -> str:
    """When a wait of ``seconds`` ends, in words; "much later" when no calendar holds it."""
    try:
        at = datetime.now(UTC) + timedelta(seconds=seconds)
    except OverflowError:  # inf, 1e14: beyond the year 9999
        return "much later (that wait cannot be right)"
    return f"after {at:%H:%M} UTC" if seconds < 86400 else f"after {at:%Y-%m-%d %H:%M} UTC"
