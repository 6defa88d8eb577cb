"""Deploy a registered model as the QA or Prod web service (Azure ML SDK v1).

QA runs on Azure Container Instances (ACI), Prod on the Azure Kubernetes
Service (AKS) cluster attached to the workspace as settings.AKS_COMPUTE_NAME.
Both serve ``score.py`` in the project's Azure ML environment and need a key.

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.deploy --stage qa --model-version latest
    python -m {{ cookiecutter.module_name }}.deployment.deploy --stage qa --print-key

The first deploys and prints the scoring URI; ``--output-uri FILE`` also
writes it to FILE; the service key is never printed or written. The second
deploys nothing and prints only the service's primary key (``endpoint_key``),
for ``SCORING_KEY="$(...)"`` in a pipeline script before the smoke test.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    SRC_DIR,
    project_file,
)
from ..azureml_workspace import (
    SDK_MISSING,
    azureml_environment,
    get_workspace,
)
from . import stages
from .stages import (
    EndpointNotFoundError,
    ModelVersionNotFoundError,
    Stage,
    check_stage,
)

try:
    from azureml.core import Model
    from azureml.core.compute import AksCompute
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AciWebservice, AksWebservice, Webservice
    from azureml.core.webservice.aci import AciServiceDeploymentConfiguration
    from azureml.core.webservice.aks import AksServiceDeploymentConfiguration
    from azureml.exceptions import ComputeTargetException, WebserviceException
except ImportError as error:
    raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error

if TYPE_CHECKING:
    from azureml.core import Workspace

logger = logging.getLogger(__name__)

SERVICE_NAMES = {"qa": settings.QA_ENDPOINT_NAME, "prod": settings.PROD_ENDPOINT_NAME}
# The scoring script, relative to src/ (uploaded whole, so score.py can import
# the package).
SCORING_SCRIPT = f"{PACKAGE_NAME}/deployment/score.py"
# Lines of the service's log shown when a deployment fails.
LOG_LINES = 50


class DeploymentError(RuntimeError):
    """The web service could not be deployed or is not healthy."""


def inference_config() -> InferenceConfig:
    """Return how the service runs the model: ``score.py`` in the project's environment.

    Raises:
        ProjectFileNotFoundError: score.py or the conda file is missing.
    """
    project_file("src", SCORING_SCRIPT)
    return InferenceConfig(
        entry_script=SCORING_SCRIPT,
        source_directory=str(SRC_DIR),
        environment=azureml_environment(),
    )


def deployment_config(
    stage: Stage,
) -> AciServiceDeploymentConfiguration | AksServiceDeploymentConfiguration:
    """Return where and how big the ``stage`` service runs.

    QA: ACI with 1 CPU and 1 GB. Prod: AKS with 1 CPU and 2 GB per replica,
    autoscaling from 1 to 3 replicas. Both require a key.
    """
    check_stage(stage)
    if stage == "qa":
        return AciWebservice.deploy_configuration(
            cpu_cores=1, memory_gb=1, auth_enabled=True
        )
    return AksWebservice.deploy_configuration(
        cpu_cores=1,
        memory_gb=2,
        autoscale_enabled=True,
        autoscale_min_replicas=1,
        autoscale_max_replicas=3,
        auth_enabled=True,
    )


def parse_model_version(model_version: str | int) -> int | None:
    """Return ``model_version`` as a number, or None for "latest".

    Raises:
        ValueError: It is neither "latest" nor a positive whole number.
    """
    text = str(model_version).strip()
    if text == "latest":
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(
            f"model version {model_version!r} is not valid: use a version "
            'number such as 3, or "latest".'
        )
    return int(text)


def get_model(workspace: Workspace, model_version: str | int = "latest") -> Model:
    """Return version ``model_version`` of settings.MODEL_NAME, or its newest for "latest".

    Raises:
        ValueError: ``model_version`` is neither "latest" nor a positive number.
        ModelVersionNotFoundError: That version is not registered.
    """
    version = parse_model_version(model_version)
    try:
        return Model(workspace, name=settings.MODEL_NAME, version=version)
    except WebserviceException as error:
        if "ModelNotFound" not in str(error.message):
            raise
        raise ModelVersionNotFoundError(
            f"the model {settings.MODEL_NAME} has no registered version "
            f"{model_version}. Register one first: "
            f"python -m {PACKAGE_NAME}.deployment.register"
        ) from error


def deployment_target(workspace: Workspace, stage: Stage) -> AksCompute | None:
    """Return the AKS cluster that runs the Prod service; None (ACI) for QA.

    Raises:
        DeploymentError: The workspace has no AKS cluster settings.AKS_COMPUTE_NAME.
    """
    check_stage(stage)
    if stage != "prod":
        return None
    try:
        return AksCompute(workspace, settings.AKS_COMPUTE_NAME)
    except ComputeTargetException as error:
        raise DeploymentError(
            f"the workspace has no usable AKS cluster {settings.AKS_COMPUTE_NAME!r} "
            f"({error.message}). Attach one under that name (Azure ML studio: "
            "Compute > Kubernetes clusters), or set settings.AKS_COMPUTE_NAME."
        ) from error


def _log_excerpt(service: Webservice) -> str:
    """Return the last lines of the service's log, or why there are none."""
    try:
        logs = service.get_logs(num_lines=LOG_LINES) or ""
    except WebserviceException as error:
        return f"(no logs: {error.message})"
    return "\n".join(logs.splitlines()[-LOG_LINES:]) or "(the log is empty)"


