"""Plan the Azure side: the pipelines' identity, its federated credential and its role.

Part of ``plan.make_plan``, pure as it is: with a deployment (``deploy_plan``) the resource
group and the deployment's resources come first; without one, a missing resource group or
workspace is a blocker that names the command that makes it.
"""

from __future__ import annotations

from .actions import Action, Verb, exists_or
from .arm import ROLE_NAME
from .azure_lookup import AzureState
from .deploy_lookup import DeploymentState
from .deploy_plan import deployment_actions
from .lookup import State
from .settings import Settings


def identity_actions(state: State, settings: Settings) -> tuple[list[Action], list[str]]:
    """The pipelines' identity, its federated credential and role; blockers if RG/workspace lack."""
    azure = state.azure
    if azure is None:
        return [], []
    group = azure.resource_group
    group_key = ("resource group", group)
    blockers: list[str] = []
    deploy = azure.deploy
    before: list[Action] = []
    after: list[Action] = []
    if deploy is not None:  # the tool deploys the Azure side: the group is made when missing
        where = f"in {deploy.names.location}" if azure.group is None else ""
        before.append(Action(exists_or(Verb.CREATE, azure.group), *group_key, where))
        # --client-id's identity exists already: no role joins the template later.
        known = azure.identity is not None or bool(azure.client_id)
        after = deployment_actions(deploy, azure.group is not None, known, group_key)
    elif azure.group is None:  # without a deployment: the commands that make them
        subscription = settings.azure_subscription_id
        blockers.append(
            f"resource group {group!r} does not exist in subscription {subscription}: create "
            f"it (az group create --name {group} --location <region> --subscription "
            f"{subscription}), or set AZUREML_RESOURCE_GROUP in azure-devops.json; nothing "
            "was changed"
        )
    elif azure.workspace is None:
        subscription = settings.azure_subscription_id
        blockers.append(
            f"Azure ML workspace {azure.workspace_name!r} does not exist in resource group "
            f"{group!r}: create it (az ml workspace create --name {azure.workspace_name} "
            f"--resource-group {group} --subscription {subscription}), or set "
            "AZUREML_WORKSPACE in azure-devops.json; nothing was changed"
        )
    if azure.client_id:
        return [*before, _given_identity_role(azure, deploy), *after], blockers
    identity = ("azure identity", azure.identity_name)
    endpoint = ("service connection", settings.names.service_connection)
    wanted = wanted_credential(state)
    have = any(
        (c.get("properties") or {}).get("issuer") == wanted[0]
        and (c.get("properties") or {}).get("subject") == wanted[1]
        for c in azure.credentials
    )
    role_needs = (identity, ("deployment", deploy.name)) if deploy else (identity,)
    actions = [
        *before,
        Action(
            exists_or(Verb.CREATE, azure.identity),
            *identity,
            f"in {group}",
            (group_key,) if deploy else (),
        ),
        Action(
            exists_or(Verb.CREATE, have and wanted[0]),
            "federated credential",
            f"{settings.names.slug}-azure-devops",
            "for the service connection",
            (identity, endpoint),
        ),
        Action(
            exists_or(Verb.CREATE, azure.has_role),
            "role assignment",
            ROLE_NAME,
            f"on workspace {azure.workspace_name}",
            role_needs,
        ),
        *after,
    ]
    return actions, blockers


def _given_identity_role(azure: AzureState, deploy: DeploymentState | None) -> Action:
    """--client-id: no identity is made; its role on the workspace is given when ARM knows its
    object id (a user-assigned identity of the subscription), else told as a command."""
    where = f"on workspace {azure.workspace_name}, for client id {azure.client_id}"
    if not azure.principal_id:
        return Action(Verb.MANUAL, "role assignment", ROLE_NAME,
                      f"{where}: see the commands at the end")  # fmt: skip
    needs = (("deployment", deploy.name),) if deploy else ()
    return Action(exists_or(Verb.CREATE, azure.has_role), "role assignment", ROLE_NAME,
                  where, needs)  # fmt: skip


def wanted_credential(state: State) -> tuple[str, str]:
    """The issuer and subject Azure DevOps gave the service connection ('' until it exists)."""
    parameters = ((state.endpoint or {}).get("authorization") or {}).get("parameters") or {}
    return (
        str(parameters.get("workloadIdentityFederationIssuer", "")),
        str(parameters.get("workloadIdentityFederationSubject", "")),
    )
