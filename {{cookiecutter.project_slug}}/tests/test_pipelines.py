"""The Azure Pipelines files: valid for the schema, wired to the names in azure-devops.json."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure_devops_names as names
import pytest
import yaml
from prerequisites import missing

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PIPELINES_DIR = PROJECT_ROOT / "pipelines"
PIPELINE_FILES = sorted(PIPELINES_DIR.rglob("*.y*ml"))
SCHEMA_CHECK = [
    "--builtin-schema",
    "vendor.azure-pipelines",
    "--regex-variant",
    "python",
    "--data-transform",
    "azure-pipelines",
]
MODULE = names.MODULE_NAME
AZUREML_SDK = importlib.import_module(f"{MODULE}.settings").AZUREML_SDK
registration = importlib.import_module(f"{MODULE}.deployment.registration")
# Written in pieces: this file is itself rendered by the project template.
EXPRESSION_START = "$" + "{" * 2
TEMPLATE_TAGS = ("{" + "%", "{" + "#")


def expression(body: str) -> str:
    """A template expression of Azure Pipelines, as written in the YAML."""
    return f"{EXPRESSION_START} {body} " + "}" * 2


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def load(relative_path: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / relative_path).read_text(encoding="utf-8"))


def pipeline_path(name: str) -> Path:
    """The file of the pipeline called ``name`` in names.PIPELINES."""
    (path,) = (p.yaml_path for p in names.PIPELINES if p.name == name)
    return PROJECT_ROOT / path


def pipeline(name: str) -> dict[str, Any]:
    """The YAML of the pipeline called ``name`` in names.PIPELINES."""
    return yaml.safe_load(pipeline_path(name).read_text(encoding="utf-8"))


def walk(node: Any) -> Iterator[Any]:
    """Every mapping, list and value in a parsed YAML document."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def mappings(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [node for node in walk(data) if isinstance(node, dict)]


def steps_of(path: Path) -> list[dict[str, Any]]:
    """Every step (task or script) in a pipeline file or template."""
    return [node for node in mappings(path) if {"task", "script", "bash"} & set(node)]


def deploy_script() -> str:
    (step,) = (
        step
        for step in steps_of(PIPELINES_DIR / "templates" / "deploy-stage.yml")
        if step.get("task") == "AzureCLI@2"
    )
    return step["inputs"]["inlineScript"]


@pytest.fixture(scope="module")
def check_jsonschema() -> Path:
    executable = Path(sys.executable).parent / "check-jsonschema"
    if not executable.exists():
        missing(
            "check-jsonschema",
            f"{executable} does not exist",
            "`pip install -r requirements/lock/dev.txt`",
        )
    return executable


# --- Valid for Azure Pipelines' schema, as the CI step and the pre-commit hook check.


