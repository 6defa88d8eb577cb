"""The Azure DevOps double (tests/fakes): one behaviour per test, on the routes the tool calls.

Each behaviour is the one Microsoft's REST reference documents for the route (cited in the
double's modules); ``tests/test_fake_routes.py`` checks that these are all the routes.
"""

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


def _policy_body(repo: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    scope = [{"repositoryId": repo["id"], "refName": "refs/heads/main", "matchKind": "exact"}]
    return {
        "isEnabled": enabled,
        "isBlocking": True,
        "type": {"id": MIN_REVIEWERS},
        "settings": {"minimumApproverCount": 1, "scope": scope},
    }


def _check_body(env_id: int, approver: str) -> dict[str, Any]:
    return {
        "type": {"id": APPROVAL, "name": "Approval"},
        "settings": {"approvers": [{"id": approver}], "minRequiredApprovers": 1},
        "resource": {"type": "environment", "id": str(env_id), "name": "production"},
        "timeout": 43200,
    }


def _environment(fake: FakeAzureDevOps, s: requests.Session) -> dict[str, Any]:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/distributedtask/environments"
    return s.post(url, params=V, json={"name": "production"}).json()


def _group_body(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "app-secrets",
        "type": "Vsts",
        "variables": {"appSecret": {"value": "s3cr3t", "isSecret": True}, "region": {"value": "x"}},
        "variableGroupProjectReferences": [
            {"name": "app-secrets", "projectReference": {"id": project["id"], "name": "P"}}
        ],
    }


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _endpoint_body(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "arm",
        "type": "AzureRM",
        "url": "https://management.azure.com/",
        "data": {"creationMode": "Manual", "scopeLevel": "Subscription"},
        "authorization": {
            "scheme": "WorkloadIdentityFederation",
            "parameters": {"tenantid": TENANT, "serviceprincipalid": "app"},
        },
        "serviceEndpointProjectReferences": [
            {"name": "arm", "projectReference": {"id": project["id"], "name": "P"}}
        ],
    }


def _commit(tmp_path: Path, work: Path, text: str) -> None:
    env = _git_env(tmp_path)
    (work / "README.md").write_text(text)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", text], cwd=work, check=True, env=env)


# -- authentication, versions, envelope, routing --------------------------------------------


def test_a_wrong_token_with_suppress_is_401_with_a_basic_challenge(fake: FakeAzureDevOps) -> None:
    answer = requests.get(
        f"{fake.url}/_apis/projects/P",
        params=V,
        auth=("", "wrong"),
        headers={"X-TFS-FedAuthRedirect": "Suppress"},
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_a_wrong_token_without_suppress_is_a_203_sign_in_page(fake: FakeAzureDevOps) -> None:
    answer = requests.get(f"{fake.url}/_apis/projects/P", params=V, auth=("", "wrong"))
    assert answer.status_code == 203
    assert answer.headers["Content-Type"].startswith("text/html") and "Sign in" in answer.text


def test_a_write_without_api_version_is_refused(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    answer = s.post(f"{fake.url}/P/_apis/distributedtask/environments", json={"name": "x"})
    assert answer.status_code == 400
    assert answer.json()["typeKey"] == "VssVersionNotSpecifiedException"


def test_the_api_version_may_ride_in_the_accept_header(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    answer = s.post(
        f"{fake.url}/P/_apis/distributedtask/environments",
        json={"name": "x"},
        headers={"Accept": "application/json;api-version=7.1"},
    )
    assert answer.status_code == 200


def test_a_preview_only_route_refuses_a_ga_version(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    answer = s.get(f"{fake.url}/P/_apis/pipelines/checks/configurations", params=V)
    assert answer.status_code == 400
    assert answer.json()["typeKey"] == "VssInvalidPreviewVersionException"


def test_an_error_has_the_service_error_body(fake: FakeAzureDevOps, s: requests.Session) -> None:
    body = s.get(f"{fake.url}/Nope/_apis/git/repositories/r", params=V).json()
    assert set(body) == {"$id", "innerException", "message", "typeName", "typeKey", "errorCode",
                         "eventId"}  # fmt: skip
    assert body["typeKey"] == "ProjectDoesNotExistWithNameException"
    assert body["message"].startswith("TF200016: The following project does not exist: Nope.")


def test_names_in_paths_are_case_insensitive_and_percent_decoded(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("My Project")
    answer = s.get(f"{fake.url}/my%20project/_APIS/Git/Repositories/MY%20PROJECT", params=V)
    assert answer.json()["name"] == "My Project"


def test_a_route_the_double_lacks_is_404_and_noted(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    answer = s.get(f"{fake.url}/_apis/nothing/here", params=V)
    assert answer.status_code == 404
    assert "was not found or does not implement IController" in answer.text
    assert fake.unrouted == [f"/{fake.organization}/_apis/nothing/here"]


def test_a_method_the_route_lacks_is_405_and_noted(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    answer = s.delete(f"{fake.url}/P/_apis/distributedtask/environments", params=V)
    assert answer.status_code == 405
    assert fake.unrouted == [f"DELETE /{fake.organization}/P/_apis/distributedtask/environments"]


def test_a_list_is_paged_with_a_continuation_token(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/distributedtask/environments"
    for name in ("c", "a", "b"):
        s.post(url, params=V, json={"name": name})
    first = s.get(url, params={**V, "$top": "2"})
    token = first.headers["x-ms-continuationtoken"]
    second = s.get(url, params={**V, "$top": "2", "continuationToken": token})
    assert first.json()["count"] == 2 and second.json()["count"] == 1
    assert "x-ms-continuationtoken" not in second.headers


def test_connection_data_names_the_token_owner(fake: FakeAzureDevOps, s: requests.Session) -> None:
    who = s.get(f"{fake.url}/_apis/connectionData", params=PREVIEW).json()
    assert who["authenticatedUser"]["id"] == fake.owner_id


def test_an_identity_is_found_by_e_mail_case_insensitively(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    approver = fake.add_identity("Alice@Example.com", "Alice")
    found = s.get(
        f"{fake.identity_url}/_apis/identities",
        params={**V, "searchFilter": "General", "filterValue": "alice@example.com"},
    ).json()
    assert [identity["id"] for identity in found["value"]] == [approver]


# -- projects --------------------------------------------------------------------------------


def _create_project(fake: FakeAzureDevOps, s: requests.Session) -> requests.Response:
    processes = s.get(f"{fake.url}/_apis/process/processes", params=V).json()["value"]
    default = next(p for p in processes if p["isDefault"])
    body = {
        "name": "New",
        "visibility": "private",
        "capabilities": {
            "versioncontrol": {"sourceControlType": "Git"},
            "processTemplate": {"templateTypeId": default["id"]},
        },
    }
    return s.post(f"{fake.url}/_apis/projects", params=V, json=body)


def test_the_default_process_is_basic(fake: FakeAzureDevOps, s: requests.Session) -> None:
    processes = s.get(f"{fake.url}/_apis/process/processes", params=V).json()["value"]
    assert [p["name"] for p in processes if p["isDefault"]] == ["Basic"]


def test_a_project_is_created_by_an_operation_that_succeeds_after_polls(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    created = _create_project(fake, s)
    assert (created.status_code, created.json()["status"]) == (202, "notSet")
    statuses = [s.get(created.json()["url"], params=V).json()["status"] for _ in range(3)]
    assert statuses == ["inProgress", "inProgress", "succeeded"]
    assert s.get(f"{fake.url}/_apis/projects/New", params=V).json()["state"] == "wellFormed"


def test_a_new_project_holds_a_repository_named_like_it(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("New")
    assert s.get(f"{fake.url}/New/_apis/git/repositories/New", params=V).status_code == 200


def test_a_second_project_of_one_name_is_refused(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("New")
    again = _create_project(fake, s)
    assert (again.status_code, again.json()["typeKey"]) == (409, "ProjectAlreadyExistsException")


def test_a_project_being_created_is_create_pending_until_well_formed(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_pending_project("New", reads=3)
    states = [s.get(f"{fake.url}/_apis/projects/New", params=V).json()["state"] for _ in range(3)]
    assert states == ["createPending", "createPending", "wellFormed"]


def test_inside_a_project_being_created_nothing_exists_yet(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_pending_project("New", reads=3)
    answer = s.get(f"{fake.url}/New/_apis/git/repositories/New", params=V)
    assert answer.json()["typeKey"] == "ProjectDoesNotExistWithNameException"


# -- repositories and git --------------------------------------------------------------------


def test_a_second_repository_of_one_name_is_refused(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/git/repositories"
    assert s.post(url, params=V, json={"name": "r"}).status_code == 201
    again = s.post(url, params=V, json={"name": "R"}).json()
    assert again["typeKey"] == "GitRepositoryNameAlreadyExistsException"


def test_an_empty_repository_has_no_default_branch(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    assert "defaultBranch" not in s.get(f"{fake.url}/P/_apis/git/repositories/P", params=V).json()


def test_the_first_push_sets_the_default_branch_and_the_refs(
    fake: FakeAzureDevOps, s: requests.Session, tmp_path: Path
) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    work = _work_repo(tmp_path)
    assert _push(tmp_path, work, _plain_remote(repo), "main").returncode == 0
    got = s.get(f"{fake.url}/P/_apis/git/repositories/P", params=V).json()
    refs = s.get(f"{fake.url}/P/_apis/git/repositories/{repo['id']}/refs",
                 params={**V, "filter": "heads/"}).json()  # fmt: skip
    assert got["defaultBranch"] == "refs/heads/main"
    assert [ref["name"] for ref in refs["value"]] == ["refs/heads/main"]


def test_the_default_branch_can_be_set(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    url = f"{fake.url}/P/_apis/git/repositories/{repo['id']}"
    answer = s.patch(url, params=V, json={"defaultBranch": "refs/heads/main"})
    assert answer.json()["defaultBranch"] == "refs/heads/main"


ZERO = "0" * 40


def _file_push(old: str, ref: str = "refs/locks/x") -> dict[str, Any]:
    change = {"changeType": "add" if old == ZERO else "edit", "item": {"path": "/f.json"},
              "newContent": {"content": "{}", "contentType": "rawText"}}  # fmt: skip
    return {"refUpdates": [{"name": ref, "oldObjectId": old}],
            "commits": [{"comment": "who and when", "changes": [change]}]}  # fmt: skip


def test_a_rest_push_creates_a_ref_only_when_it_is_absent(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/git/repositories/P/pushes"
    first = s.post(url, params=V, json=_file_push(ZERO))
    second = s.post(url, params=V, json=_file_push(ZERO))
    assert first.status_code == 201 and second.status_code == 409
    assert second.json()["message"].startswith("TF401028")
    commit = first.json()["refUpdates"][0]["newObjectId"]
    assert fake.ref_value("P", "P", "refs/locks/x") == commit


def test_a_rest_push_onto_the_refs_value_edits_it(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/git/repositories/P/pushes"
    first = s.post(url, params=V, json=_file_push(ZERO)).json()["refUpdates"][0]["newObjectId"]
    second = s.post(url, params=V, json=_file_push(first))
    assert second.status_code == 201
    assert fake.ref_value("P", "P", "refs/locks/x") == second.json()["refUpdates"][0]["newObjectId"]


def test_update_refs_deletes_a_ref_only_from_its_value(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    commit = fake.add_commit("P", "P", "refs/locks/x", "held", "/f.json")
    url = f"{fake.url}/P/_apis/git/repositories/P/refs"
    stale = s.post(url, params=V, json=[{"name": "refs/locks/x", "oldObjectId": "1" * 40,
                                         "newObjectId": ZERO}]).json()  # fmt: skip
    done = s.post(url, params=V, json=[{"name": "refs/locks/x", "oldObjectId": commit,
                                        "newObjectId": ZERO}]).json()  # fmt: skip
    assert stale["value"][0]["updateStatus"] == "staleOldObjectId"
    assert done["value"][0]["success"] is True
    assert fake.ref_value("P", "P", "refs/locks/x") is None


def test_a_commit_reads_back_with_its_comment(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    commit = fake.add_commit("P", "P", "refs/locks/x", '{"holder": "Ana"}', "/f.json")
    got = s.get(f"{fake.url}/P/_apis/git/repositories/P/commits/{commit}", params=V).json()
    assert got["commitId"] == commit and got["comment"] == '{"holder": "Ana"}'


def test_a_push_with_a_wrong_token_is_refused(fake: FakeAzureDevOps, tmp_path: Path) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    work = _work_repo(tmp_path)
    refused = _push(tmp_path, work, _plain_remote(repo), "main", pat="wrong")
    assert refused.returncode != 0


def test_a_blocking_reviewers_policy_refuses_a_direct_push(
    fake: FakeAzureDevOps, s: requests.Session, tmp_path: Path
) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    work = _work_repo(tmp_path)
    _push(tmp_path, work, _plain_remote(repo), "main")
    s.post(f"{fake.url}/P/_apis/policy/configurations", params=V, json=_policy_body(repo))
    _commit(tmp_path, work, "second")
    refused = _push(tmp_path, work, _plain_remote(repo), "main")
    assert "TF402455: Pushes to this branch are not permitted" in refused.stderr


# -- pipelines -------------------------------------------------------------------------------


def test_a_yaml_pipeline_is_created_in_a_folder(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    created = s.post(f"{fake.url}/P/_apis/pipelines", params=V, json=_pipeline_body(repo))
    listed = s.get(f"{fake.url}/P/_apis/pipelines", params=V).json()["value"]
    assert [(p["id"], p["folder"]) for p in listed] == [(created.json()["id"], "\\")]


def test_a_second_pipeline_of_one_name_in_a_folder_is_refused(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    url = f"{fake.url}/P/_apis/pipelines"
    s.post(url, params=V, json=_pipeline_body(repo))
    again = s.post(url, params=V, json=_pipeline_body(repo, name="CI"))
    assert again.json()["typeKey"] == "DefinitionExistsException"


# -- environments and checks -----------------------------------------------------------------


def test_a_second_environment_of_one_name_is_refused(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    _environment(fake, s)
    url = f"{fake.url}/P/_apis/distributedtask/environments"
    again = s.post(url, params=V, json={"name": "Production"})
    assert (again.status_code, again.json()["typeKey"]) == (409, "EnvironmentExistsException")


def test_an_approval_check_is_listed_by_its_resource(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    env = _environment(fake, s)
    url = f"{fake.url}/P/_apis/pipelines/checks/configurations"
    created = s.post(url, params=PREVIEW, json=_check_body(env["id"], fake.owner_id)).json()
    query = {**PREVIEW, "resourceType": "environment", "resourceId": str(env["id"])}
    assert [c["id"] for c in s.get(url, params=query).json()["value"]] == [created["id"]]


def test_check_settings_are_listed_only_when_expanded(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    env = _environment(fake, s)
    url = f"{fake.url}/P/_apis/pipelines/checks/configurations"
    s.post(url, params=PREVIEW, json=_check_body(env["id"], fake.owner_id))
    query = {**PREVIEW, "resourceType": "environment", "resourceId": str(env["id"])}
    assert "settings" not in s.get(url, params=query).json()["value"][0]
    expanded = s.get(url, params={**query, "$expand": "settings"}).json()["value"][0]
    assert expanded["settings"]["minRequiredApprovers"] == 1


def test_a_second_identical_check_is_accepted(fake: FakeAzureDevOps, s: requests.Session) -> None:
    env = _environment(fake, s)
    url = f"{fake.url}/P/_apis/pipelines/checks/configurations"
    for _ in range(2):
        assert s.post(url, params=PREVIEW, json=_check_body(env["id"], fake.owner_id)).ok
    assert len(fake.checks("P")) == 2  # the service does not refuse it: the tool must not send it


def test_a_check_on_a_missing_environment_is_404(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    url = f"{fake.url}/P/_apis/pipelines/checks/configurations"
    assert s.post(url, params=PREVIEW, json=_check_body(999, fake.owner_id)).status_code == 404


# -- pipeline permissions --------------------------------------------------------------------


def test_pipelines_are_authorized_on_a_resource(fake: FakeAzureDevOps, s: requests.Session) -> None:
    env = _environment(fake, s)
    repo = fake.repositories("P")["P"]
    pipeline = s.post(f"{fake.url}/P/_apis/pipelines", params=V, json=_pipeline_body(repo)).json()
    url = f"{fake.url}/P/_apis/pipelines/pipelinepermissions/environment/{env['id']}"
    assert s.get(url, params=PREVIEW).json()["pipelines"] == []
    body = {"pipelines": [{"id": pipeline["id"], "authorized": True}]}
    assert s.patch(url, params=PREVIEW, json=body).json()["pipelines"][0]["authorized"] is True


def test_an_unknown_pipeline_cannot_be_authorized(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    env = _environment(fake, s)
    url = f"{fake.url}/P/_apis/pipelines/pipelinepermissions/environment/{env['id']}"
    body = {"pipelines": [{"id": 999, "authorized": True}]}
    assert s.patch(url, params=PREVIEW, json=body).status_code == 404


# -- variable groups -------------------------------------------------------------------------


def test_a_secret_variable_reads_back_as_null(fake: FakeAzureDevOps, s: requests.Session) -> None:
    project = fake.add_project("P")
    url = f"{fake.url}/_apis/distributedtask/variablegroups"
    created = s.post(url, params=V, json=_group_body(project))
    assert created.json()["variables"]["appSecret"] == {"value": None, "isSecret": True}
    assert "s3cr3t" not in created.text


def test_a_secret_variable_is_stored(fake: FakeAzureDevOps, s: requests.Session) -> None:
    project = fake.add_project("P")
    s.post(f"{fake.url}/_apis/distributedtask/variablegroups", params=V, json=_group_body(project))
    assert fake.variable_groups("P")["app-secrets"]["variables"]["appSecret"]["value"] == "s3cr3t"


def test_a_second_group_of_one_name_is_refused(fake: FakeAzureDevOps, s: requests.Session) -> None:
    project = fake.add_project("P")
    url = f"{fake.url}/_apis/distributedtask/variablegroups"
    s.post(url, params=V, json=_group_body(project))
    again = s.post(url, params=V, json=_group_body(project)).json()
    assert again["typeKey"] == "VariableGroupExistsException"


def test_a_group_is_found_by_name_in_its_project(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("P")
    body = _group_body(project)
    gid = s.post(f"{fake.url}/_apis/distributedtask/variablegroups", params=V, json=body).json()
    found = s.get(f"{fake.url}/P/_apis/distributedtask/variablegroups",
                  params={**V, "groupName": "app-secrets"}).json()  # fmt: skip
    assert [g["id"] for g in found["value"]] == [gid["id"]]


def test_a_replaced_group_keeps_a_secret_sent_as_null(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("P")
    body = _group_body(project)
    gid = s.post(f"{fake.url}/_apis/distributedtask/variablegroups", params=V, json=body).json()
    body["variables"]["appSecret"]["value"] = None
    body["variables"]["region"]["value"] = "y"
    s.put(f"{fake.url}/_apis/distributedtask/variablegroups/{gid['id']}", params=V, json=body)
    stored = fake.variable_groups("P")["app-secrets"]["variables"]
    assert (stored["appSecret"]["value"], stored["region"]["value"]) == ("s3cr3t", "y")


# -- service connections ---------------------------------------------------------------------


def test_a_federated_connection_gets_its_issuer_and_subject(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("P")
    url = f"{fake.url}/_apis/serviceendpoint/endpoints"
    endpoint = s.post(url, params=V, json=_endpoint_body(project)).json()
    parameters = endpoint["authorization"]["parameters"]
    assert parameters["workloadIdentityFederationIssuer"] == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0"
    )
    assert parameters["workloadIdentityFederationSubject"].endswith(endpoint["id"])


def test_a_second_connection_of_one_name_is_refused(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    project = fake.add_project("P")
    url = f"{fake.url}/_apis/serviceendpoint/endpoints"
    s.post(url, params=V, json=_endpoint_body(project))
    assert s.post(url, params=V, json=_endpoint_body(project)).status_code == 409


def test_a_connection_is_found_by_name(fake: FakeAzureDevOps, s: requests.Session) -> None:
    project = fake.add_project("P")
    body = _endpoint_body(project)
    created = s.post(f"{fake.url}/_apis/serviceendpoint/endpoints", params=V, json=body).json()
    found = s.get(f"{fake.url}/P/_apis/serviceendpoint/endpoints",
                  params={**V, "endpointNames": "ARM"}).json()  # fmt: skip
    assert [e["id"] for e in found["value"]] == [created["id"]]


# -- branch policies -------------------------------------------------------------------------


def test_a_policy_is_listed_for_its_repository_and_branch(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    url = f"{fake.url}/P/_apis/policy/configurations"
    created = s.post(url, params=V, json=_policy_body(repo)).json()
    found = s.get(
        f"{fake.url}/P/_apis/git/policy/configurations",
        params={**V, "repositoryId": repo["id"], "refName": "refs/heads/main"},
    ).json()
    assert [p["id"] for p in found["value"]] == [created["id"]]


def test_a_second_identical_policy_is_accepted(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    url = f"{fake.url}/P/_apis/policy/configurations"
    for _ in range(2):
        assert s.post(url, params=V, json=_policy_body(repo)).ok
    assert len(fake.policies("P")) == 2  # the service does not refuse it: the tool must not send it


# -- faults and recording --------------------------------------------------------------------


def test_an_injected_429_carries_retry_after_and_rate_limit_headers(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.inject(429, path_contains="connectionData", retry_after=2)
    blocked = s.get(f"{fake.url}/_apis/connectionData", params=PREVIEW)
    assert (blocked.status_code, blocked.headers["Retry-After"]) == (429, "2")
    assert blocked.headers["X-RateLimit-Remaining"] == "0"


def test_a_fault_may_skip_matching_requests_first(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.inject(503, method="GET", skip=1, times=1)
    url = f"{fake.url}/_apis/connectionData"
    assert [s.get(url, params=PREVIEW).status_code for _ in range(3)] == [200, 503, 200]


def test_retry_after_may_ride_on_a_success(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.retry_after_on_success(1)
    assert s.get(f"{fake.url}/_apis/connectionData", params=PREVIEW).headers["Retry-After"] == "1"


def test_apply_first_creates_then_fails(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.add_project("P")
    fake.inject(500, method="POST", path_contains="git/repositories", apply_first=True)
    failed = s.post(f"{fake.url}/P/_apis/git/repositories", params=V, json={"name": "r"})
    assert failed.status_code == 500 and "r" in fake.repositories("P")


def test_a_dropped_answer_leaves_the_create_done(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    fake.inject(0, method="POST", path_contains="git/repositories", apply_first=True, drop=True)
    with pytest.raises(requests.ConnectionError):
        s.post(f"{fake.url}/P/_apis/git/repositories", params=V, json={"name": "r"})
    assert "r" in fake.repositories("P")


def test_a_delayed_answer_comes_after_the_delay(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.inject(0, path_contains="connectionData", apply_first=True, delay=0.3)
    start = time.monotonic()
    assert s.get(f"{fake.url}/_apis/connectionData", params=PREVIEW).ok
    assert time.monotonic() - start >= 0.3


def test_a_stale_list_answers_empty_once(fake: FakeAzureDevOps, s: requests.Session) -> None:
    _environment(fake, s)
    fake.stale_lists("distributedtask/environments")
    url = f"{fake.url}/P/_apis/distributedtask/environments"
    assert [s.get(url, params=V).json()["count"] for _ in range(2)] == [0, 1]


def test_a_fault_applies_to_git_too(fake: FakeAzureDevOps, tmp_path: Path) -> None:
    fake.add_project("P")
    repo = fake.repositories("P")["P"]
    fake.inject(503, path_contains="/_git/", retry_after=1)
    work = _work_repo(tmp_path)
    assert _push(tmp_path, work, _plain_remote(repo), "main").returncode != 0


def test_latency_delays_every_answer(fake: FakeAzureDevOps, s: requests.Session) -> None:
    fake.latency = 0.2
    start = time.monotonic()
    s.get(f"{fake.url}/_apis/connectionData", params=PREVIEW)
    assert time.monotonic() - start >= 0.2


def test_the_record_keeps_the_request_but_not_its_authorization(
    fake: FakeAzureDevOps, s: requests.Session
) -> None:
    fake.add_project("P")
    s.post(f"{fake.url}/P/_apis/distributedtask/environments", params=V, json={"name": "e"})
    (recorded,) = fake.requests
    assert (recorded.method, recorded.status, recorded.is_write) == ("POST", 200, True)
    assert recorded.path == "/contoso/P/_apis/distributedtask/environments"
    assert recorded.query == {"api-version": "7.1"} and recorded.json() == {"name": "e"}
    assert "authorization" not in {k.lower() for k in recorded.headers}
    assert PAT not in repr(recorded)


def test_seeding_is_not_recorded(fake: FakeAzureDevOps) -> None:
    fake.add_project("P")
    assert fake.requests == []
