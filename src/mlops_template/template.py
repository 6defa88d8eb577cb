"""The Azure side as one Azure Resource Manager template: data shipped with the tool, made literal.

``azure_template.json`` (package data) lists the resources: a storage account and the data
container, a Key Vault, a Log Analytics workspace and a workspace-based Application Insights,
a container registry, the Azure ML workspace bound to them, its training cluster and two role
assignments on the data container. Its ``${...}`` placeholders are the tool's own, filled here
with literal values before anything is sent: the rendered template holds no ARM template
expression (no ``[...]``), so what is deployed is exactly what ARM's what-if showed
("Template syntax", https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax).

Two tool markers are dropped when rendering: ``x-workspace`` (a resource the workspace is
bound to: left out when the workspace exists already, so that it keeps its own storage, key
vault, insights and registry, and the workspace itself is used, never redeployed) and
``x-needs`` (a role assignment left out while its principal is not known yet).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from .settings import Settings

Json = dict[str, Any]
TEMPLATE_FILE = "azure_template.json"
TAG = "mlops-template-project"  # every resource carries it, with the project's slug
DEFAULT_LOCATION = "westeurope"
DEFAULT_VM_SIZE = "Standard_DS3_v2"
DEFAULT_MAX_NODES = 2
# Built-in roles (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage):
# Storage Blob Data Reader, Storage Blob Data Contributor.
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# The settings (azure-devops.json, "azure") a quota or region error is fixed with.
SETTING_OF_TYPE = {
    "Microsoft.MachineLearningServices/workspaces/computes": "azure.training_compute_vm_size",
}


@dataclass(frozen=True)
class AzureNames:
    """Where and what: the names and choices of the Azure side, from the settings."""

    subscription: str
    group: str
    slug: str
    location: str
    storage_account: str
    container: str
    workspace: str
    compute: str
    vm_size: str
    max_nodes: int
    public_network_access: str

    @property
    def group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.group}"

    def resource_id(self, kind: str, name: str) -> str:
        """``kind`` (``Namespace/type[/child]``) and ``name`` (``a[/b]``) as a resource id."""
        namespace, *types = kind.split("/")
        parts = name.split("/")
        path = "/".join(f"{t}/{n}" for t, n in zip(types, parts, strict=True))
        return f"{self.group_id}/providers/{namespace}/{path}"

    @property
    def unique(self) -> str:
        """Six characters from subscription, group and slug: globally unique names."""
        seed = f"{self.subscription}/{self.group}/{self.slug}".lower()
        return hashlib.sha256(seed.encode()).hexdigest()[:6]

    @property
    def key_vault(self) -> str:
        return f"kv-{_alnum(self.slug)[:14]}-{self.unique}"  # 3-24: letters, digits, '-'

    @property
    def registry(self) -> str:
        return f"{_alnum(self.slug)[:30]}{self.unique}"  # 5-50: letters and digits

    @property
    def log_analytics(self) -> str:
        return f"{self.slug}-logs"

    @property
    def app_insights(self) -> str:
        return f"{self.slug}-insights"


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower()) or "mlops"


def azure_names(settings: Settings) -> AzureNames:
    """The Azure side's names from ``azure-devops.json`` (its ``azure`` block and variables)."""
    azure = settings.azure
    variables = settings.variables
    try:
        max_nodes = int(azure.get("training_compute_max_nodes", DEFAULT_MAX_NODES))
    except (TypeError, ValueError):
        max_nodes = DEFAULT_MAX_NODES
    public = str(azure.get("public_network_access", "Enabled"))
    return AzureNames(
        subscription=settings.azure_subscription_id,
        group=variables.get("AZUREML_RESOURCE_GROUP", ""),
        slug=settings.names.slug,
        location=str(azure.get("location") or DEFAULT_LOCATION),
        storage_account=str(
            azure.get("storage_account") or f"{_alnum(settings.names.slug)[:20]}data"
        ),
        container=str(azure.get("storage_container") or "data"),
        workspace=variables.get("AZUREML_WORKSPACE", ""),
        compute=str(azure.get("training_compute") or "cpu-cluster"),
        vm_size=str(azure.get("training_compute_vm_size") or DEFAULT_VM_SIZE),
        max_nodes=max(max_nodes, 1),
        public_network_access=(
            "Disabled" if public.lower() in ("disabled", "off", "false") else "Enabled"
        ),
    )


