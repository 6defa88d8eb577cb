"""Azure ML SDK v2: workspace, cluster training job, registration, deployment.

Nothing here reaches Azure: the specs load offline, entities are only built,
and every MLClient call goes to a fake client that records it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from prerequisites import require_azureml_sdk

from {{ cookiecutter.module_name }} import (
    settings,
)

pytestmark = [
    pytest.mark.azureml,
    pytest.mark.usefixtures("no_remote_hosts", "azureml_variables_cleared"),
]

require_azureml_sdk()

from azure.ai.ml import (  # noqa: E402
    MLClient,
    load_online_deployment,
    load_online_endpoint,
)
from azure.ai.ml.entities import (  # noqa: E402
    Command,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
)
from azure.ai.ml.exceptions import JobException  # noqa: E402
from azure.core.exceptions import ResourceNotFoundError  # noqa: E402

from {{ cookiecutter.module_name }} import (  # noqa: E402
    azureml_config,
    azureml_workspace,
)
from {{ cookiecutter.module_name }}.deployment import (  # noqa: E402
    deploy,
    register,
    registration,
)
from {{ cookiecutter.module_name }}.model_building import (  # noqa: E402
    azureml_job,
    train,
)

PROJECT_DIR = Path(__file__).resolve().parents[1]
AZUREML_DIR = PROJECT_DIR / ".azureml"
CONDA_FILE = AZUREML_DIR / "conda_dependencies.yml"
SRC_DIR = PROJECT_DIR / "src"
MODULE = "{{ cookiecutter.module_name }}"
# Written in two pieces so that the template engine leaves it alone.
DATA_PLACEHOLDER = "$" + "{" + "{inputs.data}}"
JOB_URL = "https://ml.azure.com/runs/job-1"
# What the job writes to ./outputs: the files MLClient.jobs.download fetches.
JOB_OUTPUTS = {
    "model.pkl": b"model from the cluster",
    "metrics.json": json.dumps({"accuracy": 0.9667, "n_test": 30}).encode(),
}


@pytest.fixture(autouse=True)
def no_credential_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential chain runs, and the SDK looks up no cloud metadata."""

    def no_default_credential() -> None:
        raise AssertionError("a test tried to use DefaultAzureCredential")

    monkeypatch.setattr(azureml_workspace, "default_credential", no_default_credential)
    monkeypatch.delenv("ARM_CLOUD_METADATA_URL", raising=False)


class FakeMLClient:
    """Stands in for MLClient: records the calls, answers like Azure ML."""

    def __init__(
        self,
        latest_version: str | None = "7",
        job_status: str = "Completed",
        job_outputs: dict[str, bytes] | None = None,
        endpoint_exists: bool = True,
    ) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.latest_version = latest_version
        self.job_status = job_status
        self.job_outputs = JOB_OUTPUTS if job_outputs is None else job_outputs
        self.endpoint_exists = endpoint_exists
        self.models = SimpleNamespace(
            create_or_update=self._create_model, get=self._get_model
        )
        self.online_endpoints = SimpleNamespace(get_keys=self._get_keys)
        self.jobs = SimpleNamespace(
            create_or_update=self._create_job,
            stream=self._stream_job,
            get=self._get_job,
            download=self._download_job,
        )

    def _create_model(self, model: Any) -> Any:
        self.calls.append(("models.create_or_update", model))
        return SimpleNamespace(
            name=model.name,
            version="3",
            id=f"/subscriptions/s/models/{model.name}/versions/3",
        )

    def _get_model(
        self, name: str, version: str | None = None, label: str | None = None
    ) -> Any:
        self.calls.append(("models.get", name, version, label))
        if self.latest_version is None:
            raise ResourceNotFoundError("model not found")
        return SimpleNamespace(name=name, version=self.latest_version, tags={})

    def _get_keys(self, name: str) -> Any:
        self.calls.append(("online_endpoints.get_keys", name))
        if not self.endpoint_exists:
            raise ResourceNotFoundError(f"endpoint {name} not found")
        return SimpleNamespace(primary_key="fake-primary-key", secondary_key="other")

    def _create_job(self, job: Any) -> Any:
        self.calls.append(("jobs.create_or_update", job))
        return SimpleNamespace(name="job-1", studio_url=JOB_URL)

    def _stream_job(self, name: str) -> None:
        self.calls.append(("jobs.stream", name))
        if self.job_status == "Failed":  # as MLClient.jobs.stream does
            raise JobException(
                message='Exception : {"code": "UserError", "message": "boom"}',
                no_personal_data_message="Exception raised on failed job.",
            )

    def _get_job(self, name: str) -> Any:
        self.calls.append(("jobs.get", name))
        return SimpleNamespace(name=name, status=self.job_status)

    def _download_job(self, name: str, *, download_path: Any) -> None:
        """Writes the job's outputs where azure-ai-ml puts them: artifacts/outputs."""
        self.calls.append(("jobs.download", name))
        outputs = Path(download_path, "artifacts", "outputs")
        outputs.mkdir(parents=True)
        for file_name, content in self.job_outputs.items():
            (outputs / file_name).write_bytes(content)
        Path(download_path, "artifacts", "user_logs").mkdir()


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("the credential must not be used")


