"""Create or update the batch endpoint and its model deployment (Azure ML SDK v2).

The batch endpoint scores files too big for the online endpoint's requests:
its one deployment runs ``deployment/batch.py`` (the same driver that scores
files on this machine) with the registered model, on the training compute
cluster (``settings.TRAINING_COMPUTE_NAME``), which scales to zero between
jobs. This module builds both with azure-ai-ml's own entities
(``BatchEndpoint``, ``ModelBatchDeployment``): the names, the model version,
the environment and ``settings.BATCH_INSTANCE_COUNT`` and
``settings.BATCH_MINI_BATCH_SIZE`` from settings, retries and the output
file here
(https://learn.microsoft.com/azure/machine-learning/how-to-use-batch-model-deployments).

Command line (the release pipeline runs it after Prod takes all traffic)::

    python -m {{ cookiecutter.module_name }}.deployment.batch_endpoint --model-version 8

Running it again changes nothing but what changed: the endpoint and the
deployment are created or updated in place, under their fixed names, and the
endpoint's default deployment is set only when it is not that one already.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from azure.ai.ml.constants import BatchDeploymentOutputAction
from azure.ai.ml.entities import (
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
)

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    SRC_DIR,
    ProjectFileNotFoundError,
    WorkspaceConfigurationError,
    quiet_azure_logging,
    sign_in_message,
)
from ..azureml_workspace import azureml_environment, get_ml_client
from .deploy import resolve_model_version
from .stages import ModelVersionNotFoundError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# The endpoint's one deployment, updated in place by every release.
DEPLOYMENT_NAME = "score"
# The batch driver, inside the uploaded src/ folder (as score.py is).
BATCH_SCRIPT = f"{PACKAGE_NAME}/deployment/batch.py"
# Every mini-batch's rows land in this file of the job's output folder.
OUTPUT_FILE = "predictions.csv"
# A mini-batch that fails or takes longer than TIMEOUT_SECONDS is tried again,
# MAX_RETRIES times; a file that still cannot be scored fails the job
# (ERROR_THRESHOLD 0: no failed file is tolerated, none is silently missing).
MAX_RETRIES = 3
TIMEOUT_SECONDS = 300
ERROR_THRESHOLD = 0


def build_batch_endpoint() -> BatchEndpoint:
    """The batch endpoint ``settings.BATCH_ENDPOINT_NAME``.

    Callers sign in with Microsoft Entra ID: batch endpoints take no keys.
    """
    return BatchEndpoint(
        name=settings.BATCH_ENDPOINT_NAME,
        description=f"Batch scoring of {settings.MODEL_NAME} on the training cluster.",
    )


def build_batch_deployment(model_version: str) -> ModelBatchDeployment:
    """The batch deployment of version ``model_version`` of ``settings.MODEL_NAME``.

    It runs ``batch.py`` in the project's Azure ML environment on
    ``settings.TRAINING_COMPUTE_NAME`` with ``settings.BATCH_INSTANCE_COUNT``
    instances and ``settings.BATCH_MINI_BATCH_SIZE`` files per mini-batch;
    ``batch.py`` reads ``settings.BATCH_CHUNK_ROWS`` rows at a time.

    Raises:
        ProjectFileNotFoundError: ``batch.py`` is missing.
    """
    if not (SRC_DIR / BATCH_SCRIPT).is_file():
        raise ProjectFileNotFoundError(
            f"the batch scoring script {SRC_DIR / BATCH_SCRIPT} is missing. "
            "Restore it from the project repository."
        )
    return ModelBatchDeployment(
        name=DEPLOYMENT_NAME,
        endpoint_name=settings.BATCH_ENDPOINT_NAME,
        model=f"azureml:{settings.MODEL_NAME}:{model_version}",
        environment=azureml_environment(),
        code_configuration=CodeConfiguration(
            code=str(SRC_DIR), scoring_script=BATCH_SCRIPT
        ),
        compute=settings.TRAINING_COMPUTE_NAME,
        settings=ModelBatchDeploymentSettings(
            instance_count=settings.BATCH_INSTANCE_COUNT,
            mini_batch_size=settings.BATCH_MINI_BATCH_SIZE,
            max_concurrency_per_instance=1,
            output_action=BatchDeploymentOutputAction.APPEND_ROW,
            output_file_name=OUTPUT_FILE,
            retry_settings=BatchRetrySettings(
                max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS
            ),
            error_threshold=ERROR_THRESHOLD,
            logging_level="info",
            # batch.py reads no settings: its chunk size arrives this way.
            environment_variables={"BATCH_CHUNK_ROWS": str(settings.BATCH_CHUNK_ROWS)},
        ),
    )


def deploy_batch(
    model_version: str = "latest", *, client: MLClient | None = None
) -> str:
    """Create or update the batch endpoint and its deployment; return its URI.

    The endpoint first (its default deployment kept), then the deployment
    (the model version, code and settings updated in place), then the
    endpoint's default deployment, when it is not the deployment already.

    Raises:
        ModelVersionNotFoundError: "latest" was asked and no version exists.
    """
    client = client if client is not None else get_ml_client()
    version = resolve_model_version(client, model_version)
    endpoint = build_batch_endpoint()
    deployment = build_batch_deployment(version)
    current = _current_endpoint(client, endpoint.name)
    if current is not None:
        endpoint.defaults = current.defaults
    logger.info(
        "Batch endpoint %s: deployment %s serves %s version %s on %s",
        endpoint.name,
        deployment.name,
        settings.MODEL_NAME,
        version,
        deployment.compute,
    )
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    client.batch_deployments.begin_create_or_update(deployment).result()
    endpoint = client.batch_endpoints.get(name=endpoint.name)
    if (endpoint.defaults or {}).get("deployment_name") != deployment.name:
        endpoint.defaults = {"deployment_name": deployment.name}
        client.batch_endpoints.begin_create_or_update(endpoint).result()
        logger.info("Default deployment of %s: %s", endpoint.name, deployment.name)
    return endpoint.scoring_uri


def _current_endpoint(client: MLClient, name: str) -> BatchEndpoint | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.batch_endpoints.get(name=name)
    except ResourceNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Create or update the batch endpoint; print its URI."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--model-version",
        default="latest",
        help='registered version of the model, or "latest" (default)',
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    quiet_azure_logging()
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    try:
        uri = deploy_batch(args.model_version)
    except (
        ModelVersionNotFoundError,
        ProjectFileNotFoundError,
        WorkspaceConfigurationError,
    ) as error:
        parser.exit(1, f"error: {error}\n")
    except ClientAuthenticationError as error:
        parser.exit(1, sign_in_message(error))
    except HttpResponseError as error:
        parser.exit(
            1,
            f"error: Azure ML refused the batch endpoint {settings.BATCH_ENDPOINT_NAME} "
            f"or its deployment: {error.message}\n",
        )
    print(uri)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
