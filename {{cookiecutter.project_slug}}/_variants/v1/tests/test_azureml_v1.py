"""Azure ML SDK v1: workspace, cluster training job, registration, deployment.

Nothing here reaches Azure: the SDK's configuration objects are built for
real, and every call that would sign in or go to the workspace (Workspace.get,
Model.register, Model(...), Model.deploy, AksCompute, Webservice, Experiment)
is replaced by a fake that records it. A guard fails any test that tries to
resolve a host other than this machine.
"""

from __future__ import annotations

import json
import time
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
    pytest.mark.usefixtures(
        "no_remote_hosts", "azureml_variables_cleared", "workspace_settings"
    ),
    # azureml-core 1.61 still calls the old ruamel.yaml API it vendors.
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:azureml"),
]

require_azureml_sdk()

from azure.core.credentials import AccessToken  # noqa: E402
from azureml.core import Environment, Model, ScriptRunConfig, Workspace  # noqa: E402
from azureml.core.model import InferenceConfig  # noqa: E402
from azureml.core.webservice.aci import (  # noqa: E402
    AciServiceDeploymentConfiguration,
)
from azureml.core.webservice.aks import (  # noqa: E402
    AksServiceDeploymentConfiguration,
)
from azureml.exceptions import (  # noqa: E402
    UserErrorException,
    WebserviceException,
)

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

CONDA_FILE = azureml_config.PROJECT_DIR / ".azureml" / "conda_dependencies.yml"
TRAINING_CONDA_FILE = azureml_config.PROJECT_DIR / ".azureml" / "conda_training.yml"
SCORING_URI = "http://127.0.0.1:5001/score"
RUN_URL = "https://ml.azure.com/runs/run-1"
# What the run writes to ./outputs: the files Run.download_file fetches.
RUN_OUTPUTS = {
    "outputs/model.pkl": b"model from the cluster",
    "outputs/metrics.json": json.dumps({"accuracy": 0.9667, "n_test": 30}).encode(),
}


class FakeWorkspace:
    """Stands in for a Workspace: a name and the compute targets it has."""

    def __init__(self, compute_targets: tuple[str, ...] = ("cpu-cluster",)) -> None:
        self.name = "ws-from-settings"
        self.compute_targets = {name: object() for name in compute_targets}


class FakeService:
    """What Model.deploy returns: a web service that reaches ``state``."""

    def __init__(
        self, state: str = "Healthy", wait_error: Exception | None = None
    ) -> None:
        self.state = state
        self.scoring_uri = SCORING_URI
        self.waited_with: dict[str, Any] | None = None
        self.wait_error = wait_error

    def wait_for_deployment(self, show_output: bool = False) -> None:
        self.waited_with = {"show_output": show_output}
        if self.wait_error:
            raise self.wait_error

    def get_logs(self, num_lines: int = 5000) -> str:
        return "\n".join(f"log line {n}" for n in range(200)) + "\nscore.py: boom"

    def get_keys(self) -> tuple[str, str]:
        raise AssertionError("deploy must not read the service keys")


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Model(workspace, name=..., version=...) looks up nothing; returns the lookups.

    Version 404 is not registered, like the SDK says for an unknown version.
    """
    lookups: list[dict[str, Any]] = []

    def fake_init(
        self: Model, workspace: Any, name: str | None = None, version: Any = None
    ) -> None:
        lookups.append({"workspace": workspace, "name": name, "version": version})
        if version == 404:
            raise WebserviceException(
                f"ModelNotFound: Model with name {name}, version 404 not found"
            )
        self.name = name
        self.version = version or 7
        self.id = f"{name}:{self.version}"
        self.tags = {"accuracy": "0.5"}

    monkeypatch.setattr(Model, "__init__", fake_init)
    return lookups


@pytest.fixture
def deployments(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Model.deploy records its arguments and returns a healthy FakeService."""
    calls: list[dict[str, Any]] = []

    def fake_deploy(
        workspace: Any,
        name: str,
        models: list[Any],
        inference_config: Any = None,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        show_output: bool = False,
    ) -> FakeService:
        service = FakeService()
        calls.append(
            {
                "workspace": workspace,
                "name": name,
                "models": models,
                "inference_config": inference_config,
                "deployment_config": deployment_config,
                "deployment_target": deployment_target,
                "overwrite": overwrite,
                "service": service,
            }
        )
        return service

    monkeypatch.setattr(Model, "deploy", staticmethod(fake_deploy))
    return calls


