"""The plan's decisions, table-driven: a pure function of the state and the settings (no HTTP)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mlops_template.actions import Action
from mlops_template.apply import Apply
from mlops_template.bodies import MIN_REVIEWERS_POLICY
from mlops_template.lookup import AzureState, Branch, State
from mlops_template.plan import POLICY_TYPE, Verb, make_plan
from mlops_template.settings import Names, Pipeline, Settings

NAMES = Names(
    slug="churn",
    ci_pipeline=Pipeline("churn-ci", "pipelines/ci.yml"),
    model_build_pipeline=Pipeline("churn-model-build", "pipelines/model-build.yml"),
    release_pipeline=Pipeline("churn-release", "pipelines/release.yml"),
    qa_environment="churn-qa",
    prod_environment="churn-prod",
    variable_group="churn-settings",
    service_connection="churn-azure",
)
SETTINGS = Settings(
    organization_url="https://dev.azure.com/contoso",
    project="ML",
    repository="churn",
    project_dir=Path("/projects/churn"),
    names=NAMES,
    azure_subscription_id="s",
    azure_tenant_id="t",
    azure_client_id="c",
    variables={"AZUREML_WORKSPACE": "ws"},
)
PROJECT = {"id": "p1", "name": "ML"}
REPO = {
    "id": "r1",
    "name": "churn",
    "project": PROJECT,
    "remoteUrl": "https://x/_git/churn",
    "defaultBranch": "refs/heads/main",
}
PIPELINES = {"churn-ci": {"id": 1}, "churn-model-build": {"id": 2}, "churn-release": {"id": 3}}
ENVIRONMENTS = {"churn-qa": {"id": 10}, "churn-prod": {"id": 11}}
GROUP = {"id": 20, "variables": {"AZUREML_WORKSPACE": {"value": "ws"}}}
ENDPOINT = {"id": "e1"}
ALL_PERMISSIONS = {
    ("environment", "10"): {3},
    ("environment", "11"): {3},
    ("variablegroup", "20"): {2, 3},
    ("endpoint", "e1"): {2, 3},
    ("repository", "p1.r1"): {1, 2, 3},
}
POLICIES = {
    "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd": {"id": 1},
    "0609b952-1397-4640-95ec-e00a01b2c241": {"id": 2},
}
COMPLETE = State(
    owner={"id": "o1"},
    project=PROJECT,
    repository=REPO,
    branch=Branch.SAME,
    environments=ENVIRONMENTS,
    approvals={"churn-qa": True, "churn-prod": True},
    variable_group=GROUP,
    endpoint=ENDPOINT,
    pipelines=PIPELINES,
    permissions=ALL_PERMISSIONS,
    policies=POLICIES,
    ci_run={"id": 1},
)
EMPTY = State(owner={"id": "o1"}, project=PROJECT, branch=Branch.ABSENT)


def verbs(state: State, settings: Settings = SETTINGS) -> dict[tuple[str, str], Verb]:
    return {action.key: action.verb for action in make_plan(state, settings).actions}


def test_everything_in_place_means_no_change() -> None:
    plan = make_plan(COMPLETE, SETTINGS)
    assert plan.changes == [] and plan.blockers == []


def test_an_empty_project_gets_everything_created_in_dependency_order() -> None:
    plan = make_plan(EMPTY, SETTINGS)
    assert plan.blockers == []
    changed = {action.key: action for action in plan.changes}
    assert changed[("branch", "main")].verb is Verb.PUSH
    assert ("repository", "churn") in changed[("branch", "main")].needs
    assert ("pipeline", "churn-model-build") in changed[("pipeline", "churn-release")].needs
    assert ("branch", "main") in changed[("pipeline", "churn-ci")].needs
    assert ("environment", "churn-qa") in changed[("approval", "churn-qa")].needs
    assert ("pipeline", "churn-ci") in changed[("branch policy", "build validation")].needs


@pytest.mark.parametrize(
    ("change", "key", "verb"),
    [
        ({"project": None}, ("project", "ML"), Verb.CREATE),
        ({"repository": None, "branch": Branch.ABSENT}, ("repository", "churn"), Verb.CREATE),
        ({"branch": Branch.LOCAL_AHEAD}, ("branch", "main"), Verb.PUSH),
        ({"branch": Branch.REMOTE_AHEAD}, ("branch", "main"), Verb.KEEP),
        ({"repository": {**REPO, "defaultBranch": "refs/heads/dev"}}, ("branch", "main"),
         Verb.UPDATE),
        ({"environments": {"churn-qa": None, "churn-prod": {"id": 11}}},
         ("environment", "churn-qa"), Verb.CREATE),
        ({"approvals": {"churn-qa": True}}, ("approval", "churn-prod"), Verb.CREATE),
        ({"variable_group": None}, ("variable group", "churn-settings"), Verb.CREATE),
        ({"variable_group": {"id": 20, "variables": {}}},
         ("variable group", "churn-settings"), Verb.UPDATE),
        ({"endpoint": None}, ("service connection", "churn-azure"), Verb.CREATE),
        ({"pipelines": {**PIPELINES, "churn-release": None}},
         ("pipeline", "churn-release"), Verb.CREATE),
        ({"permissions": {**ALL_PERMISSIONS, ("environment", "10"): set()}},
         ("permission", "environment churn-qa"), Verb.CREATE),
        ({"permissions": {**ALL_PERMISSIONS, ("repository", "p1.r1"): {1, 2}}},
         ("permission", "repository churn"), Verb.CREATE),
        ({"policies": {}}, ("branch policy", "minimum reviewers"), Verb.CREATE),
        ({"policies": {}}, ("branch policy", "build validation"), Verb.CREATE),
    ],
)  # fmt: skip
def test_what_is_missing_is_what_changes(change: dict, key: tuple[str, str], verb: Verb) -> None:
    assert verbs(replace(COMPLETE, **change))[key] is verb


@pytest.mark.parametrize(
    ("branch", "verb", "blocked", "shown"),
    [
        (Branch.SAME, Verb.EXISTS, False, "up to date"),
        (Branch.ABSENT, Verb.PUSH, False, "not in Azure DevOps yet"),
        (Branch.LOCAL_AHEAD, Verb.PUSH, False, "local commits to push"),
        (Branch.REMOTE_AHEAD, Verb.KEEP, False, "ahead; nothing to push"),
        (Branch.DIVERGED, Verb.MANUAL, True, "diverged"),
        (Branch.FOREIGN, Verb.MANUAL, True, "another history"),
        (Branch.NO_MAIN, Verb.MANUAL, True, "no main branch"),
        (Branch.NO_LOCAL, Verb.MANUAL, True, "no local commit"),
        (Branch.UNKNOWN, Verb.MANUAL, True, "could not compare"),
    ],
)
def test_a_branch_is_up_to_date_only_when_it_is(
    branch: Branch, verb: Verb, blocked: bool, shown: str
) -> None:
    plan = make_plan(replace(COMPLETE, branch=branch), SETTINGS)
    (action,) = [a for a in plan.actions if a.kind == "branch"]
    assert action.verb is verb and shown in action.detail
    assert bool(plan.blockers) is blocked
    assert (action.detail == "up to date") is (branch is Branch.SAME)


def test_a_missing_project_blocks_unless_asked_to_create_it() -> None:
    state = replace(EMPTY, project=None)
    assert "--create-project" in make_plan(state, SETTINGS).blockers[0]
    assert make_plan(state, replace(SETTINGS, create_project=True)).blockers == []


def test_unknown_approvers_block_and_are_named() -> None:
    plan = make_plan(replace(EMPTY, unknown_approvers=["li@contoso.com"]), SETTINGS)
    assert "li@contoso.com" in plan.blockers[0]


def test_without_azure_ids_the_service_connection_is_left_to_a_person() -> None:
    settings = replace(SETTINGS, azure_client_id="")
    found = verbs(replace(COMPLETE, endpoint=None), settings)
    assert found[("service connection", "churn-azure")] is Verb.MANUAL
    assert ("permission", "service connection churn-azure") not in found


def test_secrets_go_to_the_group_as_secrets_and_only_missing_keys_are_added() -> None:
    secret = {"value": "x", "isSecret": True}
    state = replace(COMPLETE, storage_variables={"AZURE_STORAGE_CONNECTION_STRING": secret})
    plan = make_plan(state, SETTINGS)
    assert plan.variables["AZURE_STORAGE_CONNECTION_STRING"] == {"value": "x", "isSecret": True}
    assert plan.missing_variables == ["AZURE_STORAGE_CONNECTION_STRING"]


def test_the_first_ci_run_is_queued_once_after_everything_else_unless_no_run() -> None:
    plan = make_plan(EMPTY, SETTINGS)
    (first,) = (a for a in plan.changes if a.kind == "first run")
    assert first.name == "churn-ci" and first.verb is Verb.CREATE
    assert {("pipeline", "churn-ci"), ("permission", "repository churn")} <= set(first.needs)
    assert verbs(replace(EMPTY, ci_run={"id": 7}))[("first run", "churn-ci")] is Verb.EXISTS
    assert ("first run", "churn-ci") not in verbs(EMPTY, replace(SETTINGS, first_run=False))


IDENTITY = {"id": "/x/mi", "properties": {"principalId": "pp", "clientId": "cc", "tenantId": "t"}}
WORKSPACE = {"id": "/subscriptions/s/resourceGroups/rg/providers/x/workspaces/ws"}


def azure(**changes: object) -> AzureState:
    found = AzureState("rg", "ws", "churn-pipelines", group={"location": "westeurope"},
                       workspace=WORKSPACE)  # fmt: skip
    for key, value in changes.items():
        setattr(found, key, value)
    return found


def test_the_pipelines_identity_is_created_before_the_connection_and_its_credential() -> None:
    state = replace(EMPTY, endpoint=None, azure=azure())
    plan = make_plan(state, replace(SETTINGS, azure_client_id=""))
    assert plan.blockers == []
    changed = {action.key: action for action in plan.changes}
    identity = ("azure identity", "churn-pipelines")
    assert identity in changed[("service connection", "churn-azure")].needs
    assert {identity, ("service connection", "churn-azure")} <= set(
        changed[("federated credential", "churn-azure-devops")].needs
    )
    assert changed[("role assignment", "AzureML Data Scientist")].needs == (identity,)


def test_an_identity_with_its_credential_and_role_needs_nothing() -> None:
    parameters = {
        "workloadIdentityFederationIssuer": "iss",
        "workloadIdentityFederationSubject": "sub",
    }
    endpoint = {"id": "e1", "authorization": {"parameters": parameters}}
    credential = {"properties": {"issuer": "iss", "subject": "sub"}}
    state = replace(
        COMPLETE,
        endpoint=endpoint,
        azure=azure(identity=IDENTITY, credentials=[credential], has_role=True),
    )
    assert make_plan(state, SETTINGS).changes == []
    other = replace(state, azure=azure(identity=IDENTITY, credentials=[], has_role=True))
    assert verbs(other)[("federated credential", "churn-azure-devops")] is Verb.CREATE


@pytest.mark.parametrize(
    ("missing", "command"),
    [({"group": None, "workspace": None}, "az group create --name rg"),
     ({"workspace": None}, "az ml workspace create --name ws --resource-group rg")],
)  # fmt: skip
def test_a_missing_resource_group_or_workspace_blocks_with_the_command(
    missing: dict, command: str
) -> None:
    plan = make_plan(replace(EMPTY, azure=azure(**missing)), SETTINGS)
    (blocker,) = plan.blockers
    assert command in blocker and "nothing was changed" in blocker


@pytest.mark.parametrize(
    ("given", "has_role", "verb"),
    [(IDENTITY, False, Verb.CREATE), (IDENTITY, True, Verb.EXISTS), (None, False, Verb.MANUAL)],
)  # fmt: skip
def test_a_given_client_id_gets_no_identity_and_its_role_by_object_id_or_by_hand(
    given: dict | None, has_role: bool, verb: Verb
) -> None:
    """--client-id: no identity or federated credential is planned; the role on the workspace
    is given when ARM showed the identity (its object id), else left for a person."""
    state = replace(EMPTY, azure=azure(client_id="cc", given=given, has_role=has_role))
    found = verbs(state)
    assert ("azure identity", "churn-pipelines") not in found
    assert ("federated credential", "churn-azure-devops") not in found
    assert found[("role assignment", "AzureML Data Scientist")] is verb


def test_permission_and_policy_actions_carry_what_apply_acts_on() -> None:
    """A permission action names its resource's action key, a policy action its type id."""
    actions = make_plan(EMPTY, SETTINGS).actions
    keys = {action.key for action in actions}
    permissions = [a for a in actions if a.kind == "permission"]
    assert permissions and all(a.subject in keys for a in permissions)
    policies = {a.subject for a in actions if a.kind == "branch policy"}
    assert policies == {(POLICY_TYPE, type_id) for type_id in POLICIES}