# --- workspace ---------------------------------------------------------------


def test_get_ml_client_needs_the_workspace_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "AZURE_SUBSCRIPTION_ID", "")

    with pytest.raises(azureml_config.WorkspaceConfigurationError):
        azureml_workspace.get_ml_client(FakeCredential())


def test_get_ml_client_uses_the_given_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000001")
    credential = FakeCredential()

    client = azureml_workspace.get_ml_client(credential)

    assert isinstance(client, MLClient)
    assert client.subscription_id == "00000000-0000-0000-0000-000000000001"
    assert client.resource_group_name == settings.AZUREML_RESOURCE_GROUP
    assert client.workspace_name == settings.AZUREML_WORKSPACE
    assert client._credential is credential


# --- training job ------------------------------------------------------------


def test_training_job_runs_the_training_module_on_the_cluster(tmp_path: Path) -> None:
    data = tmp_path / "iris.csv"
    data.write_text("a,b\n1,2\n")

    job = azureml_job.build_training_job("gpu-cluster", str(data), seed=5)

    assert isinstance(job, Command)
    assert job.compute == "gpu-cluster"
    assert job.command.startswith(f"python -m {MODULE}.model_building.train ")
    assert f"--data {DATA_PLACEHOLDER}" in job.command
    assert "--output outputs/model.pkl" in job.command
    assert job.command.endswith("--seed 5")
    assert job.inputs["data"]._data.type == "uri_file"
    assert job.inputs["data"]._data.path == str(data)
    assert job.experiment_name == settings.PROJECT_SLUG
    assert job.display_name
    assert Path(job.code) == SRC_DIR
    assert (Path(job.code) / MODULE / "model_building" / "train.py").is_file()


def test_training_job_environment_comes_from_the_training_conda_file() -> None:
    job = azureml_job.build_training_job(settings.TRAINING_COMPUTE_NAME, "iris.csv")

    assert job.environment.name == settings.TRAINING_ENVIRONMENT_NAME
    conda = AZUREML_DIR / "conda_training.yml"
    assert job.environment.conda_file == yaml.safe_load(conda.read_text())
    assert job.environment.image == azureml_workspace.BASE_IMAGE


def test_mlflow_tracking_uri_is_the_workspaces() -> None:
    uri = "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s"
    client = SimpleNamespace(
        workspace_name="ws",
        workspaces=SimpleNamespace(
            get=lambda name: SimpleNamespace(name=name, mlflow_tracking_uri=uri)
        ),
    )

    assert azureml_workspace.mlflow_tracking_uri(client) == uri


