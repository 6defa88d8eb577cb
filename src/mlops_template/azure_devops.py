"""The Azure DevOps resources provisioning reads and creates: routes, api-versions, bodies.

One method per question ("which environments exist?") or change ("create this
environment"), as Microsoft's REST reference describes them: each method names its
page under https://learn.microsoft.com/rest/api/azure/devops/ (area/resource/operation,
e.g. ``core/projects/get``) in brackets. Nothing here decides what to do: see ``plan``.
"""

from __future__ import annotations

from typing import Any

from . import bodies
from .bodies import APPROVAL_CHECK_TYPE, ROOT_FOLDER, Json
from .client import PREVIEW, AzureDevOpsClient, quote
from .errors import AzureDevOpsError


def named(items: list[Json], name: str) -> Json | None:
    """The item called ``name`` (Azure DevOps compares names case-insensitively)."""
    return next((item for item in items if item.get("name", "").lower() == name.lower()), None)


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

    def ref(self, repository_id: str, name: str) -> str | None:
        """The commit the ref ``name`` (``refs/...``) points at, or None [git/refs/list]."""
        refs = self.client.list(
            f"{self.p}/_apis/git/repositories/{repository_id}/refs",
            params={"filter": name.removeprefix("refs/")},  # a prefix: keep the exact name
        )
        return next((ref["objectId"] for ref in refs if ref.get("name") == name), None)

    def commit(self, repository_id: str, commit_id: str) -> Json:
        """One commit: its comment, author and committer [git/commits/get]."""
        return self.client.get(
            f"{self.p}/_apis/git/repositories/{repository_id}/commits/{commit_id}"
        )

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
                "queryMembership": "none",  # lower case, as ims/7.1/identities.json defines it
            },
        )
        return identities[0]["id"] if identities else None

    def runs(self, pipeline_id: int) -> list[Json]:
        """The pipeline's runs, newest first [pipelines/runs/list]."""
        return self.client.list(f"{self.p}/_apis/pipelines/{pipeline_id}/runs")

    # -- changes (bodies: see ``bodies``) ---------------------------------------------

    def run_pipeline(self, pipeline_id: int, ref: str) -> Json:
        """Queue a run of ``ref`` [pipelines/runs/run-pipeline]."""
        body = {"resources": {"repositories": {"self": {"refName": ref}}}}
        return self.client.post(f"{self.p}/_apis/pipelines/{pipeline_id}/runs", body)

    def create_project(self, description: str) -> Json:
        """Queue the project creation (default process); an operation [core/projects/create]."""
        processes = self.client.list("_apis/process/processes")
        default = next((p for p in processes if p.get("isDefault")), None)
        body = bodies.project(self.project_name, description, default["id"] if default else None)
        return self.client.post("_apis/projects", body)

    def create_repository(self, name: str) -> Json:
        """Create an empty repository [git/repositories/create]."""
        return self.client.post(f"{self.p}/_apis/git/repositories", {"name": name})

    def set_default_branch(self, repository_id: str, ref: str) -> Json:
        """Make ``ref`` the default branch [git/repositories/update]."""
        path = f"{self.p}/_apis/git/repositories/{repository_id}"
        return self.client.patch(path, {"defaultBranch": ref})

    def commit_file(self, repository_id: str, ref: str, old: str, path: str, content: str) -> str:
        """One commit writing ``path`` onto ``ref``, only if the ref is still ``old`` (forty
        zeros: only if it does not exist); the new commit's id [git/pushes/create].

        A stale ``old`` is refused (AlreadyExistsError: HTTP 409, TF401028).
        """
        body = bodies.file_commit(ref, old, path, content)
        push = self.client.post(f"{self.p}/_apis/git/repositories/{repository_id}/pushes", body)
        return str(push["refUpdates"][0]["newObjectId"])

    def delete_ref(self, repository_id: str, name: str, old: str) -> bool:
        """Delete the ref if it still points at ``old``; whether it did [git/refs/update-refs]."""
        update = {"name": name, "oldObjectId": old, "newObjectId": bodies.NO_COMMIT}
        path = f"{self.p}/_apis/git/repositories/{repository_id}/refs"
        (result,) = (self.client.post(path, [update]) or {}).get("value") or [{}]
        return bool(result.get("success"))

    def create_environment(self, name: str, description: str) -> Json:
        """Create an environment [distributedtask/environments/add]."""
        body = {"name": name, "description": description}
        return self.client.post(f"{self.p}/_apis/distributedtask/environments", body)

    def add_approval(self, environment: Json, approver_ids: list[str], instructions: str,
                     timeout: int) -> Json:  # fmt: skip
        """An Approval check on the environment [approvalsandchecks/check-configurations/add]."""
        body = bodies.approval_check(environment, approver_ids, instructions, timeout)
        path = f"{self.p}/_apis/pipelines/checks/configurations"
        return self.client.post(path, body, api_version=PREVIEW)

    def create_variable_group(self, body: Json) -> Json:
        """Create a variable group, organization route [distributedtask/variablegroups/add]."""
        return self.client.post("_apis/distributedtask/variablegroups", body)

    def update_variable_group(self, group_id: int, body: Json) -> Json:
        """Replace a variable group (full body) [distributedtask/variablegroups/update]."""
        return self.client.put(f"_apis/distributedtask/variablegroups/{group_id}", body)

    def create_endpoint(self, body: Json) -> Json:
        """Create a service connection [serviceendpoint/endpoints/create]."""
        return self.client.post("_apis/serviceendpoint/endpoints", body)

    def create_pipeline(self, name: str, yaml_path: str, repository: Json) -> Json:
        """A YAML pipeline in the root folder [pipelines/pipelines/create]."""
        body = bodies.yaml_pipeline(name, yaml_path, repository)
        return self.client.post(f"{self.p}/_apis/pipelines", body)

    def authorize_pipelines(self, resource_type: str, resource_id: str,
                            pipeline_ids: set[int]) -> Json:  # fmt: skip
        """Let these pipelines use the resource [approvalsandchecks/pipeline-permissions/update]."""
        path = f"{self.p}/_apis/pipelines/pipelinepermissions/{resource_type}/{quote(resource_id)}"
        body = {"pipelines": [{"id": pid, "authorized": True} for pid in sorted(pipeline_ids)]}
        return self.client.patch(path, body, api_version=PREVIEW)

    def create_branch_policy(self, body: Json) -> Json:
        """A branch policy [policy/configurations/create]."""
        return self.client.post(f"{self.p}/_apis/policy/configurations", body)
