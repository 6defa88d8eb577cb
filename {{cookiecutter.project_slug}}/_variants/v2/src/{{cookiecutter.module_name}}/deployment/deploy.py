"""Deploy a registered model to the QA or Prod online endpoint (Azure ML SDK v2).

QA is a managed online endpoint, Prod a Kubernetes online endpoint on the AKS
cluster attached to the workspace. Their specs are ``.azureml/endpoint-<stage>.yml``
and ``.azureml/deployment-<stage>.yml``; this module fills in the endpoint name,
the model version, the environment and the scoring code.

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.deploy --stage qa --model-version latest
    python -m {{ cookiecutter.module_name }}.deployment.deploy --stage qa --print-key

The first deploys and prints the scoring URI; ``--output-uri FILE`` also
writes it to FILE; the endpoint key is never printed or written. The second
deploys nothing and prints only the endpoint's primary key (``endpoint_key``),
for ``SCORING_KEY="$(...)"`` in a pipeline script before the smoke test.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from azure.ai.ml import load_online_deployment, load_online_endpoint
from azure.ai.ml.entities import (
    CodeConfiguration,
    KubernetesOnlineEndpoint,
    OnlineDeployment,
    OnlineEndpoint,
)

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    ProjectFileNotFoundError,
    project_file,
)
from ..azureml_workspace import (
    azureml_environment,
    get_ml_client,
)
from . import stages
from .stages import (
    EndpointNotFoundError,
    ModelVersionNotFoundError,
    Stage,
    check_stage,
)

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# The scoring script and the folder uploaded with it: score.py imports nothing
# from the package, so only its own folder goes to Azure ML.
SCORING_SCRIPT = "score.py"
SCORING_DIR = Path(__file__).resolve().parent


def endpoint_name(stage: Stage) -> str:
    """Return the name of the ``stage`` endpoint: QA_ENDPOINT_NAME or PROD_ENDPOINT_NAME.

    Raises:
        ValueError: ``stage`` is neither "qa" nor "prod".
    """
    check_stage(stage)
    return settings.QA_ENDPOINT_NAME if stage == "qa" else settings.PROD_ENDPOINT_NAME


def build_endpoint(stage: Stage) -> OnlineEndpoint:
    """Return the online endpoint of ``stage`` from ``.azureml/endpoint-<stage>.yml``.

    The name comes from ``settings`` (QA_ENDPOINT_NAME or PROD_ENDPOINT_NAME);
    the Prod endpoint's AKS compute from ``settings.AKS_COMPUTE_NAME``.
    """
    name = endpoint_name(stage)
    endpoint = load_online_endpoint(project_file(".azureml", f"endpoint-{stage}.yml"))
    endpoint.name = name
    if isinstance(endpoint, KubernetesOnlineEndpoint):
        endpoint.compute = settings.AKS_COMPUTE_NAME
    return endpoint


def build_deployment(stage: Stage, model_version: str) -> OnlineDeployment:
    """Return the deployment of ``stage`` from ``.azureml/deployment-<stage>.yml``.

    It serves version ``model_version`` of ``settings.MODEL_NAME`` with
    ``score.py`` in the project's Azure ML environment; the instance type and
    count stay as in the file.
    """
    name = endpoint_name(stage)
    deployment = load_online_deployment(
        project_file(".azureml", f"deployment-{stage}.yml")
    )
    deployment.endpoint_name = name
    deployment.model = f"azureml:{settings.MODEL_NAME}:{model_version}"
    deployment.environment = azureml_environment()
    if not (SCORING_DIR / SCORING_SCRIPT).is_file():
        raise ProjectFileNotFoundError(
            f"the scoring script {SCORING_DIR / SCORING_SCRIPT} is missing. "
            "Restore it from the project repository."
        )
    deployment.code_configuration = CodeConfiguration(
        code=str(SCORING_DIR), scoring_script=SCORING_SCRIPT
    )
    return deployment


def resolve_model_version(client: MLClient, model_version: str = "latest") -> str:
    """Return ``model_version``, or the newest version's number for "latest".

    Raises:
        ModelVersionNotFoundError: "latest" was asked and the model has no version.
    """
    if model_version != "latest":
        return model_version
    from azure.core.exceptions import ResourceNotFoundError

    try:
        model = client.models.get(name=settings.MODEL_NAME, label="latest")
    except ResourceNotFoundError as error:
        raise ModelVersionNotFoundError(
            f"the model {settings.MODEL_NAME} has no registered version. "
            f"Register one first: python -m {PACKAGE_NAME}.deployment.register"
        ) from error
    return str(model.version)


def deploy(
    stage: Stage, model_version: str = "latest", *, client: MLClient | None = None
) -> str:
    """Deploy a model version to the ``stage`` endpoint and return its scoring URI.

    Creates or updates the endpoint, then the deployment, then sends all the
    endpoint's traffic to the deployment. Each step waits for Azure ML.

    Args:
        stage: "qa" or "prod".
        model_version: Version of ``settings.MODEL_NAME``, or "latest".
        client: The workspace client; None means ``get_ml_client()``.
    """
    endpoint_name(stage)
    client = client if client is not None else get_ml_client()
    version = resolve_model_version(client, model_version)
    endpoint = build_endpoint(stage)
    deployment = build_deployment(stage, version)

    logger.info("Creating or updating endpoint %s", endpoint.name)
    client.online_endpoints.begin_create_or_update(endpoint).result()
    logger.info(
        "Deploying %s version %s as %s", settings.MODEL_NAME, version, deployment.name
    )
    client.online_deployments.begin_create_or_update(deployment).result()
    endpoint.traffic = {deployment.name: 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    logger.info("Endpoint %s sends all traffic to %s", endpoint.name, deployment.name)
    return client.online_endpoints.get(name=endpoint.name).scoring_uri


def endpoint_key(stage: Stage, client: MLClient | None = None) -> str:
    """Return the primary key of the ``stage`` endpoint.

    Keep it out of logs, files and command lines: pass it on in an
    environment variable.

    Raises:
        EndpointNotFoundError: The endpoint does not exist: deploy it first.
    """
    from azure.core.exceptions import ResourceNotFoundError

    name = endpoint_name(stage)
    client = client if client is not None else get_ml_client()
    try:
        keys = client.online_endpoints.get_keys(name=name)
    except ResourceNotFoundError as error:
        raise EndpointNotFoundError(
            f"the {stage} endpoint {name} does not exist. Deploy it first: "
            f"python -m {PACKAGE_NAME}.deployment.deploy --stage {stage}"
        ) from error
    return keys.primary_key


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy and print the scoring URI, or print only the key (``--print-key``)."""
    description = __doc__.splitlines()[0]
    return stages.main(deploy, endpoint_key, argv, description=description)


if __name__ == "__main__":
    raise SystemExit(main())
