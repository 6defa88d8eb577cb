"""Read the Azure side: resource group, workspace, the pipelines' identity and its role, and
the deployment's what-if (see ``deploy_lookup``). GETs only, and what-if, which changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .arm import AzureResources, has_role
from .bodies import Json
from .deploy_lookup import DeploymentState, lookup_deployment
from .deployments import Deployments
from .parallel import parallel
from .settings import Settings


@dataclass
class AzureState:
    """The pipelines' Azure identity and what it needs; ``None``: does not exist."""

    resource_group: str
    workspace_name: str
    identity_name: str
    group: Json | None = None
    workspace: Json | None = None
    identity: Json | None = None
    credentials: list[Json] = field(default_factory=list)
    has_role: bool = False
    manual: list[str] = field(default_factory=list)  # commands left for a person
    deploy: DeploymentState | None = None  # the Azure side's deployment (a subscription id)

    @property
    def scope(self) -> str:
        return str((self.workspace or {}).get("id", ""))

    @property
    def principal_id(self) -> str:
        return str(((self.identity or {}).get("properties") or {}).get("principalId", ""))


def lookup_azure(
    settings: Settings, azure: AzureResources, deployments: Deployments | None = None
) -> AzureState:
    """The resource group, workspace, identity, its credentials and role, and the deployment's
    what-if (GETs, and what-if, which changes nothing)."""
    found = AzureState(
        resource_group=settings.variables.get("AZUREML_RESOURCE_GROUP", ""),
        workspace_name=settings.variables.get("AZUREML_WORKSPACE", ""),
        identity_name=f"{settings.names.slug}-pipelines",
    )
    group, name = found.resource_group, found.identity_name
    found.group, found.workspace, found.identity = parallel(
        lambda: azure.resource_group(group),
        lambda: azure.workspace(group, found.workspace_name),
        lambda: azure.identity(group, name),
    )
    if found.identity is not None:
        found.credentials, assignments = parallel(
            lambda: azure.federated_credentials(group, name),
            lambda: (
                azure.role_assignments(found.scope, found.principal_id) if found.workspace else []
            ),
        )
        found.has_role = bool(found.workspace) and has_role(assignments, found.scope)
    if deployments is not None:
        found.deploy = lookup_deployment(settings, found, deployments)
    return found
