"""The Azure parts of ``mlops-template provision``: Resource Manager sign-in, the data
container, and ``--export-template``."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from . import report
from .arm import ArmClient, AzureResources
from .auth import RESOURCE_MANAGER_RESOURCE, AzureCli, EntraToken, SignInError, azure_cli_sign_in
from .blobs import STORAGE_RESOURCE, BlobContainer
from .deploy_lookup import lookup_deployment
from .deployments import Deployments
from .errors import AzureDevOpsError
from .lookup import lookup_azure
from .settings import Settings
from .template import azure_names

OK, FAILED, USAGE = 0, 1, 2


def azure_sign_in(settings: Settings, console: Console) -> AzureResources | None:
    """Azure Resource Manager through the Azure CLI's sign-in, for the Azure side.

    That is when the subscription, resource group and workspace are known, with or without a
    ``--client-id`` (an existing identity, for tenants that forbid creating identities: then
    only the identity is not made); None otherwise, or when the Azure CLI gives no token for
    Resource Manager.
    """
    variables = settings.variables
    if not (
        settings.azure_subscription_id
        and variables.get("AZUREML_RESOURCE_GROUP")
        and variables.get("AZUREML_WORKSPACE")
    ):
        return None
    try:
        # Its first token is fetched by the first lookup, overlapping Azure DevOps' lookups.
        credential = azure_cli_sign_in(
            RESOURCE_MANAGER_RESOURCE, settings.azure_tenant_id, now=False
        )
    except SignInError as error:
        console.print(
            f"The Azure side is not deployed ({error}): run 'az login'."
            if settings.azure_client_id
            else f"The pipelines' Azure identity is not created ({error}): run 'az login', "
            "or pass --client-id with an existing identity.",
            highlight=False,
        )
        return None
    wait = lambda message: report.show_wait(console, message)  # noqa: E731
    return AzureResources(ArmClient(credential, on_wait=wait), settings.azure_subscription_id)


def data_container(settings: Settings) -> BlobContainer:
    """The data container, signed in through the Azure CLI (its token fetched when first used)."""
    names = azure_names(settings)
    credential = EntraToken(AzureCli(), STORAGE_RESOURCE, tenant=settings.azure_tenant_id)
    return BlobContainer(credential, names.storage_account, names.container)


def export(
    settings: Settings,
    azure: AzureResources | None,
    deployments: Deployments | None,
    path: Path,
    console: Console,
) -> int:
    """``--export-template FILE``: the literal template for what exists now; nothing is changed."""
    if azure is None or deployments is None:
        console.print(
            "[red]Error:[/red] --export-template needs the subscription id (--subscription-id "
            "or azure-devops.json) and 'az login'.",
            highlight=False,
        )
        return USAGE
    try:
        found = lookup_azure(settings, azure)
        template = lookup_deployment(settings, found, deployments, what_if=False).template
    except (AzureDevOpsError, SignInError) as error:
        report.show_failure(
            console, error, "mlops-template provision --export-template " + str(path)
        )
        return FAILED
    path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"Wrote the ARM template ({len(template['resources'])} resources, literal values) to "
        f"{path}. Deploy it with: az deployment group create --resource-group "
        f"{found.resource_group} --template-file {path} --mode Incremental",
        highlight=False,
        soft_wrap=True,
    )
    return OK
