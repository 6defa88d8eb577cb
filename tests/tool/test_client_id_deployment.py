"""``--client-id``: an existing identity (tenants that forbid creating identities) still gets
the whole Azure side; only the identity's creation is skipped.

The empty-subscription doubles of ``test_azure_deployment``, plus the platform team's
user-assigned identity in another resource group of the subscription; bakes run the real
cookiecutter command with its client id. Every ARM request is checked against the specs.
"""

from __future__ import annotations

import pytest
from fakes.arm import FakeResourceManager
from fakes.azure_devops import FakeAzureDevOps
from fakes.blobs import FakeBlobStorage
from provisioning_env import PROJECT, assert_fully_provisioned, only
from test_azure_deployment import (  # noqa: F401 (fixtures, shared)
    BLOB_CONTRIBUTOR,
    BLOB_READER,
    DATA_SCIENTIST,
    TYPES,
    USER,
    WORKSPACE,
    EmptySubscriptionBaker,
    arm,
    assert_a_rerun_writes_nothing,
    az,
    baker,
    by_type,
    roles,
)
from test_pipelines_identity import blobs  # noqa: F401 (a fixture, shared)
from test_teardown import teardown

PLATFORM_GROUP = "platform-identities"


@pytest.fixture
def given(arm: FakeResourceManager) -> dict:  # noqa: F811
    """The identity a platform team made for the pipelines, outside the project's group."""
    arm.add_resource_group(PLATFORM_GROUP, "westeurope")
    return arm.add_identity(PLATFORM_GROUP, "ml-pipelines")


def bake_with(baker: EmptySubscriptionBaker, arm: FakeResourceManager, client_id: str):  # noqa: F811
    return baker.bake(azure_client_id=client_id, azure_tenant_id=arm.tenant_id)


def test_an_empty_subscription_gets_every_resource_and_the_given_identitys_roles(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager,  # noqa: F811
    blobs: FakeBlobStorage, given: dict,  # noqa: F811
) -> None:  # fmt: skip
    """With --client-id, one bake deploys every resource, gives that identity its roles
    (workspace and data), uploads the data, makes no identity, and exits 0."""
    run, project = bake_with(baker, arm, given["properties"]["clientId"])
    assert run.returncode == 0, run.output
    output = " ".join(run.output.split())  # rich wraps long lines
    assert "az role assignment" not in output, output
    # Left to do: the service connection's federated credential on that identity (not ours).
    assert "az identity federated-credential create --name churn-model-azure-devops " in output
    assert "--identity-name ml-pipelines --resource-group platform-identities" in output
    assert_fully_provisioned(fake, project)
    assert set(by_type(arm)) == TYPES
    assert list(arm.identities()) == [given["id"]]  # none made
    principal = given["properties"]["principalId"]
    found = roles(arm)
    (scientist,) = found[DATA_SCIENTIST]
    assert scientist["principalId"] == principal and scientist["scope"].endswith(WORKSPACE)
    (reader,) = found[BLOB_READER]
    assert reader["principalId"] == principal and reader["scope"].endswith("/containers/data")
    assert only(found[BLOB_CONTRIBUTOR])["principalId"] == USER
    endpoint = only(fake.service_endpoints(PROJECT))
    assert (
        endpoint["authorization"]["parameters"]["serviceprincipalid"]
        == (given["properties"]["clientId"])
    )
    assert len(blobs.blobs) == 1


def test_a_rerun_with_client_id_writes_nothing(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager,  # noqa: F811
    given: dict,
) -> None:  # fmt: skip
    """After the fresh bake with --client-id, provision again: what-if, no write."""
    run, project = bake_with(baker, arm, given["properties"]["clientId"])
    assert run.returncode == 0, run.output
    assert_a_rerun_writes_nothing(baker, fake, arm, project)


