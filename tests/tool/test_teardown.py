"""``mlops-template teardown``: only what provisioning deployed goes, the data stays unless told.

A fresh bake against the empty-subscription doubles (as in ``test_azure_deployment``), then the
real ``mlops-template teardown`` command. Every ARM request is checked against the specs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fakes.arm import FakeResourceManager
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import Run
from test_azure_deployment import GROUP, WORKSPACE, EmptySubscriptionBaker, arm, az, baker  # noqa: F401 (fixtures, shared)
from test_pipelines_identity import blobs  # noqa: F401 (a fixture, shared)

THEIRS = {  # another team's storage account in the same group, without the project's tag
    "type": "Microsoft.Storage/storageAccounts",
    "name": "theirdata",
    "location": "westeurope",
    "tags": {"owner": "another team"},
    "sku": {"name": "Standard_LRS"},
    "kind": "StorageV2",
}


def teardown(runner: EmptySubscriptionBaker, project: Path, *args: str) -> Run:
    """``mlops-template teardown`` in the project, as a user runs it."""
    command = [str(Path(sys.executable).with_name("mlops-template")), "teardown", *args]
    return runner._run(command, cwd=project, pat=None)


@pytest.fixture
def provisioned(baker: EmptySubscriptionBaker, arm: FakeResourceManager) -> Path:  # noqa: F811
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    arm.add_resource(GROUP, THEIRS)
    arm.add_online_endpoint(GROUP, WORKSPACE, "churn-model-qa")
    return project


def test_teardown_keeps_the_data_and_what_it_did_not_create(
    baker: EmptySubscriptionBaker, provisioned: Path, arm: FakeResourceManager,  # noqa: F811
    fake: FakeAzureDevOps,
) -> None:  # fmt: skip
    """Tagged resources and endpoints go; the team's storage, untagged ones and DevOps stay."""
    fake.clear_requests()
    run = teardown(baker, provisioned, "--yes")
    assert run.returncode == 0, run.output
    left = arm.resources()
    assert {r["name"] for r in left.values()} == {"churnmodeldata", "data", "theirdata"}
    assert arm.online_endpoints() == {}
    assert len(arm.identities()) == 1  # the pipelines' identity is kept
    assert fake.requests == []  # Azure DevOps is never touched
    # The workspace's delete answered 202 with a Location, which was followed until done.
    assert any("/operationresults/del-" in r.path for r in arm.requests)
    assert "keep" in run.output and "--delete-data" in run.output


def test_delete_data_deletes_the_storage_account_too(
    baker: EmptySubscriptionBaker, provisioned: Path, arm: FakeResourceManager,  # noqa: F811
) -> None:  # fmt: skip
    """--delete-data: the project's storage account goes; another team's untagged one stays."""
    run = teardown(baker, provisioned, "--yes", "--delete-data")
    assert run.returncode == 0, run.output
    assert {r["name"] for r in arm.resources().values()} == {"theirdata"}


def test_teardown_again_finds_nothing_more_to_delete(
    baker: EmptySubscriptionBaker, provisioned: Path, arm: FakeResourceManager,  # noqa: F811
) -> None:  # fmt: skip
    """Idempotent: a second teardown deletes nothing and succeeds."""
    assert teardown(baker, provisioned, "--yes").returncode == 0
    arm.clear_requests()
    again = teardown(baker, provisioned, "--yes")
    assert again.returncode == 0, again.output
    assert [r for r in arm.writes] == []


def test_without_yes_and_no_terminal_nothing_is_deleted(
    baker: EmptySubscriptionBaker, provisioned: Path, arm: FakeResourceManager,  # noqa: F811
) -> None:  # fmt: skip
    """The list is shown; without a terminal to type the group's name, nothing goes."""
    before = set(arm.resources())
    run = teardown(baker, provisioned)
    assert run.returncode == 2, run.output
    assert "delete" in run.output and set(arm.resources()) == before
