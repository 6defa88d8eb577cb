"""Connect to the Azure ML workspace with the Azure ML SDK v1 (azureml-core).

SDK v1 is legacy: Microsoft ended its support on 2026-06-30. Prefer SDK v2
for new projects.

The workspace ids come from ``settings``; the environment variables
AZURE_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE override
them (see ``azureml_config``). The default sign-in is the Azure CLI's
(``az login`` locally, the AzureCLI@2 task in the pipelines).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import settings
from .azureml_config import (
    CONDA_FILE_NAME,
    TRAINING_CONDA_FILE_NAME,
    conda_file,
    workspace_ids,
)

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azureml.core import Environment, Workspace
    from azureml.core.authentication import AbstractAuthentication

SDK_MISSING = (
    "the Azure ML SDK v1 (azureml-core) is not installed. "
    "Install it with `pip install -r requirements/lock/dev.txt`."
)

# A cached token is renewed this many seconds before it expires.
TOKEN_RENEWAL_MARGIN = 300


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


def azureml_environment(*, training: bool = False) -> Environment:
    """Return the Azure ML environment of the project's deployments, or runs.

    Deployments: ``settings.ENVIRONMENT_NAME`` from
    ``.azureml/conda_dependencies.yml``. Training runs (``training``):
    ``settings.TRAINING_ENVIRONMENT_NAME`` from ``.azureml/conda_training.yml``,
    with MLflow.

    Raises:
        ProjectFileNotFoundError: The conda file is missing.
    """
    try:
        from azureml.core import Environment
    except ImportError as error:
        raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error
    if training:
        name, conda = settings.TRAINING_ENVIRONMENT_NAME, TRAINING_CONDA_FILE_NAME
    else:
        name, conda = settings.ENVIRONMENT_NAME, CONDA_FILE_NAME
    return Environment.from_conda_specification(name, str(conda_file(conda)))


def mlflow_tracking_uri(workspace: Workspace | None = None) -> str:
    """The MLflow tracking URI of the project's workspace (azureml://...)."""
    if workspace is None:
        workspace = get_workspace()
    return workspace.get_mlflow_tracking_uri()