@pytest.fixture
def aks_clusters(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str]]:
    """AksCompute(workspace, name) looks up nothing; returns the lookups."""
    lookups: list[tuple[Any, str]] = []

    class FakeAksCompute:
        def __init__(self, workspace: Any, name: str) -> None:
            lookups.append((workspace, name))
            self.name = name

    monkeypatch.setattr(deploy, "AksCompute", FakeAksCompute)
    return lookups


def pip_packages(environment: Environment) -> list[str]:
    return list(environment.python.conda_dependencies.pip_packages)


def conda_file_pip_lines(path: Path = CONDA_FILE) -> list[str]:
    conda = yaml.safe_load(path.read_text(encoding="utf-8"))
    return conda["dependencies"][-1]["pip"]


# --- workspace -------------------------------------------------------------


def test_get_workspace_passes_the_ids_and_the_auth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    workspace = FakeWorkspace()

    def fake_get(**kwargs: Any) -> FakeWorkspace:
        calls.append(kwargs)
        return workspace

    monkeypatch.setattr(Workspace, "get", staticmethod(fake_get))
    auth = object()
    assert azureml_workspace.get_workspace(auth=auth) is workspace
    assert calls == [
        {
            "name": "ws-from-settings",
            "subscription_id": "sub-from-settings",
            "resource_group": "rg-from-settings",
            "auth": auth,
        }
    ]


def test_get_workspace_signs_in_as_the_azure_cli_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import azureml.core.authentication

    class FakeTokenAuthentication:
        def __init__(self, get_token_for_audience: Any) -> None:
            self.get_token_for_audience = get_token_for_audience

    monkeypatch.setattr(
        azureml.core.authentication, "TokenAuthentication", FakeTokenAuthentication
    )
    calls = []
    monkeypatch.setattr(
        Workspace, "get", staticmethod(lambda **kwargs: calls.append(kwargs))
    )
    azureml_workspace.get_workspace()
    (call,) = calls
    assert isinstance(call["auth"], FakeTokenAuthentication)
    assert isinstance(
        call["auth"].get_token_for_audience, azureml_workspace.AzureCliTokens
    )


