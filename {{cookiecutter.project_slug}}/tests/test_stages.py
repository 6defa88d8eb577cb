"""The deployment stages and the deploy command line, without the SDK.

The command line runs with stand-ins for the SDK's ``deploy`` and
``endpoint_key``.
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
KEY = "fake-primary-key"


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


class FakeEndpointKey:
    """Stands in for the SDK's endpoint_key: records the calls, returns ``key``."""

    def __init__(
        self, key: str = KEY, error: Exception | None = None, chatter: str = ""
    ) -> None:
        self.calls: list[str] = []
        self.key = key
        self.error = error
        self.chatter = chatter

    def __call__(self, stage: str) -> str:
        self.calls.append(stage)
        if self.chatter:
            print(self.chatter)  # as an SDK may print while it signs in
        if self.error:
            raise self.error
        return self.key


def run_main(
    deploy: FakeDeploy,
    argv: list[str],
    endpoint_key: FakeEndpointKey | None = None,
    errors: tuple[type[Exception], ...] = (),
) -> int:
    return stages.main(
        deploy,
        endpoint_key or FakeEndpointKey(),
        argv,
        description="Deploy.",
        errors=errors,
    )


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

    assert run_main(deploy, argv) == 0

    assert deploy.calls == [("qa", "2")]
    assert capsys.readouterr().out.strip().splitlines()[-1] == SCORING_URI
    assert output.read_text(encoding="utf-8") == SCORING_URI + "\n"


def test_command_line_deploys_the_latest_version_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = FakeDeploy()

    assert run_main(deploy, ["--stage", "prod"]) == 0

    assert deploy.calls == [("prod", "latest")]
    assert capsys.readouterr().out == SCORING_URI + "\n"
    assert list(tmp_path.iterdir()) == []


def test_command_line_refuses_an_unknown_stage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy = FakeDeploy()

    with pytest.raises(SystemExit) as caught:
        run_main(deploy, ["--stage", "staging"])

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
        run_main(FakeDeploy(error), argv)

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
        run_main(deploy, ["--stage", "qa"], errors=(TimeoutError,))

    assert caught.value.code == 1
    assert capsys.readouterr().err == "error: the service is not healthy\n"


def test_command_line_lets_other_errors_through() -> None:
    deploy = FakeDeploy(TimeoutError("the service is not healthy"))

    with pytest.raises(TimeoutError):
        run_main(deploy, ["--stage", "qa"])


# --- --print-key -------------------------------------------------------------


def test_deploying_never_reads_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    endpoint_key = FakeEndpointKey()

    assert run_main(FakeDeploy(), ["--stage", "qa"], endpoint_key) == 0

    assert endpoint_key.calls == []
    assert KEY not in capsys.readouterr().out


@pytest.mark.parametrize("stage", ["qa", "prod"])
def test_print_key_prints_only_the_key_and_deploys_nothing(
    stage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = FakeDeploy()
    endpoint_key = FakeEndpointKey()

    assert run_main(deploy, ["--stage", stage, "--print-key"], endpoint_key) == 0

    assert capsys.readouterr().out == KEY + "\n"
    assert endpoint_key.calls == [stage]
    assert deploy.calls == []
    assert list(tmp_path.iterdir()) == []


def test_print_key_keeps_what_the_sdk_prints_off_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint_key = FakeEndpointKey(chatter="Performing interactive authentication")

    assert run_main(FakeDeploy(), ["--stage", "qa", "--print-key"], endpoint_key) == 0

    captured = capsys.readouterr()
    assert captured.out == KEY + "\n"
    assert "interactive authentication" in captured.err


@pytest.mark.parametrize(
    "extra",
    [
        ["--model-version", "3"],
        ["--model-version", "latest"],
        ["--output-uri", "scoring_uri.txt"],
    ],
)
def test_print_key_refuses_deploy_options(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = FakeDeploy()
    endpoint_key = FakeEndpointKey()

    with pytest.raises(SystemExit) as caught:
        run_main(deploy, ["--stage", "qa", "--print-key", *extra], endpoint_key)

    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert "--print-key" in captured.err
    assert captured.out == ""
    assert deploy.calls == endpoint_key.calls == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "error",
    [
        stages.EndpointNotFoundError("the qa endpoint does not exist. Deploy it."),
        WorkspaceConfigurationError("settings.AZUREML_WORKSPACE is empty."),
    ],
)
def test_print_key_reports_what_to_fix_on_stderr_only(
    error: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_key = FakeEndpointKey(error=error)

    with pytest.raises(SystemExit) as caught:
        run_main(FakeDeploy(), ["--stage", "qa", "--print-key"], endpoint_key)

    assert caught.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {error}\n"


@pytest.mark.parametrize("key", ["", "two\nlines"])
def test_print_key_refuses_an_unusable_key(
    key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_key = FakeEndpointKey(key=key)

    with pytest.raises(SystemExit) as caught:
        run_main(FakeDeploy(), ["--stage", "qa", "--print-key"], endpoint_key)

    assert caught.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "auth_mode: key" in captured.err
    assert "lines" not in captured.err


@pytest.mark.parametrize("print_key", [False, True])
def test_command_line_without_an_azure_login_says_run_az_login_in_one_line(
    capsys: pytest.CaptureFixture[str], print_key: bool
) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    error = ClientAuthenticationError("no token\nline two\nline three")
    argv = ["--stage", "qa", *(["--print-key"] if print_key else [])]
    with pytest.raises(SystemExit) as caught:
        run_main(FakeDeploy(error), argv, FakeEndpointKey(error=error))

    assert caught.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "error: not signed in to Azure (no token). Run az login (and az account "
        "set --subscription <id>), then try again.\n"
    )
    assert captured.out == ""
