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
    """Stands in for the SDK's register_model and latest_registered.

    Records the registered paths and tags and returns version 4; ``latest``
    is the newest registered version the gate compares with.
    """

    def __init__(
        self,
        error: Exception | None = None,
        latest: registration.RegisteredVersion | None = None,
    ) -> None:
        self.paths: list[Path] = []
        self.tags: list[Mapping[str, str]] = []
        self.error = error
        self.latest = latest

    def __call__(
        self, model_path: Path, *, tags: Mapping[str, str]
    ) -> Mapping[str, str]:
        self.paths.append(model_path)
        self.tags.append(tags)
        if self.error:
            raise self.error
        return {"name": "iris-model", "version": "4", "id": "iris-model:4"}

    def latest_registered(self) -> registration.RegisteredVersion | None:
        return self.latest


def run_main(registry: FakeRegistry, argv: list[str]) -> int:
    return registration.main(
        registry, registry.latest_registered, argv, description="Register."
    )


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

    assert run_main(registry, argv) == 0

    assert registry.paths == [model_file]
    out = capsys.readouterr().out
    assert out.endswith("Registered model iris-model version 4\n")
    assert "no registered version to compare; new accuracy 0.9" in out
    assert json.loads(metadata.read_text(encoding="utf-8")) == {
        "name": "iris-model",
        "version": "4",
        "id": "iris-model:4",
    }


def test_command_line_stores_the_numeric_metrics_as_tags(model_file: Path) -> None:
    registry = FakeRegistry()

    assert run_main(registry, ["--model", str(model_file)]) == 0

    assert registry.tags == [{"accuracy": "0.9", "n_test": "30.0"}]


def test_command_line_defaults_to_outputs_model_pkl(
    tmp_path: Path, model_file: Path
) -> None:
    registry = FakeRegistry()

    assert run_main(registry, []) == 0

    assert registry.paths == [Path("outputs/model.pkl")]
    assert (tmp_path / "model_metadata.json").is_file()


def test_gate_refuses_a_worse_model_and_writes_no_metadata(
    tmp_path: Path, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latest = registration.RegisteredVersion("3", {"accuracy": "0.95"})
    registry = FakeRegistry(latest=latest)
    metadata = tmp_path / "model_metadata.json"
    metadata.write_text("{}")  # left over: must not survive a refusal

    assert run_main(registry, ["--metadata", str(metadata)]) == 0

    out = capsys.readouterr().out
    assert "new accuracy 0.9, registered (version 3) 0.95" in out
    assert "Not registered" in out
    assert registry.paths == []
    assert not metadata.exists()


def test_gate_lets_an_equal_model_through(model_file: Path) -> None:
    registry = FakeRegistry(
        latest=registration.RegisteredVersion("3", {"accuracy": "0.9"})
    )

    assert run_main(registry, []) == 0

    assert registry.paths == [Path("outputs/model.pkl")]


def test_force_registers_a_worse_model(
    model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = FakeRegistry(
        latest=registration.RegisteredVersion("3", {"accuracy": "1.0"})
    )

    assert run_main(registry, ["--force"]) == 0

    assert "gate skipped (--force)" in capsys.readouterr().out
    assert registry.paths == [Path("outputs/model.pkl")]


def test_a_version_registered_before_the_gate_does_not_block(
    model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = FakeRegistry(
        latest=registration.RegisteredVersion("2", {"git_commit": "abc"})
    )

    assert run_main(registry, []) == 0

    assert "version 2 has no 'accuracy' tag" in capsys.readouterr().out
    assert registry.paths == [Path("outputs/model.pkl")]


def test_an_older_version_without_the_gate_metric_is_not_compared_on_another(
    model_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A version tagged with accuracy only, gate on f1_macro: no crash, no
    accuracy-vs-F1 comparison, a message naming what the old version has."""
    monkeypatch.setattr(registration.settings, "GATE_METRIC", "f1_macro")
    metrics = json.loads(model_file.with_name("metrics.json").read_text())
    model_file.with_name("metrics.json").write_text(
        json.dumps({**metrics, "f1_macro": 0.5})
    )
    registry = FakeRegistry(
        latest=registration.RegisteredVersion("4", {"accuracy": "0.99"})
    )

    assert run_main(registry, []) == 0

    out = capsys.readouterr().out
    assert "version 4 has no 'f1_macro' tag" in out and "['accuracy']" in out
    assert registry.paths == [Path("outputs/model.pkl")]


def test_in_azure_pipelines_a_registration_sets_model_registered(
    model_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TF_BUILD", "True")

    assert run_main(FakeRegistry(), []) == 0

    out = capsys.readouterr().out
    assert "##vso[task.setvariable variable=MODEL_REGISTERED]true" in out
    assert "##vso[build.addbuildtag]model-registered" in out


@pytest.mark.usefixtures("model_file")
def test_gate_metric_missing_from_metrics_exits_1_naming_the_metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(registration.settings, "GATE_METRIC", "rmse")

    with pytest.raises(SystemExit) as caught:
        run_main(FakeRegistry(), [])

    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "no 'rmse'" in err
    assert "['accuracy', 'n_test']" in err


def test_missing_metrics_file_exits_1_saying_what_to_do(
    model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_file.with_name("metrics.json").unlink()

    with pytest.raises(SystemExit) as caught:
        run_main(FakeRegistry(), [])

    assert caught.value.code == 1
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize(
    "error",
    [
        registration.ModelFileNotFoundError("the model outputs/model.pkl ..."),
        WorkspaceConfigurationError("settings.AZUREML_WORKSPACE is empty."),
    ],
)
@pytest.mark.usefixtures("model_file")
def test_command_line_reports_what_to_fix_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    with pytest.raises(SystemExit) as caught:
        run_main(FakeRegistry(error), [])

    assert caught.value.code == 1
    assert capsys.readouterr().err == f"error: {error}\n"
    assert not (tmp_path / "model_metadata.json").exists()


def test_command_line_without_the_model_says_how_to_train_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        run_main(FakeRegistry(), [])

    assert caught.value.code == 1
    assert "model_building.train" in capsys.readouterr().err


@pytest.mark.usefixtures("model_file")
def test_command_line_lets_other_errors_through() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        run_main(FakeRegistry(RuntimeError("boom")), [])


@pytest.mark.usefixtures("model_file")
def test_command_line_without_an_azure_login_says_run_az_login_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from azure.identity import CredentialUnavailableError

    error = CredentialUnavailableError(
        "DefaultAzureCredential failed to retrieve a token from the included "
        "credentials.\nAttempted credentials:\n\tEnvironmentCredential: ...\n"
    )
    with pytest.raises(SystemExit) as caught:
        run_main(FakeRegistry(error), [])

    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Run az login" in err
    assert "DefaultAzureCredential failed to retrieve a token" in err
