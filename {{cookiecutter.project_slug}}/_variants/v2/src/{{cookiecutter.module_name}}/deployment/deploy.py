"""Deploy a registered model to the QA or Prod online endpoint (Azure ML SDK v2).

QA is a managed online endpoint, Prod a Kubernetes online endpoint on the AKS
cluster attached to the workspace. Their specs are ``.azureml/endpoint-<stage>.yml``
and ``.azureml/deployment-<stage>.yml``; this module fills in the endpoint name,
the model version, the environment and the scoring code.

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.deploy --stage qa --model-version latest
    python -m {{ cookiecutter.module_name }}.deployment.deploy --stage qa --print-key

The first releases the model blue/green (``deploy`` and ``rollout``: a new
deployment at 0 % traffic, smoke-tested with ``.azureml/test.json``, then the
traffic, then the old deployment deleted; any failure rolls back) and prints
the scoring URI; ``--output-uri FILE`` also writes it to FILE; the endpoint
key is never printed or written. The second
deploys nothing and prints only the endpoint's primary key (``endpoint_key``),
for ``SCORING_KEY="$(...)"`` in a pipeline script before the smoke test.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
    SRC_DIR,
    ProjectFileNotFoundError,
    project_file,
)
from ..azureml_workspace import (
    azureml_environment,
    get_ml_client,
)
from . import rollout, smoke_test, stages
from .rollout import Kind
from .stages import (
    EndpointNotFoundError,
    ModelVersionNotFoundError,
    Stage,
    check_stage,
)

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# Smoke-tests (scoring_uri, key, deployment name or None for the endpoint).
Smoke = Callable[[str, str, "str | None"], None]

# The scoring script and the folder uploaded with it: src/, so that the model's
# preparation step (data_preprocessing.features, inside model.pkl) unpickles.
# The inference server puts the uploaded folder on sys.path.
SCORING_SCRIPT = f"{PACKAGE_NAME}/deployment/score.py"
SCORING_DIR = SRC_DIR


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
    count, and the data collector's collections, stay as in the file.
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
    # score.py reads no settings: its limit, and the name of the predictions'
    # column in the collected outputs, arrive this way.
    deployment.environment_variables = {
        **(deployment.environment_variables or {}),
        "MAX_ROWS_PER_REQUEST": str(settings.MAX_ROWS_PER_REQUEST),
        "TARGET_COLUMN": settings.TARGET_COLUMN,
    }
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


class ClientActions:
    """Carries out rollout steps with ``MLClient`` on one endpoint.

    Args:
        client: The workspace client.
        endpoint: The endpoint as built from its spec (name, auth, compute).
        deployment: The new deployment; its name is the plan's new one.
        state: The endpoint before the release (its traffic is kept when the
            endpoint is updated).
        smoke: Smoke-tests ``(scoring_uri, key, deployment or None)``; raises
            ``SmokeTestError`` when the answer is wrong.
    """

    def __init__(
        self,
        client: MLClient,
        endpoint: OnlineEndpoint,
        deployment: OnlineDeployment,
        state: rollout.EndpointState,
        smoke: Smoke,
    ) -> None:
        self.client = client
        self.endpoint = endpoint
        self.deployment = deployment
        self.state = state
        self.smoke = smoke

    def apply(self, step: rollout.Step) -> None:
        """Carry out ``step``; each call waits for Azure ML to finish it."""
        endpoints = self.client.online_endpoints
        name = self.endpoint.name
        if step.kind is Kind.ENSURE_ENDPOINT:
            self.endpoint.traffic = dict(self.state.traffic)
            endpoints.begin_create_or_update(self.endpoint).result()
        elif step.kind is Kind.CREATE_DEPLOYMENT:
            self.client.online_deployments.begin_create_or_update(
                self.deployment
            ).result()
        elif step.kind is Kind.SET_TRAFFIC:
            current = endpoints.get(name=name)
            current.traffic = step.traffic_map
            endpoints.begin_create_or_update(current).result()
        elif step.kind in (Kind.TEST_DEPLOYMENT, Kind.TEST_ENDPOINT):
            scoring_uri = endpoints.get(name=name).scoring_uri
            key = endpoints.get_keys(name=name).primary_key
            self.smoke(scoring_uri, key, step.deployment)
        elif step.kind is Kind.DELETE_DEPLOYMENT:
            self._delete(step.deployment or "")

    def _delete(self, deployment: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            poller = self.client.online_deployments.begin_delete(
                name=deployment, endpoint_name=self.endpoint.name
            )
        except ResourceNotFoundError:
            logger.info("Deployment %s does not exist: nothing to delete", deployment)
            return
        poller.result()


def smoke_test_payload(scoring_uri: str, key: str, deployment: str | None) -> None:
    """POST ``.azureml/test.json`` to the endpoint, or to one of its deployments.

    A named deployment is reached through the ``azureml-model-deployment``
    header, whatever its share of the traffic.

    Raises:
        SmokeTestError: The answer was not one prediction per row.
    """
    payload = smoke_test.load_payload(project_file(".azureml", "test.json"))
    predictions = smoke_test.smoke_test(
        scoring_uri, payload, key=key, deployment=deployment
    )
    target = f"deployment {deployment}" if deployment else "the endpoint"
    logger.info("Smoke test OK: %s answered %d predictions", target, len(predictions))


def endpoint_state(client: MLClient, name: str) -> rollout.EndpointState:
    """What the endpoint ``name`` looks like now: deployments and traffic."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        endpoint = client.online_endpoints.get(name=name)
    except ResourceNotFoundError:
        return rollout.EndpointState()
    deployments = client.online_deployments.list(endpoint_name=name)
    return rollout.EndpointState(
        exists=True,
        deployments=tuple(deployment.name for deployment in deployments),
        traffic=dict(endpoint.traffic or {}),
    )


