"""Train the model on an Azure ML compute cluster (Azure ML SDK v1).

The job uploads ``src/`` and runs the training module there::

    python -m {{ cookiecutter.module_name }}.model_building.train --data SOURCE --output outputs/model.pkl

Azure ML keeps the run's ``outputs/`` folder, so model.pkl and metrics.json
appear in the run's outputs in Azure ML studio. Start it with
``python -m {{ cookiecutter.module_name }}.model_building.train --compute CLUSTER``.

The data is a blob name, or a local file under ``src/`` (such as the bundled
sample), which is uploaded with the job. To read a blob, the job gets the
storage account and container from ``settings`` as environment variables and
signs in with ``DefaultAzureCredential``: give the cluster a managed identity
with the Storage Blob Data Reader role on the account.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    SRC_DIR,
)
from ..azureml_workspace import (
    SDK_MISSING,
    azureml_environment,
    get_workspace,
)
from ..data_ingestion.ingestor import (
    local_path,
)

try:
    from azureml.core import Experiment, ScriptRunConfig
except ImportError as error:
    raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error

if TYPE_CHECKING:
    from azureml.core import Workspace

logger = logging.getLogger(__name__)

TRAINING_MODULE = f"{PACKAGE_NAME}.model_building.train"
# Azure ML uploads what the run writes here and shows it in the studio.
OUTPUT_PATH = "outputs/model.pkl"


class ComputeNotFoundError(LookupError):
    """The compute cluster named for the job is not in the workspace."""


class DataNotUploadedError(ValueError):
    """A local data file that the job on the cluster would not see."""


def job_data_source(data: str) -> str:
    """Return ``data`` as the job on the cluster must name it.

    A blob name stays as it is. A local file under ``src/`` (such as the
    bundled sample) is uploaded with the job, so it becomes a ``./`` path
    relative to ``src/``, where the job runs.

    Raises:
        DataNotUploadedError: ``data`` is a local file outside ``src/``.
    """
    path = local_path(data)
    if path is None:
        return data
    try:
        relative = path.resolve().relative_to(SRC_DIR)
    except ValueError:
        raise DataNotUploadedError(
            f"the job on the cluster cannot read the local file {data}: it sees "
            "only src/ and the storage account. Upload the file to the storage "
            f"container {settings.STORAGE_CONTAINER!r} and pass its blob name "
            "with --data."
        ) from None
    return f"./{relative.as_posix()}"


def training_command(data: str, *, seed: int = 0) -> list[str]:
    """Return the command the job runs in ``src/`` on the cluster."""
    return [
        "python",
        "-m",
        TRAINING_MODULE,
        "--data",
        data,
        "--output",
        OUTPUT_PATH,
        "--seed",
        str(seed),
    ]


def check_compute(workspace: Workspace, compute: str) -> None:
    """Make sure ``workspace`` has a compute target named ``compute``.

    Raises:
        ComputeNotFoundError: It has none; the message lists those it has.
    """
    existing = workspace.compute_targets
    if compute not in existing:
        raise ComputeNotFoundError(
            f"the workspace {workspace.name!r} has no compute named {compute!r} "
            f"(it has: {', '.join(sorted(existing)) or 'none'}). Create a compute "
            "cluster with that name in Azure ML studio, or pass the name of an "
            "existing one with --compute."
        )


def build_training_job(
    compute: str, data: str, *, seed: int = 0, workspace: Workspace | None = None
) -> ScriptRunConfig:
    """Return the run configuration of a training job, without submitting it.

    The package runs as a module (``python -m``) from the uploaded ``src/``
    folder, so its relative imports work.

    Args:
        compute: Name of the compute cluster (see settings.TRAINING_COMPUTE_NAME).
        data: A blob name, or a local file under ``src/`` (see ``job_data_source``).
        seed: Random seed of the training.
        workspace: When given, the cluster is checked to exist in it.

    Raises:
        ComputeNotFoundError: ``workspace`` has no compute named ``compute``.
        DataNotUploadedError: ``data`` is a local file outside ``src/``.
        ProjectFileNotFoundError: ``.azureml/conda_dependencies.yml`` is missing.
    """
    if workspace is not None:
        check_compute(workspace, compute)
    config = ScriptRunConfig(
        source_directory=str(SRC_DIR),
        command=training_command(job_data_source(data), seed=seed),
        compute_target=compute,
        environment=azureml_environment(),
    )
    # Not secrets: where the blob is; the cluster's identity signs in.
    config.run_config.environment_variables.update(
        AZURE_STORAGE_ACCOUNT_NAME=settings.STORAGE_ACCOUNT,
        AZURE_STORAGE_CONTAINER=settings.STORAGE_CONTAINER,
    )
    return config


def submit_training_job(
    compute: str, data: str, *, seed: int = 0, workspace: Workspace | None = None
) -> str:
    """Submit the training job to the experiment named settings.PROJECT_SLUG.

    Args:
        compute: Name of the compute cluster.
        data: A blob name, or a local file under ``src/``.
        seed: Random seed of the training.
        workspace: The Azure ML workspace; None means ``get_workspace()``.

    Returns:
        The run's address in Azure ML studio.

    Raises:
        ComputeNotFoundError: The workspace has no compute named ``compute``.
        DataNotUploadedError: ``data`` is a local file outside ``src/``.
        WorkspaceConfigurationError: A workspace id is not configured.
    """
    if workspace is None:
        workspace = get_workspace()
    config = build_training_job(compute, data, seed=seed, workspace=workspace)
    run = Experiment(workspace, settings.PROJECT_SLUG).submit(config)
    url = run.get_portal_url()
    logger.info("Submitted run %s on %s: %s", run.id, compute, url)
    return url
