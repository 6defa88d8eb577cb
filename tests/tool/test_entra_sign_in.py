"""Sign-in without a PAT: the Azure CLI's Entra token, on the real subprocess and HTTP paths.

A stub ``az`` on PATH (``fakes.az_stub``) answers ``az account show`` and ``az account
get-access-token``; the Azure DevOps double accepts its Azure DevOps token as Bearer.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from fakes.arm import FakeResourceManager
from fakes.az_stub import AZURE_DEVOPS_RESOURCE, RESOURCE_MANAGER, AzStub, install_az
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import PAT, PROJECT, Baker, assert_fully_provisioned

from mlops_template.arm import ArmClient
from mlops_template.auth import AzureCli, EntraToken
from mlops_template.client import AzureDevOpsClient
from mlops_template.errors import AuthenticationError
from mlops_template.git import GitError, Repository


def _with_az(baker: Baker, fake: FakeAzureDevOps, tmp_path: Path, mode: str, **kw) -> AzStub:
    stub = install_az(tmp_path / "az", mode, **kw)
    baker.path = stub.env({"PATH": baker.path})["PATH"]
    fake.accept_bearer(stub.tokens[AZURE_DEVOPS_RESOURCE])
    return stub


def test_a_signed_in_azure_cli_is_enough(baker: Baker, fake: FakeAzureDevOps, tmp_path) -> None:
    stub = _with_az(baker, fake, tmp_path, "signed-in")
    run, project = baker.bake(pat=None)
    assert run.returncode == 0, run.output
    assert "Signed in to Azure DevOps with: Azure CLI sign-in (az login)" in run.output
    assert_fully_provisioned(fake, project)
    # Only the two allowed questions; no token on any command line.
    for argv in stub.calls():
        assert argv[:2] == ["account", "get-access-token"], argv
    fake.clear_requests()
    again = baker.provision(project, pat=None)
    assert again.returncode == 0, again.output
    assert fake.writes == []


def test_the_entra_token_appears_nowhere(baker: Baker, fake: FakeAzureDevOps, tmp_path) -> None:
    stub = _with_az(baker, fake, tmp_path, "signed-in")
    token = stub.tokens[AZURE_DEVOPS_RESOURCE]
    run, project = baker.bake(pat=None)
    assert run.returncode == 0, run.output
    for output in baker.outputs:
        assert token not in output
    assert token not in baker.git_log.read_text()  # git's command lines
    for argv in stub.calls():  # az's command lines
        assert token not in " ".join(argv)
    config = subprocess.run(
        ["git", "config", "--list", "--show-origin"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"HOME": str(baker.home), "PATH": baker.path},
        check=True,
    ).stdout
    assert token not in config
    # Every file the bake and the tool wrote (the stub's own configuration aside).
    for path in tmp_path.rglob("*"):
        if path.is_file() and stub.config_path != path and "fake" not in path.parts:
            assert token.encode() not in path.read_bytes(), path
    for request in fake.requests:  # the header only: not in a URL, a query or a body
        assert token not in request.path and token not in str(request.query)
        assert token not in str(request.headers) and token.encode() not in request.body


def test_a_pat_wins_over_the_azure_cli(baker: Baker, fake: FakeAzureDevOps, tmp_path) -> None:
    stub = _with_az(baker, fake, tmp_path, "signed-in")
    run, _ = baker.bake(pat=PAT)
    assert run.returncode == 0, run.output
    assert "Signed in to Azure DevOps with: personal access token" in run.output
    # The Azure CLI is asked for Resource Manager only (the Azure side), never Azure DevOps.
    assert [argv for argv in stub.calls() if AZURE_DEVOPS_RESOURCE in argv] == []


@pytest.mark.parametrize("mode", ["signed-out", "not-installed"])
def test_without_a_token_or_a_sign_in_the_setup_is_skipped_with_instructions(
    baker: Baker, fake: FakeAzureDevOps, tmp_path: Path, mode: str
) -> None:
    _with_az(baker, fake, tmp_path, mode)
    run, project = baker.bake(pat=None)
    assert run.returncode == 0, run.output
    assert "Azure DevOps setup skipped: no token: run 'az login'" in run.output, run.output
    assert "AZURE_DEVOPS_EXT_PAT" in run.output
    assert fake.requests == []
    assert project.is_dir()
    tool = baker.provision(project, pat=None)
    assert tool.returncode == 2 and "az login" in tool.output, tool.output


def test_a_refused_entra_token_is_renewed_once_and_the_request_sent_again(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = install_az(tmp_path / "az", "signed-in")
    monkeypatch.setenv("PATH", stub.env()["PATH"])
    first = stub.tokens[AZURE_DEVOPS_RESOURCE]
    fake.accept_bearer(first)
    credential = EntraToken(AzureCli(), AZURE_DEVOPS_RESOURCE)
    client = AzureDevOpsClient(fake.url, fake.identity_url, credential)
    assert client.get("_apis/projects/ML%20Platform")["name"] == "ML Platform"
    fake.expire(first)  # the hour is over: Azure DevOps refuses it
    fake.accept_bearer(stub.renew(AZURE_DEVOPS_RESOURCE))
    assert client.get("_apis/projects/ML%20Platform")["name"] == "ML Platform"
    assert len(stub.calls()) == 2  # one token, then its successor


def test_a_token_near_its_expiry_is_asked_for_again_before_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = install_az(tmp_path / "az", "signed-in", expires_in=60)  # inside the margin
    monkeypatch.setenv("PATH", stub.env()["PATH"])
    credential = EntraToken(AzureCli(), AZURE_DEVOPS_RESOURCE)
    first = credential.authorization()
    renewed = stub.renew(AZURE_DEVOPS_RESOURCE)
    assert credential.authorization() == f"Bearer {renewed}" != first
    long_lived = install_az(tmp_path / "az2", "signed-in", expires_in=3600)
    monkeypatch.setenv("PATH", long_lived.env()["PATH"])
    kept = EntraToken(AzureCli(), AZURE_DEVOPS_RESOURCE)
    start = kept.authorization()
    long_lived.renew(AZURE_DEVOPS_RESOURCE)
    time.sleep(0.01)
    assert kept.authorization() == start  # an hour left: no new subprocess, the same token
    assert len(long_lived.calls()) == 1


def test_a_sign_in_azure_devops_refuses_says_so_and_what_to_do(
    baker: Baker, fake: FakeAzureDevOps, tmp_path: Path
) -> None:
    stub = _with_az(baker, fake, tmp_path, "signed-in")
    fake.expire(stub.tokens[AZURE_DEVOPS_RESOURCE])  # a user who is not in the organization
    run, _ = baker.bake(pat=None)
    assert "refused the Azure CLI's sign-in token" in run.output, run.output
    assert "az login" in run.output and fake.writes == []


# -- issue 21, item 6: the token renewed for git too; each service's 401 its own advice ----


def _signed_in_az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AzStub:
    """A signed-in stub ``az`` first on PATH."""
    stub = install_az(tmp_path / "az", "signed-in")
    monkeypatch.setenv("PATH", stub.env()["PATH"])
    return stub


def _local_project(tmp_path: Path, fake: FakeAzureDevOps) -> Path:
    """A committed local project whose origin is a new repository in the double."""
    fake.add_repository(PROJECT, "repo")
    project = tmp_path / "project"
    project.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q",
         "--allow-empty", "-m", "first"],
        ["remote", "add", "origin", f"{fake.url}/{PROJECT.replace(' ', '%20')}/_git/repo"],
    ):  # fmt: skip
        subprocess.run(["git", *args], cwd=project, check=True)
    return project


def test_a_push_whose_entra_token_expired_is_renewed_and_sent_again(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's 401 on an expired Entra token renews it and pushes again, as REST does."""
    stub = _signed_in_az(tmp_path, monkeypatch)
    first = stub.tokens[AZURE_DEVOPS_RESOURCE]
    project = _local_project(tmp_path, fake)
    credential = EntraToken(AzureCli(), AZURE_DEVOPS_RESOURCE)
    credential.authorization()  # the first token, cached for its hour
    fake.accept_bearer(first)
    fake.expire(first)  # ... which ends before the push
    fake.accept_bearer(stub.renew(AZURE_DEVOPS_RESOURCE))
    Repository(project, credential).push()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    bare = fake.bare_repo(PROJECT, "repo")
    assert subprocess.run(["git", "rev-parse", "refs/heads/main"], cwd=bare, capture_output=True,
                          text=True, check=True).stdout.strip() == head  # fmt: skip
    assert len(stub.calls()) == 2


