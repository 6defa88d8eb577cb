"""The tool's messages say what happened (issue 9, item 7); the token reaches git one way."""

from __future__ import annotations

import argparse
import base64
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.arm import FakeResourceManager
from fakes.az_stub import AZURE_DEVOPS_RESOURCE, RESOURCE_MANAGER, install_az
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import (
    PAT,
    PROJECT,
    SUBSCRIPTION,
    Baker,
    write_settings,
    write_storage_table,
)
from rich.console import Console

from mlops_template import cli, cli_teardown, lookup
from mlops_template.arm import RESOURCE_MANAGER_URL_VARIABLE
from mlops_template.auth import AzureCli, EntraToken
from mlops_template.create_once import create_once
from mlops_template.errors import AzureDevOpsError
from mlops_template.git import GitError, Repository, summary


def local_repository(path: Path) -> Path:
    path.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q",
         "--allow-empty", "-m", "first"],
    ):  # fmt: skip
        subprocess.run(["git", *args], cwd=path, check=True)
    return path


def test_git_gets_the_token_only_through_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
    monkeypatch.setenv("GIT_TRACE", "1")
    monkeypatch.setenv("GIT_TRACE_CURL", "/tmp/trace")
    env = Repository(Path("."), PAT)._environment(authenticated=True)
    assert "AZURE_DEVOPS_EXT_PAT" not in env
    assert not [key for key in env if key.startswith("GIT_TRACE")]
    values = [env[key] for key in env if key.startswith("GIT_CONFIG_VALUE_")]
    assert any(value.startswith("Authorization: Basic ") for value in values)


def test_a_token_git_is_refused_names_the_token_and_its_scope(
    tmp_path: Path, fake: FakeAzureDevOps
) -> None:
    fake.add_repository(PROJECT, "repo")
    project = local_repository(tmp_path / "project")
    url = f"{fake.url}/{PROJECT.replace(' ', '%20')}/_git/repo"
    with pytest.raises(GitError) as caught:
        Repository(project, "not-the-token").fetch(url)
    message = str(caught.value)
    assert "refused the token (HTTP 401)" in message
    assert "Code (read, write and manage)" in message
    assert "not-the-token" not in message


def test_git_trace_output_is_left_out_of_the_message() -> None:
    trace = "\n".join(f"12:00:00.{n:06d} http.c:700 => Send header: x" for n in range(200))
    output = f"{trace}\nerror: failed to push some refs to 'https://x/_git/r'\n"
    assert summary(output) == "error: failed to push some refs to 'https://x/_git/r'"


def test_a_long_git_message_keeps_its_last_lines() -> None:
    output = "\n".join(f"remote: line {n}" for n in range(40))
    text = summary(output)
    assert text.startswith("(34 earlier lines left out)") and text.endswith("remote: line 39")


def test_a_refused_create_names_the_resource_and_quotes_the_service() -> None:
    def create() -> None:
        raise AzureDevOpsError(
            "VS402865: the name is not valid", status=400, type_key="ArgumentException"
        )

    with pytest.raises(AzureDevOpsError) as caught:
        create_once("environment 'churn-qa'", lambda: None, create, refused_twice=True)
    assert str(caught.value).startswith(
        "Azure DevOps refused to create environment 'churn-qa': VS402865: the name is not valid"
    )


def test_ctrl_c_prints_the_resume_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def interrupted(self: lookup.Lookup) -> lookup.State:
        raise KeyboardInterrupt

    monkeypatch.setattr(lookup.Lookup, "__call__", interrupted)
    write_settings(tmp_path, organization_url="https://dev.azure.com/contoso")
    out = io.StringIO()
    loaded = cli.load(tmp_path)
    code = cli.run(loaded, PAT, Console(file=out, width=300))
    assert code == cli.FAILED
    assert f"To resume: cd {tmp_path} && " in out.getvalue()


def test_a_token_headers_cannot_carry_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(tmp_path, organization_url="https://dev.azure.com/contoso")
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "abc\u2028def")
    assert cli.main(["provision", "--project-dir", str(tmp_path)]) == cli.USAGE
    assert "characters an HTTP header cannot carry" in capsys.readouterr().out


# -- issue 21, item 4: what a service says never repeats a secret ------------------------


def _project_for(fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed local project whose azure-devops.json names the double."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AZURE_DEVOPS_IDENTITY_URL", fake.identity_url)
    project = local_repository(tmp_path / "project")
    write_settings(project, organization_url=fake.url)
    return project


def _run_with_origin(project: Path, origin: str) -> tuple[int, str]:
    """Provision with the PAT, the local ``origin`` being ``origin``."""
    subprocess.run(["git", "remote", "add", "origin", origin], cwd=project, check=True)
    return _run(project, PAT)


def _run(project: Path, credential: object) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.run(cli.load(project), credential, Console(file=out, width=100))  # type: ignore[arg-type]
    return code, out.getvalue()


