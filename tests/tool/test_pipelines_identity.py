"""The pipelines' Azure identity: from ``az login`` to a ready service connection, end to end.

A stub ``az`` (signed in, no ``AZURE_DEVOPS_EXT_PAT``) gives the tool Entra tokens for Azure
DevOps and Resource Manager; the Azure DevOps double and the Resource Manager double
(``fakes.arm``) play the services. Bakes run the real cookiecutter command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.arm import FakeResourceManager
from fakes.az_stub import AZURE_DEVOPS_RESOURCE, RESOURCE_MANAGER, STORAGE, AzStub, install_az
from fakes.azure_devops import FakeAzureDevOps
from fakes.blobs import FakeBlobStorage
from provisioning_env import (
    PROJECT,
    SLUG,
    SUBSCRIPTION,
    Baker,
    assert_fully_provisioned,
    nonconforming,
    only,
)

GROUP, WORKSPACE = "rg-ml", "ws-ml"
ROLE = "f6c7c914-8db3-469d-8ca1-694a8f32e121"  # AzureML Data Scientist


@pytest.fixture
def az(tmp_path: Path) -> AzStub:
    return install_az(tmp_path / "az", "signed-in", subscription_id=SUBSCRIPTION)


def checked_arm(az: AzStub) -> Iterator[FakeResourceManager]:
    """The Resource Manager double for the stub's user; afterwards, every request it received
    is checked against the vendored specs."""
    with FakeResourceManager(
        token=az.tokens[RESOURCE_MANAGER],
        subscription_id=SUBSCRIPTION,
        tenant_id=az.tenant_id,
        caller_id=az.object_id,
    ) as double:
        yield double
        assert nonconforming("arm", double.requests) == {}


@pytest.fixture
def arm(az: AzStub) -> Iterator[FakeResourceManager]:
    """A subscription with the resource group and the workspace."""
    doubles = checked_arm(az)
    double = next(doubles)
    double.add_resource_group(GROUP, "westeurope")
    double.add_workspace(GROUP, WORKSPACE)
    yield double
    next(doubles, None)


@pytest.fixture
def blobs(az: AzStub, arm: FakeResourceManager) -> Iterator[FakeBlobStorage]:
    """The Blob service of the storage accounts the ARM double holds."""
    with FakeBlobStorage(arm, token=az.tokens[STORAGE], caller_id=az.object_id) as double:
        yield double


class AzureBaker(Baker):
    """A Baker whose runs see the stub az, the Resource Manager and Blob doubles, and no PAT."""

    def __init__(
        self,
        tmp_path: Path,
        fake: FakeAzureDevOps,
        az: AzStub,
        arm: FakeResourceManager,
        blobs: FakeBlobStorage,
    ):
        super().__init__(tmp_path, fake)
        self.path = az.env({"PATH": self.path})["PATH"]
        self.arm, self.blobs = arm, blobs
        fake.accept_bearer(az.tokens[AZURE_DEVOPS_RESOURCE])

    def env(self, pat: str | None = None) -> dict[str, str]:
        """Never a PAT: the Azure CLI's sign-in only."""
        return {
            **super().env(None),
            "AZURE_RESOURCE_MANAGER_URL": self.arm.url,
            "AZURE_STORAGE_BLOB_URL": self.blobs.base,
        }

    def answers(self, **extra: str) -> dict[str, str]:
        identity = {
            "azure_client_id": "",
            "azure_tenant_id": "",
            "azureml_resource_group": GROUP,
            "azureml_workspace": WORKSPACE,
        }
        return super().answers(**{**identity, **extra})


@pytest.fixture
def azure_baker(
    tmp_path: Path, fake: FakeAzureDevOps, az: AzStub, arm: FakeResourceManager, blobs
) -> AzureBaker:
    return AzureBaker(tmp_path, fake, az, arm, blobs)


def assert_identity_complete(fake: FakeAzureDevOps, arm: FakeResourceManager) -> None:
    """One identity, its credential matching the service connection, the role on the workspace."""
    identity = only(arm.identities())
    assert identity["name"] == f"{SLUG}-pipelines"
    assert identity["location"] == "westeurope"
    endpoint = only(fake.service_endpoints(PROJECT))
    parameters = endpoint["authorization"]["parameters"]
    assert parameters["serviceprincipalid"] == identity["properties"]["clientId"]
    assert parameters["tenantid"] == identity["properties"]["tenantId"]
    credential = only(arm.federated_credentials(identity["id"]))["properties"]
    assert credential["issuer"] == parameters["workloadIdentityFederationIssuer"]
    assert credential["subject"] == parameters["workloadIdentityFederationSubject"]
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assignment = only(
        [
            a
            for a in arm.role_assignments().values()
            if a["properties"]["roleDefinitionId"].endswith(ROLE)
        ]
    )["properties"]
    assert assignment["principalId"] == identity["properties"]["principalId"]
    assert assignment["roleDefinitionId"].endswith(ROLE)
    assert assignment["scope"].lower().endswith(f"/workspaces/{WORKSPACE}".lower())


