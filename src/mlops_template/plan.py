"""Decide what to do: a pure function of the looked-up state and the settings.

``make_plan(state, settings)`` sends nothing and reads nothing. Each ``Action`` is a
small value: a ``Verb``, what it is about (kind, name), and the actions it needs done
first (``needs``), which ``apply`` follows. Reasons to change nothing at all are
``blockers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .actions import Action, Key, Verb, exists_or
from .bodies import BUILD_VALIDATION_POLICY, MIN_REVIEWERS_POLICY, Json
from .client import quote
from .git import clean_remote_url, foreign_origin, same_remote
from .identity_plan import identity_actions
from .lookup import Branch, State, pipeline_ids, uses
from .settings import Settings

POLICY_LABELS = {
    MIN_REVIEWERS_POLICY: "minimum reviewers",
    BUILD_VALIDATION_POLICY: "build validation",
}

POLICY_TYPE = "policy type"  # a branch policy action's subject: (POLICY_TYPE, type id)
MAIN = "refs/heads/main"


@dataclass
class Plan:
    """The actions, in display order, and why nothing may be done (if so)."""

    actions: list[Action]
    blockers: list[str] = field(default_factory=list)
    variables: Json = field(default_factory=dict)  # what the variable group should hold
    missing_variables: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Action]:
        """The actions apply carries out."""
        return [action for action in self.actions if action.verb.changes]


def _variables(state: State, settings: Settings) -> tuple[Json, list[str]]:
    """What the group should hold, and which of it the existing group lacks."""
    variables: Json = {key: {"value": value} for key, value in settings.variables.items()}
    deploy = state.azure.deploy if state.azure else None
    if deploy is not None:  # what the tool deploys, for the pipelines (an empty setting only)
        ours = {"TRAINING_COMPUTE": deploy.names.compute}
        if deploy.data_file is not None:
            ours["TRAINING_DATA"] = f"blob:{deploy.blob_name}"
        for key, value in ours.items():
            if not settings.variables.get(key):
                variables[key] = {"value": value}
    for key, entry in state.storage_variables.items():  # from secrets.json, as the table says
        variables[key] = dict(entry)
    if state.variable_group is None:
        return variables, []
    have = {
        key.lower(): (item or {}).get("value")
        for key, item in state.variable_group.get("variables", {}).items()
    }
    # Missing keys, and the tool's own two when still empty (never a value someone set).
    tools = ("TRAINING_COMPUTE", "TRAINING_DATA")
    return variables, [
        key
        for key in variables
        if key.lower() not in have
        or (key in tools and not have[key.lower()] and variables[key].get("value"))
    ]


def _branch(state: State, settings: Settings) -> tuple[Action, str | None]:
    """The branch action, and a blocker when the history cannot be pushed."""
    repo = settings.repository
    needs = (("repository", repo),)
    branch = state.branch
    if branch in (Branch.ABSENT, Branch.LOCAL_AHEAD):
        return Action(Verb.PUSH, "branch", "main", branch.value, needs), None
    if branch is Branch.SAME and (state.repository or {}).get("defaultBranch") != MAIN:
        return Action(Verb.UPDATE, "branch", "main", "make it the default branch", needs), None
    if branch in (Branch.SAME, Branch.REMOTE_AHEAD):
        verb = Verb.EXISTS if branch is Branch.SAME else Verb.KEEP
        return Action(verb, "branch", "main", branch.value), None
    blockers = {
        Branch.NO_LOCAL: f"the project in {settings.project_dir} has no commit on 'main': run "
        "'git init -b main && git add -A && git commit -m \"Initial commit\"' first",
        Branch.DIVERGED: f"'main' in {repo!r} and the local 'main' have diverged; nothing was "
        "pushed. Pull and merge (git pull origin main), then run provision again",
        Branch.FOREIGN: f"repository {repo!r} already holds a history that is not this "
        "project's; nothing was pushed. Use another repository name (--repository), or clone "
        "that repository instead of this project",
        Branch.NO_MAIN: f"repository {repo!r} has commits but no 'main' branch; nothing was "
        "pushed. Use another repository name (--repository), or create 'main' there",
        Branch.UNKNOWN: f"could not compare with {repo!r}: {state.branch_problem}",
    }
    return Action(Verb.MANUAL, "branch", "main", branch.value), blockers[branch]


def remote_url(state: State, settings: Settings) -> str:
    """The repository's git URL: as Azure DevOps gives it, or as it will be once created
    (``https://dev.azure.com/{organization}/{project}/_git/{repository}``, "Git repositories -
    Get Repository", remoteUrl, https://learn.microsoft.com/rest/api/azure/devops/git/repositories/get-repository)."""
    if state.repository is not None:
        return clean_remote_url(state.repository["remoteUrl"])
    base = settings.organization.rest_url
    return f"{base}/{quote(settings.project)}/_git/{quote(settings.repository)}"


def make_plan(state: State, settings: Settings) -> Plan:
    """The actions that bring Azure DevOps to what the settings describe."""
    names = settings.names
    blockers: list[str] = []
    project = ("project", settings.project)
    repo = ("repository", settings.repository)
    if state.project is None and not settings.create_project:
        blockers.append(
            f"project {settings.project!r} does not exist in {settings.organization_url}: "
            "create it in Azure DevOps, or run provision with --create-project "
            "(needs a full-access token)"
        )
    if state.unknown_approvers:
        blockers.append(
            f"release approver(s) {', '.join(state.unknown_approvers)} not found in the "
            "organization: check the address or add the user to the organization, or pass "
            "--approver with another address"
        )
    if state.origin is not None and not same_remote(state.origin, remote_url(state, settings)):
        blockers.append(foreign_origin(state.origin, remote_url(state, settings)))
    branch, blocker = _branch(state, settings)
    blockers += [blocker] if blocker else []
    azure_actions, azure_blockers = identity_actions(state, settings)
    blockers += azure_blockers
    actions = [
        Action(Verb.EXISTS, "token", state.owner.get("providerDisplayName") or "owner"),
        Action(exists_or(Verb.CREATE, state.project), *project),
        Action(exists_or(Verb.CREATE, state.repository), *repo, needs=(project,)),
        branch,
    ]
    for name in names.environments:
        actions.append(
            Action(
                exists_or(Verb.CREATE, state.environments.get(name)),
                "environment",
                name,
                needs=(project,),
            )
        )
    for name in names.environments:
        actions.append(
            Action(
                exists_or(Verb.CREATE, state.approvals.get(name)),
                "approval",
                name,
                needs=(("environment", name),),
            )
        )
    variables, missing = _variables(state, settings)
    group_verb = exists_or(Verb.CREATE, state.variable_group)
    if state.variable_group is not None and missing:
        group_verb = Verb.UPDATE
    actions.append(
        Action(group_verb, "variable group", names.variable_group, ", ".join(missing), (project,))
    )
    if state.endpoint is not None:
        endpoint = Action(Verb.EXISTS, "service connection", names.service_connection)
    elif state.azure is not None and not state.azure.client_id:
        endpoint = Action(
            Verb.CREATE,
            "service connection",
            names.service_connection,
            "workload identity federation, with the pipelines' identity",
            (project, ("azure identity", state.azure.identity_name)),
        )
    elif settings.can_create_service_connection():
        endpoint = Action(
            Verb.CREATE,
            "service connection",
            names.service_connection,
            "workload identity federation, manual",
            (project,),
        )
    else:
        endpoint = Action(
            Verb.MANUAL,
            "service connection",
            names.service_connection,
            "see the instructions at the end",
        )
    actions.append(endpoint)
    actions += azure_actions
    # Pipelines need their YAML in the repository; upstream first (release.yml names the
    # model build as its pipeline resource).
    upstream: tuple[Key, ...] = (repo, ("branch", "main"))
    for pipeline in names.pipelines:
        actions.append(
            Action(
                exists_or(Verb.CREATE, state.pipelines.get(pipeline.name)),
                "pipeline",
                pipeline.name,
                needs=upstream,
            )
        )
        upstream = (repo, ("pipeline", pipeline.name))
    for use in uses(state, settings):
        if use.key == endpoint.key and endpoint.verb is Verb.MANUAL:
            continue
        wanted = pipeline_ids(state, use.pipelines)
        done = (
            use.resource is not None
            and wanted is not None
            and wanted <= state.permissions.get(use.resource, set())
        )
        needs = (use.key, *(("pipeline", name) for name in use.pipelines))
        verb = exists_or(Verb.CREATE, done)
        actions.append(Action(verb, "permission", use.label, needs=needs, subject=use.key))
    for policy, label in POLICY_LABELS.items():
        actions.append(
            Action(
                exists_or(Verb.CREATE, state.policies.get(policy)),
                "branch policy",
                label,
                needs=(repo, ("branch", "main"), ("pipeline", names.ci_pipeline.name)),
                subject=(POLICY_TYPE, policy),
            )
        )
    if settings.first_run:
        # The push came before the pipeline existed, so CI has never run: queue its first
        # run once everything it uses is there; a later run never queues another.
        ci = names.ci_pipeline.name
        before = [a.key for a in actions if a.kind in ("permission", "branch policy")]
        actions.append(
            Action(
                exists_or(Verb.CREATE, state.ci_run),
                "first run",
                ci,
                "of main",
                (("pipeline", ci), ("branch", "main"), *before),
            )
        )
    return Plan(actions, blockers, variables, missing)
