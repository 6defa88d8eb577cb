"""Connect to the Azure ML workspace with the Azure ML SDK v2 (azure-ai-ml).

The workspace ids come from ``settings``; the environment variables
AZURE_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE override
them (see ``azureml_config``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import settings
from .azureml_config import (
    CONDA_FILE_NAME,
    TRAINING_CONDA_FILE_NAME,
    conda_file,
    workspace_ids,
)

try:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Environment
except ImportError as error:
    raise ModuleNotFoundError(
        f"the Azure ML SDK v2 (azure-ai-ml) is not installed ({error}). "
        "Install it with `pip install -r requirements/lock/dev.txt`.",
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


def azureml_environment(*, training: bool = False) -> Environment:
    """Return the Azure ML environment of the project's deployments, or jobs.

    Deployments: ``settings.ENVIRONMENT_NAME`` from
    ``.azureml/conda_dependencies.yml``. Training jobs (``training``):
    ``settings.TRAINING_ENVIRONMENT_NAME`` from ``.azureml/conda_training.yml``,
    with MLflow. Azure ML keeps one version per distinct content of each.
    """
    if training:
        name, conda = settings.TRAINING_ENVIRONMENT_NAME, TRAINING_CONDA_FILE_NAME
    else:
        name, conda = settings.ENVIRONMENT_NAME, CONDA_FILE_NAME
    return Environment(
        name=name,
        conda_file=str(conda_file(conda)),
        image=BASE_IMAGE,
        description=f"Runtime of {settings.PROJECT_SLUG}: "
        + ("training, with MLflow." if training else "scoring."),
    )


def mlflow_tracking_uri(client: MLClient | None = None) -> str:
    """The MLflow tracking URI of the project's workspace (azureml://...)."""
    client = client if client is not None else get_ml_client()
    return client.workspaces.get(client.workspace_name).mlflow_tracking_uri
