"""The Azure side from an empty subscription: one ARM deployment, shown first as ARM's what-if.

A stub ``az`` (signed in; its Resource Manager token is a JWT naming the user's object id and
tenant, as Entra's are) and the Resource Manager double without any resource group or
workspace; bakes run the real cookiecutter command and provisioning runs as a user runs it.
Every ARM request is checked against the vendored specs (the ``arm`` fixture).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.arm import FakeResourceManager
from fakes.az_stub import STORAGE, AzStub, install_az
from fakes.azure_devops import FakeAzureDevOps
from fakes.blobs import FakeBlobStorage
from provisioning_env import SLUG, SUBSCRIPTION, assert_fully_provisioned, only
from test_pipelines_identity import AzureBaker, checked_arm
from test_pipelines_identity import blobs as blobs  # the fixture, shared

GROUP, WORKSPACE = "churn-rg", "churn-ws"
USER = "0d4f1b1e-7c55-4a5e-9e39-1a2b3c4d5e6f"
TAG = "mlops-template-project"
DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
TYPES = {
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Microsoft.KeyVault/vaults",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Insights/components",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.MachineLearningServices/workspaces",
    "Microsoft.MachineLearningServices/workspaces/computes",
}


@pytest.fixture
def az(tmp_path: Path) -> AzStub:
    return install_az(tmp_path / "az", "signed-in", subscription_id=SUBSCRIPTION, object_id=USER)


@pytest.fixture
def arm(az: AzStub) -> Iterator[FakeResourceManager]:
    """An empty subscription; afterwards every ARM request is checked against the specs."""
    yield from checked_arm(az)


class EmptySubscriptionBaker(AzureBaker):
    def answers(self, **extra: str) -> dict[str, str]:
        names = {"azureml_resource_group": GROUP, "azureml_workspace": WORKSPACE}
        return super().answers(**{**names, **extra})


@pytest.fixture
def baker(
    tmp_path: Path,
    fake: FakeAzureDevOps,
    az: AzStub,
    arm: FakeResourceManager,
    blobs: FakeBlobStorage,
) -> EmptySubscriptionBaker:
    return EmptySubscriptionBaker(tmp_path, fake, az, arm, blobs)


def by_type(arm: FakeResourceManager) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for resource in arm.resources().values():
        found.setdefault(resource["type"], []).append(resource)
    return found


def roles(arm: FakeResourceManager) -> dict[str, list[dict]]:
    """Role assignments by role definition id (the GUID)."""
    found: dict[str, list[dict]] = {}
    for assignment in arm.role_assignments().values():
        role = assignment["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]
        found.setdefault(role, []).append(assignment["properties"])
    return found


def test_an_empty_subscription_gets_every_resource_and_role_from_one_bake(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """From no resource group to every resource of the template and the three roles, exit 0."""
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert "To do:" not in run.output, run.output
    assert_fully_provisioned(fake, project)
    resources = by_type(arm)
    assert set(resources) == TYPES, sorted(resources)
    for kind, items in resources.items():
        assert len(items) == 1, (kind, items)
        if kind != "Microsoft.Storage/storageAccounts/blobServices/containers":
            assert items[0]["tags"] == {TAG: SLUG}, items[0]
    compute = resources["Microsoft.MachineLearningServices/workspaces/computes"][0]
    assert compute["name"] == "cpu-cluster"
    assert compute["properties"]["properties"]["scaleSettings"]["minNodeCount"] == 0
    identity = next(iter(arm.identities().values()))["properties"]["principalId"]
    found = roles(arm)
    (scientist,) = found[DATA_SCIENTIST]
    assert scientist["principalId"] == identity and scientist["scope"].endswith(WORKSPACE)
    (reader,) = found[BLOB_READER]
    (contributor,) = found[BLOB_CONTRIBUTOR]
    assert reader["principalId"] == identity and contributor["principalId"] == USER
    assert reader["scope"].endswith("/containers/data") and reader["scope"] == contributor["scope"]
    assert len(arm.deployments()) == 1


def assert_a_rerun_writes_nothing(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager, project: Path
) -> None:
    """Provision the baked project again: what-if is asked, nothing is sent (zero writes)."""
    fake.clear_requests()
    arm.clear_requests()
    again = baker.provision(project)
    assert again.returncode == 0, again.output
    assert fake.writes == [] and arm.writes == [], [r.path for r in arm.writes]
    assert any(r.path.endswith("/whatIf") for r in arm.requests)
    assert "what-if: no change" in again.output


def test_a_rerun_whose_what_if_says_no_change_writes_nothing(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """After a fresh bake, provision again: what-if is asked, nothing is sent (zero writes)."""
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert_a_rerun_writes_nothing(baker, fake, arm, project)


def test_dry_run_shows_the_what_if_and_writes_nothing(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """--dry-run on an existing group: each resource with ARM's verdict, no write at all."""
    run, project = baker.bake(azure_devops_org_url="")  # no provisioning at bake time
    assert run.returncode == 0, run.output
    arm.add_resource_group(GROUP, "westeurope")
    dry = baker.provision(project, "--organization", fake.url, "--project", "ML Platform",
                          "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.output
    assert arm.writes == [] and fake.writes == []
    assert any(r.path.endswith("/whatIf") for r in arm.requests)
    assert "storageAccounts/churnmodeldata" in dry.output and "will create" in dry.output


def test_a_resume_after_a_kill_waits_for_the_running_deployment(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """Killed while ARM deploys, the next run waits for that deployment: one PUT in all."""
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    arm.resource_seconds = 0.5
    args = ("--organization", fake.url, "--project", "ML Platform")
    process = baker.start(project, *args)
    deadline = time.monotonic() + 120
    while not any(r.method == "PUT" and "/deployments/" in r.path for r in arm.requests):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.kill()
    process.communicate()
    assert next(iter(arm.deployments().values()))["properties"]["provisioningState"] == "Running"
    resumed = baker.provision(project, *args)
    assert resumed.returncode == 0, resumed.output
    assert "running already" in resumed.output
    puts = [r for r in arm.requests if r.method == "PUT" and "/deployments/" in r.path]
    assert len(puts) == 1
    assert set(by_type(arm)) == TYPES


def test_a_failed_deployment_names_the_resource_and_the_setting_and_a_rerun_finishes_it(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """A VM size the region lacks: the failing resource, ARM's error, the setting; a re-run
    finishes the deployment."""
    arm.fail_next(
        "Microsoft.MachineLearningServices/workspaces/computes",
        "SkuNotAvailable",
        "The requested VM size Standard_DS3_v2 is not available in location westeurope.",
    )
    run, project = baker.bake()
    assert run.returncode == 0, run.output  # the bake never fails
    assert "workspaces/computes" in run.output and "SkuNotAvailable" in run.output, run.output
    assert "azure.training_compute_vm_size" in run.output
    again = baker.provision(project)
    assert again.returncode == 0, again.output
    assert set(by_type(arm)) == TYPES


def test_the_training_data_is_uploaded_and_set_for_the_pipelines(
    baker: EmptySubscriptionBaker,
    fake: FakeAzureDevOps,
    blobs: FakeBlobStorage,
) -> None:
    """The project's TRAINING_DATA lands in the data container; the pipelines read that blob,
    from the account and container the group names, as their identity (no secret)."""
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    sample = next(project.glob("src/*/sample_data/iris.csv")).read_bytes()
    assert blobs.blobs == {("churnmodeldata", "data", "iris.csv"): sample}
    group = only(fake.variable_groups("ML Platform"))
    assert group["variables"]["TRAINING_DATA"]["value"] == "blob:iris.csv"
    assert group["variables"]["TRAINING_COMPUTE"]["value"] == "cpu-cluster"
    storage = {key: v for key, v in group["variables"].items() if key.startswith("AZURE_STORAGE_")}
    assert storage == {
        "AZURE_STORAGE_ACCOUNT_NAME": {"value": "churnmodeldata"},
        "AZURE_STORAGE_CONTAINER": {"value": "data"},
    }


def test_an_existing_blob_of_that_name_is_never_overwritten(
    baker: EmptySubscriptionBaker,
    arm: FakeResourceManager,
    blobs: FakeBlobStorage,
) -> None:
    """A blob the team put there first is kept; the plan of a re-run says so."""
    blobs.add_blob("churnmodeldata", "data", "iris.csv", b"the team's own")
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert blobs.blobs[("churnmodeldata", "data", "iris.csv")] == b"the team's own"
    again = baker.provision(project, "--dry-run")
    assert "kept as it is" in again.output, again.output


def test_without_the_right_to_create_the_resource_group_the_commands_are_printed(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """Least privilege: Azure DevOps is done, the group's az command printed, exit code 3."""
    arm.forbid("Microsoft.Resources/subscriptions/resourceGroups/write")
    run, project = baker.bake()
    assert run.returncode == 0, run.output  # the bake keeps the project
    assert f"az group create --name {GROUP}" in run.output, run.output
    assert arm.resources() == {} and arm.identities() == {}
    tool = baker.provision(project)
    assert tool.returncode == 3, tool.output
    assert f"az group create --name {GROUP}" in tool.output


def test_export_template_writes_the_literal_template_and_changes_nothing(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """--export-template FILE: the template as it would be deployed, and no write at all."""
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    out = baker.provision(project, "--organization", fake.url, "--export-template", "azure.json")
    assert out.returncode == 0, out.output
    template = json.loads((project / "azure.json").read_text(encoding="utf-8"))
    types = {r["type"] for r in template["resources"]}
    assert types >= TYPES
    assert not any(
        isinstance(v, str) and v.startswith("[") for r in template["resources"] for v in r.values()
    )
    assert arm.writes == [] and fake.writes == []


def test_a_lost_answer_to_the_deployment_starts_it_only_once(
    baker: EmptySubscriptionBaker, arm: FakeResourceManager
) -> None:
    """The deployment's PUT is carried out but its answer lost: the re-sent PUT finds it
    running (DeploymentActive) and the run waits for that one deployment."""
    arm.inject(0, method="PUT", path_contains="/deployments/", apply_first=True, drop=True)
    arm.resource_seconds = 0.2
    run, _ = baker.bake()
    assert run.returncode == 0, run.output
    puts = [r for r in arm.requests if r.method == "PUT" and "/deployments/" in r.path]
    assert len(puts) == 2 and puts[1].status == 409  # sent again, refused: not started twice
    assert set(by_type(arm)) == TYPES


def test_the_storage_token_appears_nowhere(
    baker: EmptySubscriptionBaker, az: AzStub, blobs: FakeBlobStorage, tmp_path: Path
) -> None:
    """The Entra token for storage is used, and never printed, logged or written to a file."""
    token = az.tokens[STORAGE]
    run, _ = baker.bake()
    assert run.returncode == 0, run.output
    assert blobs.requests  # it was used
    for output in baker.outputs:
        assert token not in output
    for argv in az.calls():
        assert token not in " ".join(argv)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != az.config_path:
            assert token.encode() not in path.read_bytes(), path


def test_a_blob_service_error_holding_the_storage_token_is_printed_without_it(
    baker: EmptySubscriptionBaker, az: AzStub, blobs: FakeBlobStorage
) -> None:
    """The storage token is one of the tokens the run holds: quoted in what the Blob service
    answers an upload (its error code), it is printed as *** (it was printed as sent)."""
    token = az.tokens[STORAGE]
    blobs.inject(400, method="PUT", message=f"TokenNotWelcome-{token}")
    run, _ = baker.bake()
    assert "HTTP 400 TokenNotWelcome-***" in run.output, run.output
    assert token not in run.output.replace("\n", "")


def test_throttling_of_what_if_and_deployment_is_waited_out(
    baker: EmptySubscriptionBaker, arm: FakeResourceManager
) -> None:
    """429 with Retry-After on the what-if and on the deployment's PUT: waited, sent again,
    one deployment."""
    arm.add_resource_group(GROUP, "westeurope")
    arm.inject(429, method="POST", path_contains="/whatIf", retry_after=1)
    arm.inject(429, method="PUT", path_contains="/deployments/", retry_after=1)
    run, _ = baker.bake()
    assert run.returncode == 0, run.output
    assert len(arm.deployments()) == 1 and set(by_type(arm)) == TYPES, run.output[-3000:]
    puts = [r for r in arm.requests if r.method == "PUT" and "/deployments/" in r.path]
    assert [r.status for r in puts] == [429, 201]


def test_a_resource_that_differs_is_shown_with_the_properties_that_change(
    baker: EmptySubscriptionBaker, fake: FakeAzureDevOps, arm: FakeResourceManager
) -> None:
    """An existing storage account with public blob access: what-if says Modify, and which."""
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    arm.add_resource_group(GROUP, "westeurope")
    arm.add_resource(GROUP, {
        "type": "Microsoft.Storage/storageAccounts", "name": "churnmodeldata",
        "location": "westeurope", "tags": {"mlops-template-project": SLUG},
        "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
        "properties": {"supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2",
                       "allowBlobPublicAccess": True, "allowSharedKeyAccess": True},
    })  # fmt: skip
    dry = baker.provision(project, "--organization", fake.url, "--dry-run")
    assert dry.returncode == 0, dry.output
    assert "will update (properties.allowBlobPublicAccess)" in dry.output, dry.output
