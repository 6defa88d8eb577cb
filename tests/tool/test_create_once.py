"""A create whose answer was lost, resumed at once: looked up over the service's delay.

Issue 21, item 7: a create the service carries out 45 s late was sent a second time by a
resume started right away. ``create_once`` with ``pending`` (the creates a run sent without
an answer, kept in the project's lock) looks such a create up until ``SETTLE`` seconds after
it was sent. The clock here is a fake one, advanced by the waits: no test waits 45 s.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from mlops_template import create_once as once
from mlops_template.create_once import SETTLE, create_once

SENT_AT = 1_000.0  # when the lost create was sent (the clock's seconds)
WHAT = "the Approval check of environment 'churn-model-qa'"


class Clock:
    """Seconds that pass only when the code under test waits."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class Pending:
    """The lock's record of creates sent without an answer (``shared_lock.SharedLock``)."""

    def __init__(self, sent: dict[str, float]) -> None:
        self.sent_at = dict(sent)

    def since(self, what: str) -> float | None:
        return self.sent_at.get(what)

    def sent(self, what: str) -> None:
        self.sent_at[what] = SENT_AT

    def done(self, what: str) -> None:
        self.sent_at.pop(what, None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A resume started 1 s after the lost create was sent."""
    fake = Clock(SENT_AT + 1.0)
    monkeypatch.setattr(once, "time", types.SimpleNamespace(time=fake.time))
    return fake


class Service:
    """A service that carries the lost create out (and lists it) ``late`` s after it was sent."""

    def __init__(self, clock: Clock, late: float | None) -> None:
        self.clock, self.late = clock, late
        self.creates = 0

    def lookup(self) -> Any:
        if self.late is not None and self.clock.now >= SENT_AT + self.late:
            return {"id": 7}
        return None

    def create(self) -> Any:
        self.creates += 1
        return {"id": 8}


def test_a_create_carried_out_45_s_late_is_not_sent_again_by_an_immediate_resume(
    clock: Clock,
) -> None:
    """The resume looks it up more than once until it shows, 45 s after it was sent, and
    sends no second create."""
    service = Service(clock, late=45.0)
    pending = Pending({WHAT: SENT_AT})
    found = create_once(WHAT, service.lookup, service.create, refused_twice=False,
                        sleep=clock.sleep, pending=pending)  # fmt: skip
    assert found == {"id": 7}
    assert service.creates == 0
    assert SENT_AT + 45.0 <= clock.now < SENT_AT + SETTLE
    assert pending.since(WHAT) is None  # settled: the next run does not wait for it


def test_a_lost_create_that_never_shows_is_sent_again_only_after_the_settle_time(
    clock: Clock,
) -> None:
    """Not found SETTLE s after it was sent: the service did not carry it out, so it is sent
    once, then no longer pending."""
    service = Service(clock, late=None)
    pending = Pending({WHAT: SENT_AT})
    found = create_once(WHAT, service.lookup, service.create, refused_twice=False,
                        sleep=clock.sleep, pending=pending)  # fmt: skip
    assert found == {"id": 8}
    assert service.creates == 1
    assert clock.now >= SENT_AT + SETTLE
    assert pending.since(WHAT) is None
