"""Azure ML configuration without the SDK: workspace ids and project files."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.module_name }} import (
    azureml_config,
    settings,
)

pytestmark = pytest.mark.usefixtures(
    "no_remote_hosts", "azureml_variables_cleared", "workspace_settings"
)


def test_workspace_ids_come_from_settings() -> None:
    assert azureml_config.workspace_ids() == (
        "sub-from-settings",
        "rg-from-settings",
        "ws-from-settings",
    )


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {
                "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
                "AZUREML_RESOURCE_GROUP": "rg-from-env",
                "AZUREML_WORKSPACE": "ws-from-env",
            },
            ("00000000-0000-0000-0000-000000000001", "rg-from-env", "ws-from-env"),
        ),
        (
            {"AZUREML_WORKSPACE": "ws-from-env"},
            ("sub-from-settings", "rg-from-settings", "ws-from-env"),
        ),
    ],
    ids=["all", "one"],
)
def test_environment_variables_override_settings(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    expected: tuple[str, str, str],
) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert azureml_config.workspace_ids() == expected


def test_empty_subscription_id_names_the_setting_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "AZURE_SUBSCRIPTION_ID", "")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "  ")
    with pytest.raises(azureml_config.WorkspaceConfigurationError) as caught:
        azureml_config.workspace_ids()
    message = str(caught.value)
    assert "settings.AZURE_SUBSCRIPTION_ID" in message
    assert "environment variable AZURE_SUBSCRIPTION_ID" in message
    assert f"src/{azureml_config.PACKAGE_NAME}/settings.py" in message


def test_the_project_folders_are_those_of_this_checkout() -> None:
    project = Path(__file__).resolve().parents[1]
    assert project / "src" == azureml_config.SRC_DIR
    assert project == azureml_config.PROJECT_DIR
    assert project / ".azureml" == azureml_config.AZUREML_DIR
    package = azureml_config.SRC_DIR / azureml_config.PACKAGE_NAME
    assert (package / "settings.py").is_file()


def test_a_project_file_is_found_in_the_project_folder() -> None:
    path = azureml_config.project_file(".azureml", "test.json")
    assert path == azureml_config.PROJECT_DIR / ".azureml" / "test.json"


def test_a_missing_project_file_says_how_to_get_it() -> None:
    with pytest.raises(azureml_config.ProjectFileNotFoundError, match="clone"):
        azureml_config.project_file(".azureml", "no-such-file.yml")


def test_the_conda_file_is_the_azureml_environment_file() -> None:
    path = azureml_config.conda_file()
    assert path == azureml_config.AZUREML_DIR / "conda_dependencies.yml"
    assert path.is_file()