class FakeCredential:
    """A TokenCredential that counts its calls; tokens live for ``lifetime`` s."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.scopes: list[str] = []
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(
            f"token-{len(self.scopes)}", int(time.time()) + self.lifetime
        )


def test_cli_tokens_ask_for_the_resource_and_are_kept_until_they_expire() -> None:
    credential = FakeCredential()
    tokens = azureml_workspace.AzureCliTokens(credential)
    assert tokens("https://ml.azure.com") == "token-1"
    assert tokens("https://ml.azure.com") == "token-1"
    assert tokens("https://management.core.windows.net/") == "token-2"
    assert credential.scopes == [
        "https://ml.azure.com/.default",
        "https://management.core.windows.net//.default",
    ]


def test_cli_tokens_are_renewed_before_they_expire() -> None:
    credential = FakeCredential(lifetime=60)
    tokens = azureml_workspace.AzureCliTokens(credential)
    assert tokens("https://ml.azure.com") == "token-1"
    assert tokens("https://ml.azure.com") == "token-2"


def test_the_environment_comes_from_the_conda_file() -> None:
    environment = azureml_workspace.azureml_environment()
    assert environment.name == settings.ENVIRONMENT_NAME
    assert pip_packages(environment) == conda_file_pip_lines()
    conda = environment.python.conda_dependencies
    assert conda.get_python_version() == settings.PYTHON_VERSION


# --- training job ----------------------------------------------------------


def test_training_job_runs_the_training_module_on_the_cluster() -> None:
    config = azureml_job.build_training_job("gpu-cluster", "raw/iris.csv", seed=3)
    assert isinstance(config, ScriptRunConfig)
    assert config.run_config.target == "gpu-cluster"
    assert Path(config.source_directory) == azureml_config.SRC_DIR
    assert config.script is None
    assert config.command == [
        "python",
        "-m",
        f"{azureml_config.PACKAGE_NAME}.model_building.train",
        "--data",
        "raw/iris.csv",
        "--output",
        "outputs/model.pkl",
        "--seed",
        "3",
    ]
    module_file = Path(config.source_directory, *config.command[2].split("."))
    assert module_file.with_suffix(".py").is_file()


def test_training_job_uses_the_training_environment_and_the_storage_settings() -> None:
    config = azureml_job.build_training_job("cpu-cluster", "raw/iris.csv")
    environment = config.run_config.environment
    assert environment.name == settings.TRAINING_ENVIRONMENT_NAME
    assert pip_packages(environment) == conda_file_pip_lines(TRAINING_CONDA_FILE)
    # MLflow (the tracking job's) pinned as the lock pins it.
    assert any(line.startswith("mlflow-skinny==") for line in pip_packages(environment))
    variables = config.run_config.environment_variables
    assert variables["AZURE_STORAGE_ACCOUNT_NAME"] == settings.STORAGE_ACCOUNT
    assert variables["AZURE_STORAGE_CONTAINER"] == settings.STORAGE_CONTAINER


def test_training_job_sends_a_local_file_under_src_as_a_relative_path() -> None:
    from {{ cookiecutter.module_name }}.data_ingestion import (
        sample_data_path,
    )

    config = azureml_job.build_training_job("cpu-cluster", str(sample_data_path()))
    data = config.command[config.command.index("--data") + 1]
    expected = sample_data_path().resolve().relative_to(azureml_config.SRC_DIR)
    assert data == f"./{expected.as_posix()}"


def test_training_job_refuses_a_local_file_the_cluster_cannot_see(
    tmp_path: Path,
) -> None:
    with pytest.raises(azureml_job.DataNotUploadedError, match="blob name"):
        azureml_job.build_training_job("cpu-cluster", str(tmp_path / "data.csv"))


def test_training_job_checks_the_cluster_exists_in_the_workspace() -> None:
    workspace = FakeWorkspace(compute_targets=("cpu-cluster", "aks-inference"))
    with pytest.raises(azureml_job.ComputeNotFoundError) as caught:
        azureml_job.build_training_job("gpu", "raw/iris.csv", workspace=workspace)
    assert "'gpu'" in str(caught.value)
    assert "aks-inference, cpu-cluster" in str(caught.value)


def test_submit_training_job_submits_to_the_project_experiment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submitted = []

    class FakeExperiment:
        def __init__(self, workspace: Any, name: str) -> None:
            self.workspace = workspace
            self.name = name

        def submit(self, config: ScriptRunConfig) -> SimpleNamespace:
            submitted.append((self.workspace, self.name, config))
            return SimpleNamespace(
                id="run-1", get_portal_url=lambda: "https://ml.azure.com/runs/run-1"
            )

    monkeypatch.setattr(azureml_job, "Experiment", FakeExperiment)
    workspace = FakeWorkspace()
    url = azureml_job.submit_training_job(
        "cpu-cluster", "raw/iris.csv", seed=5, workspace=workspace
    )
    assert url == "https://ml.azure.com/runs/run-1"
    ((used_workspace, experiment, config),) = submitted
    assert used_workspace is workspace
    assert experiment == settings.PROJECT_SLUG
    assert config.run_config.target == "cpu-cluster"
    assert config.command[-2:] == ["--seed", "5"]


class FakeRun:
    """What Experiment.submit returns: a run that ends in ``status``."""

    def __init__(
        self, status: str = "Completed", outputs: dict[str, bytes] | None = None
    ) -> None:
        self.id = "run-1"
        self.status = status
        self.outputs = RUN_OUTPUTS if outputs is None else outputs
        self.calls: list[tuple[Any, ...]] = []

    def get_portal_url(self) -> str:
        return RUN_URL

    def wait_for_completion(
        self, show_output: bool = False, raise_on_error: bool = True
    ) -> dict[str, Any]:
        self.calls.append(("wait_for_completion", show_output, raise_on_error))
        details: dict[str, Any] = {"runId": self.id, "status": self.status}
        if self.status == "Failed":
            details["error"] = {"error": {"code": "UserError", "message": "boom"}}
        return details

    def get_status(self) -> str:
        return self.status

    def download_file(self, name: str, output_file_path: str | None = None) -> None:
        self.calls.append(("download_file", name))
        if name not in self.outputs:  # as the artifact service answers
            raise UserErrorException(f"File with path {name} was not found")
        assert output_file_path is not None
        Path(output_file_path).write_bytes(self.outputs[name])


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[FakeRun]:
    """Experiment(...).submit returns the FakeRun put first in the returned list."""
    queue: list[FakeRun] = [FakeRun()]

    class FakeExperiment:
        def __init__(self, workspace: Any, name: str) -> None:
            self.name = name

        def submit(self, config: ScriptRunConfig) -> FakeRun:
            run = queue[0]
            run.calls.append(("submit", self.name, config))
            return run

    monkeypatch.setattr(azureml_job, "Experiment", FakeExperiment)
    return queue


def test_run_training_job_waits_then_downloads_model_and_metrics(
    tmp_path: Path, runs: list[FakeRun]
) -> None:
    output = tmp_path / "build" / "iris.pkl"

    url = azureml_job.run_training_job(
        "cpu-cluster", "raw/iris.csv", seed=4, output=output, workspace=FakeWorkspace()
    )

    assert url == RUN_URL
    run = runs[0]
    (submit, wait, *downloads) = run.calls
    assert submit[1] == settings.PROJECT_SLUG
    assert submit[2].command[-2:] == ["--seed", "4"]
    assert wait == ("wait_for_completion", True, False)
    assert downloads == [
        ("download_file", "outputs/model.pkl"),
        ("download_file", "outputs/metrics.json"),
    ]
    assert output.read_bytes() == RUN_OUTPUTS["outputs/model.pkl"]
    assert (tmp_path / "build" / "metrics.json").read_bytes() == (
        RUN_OUTPUTS["outputs/metrics.json"]
    )


@pytest.mark.parametrize("status", ["Failed", "Canceled"])
def test_run_training_job_reports_a_run_that_did_not_complete(
    status: str, tmp_path: Path, runs: list[FakeRun]
) -> None:
    runs[0] = FakeRun(status)
    output = tmp_path / "outputs" / "model.pkl"

    with pytest.raises(azureml_job.TrainingJobError) as caught:
        azureml_job.run_training_job(
            "cpu-cluster", "raw/iris.csv", output=output, workspace=FakeWorkspace()
        )

    message = str(caught.value)
    assert f"is {status}, not Completed" in message
    assert RUN_URL in message
    if status == "Failed":
        assert "(boom)" in message
    assert not [call for call in runs[0].calls if call[0] == "download_file"]
    assert not output.parent.exists()


def test_run_training_job_without_the_model_in_the_outputs(
    tmp_path: Path, runs: list[FakeRun]
) -> None:
    runs[0] = FakeRun(outputs={"outputs/metrics.json": b"{}"})
    output = tmp_path / "outputs" / "model.pkl"

    with pytest.raises(azureml_job.TrainingJobError) as caught:
        azureml_job.run_training_job(
            "cpu-cluster", "raw/iris.csv", output=output, workspace=FakeWorkspace()
        )

    assert "no outputs/model.pkl" in str(caught.value)
    assert RUN_URL in str(caught.value)
    assert isinstance(caught.value.__cause__, UserErrorException)
    assert not output.parent.exists()


def test_train_command_line_waits_for_the_cluster_and_downloads_the_model(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[FakeRun],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(azureml_job, "get_workspace", FakeWorkspace)

    assert train.main(["--compute", "cpu-cluster", "--wait", "--seed", "2"]) == 0

    model = tmp_path / "outputs" / "model.pkl"
    assert model.read_bytes() == RUN_OUTPUTS["outputs/model.pkl"]
    assert (tmp_path / "outputs" / "metrics.json").is_file()
    out = capsys.readouterr().out
    assert RUN_URL in out
    assert "accuracy 0.967 on 30 held-out rows" in out


def test_train_command_line_exits_1_when_the_cluster_run_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[FakeRun],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(azureml_job, "get_workspace", FakeWorkspace)
    runs[0] = FakeRun("Failed")

    assert train.main(["--compute", "cpu-cluster", "--wait"]) == 1

    err = capsys.readouterr().err
    assert "Failed" in err
    assert RUN_URL in err
    assert not (tmp_path / "outputs").exists()


# --- registration ----------------------------------------------------------


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Model.register records its arguments and returns version 4."""
    calls: list[dict[str, Any]] = []

    def fake_register(**kwargs: Any) -> SimpleNamespace:
        calls.append(kwargs)
        name = kwargs["model_name"]
        return SimpleNamespace(name=name, version=4, id=f"{name}:4")

    monkeypatch.setattr(Model, "register", staticmethod(fake_register))
    return calls