def test_training_job_accepts_an_environment_reference() -> None:
    job = azureml_job.build_training_job("cpu", "iris.csv", environment="azureml:env:3")

    assert job.environment == "azureml:env:3"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            "raw/iris.csv",
            f"https://{settings.STORAGE_ACCOUNT}.blob.core.windows.net/"
            f"{settings.STORAGE_CONTAINER}/raw/iris.csv",
        ),
        (
            "blob:raw/iris.csv",
            f"https://{settings.STORAGE_ACCOUNT}.blob.core.windows.net/"
            f"{settings.STORAGE_CONTAINER}/raw/iris.csv",
        ),
        ("azureml:iris:1", "azureml:iris:1"),
        (
            "azureml://datastores/data/paths/iris.csv",
            "azureml://datastores/data/paths/iris.csv",
        ),
        (
            "https://acct.blob.core.windows.net/c/iris.csv",
            "https://acct.blob.core.windows.net/c/iris.csv",
        ),
    ],
)
def test_training_data_uri(data: str, expected: str) -> None:
    assert azureml_job.data_uri(data) == expected


def test_missing_local_training_data_is_reported_before_submitting() -> None:
    client = FakeMLClient()

    with pytest.raises(FileNotFoundError, match="does not exist"):
        azureml_job.submit_training_job("cpu", "./missing.csv", client=client)

    assert client.calls == []


def test_submit_training_job_returns_the_studio_url() -> None:
    client = FakeMLClient()

    url = azureml_job.submit_training_job(
        "cpu-cluster", "iris.csv", seed=2, client=client
    )

    assert url == "https://ml.azure.com/runs/job-1"
    [(call, job)] = client.calls
    assert call == "jobs.create_or_update"
    assert job.compute == "cpu-cluster"
    assert job.command.endswith("--seed 2")


def test_run_training_job_waits_then_downloads_model_and_metrics(
    tmp_path: Path,
) -> None:
    client = FakeMLClient()
    output = tmp_path / "build" / "iris.pkl"

    url = azureml_job.run_training_job(
        "cpu-cluster", "iris.csv", seed=4, output=output, client=client
    )

    assert url == JOB_URL
    assert [call[0] for call in client.calls] == [
        "jobs.create_or_update",
        "jobs.stream",
        "jobs.get",
        "jobs.download",
    ]
    assert client.calls[0][1].command.endswith("--seed 4")
    assert all(call[1] == "job-1" for call in client.calls[1:])
    assert output.read_bytes() == JOB_OUTPUTS["model.pkl"]
    # The job's metrics, naming the data itself (the job read a mounted copy).
    assert json.loads((tmp_path / "build" / "metrics.json").read_bytes()) == {
        **json.loads(JOB_OUTPUTS["metrics.json"]),
        "training_data": azureml_job.data_uri("iris.csv"),
    }
    assert sorted(path.name for path in output.parent.iterdir()) == [
        "iris.pkl",
        "metrics.json",
    ]


@pytest.mark.parametrize("status", ["Failed", "Canceled"])
def test_run_training_job_reports_a_job_that_did_not_complete(
    status: str, tmp_path: Path
) -> None:
    client = FakeMLClient(job_status=status)
    output = tmp_path / "outputs" / "model.pkl"

    with pytest.raises(azureml_job.TrainingJobError) as caught:
        azureml_job.run_training_job("cpu", "iris.csv", output=output, client=client)

    message = str(caught.value)
    assert f"is {status}, not Completed" in message
    assert JOB_URL in message
    if status == "Failed":
        assert "boom" in message
    assert "jobs.download" not in [call[0] for call in client.calls]
    assert not output.parent.exists()


def test_run_training_job_without_the_model_in_the_outputs(tmp_path: Path) -> None:
    client = FakeMLClient(job_outputs={"metrics.json": b"{}"})
    output = tmp_path / "outputs" / "model.pkl"

    with pytest.raises(azureml_job.TrainingJobError, match=r"outputs/model\.pkl"):
        azureml_job.run_training_job("cpu", "iris.csv", output=output, client=client)

    assert not output.parent.exists()


