"""The Azure DevOps resources provisioning reads and creates: routes, api-versions, bodies.

One method per question ("which environments exist?") or change ("create this
environment"), as Microsoft's REST reference describes them: each method names its
page under https://learn.microsoft.com/rest/api/azure/devops/ (area/resource/operation,
e.g. ``core/projects/get``) in brackets. Nothing here decides what to do: see ``plan``.
"""

from __future__ import annotations

from typing import Any

from .client import PREVIEW, AzureDevOpsClient, quote
from .errors import AzureDevOpsError

Json = dict[str, Any]

APPROVAL_CHECK_TYPE = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
MIN_REVIEWERS_POLICY = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
BUILD_VALIDATION_POLICY = "0609b952-1397-4640-95ec-e00a01b2c241"
ROOT_FOLDER = "\\"


def named(items: list[Json], name: str) -> Json | None:
    """The item called ``name`` (Azure DevOps compares names case-insensitively)."""
    return next((item for item in items if item.get("name", "").lower() == name.lower()), None)


def project_reference(project: Json, name: str, description: str) -> list[Json]:
    """The ``…ProjectReferences`` list that shares an org-level resource with the project."""
    return [
        {
            "name": name,
            "description": description,
            "projectReference": {"id": project["id"], "name": project["name"]},
        }
    ]