def test_a_service_message_holding_the_pat_is_printed_without_it(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error message that quotes the PAT (or its Basic form) is printed with *** instead."""
    project = _project_for(fake, tmp_path, monkeypatch)
    basic = base64.b64encode(f":{PAT}".encode()).decode()
    fake.inject(400, method="GET", path_contains="distributedtask/environments",
                message=f"token {PAT} (Basic {basic}) is not welcome here")  # fmt: skip
    code, output = _run(project, PAT)
    assert code == cli.FAILED
    assert "is not welcome here" in output and "token ***" in output, output
    assert PAT not in output and basic not in output
    assert PAT[:40] not in output.replace("\n", "")  # nor wrapped over two lines


def test_a_service_message_holding_the_entra_token_is_printed_without_it(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Azure CLI's Entra token, quoted in a service message, is printed as ***."""
    project = _project_for(fake, tmp_path, monkeypatch)
    stub = install_az(tmp_path / "az", "signed-in")
    monkeypatch.setenv("PATH", stub.env()["PATH"])
    token = stub.tokens[AZURE_DEVOPS_RESOURCE]
    fake.accept_bearer(token)
    fake.inject(400, method="GET", path_contains="distributedtask/environments",
                message=f"your token {token} is not welcome here")  # fmt: skip
    code, output = _run(project, EntraToken(AzureCli(), AZURE_DEVOPS_RESOURCE))
    assert code == cli.FAILED
    assert "your token *** is not welcome here" in output, output
    assert token not in output


@pytest.fixture
def resource_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeResourceManager, str]]:
    """The Resource Manager double for a signed-in stub az; the stub's ARM token."""
    stub = install_az(tmp_path / "az", "signed-in", subscription_id=SUBSCRIPTION)
    monkeypatch.setenv("PATH", stub.env()["PATH"])
    token = stub.tokens[RESOURCE_MANAGER]
    with FakeResourceManager(token=token, subscription_id=SUBSCRIPTION) as arm:
        monkeypatch.setenv(RESOURCE_MANAGER_URL_VARIABLE, arm.url)
        yield arm, token


AZURE_SIDE = {
    "azure_subscription_id": SUBSCRIPTION,
    "variables": {"AZUREML_RESOURCE_GROUP": "rg-ml", "AZUREML_WORKSPACE": "ws-ml"},
}


def test_a_resource_manager_message_holding_its_token_is_printed_without_it(
    fake: FakeAzureDevOps,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resource_manager: tuple[FakeResourceManager, str],
) -> None:
    """The Azure CLI's Resource Manager token (not only Azure DevOps'), quoted in an ARM
    error message during provision, is printed as ***."""
    project = _project_for(fake, tmp_path, monkeypatch)
    write_settings(project, organization_url=fake.url, **AZURE_SIDE)
    arm, token = resource_manager
    arm.inject(400, method="GET", path_contains="/subscriptions/", times=100,
               message=f"your token {token} is not welcome here")  # fmt: skip
    code, output = _run(project, PAT)
    assert code == cli.FAILED, output
    assert "your token *** is not welcome here" in output, output
    assert token not in output.replace("\n", "")


def test_a_teardown_message_holding_the_token_is_printed_without_it(
    tmp_path: Path, resource_manager: tuple[FakeResourceManager, str]
) -> None:
    """``mlops-template teardown`` hides the token too: Resource Manager's error message
    quoting it is printed with *** (teardown printed it verbatim before)."""
    project = tmp_path / "project"
    project.mkdir()
    write_settings(project, **AZURE_SIDE)
    args = argparse.Namespace(project_dir=project, azure_subscription_id=None,
                              azure_tenant_id=None, yes=True, delete_data=False)  # fmt: skip
    arm, token = resource_manager
    arm.inject(400, method="GET", path_contains="/resources",
               message=f"your token {token} is not welcome here")  # fmt: skip
    out = io.StringIO()
    code = cli_teardown.main(args, Console(file=out, width=100))
    assert code == cli_teardown.FAILED
    assert "your token *** is not welcome here" in out.getvalue(), out.getvalue()
    assert token not in out.getvalue().replace("\n", "")


def test_a_logged_service_message_holding_the_token_is_logged_without_it(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    """``-v`` logs a failed create's message; the token in it is logged as ***."""
    run, project = baker.bake(azure_devops_org_url="")
    assert run.returncode == 0, run.output
    fake.inject(503, method="POST", path_contains="distributedtask/environments",
                message=f"overloaded while reading {PAT}")  # fmt: skip
    again = baker.provision(project, "-v", "--organization", fake.url)
    assert again.returncode == 0, again.output
    assert "overloaded while reading ***" in again.output, again.output
    assert PAT not in again.output


def test_an_origin_with_a_password_is_printed_without_it(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A foreign ``origin`` holding ``user:password@`` is named without the password."""
    project = _project_for(fake, tmp_path, monkeypatch)
    code, output = _run_with_origin(project, "https://ana:hunter2-secret@example.com/x/y.git")
    assert code == cli.FAILED
    assert "https://example.com/x/y.git" in output, output
    assert "hunter2-secret" not in output


def test_a_foreign_origin_is_refused_before_anything_is_created(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21, item 5: ``origin`` pointing elsewhere stops the run before its first write."""
    project = _project_for(fake, tmp_path, monkeypatch)
    code, output = _run_with_origin(project, "https://github.com/contoso/other.git")
    assert code == cli.FAILED
    assert "points at https://github.com/contoso/other.git" in output, output
    assert "git remote set-url origin" in output
    assert fake.writes == []


def test_a_foreign_origin_is_refused_before_anything_is_created_in_azure_either(
    fake: FakeAzureDevOps,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resource_manager: tuple[FakeResourceManager, str],
) -> None:
    """Issue 21, item 5, with the Azure side configured: the pipelines' Azure identity (one
    of the resources created before the refusal) is not created either; no ARM write."""
    project = _project_for(fake, tmp_path, monkeypatch)
    write_settings(project, organization_url=fake.url, **AZURE_SIDE)
    write_storage_table(project)
    arm, _ = resource_manager
    arm.add_resource_group("rg-ml")
    arm.add_workspace("rg-ml", "ws-ml")
    code, output = _run_with_origin(project, "https://github.com/contoso/other.git")
    assert code == cli.FAILED
    assert "points at https://github.com/contoso/other.git" in output, output
    assert arm.requests, "the Azure side was not looked up"
    assert fake.writes == [] and arm.writes == []
    assert arm.identities() == {}