def test_an_app_registrations_roles_are_printed_as_commands(
    baker: EmptySubscriptionBaker, arm: FakeResourceManager,  # noqa: F811
) -> None:  # fmt: skip
    """A client id Resource Manager does not know (an app registration): everything else is
    deployed, its two roles are printed as az commands with --assignee, exit code 3."""
    client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    run, project = bake_with(baker, arm, client_id)
    assert run.returncode == 0, run.output  # the bake keeps the project
    assert set(by_type(arm)) == TYPES
    assert arm.identities() == {}
    assert set(roles(arm)) == {BLOB_CONTRIBUTOR}  # the signed-in user's only
    tool = baker.provision(project)
    assert tool.returncode == 3, tool.output
    output = " ".join(tool.output.split())  # rich wraps long lines
    for role in ("AzureML Data Scientist", "Storage Blob Data Reader"):
        assert f'az role assignment create --assignee {client_id} --role "{role}"' in output


def test_an_identity_the_user_may_not_list_gets_its_roles_as_commands(
    baker: EmptySubscriptionBaker, arm: FakeResourceManager, given: dict,  # noqa: F811
) -> None:  # fmt: skip
    """The subscription's identities may not be listed (403): the given identity's object id
    is unknown, so everything else is deployed and its roles are printed (exit code 3)."""
    arm.forbid("Microsoft.ManagedIdentity/userAssignedIdentities/read")
    client_id = given["properties"]["clientId"]
    run, project = bake_with(baker, arm, client_id)
    assert run.returncode == 0, run.output
    assert set(by_type(arm)) == TYPES and set(roles(arm)) == {BLOB_CONTRIBUTOR}
    tool = baker.provision(project)
    assert tool.returncode == 3, tool.output
    assert f"az role assignment create --assignee {client_id}" in " ".join(tool.output.split())


def test_without_the_right_to_assign_roles_the_commands_are_printed(
    baker: EmptySubscriptionBaker, arm: FakeResourceManager, given: dict,  # noqa: F811
) -> None:  # fmt: skip
    """--client-id and no right to assign roles: all resources are deployed, the given
    identity's role assignments are printed as az commands, exit code 3."""
    arm.forbid("Microsoft.Authorization/roleAssignments/write")
    run, project = bake_with(baker, arm, given["properties"]["clientId"])
    assert run.returncode == 0, run.output
    assert set(by_type(arm)) == TYPES and arm.role_assignments() == {}
    tool = baker.provision(project)
    assert tool.returncode == 3, tool.output
    output = " ".join(tool.output.split())
    principal = given["properties"]["principalId"]
    assert f"--assignee-object-id {principal}" in output, output
    assert '"AzureML Data Scientist"' in output and '"Storage Blob Data Reader"' in output


def test_teardown_after_a_client_id_deployment_keeps_the_given_identity(
    baker: EmptySubscriptionBaker, arm: FakeResourceManager, given: dict,  # noqa: F811
) -> None:  # fmt: skip
    """Teardown of a --client-id project deletes what was deployed, keeps the data and the
    platform team's identity (untagged, in another group)."""
    run, project = bake_with(baker, arm, given["properties"]["clientId"])
    assert run.returncode == 0, run.output
    down = teardown(baker, project, "--yes")
    assert down.returncode == 0, down.output
    assert {r["name"] for r in arm.resources().values()} == {"churnmodeldata", "data"}
    assert list(arm.identities()) == [given["id"]]


def test_the_plan_with_client_id_makes_no_identity(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager,  # noqa: F811
    given: dict,
) -> None:  # fmt: skip
    """--dry-run with --client-id: the what-if and the role are shown, no identity or
    federated credential is planned, nothing is written."""
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    dry = baker.provision(project, "--organization", fake.url, "--project", "ML Platform",
                          "--client-id", given["properties"]["clientId"], "--tenant-id",
                          arm.tenant_id, "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.output
    assert arm.writes == [] and fake.writes == []
    assert "azure identity" not in dry.output and "federated credential" not in dry.output
    assert "AzureML Data Scientist" in dry.output, dry.output
