"""Azure Resource Manager's REST API: its client, and the pipelines' Azure identity.

Each method is one operation of Microsoft's published REST specs
(https://github.com/Azure/azure-rest-api-specs), with the api-version that spec defines:

* Resource groups - Get, ``2021-04-01`` (resources/resource-manager/Microsoft.Resources);
* Workspaces - Get, ``2024-04-01`` (machinelearningservices, Microsoft.MachineLearningServices);
* User Assigned Identities - Get / Create Or Update / List By Subscription and Federated
  Identity Credentials - List / Create Or Update, ``2023-01-31`` (msi,
  Microsoft.ManagedIdentity);
* Role Assignments - List For Scope / Create, ``2022-04-01`` (authorization,
  Microsoft.Authorization).

The requests go through the same client as Azure DevOps' (``client``: retries on 429 and 5xx
with ``Retry-After``, every PUT is idempotent and retried, errors translated), with an Entra
token for ``https://management.azure.com/`` as Bearer. The base is
``https://management.azure.com`` unless ``AZURE_RESOURCE_MANAGER_URL`` names another.

The role: "AzureML Data Scientist" (``f6c7c914-8db3-469d-8ca1-694a8f32e121``), "Can perform
all actions within an Azure Machine Learning workspace, except for creating or deleting
compute resources and modifying the workspace itself" (Azure built-in roles, AI + machine
learning, https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning#azureml-data-scientist):
its actions are ``Microsoft.MachineLearningServices/workspaces/*/read|write|delete|action``,
which cover submitting jobs, registering models and creating online endpoints and
deployments ("Manage access to Azure Machine Learning workspaces", default roles,
https://learn.microsoft.com/azure/machine-learning/how-to-assign-roles). It is assigned on the
workspace only, the least scope that works.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .auth import Credential
from .client import AzureDevOpsClient, quote
from .errors import AzureDevOpsError

RESOURCE_MANAGER_URL_VARIABLE = "AZURE_RESOURCE_MANAGER_URL"
RESOURCE_MANAGER_URL = "https://management.azure.com"
RESOURCE_GROUPS_API = "2021-04-01"
WORKSPACES_API = "2024-04-01"
IDENTITIES_API = "2023-01-31"
AUTHORIZATION_API = "2022-04-01"
ROLE_ID = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
ROLE_NAME = "AzureML Data Scientist"
AUDIENCE = "api://AzureADTokenExchange"
# How long a just-created identity may take to replicate before a role assignment sees it.
REPLICATION_TIMEOUT = 120.0

Json = dict[str, Any]


class ArmClient(AzureDevOpsClient):
    """Azure Resource Manager's REST API: the Azure DevOps client's retries and errors."""

    SERVICE = "Azure Resource Manager"
    SIGN_IN_ADVICE = (  # a PAT is for Azure DevOps only; Resource Manager takes Entra tokens
        "Run 'az login' as a user of the subscription's tenant (az login --tenant <tenant id> "
        "when it is another one), then run provision again"
    )

    def __init__(self, credential: Credential, base_url: str | None = None, **kwargs: Any):
        base = base_url or os.environ.get(RESOURCE_MANAGER_URL_VARIABLE) or RESOURCE_MANAGER_URL
        super().__init__(base, base, credential, **kwargs)

    def __repr__(self) -> str:
        return f"ArmClient({self.rest_url!r})"

    def send(
        self,
        method: str,
        path: str,
        *,
        api_version: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        read_only: bool = False,
    ) -> tuple[Any, Any]:
        """One call, and its answer's headers (ARM's asynchronous pattern lives in them).

        ``path`` may be a whole URL that ARM gave (``Location``, ``Azure-AsyncOperation``):
        its own query (api-version included) is kept. ``read_only``: a POST that changes
        nothing (what-if), so it is not counted as a write.
        """
        if path.startswith(("http://", "https://")):
            split = urlsplit(path)
            query = dict(parse_qsl(split.query))
            api_version = query.pop("api-version", api_version)
            params = {**query, **(params or {})}
            path = split.path
        answer = self._send(method, path, params or {}, body, api_version, False)
        if read_only and method != "GET":
            with self._lock:
                self.counters.writes -= 1
        return answer


def role_assignment_command(principal_id: str, scope: str) -> str:
    """The ``az`` command that grants the role by hand (for a user without that right)."""
    return (
        f"az role assignment create --assignee-object-id {principal_id} "
        f'--assignee-principal-type ServicePrincipal --role "{ROLE_NAME}" --scope {scope}'
    )


class AzureResources:
    """The subscription's resources the pipelines' identity needs."""

    def __init__(self, client: ArmClient, subscription_id: str) -> None:
        self.client = client
        self.subscription = f"/subscriptions/{quote(subscription_id)}"

    def _get(self, path: str, api_version: str) -> Json | None:
        return self.client.get_or_none(path, api_version=api_version)

    def group_path(self, group: str) -> str:
        return f"{self.subscription}/resourcegroups/{quote(group)}"

    def identity_path(self, group: str, name: str) -> str:
        return (
            f"{self.group_path(group)}/providers/Microsoft.ManagedIdentity/"
            f"userAssignedIdentities/{quote(name)}"
        )

    # -- lookups ---------------------------------------------------------------------------

    def resource_group(self, group: str) -> Json | None:
        """[Resource Groups - Get]"""
        return self._get(self.group_path(group), RESOURCE_GROUPS_API)

    def workspace(self, group: str, name: str) -> Json | None:
        """[Workspaces - Get]"""
        path = (
            f"{self.group_path(group)}/providers/Microsoft.MachineLearningServices/"
            f"workspaces/{quote(name)}"
        )
        return self._get(path, WORKSPACES_API)

    def identity(self, group: str, name: str) -> Json | None:
        """[User Assigned Identities - Get]"""
        return self._get(self.identity_path(group, name), IDENTITIES_API)

    def identity_by_client_id(self, client_id: str) -> Json | None:
        """The subscription's user-assigned identity with this client id, None if none is
        (an app registration, or an identity elsewhere) [User Assigned Identities - List By
        Subscription]."""
        url: str | None = (
            f"{self.subscription}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
        )
        wanted = client_id.strip().lower()
        while url:  # ARM pages through ``nextLink`` (x-ms-pageable in the spec)
            page, _ = self.client.send("GET", url, api_version=IDENTITIES_API)
            for identity in (page or {}).get("value", []):
                if str((identity.get("properties") or {}).get("clientId", "")).lower() == wanted:
                    return identity
            url = (page or {}).get("nextLink")
        return None

    def federated_credentials(self, group: str, identity: str) -> list[Json]:
        """[Federated Identity Credentials - List]"""
        path = f"{self.identity_path(group, identity)}/federatedIdentityCredentials"
        return self.client.list(path, api_version=IDENTITIES_API)

    def role_assignments(self, scope: str, principal_id: str) -> list[Json]:
        """The principal's assignments at and above ``scope`` [Role Assignments - List For Scope]"""
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        return self.client.list(
            path,
            params={"$filter": f"principalId eq '{principal_id}'"},
            api_version=AUTHORIZATION_API,
        )

    # -- changes: every one a PUT to a name of ours, so sending it again changes nothing ------

    def create_identity(self, group: str, name: str, location: str, description: str) -> Json:
        """[User Assigned Identities - Create Or Update]"""
        body = {"location": location, "tags": {"created-by": description}}
        return self.client.put(self.identity_path(group, name), body, api_version=IDENTITIES_API)

    def create_federated_credential(
        self, group: str, identity: str, name: str, issuer: str, subject: str
    ) -> Json:
        """[Federated Identity Credentials - Create Or Update]"""
        path = f"{self.identity_path(group, identity)}/federatedIdentityCredentials/{quote(name)}"
        body = {"properties": {"issuer": issuer, "subject": subject, "audiences": [AUDIENCE]}}
        return self.client.put(path, body, api_version=IDENTITIES_API)

    def assign_role(
        self,
        scope: str,
        principal_id: str,
        *,
        timeout: float = REPLICATION_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Json:
        """Give the principal the role on ``scope`` [Role Assignments - Create].

        The assignment's name is derived from scope, principal and role, so a second PUT
        is the same assignment (or ``RoleAssignmentExists``, 409, which is success here).
        ``principalType`` is set, so that a just-created identity is not refused while it
        replicates ("Create a role assignment for a new service principal",
        https://learn.microsoft.com/azure/role-based-access-control/role-assignments-rest);
        a ``PrincipalNotFound`` is still retried for up to ``timeout`` seconds.
        """
        name = uuid.uuid5(uuid.NAMESPACE_URL, f"{scope.lower()}|{principal_id}|{ROLE_ID}")
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        body = {
            "properties": {
                "roleDefinitionId": (
                    f"{self.subscription}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{ROLE_ID}"
                ),
                "principalId": principal_id,
                "principalType": "ServicePrincipal",
                "description": "mlops-template: the pipelines' identity uses the workspace",
            }
        }
        deadline = time.monotonic() + timeout
        delay = 2.0
        while True:
            try:
                return self.client.put(path, body, api_version=AUTHORIZATION_API)
            except AzureDevOpsError as error:
                if error.type_key == "RoleAssignmentExists":
                    return {"name": str(name), "properties": body["properties"]}
                if error.type_key != "PrincipalNotFound" or time.monotonic() > deadline:
                    raise
            sleep(delay)
            delay = min(delay * 2, 15.0)


def has_role(assignments: list[Json], scope: str) -> bool:
    """Whether one of these assignments gives the role at ``scope`` or above it."""
    for assignment in assignments:
        properties = assignment.get("properties") or {}
        role = str(properties.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
        at = str(properties.get("scope", "")).lower().rstrip("/")
        if role == ROLE_ID and scope.lower().startswith(at):
            return True
    return False