def assignment_name(scope: str, principal: str, role: str) -> str:
    """A role assignment's name (a GUID) from scope, principal and role: the same every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope.lower()}|{principal}|{role}"))


def render(
    names: AzureNames,
    *,
    tenant_id: str,
    pipelines_principal: str = "",
    user_principal: str = "",
    workspace: Json | None = None,
) -> Json:
    """The template with every value literal, for this project and what exists already.

    ``workspace``: the existing workspace, if any (then it and the resources it is bound
    to are left out, and the cluster goes to its location). A role assignment whose
    principal is not known (``""``) is left out.
    """
    raw = json.loads(resources.files(__package__).joinpath(TEMPLATE_FILE).read_text("utf-8"))
    storage_id = names.resource_id("Microsoft.Storage/storageAccounts", names.storage_account)
    container_id = f"{storage_id}/blobServices/default/containers/{names.container}"
    roles = f"/subscriptions/{names.subscription}/providers/Microsoft.Authorization/roleDefinitions"
    values: dict[str, Any] = {
        **{key: getattr(names, key) for key in AzureNames.__dataclass_fields__},
        "key_vault": names.key_vault,
        "registry": names.registry,
        "log_analytics": names.log_analytics,
        "app_insights": names.app_insights,
        "tags": {TAG: names.slug},
        "tenant_id": tenant_id,
        "storage_id": storage_id,
        "container_id": container_id,
        "key_vault_id": names.resource_id("Microsoft.KeyVault/vaults", names.key_vault),
        "log_analytics_id": names.resource_id(
            "Microsoft.OperationalInsights/workspaces", names.log_analytics
        ),
        "app_insights_id": names.resource_id("Microsoft.Insights/components", names.app_insights),
        "registry_id": names.resource_id("Microsoft.ContainerRegistry/registries", names.registry),
        "workspace_id": names.resource_id(
            "Microsoft.MachineLearningServices/workspaces", names.workspace
        ),
        "workspace_location": (workspace or {}).get("location") or names.location,
        "pipelines_principal": pipelines_principal,
        "user_principal": user_principal,
        "reader_role_id": f"{roles}/{BLOB_READER}",
        "contributor_role_id": f"{roles}/{BLOB_CONTRIBUTOR}",
        "reader_assignment": assignment_name(container_id, pipelines_principal, BLOB_READER),
        "contributor_assignment": assignment_name(container_id, user_principal, BLOB_CONTRIBUTOR),
    }
    kept = []
    for resource in raw["resources"]:
        if workspace is not None and resource.pop("x-workspace", False):
            continue
        needs = resource.pop("x-needs", "")
        resource.pop("x-workspace", None)
        if needs and not values[needs]:
            continue
        kept.append(_fill(resource, values))
    ids = {resource_id(names, resource).lower() for resource in kept}
    for resource in kept:  # a dependency on a resource left out (it exists) is no dependency
        depends = [d for d in resource.pop("dependsOn", []) if d.lower() in ids]
        if depends:
            resource["dependsOn"] = depends
    return {**{k: v for k, v in raw.items() if k != "resources"}, "resources": kept}


def _fill(node: Any, values: dict[str, Any]) -> Any:
    """Placeholders replaced: a string that is one placeholder takes the value's own type."""
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        whole = re.fullmatch(r"\$\{(\w+)\}", node)
        if whole:
            return copy.deepcopy(values[whole.group(1)])
        return Template(node).substitute(values)
    return node


def resource_id(names: AzureNames, resource: Json) -> str:
    """The id of one resource of a rendered template."""
    if resource["type"] == "Microsoft.Authorization/roleAssignments":
        scope, name = resource["scope"], resource["name"]
        return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    return names.resource_id(resource["type"], resource["name"])


def expressions(template: Json) -> list[str]:
    """Every string of the template that ARM would evaluate as an expression (should be none)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and node.startswith("[") and not node.startswith("[["):
            found.append(node)

    walk(template.get("resources", []))
    return found