class RecordingDevOps:
    """The two Azure DevOps calls of a permission and a policy action, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def authorize_pipelines(self, kind: str, resource_id: str, ids: set[int]) -> dict:
        self.calls.append(("authorize", kind, resource_id, ids))
        return {}

    def branch_policies(self, repository_id: str, ref: str) -> dict:
        return {}

    def create_branch_policy(self, body: dict) -> dict:
        self.calls.append(("policy", body["type"]["id"]))
        return {"id": 9}


def test_apply_acts_on_an_actions_subject_never_on_its_shown_name() -> None:
    """Apply finds a permission's resource and a policy's type by the action's subject."""
    state = replace(COMPLETE, permissions={}, policies={})
    devops = RecordingDevOps()
    run = Apply(SETTINGS, devops, None, state, make_plan(state, SETTINGS))  # type: ignore[arg-type]
    qa, reviewers = ("environment", "churn-qa"), (POLICY_TYPE, MIN_REVIEWERS_POLICY)
    run._run(Action(Verb.CREATE, "permission", "shown text", subject=qa))
    run._run(Action(Verb.CREATE, "branch policy", "other text", subject=reviewers))
    assert devops.calls == [
        ("authorize", "environment", "10", {3}),
        ("policy", MIN_REVIEWERS_POLICY),
    ]