def test_train_command_line_waits_for_the_cluster_and_downloads_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeMLClient()
    monkeypatch.setattr(azureml_job, "get_ml_client", lambda: client)

    assert train.main(["--compute", "cpu-cluster", "--wait", "--seed", "2"]) == 0

    model = tmp_path / "outputs" / "model.pkl"
    assert model.read_bytes() == JOB_OUTPUTS["model.pkl"]
    assert (tmp_path / "outputs" / "metrics.json").is_file()
    out = capsys.readouterr().out
    assert JOB_URL in out
    assert "accuracy 0.967 on 30 held-out rows" in out
    assert client.calls[0][1].compute == "cpu-cluster"


def test_train_command_line_exits_1_when_the_cluster_job_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeMLClient(job_status="Failed")
    monkeypatch.setattr(azureml_job, "get_ml_client", lambda: client)

    assert train.main(["--compute", "cpu-cluster", "--wait"]) == 1

    err = capsys.readouterr().err
    assert "Failed" in err
    assert JOB_URL in err
    assert not (tmp_path / "outputs").exists()


# --- registration ------------------------------------------------------------


def test_register_model_tags_the_git_commit_and_build(
    git_repository: str, model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILD_BUILDID", "4242")
    monkeypatch.setenv("BUILD_SOURCEVERSION", "not-this-one")
    client = FakeMLClient()

    info = register.register_model(model_file, client=client, tags={"stage": "ci"})

    [(call, model)] = client.calls
    assert call == "models.create_or_update"
    assert model.name == settings.MODEL_NAME
    assert Path(model.path) == model_file
    assert model.type == "custom_model"
    assert model.tags == {
        "git_commit": git_repository,
        "build_id": "4242",
        "stage": "ci",
    }
    assert info == {
        "name": settings.MODEL_NAME,
        "version": "3",
        "id": f"/subscriptions/s/models/{settings.MODEL_NAME}/versions/3",
    }


@pytest.mark.usefixtures("outside_git")
def test_register_model_outside_git_uses_the_pipeline_commit(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILD_SOURCEVERSION", "abc123")
    client = FakeMLClient()

    register.register_model(model_file, client=client, name="other-model")

    [(_, model)] = client.calls
    assert model.name == "other-model"
    assert model.tags == {"git_commit": "abc123"}


def test_register_model_without_the_file_says_to_train(tmp_path: Path) -> None:
    client = FakeMLClient()

    with pytest.raises(
        registration.ModelFileNotFoundError, match=r"model_building\.train"
    ):
        register.register_model(tmp_path / "model.pkl", client=client)

    assert client.calls == []


@pytest.mark.usefixtures("outside_git", "model_file")
def test_register_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeMLClient()
    monkeypatch.setattr(register, "get_ml_client", lambda: client)

    assert register.main([]) == 0

    assert f"{settings.MODEL_NAME} version 3" in capsys.readouterr().out
    metadata = json.loads((tmp_path / "model_metadata.json").read_text())
    assert metadata["name"] == settings.MODEL_NAME
    assert metadata["version"] == "3"


# --- deployment specs --------------------------------------------------------


def test_qa_specs_load_as_managed_online_endpoint_and_deployment() -> None:
    endpoint = load_online_endpoint(AZUREML_DIR / "endpoint-qa.yml")
    deployment = load_online_deployment(AZUREML_DIR / "deployment-qa.yml")

    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert endpoint.name == settings.QA_ENDPOINT_NAME
    assert endpoint.auth_mode == "key"
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert deployment.endpoint_name == settings.QA_ENDPOINT_NAME
    assert deployment.instance_type == "Standard_DS3_v2"
    assert deployment.instance_count == 1


def test_prod_specs_load_as_kubernetes_online_endpoint_and_deployment() -> None:
    endpoint = load_online_endpoint(AZUREML_DIR / "endpoint-prod.yml")
    deployment = load_online_deployment(AZUREML_DIR / "deployment-prod.yml")

    assert isinstance(endpoint, KubernetesOnlineEndpoint)
    assert endpoint.name == settings.PROD_ENDPOINT_NAME
    assert endpoint.compute == settings.AKS_COMPUTE_NAME
    assert endpoint.auth_mode == "key"
    assert isinstance(deployment, KubernetesOnlineDeployment)
    assert deployment.endpoint_name == settings.PROD_ENDPOINT_NAME
    assert deployment.instance_type == "defaultinstancetype"
    assert deployment.instance_count == 2


@pytest.mark.parametrize(
    ("stage", "kind", "instance_type", "instance_count"),
    [
        ("qa", ManagedOnlineDeployment, "Standard_DS3_v2", 1),
        ("prod", KubernetesOnlineDeployment, "defaultinstancetype", 2),
    ],
)
def test_build_deployment_fills_in_model_environment_and_code(
    stage: str, kind: type, instance_type: str, instance_count: int
) -> None:
    deployment = deploy.build_deployment(stage, "12")

    assert isinstance(deployment, kind)
    assert deployment.model == f"azureml:{settings.MODEL_NAME}:12"
    assert deployment.instance_type == instance_type
    assert deployment.instance_count == instance_count
    assert deployment.environment.name == settings.ENVIRONMENT_NAME
    assert deployment.environment.conda_file == yaml.safe_load(CONDA_FILE.read_text())
    code = deployment.code_configuration
    assert Path(code.code) == SRC_DIR
    assert code.scoring_script == f"{MODULE}/deployment/score.py"
    assert (Path(code.code) / code.scoring_script).is_file()


def test_build_endpoint_names_come_from_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "AKS_COMPUTE_NAME", "other-aks")
    monkeypatch.setattr(settings, "PROD_ENDPOINT_NAME", "other-prod")

    endpoint = deploy.build_endpoint("prod")

    assert endpoint.name == "other-prod"
    assert endpoint.compute == "other-aks"
    assert deploy.build_endpoint("qa").name == settings.QA_ENDPOINT_NAME


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="qa, prod"):
        deploy.build_endpoint("dev")  # type: ignore[arg-type]


