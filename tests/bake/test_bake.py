"""What a bake generates: the exact files, fully rendered, committed to git."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIGURATIONS, COOKIECUTTER_JSON, HOSTILE_ANSWERS, REPO_ROOT

COMMON_FILES = {
    ".cruft.json",
    ".azureml/test.json",
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "azure-devops.json",
    "data/README.md",
    "environment.yml",
    "experiment_nbs/01_explore_data.ipynb",
    "experiment_nbs/02_train_model.ipynb",
    "package-lock.json",
    "package.json",
    "pipelines/ci.yml",
    "pipelines/model-build.yml",
    "pipelines/release.yml",
    "pipelines/templates/deploy-stage.yml",
    "pipelines/templates/setup-python.yml",
    "pipelines/templates/test.yml",
    "pyproject.toml",
    ".azureml/conda_dependencies.yml",
    ".azureml/conda_training.yml",
    "requirements/azureml.txt",
    "requirements/base.txt",
    "requirements/devtools.txt",
    "requirements/lock/ci.txt",
    "requirements/lock/deploy.txt",
    "requirements/lock/dev.txt",
    "requirements/lock/scoring.txt",
    "requirements/lock/training.txt",
    "requirements/notebooks.txt",
    "requirements/serving.txt",
    "requirements/test.txt",
    "requirements/tracking.txt",
    "secrets.example.json",
    "src/{module}/__init__.py",
    "src/{module}/azureml_config.py",
    "src/{module}/command_line.py",
    "src/{module}/azureml_workspace.py",
    "src/{module}/data_ingestion/__init__.py",
    "src/{module}/data_ingestion/credentials.py",
    "src/{module}/data_ingestion/errors.py",
    "src/{module}/data_ingestion/formats.py",
    "src/{module}/data_ingestion/ingestor.py",
    "src/{module}/data_ingestion/sources.py",
    "src/{module}/data_ingestion/storage_credentials.json",
    "src/{module}/data_preprocessing/__init__.py",
    "src/{module}/data_preprocessing/features.py",
    "src/{module}/data_preprocessing/preparation.py",
    "src/{module}/data_preprocessing/preprocessor.py",
    "src/{module}/deployment/__init__.py",
    "src/{module}/deployment/deploy.py",
    "src/{module}/deployment/gate.py",
    "src/{module}/deployment/local_server.py",
    "src/{module}/deployment/register.py",
    "src/{module}/deployment/registration.py",
    "src/{module}/deployment/score.py",
    "src/{module}/deployment/smoke_test.py",
    "src/{module}/deployment/stages.py",
    "src/{module}/devtools/__init__.py",
    "src/{module}/devtools/environment_files.py",
    "src/{module}/devtools/lock.py",
    "src/{module}/devtools/sample_payload.py",
    "src/{module}/devtools/upload_data.py",
    "src/{module}/model_building/__init__.py",
    "src/{module}/model_building/azureml_job.py",
    "src/{module}/model_building/tracking.py",
    "src/{module}/model_building/train.py",
    "src/{module}/sample_data/__init__.py",
    "src/{module}/sample_data/iris.csv",
    "src/{module}/settings.py",
    "tests/azurite_service.py",
    "tests/azure_devops_names.py",
    "tests/test_azureml_config.py",
    "tests/prerequisites.py",
    "tests/test_prerequisites.py",
    "tests/test_registration.py",
    "tests/conftest.py",
    "tests/deployment_router.py",
    "tests/test_gate.py",
    "tests/test_tracking.py",
    "tests/inference_server.py",
    "tests/test_data_ingestion.py",
    "tests/test_data_ingestion_azurite.py",
    "tests/test_data_preprocessing.py",
    "tests/test_features.py",
    "tests/test_upload_data.py",
    "tests/test_environment_files.py",
    "tests/test_project_model.py",
    "tests/test_sample_payload.py",
    "tests/data/iris_payload.json",
    "tests/test_notebooks.py",
    "tests/test_pipelines.py",
    "tests/test_score.py",
    "tests/test_smoke_test.py",
    "tests/test_stages.py",
    "tests/test_training.py",
}
VARIANT_FILES = {
    "v1": {"tests/test_azureml_v1.py"},
    "v2": {
        ".azureml/deployment-prod.yml",
        ".azureml/deployment-qa.yml",
        ".azureml/endpoint-prod.yml",
        ".azureml/endpoint-qa.yml",
        "tests/test_azureml_v2.py",
        "src/{module}/deployment/rollout.py",
        "tests/test_rollout.py",
        "src/{module}/deployment/monitor.py",
        "tests/test_monitor.py",
        "tests/test_data_collection.py",
        "tests/test_retraining_schedule.py",
        "src/{module}/deployment/batch.py",
        "src/{module}/deployment/batch_endpoint.py",
        "tests/test_batch.py",
        "tests/test_batch_endpoint.py",
    },
}


def project_files(project: Path) -> set[str]:
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


# CONFIGURATIONS, each in an xdist group of its own: the tests of one configuration run
# on one worker, which bakes it once (the ``bake`` fixture's cache is per worker).
BAKED = [
    pytest.param(*case.values, id=case.id, marks=pytest.mark.xdist_group(f"bake-{case.id}"))
    for case in CONFIGURATIONS
]


def expected_files(context: dict[str, Any]) -> set[str]:
    files = COMMON_FILES | VARIANT_FILES[context["azureml_sdk"]]
    return {name.format(module=context["module_name"]) for name in files}


@pytest.mark.parametrize("extra_context", BAKED)
def test_bake_generates_exactly_the_expected_files(bake: Any, extra_context: dict) -> None:
    result = bake(extra_context)
    assert project_files(result.project_path) == expected_files(result.context)


@pytest.mark.parametrize("extra_context", BAKED)
def test_bake_leaves_no_template_markup(bake: Any, extra_context: dict) -> None:
    result = bake(extra_context)
    for name in project_files(result.project_path):
        text = (result.project_path / name).read_text(encoding="utf-8")
        for answer in HOSTILE_ANSWERS.values():  # an answer may itself hold braces
            text = text.replace(answer, "")
        if name.startswith("pipelines/"):  # Azure Pipelines' own ${{ }} expressions
            text = text.replace("${{", "")
        assert "{{" not in text and "{%" not in text and "{#" not in text, name


@pytest.mark.parametrize("extra_context", BAKED)
def test_bake_commits_every_file_on_main(bake: Any, extra_context: dict) -> None:
    result = bake(extra_context)
    project = result.project_path

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project, capture_output=True, text=True, check=True
        ).stdout

    assert git("branch", "--show-current").strip() == "main"
    assert git("status", "--porcelain") == ""
    assert set(git("ls-files").split("\n")) - {""} == project_files(project)
    author = git("log", "--format=%an <%ae>|%cn <%ce>").strip()
    expected = f"{result.context['author_name']} <{result.context['author_email']}>"
    assert author == f"{expected}|{expected}"


def locked_version(project: Path, distribution: str) -> str:
    """The version ``requirements/lock/ci.txt`` pins for ``distribution``."""
    lock = (project / "requirements" / "lock" / "ci.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(distribution)}==(\S+)", lock, re.M)
    assert match, f"{distribution} is not pinned in the project's lock"
    return match.group(1)


@pytest.mark.parametrize("extra_context", BAKED)
def test_every_configuration_passes_lint(bake: Any, extra_context: dict) -> None:
    """Each bake passes ruff check and ruff format with its own configuration,
    run by the ruff its lock pins (the slow tier runs it from each project's own
    environment too, through pre-commit)."""
    project = bake(extra_context).project_path
    ruff = Path(sys.executable).with_name("ruff")
    version = subprocess.run([ruff, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[1] == locked_version(project, "ruff"), (
        "requirements-dev.txt pins another ruff than the generated lock: pin the same one"
    )
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run([ruff, *command], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_default_bake_is_the_v2_sdk_on_python_311(bake: Any) -> None:
    context = bake().context
    assert (context["azureml_sdk"], context["python_version"]) == ("v2", "3.11")


def test_derived_names_follow_the_project_name(bake: Any) -> None:
    context = bake({"project_name": "Churn Model 2"}).context
    assert context["project_slug"] == "churn-model-2"
    assert context["module_name"] == "churn_model_2"
    assert context["model_name"] == "churn-model-2-model"
    assert context["storage_account"] == "churnmodel2data"


@pytest.mark.parametrize("extra_context", BAKED)
def test_structured_files_parse(bake: Any, extra_context: dict) -> None:
    project = bake(extra_context).project_path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    json.loads((project / "package.json").read_text(encoding="utf-8"))
    json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    json.loads((project / "secrets.example.json").read_text(encoding="utf-8"))
    json.loads((project / "experiment_nbs/01_explore_data.ipynb").read_text(encoding="utf-8"))
    yaml.safe_load((project / "environment.yml").read_text(encoding="utf-8"))
    yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == bake(extra_context).context["description"]


def test_hostile_answers_are_kept_verbatim(bake: Any) -> None:
    project = bake(HOSTILE_ANSWERS).project_path
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {HOSTILE_ANSWERS['project_name']}\n")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["authors"][0]["name"] == HOSTILE_ANSWERS["author_name"]
    notebook = json.loads(
        (project / "experiment_nbs/01_explore_data.ipynb").read_text(encoding="utf-8")
    )
    # The notebooks carry no free-text answer (Jupyter would re-save an escaped
    # one differently); only the module name, which is an identifier.
    imports = "".join(notebook["cells"][2]["source"])
    assert f"from {HOSTILE_ANSWERS['module_name']}.data_ingestion import" in imports


@pytest.mark.parametrize(("sdk", "package"), [("v1", "azureml-core"), ("v2", "azure-ai-ml")])
def test_azureml_extra_is_the_chosen_sdk(bake: Any, sdk: str, package: str) -> None:
    project = bake({"azureml_sdk": sdk}).project_path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["optional-dependencies"]
    assert dynamic["azureml"] == {"file": ["requirements/azureml.txt"]}
    requirements = (project / "requirements" / "azureml.txt").read_text(encoding="utf-8")
    assert package in requirements
    environment = (project / "environment.yml").read_text(encoding="utf-8")
    assert f"      - {package}==" in environment


def test_test_path_never_installs_an_azure_ml_sdk(bake: Any) -> None:
    project = bake().project_path
    sdks = {"azure-ai-ml", "azureml-core", "azureml-sdk", "azureml-defaults"}
    for name in ("base.txt", "test.txt", "serving.txt", "lock/training.txt", "lock/scoring.txt"):
        lines = (project / "requirements" / name).read_text(encoding="utf-8").splitlines()
        packages = {re.split(r"[<>=!~\[; ]", line)[0] for line in lines if line[:1].isalpha()}
        assert not packages & sdks, name


@pytest.mark.parametrize("python_version", COOKIECUTTER_JSON["python_version"])
def test_python_version_reaches_the_environments(bake: Any, python_version: str) -> None:
    project = bake({"python_version": python_version}).project_path
    for conda_file in (
        "environment.yml",
        ".azureml/conda_dependencies.yml",
        ".azureml/conda_training.yml",
    ):
        environment = yaml.safe_load((project / conda_file).read_text(encoding="utf-8"))
        assert f"python={python_version}" in environment["dependencies"]
    ruff = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff["target-version"] == "py" + python_version.replace(".", "")


def test_ignored_files_are_the_secret_and_generated_ones(bake: Any) -> None:
    project = bake().project_path
    for name in (
        "secrets.json",
        "model.pkl",
        "outputs/metrics.json",
        "model_metadata.json",
        "data/raw.csv",
        "mlflow.db",
        "mlartifacts/1/model/MLmodel",
    ):
        probe = subprocess.run(["git", "check-ignore", "-q", name], cwd=project, check=False)
        assert probe.returncode == 0, f"{name} is not git-ignored"
    assert (
        subprocess.run(
            ["git", "check-ignore", "-q", "secrets.example.json"], cwd=project, check=False
        ).returncode
        == 1
    )


def test_readme_generate_command_bakes_without_input_or_git_identity(tmp_path: Path) -> None:
    """`./scripts/new-project`, the README's first command, on a machine whose git
    has no user.name or user.email."""
    env = {
        "HOME": str(tmp_path),
        "PATH": os.environ["PATH"],
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "no-gitconfig"),
    }
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "new-project"), "--no-input", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Azure DevOps setup skipped" in result.stdout
    project = tmp_path / "my-mlops-project"
    log = subprocess.run(
        ["git", "log", "--format=%an"], cwd=project, capture_output=True, text=True, check=True
    )
    assert log.stdout.strip() == COOKIECUTTER_JSON["author_name"]


def test_bake_over_an_existing_project_keeps_its_repository_and_says_so(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cookiecutter -f` over a project made before: no git warning, history kept."""
    from cookiecutter.main import cookiecutter

    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(tmp_path / "config.yaml"))
    (tmp_path / "config.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    project = Path(cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(tmp_path)))

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project, capture_output=True, text=True, check=True
        ).stdout

    head = git("rev-parse", "HEAD")
    capfd.readouterr()
    cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(tmp_path), overwrite_if_exists=True)
    output = capfd.readouterr()
    assert "is kept as it was" in output.out
    assert "WARNING" not in output.out + output.err
    assert "git init" not in output.out + output.err
    assert git("rev-parse", "HEAD") == head
    assert git("status", "--porcelain") == ""


