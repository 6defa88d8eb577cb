"""Nothing is created twice: lost answers, stale lookups, two runs at once, throttling.

Azure DevOps refuses a second resource of the same name for most of what provisioning
creates, but not a second Approval check or a second branch policy of one type; each
test here fails with the provisioning code of commit 44ae586 (see the issue-9 report).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import (
    PROJECT,
    SLUG,
    Baker,
    assert_fully_provisioned,
    checks_per_environment,
    policies_per_type,
    started_fake,
)

from mlops_template import cli, client

ONE_EACH = {"minimum reviewers": 1, "build validation": 1}
LOCK_REF = "refs/mlops-template/provision-lock"  # where the project's lock is held
POLICY_TYPES = {
    "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd": "minimum reviewers",
    "0609b952-1397-4640-95ec-e00a01b2c241": "build validation",
}


def policies(fake: FakeAzureDevOps) -> dict[str, int]:
    return {POLICY_TYPES[key]: count for key, count in policies_per_type(fake).items()}


def test_a_lost_check_answer_and_a_stale_lookup_leave_one_approval(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    fake.inject(0, method="POST", path_contains="checks/configurations", apply_first=True,
                drop=True)  # fmt: skip
    fake.stale_lists("checks/configurations")
    run, project = baker.bake()
    assert list(checks_per_environment(fake).values()) == [1, 1], run.output
    assert "Azure DevOps is set up" in run.output, run.output
    assert_fully_provisioned(fake, project)


def test_a_lost_policy_answer_and_a_stale_lookup_leave_one_policy_of_each_type(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    fake.inject(0, method="POST", path_contains="/_apis/policy/configurations",
                apply_first=True, drop=True)  # fmt: skip
    fake.stale_lists("git/policy/configurations")
    run, project = baker.bake()
    assert policies(fake) == ONE_EACH, run.output
    assert_fully_provisioned(fake, project)


def test_a_lookup_that_never_shows_the_lost_create_stops_without_a_second_one(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    fake.inject(0, method="POST", path_contains="checks/configurations", apply_first=True,
                drop=True)  # fmt: skip
    fake.stale_lists("checks/configurations", times=5)  # every lookup of this run
    run, project = baker.bake()
    assert list(checks_per_environment(fake).values()) == [1, 1], run.output
    assert "was not sent again" in run.output and "To resume" in run.output
    (resume,) = re.findall(r"To resume: (.+)", run.output)
    assert baker.shell(resume).returncode == 0
    assert_fully_provisioned(fake, project)


def test_a_check_answered_after_the_timeout_is_not_sent_again(
    baker: Baker, fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, project = baker.bake(azure_devops_org_url="")  # provisioning later, in-process
    assert run.returncode == 0, run.output
    for key, value in baker.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(client, "TIMEOUT", 1.0)
    fake.inject(0, method="POST", path_contains="checks/configurations", apply_first=True,
                delay=1.5)  # fmt: skip
    fake.stale_lists("checks/configurations")
    code = cli.main(["provision", "--project-dir", str(project), "--organization", fake.url])
    assert code == 0
    assert list(checks_per_environment(fake).values()) == [1, 1]
    assert_fully_provisioned(fake, project)


def test_two_runs_at_once_create_nothing_twice(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    fake.latency = 0.02  # both runs' lookups overlap their creates
    runs = [baker.start(project, "--organization", fake.url) for _ in range(2)]
    outputs = [process.communicate(timeout=300)[0] for process in runs]
    assert [process.returncode for process in runs] == [0, 0], outputs
    assert list(checks_per_environment(fake).values()) == [1, 1]
    assert policies(fake) == ONE_EACH
    assert_fully_provisioned(fake, project)


def test_a_throttled_create_is_waited_out_before_the_lookup_and_the_resend(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    fake.inject(429, method="POST", path_contains="distributedtask/environments", retry_after=2)
    run, project = baker.bake()
    assert "Azure DevOps is set up" in run.output, run.output
    requests, times = fake.requests, fake.received_times
    ((index, throttled),) = [(i, r) for i, r in enumerate(requests) if r.status == 429]
    at = times[index]
    # Its lookup and its re-send (the other environment's create may be in flight).
    later = [
        times[i] - at
        for i, r in enumerate(requests)
        if "distributedtask/environments" in r.path
        and times[i] > at
        and (r.method == "GET" or r.body == throttled.body)
    ]
    assert later and min(later) >= 2.0, later
    assert_fully_provisioned(fake, project)


def test_a_long_throttle_ends_the_run_saying_when_to_retry(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    fake.inject(429, method="POST", path_contains="distributedtask/environments",
                retry_after=900)  # fmt: skip
    run, _ = baker.bake()
    assert "throttling these requests and asked to wait 900 s" in run.output, run.output
    assert re.search(r"Run provision again after \d\d:\d\d UTC", run.output)
    assert len(fake.environments(PROJECT)) <= 2


def test_a_resume_while_the_project_is_being_created_waits_until_it_is_well_formed(
    tmp_path: Path,
) -> None:
    for double in started_fake(tmp_path, project=False):
        double.add_pending_project(PROJECT, reads=3)
        baker = Baker(tmp_path, double)
        run, project = baker.bake(azure_devops_create_project="yes")
        assert "Azure DevOps is set up" in run.output, run.output
        assert "still being created" in run.output
        assert not [
            r for r in double.requests if r.method == "POST" and r.path.endswith("projects")
        ]
        assert_fully_provisioned(double, project)


# -- issue 21, item 7: two machines, late creates ------------------------------------------


def _machine(baker: Baker, project: Path, name: str) -> tuple[Path, dict[str, str]]:
    """A copy of the project on another "machine": its own HOME and cache (no shared file)."""
    copy = project.parent / f"{project.name}-{name}"
    shutil.copytree(project, copy)
    home = baker.tmp_path / f"home-{name}"
    home.mkdir()
    env = {**baker.env(), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    return copy, env


@pytest.mark.parametrize("apart", [0.0, 0.5, 1.0], ids=["together", "0.5s-apart", "1s-apart"])
def test_two_machines_at_once_create_nothing_twice(
    baker: Baker, fake: FakeAzureDevOps, apart: float
) -> None:
    """Two runs with separate lock folders (two machines) make one check, policy and CI run."""
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    command = [str(Path(sys.executable).with_name("mlops-template")), "provision",
               "--organization", fake.url]  # fmt: skip
    fake.latency = 0.02
    processes = []
    for name in ("a", "b"):
        folder, env = _machine(baker, project, name)
        processes.append(subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True,
        ))  # fmt: skip
        time.sleep(apart)
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert list(checks_per_environment(fake).values()) == [1, 1], outputs
    assert policies(fake) == ONE_EACH
    assert len(fake.runs(PROJECT)) == 1
    assert fake.ref_value(PROJECT, SLUG, LOCK_REF) is None  # released


def _lost_then_resumed_at_once(baker: Baker) -> Path:
    """Bake (a create's answer is lost and not confirmed), then run the resume command."""
    run, project = baker.bake()
    assert "was not sent again" in run.output, run.output
    (resume,) = re.findall(r"To resume: (.+)", run.output)
    again = baker.shell(resume)
    assert again.returncode == 0, again.output
    return project


def test_a_resume_right_after_lost_check_creates_adds_no_second_check(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    """Lost check creates the lookups do not show yet: the resume at once waits for them."""
    fake.inject(0, method="POST", path_contains="checks/configurations", apply_first=True,
                drop=True, times=2)  # fmt: skip
    # Every lookup of the first run (5 per check), then the resume's first two rounds and its
    # first look at each check: all empty, as a service that lists them late answers.
    fake.stale_lists("checks/configurations", times=16)
    project = _lost_then_resumed_at_once(baker)
    assert list(checks_per_environment(fake).values()) == [1, 1]
    assert_fully_provisioned(fake, project)


def test_a_first_run_carried_out_late_is_not_queued_again_by_an_immediate_resume(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    """The CI run whose queueing answer was lost, listed late: the resume queues no second."""
    fake.inject(0, method="POST", path_contains="/runs", apply_first=True, drop=True)
    # The first run's 5 lookups, then the resume's lookup, its lookup under the lock and its
    # first look before sending again.
    fake.stale_lists("/runs", times=8)
    project = _lost_then_resumed_at_once(baker)
    assert len(fake.runs(PROJECT)) == 1
    assert_fully_provisioned(fake, project)