# --- deploy (the blue/green release itself: test_rollout.py) ----------------


def test_deploy_latest_without_a_registered_model_says_to_register() -> None:
    client = FakeMLClient(latest_version=None)

    with pytest.raises(deploy.ModelVersionNotFoundError, match=r"deployment\.register"):
        deploy.deploy("qa", client=client)

    assert [call[0] for call in client.calls] == ["models.get"]


def test_endpoint_key_reads_the_primary_key() -> None:
    client = FakeMLClient()

    assert deploy.endpoint_key("prod", client=client) == "fake-primary-key"
    assert client.calls == [("online_endpoints.get_keys", settings.PROD_ENDPOINT_NAME)]


def test_endpoint_key_of_an_endpoint_not_deployed_says_to_deploy() -> None:
    client = FakeMLClient(endpoint_exists=False)

    with pytest.raises(deploy.EndpointNotFoundError, match=r"deploy --stage qa"):
        deploy.endpoint_key("qa", client=client)


def test_deploy_command_line_prints_only_the_key_with_print_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeMLClient()
    monkeypatch.setattr(deploy, "get_ml_client", lambda: client)

    assert deploy.main(["--stage", "prod", "--print-key"]) == 0

    assert capsys.readouterr().out == "fake-primary-key\n"
    assert client.calls == [("online_endpoints.get_keys", settings.PROD_ENDPOINT_NAME)]


def test_deploy_command_line_print_key_before_any_deployment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeMLClient(endpoint_exists=False)
    monkeypatch.setattr(deploy, "get_ml_client", lambda: client)

    with pytest.raises(SystemExit) as caught:
        deploy.main(["--stage", "qa", "--print-key"])

    assert caught.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert settings.QA_ENDPOINT_NAME in captured.err
