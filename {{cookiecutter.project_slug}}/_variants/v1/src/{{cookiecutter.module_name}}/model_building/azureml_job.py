"""Train the model on an Azure ML compute cluster (Azure ML SDK v1).

The job uploads ``src/`` and runs the training module there::

    python -m {{ cookiecutter.module_name }}.model_building.train --data SOURCE --output outputs/model.pkl

Azure ML keeps the run's ``outputs/`` folder, so model.pkl and metrics.json
appear in the run's outputs in Azure ML studio. Start it with
``python -m {{ cookiecutter.module_name }}.model_building.train --compute CLUSTER``
(``submit_training_job``); add ``--wait`` to wait for the run and download
model.pkl and metrics.json as if trained here (``run_training_job``).

The data is a blob name, or a local file under ``src/`` (such as the bundled
sample), which is uploaded with the job. To read a blob, the job gets the
storage account and container from ``settings`` as environment variables and
signs in with ``DefaultAzureCredential``: give the cluster a managed identity
with the Storage Blob Data Reader role on the account.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from azureml.exceptions import UserErrorException
except ImportError as error:
    raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error

if TYPE_CHECKING:
    from azureml.core import Run, Workspace

logger = logging.getLogger(__name__)

TRAINING_MODULE = f"{PACKAGE_NAME}.model_building.train"
# Azure ML uploads what the run writes here and shows it in the studio; the
# training writes metrics.json beside the model.
OUTPUT_PATH = "outputs/model.pkl"
METRICS_PATH = "outputs/metrics.json"
COMPLETED = "Completed"


class ComputeNotFoundError(LookupError):
    """The compute cluster named for the job is not in the workspace."""


class DataNotUploadedError(ValueError):
    """A local data file that the job on the cluster would not see."""


class TrainingJobError(RuntimeError):
    """The training run did not complete, or left no model to download."""


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
        ProjectFileNotFoundError: ``.azureml/conda_training.yml`` is missing.
    """
    if workspace is not None:
        check_compute(workspace, compute)
    config = ScriptRunConfig(
        source_directory=str(SRC_DIR),
        command=training_command(job_data_source(data), seed=seed),
        compute_target=compute,
        environment=azureml_environment(training=True),
    )
    # Not secrets: where the blob is; the cluster's identity signs in.
    config.run_config.environment_variables.update(
        AZURE_STORAGE_ACCOUNT_NAME=settings.STORAGE_ACCOUNT,
        AZURE_STORAGE_CONTAINER=settings.STORAGE_CONTAINER,
    )
    return config


def _submit(compute: str, data: str, *, seed: int, workspace: Workspace | None) -> Run:
    """Submit the training job to the project's experiment; return the run."""
    if workspace is None:
        workspace = get_workspace()
    config = build_training_job(compute, data, seed=seed, workspace=workspace)
    run = Experiment(workspace, settings.PROJECT_SLUG).submit(config)
    logger.info("Submitted run %s on %s: %s", run.id, compute, run.get_portal_url())
    return run


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
    return _submit(compute, data, seed=seed, workspace=workspace).get_portal_url()


def _run_error(details: Mapping[str, Any]) -> str:
    """The error message in a run's details, or "" if there is none."""
    error = details.get("error")
    if isinstance(error, Mapping):
        inner = error.get("error", error)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
    return str(error) if error else ""


def wait_for_run(run: Run) -> None:
    """Stream the run's output to stdout until it ends; check that it completed.

    Raises:
        TrainingJobError: The run ended in another status than Completed
            (Failed, Canceled, ...); the message has its status, its error
            and its address in Azure ML studio.
    """
    details = run.wait_for_completion(show_output=True, raise_on_error=False)
    status = details.get("status") or run.get_status()
    if status != COMPLETED:
        error = _run_error(details)
        reason = f" ({error})" if error else ""
        raise TrainingJobError(
            f"the training run {run.id} is {status}, not {COMPLETED}{reason}. "
            f"See its logs in Azure ML studio: {run.get_portal_url()}"
        )
    logger.info("Training run %s completed", run.id)


def download_model(run: Run, output: Path | str) -> Path:
    """Download the run's model.pkl to ``output`` and metrics.json beside it.

    Returns:
        ``output``.

    Raises:
        TrainingJobError: The run's outputs lack model.pkl or metrics.json.
    """
    output = Path(output)
    files = {
        OUTPUT_PATH: output,
        METRICS_PATH: output.with_name(Path(METRICS_PATH).name),
    }
    with tempfile.TemporaryDirectory() as folder:
        downloaded = {}
        for name, target in files.items():
            source = Path(folder, Path(name).name)
            try:
                run.download_file(name, output_file_path=str(source))
            except UserErrorException as error:
                raise TrainingJobError(
                    f"the training run {run.id} completed but has no {name} to "
                    f"download ({error.message}). Check its outputs and logs in "
                    f"Azure ML studio: {run.get_portal_url()}"
                ) from error
            downloaded[source] = target
        output.parent.mkdir(parents=True, exist_ok=True)
        for source, target in downloaded.items():
            shutil.copyfile(source, target)
    logger.info("Downloaded the model of run %s to %s", run.id, output)
    return output


def run_training_job(
    compute: str,
    data: str,
    *,
    seed: int = 0,
    output: Path | str = OUTPUT_PATH,
    workspace: Workspace | None = None,
) -> str:
    """Submit the training job, wait for it, and download its model to ``output``.

    Afterwards ``output`` and ``metrics.json`` beside it are as after
    training here (``train_and_save``), ready for ``deployment.register``.

    Args:
        compute: Name of the compute cluster.
        data: A blob name, or a local file under ``src/``.
        seed: Random seed of the training.
        output: Where to put the run's model.pkl; metrics.json goes beside it.
        workspace: The Azure ML workspace; None means ``get_workspace()``.

    Returns:
        The run's address in Azure ML studio.

    Raises:
        ComputeNotFoundError: The workspace has no compute named ``compute``.
        DataNotUploadedError: ``data`` is a local file outside ``src/``.
        TrainingJobError: The run did not complete, or left no model.
    """
    run = _submit(compute, data, seed=seed, workspace=workspace)
    wait_for_run(run)
    download_model(run, output)
    return run.get_portal_url()
