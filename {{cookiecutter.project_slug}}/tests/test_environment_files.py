"""The locks never drift from requirements/, nor the conda files from the locks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.devtools import (
    environment_files,
    lock,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT_FILES = sorted({name for files in lock.LOCKS.values() for name in files})


def copy_requirements(target: Path) -> None:
    (target / "pyproject.toml").write_text("")
    lock_files = [lock.lock_path(PROJECT_ROOT, name) for name in lock.LOCKS]
    for path in [PROJECT_ROOT / name for name in REQUIREMENT_FILES] + lock_files:
        relative = path.relative_to(PROJECT_ROOT)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(path.read_text())


def test_generated_files_match_the_locks() -> None:
    assert environment_files.stale_files(PROJECT_ROOT) == [], (
        f"run: {environment_files.COMMAND} --write"
    )


def test_locks_match_the_requirements() -> None:
    assert lock.problems(PROJECT_ROOT) == [], f"run: {lock.COMMAND}"


@pytest.mark.parametrize("relative", sorted(environment_files.CONDA_FILES))
def test_conda_file_pins_every_version_of_its_lock(relative: str) -> None:
    _, lock_file = environment_files.CONDA_FILES[relative]
    conda = yaml.safe_load((PROJECT_ROOT / relative).read_text())
    pip = conda["dependencies"][-1]["pip"]
    assert pip == environment_files.read_requirements(PROJECT_ROOT / lock_file)
    assert all("==" in line for line in pip)


@pytest.mark.parametrize("relative", sorted(environment_files.CONDA_FILES))
def test_conda_file_pins_the_project_python(relative: str) -> None:
    conda = yaml.safe_load((PROJECT_ROOT / relative).read_text())
    assert f"python={settings.PYTHON_VERSION}" in conda["dependencies"]


def test_azureml_environment_has_runtime_and_server_but_no_dev_tools() -> None:
    conda = yaml.safe_load(
        (PROJECT_ROOT / ".azureml" / "conda_dependencies.yml").read_text()
    )
    pip = " ".join(conda["dependencies"][-1]["pip"])
    assert "scikit-learn" in pip and "azureml-inference-server-http" in pip
    assert "pytest" not in pip and "ruff" not in pip
    assert "mlflow" not in pip  # the scoring environment does not track runs
    assert conda["name"] == settings.ENVIRONMENT_NAME


def test_training_environment_has_runtime_and_mlflow_but_no_server() -> None:
    conda = yaml.safe_load(
        (PROJECT_ROOT / ".azureml" / "conda_training.yml").read_text()
    )
    pip = " ".join(conda["dependencies"][-1]["pip"])
    assert "scikit-learn" in pip and "mlflow" in pip and "azureml-mlflow" in pip
    assert "azureml-inference-server-http" not in pip and "pytest" not in pip
    assert conda["name"] == settings.TRAINING_ENVIRONMENT_NAME


def test_a_changed_lock_makes_its_conda_file_stale(tmp_path: Path) -> None:
    copy_requirements(tmp_path)
    for path, content in environment_files.generated_files(tmp_path).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    with lock.lock_path(tmp_path, "scoring").open("a") as scoring:
        scoring.write("rich==13.9.4\n")
    assert environment_files.stale_files(tmp_path) == [
        tmp_path / ".azureml" / "conda_dependencies.yml"
    ]


def test_a_changed_requirement_makes_its_locks_stale(tmp_path: Path) -> None:
    copy_requirements(tmp_path)
    with (tmp_path / "requirements" / "serving.txt").open("a") as serving:
        serving.write("rich>=13\n")
    stale = {problem.split(" ", 1)[0] for problem in lock.problems(tmp_path)}
    assert stale == {
        f"{lock.LOCK_DIR}/{name}.txt"
        for name, files in lock.LOCKS.items()
        if "requirements/serving.txt" in files
    }


def test_a_pin_outside_its_requirement_is_reported(tmp_path: Path) -> None:
    copy_requirements(tmp_path)
    scoring = lock.lock_path(tmp_path, "scoring")
    text = scoring.read_text()
    pinned = next(
        line for line in text.splitlines() if line.startswith("scikit-learn==")
    )
    scoring.write_text(text.replace(pinned, "scikit-learn==0.24.2"))
    assert any(
        "scoring.txt pins scikit-learn at ['0.24.2']" in problem
        for problem in lock.problems(tmp_path)
    )


def test_a_job_lock_that_disagrees_with_the_full_lock_is_reported(
    tmp_path: Path,
) -> None:
    copy_requirements(tmp_path)
    training = lock.lock_path(tmp_path, "training")
    text = training.read_text()
    pinned = next(line for line in text.splitlines() if line.startswith("alembic=="))
    training.write_text(text.replace(pinned, "alembic==1.13.0"))
    assert any(
        problem.startswith("requirements/lock/training.txt pins alembic ['1.13.0']")
        for problem in lock.problems(tmp_path)
    )


def test_check_command_reports_drift_and_write_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_requirements(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert environment_files.main(["--check"]) == 1
    assert "environment.yml is out of date" in capsys.readouterr().err
    assert environment_files.main(["--write"]) == 0
    assert environment_files.main(["--check"]) == 0


def test_lock_check_command_names_the_command_that_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_requirements(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert lock.main(["--check"]) == 0
    lock.lock_path(tmp_path, "ci").unlink()
    assert lock.main(["--check"]) == 1
    assert f"requirements/lock/ci.txt is missing; run: {lock.COMMAND}" in (
        capsys.readouterr().err
    )


def test_invalid_requirement_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "base.txt"
    path.write_text("pandas>=2\nnot a requirement!!\n")
    with pytest.raises(ValueError, match=r"base\.txt:2"):
        environment_files.read_requirements(path)
