"""The generated environment files never drift from requirements/."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.devtools import (
    environment_files,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_matches_the_requirements() -> None:
    assert environment_files.stale_files(PROJECT_ROOT) == [], (
        f"run: {environment_files.COMMAND} --write"
    )


def test_environment_yml_pins_the_project_python() -> None:
    text = (PROJECT_ROOT / "environment.yml").read_text()
    assert f"  - python={settings.PYTHON_VERSION}\n" in text


def test_a_changed_requirement_makes_the_check_fail(tmp_path: Path) -> None:
    for relative in (
        "pyproject.toml",
        "environment.yml",
        *environment_files.DEVELOPMENT_REQUIREMENTS,
    ):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((PROJECT_ROOT / relative).read_text())
    with (tmp_path / "requirements" / "base.txt").open("a") as requirements:
        requirements.write("rich>=13\n")
    assert environment_files.stale_files(tmp_path) == [tmp_path / "environment.yml"]


def test_check_command_reports_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    for relative in environment_files.DEVELOPMENT_REQUIREMENTS:
        (tmp_path / relative).write_text((PROJECT_ROOT / relative).read_text())
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