def _old_python() -> str:
    """The real executable of a Python older than the project supports (3.10).

    Asked of the interpreter itself: a pyenv shim linked under another name
    would run another version.
    """
    candidates = [
        *map(str, sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))),
        shutil.which("python3.10"),
    ]
    probe = "import sys; assert sys.version_info[:2] == (3, 10); print(sys.executable)"
    for candidate in filter(None, candidates):
        answer = subprocess.run([candidate, "-c", probe], capture_output=True, text=True)
        if answer.returncode == 0:
            return answer.stdout.strip()
    message = "Python 3.10 is not installed (for example: pyenv install 3.10)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_readme_setup_stops_at_once_on_an_old_python(bake: Any, tmp_path: Path) -> None:
    project = bake().project_path
    readme = (project / "README.md").read_text(encoding="utf-8")
    setup = re.search(r"^## Set up\n.*?```bash\n(.+?)\n```", readme, re.M | re.S).group(1)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(_old_python())
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", setup], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert "Python 3.11 or later is needed; python3 is 3.10." in result.stderr
    assert not (project / ".venv").exists()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == ">=3.11"


# A valid answer, other than the default, for every prompted variable: scripts and
# CI pass them as `--no-input key=value`, so each name must keep working.
OLD_KEY_ANSWERS = {
    "project_name": "Churn Model",
    "project_slug": "churn-model-x",
    "module_name": "churn_model_x",
    "description": "Predicts churn.",
    "author_name": "Ana Analyst",
    "author_email": "ana@example.com",
    "python_version": "3.12",
    "storage_account": "churnstore",
    "storage_container": "raw-data",
    "data_file": "raw/churn.parquet",
    "azureml_sdk": "v1",
    "model_name": "churn-classifier",
    "azure_subscription_id": "00000000-0000-0000-0000-000000000001",
    "azureml_resource_group": "churn-rg",
    "azureml_workspace": "churn-ws",
    "azure_devops_org_url": "https://dev.azure.com/contoso",
    "azure_devops_project": "Churn Team",
    "azure_devops_create_project": "yes",
    "release_approvers": "lead@example.com",
    "azure_tenant_id": "00000000-0000-0000-0000-000000000002",
    "azure_client_id": "00000000-0000-0000-0000-000000000003",
    "azure_service_connection": "churn-azure",
}


def test_every_prompted_variable_has_an_old_key_answer() -> None:
    """Every prompted variable has an answer, none part of another (they share one bake)."""
    prompted = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}
    assert set(OLD_KEY_ANSWERS) == prompted
    values = list(OLD_KEY_ANSWERS.values())
    assert not [(a, b) for a in values for b in values if a != b and a in b]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(key, marks=pytest.mark.xdist_group("bake-old-keys"))
        for key in sorted(OLD_KEY_ANSWERS)
    ],
)
def test_each_variable_name_still_answers_as_extra_context(bake: Any, key: str) -> None:
    """``key=value`` on the command line still sets that answer and reaches the files.

    All the answers are given at once, in one bake the tests share (one worker bakes it);
    no value is part of another (test_every_prompted_variable_has_an_old_key_answer).
    """
    value = OLD_KEY_ANSWERS[key]
    result = bake(OLD_KEY_ANSWERS)
    assert result.context[key] == value
    texts = (
        path.read_text(encoding="utf-8", errors="replace")
        for path in result.project_path.rglob("*")
        if path.is_file() and ".git" not in path.parts
    )
    assert any(value in text for text in texts), f"{key}={value!r} is in no generated file"
