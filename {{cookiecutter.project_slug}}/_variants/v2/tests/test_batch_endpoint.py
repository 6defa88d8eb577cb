"""The batch endpoint and its deployment: the definition, and deploy_batch()
against a fake workspace.

The fake replaces MLClient at its boundary only (models, batch_endpoints,
batch_deployments), as test_rollout.py's does: it keeps endpoints and
deployments by name and records every create-or-update.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from prerequisites import require_azureml_sdk

from {{ cookiecutter.module_name }} import (
    settings,
)

pytestmark = [
    pytest.mark.azureml,
    pytest.mark.usefixtures("no_remote_hosts", "azureml_variables_cleared"),
]

require_azureml_sdk()

from azure.ai.ml.entities import (  # noqa: E402
    BatchEndpoint,
    ModelBatchDeployment,
)
from azure.core.exceptions import (  # noqa: E402
    HttpResponseError,
    ResourceNotFoundError,
)

from {{ cookiecutter.module_name }}.azureml_config import (  # noqa: E402
    SRC_DIR,
)
from {{ cookiecutter.module_name }}.deployment import (  # noqa: E402
    batch_endpoint,
)

URI = "https://batch.westeurope.inference.ml.azure.com/jobs"


class Poller:
    def __init__(self, value: Any = None) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class FakeWorkspace:
    """Stands in for MLClient: batch endpoints and deployments, kept by name.

    ``operations`` lists every create-or-update ("endpoint NAME",
    "deployment NAME"); ``fail_deployment`` makes the deployment's fail.
    """

    def __init__(self, latest_model: str = "8") -> None:
        self.latest_model = latest_model
        self.endpoints: dict[str, BatchEndpoint] = {}
        self.deployments: dict[str, ModelBatchDeployment] = {}
        self.operations: list[str] = []
        self.fail_deployment = False
        self.models = SimpleNamespace(get=self._get_model)
        self.batch_endpoints = SimpleNamespace(
            get=self._get_endpoint, begin_create_or_update=self._put_endpoint
        )
        self.batch_deployments = SimpleNamespace(
            begin_create_or_update=self._put_deployment
        )

    def _get_model(self, name: str, label: str | None = None) -> Any:
        assert (name, label) == (settings.MODEL_NAME, "latest")
        return SimpleNamespace(name=name, version=self.latest_model)

    def _get_endpoint(self, name: str) -> BatchEndpoint:
        if name not in self.endpoints:
            raise ResourceNotFoundError(f"batch endpoint {name} not found")
        return copy.deepcopy(self.endpoints[name])

    def _put_endpoint(self, endpoint: BatchEndpoint) -> Poller:
        assert isinstance(endpoint, BatchEndpoint)
        self.operations.append(f"endpoint {endpoint.name}")
        default = (endpoint.defaults or {}).get("deployment_name")
        assert default is None or default in self.deployments, (
            f"default deployment {default} does not exist"
        )
        stored = copy.deepcopy(endpoint)
        stored._scoring_uri = URI  # what Azure ML answers
        self.endpoints[endpoint.name] = stored
        return Poller(stored)

    def _put_deployment(self, deployment: ModelBatchDeployment) -> Poller:
        assert isinstance(deployment, ModelBatchDeployment)
        assert deployment.endpoint_name in self.endpoints, "deployment before endpoint"
        self.operations.append(f"deployment {deployment.name}")
        if self.fail_deployment:
            raise HttpResponseError("the compute cluster cpu-cluster was not found")
        self.deployments[deployment.name] = copy.deepcopy(deployment)
        return Poller(deployment)


@pytest.fixture
def batch_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings values unlike the defaults: the definition must take them from settings."""
    monkeypatch.setattr(settings, "TRAINING_COMPUTE_NAME", "team-cluster")
    monkeypatch.setattr(settings, "BATCH_INSTANCE_COUNT", 3)
    monkeypatch.setattr(settings, "BATCH_MINI_BATCH_SIZE", 7)
    monkeypatch.setattr(settings, "BATCH_CHUNK_ROWS", 5000)


@pytest.mark.usefixtures("batch_settings")
def test_deployment_runs_batch_py_with_the_model_on_the_training_cluster() -> None:
    """The deployment serves the asked model version with batch.py from src/, in the
    project's environment, on TRAINING_COMPUTE_NAME, with the instance count and
    mini-batch size of settings, retries, and every row appended to one file."""
    deployment = batch_endpoint.build_batch_deployment("8")

    assert deployment.type == "model"
    assert deployment.endpoint_name == settings.BATCH_ENDPOINT_NAME
    assert deployment.model == f"azureml:{settings.MODEL_NAME}:8"
    assert deployment.environment.name == settings.ENVIRONMENT_NAME
    code = deployment.code_configuration
    assert (SRC_DIR / code.scoring_script).resolve() == (
        SRC_DIR / batch_endpoint.BATCH_SCRIPT
    ).resolve()
    assert code.scoring_script.endswith("deployment/batch.py")
    assert code.code == str(SRC_DIR)
    assert deployment.compute == "team-cluster"
    assert deployment.settings.instance_count == 3
    assert deployment.settings.mini_batch_size == 7
    assert deployment.settings.output_action == "append_row"
    assert deployment.settings.retry_settings.max_retries == batch_endpoint.MAX_RETRIES
    assert deployment.settings.error_threshold == 0
    assert deployment.settings.environment_variables == {"BATCH_CHUNK_ROWS": "5000"}


