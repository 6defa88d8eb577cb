"""The generated conda files never drift from requirements/."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.devtools import (
    environment_files,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT_FILES = sorted(
    {name for _, files in environment_files.CONDA_FILES.values() for name in files}
)


def copy_requirements(target: Path) -> None:
    (target / "pyproject.toml").write_text("")
    for relative in REQUIREMENT_FILES:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text((PROJECT_ROOT / relative).read_text())


def test_generated_files_match_the_requirements() -> None:
    assert environment_files.stale_files(PROJECT_ROOT) == [], (
        f"run: {environment_files.COMMAND} --write"
    )


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


def test_a_changed_requirement_makes_both_files_stale(tmp_path: Path) -> None:
    copy_requirements(tmp_path)
    for path, content in environment_files.generated_files(tmp_path).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    with (tmp_path / "requirements" / "base.txt").open("a") as requirements:
        requirements.write("rich>=13\n")
    assert sorted(environment_files.stale_files(tmp_path)) == sorted(
        tmp_path / relative for relative in environment_files.CONDA_FILES
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


def test_invalid_requirement_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "base.txt"
    path.write_text("pandas>=2\nnot a requirement!!\n")
    with pytest.raises(ValueError, match=r"base\.txt:2"):
        environment_files.read_requirements(path)
