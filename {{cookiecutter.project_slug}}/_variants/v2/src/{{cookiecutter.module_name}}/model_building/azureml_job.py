"""Train on an Azure ML compute cluster with the Azure ML SDK v2 (azure-ai-ml).

The job uploads ``src/``, runs ``python -m <package>.model_building.train`` on
the cluster in the project's Azure ML environment, and keeps
``outputs/model.pkl`` and ``outputs/metrics.json`` with the job.
``submit_training_job`` only submits it; ``run_training_job`` also waits for
it and downloads those two files, as
``python -m <package>.model_building.train --compute CLUSTER --wait`` does.

Example::

    from {{ cookiecutter.module_name }} import (
        settings,
    )
    from {{ cookiecutter.module_name }}.model_building.azureml_job import (
        run_training_job,
    )

    url = run_training_job(settings.TRAINING_COMPUTE_NAME, settings.DATA_FILE)
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from azure.ai.ml import Input, command
from azure.ai.ml.entities import Command, Environment, Job
from azure.ai.ml.exceptions import JobException

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    SRC_DIR,
)
from ..azureml_workspace import (
    azureml_environment,
    get_ml_client,
)
from ..data_ingestion.credentials import blob_account_url
from ..data_ingestion.errors import LocalFileNotFoundError
from ..data_ingestion.ingestor import local_path
from ..data_ingestion.sources import blob_name

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# Azure ML replaces this placeholder with the path of the mounted input.
DATA_PLACEHOLDER = "$" + "{" + "{inputs.data}}"
# Azure ML keeps what the job writes to ./outputs with the job; the training
# writes metrics.json beside the model.
OUTPUT_PATH = "outputs/model.pkl"
METRICS_PATH = "outputs/metrics.json"
# MLClient.jobs.download puts the job's default artifacts (its ./outputs, its
# logs) in this folder of the download path.
DOWNLOADED_ARTIFACTS = "artifacts"
COMPLETED = "Completed"


class TrainingJobError(RuntimeError):
    """The training job did not complete, or left no model to download."""


def data_uri(data: str) -> str:
    """Return the Azure ML input path for a training data source.

    ``data`` is what ``train --data`` accepts: a local file (see
    ``data_ingestion.sources``) is uploaded with the job; an Azure ML URI
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
        f"{blob_account_url(settings.STORAGE_ACCOUNT)}/"
        f"{settings.STORAGE_CONTAINER}/{blob_name(data).lstrip('/')}"
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
            training environment from ``.azureml/conda_training.yml``.
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
        environment=(
            environment
            if environment is not None
            else azureml_environment(training=True)
        ),
        compute=compute,
        experiment_name=settings.PROJECT_SLUG,
        display_name=f"train {settings.MODEL_NAME} (seed {seed})",
        description=f"Train {settings.MODEL_NAME} on {data}.",
    )


def _submit(
    compute: str, data: str, *, seed: int, client: MLClient | None
) -> tuple[MLClient, Job]:
    """Build and submit the training job; return the client and the submitted job.

    The job is built first, so that a wrong ``data`` fails before signing in.
    """
    job = build_training_job(compute, data, seed=seed)
    client = client if client is not None else get_ml_client()
    submitted = client.jobs.create_or_update(job)
    logger.info("Submitted training job %s to %s", submitted.name, compute)
    return client, submitted


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
    _client, submitted = _submit(compute, data, seed=seed, client=client)
    return submitted.studio_url or submitted.name


def wait_for_job(client: MLClient, name: str, url: str) -> None:
    """Stream the job's logs to stdout until it ends; check that it completed.

    Raises:
        TrainingJobError: The job ended in another status than Completed
            (Failed, Canceled, ...); the message has its status and ``url``.
    """
    failure = ""
    try:
        client.jobs.stream(name)
    except JobException as error:  # the job failed: its status says how
        failure = f" ({str(error).strip()})"
    status = client.jobs.get(name).status
    if status != COMPLETED:
        raise TrainingJobError(
            f"the training job {name} is {status}, not {COMPLETED}{failure}. "
            f"See its logs in Azure ML studio: {url}"
        )
    logger.info("Training job %s completed", name)


def download_model(
    client: MLClient, name: str, output: Path | str, url: str = ""
) -> Path:
    """Download the job's model.pkl to ``output`` and metrics.json beside it.

    Returns:
        ``output``.

    Raises:
        TrainingJobError: The job's outputs lack model.pkl or metrics.json.
    """
    output = Path(output)
    with tempfile.TemporaryDirectory() as folder:
        client.jobs.download(name, download_path=folder)
        artifacts = Path(folder, DOWNLOADED_ARTIFACTS)
        files = {
            artifacts / OUTPUT_PATH: output,
            artifacts / METRICS_PATH: output.with_name(Path(METRICS_PATH).name),
        }
        missing = [str(source) for source in files if not source.is_file()]
        if missing:
            raise TrainingJobError(
                f"the training job {name} completed but its outputs lack "
                f"{OUTPUT_PATH} or {METRICS_PATH} (not downloaded: {missing}). "
                f"Check its outputs and logs in Azure ML studio: {url}"
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        for source, target in files.items():
            shutil.copyfile(source, target)
    logger.info("Downloaded the model of job %s to %s", name, output)
    return output


def run_training_job(
    compute: str,
    data: str,
    *,
    seed: int = 0,
    output: Path | str = OUTPUT_PATH,
    client: MLClient | None = None,
) -> str:
    """Submit the training job, wait for it, and download its model to ``output``.

    Afterwards ``output`` and ``metrics.json`` beside it are as after
    training here (``train_and_save``), ready for ``deployment.register``.

    Args:
        compute: Name of the Azure ML compute cluster.
        data: The training data; see ``data_uri``.
        seed: Random seed passed to the training script.
        output: Where to put the job's model.pkl; metrics.json goes beside it.
        client: The workspace client; None means ``get_ml_client()``.

    Returns:
        The job's Azure ML studio URL (else its name).

    Raises:
        TrainingJobError: The job did not complete, or left no model.
    """
    client, submitted = _submit(compute, data, seed=seed, client=client)
    url = submitted.studio_url or submitted.name
    wait_for_job(client, submitted.name, url)
    download_model(client, submitted.name, output, url)
    # On the cluster, training read a mounted copy: record the data itself.
    metrics_path = Path(output).with_name(Path(METRICS_PATH).name)
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics["training_data"] = data_uri(data)
    metrics_path.write_text(
        json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return url
