"""The project's lock held in Azure DevOps (issue 21, item 7): a Git ref in its repository.

Each test drives ``SharedLock`` against the double directly; two "machines" are two locks
(nothing shared but the double).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import PAT, PROJECT

from mlops_template.azure_devops import AzureDevOps
from mlops_template.client import AzureDevOpsClient
from mlops_template.shared_lock import LOCK_FILE, LOCK_REF, STALE_AFTER, SharedLock

REPO = "repo"


@pytest.fixture
def devops(fake: FakeAzureDevOps) -> Iterator[AzureDevOps]:
    fake.add_repository(PROJECT, REPO)
    yield AzureDevOps(AzureDevOpsClient(fake.url, fake.identity_url, PAT), PROJECT)


def _lock(devops: AzureDevOps, said: list[str] | None = None, **kw: float) -> SharedLock:
    repository = devops.repository(REPO)
    assert repository is not None
    on_wait = said.append if said is not None else (lambda message: None)
    return SharedLock(devops, repository["id"], "Ana", on_wait=on_wait, **kw)


def _left(fake: FakeAzureDevOps, since: float) -> str:
    """A lock another run holds (since ``since``); its commit."""
    held = {"state": "held", "holder": "Bo", "host": "laptop-2", "since": since}
    return fake.add_commit(PROJECT, REPO, LOCK_REF, json.dumps(held), LOCK_FILE)


def test_a_run_holds_the_ref_and_deletes_it_at_the_end(
    fake: FakeAzureDevOps, devops: AzureDevOps
) -> None:
    """The lock is a ref created while held and gone once released."""
    with _lock(devops):
        assert fake.ref_value(PROJECT, REPO, LOCK_REF) is not None
    assert fake.ref_value(PROJECT, REPO, LOCK_REF) is None


def test_a_second_machine_waits_and_names_the_holder(
    fake: FakeAzureDevOps, devops: AzureDevOps
) -> None:
    """While another run holds it, a run waits, says who holds it, and gives up at its timeout."""
    said: list[str] = []
    with _lock(devops), pytest.raises(TimeoutError, match="Ana on"):
        _lock(devops, said, timeout=0.3, poll=0.1).acquire()
    assert len(said) == 1 and "is working on this project; waiting" in said[0]


def test_a_lock_older_than_the_stale_limit_is_taken_over(
    fake: FakeAzureDevOps, devops: AzureDevOps
) -> None:
    """A lock a run that died left is taken over from that commit, and said so."""
    left = _left(fake, time.time() - STALE_AFTER - 60)
    said: list[str] = []
    with _lock(devops, said, timeout=0.3, poll=0.1):
        assert fake.ref_value(PROJECT, REPO, LOCK_REF) not in (None, left)
    assert said and said[0].startswith("taking over the provision lock Bo left on laptop-2")


def test_a_fresh_lock_of_another_run_is_not_taken_over(
    fake: FakeAzureDevOps, devops: AzureDevOps
) -> None:
    """A lock held for less than the stale limit stays with its holder."""
    left = _left(fake, time.time() - 5)
    with pytest.raises(TimeoutError, match="Bo on laptop-2"):
        _lock(devops, timeout=0.3, poll=0.1).acquire()
    assert fake.ref_value(PROJECT, REPO, LOCK_REF) == left


def test_a_lock_of_a_process_of_this_machine_that_ended_is_taken_over_at_once(
    fake: FakeAzureDevOps, devops: AzureDevOps
) -> None:
    """A run killed on this machine (its process gone) does not make the resume wait for the
    stale limit; a live process's lock is waited for."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    held = {"state": "held", "holder": "Bo", "host": socket.gethostname(), "since": time.time()}
    fake.add_commit(PROJECT, REPO, LOCK_REF, json.dumps({**held, "pid": ended.pid}), LOCK_FILE)
    said: list[str] = []
    with _lock(devops, said, timeout=0.3, poll=0.1):
        assert len(said) == 1 and "has ended" in said[0], said
    alive = subprocess.Popen(["sleep", "30"])
    try:
        fake.add_commit(PROJECT, REPO, LOCK_REF, json.dumps({**held, "pid": alive.pid}), LOCK_FILE)
        with pytest.raises(TimeoutError):
            _lock(devops, timeout=0.3, poll=0.1).acquire()
    finally:
        alive.kill()
        alive.wait()


def test_creates_left_pending_are_handed_to_the_next_run(
    fake: FakeAzureDevOps, devops: AzureDevOps
) -> None:
    """A lost create still pending at release stays in the lock for the next run (any machine)."""
    with _lock(devops) as first:
        first.sent("the Approval check of environment 'qa'")
        first.sent("the first run of 'ci'")
        first.done("the first run of 'ci'")
    assert fake.ref_value(PROJECT, REPO, LOCK_REF) is not None  # kept, marked free
    with _lock(devops, timeout=0.3) as second:
        assert second.since("the Approval check of environment 'qa'") is not None
        assert second.since("the first run of 'ci'") is None
