"""Azure DevOps provisioning, end to end: the real cookiecutter command against the double.

Each test bakes with ``azure_devops_org_url`` pointing at the loopback double
(``tests/fakes``), the token in ``AZURE_DEVOPS_EXT_PAT``, a private HOME (so the
replay folder can be inspected) and a ``git`` on PATH that records its
command lines. Then it checks the double's state, its record of requests,
and what the user saw.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from conftest import REPO_ROOT
from fakes.azure_devops import FakeAzureDevOps

PAT = "fakepat0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
PROJECT = "ML Platform"  # a space, as real project names often have
SLUG = "churn-model"
APPROVER = "ana@contoso.com"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
TENANT = "66666666-7777-8888-9999-000000000000"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
GA = {"api-version": "7.1"}
# Upper bound on write requests of a fresh provisioning (the benchmark's target).
EXPECTED_WRITES_FRESH = 30


@dataclass
class Run:
    """One command run: its exit code and everything it printed."""

    returncode: int
    output: str


@pytest.fixture
def fake(tmp_path: Path):
    """The double with the project, an approver and nothing else."""
    with FakeAzureDevOps(tmp_path / "fake", pat=PAT, organization="contoso") as double:
        double.add_project(PROJECT)
        double.add_identity(APPROVER, "Ana")
        yield double


class Baker:
    """Runs the real ``cookiecutter`` and ``mlops-template`` commands."""

    def __init__(self, tmp_path: Path, fake: FakeAzureDevOps) -> None:
        self.tmp_path = tmp_path
        self.fake = fake
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.git_log = tmp_path / "git-argv.log"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "git"
        wrapper.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{self.git_log}"\nexec {shutil.which("git")} "$@"\n'
        )
        wrapper.chmod(0o755)
        self.path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        self.outputs: list[str] = []

    def env(self, pat: str | None = PAT) -> dict[str, str]:
        env = {
            **os.environ,
            "HOME": str(self.home),
            "PATH": self.path,
            "AZURE_DEVOPS_IDENTITY_URL": self.fake.identity_url,
            "GIT_CONFIG_NOSYSTEM": "1",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        env.pop("AZURE_DEVOPS_EXT_PAT", None)
        if pat is not None:
            env["AZURE_DEVOPS_EXT_PAT"] = pat
        return env

    def answers(self, **extra: str) -> dict[str, str]:
        answers = {
            "project_name": "Churn Model",
            "project_slug": SLUG,
            "azure_devops_org_url": self.fake.url,
            "azure_devops_project": PROJECT,
            "release_approvers": APPROVER,
            "azure_subscription_id": SUBSCRIPTION,
            "azure_tenant_id": TENANT,
            "azure_client_id": CLIENT,
        }
        answers.update(extra)
        return answers

    def bake(self, folder: str = "out", pat: str | None = PAT, **extra: str) -> tuple[Run, Path]:
        """Bake through the cookiecutter command line; return the run and the project."""
        out = self.tmp_path / folder
        answers = self.answers(**extra)
        command = [
            str(Path(sys.executable).with_name("cookiecutter")),
            "--no-input",
            "-o",
            str(out),
            str(REPO_ROOT),
            *(f"{key}={value}" for key, value in answers.items()),
        ]
        run = self._run(command, cwd=self.tmp_path, pat=pat)
        return run, out / answers["project_slug"]

    def provision(self, project: Path, *args: str, pat: str | None = PAT) -> Run:
        """``mlops-template provision`` in the project, as a user runs it."""
        command = [str(Path(sys.executable).with_name("mlops-template")), "provision", *args]
        return self._run(command, cwd=project, pat=pat)

    def shell(self, command: str, pat: str | None = PAT) -> Run:
        """A command line as printed to the user, run by the shell."""
        return self._run(["/bin/sh", "-c", command], cwd=self.tmp_path, pat=pat)

    def _run(self, command: list[str], cwd: Path, pat: str | None) -> Run:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=self.env(pat),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        self.outputs.append(output)
        return Run(result.returncode, output)


@pytest.fixture
def baker(tmp_path: Path, fake: FakeAzureDevOps) -> Baker:
    return Baker(tmp_path, fake)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def rest(
    fake: FakeAzureDevOps, path: str, params: dict[str, str] | None = None, *, base: str = ""
) -> dict:
    """GET from the double as a client would (to read state back through the API).

    ``base``: the double's REST base unless given (e.g. its identity base).
    """
    response = requests.get(
        f"{base or fake.url}/{path}",
        params=params or GA,
        auth=("", PAT),
        headers={"X-TFS-FedAuthRedirect": "Suppress"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def only(items: list | dict) -> dict:
    values = list(items.values()) if isinstance(items, dict) else list(items)
    assert len(values) == 1, values
    return values[0]


def writes_by_route(fake: FakeAzureDevOps) -> list[str]:
    return [f"{r.method} {r.path.split('?')[0]}" for r in fake.writes]


def assert_fully_provisioned(
    fake: FakeAzureDevOps, project: Path, *, endpoint: bool = True, subscription: str = SUBSCRIPTION
) -> None:
    """The double holds exactly one of everything, wired as the pipelines need it."""
    repo = fake.repositories(PROJECT)[SLUG]
    bare = fake.bare_repo(PROJECT, SLUG)
    # The remote main is the local HEAD, and it is the default branch.
    assert git(bare, "rev-parse", "refs/heads/main") == git(project, "rev-parse", "HEAD")
    assert (
        rest(fake, f"{PROJECT}/_apis/git/repositories/{SLUG}")["defaultBranch"] == "refs/heads/main"
    )
    # origin is saved without credentials; main tracks it.
    origin = git(project, "remote", "get-url", "origin")
    assert origin.startswith("http://127.0.0.1:") and origin.endswith(f"/_git/{SLUG}"), origin
    assert git(project, "config", "branch.main.remote") == "origin"

    pipelines = {p["name"]: p for p in fake.pipelines(PROJECT).values()}
    assert sorted(pipelines) == sorted(f"{SLUG}-{n}" for n in ("ci", "model-build", "release"))
    for pipeline in pipelines.values():
        configuration = pipeline["configuration"]
        assert configuration["repository"]["id"] == repo["id"]
        path = configuration["path"].lstrip("/")
        git(bare, "cat-file", "-e", f"refs/heads/main:{path}")  # the YAML is on main
    # Upstream first: the release pipeline names the model build as its resource.
    assert pipelines[f"{SLUG}-model-build"]["id"] < pipelines[f"{SLUG}-release"]["id"]

    environments = fake.environments(PROJECT)
    assert sorted(environments) == [f"{SLUG}-prod", f"{SLUG}-qa"]
    checks = list(fake.checks(PROJECT).values())
    for environment in environments.values():
        approvals = [
            c
            for c in checks
            if c["resource"]["type"] == "environment"
            and str(c["resource"]["id"]) == str(environment["id"])
        ]
        assert len(approvals) == 1
        assert approvals[0]["type"]["id"] == "8c6f20a7-a545-4486-9777-f762fafe0d4d"
        assert len(approvals[0]["settings"]["approvers"]) == 1

    group = only(fake.variable_groups(PROJECT))
    assert group["name"] == f"{SLUG}-settings"
    assert group["variables"]["AZURE_SUBSCRIPTION_ID"]["value"] == subscription
    assert {
        "AZUREML_RESOURCE_GROUP",
        "AZUREML_WORKSPACE",
        "TRAINING_COMPUTE",
        "TRAINING_DATA",
    } <= set(group["variables"])

    endpoints = fake.service_endpoints(PROJECT)
    assert len(endpoints) == (1 if endpoint else 0)

    permissions = fake.pipeline_permissions(PROJECT)
    release, model_build, ci = (
        pipelines[f"{SLUG}-{n}"]["id"] for n in ("release", "model-build", "ci")
    )
    for environment in environments.values():
        assert permissions[("environment", str(environment["id"]))].get(release) is True
    for pid in (release, model_build):
        assert permissions[("variablegroup", str(group["id"]))].get(pid) is True
        if endpoint:
            assert permissions[("endpoint", only(endpoints)["id"])].get(pid) is True
    project_id = repo["project"]["id"]
    for pid in (release, model_build, ci):
        assert permissions[("repository", f"{project_id}.{repo['id']}")].get(pid) is True

    policies = list(fake.policies(PROJECT).values())
    by_type = {p["type"]["id"]: p for p in policies}
    assert len(policies) == 2
    reviewers = by_type["fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"]
    build = by_type["0609b952-1397-4640-95ec-e00a01b2c241"]
    assert reviewers["isBlocking"] and reviewers["settings"]["minimumApproverCount"] == 1
    assert build["settings"]["buildDefinitionId"] == ci
    for policy in policies:
        scope = only(policy["settings"]["scope"])
        assert scope["repositoryId"] == repo["id"] and scope["refName"] == "refs/heads/main"


# -- the happy path, and running again -------------------------------------


def test_bake_provisions_everything(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert "Azure DevOps is set up" in run.output, run.output
    assert_fully_provisioned(fake, project)
    approver = next(iter(fake.checks(PROJECT).values()))["settings"]["approvers"][0]["id"]
    identities = rest(
        fake,
        "_apis/identities",
        {"searchFilter": "General", "filterValue": APPROVER, **GA},
        base=fake.identity_url,
    )
    assert approver == identities["value"][0]["id"]
    # The service connection was created for workload identity federation, and
    # the user is told what to do in Entra with its issuer and subject.
    endpoint = only(fake.service_endpoints(PROJECT))
    assert endpoint["authorization"]["scheme"] == "WorkloadIdentityFederation"
    assert endpoint["data"]["creationMode"] == "Manual"
    subject = endpoint["authorization"]["parameters"]["workloadIdentityFederationSubject"]
    assert subject in run.output.replace("\n", "")
    writes = len(fake.writes)
    assert writes <= EXPECTED_WRITES_FRESH, writes_by_route(fake)


def test_provision_again_writes_nothing(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    fake.clear_requests()
    again = baker.provision(project)
    assert again.returncode == 0, again.output
    assert fake.writes == [], writes_by_route(fake)
    assert len(fake.requests) <= 15, [f"{r.method} {r.path}" for r in fake.requests]
    assert_fully_provisioned(fake, project)


def test_dry_run_shows_the_plan_and_writes_nothing(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake(pat=None)
    assert run.returncode == 0 and "no token" in run.output, run.output
    assert fake.requests == []
    dry = baker.provision(project, "--dry-run")
    assert dry.returncode == 0, dry.output
    assert "will create" in dry.output and "nothing was changed" in dry.output
    assert fake.writes == []
    assert fake.pipelines(PROJECT) == {} and fake.environments(PROJECT) == {}


def test_second_bake_of_the_same_answers_is_refused_without_a_push(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, _project = baker.bake()
    assert run.returncode == 0, run.output
    remote_main = git(fake.bare_repo(PROJECT, SLUG), "rev-parse", "refs/heads/main")
    fake.clear_requests()
    second, other = baker.bake(folder="elsewhere")
    assert second.returncode == 0, second.output
    assert "not this project's" in second.output and "nothing was pushed" in second.output
    assert fake.writes == [], writes_by_route(fake)
    assert git(fake.bare_repo(PROJECT, SLUG), "rev-parse", "refs/heads/main") == remote_main
    assert (other / "README.md").exists()  # the new project is kept


def test_secrets_json_becomes_a_secret_variable_that_reads_back_as_null(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake(pat=None)
    assert run.returncode == 0, run.output
    secret = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=x"
    (project / "secrets.json").write_text(json.dumps({"connection_string": secret}))
    done = baker.provision(project)
    assert done.returncode == 0, done.output
    group = only(fake.variable_groups(PROJECT))
    assert group["variables"]["AZURE_STORAGE_CONNECTION_STRING"] == {
        "value": secret,
        "isSecret": True,
    }
    read_back = only(
        rest(
            fake,
            f"{PROJECT}/_apis/distributedtask/variablegroups",
            {"groupName": f"{SLUG}-settings", **GA},
        )["value"]
    )
    assert read_back["variables"]["AZURE_STORAGE_CONNECTION_STRING"] == {
        "value": None,
        "isSecret": True,
    }
    assert secret not in done.output
    assert not any(secret in line for line in git(project, "log", "--all", "-p").splitlines())


# -- failures: a clear message, the project kept, resumable ----------------


def test_bad_token_is_refused_with_the_scopes_needed(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake(pat="not-the-token")
    assert run.returncode == 0
    assert "refused the personal access token" in run.output
    assert "Code (read, write and manage)" in run.output
    assert "To resume" in run.output and "mlops_template provision" in run.output
    assert (project / "README.md").exists()
    assert fake.writes == []


def test_missing_project_is_a_clear_error_unless_asked_to_create_it(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake(azure_devops_project="Nowhere")
    assert run.returncode == 0
    assert "project 'Nowhere' does not exist" in run.output and "--create-project" in run.output
    assert (project / "README.md").exists()
    assert fake.writes == []
    created = baker.provision(project, "--project", "Nowhere", "--create-project")
    assert created.returncode == 0, created.output
    assert "Nowhere" in fake.projects()
    assert len(fake.pipelines("Nowhere")) == 3


def test_a_bake_asked_to_create_the_project_creates_it_and_everything_in_it(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, _project = baker.bake(azure_devops_project="Fresh", azure_devops_create_project="yes")
    assert run.returncode == 0, run.output
    assert "Azure DevOps is set up" in run.output, run.output
    assert fake.projects()["Fresh"]["state"] == "wellFormed"
    assert sorted(fake.environments("Fresh")) == [f"{SLUG}-prod", f"{SLUG}-qa"]
    assert len(fake.pipelines("Fresh")) == 3 and len(fake.policies("Fresh")) == 2


def test_missing_service_connection_says_how_and_a_rerun_finishes(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake(azure_subscription_id="", azure_tenant_id="", azure_client_id="")
    assert run.returncode == 0, run.output
    assert f"Create the service connection '{SLUG}-azure'" in run.output.replace("\n", " ")
    assert_fully_provisioned(fake, project, endpoint=False, subscription="")
    assert baker.provision(project).returncode == 3  # incomplete: the connection is missing
    endpoint = fake.add_service_connection(PROJECT, f"{SLUG}-azure")
    fake.clear_requests()
    done = baker.provision(project)
    assert done.returncode == 0, done.output
    writes = writes_by_route(fake)
    assert len(writes) == 1 and writes[0].startswith("PATCH"), writes
    assert writes[0].endswith(f"pipelinepermissions/endpoint/{endpoint['id']}"), writes
    assert_fully_provisioned(fake, project, subscription="")


def test_unknown_approver_stops_before_anything_is_created(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake(release_approvers="nobody@contoso.com")
    assert run.returncode == 0
    assert "nobody@contoso.com not found" in run.output
    assert fake.writes == []
    assert (project / "README.md").exists()


# -- throttling, server errors, lost answers ---------------------------------


def test_throttling_and_server_errors_are_retried(baker: Baker, fake: FakeAzureDevOps) -> None:
    fake.inject(429, times=2, retry_after=1)
    fake.inject(503, times=3, method="GET", retry_after=0)
    fake.inject(503, times=2, method="PATCH", retry_after=0)
    fake.retry_after_on_success(1, times=1)
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert "Azure DevOps is set up" in run.output, run.output
    assert_fully_provisioned(fake, project)


def test_a_create_whose_answer_is_lost_is_not_sent_twice(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    # The service creates these, then the answer is lost (500 / 503).
    fake.inject(500, times=1, method="POST", path_contains="/pipelines", apply_first=True)
    fake.inject(503, times=1, method="POST", path_contains="environments", apply_first=True)
    fake.inject(503, times=1, method="POST", path_contains="variablegroups", apply_first=True)
    fake.inject(
        500, times=1, method="POST", path_contains="policy/configurations", apply_first=True
    )
    fake.inject(
        500, times=1, method="POST", path_contains="checks/configurations", apply_first=True
    )
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert "Azure DevOps is set up" in run.output, run.output
    assert_fully_provisioned(fake, project)


def test_a_failure_midway_is_finished_by_the_resume_command(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    # Both environments' permission updates fail on every one of their 6 attempts.
    fake.inject(
        500,
        times=12,
        method="PATCH",
        path_contains="pipelinepermissions/environment",
        retry_after=0,
    )
    run, project = baker.bake()
    assert run.returncode == 0
    assert "Azure DevOps setup failed" in run.output and "To resume" in run.output
    assert (project / "README.md").exists()
    # The resume command works as printed (the token from the environment).
    (resume,) = re.findall(r"To resume: (.+)", run.output)
    resumed = baker.shell(resume)
    assert resumed.returncode == 0, resumed.output
    assert_fully_provisioned(fake, project)


# -- the token goes nowhere ----------------------------------------------------


def test_the_token_appears_nowhere(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    baker.provision(project)
    baker.bake(folder="again")
    forms = [
        PAT,
        base64.b64encode(f":{PAT}".encode()).decode(),
        base64.b64encode(PAT.encode()).decode(),
    ]

    def leaks(text: str) -> list[str]:
        return [form for form in forms if form in text]

    for root in (baker.tmp_path / "out", baker.tmp_path / "again", baker.home):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not [f for f in forms if f.encode() in data], path
    assert not leaks((project / ".git" / "config").read_text())
    assert (baker.home / ".cookiecutter_replay").is_dir()
    assert not leaks(baker.git_log.read_text()), "a git command line carried the token"
    assert "push" in baker.git_log.read_text()
    for output in baker.outputs:
        assert not leaks(output)
    for request in fake.requests:
        assert "authorization" not in {key.lower() for key in request.headers}
        assert not leaks(json.dumps(request.headers)) and not leaks(request.body.decode("latin-1"))
        assert not leaks(request.path) and not leaks(json.dumps(request.query))


def test_new_local_commits_meet_the_branch_policy_with_a_clear_message(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    remote_main = git(fake.bare_repo(PROJECT, SLUG), "rev-parse", "refs/heads/main")
    (project / "CHANGELOG.md").write_text("# Changes\n")
    git(project, "add", "CHANGELOG.md")
    git(project, "-c", "user.name=Ana", "-c", "user.email=ana@contoso.com", "commit", "-qm", "log")
    blocked = baker.provision(project)
    assert blocked.returncode == 1
    assert "protected by its branch policies" in blocked.output
    assert "open a pull request" in blocked.output
    assert git(fake.bare_repo(PROJECT, SLUG), "rev-parse", "refs/heads/main") == remote_main