def test_there_are_pipeline_files() -> None:
    expected = {p.yaml_path for p in names.PIPELINES}
    assert expected <= {relative(path) for path in PIPELINE_FILES}


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=relative)
def test_pipeline_file_passes_the_schema_check(
    path: Path, check_jsonschema: Path
) -> None:
    result = subprocess.run(
        [str(check_jsonschema), *SCHEMA_CHECK, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_pipeline(
    tmp_path: Path, check_jsonschema: Path
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("trigerr:\n  - main\nsteps:\n  - script: echo hi\n")
    result = subprocess.run(
        [str(check_jsonschema), *SCHEMA_CHECK, str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0


def test_ci_and_pre_commit_run_the_same_schema_check() -> None:
    command = " ".join(["check-jsonschema", *SCHEMA_CHECK])
    test_steps = steps_of(PIPELINES_DIR / "templates" / "test.yml")
    assert any(command in step.get("script", "") for step in test_steps)
    hooks = load(".pre-commit-config.yaml")["repos"][0]["hooks"]
    (hook,) = (hook for hook in hooks if hook["entry"] == command)
    assert re.search(hook["files"], "pipelines/templates/test.yml")
    assert re.search(hook["files"], "pipelines/ci.yml")


# --- Triggers.


def test_ci_runs_on_main_except_notebooks_and_docs() -> None:
    trigger = pipeline(names.CI_PIPELINE)["trigger"]
    assert trigger["branches"]["include"] == ["main"]
    excluded = [path.rstrip("/") for path in trigger["paths"]["exclude"]]
    assert "experiment_nbs" in excluded and "docs" in excluded
    assert "include" not in trigger["paths"]


def test_model_build_runs_for_the_model_code_only() -> None:
    trigger = pipeline(names.MODEL_BUILD_PIPELINE)["trigger"]
    assert trigger["branches"]["include"] == ["main"]
    included = [path.rstrip("/") for path in trigger["paths"]["include"]]
    assert f"src/{MODULE}/model_building" in included
    assert f"src/{MODULE}/settings.py" in included
    assert "pipelines/model-build.yml" in included
    assert not any(path.startswith("experiment_nbs") for path in included)
    for path in included:
        assert (PROJECT_ROOT / path).exists(), path


@pytest.mark.parametrize("name", [p.name for p in names.PIPELINES])
def test_no_pipeline_has_a_pr_trigger(name: str) -> None:
    # Azure Repos ignores `pr:`; a build-validation branch policy runs CI.
    assert pipeline(name)["pr"] == "none"


def test_release_runs_after_the_model_build_only() -> None:
    release = pipeline(names.RELEASE_PIPELINE)
    assert release["trigger"] == "none"
    (resource,) = release["resources"]["pipelines"]
    assert resource["pipeline"] == names.MODEL_BUILD_RESOURCE
    assert resource["source"] == names.MODEL_BUILD_PIPELINE
    assert resource["trigger"]["branches"]["include"] == ["main"]
    # Only model builds whose model passed the quality gate start a release.
    assert resource["trigger"]["tags"] == [registration.REGISTERED_TAG]


def test_upstream_pipelines_are_created_first() -> None:
    order = [p.name for p in names.PIPELINES]
    assert order.index(names.MODEL_BUILD_PIPELINE) < order.index(names.RELEASE_PIPELINE)
    in_settings = [
        pipeline["name"] for pipeline in names.SETTINGS["pipelines"].values()
    ]
    assert in_settings == order  # the order the tool creates them in


# --- Stages, environments, service connection, variable group.


def release_stages() -> dict[str, dict[str, Any]]:
    return {
        stage["stage"]: stage for stage in pipeline(names.RELEASE_PIPELINE)["stages"]
    }


def test_release_deploys_qa_then_prod() -> None:
    stages = release_stages()
    assert list(stages) == ["QA", "Prod"]
    assert stages["Prod"]["dependsOn"] == "QA"
    assert stages["Prod"]["condition"] == "succeeded()"


@pytest.mark.parametrize(
    ("stage", "environment", "sdk_stage"),
    [("QA", names.QA_ENVIRONMENT, "qa"), ("Prod", names.PROD_ENVIRONMENT, "prod")],
)
def test_release_stage_is_a_deployment_job_on_its_environment(
    stage: str, environment: str, sdk_stage: str
) -> None:
    (job,) = release_stages()[stage]["jobs"]
    assert job["template"] == "templates/deploy-stage.yml"
    assert job["parameters"]["environment"] == environment
    assert job["parameters"]["stage"] == sdk_stage
    assert job["parameters"]["modelVersion"] == expression("parameters.modelVersion")
    (deployment,) = load("pipelines/templates/deploy-stage.yml")["jobs"]
    assert deployment["environment"] == expression("parameters.environment")
    steps = deployment["strategy"]["runOnce"]["deploy"]["steps"]
    assert steps[0] == {"checkout": "self"}


def test_release_smoke_tests_with_the_test_payload() -> None:
    script = deploy_script()
    deploy = script.index(f"python -m {MODULE}.deployment.deploy --stage")
    if AZUREML_SDK == "v2":
        # deploy.py smoke-tests .azureml/test.json at each step of its
        # blue/green release (tests/test_rollout.py).
        assert f"{MODULE}.deployment.smoke_test" not in script
    else:
        key = script.index('SCORING_KEY="$(')
        smoke = script.index(f"python -m {MODULE}.deployment.smoke_test")
        assert deploy < key < smoke
        assert "--payload .azureml/test.json" in script
    assert (PROJECT_ROOT / ".azureml" / "test.json").is_file()


def test_release_resolves_latest_from_the_model_build_artifact() -> None:
    (deployment,) = load("pipelines/templates/deploy-stage.yml")["jobs"]
    steps = deployment["strategy"]["runOnce"]["deploy"]["steps"]
    (deploy,) = (step for step in steps if step.get("task") == "AzureCLI@2")
    expected = (
        f"$(Pipeline.Workspace)/{names.MODEL_BUILD_RESOURCE}/"
        f"{names.MODEL_METADATA_ARTIFACT}/{names.MODEL_METADATA_FILE}"
    )
    assert deploy["env"]["MODEL_METADATA"] == expected


def test_the_scoring_key_is_never_printed() -> None:
    script = deploy_script()
    for line in script.splitlines():
        if "SCORING_KEY" in line:
            assert not re.search(r"\b(echo|printf|cat|tee)\b", line), line
    assert "set -x" not in script


def test_model_build_publishes_the_model_metadata_artifact() -> None:
    steps = pipeline(names.MODEL_BUILD_PIPELINE)["steps"]
    (publish,) = (step for step in steps if "publish" in step)
    assert publish["artifact"] == names.MODEL_METADATA_ARTIFACT
    register = next(
        step["inputs"]["inlineScript"]
        for step in steps
        if "deployment.register" in step.get("inputs", {}).get("inlineScript", "")
    )
    folder = publish["publish"].replace(
        "$(Build.ArtifactStagingDirectory)", "$BUILD_ARTIFACTSTAGINGDIRECTORY"
    )
    assert f"{folder}/{names.MODEL_METADATA_FILE}" in register
    # A model refused by the quality gate publishes nothing: no release starts.
    assert publish["condition"] == (
        "and(succeeded(), eq(variables['MODEL_REGISTERED'], 'true'))"
    )


# --- The scripts of the Azure CLI steps, run by bash with a stand-in python.

# Records each `python -m ...` call; runs `python -c` with the real Python.
FAKE_PYTHON = """
import json, os, subprocess, sys
from pathlib import Path

args = sys.argv[1:]
if args[0] == "-c":
    sys.exit(subprocess.call([os.environ["REAL_PYTHON"], *args]))
call = {
    "args": args,
    "key": os.environ.get("SCORING_KEY"),
    "storage": os.environ.get("AZURE_STORAGE_CONNECTION_STRING"),
}
with open(os.environ["FAKE_LOG"], "a") as log:
    print(json.dumps(call), file=log)
if "--print-key" in args:
    print("fake-scoring-key")
elif "--output-uri" in args:
    Path(args[args.index("--output-uri") + 1]).write_text("http://127.0.0.1:9/score")
"""


def azure_cli_script(path: Path, command: str) -> dict[str, Any]:
    """The AzureCLI@2 step of ``path`` whose script runs ``command``."""
    (step,) = (
        step
        for step in steps_of(path)
        if step.get("task") == "AzureCLI@2"
        and command in step["inputs"]["inlineScript"]
    )
    return step


def run_script(
    step: dict[str, Any], tmp_path: Path, variables: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run a step's script as the agent would, with ``variables`` in its environment.

    Returns the finished process and the python calls it made.
    """
    bash = shutil.which("bash")
    if bash is None:
        missing(
            "bash", "the bash command is not on PATH", "your system's package manager"
        )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fake_python.py").write_text(FAKE_PYTHON)
    wrapper = bin_dir / "python"
    wrapper.write_text('#!/bin/sh\nexec "$REAL_PYTHON" "$FAKE_PYTHON" "$@"\n')
    wrapper.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REAL_PYTHON": sys.executable,
        "FAKE_PYTHON": str(bin_dir / "fake_python.py"),
        "FAKE_LOG": str(log),
        "AGENT_TEMPDIRECTORY": str(tmp_path),
        "BUILD_ARTIFACTSTAGINGDIRECTORY": str(tmp_path / "staging"),
        **variables,
    }
    result = subprocess.run(
        [bash, "-c", step["inputs"]["inlineScript"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return result, calls


def train_step() -> dict[str, Any]:
    return azure_cli_script(
        pipeline_path(names.MODEL_BUILD_PIPELINE), "model_building.train"
    )


def test_model_build_trains_on_the_agent_by_default(tmp_path: Path) -> None:
    _, calls = run_script(train_step(), tmp_path, {})
    tracking, *calls = calls
    assert tracking["args"] == [
        "-m",
        f"{MODULE}.model_building.tracking",
        "--workspace-uri",
    ]
    assert calls == [
        {
            "args": [
                "-m",
                f"{MODULE}.model_building.train",
                "--output",
                "outputs/model.pkl",
            ],
            "key": None,
            "storage": None,
        }
    ]


def test_model_build_trains_on_the_cluster_when_asked(tmp_path: Path) -> None:
    variables = {
        "TRAINING_COMPUTE": "cpu-cluster",
        "TRAINING_DATA": "raw/data.csv",
        "AZURE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
    }
    _, calls = run_script(train_step(), tmp_path, variables)
    _, call = calls  # the MLflow tracking URI, then the training
    args = call["args"]
    assert args[args.index("--data") + 1] == "raw/data.csv"
    assert args[args.index("--compute") :][:3] == ["--compute", "cpu-cluster", "--wait"]
    assert args[args.index("--output") + 1] == "outputs/model.pkl"
    assert call["storage"] == "UseDevelopmentStorage=true"


@pytest.mark.parametrize(("force", "extra"), [("False", []), ("True", ["--force"])])
def test_model_build_registers_into_the_published_folder(
    tmp_path: Path, force: str, extra: list[str]
) -> None:
    step = azure_cli_script(
        pipeline_path(names.MODEL_BUILD_PIPELINE), "deployment.register"
    )
    assert step["env"]["FORCE_REGISTRATION"] == expression(
        "parameters.forceRegistration"
    )
    _, calls = run_script(step, tmp_path, {"FORCE_REGISTRATION": force})
    (call,) = calls
    metadata = str(tmp_path / "staging" / "model_metadata" / names.MODEL_METADATA_FILE)
    assert call["args"] == [
        "-m",
        f"{MODULE}.deployment.register",
        "--model",
        "outputs/model.pkl",
        "--metadata",
        metadata,
        *extra,
    ]


@pytest.mark.parametrize(
    ("parameter", "metadata_version", "deployed"),
    [
        ("latest", "7", "7"),  # the model build's version
        ("latest", None, "latest"),  # no artifact: the newest registered
        ("3", "7", "3"),  # a version asked for by hand wins
    ],
)
def test_release_deploys_the_resolved_version_and_smoke_tests_it(
    tmp_path: Path, parameter: str, metadata_version: str | None, deployed: str
) -> None:
    metadata = tmp_path / "model_build" / "model_metadata" / "model_metadata.json"
    if metadata_version is not None:
        metadata.parent.mkdir(parents=True)
        metadata.write_text(json.dumps({"name": "m", "version": metadata_version}))
    step = azure_cli_script(
        PROJECT_ROOT / "pipelines" / "templates" / "deploy-stage.yml", "deploy"
    )
    variables = {
        "STAGE": "qa",
        "MODEL_VERSION": parameter,
        "MODEL_METADATA": str(metadata),
    }
    result, calls = run_script(step, tmp_path, variables)
    deploy = calls[0]
    assert deploy["args"][:6] == [
        "-m",
        f"{MODULE}.deployment.deploy",
        "--stage",
        "qa",
        "--model-version",
        deployed,
    ]
    if AZUREML_SDK == "v2":
        # deploy.py releases blue/green and smoke-tests every step itself.
        assert len(calls) == 1
        return
    _, print_key, smoke_test = calls
    assert print_key["args"][-1] == "--print-key"
    assert smoke_test["args"] == [
        "-m",
        f"{MODULE}.deployment.smoke_test",
        "--scoring-uri",
        "http://127.0.0.1:9/score",
        "--payload",
        ".azureml/test.json",
    ]
    assert smoke_test["key"] == "fake-scoring-key"
    assert "fake-scoring-key" not in result.stdout + result.stderr


def test_after_prod_the_batch_endpoint_gets_the_version_prod_serves(
    tmp_path: Path,
) -> None:
    """SDK v2: once Prod serves a version, the same step creates or updates the
    batch endpoint with it (QA never does, see the test above); SDK v1 has none."""
    step = azure_cli_script(
        PROJECT_ROOT / "pipelines" / "templates" / "deploy-stage.yml", "deploy"
    )
    variables = {
        "STAGE": "prod",
        "MODEL_VERSION": "5",
        "MODEL_METADATA": str(tmp_path / "no-artifact.json"),
    }
    _, calls = run_script(step, tmp_path, variables)
    modules = [call["args"][1] for call in calls]
    batch = f"{MODULE}.deployment.batch_endpoint"
    if AZUREML_SDK != "v2":
        assert batch not in modules
        return
    monitor = f"{MODULE}.deployment.monitor"  # Prod's model monitor comes first
    assert modules == [f"{MODULE}.deployment.deploy", monitor, batch]
    assert calls[2]["args"] == ["-m", batch, "--model-version", "5"]


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=relative)
def test_every_azure_step_uses_the_service_connection(path: Path) -> None:
    for step in steps_of(path):
        if step.get("task", "").startswith("AzureCLI@"):
            assert step["inputs"]["azureSubscription"] == names.SERVICE_CONNECTION


def test_azure_steps_exist() -> None:
    azure_steps = [
        step
        for path in PIPELINE_FILES
        for step in steps_of(path)
        if step.get("task", "").startswith("AzureCLI@")
    ]
    assert len(azure_steps) == 3  # train, register, deploy


@pytest.mark.parametrize("name", [names.MODEL_BUILD_PIPELINE, names.RELEASE_PIPELINE])
def test_pipeline_reads_the_variable_group(name: str) -> None:
    groups = [v["group"] for v in pipeline(name)["variables"] if "group" in v]
    assert groups == [names.VARIABLE_GROUP]


def test_names_follow_the_project_slug() -> None:
    slug = names.PROJECT_SLUG
    assert (PROJECT_ROOT / "src" / names.MODULE_NAME / "settings.py").is_file()
    assert f"{slug}-ci" == names.CI_PIPELINE
    assert f"{slug}-model-build" == names.MODEL_BUILD_PIPELINE
    assert f"{slug}-release" == names.RELEASE_PIPELINE
    assert (f"{slug}-qa", f"{slug}-prod") == names.ENVIRONMENTS
    assert f"{slug}-settings" == names.VARIABLE_GROUP
    assert set(names.VARIABLES) == {
        "AZURE_SUBSCRIPTION_ID",
        "AZUREML_RESOURCE_GROUP",
        "AZUREML_WORKSPACE",
        "TRAINING_COMPUTE",
        "TRAINING_DATA",
        *names.STORAGE_VARIABLES,
    }


# --- Secrets and templating.


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=relative)
def test_secrets_are_only_mapped_never_written(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in (
        r"AccountKey=",
        r"SharedAccessSignature=",
        r"DefaultEndpointsProtocol=",
        r"[?&]sig=",
        r"BEGIN [A-Z ]*PRIVATE KEY",
    ):
        assert not re.search(pattern, text), pattern
    for node in mappings(path):
        for secret in names.SECRET_VARIABLES:
            if secret in node:
                assert node[secret] == f"$({secret})"
            if node.get("name") == secret:
                pytest.fail(f"{path.name} defines the secret {secret} in YAML")


def test_the_training_step_maps_every_storage_secret() -> None:
    """Each secret of the storage table reaches the step that reads the data."""
    assert train_step()["env"] == {
        secret: f"$({secret})" for secret in names.SECRET_VARIABLES
    }


def test_template_expressions_survived_the_project_generation() -> None:
    texts = {
        relative(path): path.read_text(encoding="utf-8") for path in PIPELINE_FILES
    }
    assert any(EXPRESSION_START in text for text in texts.values())
    for name, text in texts.items():
        assert not any(tag in text for tag in TEMPLATE_TAGS), name
        assert "cookiecutter" not in text, name


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=relative)
def test_referenced_templates_exist(path: Path) -> None:
    for node in mappings(path):
        if isinstance(node.get("template"), str):
            assert (path.parent / node["template"]).is_file(), node["template"]
