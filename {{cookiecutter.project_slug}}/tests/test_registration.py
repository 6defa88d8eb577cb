"""Registration without the SDK: tags, the model file check, metadata, command line.

The command line runs with a stand-in for the SDK's ``register_model``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.azureml_config import (
    WorkspaceConfigurationError,
)
from {{ cookiecutter.module_name }}.deployment import (
    registration,
)

pytestmark = pytest.mark.usefixtures("no_remote_hosts", "azureml_variables_cleared")


class FakeRegistry:
    """Stands in for the SDK's register_model: records the paths, returns version 4."""

    def __init__(self, error: Exception | None = None) -> None:
        self.paths: list[Path] = []
        self.error = error

    def __call__(self, model_path: Path) -> Mapping[str, str]:
        self.paths.append(model_path)
        if self.error:
            raise self.error
        registration.check_model_file(model_path)
        return {"name": "iris-model", "version": "4", "id": "iris-model:4"}


def test_tags_name_the_git_commit_and_the_build(
    monkeypatch: pytest.MonkeyPatch, git_repository: str
) -> None:
    monkeypatch.setenv("BUILD_BUILDID", "1234")
    monkeypatch.setenv("BUILD_SOURCEVERSION", "not-this-one")
    assert registration.git_commit() == git_repository
    assert registration.model_tags({"stage": "dev"}) == {
        "git_commit": git_repository,
        "build_id": "1234",
        "stage": "dev",
    }


@pytest.mark.usefixtures("outside_git")
def test_outside_git_the_commit_comes_from_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUILD_SOURCEVERSION", "abc123")
    assert registration.git_commit() == "abc123"
    assert registration.model_tags() == {"git_commit": "abc123"}


@pytest.mark.usefixtures("outside_git")
def test_outside_git_and_pipelines_there_is_no_commit_tag() -> None:
    assert registration.git_commit() is None
    assert registration.model_tags() == {}


@pytest.mark.usefixtures("outside_git")
def test_extra_tags_come_last_and_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILD_BUILDID", "1234")
    assert registration.model_tags({"build_id": "manual"}) == {"build_id": "manual"}


def test_an_existing_model_file_passes_the_check(model_file: Path) -> None:
    assert registration.check_model_file(str(model_file)) == model_file


def test_a_missing_model_says_how_to_train_it(tmp_path: Path) -> None:
    with pytest.raises(
        registration.ModelFileNotFoundError, match=r"model_building\.train"
    ) as caught:
        registration.check_model_file(tmp_path / "model.pkl")
    assert str(tmp_path / "model.pkl") in str(caught.value)


def test_write_metadata_writes_name_version_and_id(tmp_path: Path) -> None:
    info = {"name": "m", "version": "4", "id": "m:4"}
    path = registration.write_metadata(info, tmp_path / "out" / "model_metadata.json")
    assert json.loads(path.read_text(encoding="utf-8")) == info


def test_command_line_registers_prints_and_writes_the_metadata(
    tmp_path: Path, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = FakeRegistry()
    metadata = tmp_path / "meta" / "model_metadata.json"
    argv = ["--model", str(model_file), "--metadata", str(metadata)]

    assert registration.main(registry, argv, description="Register.") == 0

    assert registry.paths == [model_file]
    assert capsys.readouterr().out == "Registered model iris-model version 4\n"
    assert json.loads(metadata.read_text(encoding="utf-8")) == {
        "name": "iris-model",
        "version": "4",
        "id": "iris-model:4",
    }


def test_command_line_defaults_to_outputs_model_pkl(
    tmp_path: Path, model_file: Path
) -> None:
    registry = FakeRegistry()

    assert registration.main(registry, [], description="Register.") == 0

    assert registry.paths == [Path("outputs/model.pkl")]
    assert (tmp_path / "model_metadata.json").is_file()


@pytest.mark.parametrize(
    "error",
    [
        registration.ModelFileNotFoundError("the model outputs/model.pkl ..."),
        WorkspaceConfigurationError("settings.AZUREML_WORKSPACE is empty."),
    ],
)
def test_command_line_reports_what_to_fix_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    with pytest.raises(SystemExit) as caught:
        registration.main(FakeRegistry(error), [], description="Register.")

    assert caught.value.code == 1
    assert capsys.readouterr().err == f"error: {error}\n"
    assert not (tmp_path / "model_metadata.json").exists()


def test_command_line_lets_other_errors_through() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        registration.main(
            FakeRegistry(RuntimeError("boom")), [], description="Register."
        )


def test_command_line_without_an_azure_login_says_run_az_login_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from azure.identity import CredentialUnavailableError

    error = CredentialUnavailableError(
        "DefaultAzureCredential failed to retrieve a token from the included "
        "credentials.\nAttempted credentials:\n\tEnvironmentCredential: ...\n"
    )
    with pytest.raises(SystemExit) as caught:
        registration.main(FakeRegistry(error), [], description="Register.")

    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Run az login" in err
    assert "DefaultAzureCredential failed to retrieve a token" in err