def test_register_tags_the_git_commit_and_the_build(
    monkeypatch: pytest.MonkeyPatch,
    git_repository: str,
    model_file: Path,
    registrations: list[dict[str, Any]],
) -> None:
    monkeypatch.setenv("BUILD_BUILDID", "1234")
    monkeypatch.setenv("BUILD_SOURCEVERSION", "not-this-one")
    workspace = FakeWorkspace()

    info = register.register_model(
        model_file, workspace=workspace, tags={"stage": "dev"}
    )

    assert info == {
        "name": settings.MODEL_NAME,
        "version": "4",
        "id": f"{settings.MODEL_NAME}:4",
    }
    (call,) = registrations
    assert call["workspace"] is workspace
    assert call["model_path"] == str(model_file)
    assert call["model_name"] == settings.MODEL_NAME
    assert call["tags"] == {
        "git_commit": git_repository,
        "build_id": "1234",
        "stage": "dev",
    }


@pytest.mark.usefixtures("outside_git")
def test_register_outside_git_takes_the_commit_from_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
    model_file: Path,
    registrations: list[dict[str, Any]],
) -> None:
    monkeypatch.setenv("BUILD_SOURCEVERSION", "abc123")
    register.register_model(model_file, workspace=FakeWorkspace(), name="other")
    (call,) = registrations
    assert call["model_name"] == "other"
    assert call["tags"] == {"git_commit": "abc123"}