class AzureDevOps:
    """The resources of one Azure DevOps project (``project``: its name or id)."""

    def __init__(self, client: AzureDevOpsClient, project: str) -> None:
        self.client = client
        self.p = quote(project)
        self.project_name = project

    # -- lookups (GET only) -------------------------------------------------------

    def _list_or_empty(self, path: str, **kwargs: Any) -> list[Json]:
        """A project-scoped list; empty when the project itself does not exist."""
        try:
            return self.client.list(path, **kwargs)
        except AzureDevOpsError as error:
            if error.status == 404:
                return []
            raise

    def owner(self) -> Json:
        """Who the token belongs to: ``authenticatedUser`` of connectionData.

        [location: connectionData]
        """
        data = self.client.get("_apis/connectionData", api_version=PREVIEW) or {}
        return data.get("authenticatedUser") or {}

    def project(self) -> Json | None:
        """The project [core/projects/get], or None."""
        return self.client.get_or_none(f"_apis/projects/{self.p}")

    def operation(self, operation_id: str) -> Json:
        """An asynchronous operation, e.g. a project creation.

        [core/projects/create; operations/operations/get]
        """
        return self.client.get(f"_apis/operations/{operation_id}")

    def repository(self, name: str) -> Json | None:
        """The repository (with its ``project``), or None (also when the project is missing).

        [git/repositories/get-repository]
        """
        return self.client.get_or_none(f"{self.p}/_apis/git/repositories/{quote(name)}")

    def heads(self, repository_id: str) -> dict[str, str]:
        """Branch ref name -> commit [git/refs/list]."""
        refs = self.client.list(
            f"{self.p}/_apis/git/repositories/{repository_id}/refs",
            params={"filter": "heads/"},
        )
        return {ref["name"]: ref["objectId"] for ref in refs}

    def environments(self) -> dict[str, Json]:
        """Environments by lower-case name [distributedtask/environments]."""
        items = self._list_or_empty(f"{self.p}/_apis/distributedtask/environments", page_size=100)
        return {item["name"].lower(): item for item in items}

    def has_approval(self, environment: Json) -> bool:
        """Whether the environment has an Approval check.

        [approvalsandchecks/check-configurations]
        """
        checks = self.client.list(
            f"{self.p}/_apis/pipelines/checks/configurations",
            api_version=PREVIEW,
            params={
                "resourceType": "environment",
                "resourceId": str(environment["id"]),
                "$expand": "settings",
            },
        )
        return any(c.get("type", {}).get("id") == APPROVAL_CHECK_TYPE for c in checks)

    def variable_group(self, name: str) -> Json | None:
        """The variable group [distributedtask/variablegroups], or None."""
        items = self._list_or_empty(
            f"{self.p}/_apis/distributedtask/variablegroups", params={"groupName": name}
        )
        return named(items, name)

    def endpoint(self, name: str) -> Json | None:
        """The service connection [serviceendpoint/endpoints], or None."""
        items = self._list_or_empty(
            f"{self.p}/_apis/serviceendpoint/endpoints", params={"endpointNames": name}
        )
        return named(items, name)

    def pipelines(self) -> dict[str, Json]:
        """Pipelines of the root folder by lower-case name [pipelines/pipelines/list]."""
        items = self._list_or_empty(
            f"{self.p}/_apis/pipelines", page_size=100, params={"orderBy": "name asc"}
        )
        return {
            item["name"].lower(): item
            for item in items
            if item.get("folder", ROOT_FOLDER) == ROOT_FOLDER
        }

    def pipeline_permissions(self, resource_type: str, resource_id: str) -> Json:
        """Which pipelines may use a resource [approvalsandchecks/pipeline-permissions]."""
        path = f"{self.p}/_apis/pipelines/pipelinepermissions/{resource_type}/{quote(resource_id)}"
        return self.client.get(path, api_version=PREVIEW) or {}

    def branch_policies(self, repository_id: str, ref: str) -> dict[str, Json]:
        """Policies on ``ref`` by policy type id [policy/configurations]."""
        items = self.client.list(
            f"{self.p}/_apis/git/policy/configurations",
            params={"repositoryId": repository_id, "refName": ref},
        )
        found: dict[str, Json] = {}
        for item in items:
            found.setdefault(item.get("type", {}).get("id", ""), item)
        return found

    def identity(self, email: str) -> str | None:
        """The identity id of an e-mail address [ims/identities/read-identities], or None."""
        identities = self.client.list(
            "_apis/identities",
            identity=True,
            params={
                "searchFilter": "General",
                "filterValue": email,
                "queryMembership": "None",
            },
        )
        return identities[0]["id"] if identities else None

    # -- changes ----------------------------------------------------------------------

    def create_project(self, description: str) -> Json:
        """Queue the project's creation with the default process; returns an operation.

        [core/projects/create]
        """
        processes = self.client.list("_apis/process/processes")
        default = next((p for p in processes if p.get("isDefault")), None)
        capabilities: Json = {"versioncontrol": {"sourceControlType": "Git"}}
        if default:
            capabilities["processTemplate"] = {"templateTypeId": default["id"]}
        body = {
            "name": self.project_name,
            "description": description,
            "visibility": "private",
            "capabilities": capabilities,
        }
        return self.client.post("_apis/projects", body)

    def create_repository(self, name: str) -> Json:
        """Create an empty repository [git/repositories/create]."""
        return self.client.post(f"{self.p}/_apis/git/repositories", {"name": name})

    def set_default_branch(self, repository_id: str, ref: str) -> Json:
        """Make ``ref`` the default branch [git/refs/list]."""
        return self.client.patch(
            f"{self.p}/_apis/git/repositories/{repository_id}", {"defaultBranch": ref}
        )

    def create_environment(self, name: str, description: str) -> Json:
        """Create an environment [distributedtask/environments]."""
        return self.client.post(
            f"{self.p}/_apis/distributedtask/environments",
            {"name": name, "description": description},
        )

    def add_approval(
        self,
        environment: Json,
        approver_ids: list[str],
        instructions: str,
        timeout: int,
    ) -> Json:
        """An Approval check on the environment: any one approver suffices.

        [approvalsandchecks/check-configurations]
        """
        body = {
            "type": {"id": APPROVAL_CHECK_TYPE, "name": "Approval"},
            "settings": {
                "approvers": [{"id": identity} for identity in approver_ids],
                "executionOrder": "anyOrder",
                "minRequiredApprovers": 1,
                "instructions": instructions,
                "blockedApprovers": [],
                "requesterCannotBeApprover": False,
            },
            "resource": {
                "type": "environment",
                "id": str(environment["id"]),
                "name": environment["name"],
            },
            "timeout": timeout,
        }
        return self.client.post(
            f"{self.p}/_apis/pipelines/checks/configurations", body, api_version=PREVIEW
        )

    @staticmethod
    def variable_group_body(name: str, description: str, variables: Json, project: Json) -> Json:
        """A variable group shared with the project [distributedtask/variablegroups/add].

        Secret variables are ``{"value": ..., "isSecret": true}``.
        """
        return {
            "name": name,
            "description": description,
            "type": "Vsts",
            "variables": variables,
            "variableGroupProjectReferences": project_reference(project, name, description),
        }

    def create_variable_group(self, body: Json) -> Json:
        """Create a variable group, on the organization route.

        [distributedtask/variablegroups/add]
        """
        return self.client.post("_apis/distributedtask/variablegroups", body)

    def update_variable_group(self, group_id: int, body: Json) -> Json:
        """Replace a variable group (full body, organization route).

        [distributedtask/variablegroups]
        """
        return self.client.put(f"_apis/distributedtask/variablegroups/{group_id}", body)

    def create_federated_endpoint(
        self,
        name: str,
        description: str,
        project: Json,
        *,
        subscription_id: str,
        tenant_id: str,
        client_id: str,
    ) -> Json:
        """An Azure Resource Manager connection, workload identity federation, manual.

        [serviceendpoint/endpoints]
        """
        body = {
            "name": name,
            "type": "AzureRM",
            "url": "https://management.azure.com/",
            "description": description,
            "owner": "library",
            "data": {
                "environment": "AzureCloud",
                "scopeLevel": "Subscription",
                "subscriptionId": subscription_id,
                "subscriptionName": subscription_id,
                "creationMode": "Manual",
            },
            "authorization": {
                "scheme": "WorkloadIdentityFederation",
                "parameters": {"tenantid": tenant_id, "serviceprincipalid": client_id},
            },
            "isShared": False,
            "serviceEndpointProjectReferences": project_reference(project, name, description),
        }
        return self.client.post("_apis/serviceendpoint/endpoints", body)

    def create_pipeline(self, name: str, yaml_path: str, repository: Json) -> Json:
        """A YAML pipeline in the root folder [pipelines/pipelines/create]."""
        body = {
            "name": name,
            "folder": ROOT_FOLDER,
            "configuration": {
                "type": "yaml",
                "path": "/" + yaml_path.lstrip("/"),
                "repository": {
                    "id": repository["id"],
                    "name": repository["name"],
                    "type": "azureReposGit",
                },
            },
        }
        return self.client.post(f"{self.p}/_apis/pipelines", body)

    def authorize_pipelines(
        self, resource_type: str, resource_id: str, pipeline_ids: set[int]
    ) -> Json:
        """Let these pipelines use the resource [approvalsandchecks/pipeline-permissions]."""
        path = f"{self.p}/_apis/pipelines/pipelinepermissions/{resource_type}/{quote(resource_id)}"
        body = {"pipelines": [{"id": pid, "authorized": True} for pid in sorted(pipeline_ids)]}
        return self.client.patch(path, body, api_version=PREVIEW)

    @staticmethod
    def policy_settings(policy_type: str, repository: Json, ci_pipeline: Json) -> Json:
        """What each of the two branch policies on ``main`` holds [policy/configurations]."""
        scope = [
            {"repositoryId": repository["id"], "refName": "refs/heads/main", "matchKind": "exact"}
        ]
        if policy_type == MIN_REVIEWERS_POLICY:
            return {
                "minimumApproverCount": 1,
                "creatorVoteCounts": False,
                "allowDownvotes": False,
                "resetOnSourcePush": True,
                "scope": scope,
            }
        return {
            "buildDefinitionId": ci_pipeline["id"],
            "displayName": ci_pipeline["name"],
            "queueOnSourceUpdateOnly": True,
            "manualQueueOnly": False,
            "validDuration": 720,
            "scope": scope,
        }

    def create_branch_policy(self, policy_type: str, settings: Json) -> Json:
        """A blocking, enabled branch policy [policy/configurations]."""
        body = {
            "isEnabled": True,
            "isBlocking": True,
            "type": {"id": policy_type},
            "settings": settings,
        }
        return self.client.post(f"{self.p}/_apis/policy/configurations", body)