def deploy(
    stage: Stage,
    model_version: str = "latest",
    *,
    client: MLClient | None = None,
    smoke: Smoke | None = None,
) -> str:
    """Release a model version to the ``stage`` endpoint, blue/green; return its URI.

    The version goes to the endpoint's idle deployment at 0 % traffic and is
    smoke-tested there; then traffic moves to it (in Prod through a canary
    share, ``settings.CANARY_TRAFFIC_PERCENT``, tested through the endpoint)
    and the old deployment is deleted. A failure rolls back: traffic returns
    to the old deployment, the new one is deleted. See ``rollout``.

    Args:
        stage: "qa" or "prod".
        model_version: Version of ``settings.MODEL_NAME``, or "latest".
        client: The workspace client; None means ``get_ml_client()``.
        smoke: The smoke test; None means ``smoke_test_payload``.

    Raises:
        RolloutError: A step failed; traffic is back on the old deployment.
    """
    endpoint_name(stage)
    client = client if client is not None else get_ml_client()
    version = resolve_model_version(client, model_version)
    endpoint = build_endpoint(stage)
    deployment = build_deployment(stage, version)
    state = endpoint_state(client, endpoint.name)
    canary = settings.CANARY_TRAFFIC_PERCENT if stage == "prod" else 0
    plan = rollout.plan_release(state, canary_percent=canary)
    deployment.name = plan.new
    logger.info(
        "Releasing %s version %s to %s as deployment %s (now serving: %s)",
        settings.MODEL_NAME,
        version,
        endpoint.name,
        plan.new,
        plan.old or "nothing",
    )
    actions = ClientActions(
        client, endpoint, deployment, state, smoke or smoke_test_payload
    )
    rollout.run(plan, actions)
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
    return stages.main(
        deploy,
        endpoint_key,
        argv,
        description=description,
        errors=(rollout.RolloutError,),
    )


if __name__ == "__main__":
    raise SystemExit(main())
