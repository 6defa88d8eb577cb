"""Connect to the Azure ML workspace with the Azure ML SDK v2 (azure-ai-ml).

The workspace ids come from ``settings``; the environment variables
AZURE_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE override
them. This module also locates the project files that Azure ML jobs and
deployments upload: ``src/`` and ``.azureml/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import settings

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

# Name of this package, for `python -m <package>.…` commands run on Azure ML.
PACKAGE_NAME = __name__.split(".")[0]
# src/<package>/ -> src/ -> the project folder.
SRC_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = SRC_DIR.parent
AZUREML_DIR = PROJECT_DIR / ".azureml"
CONDA_FILE_NAME = "conda_dependencies.yml"
# Base image of the Azure ML environment; the conda file adds the packages.
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"

# settings name -> environment variable that overrides it.
WORKSPACE_VARIABLES = {
    "AZURE_SUBSCRIPTION_ID": "AZURE_SUBSCRIPTION_ID",
    "AZUREML_RESOURCE_GROUP": "AZUREML_RESOURCE_GROUP",
    "AZUREML_WORKSPACE": "AZUREML_WORKSPACE",
}


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

    Its packages come from ``.azureml/conda_dependencies.yml``; Azure ML keeps
    one version per distinct content under ``settings.ENVIRONMENT_NAME``.
    """
    return Environment(
        name=settings.ENVIRONMENT_NAME,
        conda_file=str(project_file(".azureml", CONDA_FILE_NAME)),
        image=BASE_IMAGE,
        description=f"Runtime of {settings.PROJECT_SLUG}: training and scoring.",
    )
