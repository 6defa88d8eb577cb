"""Carry out the Azure side's actions: the resource group, then the one deployment.

The template sent is made again from the state as it is now (the pipelines' identity may
have been created a moment ago), with the same literal values the what-if showed. A
deployment found running is waited for, never started again; a failed one is started again
under the same name, which completes it (incremental mode leaves what exists).
"""

from __future__ import annotations

from typing import Any

from .actions import Action
from .auth import SignInError
from .blobs import BlobError, upload_command
from .deploy_lookup import make_template
from .deployments import DeploymentFailed, Deployments
from .errors import PermissionDeniedError
from .template import BLOB_CONTRIBUTOR, BLOB_READER, SETTING_OF_TYPE, TAG

Json = dict[str, Any]


class DeploymentError(RuntimeError):
    """The deployment failed; the message names the resource, ARM's error and what to change."""


def group_command(group: str, location: str, subscription: str, slug: str) -> str:
    return (
        f"az group create --name {group} --location {location} --subscription {subscription} "
        f"--tags {TAG}={slug}"
    )


def deployment_command(group: str, name: str, subscription: str) -> str:
    return (
        f"mlops-template provision --export-template azure.json && az deployment group create "
        f"--resource-group {group} --name {name} --subscription {subscription} "
        "--template-file azure.json --mode Incremental"
    )


def create_group(azure: Any, deployments: Deployments, action: Action) -> bool:
    """Create the resource group; False (and the command, kept in ``manual``) if refused."""
    deploy = azure.deploy
    names = deploy.names
    try:
        azure.group = deployments.create_group(names.group, names.location, deploy.tags)
    except PermissionDeniedError:
        deploy.manual.append(
            group_command(names.group, names.location, names.subscription, names.slug)
        )
        deploy.blocked = True
        return False
    return True


def deploy(azure: Any, deployments: Deployments, workspace_lookup: Any) -> None:
    """Start the deployment (unless one runs), wait for it, then read the workspace."""
    state = azure.deploy
    group = state.names.group
    if azure.group is None:
        return  # the group could not be made: its command is in manual already
    status_url = ""
    if not state.running:
        state.template = make_template(state, azure)
        try:
            status_url = deployments.start(group, state.name, state.template, state.tags)
        except PermissionDeniedError:
            state.manual.append(deployment_command(group, state.name, state.names.subscription))
            state.blocked = True
            return
    else:
        deployments.on_event(f"deployment {state.name} is running already; waiting for it")
    try:
        deployments.wait(group, state.name, status_url)
    except DeploymentFailed as error:
        refused = _refused_roles(state, error)
        if refused is None:
            raise DeploymentError(_explained(str(error))) from None
        state.manual.extend(refused)  # all else is deployed; a person with the right does these
    azure.workspace = workspace_lookup()


ROLE_NAMES = {
    BLOB_READER: "Storage Blob Data Reader",
    BLOB_CONTRIBUTOR: "Storage Blob Data Contributor",
}


def _refused_roles(state: Any, error: DeploymentFailed) -> list[str] | None:
    """The ``az`` commands for role assignments ARM refused; None if anything else failed."""
    kind = "Microsoft.Authorization/roleAssignments"
    if not error.failures or any(
        (t, code) != (kind, "AuthorizationFailed") for t, _, code in error.failures
    ):
        return None
    refused = {name for _, name, _ in error.failures}
    commands = []
    for resource in state.template.get("resources", []):
        if resource["type"] == kind and resource["name"] in refused:
            props = resource["properties"]
            role = ROLE_NAMES.get(props["roleDefinitionId"].rsplit("/", 1)[-1], "?")
            commands.append(
                f"az role assignment create --assignee-object-id {props['principalId']} "
                f'--assignee-principal-type {props["principalType"]} --role "{role}" '
                f"--scope {resource['scope']}"
            )
    return commands


def _explained(message: str) -> str:
    """ARM's failure, with the setting to change when it is a quota or region refusal."""
    hints = []
    quota = ("SkuNotAvailable", "QuotaExceeded", "OperationNotAllowed", "LocationNotAvailable")
    if any(code in message for code in quota):
        for kind, setting in SETTING_OF_TYPE.items():
            if kind in message:
                hints.append(f"change {setting} in azure-devops.json")
        hints.append("or change azure.location in azure-devops.json (another region)")
    if "AuthorizationFailed" in message:
        hints.append(
            "you may not create that resource: ask an Owner or Contributor of the resource "
            "group to run provision"
        )
    return message + (f" ({'; '.join(hints)})" if hints else "")


def upload(state: Any, deployments: Deployments) -> None:
    """Put the training data in the container, unless a blob of its name is there."""
    if state.data_file is None or deployments.blobs is None or state.blocked:
        return
    try:
        if not deployments.blobs.upload(state.data_file, state.blob_name):
            deployments.on_event(f"blob {state.blob_name} exists already: kept as it is")
        state.blob_exists = True
    except (BlobError, SignInError) as error:
        if getattr(error, "status", 0) != 403 and not isinstance(error, SignInError):
            raise DeploymentError(str(error)) from None
        names = state.names  # not allowed (yet): all else is done; say the command
        state.manual.append(
            upload_command(names.storage_account, names.container, state.blob_name, state.data_file)
        )