@pytest.mark.usefixtures("batch_settings")
def test_the_sdk_sends_the_instances_mini_batch_and_compute_of_settings() -> None:
    """azure-ai-ml turns the deployment into the request body Azure ML receives,
    with the compute, instance count, mini-batch size and retries of the definition."""
    rest = batch_endpoint.build_batch_deployment("8")._to_rest_object(
        location="westeurope"
    )

    body = rest.as_dict()["properties"]
    assert body["compute"] == "team-cluster"
    assert body["resources"]["instanceCount"] == 3
    assert body["miniBatchSize"] == 7
    assert body["retrySettings"] == {
        "maxRetries": batch_endpoint.MAX_RETRIES,
        "timeout": "PT5M",
    }
    assert body["outputAction"] == "AppendRow"
    assert body["model"]["assetId"] == f"azureml:{settings.MODEL_NAME}:8"


def test_endpoint_is_named_from_settings_and_signs_in_with_entra_id() -> None:
    """The endpoint takes its name from BATCH_ENDPOINT_NAME, a valid endpoint name."""
    endpoint = batch_endpoint.build_batch_endpoint()

    assert endpoint.name == settings.BATCH_ENDPOINT_NAME
    assert 3 <= len(endpoint.name) <= 32
    assert endpoint.auth_mode == "aad_token"


def test_first_run_creates_the_endpoint_then_the_deployment_then_the_default() -> None:
    """An empty workspace gets the endpoint, its one deployment with the model's
    latest version, and that deployment as the endpoint's default."""
    workspace = FakeWorkspace(latest_model="8")

    uri = batch_endpoint.deploy_batch(client=workspace)

    name = settings.BATCH_ENDPOINT_NAME
    assert uri == URI
    assert workspace.operations == [
        f"endpoint {name}",
        "deployment score",
        f"endpoint {name}",
    ]
    assert workspace.endpoints[name].defaults == {"deployment_name": "score"}
    assert workspace.deployments["score"].model == f"azureml:{settings.MODEL_NAME}:8"


def test_a_second_run_creates_nothing_and_keeps_the_default() -> None:
    """Run twice with the same version: still one endpoint and one deployment, the
    same definition, and the default deployment is not set again."""
    workspace = FakeWorkspace()
    batch_endpoint.deploy_batch("8", client=workspace)
    first = copy.deepcopy(workspace.deployments["score"])
    workspace.operations.clear()

    batch_endpoint.deploy_batch("8", client=workspace)

    name = settings.BATCH_ENDPOINT_NAME
    assert workspace.operations == [f"endpoint {name}", "deployment score"]
    assert list(workspace.endpoints) == [name]
    assert list(workspace.deployments) == ["score"]
    assert workspace.endpoints[name].defaults == {"deployment_name": "score"}
    again = workspace.deployments["score"]
    assert (
        again._to_rest_object(location="x").as_dict()
        == first._to_rest_object(location="x").as_dict()
    )


def test_a_new_model_version_updates_the_deployment_in_place() -> None:
    """A release of version 9 after 8 updates the one deployment; the endpoint's
    default never points at a deployment that does not exist."""
    workspace = FakeWorkspace()
    batch_endpoint.deploy_batch("8", client=workspace)

    batch_endpoint.deploy_batch("9", client=workspace)

    assert list(workspace.deployments) == ["score"]
    assert workspace.deployments["score"].model == f"azureml:{settings.MODEL_NAME}:9"


def test_command_line_prints_the_uri(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ...batch_endpoint --model-version 8`` prints the endpoint's URI."""
    workspace = FakeWorkspace()
    monkeypatch.setattr(batch_endpoint, "get_ml_client", lambda: workspace)

    assert batch_endpoint.main(["--model-version", "8"]) == 0

    assert capsys.readouterr().out == URI + "\n"
    assert list(workspace.deployments) == ["score"]


def test_command_line_reports_a_refused_deployment_in_one_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Azure ML refusing the deployment exits with 1 and its reason, no traceback."""
    workspace = FakeWorkspace()
    workspace.fail_deployment = True
    monkeypatch.setattr(batch_endpoint, "get_ml_client", lambda: workspace)

    with pytest.raises(SystemExit) as caught:
        batch_endpoint.main(["--model-version", "8"])

    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Azure ML refused the batch endpoint")
    assert "cpu-cluster was not found" in err
    assert "Traceback" not in err