def test_az_login_alone_sets_up_pipelines_that_can_reach_azure(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    run, project = azure_baker.bake()
    assert run.returncode == 0, run.output
    assert "To do:" not in run.output and "az role assignment" not in run.output, run.output
    assert "Service connection churn-model-azure: ready" in run.output
    assert_fully_provisioned(fake, project)
    assert_identity_complete(fake, arm)
    assert len(fake.runs(PROJECT)) == 1  # the first CI run, queued
    tool = azure_baker.provision(project)  # the tool's own exit code: 0, nothing by hand
    assert tool.returncode == 0 and "To do:" not in tool.output, tool.output
    fake.clear_requests()
    arm.clear_requests()
    again = azure_baker.provision(project)
    assert again.returncode == 0, again.output
    assert fake.writes == [] and arm.writes == []


def test_without_the_right_to_assign_roles_all_else_is_done_and_the_command_is_printed(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    arm.forbid("Microsoft.Authorization/roleAssignments/write")
    run, project = azure_baker.bake()
    assert run.returncode == 0, run.output  # the bake never fails; the tool says exit 3
    identity = only(arm.identities())
    principal = identity["properties"]["principalId"]
    assert f"az role assignment create --assignee-object-id {principal}" in run.output
    assert '--role "AzureML Data Scientist"' in run.output
    assert arm.role_assignments() == {}
    assert only(arm.federated_credentials(identity["id"]))
    tool = azure_baker.provision(project)
    assert tool.returncode == 3, tool.output
    assert "az role assignment create" in tool.output


@pytest.mark.parametrize("missing", ["resource group", "workspace"])
def test_a_missing_resource_group_or_workspace_is_created(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager, missing: str
) -> None:
    """Issue 18: what is missing is deployed (no longer a blocker), with the identity's role."""
    extra = (
        {"azureml_resource_group": "rg-absent", "azureml_workspace": "ws-absent"}
        if missing == "resource group"
        else {"azureml_workspace": "ws-absent"}
    )
    run, _ = azure_baker.bake(**extra)
    assert run.returncode == 0 and "To do:" not in run.output, run.output
    workspaces = [r for r in arm.resources().values() if r["name"] == "ws-absent"]
    assert len(workspaces) == 1 and workspaces[0]["type"].endswith("/workspaces")
    roles = [a["properties"]["scope"] for a in arm.role_assignments().values()]
    assert any(scope.endswith("/workspaces/ws-absent") for scope in roles)


def test_a_lost_answer_and_throttling_create_nothing_twice(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    arm.inject(429, method="PUT", path_contains="userAssignedIdentities", retry_after=1)
    arm.inject(503, method="PUT", path_contains="roleAssignments", apply_first=True)
    arm.inject(500, method="PUT", path_contains="federatedIdentityCredentials", apply_first=True)
    run, _ = azure_baker.bake()
    assert run.returncode == 0, run.output
    assert_identity_complete(fake, arm)


def test_an_existing_client_id_is_used_and_no_identity_is_made(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """--client-id: the service connection uses it, no identity is created; the Azure side is
    still looked up and deployed (``test_client_id_deployment`` covers the rest)."""
    run, _ = azure_baker.bake(
        azure_client_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", azure_tenant_id=arm.tenant_id
    )
    assert run.returncode == 0, run.output
    assert arm.identities() == {}
    assert not any("userAssignedIdentities/" in r.path for r in arm.writes)
    assert any("/deployments/" in r.path for r in arm.writes)
    endpoint = only(fake.service_endpoints(PROJECT))
    assert endpoint["authorization"]["parameters"]["serviceprincipalid"].startswith("aaaaaaaa")


def test_a_run_that_fails_after_the_identity_is_finished_by_the_next(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    # The service connection's create fails each time this run sends it.
    fake.inject(500, times=3, method="POST", path_contains="serviceendpoint/endpoints")
    run, project = azure_baker.bake()
    assert "To resume" in run.output, run.output
    assert len(arm.identities()) == 1
    again = azure_baker.provision(project)
    assert again.returncode == 0, again.output
    assert_fully_provisioned(fake, project)
    assert_identity_complete(fake, arm)


def test_the_resource_manager_token_appears_nowhere(
    azure_baker: AzureBaker, az: AzStub, fake: FakeAzureDevOps, arm: FakeResourceManager,
    tmp_path: Path,
) -> None:  # fmt: skip
    token = az.tokens[RESOURCE_MANAGER]
    run, _ = azure_baker.bake()
    assert run.returncode == 0, run.output
    assert arm.requests  # it was used
    for output in azure_baker.outputs:
        assert token not in output
    assert token not in azure_baker.git_log.read_text()
    for argv in az.calls():
        assert token not in " ".join(argv)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != az.config_path:
            assert token.encode() not in path.read_bytes(), path
    for request in [*arm.requests, *fake.requests]:
        assert token not in request.path and token not in str(request.query)
        assert token not in str(request.headers) and token.encode() not in request.body


def test_two_runs_at_once_create_one_identity_credential_role_and_first_run(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    run, project = azure_baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    fake.latency = arm.latency = 0.02  # both runs' lookups overlap their creates
    runs = [azure_baker.start(project, "--organization", fake.url) for _ in range(2)]
    outputs = [process.communicate(timeout=300)[0] for process in runs]
    assert [process.returncode for process in runs] == [0, 0], outputs
    assert_fully_provisioned(fake, project)
    assert_identity_complete(fake, arm)
    assert len(fake.runs(PROJECT)) == 1


def test_a_tenant_that_forbids_creating_identities_is_told_to_pass_client_id(
    azure_baker: AzureBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    arm.forbid("Microsoft.ManagedIdentity/userAssignedIdentities/write")
    run, project = azure_baker.bake()
    assert run.returncode == 0, run.output  # the bake keeps the project
    assert arm.identities() == {}
    assert "--client-id" in run.output, run.output
    tool = azure_baker.provision(project)
    assert tool.returncode != 0, tool.output
    assert "--client-id" in tool.output, tool.output
