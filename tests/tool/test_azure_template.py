"""The Azure side's ARM template (``mlops_template.template``) and its plan (``deploy_plan``).

Pure functions: no double, no network. The template's resources are checked against each
resource provider's published spec (vendored under ``tests/specs``) for the apiVersion each
names, as the PUT that ARM sends for it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from provisioning_env import SLUG, SUBSCRIPTION, write_settings
from rest_specs import check_request

from mlops_template.actions import Verb
from mlops_template.deploy_lookup import DeploymentState
from mlops_template.deploy_plan import deployment_actions
from mlops_template.settings import load
from mlops_template.template import TAG, azure_names, expressions, render, resource_id

TENANT = "66666666-7777-8888-9999-000000000000"
PIPELINES, USER = "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002"
GROUP_KEY = ("resource group", "rg")
# What a PUT of a resource is made of; the rest of a template resource is the template's own.
TEMPLATE_ONLY = ("type", "apiVersion", "name", "dependsOn", "scope")


@pytest.fixture
def names(tmp_path: Path):
    write_settings(
        tmp_path,
        organization_url="https://dev.azure.com/contoso",
        azure_subscription_id=SUBSCRIPTION,
        variables={"AZUREML_RESOURCE_GROUP": "rg", "AZUREML_WORKSPACE": "ws-ml"},
        azure={"location": "northeurope", "storage_container": "data"},
    )
    return azure_names(load(tmp_path))


def full(names):
    return render(names, tenant_id=TENANT, pipelines_principal=PIPELINES, user_principal=USER)


def test_every_resource_conforms_to_its_providers_spec(names) -> None:
    """Each resource, sent as the PUT ARM makes of it, passes its provider's spec (strict)."""
    problems = {}
    for resource in full(names)["resources"]:
        body = {k: v for k, v in resource.items() if k not in TEMPLATE_ONLY}
        path = resource_id(names, resource)
        found = check_request(
            "arm", "PUT", path, {"api-version": resource["apiVersion"]}, body, strict=True
        )
        if found:
            problems[resource["type"]] = found
    assert problems == {}


def test_the_rendered_template_holds_no_expression(names) -> None:
    """Literal values only: what-if and deployment see exactly what the plan shows."""
    template = full(names)
    assert expressions(template) == []
    assert "${" not in str(template)


def test_every_taggable_resource_carries_the_projects_tag(names) -> None:
    """Teardown deletes only what carries the tag, so everything the tool makes carries it."""
    untagged = {"Microsoft.Storage/storageAccounts/blobServices/containers",
                "Microsoft.Authorization/roleAssignments"}  # fmt: skip
    for resource in full(names)["resources"]:
        if resource["type"] not in untagged:
            assert resource["tags"] == {TAG: SLUG}, resource["type"]


