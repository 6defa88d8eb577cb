"""The deployment stages and the deploy command line, without the SDK.

The command line runs with a stand-in for the SDK's ``deploy``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.azureml_config import (
    ProjectFileNotFoundError,
    WorkspaceConfigurationError,
)
from {{ cookiecutter.module_name }}.deployment import (
    stages,
)

pytestmark = pytest.mark.usefixtures("no_remote_hosts", "azureml_variables_cleared")

SCORING_URI = "http://127.0.0.1:5001/score"


class FakeDeploy:
    """Stands in for the SDK's deploy: records the calls, returns SCORING_URI."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.error = error

    def __call__(self, stage: str, model_version: str) -> str:
        self.calls.append((stage, model_version))
        if self.error:
            raise self.error
        return SCORING_URI


@pytest.mark.parametrize("stage", ["qa", "prod"])
def test_qa_and_prod_are_the_stages(stage: str) -> None:
    assert stage in stages.STAGES
    stages.check_stage(stage)


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'staging'.*qa, prod"):
        stages.check_stage("staging")


def test_command_line_prints_and_writes_the_uri_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = FakeDeploy()
    output = tmp_path / "out" / "scoring_uri.txt"
    argv = ["--stage", "qa", "--model-version", "2", "--output-uri", str(output)]

    assert stages.main(deploy, argv, description="Deploy.") == 0

    assert deploy.calls == [("qa", "2")]
    assert capsys.readouterr().out.strip().splitlines()[-1] == SCORING_URI
    assert output.read_text(encoding="utf-8") == SCORING_URI + "\n"


def test_command_line_deploys_the_latest_version_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = FakeDeploy()

    assert stages.main(deploy, ["--stage", "prod"], description="Deploy.") == 0

    assert deploy.calls == [("prod", "latest")]
    assert capsys.readouterr().out == SCORING_URI + "\n"
    assert list(tmp_path.iterdir()) == []


def test_command_line_refuses_an_unknown_stage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy = FakeDeploy()

    with pytest.raises(SystemExit) as caught:
        stages.main(deploy, ["--stage", "staging"], description="Deploy.")

    assert caught.value.code == 2
    assert "'qa', 'prod'" in capsys.readouterr().err
    assert deploy.calls == []


@pytest.mark.parametrize(
    "error",
    [
        stages.ModelVersionNotFoundError("the model has no registered version 9."),
        ProjectFileNotFoundError(".azureml/deployment-qa.yml does not exist."),
        WorkspaceConfigurationError("settings.AZUREML_WORKSPACE is empty."),
    ],
)
def test_command_line_reports_what_to_fix_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    output = tmp_path / "scoring_uri.txt"
    argv = ["--stage", "qa", "--output-uri", str(output)]

    with pytest.raises(SystemExit) as caught:
        stages.main(FakeDeploy(error), argv, description="Deploy.")

    assert caught.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {error}\n"
    assert captured.out == ""
    assert not output.exists()


def test_command_line_reports_the_sdks_own_errors_it_is_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy = FakeDeploy(TimeoutError("the service is not healthy"))

    with pytest.raises(SystemExit) as caught:
        stages.main(
            deploy, ["--stage", "qa"], description="Deploy.", errors=(TimeoutError,)
        )

    assert caught.value.code == 1
    assert capsys.readouterr().err == "error: the service is not healthy\n"


def test_command_line_lets_other_errors_through() -> None:
    deploy = FakeDeploy(TimeoutError("the service is not healthy"))

    with pytest.raises(TimeoutError):
        stages.main(deploy, ["--stage", "qa"], description="Deploy.")
