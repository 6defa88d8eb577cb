"""Carry out the Azure actions of a plan: resource group, deployment, data, identity, role.

Mixed into ``apply.Apply`` (which holds ``state``, ``azure``, ``deployments`` and
``description``); one handler per action kind, as there.
"""

from __future__ import annotations

from typing import Any

from . import deploy_apply
from .actions import Action, ProvisioningError
from .arm import role_assignment_command
from .errors import PermissionDeniedError


class AzureSteps:
    """The Azure handlers of ``Apply``."""

    state: Any
    azure: Any
    deployments: Any
    description: str

    def _resource_group(self, action: Action) -> None:
        assert self.state.azure is not None and self.deployments is not None
        deploy_apply.create_group(self.state.azure, self.deployments, action)

    def _deployment(self, action: Action) -> None:
        found, azure = self.state.azure, self.azure
        assert found is not None and azure is not None and self.deployments is not None
        deploy_apply.deploy(
            found,
            self.deployments,
            lambda: azure.workspace(found.resource_group, found.workspace_name),
        )

    def _azure_resource(self, action: Action) -> None:
        """Made by the deployment it needs: nothing left to send."""

    def _training_data(self, action: Action) -> None:
        found = self.state.azure
        assert found is not None and found.deploy is not None and self.deployments is not None
        deploy_apply.upload(found.deploy, self.deployments)

    def _azure_identity(self, action: Action) -> None:
        found, azure = self.state.azure, self.azure
        assert found is not None and azure is not None
        if found.group is None:
            return  # the resource group could not be made: its command is printed
        try:
            found.identity = azure.create_identity(
                found.resource_group, action.name, found.group["location"], self.description
            )
        except PermissionDeniedError as error:
            # A tenant or subscription that forbids it: an existing identity still works.
            raise ProvisioningError(
                f"Create azure identity {action.name}",
                f"{error} You may not create managed identities in resource group "
                f"{found.resource_group}. Ask someone who may (Managed Identity Contributor "
                "on it) to run provision, or use an existing managed identity or app "
                "registration: provision again with --client-id <its client id> "
                "--tenant-id <its tenant id>.",
            ) from error

    def _federated_credential(self, action: Action) -> None:
        found, azure, endpoint = self.state.azure, self.azure, self.state.endpoint
        assert found is not None and azure is not None
        if found.identity is None or endpoint is None:
            return  # no identity or connection could be made: what to do is printed
        parameters = (endpoint.get("authorization") or {}).get("parameters") or {}
        issuer = parameters.get("workloadIdentityFederationIssuer")
        subject = parameters.get("workloadIdentityFederationSubject")
        if not (issuer and subject):
            raise ProvisioningError(
                "Create the federated credential",
                "Azure DevOps gave the service connection no issuer and subject; run "
                "provision again in a minute",
            )
        found.credentials.append(
            azure.create_federated_credential(
                found.resource_group, found.identity_name, action.name, issuer, subject
            )
        )

    def _role_assignment(self, action: Action) -> None:
        found, azure = self.state.azure, self.azure
        assert found is not None and azure is not None
        if not (found.scope and found.principal_id):
            return  # no workspace or identity: what made them is told instead
        try:
            azure.assign_role(found.scope, found.principal_id)
        except PermissionDeniedError:
            # The user may not assign roles: all else is done; say the command that does it.
            found.manual.append(role_assignment_command(found.principal_id, found.scope))
            return
        found.has_role = True
