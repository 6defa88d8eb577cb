"""Independent calls together: the lookups and each wave of apply overlap their requests."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def parallel(*calls: Callable[[], Any], workers: int = 8) -> list[Any]:
    """Run independent calls together; wait for all, then raise the first failure."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(call) for call in calls]
    errors = [future.exception() for future in futures if future.exception()]
    if errors:
        raise errors[0]
    return [future.result() for future in futures]