def test_register_a_missing_model_says_how_to_train_it(
    tmp_path: Path, registrations: list[dict[str, Any]]
) -> None:
    with pytest.raises(
        registration.ModelFileNotFoundError, match=r"model_building\.train"
    ):
        register.register_model(tmp_path / "model.pkl", workspace=FakeWorkspace())
    assert registrations == []


@pytest.mark.usefixtures("models")
def test_register_command_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    model_file: Path,
    registrations: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = FakeWorkspace()
    monkeypatch.setattr(register, "get_workspace", lambda: workspace)
    metadata = tmp_path / "model_metadata.json"
    argv = ["--model", str(model_file), "--metadata", str(metadata)]
    assert register.main(argv) == 0
    assert registrations[0]["workspace"] is workspace
    assert registrations[0]["tags"]["accuracy"] == "0.9"
    out = capsys.readouterr().out
    assert "new accuracy 0.9, registered (version 7) 0.5" in out
    assert f"{settings.MODEL_NAME} version 4" in out
    assert json.loads(metadata.read_text(encoding="utf-8"))["version"] == "4"


def test_latest_registered_is_the_newest_version_and_its_tags(
    models: list[dict[str, Any]],
) -> None:
    workspace = FakeWorkspace()

    latest = register.latest_registered(workspace=workspace)

    assert latest == registration.RegisteredVersion("7", {"accuracy": "0.5"})
    assert models == [
        {"workspace": workspace, "name": settings.MODEL_NAME, "version": None}
    ]


def test_latest_registered_of_a_model_never_registered_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_found(self: Model, workspace: Any, name: str | None = None) -> None:
        raise WebserviceException(f"ModelNotFound: Model with name {name} not found")

    monkeypatch.setattr(Model, "__init__", not_found)

    assert register.latest_registered(workspace=FakeWorkspace()) is None


def test_mlflow_tracking_uri_is_the_workspaces() -> None:
    uri = "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s"
    workspace = SimpleNamespace(get_mlflow_tracking_uri=lambda: uri)

    assert azureml_workspace.mlflow_tracking_uri(workspace) == uri


# --- deployment ------------------------------------------------------------


