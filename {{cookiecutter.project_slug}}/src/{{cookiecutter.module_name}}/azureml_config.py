"""Azure ML configuration that needs no Azure ML SDK: workspace ids, project files.

The workspace ids come from ``settings``; the environment variables
AZURE_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE override
them. This module also locates the project files that Azure ML jobs and
deployments upload: ``src/`` and ``.azureml/``. ``azureml_workspace`` connects
to the workspace with the project's SDK.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import settings

# Name of this package, for `python -m <package>.…` commands run on Azure ML.
PACKAGE_NAME = __name__.split(".")[0]
# src/<package>/ -> src/ -> the project folder.
SRC_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = SRC_DIR.parent
AZUREML_DIR = PROJECT_DIR / ".azureml"
CONDA_FILE_NAME = "conda_dependencies.yml"
TRAINING_CONDA_FILE_NAME = "conda_training.yml"

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
            "with `pip install -r requirements/lock/dev.txt`."
        )
    return path


def conda_file(name: str = CONDA_FILE_NAME) -> Path:
    """Return ``.azureml/<name>``: an Azure ML environment's packages.

    ``conda_dependencies.yml`` (the default) serves the model;
    ``conda_training.yml`` (TRAINING_CONDA_FILE_NAME) runs training jobs.

    Raises:
        ProjectFileNotFoundError: The conda file is missing.
    """
    return project_file(AZUREML_DIR.name, name)


def quiet_azure_logging() -> None:
    """Show the Azure SDKs' warnings and errors only.

    At INFO they log every HTTP request and, when nobody is signed in, each
    credential ``DefaultAzureCredential`` tried: a hundred lines that hide the
    one that matters.
    """
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("azure.identity").setLevel(logging.ERROR)


def sign_in_message(error: Exception) -> str:
    """One line for a command that could not sign in to Azure: run az login."""
    first = next(iter(str(error).strip().splitlines()), type(error).__name__)
    return (
        f"error: not signed in to Azure ({first.rstrip('.')}). Run az login (and "
        "az account set --subscription <id>), then try again.\n"
    )
