"""Connect to the Azure ML workspace with the Azure ML SDK v1 (azureml-core).

SDK v1 is legacy: Microsoft ended its support on 2026-06-30. Prefer SDK v2
for new projects.

The workspace ids come from ``settings``; the environment variables
AZURE_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE override
them. The default sign-in is the Azure CLI's (``az login`` locally, the
AzureCLI@2 task in the pipelines). This module also locates the project files
that Azure ML jobs and deployments upload: ``src/`` and ``.azureml/``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import settings

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azureml.core import Environment, Workspace
    from azureml.core.authentication import AbstractAuthentication

# Name of this package, for `python -m <package>.…` commands run on Azure ML.
PACKAGE_NAME = __name__.split(".")[0]
# src/<package>/ -> src/ -> the project folder.
SRC_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = SRC_DIR.parent

SDK_MISSING = (
    "the Azure ML SDK v1 (azureml-core) is not installed. "
    'Install it with `pip install -e ".[dev,azureml]"`.'
)

# settings name -> environment variable that overrides it.
WORKSPACE_VARIABLES = {
    "AZURE_SUBSCRIPTION_ID": "AZURE_SUBSCRIPTION_ID",
    "AZUREML_RESOURCE_GROUP": "AZUREML_RESOURCE_GROUP",
    "AZUREML_WORKSPACE": "AZUREML_WORKSPACE",
}

# A cached token is renewed this many seconds before it expires.
TOKEN_RENEWAL_MARGIN = 300


class WorkspaceConfigurationError(ValueError):
    """A workspace id is empty in both ``settings`` and the environment."""


class ProjectFileNotFoundError(FileNotFoundError):
    """A file that Azure ML needs from the project folder is missing."""


def workspace_ids() -> tuple[str, str, str]:
    """Return ``(subscription_id, resource_group, workspace)`` of the workspace.

    Each comes from the environment variable if it is set and not empty,
    else from ``settings``.

    Raises:
        WorkspaceConfigurationError: An id is empty in both places.
    """
    values = []
    for setting, variable in WORKSPACE_VARIABLES.items():
        value = os.environ.get(variable, "").strip() or getattr(settings, setting)
        if not value:
            raise WorkspaceConfigurationError(
                f"settings.{setting} is empty. Set it in "
                f"src/{PACKAGE_NAME}/settings.py, or set the environment "
                f"variable {variable}."
            )
        values.append(value)
    subscription_id, resource_group, workspace = values
    return subscription_id, resource_group, workspace


class AzureCliTokens:
    """Access tokens from the Azure CLI's sign-in, for SDK v1's TokenAuthentication.

    SDK v1's own ``AzureCliAuthentication`` needs the azure-cli Python package
    in this environment; the ``az`` command installed on its own (as on the
    pipeline agents) is not enough. This asks ``az`` for tokens through
    ``azure.identity.AzureCliCredential`` instead, and keeps each token until
    shortly before it expires.

    Args:
        credential: Where tokens come from; None means ``AzureCliCredential()``.
    """

    def __init__(self, credential: TokenCredential | None = None) -> None:
        self._credential = credential
        self._tokens: dict[str, AccessToken] = {}

    def __call__(self, resource: str) -> str:
        """Return an access token for ``resource`` (SDK v1 passes a resource id)."""
        token = self._tokens.get(resource)
        if token is None or token.expires_on - TOKEN_RENEWAL_MARGIN < time.time():
            if self._credential is None:
                from azure.identity import AzureCliCredential

                self._credential = AzureCliCredential()
            token = self._credential.get_token(f"{resource}/.default")
            self._tokens[resource] = token
        return token.token


def cli_authentication() -> AbstractAuthentication:
    """Return SDK v1 authentication that signs in as the Azure CLI is signed in.

    Run ``az login`` first; in Azure Pipelines, run inside an AzureCLI@2 task.
    """
    try:
        from azureml.core.authentication import TokenAuthentication
    except ImportError as error:
        raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error
    return TokenAuthentication(AzureCliTokens())


def get_workspace(auth: AbstractAuthentication | None = None) -> Workspace:
    """Return the project's Azure ML workspace.

    Args:
        auth: SDK v1 authentication to use; None means ``cli_authentication()``.

    Raises:
        WorkspaceConfigurationError: A workspace id is not configured.
    """
    subscription_id, resource_group, name = workspace_ids()
    try:
        from azureml.core import Workspace
    except ImportError as error:
        raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error
    return Workspace.get(
        name=name,
        subscription_id=subscription_id,
        resource_group=resource_group,
        auth=auth if auth is not None else cli_authentication(),
    )


def project_file(*parts: str) -> Path:
    """Return the path of a file in the project folder, checking that it exists.

    Raises:
        ProjectFileNotFoundError: The file is missing, for example because the
            package was installed without the project checkout.
    """
    path = PROJECT_DIR.joinpath(*parts)
    if not path.exists():
        raise ProjectFileNotFoundError(
            f"{path} does not exist. Azure ML jobs and deployments upload files "
            "from the project folder: run from a clone of the project installed "
            'with `pip install -e ".[dev,azureml]"`.'
        )
    return path


def azureml_environment() -> Environment:
    """Return the Azure ML environment of the project's jobs and deployments.

    Its packages come from ``.azureml/conda_dependencies.yml``; it is named
    ``settings.ENVIRONMENT_NAME``.

    Raises:
        ProjectFileNotFoundError: The conda file is missing.
    """
    try:
        from azureml.core import Environment
    except ImportError as error:
        raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error
    conda_file = project_file(".azureml", "conda_dependencies.yml")
    return Environment.from_conda_specification(
        settings.ENVIRONMENT_NAME, str(conda_file)
    )
