"""The Azure DevOps double (tests/fakes) behaves like the reference says Azure DevOps does."""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fakes import FakeAzureDevOps

PAT = "fake-pat-0123456789abcdef"
V = {"api-version": "7.1"}
PREVIEW = {"api-version": "7.1-preview.1"}
APPROVAL = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzureDevOps]:
    with FakeAzureDevOps(tmp_path / "ado", pat=PAT) as double:
        yield double


@pytest.fixture
def s() -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = ("", PAT)
    session.headers.update({"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress"})
    yield session
    session.close()


def _git_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="T",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="T",
        GIT_COMMITTER_EMAIL="t@example.com",
        HOME=str(tmp_path),
    )
    return env


def _work_repo(tmp_path: Path, name: str = "work") -> Path:
    work = tmp_path / name
    env = _git_env(tmp_path)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "azure-pipelines.yml").write_text("trigger: none\nsteps:\n  - script: echo hi\n")
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "first"], cwd=work, check=True, env=env)
    return work


def _push(
    tmp_path: Path, work: Path, remote: str, *refspecs: str, pat: str = PAT
) -> subprocess.CompletedProcess[str]:
    header = "Authorization: Basic " + base64.b64encode(f":{pat}".encode()).decode()
    return subprocess.run(
        ["git", "-c", f"http.extraHeader={header}", "push", remote, *refspecs],
        cwd=work,
        env=_git_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _plain_remote(repo: dict[str, Any]) -> str:
    """remoteUrl without its userinfo (what a header-auth client should push to)."""
    scheme, rest = repo["remoteUrl"].split("://", 1)
    return f"{scheme}://{rest.split('@', 1)[1]}"


def _commit(tmp_path: Path, work: Path, text: str) -> None:
    env = _git_env(tmp_path)
    (work / "README.md").write_text(text)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", text], cwd=work, check=True, env=env)


# --------------------------------------------------------------------------------------------
# protocol
# --------------------------------------------------------------------------------------------


def test_bad_pat_is_401_with_suppress_and_203_sign_in_page_without(
    fake: FakeAzureDevOps,
) -> None:
    url = f"{fake.url}/_apis/projects"
    suppressed = requests.get(
        url, params=V, auth=("", "wrong"), headers={"X-TFS-FedAuthRedirect": "Suppress"}
    )
    assert suppressed.status_code == 401
    assert suppressed.headers["WWW-Authenticate"].startswith("Basic realm=")
    redirected = requests.get(url, params=V, auth=("", "wrong"))
    assert redirected.status_code == 203
    assert redirected.headers["Content-Type"].startswith("text/html")
    assert "Sign in" in redirected.text
    assert requests.get(url, params=V).status_code == 203  # no Authorization at all


def test_api_version_rules(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    missing = s.post(f"{fake.url}/P/_apis/distributedtask/environments", json={"name": "x"})
    assert missing.status_code == 400
    assert missing.json()["typeKey"] == "VssVersionNotSpecifiedException"
    assert 'No api-version was supplied for the "POST" request' in missing.json()["message"]
    ga_on_preview = s.get(f"{fake.url}/P/_apis/pipelines/checks/configurations", params=V)
    assert ga_on_preview.status_code == 400
    assert ga_on_preview.json()["typeKey"] == "VssInvalidPreviewVersionException"
    assert (
        'The requested version "7.1" of the resource is under preview'
        in (ga_on_preview.json()["message"])
    )
    assert s.get(f"{fake.url}/_apis/connectionData", params=V).status_code == 400
    ok = s.get(f"{fake.url}/P/_apis/pipelines/checks/configurations", params=PREVIEW)
    assert ok.status_code == 200
    # the version may ride in the Accept header instead
    via_accept = s.post(
        f"{fake.url}/P/_apis/distributedtask/environments",
        json={"name": "x"},
        headers={"Accept": "application/json;api-version=7.1"},
    )
    assert via_accept.status_code == 200
    assert s.get(f"{fake.url}/_apis/projects").status_code == 200  # GET needs none


def test_envelope_error_shape_headers_and_routing(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("My Project", description="d")
    listed = s.get(f"{fake.url}/_apis/projects", params=V)
    assert listed.headers["Content-Type"] == "application/json; charset=utf-8; api-version=7.1"
    assert listed.headers["ActivityId"]
    assert listed.headers["X-VSS-UserData"] == f"{fake.owner_id}:{fake.owner_email}"
    assert listed.json()["count"] == 1
    assert listed.json()["value"][0]["name"] == "My Project"
    # names case-insensitive and %-decoded, ids too, paths case-insensitive
    by_name = s.get(f"{fake.url}/my%20project/_APIS/Git/Repositories", params=V)
    by_id = s.get(f"{fake.url}/{project['id']}/_apis/git/repositories", params=V)
    assert by_name.json() == by_id.json()
    assert by_name.json()["value"][0]["name"] == "My Project"  # the project's default repo
    missing = s.get(f"{fake.url}/Nope/_apis/git/repositories", params=V)
    assert missing.status_code == 404
    body = missing.json()
    assert set(body) == {
        "$id",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    }
    assert body["typeKey"] == "ProjectDoesNotExistWithNameException"
    assert body["message"].startswith("TF200016: The following project does not exist: Nope.")
    unknown = s.get(f"{fake.url}/_apis/nothing/here", params=V)
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith("text/plain")
    assert "was not found or does not implement IController" in unknown.text
    repo = s.get(f"{fake.url}/My%20Project/_apis/git/repositories/nope", params=V)
    assert repo.json()["typeKey"] == "GitRepositoryNotFoundException"
    who = s.get(f"{fake.url}/_apis/connectionData", params=PREVIEW).json()
    assert who["authenticatedUser"]["id"] == fake.owner_id
    assert who["authenticatedUser"]["properties"]["Account"]["$value"] == fake.owner_email


def test_project_create_polls_operation(fake: FakeAzureDevOps, s: requests.Session) -> None:
    processes = s.get(f"{fake.url}/_apis/process/processes", params=V).json()["value"]
    default = next(p for p in processes if p["isDefault"])
    assert default["name"] == "Basic"
    body = {
        "name": "New",
        "description": "x",
        "visibility": "private",
        "capabilities": {
            "versioncontrol": {"sourceControlType": "Git"},
            "processTemplate": {"templateTypeId": default["id"]},
        },
    }
    created = s.post(f"{fake.url}/_apis/projects", params=V, json=body)
    assert created.status_code == 202
    assert created.json()["status"] == "notSet"
    assert s.get(f"{fake.url}/_apis/projects/New", params=V).status_code == 404
    statuses = [s.get(created.json()["url"], params=V).json()["status"] for _ in range(3)]
    assert statuses == ["inProgress", "inProgress", "succeeded"]
    project = s.get(f"{fake.url}/_apis/projects/New", params=V).json()
    assert project["state"] == "wellFormed"
    repos = s.get(f"{fake.url}/New/_apis/git/repositories", params=V).json()
    assert [r["name"] for r in repos["value"]] == ["New"]
    again = s.post(f"{fake.url}/_apis/projects", params=V, json=body)
    assert again.status_code == 409
    assert again.json()["typeKey"] == "ProjectAlreadyExistsException"


def test_paging_with_continuation_token(fake: FakeAzureDevOps, s: requests.Session) -> None:
    for name in ("c", "a", "b"):
        fake.add_project(name)
    names, token, pages = [], None, 0
    while True:
        params = {**V, "$top": "2", **({"continuationToken": token} if token else {})}
        page = s.get(f"{fake.url}/_apis/projects", params=params)
        names += [p["name"] for p in page.json()["value"]]
        pages += 1
        token = page.headers.get("x-ms-continuationtoken")
        if not token:
            break
    assert (names, pages) == (["a", "b", "c"], 2)


# --------------------------------------------------------------------------------------------
# repositories and git
# --------------------------------------------------------------------------------------------


def test_repo_create_then_conflict_and_default_branch_after_push(
    fake: FakeAzureDevOps, s: requests.Session, tmp_path: Path
) -> None:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/git/repositories"
    created = s.post(url, params=V, json={"name": "svc one"})
    assert created.status_code == 201
    repo = created.json()
    assert "defaultBranch" not in repo
    assert repo["remoteUrl"] == (f"http://contoso@127.0.0.1:{fake.port}/contoso/P/_git/svc%20one")
    dup = s.post(url, params=V, json={"name": "SVC ONE"})
    assert dup.status_code == 409
    assert dup.json()["typeKey"] == "GitRepositoryNameAlreadyExistsException"
    assert dup.json()["message"].startswith("TF400948: A Git repository with the name")

    work = _work_repo(tmp_path)
    pushed = _push(tmp_path, work, _plain_remote(repo), "main")
    assert pushed.returncode == 0, pushed.stderr
    assert "[new branch]      main -> main" in pushed.stderr
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.strip()
    after = s.get(f"{url}/svc%20one", params=V).json()
    assert after["defaultBranch"] == "refs/heads/main"
    refs = s.get(f"{url}/{repo['id']}/refs", params={**V, "filter": "heads/main"}).json()
    assert refs["count"] == 1
    assert refs["value"][0]["name"] == "refs/heads/main"
    assert refs["value"][0]["objectId"] == head
    bare_head = subprocess.run(
        ["git", "symbolic-ref", "HEAD"],
        cwd=fake.bare_repo("P", "svc one"),
        capture_output=True,
        text=True,
        env=_git_env(tmp_path),
    )
    assert bare_head.stdout.strip() == "refs/heads/main"
    patched = s.patch(f"{url}/{repo['id']}", params=V, json={"defaultBranch": "refs/heads/main"})
    assert patched.status_code == 200
    git_requests = [r for r in fake.requests if "/_git/" in r.path]
    assert any(r.path.endswith("/git-receive-pack") and r.is_write for r in git_requests)
    assert all("Authorization" not in r.headers for r in git_requests)
    assert s.delete(f"{url}/{repo['id']}", params=V).status_code == 204


def test_push_with_wrong_pat_fails(
    fake: FakeAzureDevOps, s: requests.Session, tmp_path: Path
) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    work = _work_repo(tmp_path)
    pushed = _push(tmp_path, work, _plain_remote(repo), "main", pat="wrong")
    assert pushed.returncode != 0
    assert "terminal prompts disabled" in pushed.stderr or "401" in pushed.stderr
    info = requests.get(f"{_plain_remote(repo)}/info/refs?service=git-receive-pack")
    assert info.status_code == 401  # git routes: 401 even without Suppress
    assert "WWW-Authenticate" in info.headers


def test_blocking_policy_rejects_direct_push(
    fake: FakeAzureDevOps, s: requests.Session, tmp_path: Path
) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    work = _work_repo(tmp_path)
    assert _push(tmp_path, work, _plain_remote(repo), "main").returncode == 0
    policy = {
        "isEnabled": True,
        "isBlocking": True,
        "type": {"id": MIN_REVIEWERS},
        "settings": {
            "minimumApproverCount": 1,
            "scope": [
                {"repositoryId": repo["id"], "refName": "refs/heads/main", "matchKind": "exact"}
            ],
        },
    }
    created = s.post(f"{fake.url}/P/_apis/policy/configurations", params=V, json=policy)
    assert created.status_code == 200
    assert created.json()["revision"] == 1
    assert created.json()["settings"]["scope"][0]["matchKind"] == "Exact"
    found = s.get(
        f"{fake.url}/P/_apis/git/policy/configurations",
        params={
            **V,
            "repositoryId": repo["id"],
            "refName": "refs/heads/main",
            "policyType": MIN_REVIEWERS,
        },
    ).json()
    assert [p["id"] for p in found["value"]] == [created.json()["id"]]
    _commit(tmp_path, work, "second")
    rejected = _push(tmp_path, work, _plain_remote(repo), "main")
    assert rejected.returncode != 0
    assert (
        "! [remote rejected] main -> main (TF402455: Pushes to this branch are not permitted"
        in (rejected.stderr)
    )
    # other branches still take pushes; disabling the policy lifts the block
    assert _push(tmp_path, work, _plain_remote(repo), "main:feature").returncode == 0
    policy["isEnabled"] = False
    updated = s.put(
        f"{fake.url}/P/_apis/policy/configurations/{created.json()['id']}", params=V, json=policy
    )
    assert updated.json()["revision"] == 2
    assert _push(tmp_path, work, _plain_remote(repo), "main").returncode == 0


# --------------------------------------------------------------------------------------------
# pipelines, environments, checks, variable groups, endpoints, permissions, identities
# --------------------------------------------------------------------------------------------


def _pipeline_body(repo: dict[str, Any], name: str = "ci", folder: str = "\\") -> dict[str, Any]:
    return {
        "name": name,
        "folder": folder,
        "configuration": {
            "type": "yaml",
            "path": "/azure-pipelines.yml",
            "repository": {"id": repo["id"], "name": repo["name"], "type": "azureReposGit"},
        },
    }


def test_pipelines(fake: FakeAzureDevOps, s: requests.Session, tmp_path: Path) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    url = f"{fake.url}/P/_apis/pipelines"
    created = s.post(url, params=V, json=_pipeline_body(repo))
    assert created.status_code == 200
    pipeline = created.json()
    assert pipeline["folder"] == "\\"
    assert pipeline["configuration"]["path"] == "/azure-pipelines.yml"
    dup = s.post(url, params=V, json=_pipeline_body(repo, name="CI"))
    assert dup.status_code == 400
    assert dup.json()["typeKey"] == "DefinitionExistsException"
    assert dup.json()["message"] == "Build pipeline CI already exists for project P."
    assert s.post(url, params=V, json=_pipeline_body(repo, folder="\\x")).status_code == 200
    no_path = _pipeline_body(repo, name="np")
    del no_path["configuration"]["path"]
    assert "Parameter name: Path" in s.post(url, params=V, json=no_path).json()["message"]
    designer = _pipeline_body(repo, name="d")
    designer["configuration"]["type"] = "designerJson"
    assert s.post(url, params=V, json=designer).json()["typeKey"] == (
        "UnsupportedConfigurationTypeException"
    )
    defs = s.get(f"{fake.url}/P/_apis/build/definitions", params={**V, "name": "ci", "path": "\\"})
    assert [d["id"] for d in defs.json()["value"]] == [pipeline["id"]]
    # preview: yaml from the override, or 400
    preview = f"{url}/{pipeline['id']}/preview"
    good = s.post(preview, params=V, json={"previewRun": True, "yamlOverride": "steps:\n- x: 1\n"})
    assert good.status_code == 200
    assert "steps:" in good.json()["finalYaml"]
    bad = s.post(preview, params=V, json={"previewRun": True, "yamlOverride": "steps: [\n"})
    assert bad.status_code == 400
    assert bad.json()["typeKey"] == "PipelineValidationException"
    assert "(Line: " in bad.json()["message"]
    override = s.post(f"{url}/{pipeline['id']}/runs", params=V, json={"yamlOverride": "a: 1"})
    assert "allowed only for dry run builds" in override.json()["message"]
    assert [r.path.endswith("/preview") for r in fake.writes].count(True) == 0
    run = s.post(f"{url}/{pipeline['id']}/runs", params=V, json={})
    assert run.json()["state"] == "inProgress"
    got = s.get(f"{url}/{pipeline['id']}/runs/{run.json()['id']}", params=V)
    assert got.json()["id"] == run.json()["id"]
    queues = s.get(f"{fake.url}/P/_apis/distributedtask/queues", params=V).json()
    assert queues["value"][0]["name"] == "Azure Pipelines"


def test_environment_checks_and_permissions(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    envs = f"{fake.url}/P/_apis/distributedtask/environments"
    env = s.post(envs, params=V, json={"name": "production", "description": "Prod"})
    assert env.status_code == 200
    assert isinstance(env.json()["id"], int)
    dup = s.post(envs, params=V, json={"name": "Production"})
    assert dup.status_code == 409
    assert dup.json()["typeKey"] == "EnvironmentExistsException"
    listed = s.get(envs, params={**V, "name": "PRODUCTION"}).json()
    assert [e["id"] for e in listed["value"]] == [env.json()["id"]]

    approver = fake.add_identity("Alice@Example.com", "Alice")
    found = s.get(
        f"{fake.identity_url}/_apis/identities",
        params={**V, "searchFilter": "General", "filterValue": "alice@example.com"},
    ).json()
    assert found["count"] == 1
    assert found["value"][0]["id"] == approver
    nobody = s.get(
        f"{fake.identity_url}/_apis/identities",
        params={**V, "searchFilter": "General", "filterValue": "nobody@example.com"},
    ).json()
    assert nobody == {"count": 0, "value": []}

    checks = f"{fake.url}/P/_apis/pipelines/checks/configurations"
    check = {
        "type": {"id": APPROVAL, "name": "Approval"},
        "settings": {"approvers": [{"id": approver}], "minRequiredApprovers": 1},
        "resource": {"type": "environment", "id": str(env.json()["id"]), "name": "production"},
        "timeout": 43200,
    }
    created = s.post(checks, params=PREVIEW, json=check)
    assert created.status_code == 200
    assert created.json()["settings"]["approvers"][0]["id"] == approver
    query = {**PREVIEW, "resourceType": "environment", "resourceId": str(env.json()["id"])}
    assert "settings" not in s.get(checks, params=query).json()["value"][0]
    expanded = s.get(checks, params={**query, "$expand": "settings"}).json()["value"][0]
    assert expanded["settings"]["minRequiredApprovers"] == 1
    missing = dict(check, resource={"type": "environment", "id": "999"})
    assert s.post(checks, params=PREVIEW, json=missing).status_code == 404

    pipeline = s.post(f"{fake.url}/P/_apis/pipelines", params=V, json=_pipeline_body(repo)).json()
    perms = f"{fake.url}/P/_apis/pipelines/pipelinepermissions/environment/{env.json()['id']}"
    before = s.get(perms, params=PREVIEW).json()
    assert before["pipelines"] == []
    after = s.patch(
        perms, params=PREVIEW, json={"pipelines": [{"id": pipeline["id"], "authorized": True}]}
    ).json()
    assert after["pipelines"][0]["authorized"] is True
    assert fake.pipeline_permissions("P") == {
        ("environment", str(env.json()["id"])): {pipeline["id"]: True}
    }
    assert s.patch(perms, params=V, json={}).status_code == 400  # preview-only
    unknown = s.patch(perms, params=PREVIEW, json={"pipelines": [{"id": 999, "authorized": True}]})
    assert unknown.status_code == 404


def test_variable_group_secret_is_hidden_but_stored(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("P")
    body = {
        "name": "app-secrets",
        "type": "Vsts",
        "variables": {"appSecret": {"value": "s3cr3t", "isSecret": True}, "region": {"value": "x"}},
        "variableGroupProjectReferences": [
            {"name": "app-secrets", "projectReference": {"id": project["id"], "name": "P"}}
        ],
    }
    created = s.post(f"{fake.url}/_apis/distributedtask/variablegroups", params=V, json=body)
    assert created.status_code == 200
    assert created.json()["variables"]["appSecret"] == {"value": None, "isSecret": True}
    assert "s3cr3t" not in created.text
    assert fake.variable_groups("P")["app-secrets"]["variables"]["appSecret"]["value"] == "s3cr3t"
    dup = s.post(f"{fake.url}/_apis/distributedtask/variablegroups", params=V, json=body)
    assert dup.status_code == 409
    assert dup.json()["typeKey"] == "VariableGroupExistsException"
    found = s.get(
        f"{fake.url}/P/_apis/distributedtask/variablegroups", params={**V, "groupName": "APP-*"}
    ).json()
    assert [g["id"] for g in found["value"]] == [created.json()["id"]]
    body["variables"]["appSecret"]["value"] = None  # re-sent as null: the stored one stays
    body["variables"]["region"]["value"] = "y"
    gid = created.json()["id"]
    put = s.put(f"{fake.url}/_apis/distributedtask/variablegroups/{gid}", params=V, json=body)
    assert put.status_code == 200
    stored = fake.variable_groups("P")["app-secrets"]["variables"]
    assert (stored["appSecret"]["value"], stored["region"]["value"]) == ("s3cr3t", "y")
    delete = f"{fake.url}/_apis/distributedtask/variablegroups/{gid}"
    assert s.delete(delete, params=V).status_code == 400  # projectIds is required
    assert s.delete(delete, params={**V, "projectIds": project["id"]}).status_code == 204
    assert fake.variable_groups("P") == {}


def test_service_endpoint_wif(fake: FakeAzureDevOps, s: requests.Session) -> None:
    project = fake.add_project("P")
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    body = {
        "name": "arm",
        "type": "AzureRM",
        "url": "https://management.azure.com/",
        "data": {"creationMode": "Manual", "scopeLevel": "Subscription"},
        "authorization": {
            "scheme": "WorkloadIdentityFederation",
            "parameters": {"tenantid": tenant, "serviceprincipalid": "app"},
        },
        "serviceEndpointProjectReferences": [
            {"name": "arm", "projectReference": {"id": project["id"], "name": "P"}}
        ],
    }
    url = f"{fake.url}/_apis/serviceendpoint/endpoints"
    created = s.post(url, params=V, json=body)
    assert created.status_code == 200
    endpoint = created.json()
    params = endpoint["authorization"]["parameters"]
    assert params["workloadIdentityFederationIssuer"] == (
        f"https://login.microsoftonline.com/{tenant}/v2.0"
    )
    assert params["workloadIdentityFederationSubject"].startswith("/eid1/c/pub/t/")
    assert params["workloadIdentityFederationSubject"].endswith(endpoint["id"])
    assert endpoint["isReady"] is True
    assert s.post(url, params=V, json=body).status_code == 409
    found = s.get(
        f"{fake.url}/P/_apis/serviceendpoint/endpoints", params={**V, "endpointNames": "ARM"}
    ).json()
    assert [e["id"] for e in found["value"]] == [endpoint["id"]]
    wrong_route = s.post(f"{fake.url}/P/_apis/serviceendpoint/endpoints", params=V, json=body)
    assert wrong_route.status_code == 400


# --------------------------------------------------------------------------------------------
# faults, latency, recording
# --------------------------------------------------------------------------------------------


def test_inject_429_then_success_and_retry_after_on_200(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    fake.inject(429, path_contains="/_apis/projects", retry_after=2)
    blocked = s.get(f"{fake.url}/_apis/projects", params=V)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "2"
    assert blocked.headers["X-RateLimit-Remaining"] == "0"
    assert {"X-RateLimit-Resource", "X-RateLimit-Limit", "X-RateLimit-Reset"} <= set(
        blocked.headers
    )
    assert blocked.json()["message"].startswith("TF400733")
    assert s.get(f"{fake.url}/_apis/projects", params=V).status_code == 200
    fake.inject(503, method="GET", skip=1, times=1)
    assert s.get(f"{fake.url}/_apis/projects", params=V).status_code == 200
    assert s.get(f"{fake.url}/_apis/projects", params=V).status_code == 503
    fake.retry_after_on_success(1)
    assert s.get(f"{fake.url}/_apis/projects", params=V).headers["Retry-After"] == "1"
    assert "Retry-After" not in s.get(f"{fake.url}/_apis/projects", params=V).headers


def test_apply_first_creates_then_fails(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    fake.inject(500, method="POST", path_contains="git/repositories", apply_first=True)
    failed = s.post(f"{fake.url}/P/_apis/git/repositories", params=V, json={"name": "r"})
    assert failed.status_code == 500
    assert "r" in fake.repositories("P")  # the create happened anyway
    again = s.post(f"{fake.url}/P/_apis/git/repositories", params=V, json={"name": "r"})
    assert again.status_code == 409


def test_fault_on_git_route(fake: FakeAzureDevOps, tmp_path: Path) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    fake.inject(503, path_contains="/_git/", retry_after=1)
    work = _work_repo(tmp_path)
    assert _push(tmp_path, work, _plain_remote(repo), "main").returncode != 0
    assert _push(tmp_path, work, _plain_remote(repo), "main").returncode == 0


def test_latency(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.latency = 0.2
    start = time.monotonic()
    s.get(f"{fake.url}/_apis/projects", params=V)
    assert time.monotonic() - start >= 0.2


def test_recording_excludes_authorization_and_never_echoes_pat(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    assert fake.requests == []  # seeding is not recorded
    s.get(f"{fake.url}/_apis/projects", params=V)
    s.post(f"{fake.url}/P/_apis/distributedtask/environments", params=V, json={"name": "e"})
    recorded = fake.requests
    assert [(r.method, r.status, r.is_write) for r in recorded] == [
        ("GET", 200, False),
        ("POST", 200, True),
    ]
    assert recorded[1].path == "/contoso/P/_apis/distributedtask/environments"
    assert recorded[1].query == {"api-version": "7.1"}
    assert recorded[1].json() == {"name": "e"}
    assert all("authorization" not in {k.lower() for k in r.headers} for r in recorded)
    assert [r.method for r in fake.writes] == ["POST"]
    assert PAT not in repr(recorded)
    fake.clear_requests()
    assert fake.requests == []


def test_pushes_api_build_definitions_and_project_delete(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("P")
    repo = fake.repositories("P")["P"]
    content = base64.b64encode(b"\x00bin").decode()
    push = {
        "refUpdates": [{"name": "refs/heads/main", "oldObjectId": "0" * 40}],
        "commits": [
            {
                "comment": "Initial commit.",
                "changes": [
                    {
                        "changeType": "add",
                        "item": {"path": "/azure-pipelines.yml"},
                        "newContent": {
                            "content": "steps:\n- script: echo\n",
                            "contentType": "rawtext",
                        },
                    },
                    {
                        "changeType": "add",
                        "item": {"path": "/bin/x"},
                        "newContent": {"content": content, "contentType": "base64encoded"},
                    },
                ],
            }
        ],
    }
    url = f"{fake.url}/P/_apis/git/repositories/{repo['id']}"
    pushed = s.post(f"{url}/pushes", params=V, json=push)
    assert pushed.status_code == 201
    new = pushed.json()["refUpdates"][0]["newObjectId"]
    assert s.get(url, params=V).json()["defaultBranch"] == "refs/heads/main"
    refs = s.get(f"{url}/refs", params={**V, "filter": "heads/"}).json()["value"]
    assert refs == [{**refs[0], "name": "refs/heads/main", "objectId": new}]
    stale = s.post(f"{url}/pushes", params=V, json=push)  # oldObjectId no longer current
    assert stale.status_code == 409

    definition = {
        "name": "ContosoBuild",
        "path": "\\",
        "queue": {"id": 1},
        "process": {"type": 2, "yamlFilename": "azure-pipelines.yml"},
        "repository": {"id": repo["id"], "name": repo["name"], "type": "TfsGit"},
        "triggers": [{"settingsSourceType": 2, "triggerType": 2}],
    }
    created = s.post(f"{fake.url}/P/_apis/build/definitions", params=V, json=definition)
    assert created.status_code == 200
    pid = created.json()["id"]
    assert fake.pipelines("P")[pid]["configuration"]["path"] == "/azure-pipelines.yml"
    preview = s.post(
        f"{fake.url}/P/_apis/pipelines/{pid}/preview", params=V, json={"previewRun": True}
    )
    assert preview.status_code == 200
    assert "echo" in preview.json()["finalYaml"]  # read from the pushed file

    deleted = s.delete(f"{fake.url}/_apis/projects/{project['id']}", params=V)
    assert deleted.status_code == 202
    assert fake.projects() == {}