def test_the_storage_account_is_locked_down(names) -> None:
    """StorageV2, HTTPS only, TLS 1.2, no public blob access; the container is private."""
    storage, container = full(names)["resources"][:2]
    assert storage["kind"] == "StorageV2"
    assert storage["properties"]["supportsHttpsTrafficOnly"] is True
    assert storage["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert storage["properties"]["allowBlobPublicAccess"] is False
    assert container["properties"]["publicAccess"] == "None"


def test_shared_key_access_is_off_only_with_identity_based_system_datastores(names) -> None:
    """The workspace's system datastores use the account key unless the workspace sets
    systemDatastoresAuthMode 'identity' (not defined by stable 2024-04-01, whose spec we
    vendor; see docs/azure-resources.md): shared-key access goes off only together with it."""
    resources = {r["type"]: r for r in full(names)["resources"]}
    storage = resources["Microsoft.Storage/storageAccounts"]["properties"]
    workspace = resources["Microsoft.MachineLearningServices/workspaces"]
    if storage["allowSharedKeyAccess"] is False:
        assert workspace["properties"].get("systemDatastoresAuthMode") == "identity"
    else:
        assert workspace["apiVersion"] == "2024-04-01", "identity mode may now be possible"


def test_the_cluster_costs_nothing_idle(names) -> None:
    """0 minimum nodes; the maximum and VM size come from the settings."""
    (compute,) = [r for r in full(names)["resources"] if r["type"].endswith("/computes")]
    scale = compute["properties"]["properties"]["scaleSettings"]
    assert scale["minNodeCount"] == 0 and scale["maxNodeCount"] == 2
    assert compute["properties"]["properties"]["vmSize"] == "Standard_DS3_v2"


def test_an_existing_workspace_keeps_its_storage_and_key_vault(names) -> None:
    """The workspace and what it is bound to are left out; the cluster goes to its region."""
    workspace = {"id": "x", "location": "eastus", "properties": {"storageAccount": "theirs"}}
    template = render(names, tenant_id=TENANT, workspace=workspace)
    types = [r["type"] for r in template["resources"]]
    assert "Microsoft.MachineLearningServices/workspaces" not in types
    assert "Microsoft.KeyVault/vaults" not in types
    (compute,) = [r for r in template["resources"] if r["type"].endswith("/computes")]
    assert compute["location"] == "eastus" and "dependsOn" not in compute


def test_a_role_assignment_waits_for_its_principal(names) -> None:
    """Without the identity's principal id its role is left out (it joins on the next render)."""
    template = render(names, tenant_id=TENANT, user_principal=USER)
    roles = [r for r in template["resources"] if r["type"].endswith("roleAssignments")]
    assert [r["properties"]["principalId"] for r in roles] == [USER]


def test_a_public_network_setting_of_off_disables_it(tmp_path: Path) -> None:
    """azure.public_network_access 'off' (or Disabled) turns the workspace's access off."""
    write_settings(tmp_path, organization_url="https://dev.azure.com/contoso",
                   azure={"public_network_access": "off"})  # fmt: skip
    assert azure_names(load(tmp_path)).public_network_access == "Disabled"


# -- the plan from ARM's what-if, table-driven ------------------------------------------------


def state(names, changes, *, deployment=None) -> DeploymentState:
    return DeploymentState(
        names=names, name="mlops-template-x", tenant_id=TENANT, user_principal=USER,
        template=full(names), deployment=deployment, changes=changes,
    )  # fmt: skip


def change(names, index: int, kind: str, delta: list | None = None) -> dict:
    resource = full(names)["resources"][index]
    return {"resourceId": resource_id(names, resource), "changeType": kind, "delta": delta or []}


CASES = {
    # id: (what-if change types by resource index (others NoChange), deployment state,
    #      expected deployment verb, expected verb of resource 0)
    "all unchanged": ({}, None, Verb.EXISTS, Verb.EXISTS),
    "one to create": ({0: "Create"}, None, Verb.CREATE, Verb.CREATE),
    "one to modify": ({0: "Modify"}, None, Verb.CREATE, Verb.UPDATE),
    "running: wait": ({}, "Running", Verb.UPDATE, Verb.EXISTS),
    "failed, now unchanged": ({}, "Failed", Verb.EXISTS, Verb.EXISTS),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_plan_follows_the_what_if(names, case) -> None:
    """The deployment is sent only when a resource changes; a running one is waited for."""
    kinds, running, deployment_verb, first_verb = case
    count = len(full(names)["resources"])
    changes = [change(names, i, kinds.get(i, "NoChange")) for i in range(count)]
    deployment = {"properties": {"provisioningState": running}} if running else None
    actions = deployment_actions(state(names, changes, deployment=deployment), True, True,
                                 GROUP_KEY)  # fmt: skip
    assert actions[0].kind == "deployment" and actions[0].verb is deployment_verb
    assert actions[1].verb is first_verb


def test_a_modify_names_the_properties_that_change(names) -> None:
    """ARM's delta paths are the detail of an update."""
    count = len(full(names)["resources"])
    delta = [{"path": "properties.minimumTlsVersion", "propertyChangeType": "Modify"}]
    changes = [change(names, 0, "Modify", delta)] + [
        change(names, i, "NoChange") for i in range(1, count)
    ]
    actions = deployment_actions(state(names, changes), True, True, GROUP_KEY)
    assert actions[1].detail == "properties.minimumTlsVersion"


def test_without_a_what_if_every_resource_is_to_create(names) -> None:
    """A new resource group: no what-if is possible yet; everything is created."""
    actions = deployment_actions(state(names, None), False, False, GROUP_KEY)
    assert {a.verb for a in actions} == {Verb.CREATE}
    assert any("once it exists" in a.detail for a in actions)


def test_ignored_resources_are_shown_as_left_alone(names) -> None:
    """Other resources of the group (what-if: Ignore) are listed, and kept."""
    theirs = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/theirs"
    changes = [{"resourceId": theirs, "changeType": "Ignore"}]
    actions = deployment_actions(replace(state(names, changes)), True, True, GROUP_KEY)
    (kept,) = [a for a in actions if a.verb is Verb.KEEP]
    assert kept.name == "sites/theirs" and not kept.verb.changes