def test_inference_config_serves_score_py_in_the_conda_environment() -> None:
    config = deploy.inference_config()
    assert isinstance(config, InferenceConfig)
    assert Path(config.entry_script).name == "score.py"
    script = Path(config.source_directory, config.entry_script)
    assert script.is_file()
    assert script.parent.name == "deployment"
    assert Path(config.source_directory) == azureml_config.SRC_DIR
    assert config.environment.name == settings.ENVIRONMENT_NAME
    assert pip_packages(config.environment) == conda_file_pip_lines()


def test_qa_runs_on_aci_with_a_key() -> None:
    config = deploy.deployment_config("qa")
    assert isinstance(config, AciServiceDeploymentConfiguration)
    assert (config.cpu_cores, config.memory_gb) == (1, 1)
    assert config.auth_enabled is True


def test_prod_runs_on_aks_autoscaled_with_a_key() -> None:
    config = deploy.deployment_config("prod")
    assert isinstance(config, AksServiceDeploymentConfiguration)
    assert (config.cpu_cores, config.memory_gb) == (1, 2)
    assert config.autoscale_enabled is True
    assert (config.autoscale_min_replicas, config.autoscale_max_replicas) == (1, 3)
    assert config.auth_enabled is True


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="qa, prod"):
        deploy.deployment_config("staging")  # type: ignore[arg-type]


def test_deploy_qa_serves_the_latest_model_on_aci(
    models: list[dict[str, Any]],
    deployments: list[dict[str, Any]],
    aks_clusters: list[tuple[Any, str]],
) -> None:
    workspace = FakeWorkspace()
    assert deploy.deploy("qa", workspace=workspace) == SCORING_URI

    assert models == [
        {"workspace": workspace, "name": settings.MODEL_NAME, "version": None}
    ]
    (call,) = deployments
    assert call["workspace"] is workspace
    assert call["name"] == settings.QA_ENDPOINT_NAME
    (model,) = call["models"]
    assert (model.name, model.version) == (settings.MODEL_NAME, 7)
    assert call["inference_config"].entry_script.endswith("deployment/score.py")
    assert isinstance(call["deployment_config"], AciServiceDeploymentConfiguration)
    assert call["deployment_target"] is None
    assert call["overwrite"] is True
    assert call["service"].waited_with == {"show_output": True}
    assert aks_clusters == []


def test_deploy_prod_serves_the_given_version_on_the_aks_cluster(
    models: list[dict[str, Any]],
    deployments: list[dict[str, Any]],
    aks_clusters: list[tuple[Any, str]],
) -> None:
    workspace = FakeWorkspace()
    assert deploy.deploy("prod", "3", workspace=workspace) == SCORING_URI

    assert models[0]["version"] == 3
    (call,) = deployments
    assert call["name"] == settings.PROD_ENDPOINT_NAME
    assert call["models"][0].version == 3
    assert isinstance(call["deployment_config"], AksServiceDeploymentConfiguration)
    assert aks_clusters == [(workspace, settings.AKS_COMPUTE_NAME)]
    assert call["deployment_target"].name == settings.AKS_COMPUTE_NAME
    assert call["overwrite"] is True


@pytest.mark.parametrize("version", ["0", "-1", "v3", "", "1.5"])
def test_deploy_refuses_an_invalid_model_version(
    version: str, models: list[dict[str, Any]], deployments: list[dict[str, Any]]
) -> None:
    with pytest.raises(ValueError, match="latest"):
        deploy.deploy("qa", version, workspace=FakeWorkspace())
    assert models == []
    assert deployments == []


def test_deploy_an_unregistered_version_says_how_to_register(
    models: list[dict[str, Any]], deployments: list[dict[str, Any]]
) -> None:
    with pytest.raises(deploy.ModelVersionNotFoundError, match=r"deployment\.register"):
        deploy.deploy("qa", "404", workspace=FakeWorkspace())
    assert deployments == []


