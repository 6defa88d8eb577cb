"""The bodies of the requests that create things, as Microsoft's REST reference describes them.

Pure functions: values in, a JSON-ready dict out. Each names its page under
https://learn.microsoft.com/rest/api/azure/devops/ in brackets.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

APPROVAL_CHECK_TYPE = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
MIN_REVIEWERS_POLICY = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
BUILD_VALIDATION_POLICY = "0609b952-1397-4640-95ec-e00a01b2c241"
ROOT_FOLDER = "\\"
# The object id git and Azure Repos use for "no commit": a ref that does not exist.
NO_COMMIT = "0" * 40


def project(name: str, description: str, process_id: str | None) -> Json:
    """A private Git project with the given process [core/projects/create]."""
    capabilities: Json = {"versioncontrol": {"sourceControlType": "Git"}}
    if process_id:
        capabilities["processTemplate"] = {"templateTypeId": process_id}
    return {
        "name": name,
        "description": description,
        "visibility": "private",
        "capabilities": capabilities,
    }


def project_reference(project: Json, name: str, description: str) -> list[Json]:
    """The ``…ProjectReferences`` list that shares an org-level resource with the project."""
    return [
        {
            "name": name,
            "description": description,
            "projectReference": {"id": project["id"], "name": project["name"]},
        }
    ]


def approval_check(
    environment: Json, approver_ids: list[str], instructions: str, timeout: int
) -> Json:
    """An Approval check: one approver suffices [approvalsandchecks/check-configurations/add]."""
    return {
        "type": {"id": APPROVAL_CHECK_TYPE, "name": "Approval"},
        "settings": {
            "approvers": [{"id": identity} for identity in approver_ids],
            "executionOrder": "anyOrder",
            "minRequiredApprovers": 1,
            "instructions": instructions,
            "blockedApprovers": [],
            "requesterCannotBeApprover": False,
        },
        "resource": {"type": "environment", "id": str(environment["id"]),
                     "name": environment["name"]},
        "timeout": timeout,
    }  # fmt: skip


def variable_group(name: str, description: str, variables: Json, project: Json) -> Json:
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


def federated_endpoint(
    name: str, description: str, project: Json, *, subscription_id: str, tenant_id: str,
    client_id: str,
) -> Json:  # fmt: skip
    """An Azure Resource Manager connection, workload identity federation, created manually.

    [serviceendpoint/endpoints/create]
    """
    return {
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


def yaml_pipeline(name: str, yaml_path: str, repository: Json) -> Json:
    """A YAML pipeline in the root folder [pipelines/pipelines/create]."""
    return {
        "name": name,
        "folder": ROOT_FOLDER,
        "configuration": {
            "type": "yaml",
            "path": "/" + yaml_path.lstrip("/"),
            "repository": {"id": repository["id"], "name": repository["name"],
                           "type": "azureReposGit"},
        },
    }  # fmt: skip


def branch_policy(policy_type: str, repository: Json, ci_pipeline: Json) -> Json:
    """A blocking, enabled policy on ``main``: one reviewer, or the CI build.

    [policy/configurations/create]
    """
    scope = [{"repositoryId": repository["id"], "refName": "refs/heads/main",
              "matchKind": "exact"}]  # fmt: skip
    if policy_type == MIN_REVIEWERS_POLICY:
        settings: Json = {
            "minimumApproverCount": 1,
            "creatorVoteCounts": False,
            "allowDownvotes": False,
            "resetOnSourcePush": True,
        }
    else:
        settings = {
            "buildDefinitionId": ci_pipeline["id"],
            "displayName": ci_pipeline["name"],
            "queueOnSourceUpdateOnly": True,
            "manualQueueOnly": False,
            "validDuration": 720,
        }
    return {
        "isEnabled": True,
        "isBlocking": True,
        "type": {"id": policy_type},
        "settings": {**settings, "scope": scope},
    }


def file_commit(ref: str, old: str, path: str, content: str) -> Json:
    """A push of one commit that writes ``path`` (added on a new ref, else edited), with
    ``content`` as its comment too ("Pushes - Create",
    https://learn.microsoft.com/rest/api/azure/devops/git/pushes/create)."""
    change = {
        "changeType": "add" if old == NO_COMMIT else "edit",
        "item": {"path": path},
        "newContent": {"content": content, "contentType": "rawText"},
    }
    return {
        "refUpdates": [{"name": ref, "oldObjectId": old}],
        "commits": [{"comment": content, "changes": [change]}],
    }