def deploy(
    stage: Stage, model_version: str = "latest", *, workspace: Workspace | None = None
) -> str:
    """Deploy a model version as the ``stage`` web service and return its scoring URI.

    Creates the service, or replaces the one of the same name, and waits
    until Azure ML reports it healthy.

    Args:
        stage: "qa" or "prod".
        model_version: Version of ``settings.MODEL_NAME``, or "latest".
        workspace: The Azure ML workspace; None means ``get_workspace()``.

    Raises:
        DeploymentError: The service failed to deploy or is not healthy; the
            message ends with the last lines of its log.
        ModelVersionNotFoundError: The model version is not registered.
    """
    check_stage(stage)
    if workspace is None:
        workspace = get_workspace()
    model = get_model(workspace, model_version)
    name = SERVICE_NAMES[stage]
    logger.info(
        "Deploying %s version %s as the %s service %s",
        model.name,
        model.version,
        stage,
        name,
    )
    service = Model.deploy(
        workspace,
        name,
        [model],
        inference_config(),
        deployment_config(stage),
        deployment_target=deployment_target(workspace, stage),
        overwrite=True,
    )
    try:
        service.wait_for_deployment(show_output=True)
    except WebserviceException as error:
        raise DeploymentError(
            f"the {stage} service {name} failed to deploy: {error.message}\n"
            f"Last lines of its log:\n{_log_excerpt(service)}"
        ) from error
    if service.state != "Healthy":
        raise DeploymentError(
            f"the {stage} service {name} is {service.state}, not Healthy. Fix "
            f"score.py or the environment and deploy again. Last lines of its "
            f"log:\n{_log_excerpt(service)}"
        )
    logger.info("The %s service %s is healthy", stage, name)
    return service.scoring_uri


def endpoint_key(stage: Stage, workspace: Workspace | None = None) -> str:
    """Return the primary key of the ``stage`` web service.

    Keep it out of logs, files and command lines: pass it on in an
    environment variable.

    Raises:
        EndpointNotFoundError: The service does not exist: deploy it first.
    """
    check_stage(stage)
    if workspace is None:
        workspace = get_workspace()
    name = SERVICE_NAMES[stage]
    try:
        service = Webservice(workspace, name)
    except WebserviceException as error:
        if "WebserviceNotFound" not in str(error.message):
            raise
        raise EndpointNotFoundError(
            f"the {stage} service {name} does not exist. Deploy it first: "
            f"python -m {PACKAGE_NAME}.deployment.deploy --stage {stage}"
        ) from error
    primary, _secondary = service.get_keys()
    return primary


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy and print the scoring URI, or print only the key (``--print-key``)."""
    description = __doc__.splitlines()[0]
    errors = (DeploymentError, ValueError)
    return stages.main(
        deploy, endpoint_key, argv, description=description, errors=errors
    )


if __name__ == "__main__":
    raise SystemExit(main())
