"""Train on an Azure ML compute cluster with the Azure ML SDK v2 (azure-ai-ml).

The job uploads ``src/``, runs ``python -m <package>.model_building.train`` on
the cluster in the project's Azure ML environment, and keeps
``outputs/model.pkl`` and ``outputs/metrics.json`` with the job.

Example::

    from {{ cookiecutter.module_name }} import (
        settings,
    )
    from {{ cookiecutter.module_name }}.model_building.azureml_job import (
        submit_training_job,
    )

    url = submit_training_job(settings.TRAINING_COMPUTE_NAME, settings.DATA_FILE)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from azure.ai.ml import Input, command
from azure.ai.ml.entities import Command, Environment

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    SRC_DIR,
)
from ..azureml_workspace import (
    azureml_environment,
    get_ml_client,
)
from ..data_ingestion.errors import LocalFileNotFoundError
from ..data_ingestion.ingestor import local_path

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# Azure ML replaces this placeholder with the path of the mounted input.
DATA_PLACEHOLDER = "$" + "{" + "{inputs.data}}"
# Azure ML keeps what the job writes to ./outputs with the job.
OUTPUT_PATH = "outputs/model.pkl"


def data_uri(data: str) -> str:
    """Return the Azure ML input path for a training data source.

    ``data`` is what ``train --data`` accepts: a local path (absolute, or
    starting with ``./``) is uploaded with the job; an Azure ML URI
    (``azureml:…``, ``azureml://…``) or a storage URL (``https://``,
    ``wasbs://``, ``abfss://``) is used as it is; any other string is a blob
    in ``settings.STORAGE_ACCOUNT`` / ``settings.STORAGE_CONTAINER``, read
    with the identity of the person or pipeline that submits the job.

    Raises:
        LocalFileNotFoundError: A local path does not exist.
    """
    if data.startswith("azureml:") or ("://" in data and not data.startswith("file:")):
        return data
    path = local_path(data)
    if path is not None:
        if not path.is_file():
            raise LocalFileNotFoundError(
                f"the training data {path} does not exist. Pass an existing file, "
                "a blob name or an azureml: data asset."
            )
        return str(path.resolve())
    return (
        f"https://{settings.STORAGE_ACCOUNT}.blob.core.windows.net/"
        f"{settings.STORAGE_CONTAINER}/{data.lstrip('/')}"
    )


def build_training_job(
    compute: str,
    data: str,
    *,
    seed: int = 0,
    environment: Environment | str | None = None,
) -> Command:
    """Return the command job that trains the model on a compute cluster.

    Nothing is sent to Azure: submit it with ``submit_training_job`` or
    ``MLClient.jobs.create_or_update``.

    Args:
        compute: Name of the Azure ML compute cluster, such as
            ``settings.TRAINING_COMPUTE_NAME``.
        data: The training data; see ``data_uri``.
        seed: Random seed passed to the training script.
        environment: Azure ML environment (an ``Environment`` or an
            ``azureml:name:version`` reference); None means the project's
            environment from ``.azureml/conda_dependencies.yml``.
    """
    train_command = " ".join(
        [
            f"python -m {PACKAGE_NAME}.model_building.train",
            f"--data {DATA_PLACEHOLDER}",
            f"--output {OUTPUT_PATH}",
            f"--seed {seed}",
        ]
    )
    return command(
        code=str(SRC_DIR),
        command=train_command,
        inputs={"data": Input(type="uri_file", path=data_uri(data))},
        environment=environment if environment is not None else azureml_environment(),
        compute=compute,
        experiment_name=settings.PROJECT_SLUG,
        display_name=f"train {settings.MODEL_NAME} (seed {seed})",
        description=f"Train {settings.MODEL_NAME} on {data}.",
    )


def submit_training_job(
    compute: str,
    data: str,
    *,
    seed: int = 0,
    client: MLClient | None = None,
) -> str:
    """Submit the training job and return its Azure ML studio URL (else its name).

    Args:
        compute: Name of the Azure ML compute cluster.
        data: The training data; see ``data_uri``.
        seed: Random seed passed to the training script.
        client: The workspace client; None means ``get_ml_client()``.
    """
    job = build_training_job(compute, data, seed=seed)
    client = client if client is not None else get_ml_client()
    submitted = client.jobs.create_or_update(job)
    logger.info("Submitted training job %s to %s", submitted.name, compute)
    return submitted.studio_url or submitted.name
