"""Connect to the Azure ML workspace with the Azure ML SDK v2 (azure-ai-ml).

The workspace ids come from ``settings``; the environment variables
AZURE_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE override
them (see ``azureml_config``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import settings
from .azureml_config import (
    conda_file,
    workspace_ids,
)

try:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Environment
except ImportError as error:
    raise ModuleNotFoundError(
        f"the Azure ML SDK v2 (azure-ai-ml) is not installed ({error}). "
        'Install it with `pip install -e ".[dev,azureml]"`.',
        name="azure.ai.ml",
    ) from error

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

# Base image of the Azure ML environment; the conda file adds the packages.
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"


def default_credential() -> Any:
    """Return ``DefaultAzureCredential``, imported only when it is needed.

    It tries environment variables, managed identity, then the Azure CLI login
    (``az login`` locally; the AzureCLI@2 task in the pipelines).
    """
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def get_ml_client(credential: TokenCredential | None = None) -> MLClient:
    """Return an ``MLClient`` for the project's workspace.

    Args:
        credential: The Azure credential to use; None means
            ``default_credential()``.

    Raises:
        WorkspaceConfigurationError: A workspace id is not configured.
    """
    subscription_id, resource_group, workspace = workspace_ids()
    return MLClient(
        credential=credential if credential is not None else default_credential(),
        subscription_id=subscription_id,
        resource_group_name=resource_group,
        workspace_name=workspace,
    )


def azureml_environment() -> Environment:
    """Return the Azure ML environment of the project's jobs and deployments.

    Its packages come from ``.azureml/conda_dependencies.yml``; Azure ML keeps
    one version per distinct content under ``settings.ENVIRONMENT_NAME``.
    """
    return Environment(
        name=settings.ENVIRONMENT_NAME,
        conda_file=str(conda_file()),
        image=BASE_IMAGE,
        description=f"Runtime of {settings.PROJECT_SLUG}: training and scoring.",
    )