def test_a_refused_entra_token_at_git_says_az_login_not_a_pat_scope(
    fake: FakeAzureDevOps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-in git is refused (after one renewal) is about az login, not the PAT's Code scope."""
    _signed_in_az(tmp_path, monkeypatch)
    project = _local_project(tmp_path, fake)  # the double accepts no Bearer token
    with pytest.raises(GitError) as caught:
        Repository(project, EntraToken(AzureCli(), AZURE_DEVOPS_RESOURCE)).push()
    message = str(caught.value)
    assert "refused the Azure CLI's sign-in token" in message and "az login" in message, message
    assert "Code (read, write and manage)" not in message


def test_resource_manager_refusing_the_sign_in_says_az_login_not_the_pat_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ARM's 401 advises signing in to Azure; AZURE_DEVOPS_EXT_PAT cannot help there."""
    _signed_in_az(tmp_path, monkeypatch)
    with FakeResourceManager(token="another-token") as arm:
        api = ArmClient(EntraToken(AzureCli(), RESOURCE_MANAGER), arm.url)
        with pytest.raises(AuthenticationError) as caught:
            api.get("/subscriptions/x/resourcegroups/rg", api_version="2021-04-01")
    message = str(caught.value)
    assert "Azure Resource Manager refused the Azure CLI's sign-in token" in message, message
    assert "az login" in message
    assert "AZURE_DEVOPS_EXT_PAT" not in message and "Project Administrator" not in message