def test_deploy_fails_clearly_on_an_unhealthy_service(
    monkeypatch: pytest.MonkeyPatch,
    models: list[dict[str, Any]],
    deployments: list[dict[str, Any]],
) -> None:
    monkeypatch.setattr(
        Model, "deploy", staticmethod(lambda *args, **kwargs: FakeService("Unhealthy"))
    )
    with pytest.raises(deploy.DeploymentError) as caught:
        deploy.deploy("qa", workspace=FakeWorkspace())
    message = str(caught.value)
    assert "Unhealthy" in message
    assert settings.QA_ENDPOINT_NAME in message
    assert "score.py: boom" in message
    assert "log line 0\n" not in message  # only the last lines


def test_deploy_fails_clearly_when_the_deployment_fails(
    monkeypatch: pytest.MonkeyPatch, models: list[dict[str, Any]]
) -> None:
    failed = FakeService(
        "Failed", wait_error=WebserviceException("polling reached Failed")
    )
    monkeypatch.setattr(Model, "deploy", staticmethod(lambda *args, **kwargs: failed))
    with pytest.raises(deploy.DeploymentError) as caught:
        deploy.deploy("qa", workspace=FakeWorkspace())
    assert "polling reached Failed" in str(caught.value)
    assert "score.py: boom" in str(caught.value)
    assert isinstance(caught.value.__cause__, WebserviceException)


class FakeWebservices:
    """Stands in for Webservice(workspace, name): only ``existing`` services exist."""

    def __init__(self) -> None:
        self.looked_up: list[tuple[Any, str]] = []
        self.existing = {settings.QA_ENDPOINT_NAME, settings.PROD_ENDPOINT_NAME}

    def __call__(self, workspace: Any, name: str) -> SimpleNamespace:
        self.looked_up.append((workspace, name))
        if name not in self.existing:
            raise WebserviceException(
                f"WebserviceNotFound: Webservice with name {name} not found in "
                "provided workspace"
            )
        return SimpleNamespace(get_keys=lambda: ("primary-key", "secondary-key"))


@pytest.fixture
def webservices(monkeypatch: pytest.MonkeyPatch) -> FakeWebservices:
    """deploy.Webservice looks up nothing; both services exist."""
    fake = FakeWebservices()
    monkeypatch.setattr(deploy, "Webservice", fake)
    return fake


def test_endpoint_key_is_the_primary_key(webservices: FakeWebservices) -> None:
    workspace = FakeWorkspace()
    assert deploy.endpoint_key("prod", workspace) == "primary-key"
    assert webservices.looked_up == [(workspace, settings.PROD_ENDPOINT_NAME)]


def test_endpoint_key_of_a_service_not_deployed_says_to_deploy(
    webservices: FakeWebservices,
) -> None:
    webservices.existing = set()
    with pytest.raises(deploy.EndpointNotFoundError, match=r"deploy --stage qa"):
        deploy.endpoint_key("qa", FakeWorkspace())


def test_deploy_command_line_prints_only_the_key_with_print_key(
    monkeypatch: pytest.MonkeyPatch,
    models: list[dict[str, Any]],
    deployments: list[dict[str, Any]],
    webservices: FakeWebservices,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(deploy, "get_workspace", FakeWorkspace)
    assert deploy.main(["--stage", "qa", "--print-key"]) == 0
    assert capsys.readouterr().out == "primary-key\n"
    assert [name for _, name in webservices.looked_up] == [settings.QA_ENDPOINT_NAME]
    assert models == deployments == []


def test_deploy_command_line_print_key_before_any_deployment(
    monkeypatch: pytest.MonkeyPatch,
    webservices: FakeWebservices,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(deploy, "get_workspace", FakeWorkspace)
    webservices.existing = set()
    with pytest.raises(SystemExit) as caught:
        deploy.main(["--stage", "prod", "--print-key"])
    assert caught.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert settings.PROD_ENDPOINT_NAME in captured.err


def test_deploy_command_line_prints_and_writes_the_uri_only(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    models: list[dict[str, Any]],
    deployments: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(deploy, "get_workspace", FakeWorkspace)
    output = tmp_path / "out" / "scoring_uri.txt"
    argv = ["--stage", "qa", "--model-version", "2", "--output-uri", str(output)]
    assert deploy.main(argv) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == SCORING_URI
    assert output.read_text(encoding="utf-8") == SCORING_URI + "\n"
    assert deployments[0]["models"][0].version == 2
    assert "primary-key" not in out  # FakeService.get_keys would also fail the test
