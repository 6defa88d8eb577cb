"""Provisioning tests' common parts: the double with a project, the real commands, checks.

``Baker`` runs the real ``cookiecutter`` and ``mlops-template`` commands with
``azure_devops_org_url`` pointing at the loopback double, the token in
``AZURE_DEVOPS_EXT_PAT``, a private HOME and a ``git`` on PATH that records its
command lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from conftest import REPO_ROOT, TEMPLATE_DIR
from fakes.azure_devops import FakeAzureDevOps
from rest_specs import check_request

PAT = "fakepat0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
PROJECT = "ML Platform"  # a space, as real project names often have
SLUG = "churn-model"
APPROVER = "ana@contoso.com"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
TENANT = "66666666-7777-8888-9999-000000000000"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
GA = {"api-version": "7.1"}
# A generated project's azure-devops.json (its names as the template renders them).
SETTINGS = {
    "organization_url": "",
    "project": "ML Platform",
    "repository": "churn-model",
    "pipelines": {
        "ci": {"name": "churn-model-ci", "yaml": "pipelines/ci.yml"},
        "model_build": {"name": "churn-model-model-build", "yaml": "pipelines/model-build.yml"},
        "release": {"name": "churn-model-release", "yaml": "pipelines/release.yml"},
    },
    "environments": {"qa": "churn-model-qa", "prod": "churn-model-prod"},
    "variable_group": "churn-model-settings",
    "service_connection": "churn-model-azure",
    "variables": {"AZUREML_WORKSPACE": "ws"},
}


def write_settings(folder: Path, **changes: object) -> Path:
    """``folder/azure-devops.json`` from SETTINGS and ``changes``; returns its path."""
    path = folder / "azure-devops.json"
    path.write_text(json.dumps({**SETTINGS, **changes}), encoding="utf-8")
    return path


# The template's storage credential table, and where a project holds it (module "churn").
STORAGE_TABLE = (
    TEMPLATE_DIR
    / "src"
    / "{{cookiecutter.module_name}}"
    / "data_ingestion"
    / "storage_credentials.json"
)
STORAGE_KEYS = json.loads(STORAGE_TABLE.read_text(encoding="utf-8"))["keys"]


def write_storage_table(folder: Path) -> Path:
    """The template's storage table at ``folder/src/churn/data_ingestion/``; returns its path."""
    path = folder / "src" / "churn" / "data_ingestion" / STORAGE_TABLE.name
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STORAGE_TABLE, path)
    return path


# Upper bound on write requests of a fresh provisioning (the benchmark's target).
EXPECTED_WRITES_FRESH = 30


@dataclass
class Run:
    """One command run: its exit code and everything it printed."""

    returncode: int
    output: str


# Requests Microsoft publishes no spec for: (method, the path's end). Location service's
# connectionData (who the token belongs to) has a documented client but no REST spec route.
UNPUBLISHED = {("GET", "/_apis/connectionData")}
# ARM's asynchronous pattern: URLs ARM itself hands out in ``Location`` / ``Azure-AsyncOperation``
# and the client polls as given ("Track asynchronous Azure operations",
# https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations); no
# spec defines them as routes.
ASYNC_STATUS = ("/operationresults/", "/operationstatuses/")


def nonconforming(service: str, requests: list) -> dict[str, list[str]]:
    """Each REST request (git's smart HTTP aside) that breaks Microsoft's published spec.

    ``service``: ``"azure-devops"`` or ``"arm"`` (see ``rest_specs.check_request``).
    """
    found = {}
    for r in requests:
        if service == "azure-devops" and ("/_apis/" not in r.path or "/_git/" in r.path):
            continue
        if any(r.method == m and r.path.endswith(end) for m, end in UNPUBLISHED):
            continue
        if r.method == "GET" and any(part in r.path.lower() for part in ASYNC_STATUS):
            continue
        problems = check_request(service, r.method, r.path, r.query, r.json())
        if problems:
            found[f"{r.method} {r.path}"] = problems
    return found


def started_fake(tmp_path: Path, *, project: bool = True) -> Iterator[FakeAzureDevOps]:
    """The double with the project (unless not asked), an approver and nothing else.

    Afterwards, every request the test sent it is checked against the published specs.
    """
    with FakeAzureDevOps(tmp_path / "fake", pat=PAT, organization="contoso") as double:
        if project:
            double.add_project(PROJECT)
        double.add_identity(APPROVER, "Ana")
        yield double
        assert not double.unrouted, f"the tool called routes the double lacks: {double.unrouted}"
        assert nonconforming("azure-devops", double.requests) == {}


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

    def start(self, project: Path, *args: str) -> subprocess.Popen:
        """``mlops-template provision`` started in the background (its output in a pipe)."""
        command = [str(Path(sys.executable).with_name("mlops-template")), "provision", *args]
        return subprocess.Popen(
            command, cwd=project, env=self.env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip

    def shell(self, command: str, pat: str | None = PAT, cwd: Path | None = None) -> Run:
        """A command line as printed to the user, run by the shell."""
        return self._run(["/bin/sh", "-c", command], cwd=cwd or self.tmp_path, pat=pat)

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


def checks_per_environment(fake: FakeAzureDevOps) -> dict[str, int]:
    """How many Approval checks each environment has."""
    environments = fake.environments(PROJECT)
    checks = list(fake.checks(PROJECT).values())
    return {
        name: sum(
            c["resource"]["type"] == "environment" and str(c["resource"]["id"]) == str(env["id"])
            for c in checks
        )
        for name, env in environments.items()
    }


def policies_per_type(fake: FakeAzureDevOps) -> dict[str, int]:
    """How many branch policies of each type there are."""
    counts: dict[str, int] = {}
    for policy in fake.policies(PROJECT).values():
        counts[policy["type"]["id"]] = counts.get(policy["type"]["id"], 0) + 1
    return counts


def writes_by_route(fake: FakeAzureDevOps, *, lock: bool = True) -> list[str]:
    """``METHOD path`` of each write; ``lock=False``: without taking and releasing the
    project's lock (its push and ref update in the repository)."""
    return [
        f"{r.method} {r.path.split('?')[0]}"
        for r in fake.writes
        if lock or not (r.method == "POST" and r.path.endswith(("/pushes", "/refs")))
    ]


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


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzureDevOps]:
    """The double with the project and an approver."""
    yield from started_fake(tmp_path)


@pytest.fixture
def baker(tmp_path: Path, fake: FakeAzureDevOps) -> Baker:
    """Runs cookiecutter and mlops-template against ``fake``."""
    return Baker(tmp_path, fake)
