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
import re

from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import (
    APPROVER,
    EXPECTED_WRITES_FRESH,
    GA,
    PAT,
    PROJECT,
    SLUG,
    Baker,
    assert_fully_provisioned,
    git,
    only,
    rest,
    writes_by_route,
)

# -- the happy path, and running again -------------------------------------


def test_bake_provisions_everything(baker: Baker, fake: FakeAzureDevOps) -> None:
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    assert "Azure DevOps is set up" in run.output, run.output
    assert_fully_provisioned(fake, project)
    # No provisioning code in the project: only its settings file.
    assert not (project / "ops").exists()
    assert not [p for p in project.rglob("*.py") if "mlops_template" in p.read_text()]
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
    # 15 lookups, and one for the CI pipeline's runs (its first run is queued once).
    assert len(fake.requests) <= 16, [f"{r.method} {r.path}" for r in fake.requests]
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
    writes = writes_by_route(fake, lock=False)
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
