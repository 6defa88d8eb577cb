"""What is left for a person after a run: the Azure steps the tool could not take.

The service connection's Entra step (its federated credential), the roles someone with the
right to assign them gives, and what a deployment left for an Owner; ``report`` prints them.
"""

from __future__ import annotations

import json
import re

from .arm import ROLE_NAME
from .azure_lookup import AzureState
from .lookup import State
from .settings import Settings


def follow_up(settings: Settings, state: State) -> list[str]:
    """What is left for a person to do, outside Azure DevOps or without the token."""
    notes = []
    if state.azure_problem and settings.azure_client_id:
        notes.append(
            f"The Azure side was not deployed ({state.azure_problem}): run 'az login' and "
            "provision again."
        )
    elif state.azure_problem:
        notes.append(
            f"The pipelines' Azure identity was not created ({state.azure_problem}): run "
            "'az login' and provision again, or pass --client-id with an existing identity."
        )
    deploy = state.azure.deploy if state.azure else None
    notes += [
        f"Left for someone who may do it (e.g. an Owner of the subscription), then run "
        f"provision again: {command}"
        for command in (deploy.manual if deploy else [])
    ]
    return notes + _service_connection_steps(settings, state)


def _role_steps(state: State) -> list[str]:
    """The roles of the pipelines' identity left for someone who may assign them."""
    azure = state.azure
    if azure is None:
        return []
    steps = [
        f"Give the pipelines' identity its role (you may not assign roles; someone who "
        f"may, e.g. an Owner or User Access Administrator, runs): {command}"
        for command in azure.manual
    ]
    if azure.client_id and not azure.principal_id:
        steps += [
            f"Give the identity {azure.client_id} its role (it is no user-assigned identity of "
            "the subscription that Resource Manager showed, e.g. an app registration, so its "
            f"object id is not known here; run, or ask an Owner to run): {command}"
            for command in given_identity_commands(azure)
        ]
    return steps


def given_identity_commands(azure: AzureState) -> list[str]:
    """The ``az`` commands that give --client-id's identity its two roles (``--assignee``
    takes a client id: "az role assignment create",
    https://learn.microsoft.com/cli/azure/role/assignment#az-role-assignment-create)."""
    deploy = azure.deploy
    commands = []
    workspace = azure.scope or (
        deploy.names.resource_id("Microsoft.MachineLearningServices/workspaces",
                                 deploy.names.workspace) if deploy else ""
    )  # fmt: skip
    if workspace:
        commands.append(
            f'az role assignment create --assignee {azure.client_id} --role "{ROLE_NAME}" '
            f"--scope {workspace}"
        )
    if deploy is not None:
        names = deploy.names
        storage = names.resource_id("Microsoft.Storage/storageAccounts", names.storage_account)
        commands.append(
            f'az role assignment create --assignee {azure.client_id} --role "Storage Blob '
            f'Data Reader" --scope {storage}/blobServices/default/containers/{names.container}'
        )
    return commands


def _service_connection_steps(settings: Settings, state: State) -> list[str]:
    return _connection_steps(settings, state) + _role_steps(state)


def _connection_steps(settings: Settings, state: State) -> list[str]:
    s, name = settings, settings.names.service_connection
    if state.endpoint is None:
        missing = [
            option
            for option, value in (
                ("--subscription-id", s.azure_subscription_id),
                ("--tenant-id", s.azure_tenant_id),
                ("--client-id", s.azure_client_id),
            )
            if not value
        ]
        return [
            f"Create the service connection {name!r}: in Azure DevOps, Project settings > "
            "Service connections > New > Azure Resource Manager > Workload identity "
            f"federation, with exactly that name; or run provision with {', '.join(missing)} "
            "(an app registration or managed identity) to create it. Run provision again "
            "afterwards to authorize the pipelines to use it."
        ]
    if state.azure is not None and not state.azure.client_id:
        return []  # the tool made the identity and its credential
    parameters = (state.endpoint.get("authorization") or {}).get("parameters") or {}
    issuer = parameters.get("workloadIdentityFederationIssuer")
    subject = parameters.get("workloadIdentityFederationSubject")
    if not (issuer and subject):
        return []
    client_id = parameters.get("serviceprincipalid") or s.azure_client_id or "<client id>"
    credential = json.dumps(
        {
            "name": f"{settings.names.slug}-azure-devops",
            "issuer": issuer,
            "subject": subject,
            "audiences": ["api://AzureADTokenExchange"],
        }
    )
    given = state.azure.given if state.azure is not None else None
    if given is not None:  # a user-assigned identity: "az identity federated-credential create"
        found = re.search(r"/resourcegroups/([^/]+)/", str(given.get("id", "")), re.IGNORECASE)
        group = found.group(1) if found else "<resource group>"
        command = (
            f"az identity federated-credential create --name {settings.names.slug}-azure-devops "
            f"--identity-name {given.get('name')} --resource-group {group} --issuer {issuer} "
            f"--subject {subject} --audiences api://AzureADTokenExchange"
        )
    else:
        command = (
            f"az ad app federated-credential create --id {client_id} --parameters '{credential}'"
        )
    return [
        f"Entra step for {name!r}: give the identity {client_id} a federated credential "
        f"with issuer {issuer} and subject {subject} (audience api://AzureADTokenExchange), "
        f"e.g. {command}"
        + (
            "."
            if state.azure is not None  # its roles are given by the tool (or told below)
            else "; then give it a role (e.g. Contributor) on the Azure ML resource group."
        )
    ]
