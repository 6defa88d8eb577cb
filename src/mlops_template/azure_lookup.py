"""Read the Azure side: resource group, workspace, the pipelines' identity and its role, and
the deployment's what-if (see ``deploy_lookup``). GETs only, and what-if, which changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .arm import AzureResources, has_role
from .bodies import Json
from .deploy_lookup import DeploymentState, lookup_deployment
from .deployments import Deployments
from .errors import PermissionDeniedError
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
    # --client-id: an existing identity (the tool makes none), and that identity when it is a
    # user-assigned identity of the subscription (None: an app registration, or not visible).
    client_id: str = ""
    given: Json | None = None

    @property
    def scope(self) -> str:
        return str((self.workspace or {}).get("id", ""))

    @property
    def principal_id(self) -> str:
        """The pipelines' identity's object id, made by the tool or given ("": not known)."""
        identity = self.identity or self.given or {}
        return str((identity.get("properties") or {}).get("principalId", ""))


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
    if settings.azure_client_id:  # an existing identity: find its object id, make none
        found.client_id = settings.azure_client_id
        found.group, found.workspace, found.given = parallel(
            lambda: azure.resource_group(group),
            lambda: azure.workspace(group, found.workspace_name),
            lambda: _given_identity(azure, found.client_id),
        )
        if found.workspace and found.given:
            assignments = azure.role_assignments(found.scope, found.principal_id)
            found.has_role = has_role(assignments, found.scope)
    else:
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


def _given_identity(azure: AzureResources, client_id: str) -> Json | None:
    """The subscription's user-assigned identity with this client id; None when there is none,
    or the signed-in user may not list them (then its roles are told as commands)."""
    try:
        return azure.identity_by_client_id(client_id)
    except PermissionDeniedError:
        return None
