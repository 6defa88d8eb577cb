"""``mlops-template teardown``: remove what provisioning deployed, and nothing else.

Lookup (GETs only): the resource group's resources that carry the project's tag (Resources -
List By Resource Group, ``$filter=tagName eq '…' and tagValue eq '…'``, resources
2021-04-01), and the workspace's online endpoints (Online Endpoints - List,
machinelearningservices 2024-04-01). Plan (pure): what is deleted, in an order that
deletes users before what they use (endpoints, cluster, workspace, then what it was bound
to), and what is kept: the storage account with the team's data unless ``--delete-data``;
anything without the tag (not listed at all); the resource group itself (it may hold more);
the pipelines' identity and the Azure DevOps side. Apply: one DELETE per resource on its
provider's route (each a documented Delete operation); a 404 means already gone, so a
teardown that stopped half-way is simply run again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .arm import ArmClient
from .client import quote
from .errors import AzureDevOpsError, PermissionDeniedError
from .template import TAG, TEMPLATE_FILE, AzureNames

Json = dict[str, Any]
RESOURCES_API = "2021-04-01"
ENDPOINTS_API = "2024-04-01"
STORAGE = "Microsoft.Storage/storageAccounts"
WORKSPACE = "Microsoft.MachineLearningServices/workspaces"
ENDPOINT = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
# Users before what they use: deleted in this order (then anything else the tag marks).
ORDER = [
    ENDPOINT,
    "Microsoft.MachineLearningServices/workspaces/computes",
    WORKSPACE,
    "Microsoft.Insights/components",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.KeyVault/vaults",
    "Microsoft.ContainerRegistry/registries",
    STORAGE,
]
# Extra query a provider's Delete operation requires (Compute - Delete).
DELETE_QUERY = {
    "Microsoft.MachineLearningServices/workspaces/computes": {"underlyingResourceAction": "Delete"}
}


def api_versions() -> dict[str, str]:
    """The apiVersion the template names for each resource type (the ones it deploys)."""
    raw = json.loads(resources.files(__package__).joinpath(TEMPLATE_FILE).read_text("utf-8"))
    found = {r["type"].lower(): r["apiVersion"] for r in raw["resources"]}
    found[ENDPOINT.lower()] = ENDPOINTS_API
    return found


@dataclass
class TeardownPlan:
    """What is deleted (ids, in order) and what is kept, with why."""

    delete: list[Json] = field(default_factory=list)
    keep: list[tuple[Json, str]] = field(default_factory=list)


def lookup(client: ArmClient, names: AzureNames) -> list[Json]:
    """The tagged resources of the group and the workspace's online endpoints (GETs only)."""
    group = f"/subscriptions/{quote(names.subscription)}/resourceGroups/{quote(names.group)}"
    try:
        tagged = client.list(
            f"{group}/resources",
            params={"$filter": f"tagName eq '{TAG}' and tagValue eq '{names.slug}'"},
            api_version=RESOURCES_API,
        )
    except AzureDevOpsError as error:
        if error.status == 404:
            return []  # no resource group: nothing to remove
        raise
    found = list(tagged)
    for workspace in [r for r in tagged if str(r.get("type", "")).lower() == WORKSPACE.lower()]:
        path = f"{workspace['id']}/onlineEndpoints"
        endpoints = client.list(path, api_version=ENDPOINTS_API)
        found += [{**e, "type": ENDPOINT} for e in endpoints]
    return found


def plan(found: list[Json], *, delete_data: bool) -> TeardownPlan:
    """Deletions in dependency order; the storage account kept unless ``delete_data``."""
    result = TeardownPlan()
    rank = {kind.lower(): index for index, kind in enumerate(ORDER)}
    for resource in sorted(found, key=lambda r: rank.get(str(r.get("type", "")).lower(), 50)):
        if str(resource.get("type", "")).lower() == STORAGE.lower() and not delete_data:
            result.keep.append((resource, "the team's data (pass --delete-data to delete it)"))
        else:
            result.delete.append(resource)
    return result


def apply(
    client: ArmClient,
    teardown: TeardownPlan,
    *,
    on_done: Any = lambda resource: None,
    sleep: Any = time.sleep,
) -> list[str]:
    """Delete each resource in order; the ``az`` commands of those the user may not delete."""
    versions = api_versions()
    refused = []
    for resource in teardown.delete:
        kind = str(resource.get("type", ""))
        version = versions.get(kind.lower())
        if version is None:  # a type the template never deploys, yet tagged: left alone
            continue
        try:
            _delete(client, resource["id"], kind, version, sleep)
        except PermissionDeniedError:
            refused.append(f"az resource delete --ids {resource['id']}")
            continue
        on_done(resource)
    return refused


def _delete(client: ArmClient, resource_id: str, kind: str, version: str, sleep: Any) -> None:
    params = DELETE_QUERY.get(kind, {})
    try:
        _, headers = client.send("DELETE", resource_id, params=params, api_version=version)
    except AzureDevOpsError as error:
        if error.status == 404:
            return  # gone already (a resumed teardown)
        raise
    # "Track asynchronous Azure operations": Azure-AsyncOperation answers a status;
    # Location answers 202 (with a Location) while it runs, then 200 or 204.
    status_url = headers.get("Azure-AsyncOperation") or headers.get("Location")
    while status_url:
        if not headers.get("Retry-After"):
            sleep(5.0)
        answer, headers = client.send("GET", status_url, api_version=version)
        status = str((answer or {}).get("status") or "")
        if status in ("Failed", "Canceled"):
            raise AzureDevOpsError(f"deleting {resource_id} {status.lower()}: {answer}")
        if status == "Succeeded" or (not status and not headers.get("Location")):
            return
        status_url = (
            status_url if status else headers.get("Location")
        )  # a status still running: the same URL; a 202: the URL it names
