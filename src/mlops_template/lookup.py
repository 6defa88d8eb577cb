"""Read what exists in Azure DevOps (and in the local git history): the state, nothing else.

``lookup()`` sends only GETs (and a git fetch when the remote history must be
compared) and returns a ``State`` value; ``plan.make_plan`` decides from it. Independent
lookups overlap. A project that is still being created is waited for until it is
``wellFormed`` ("Projects - Get", ``ProjectState``,
https://learn.microsoft.com/rest/api/azure/devops/core/projects/get).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .arm import AzureResources
from .auth import SignInError
from .azure_devops import AzureDevOps, Json
from .azure_lookup import AzureState, lookup_azure
from .deployments import Deployments
from .errors import AzureDevOpsError
from .git import REF, GitError, Repository, clean_remote_url
from .parallel import parallel
from .settings import Settings

WELL_FORMED = "wellFormed"


class Branch(enum.Enum):
    """How the local ``main`` compares with the repository's in Azure DevOps."""

    NO_LOCAL = "no local commit"
    ABSENT = "not in Azure DevOps yet"
    SAME = "up to date"
    LOCAL_AHEAD = "local commits to push"
    REMOTE_AHEAD = "Azure DevOps is ahead; nothing to push"
    DIVERGED = "diverged"
    FOREIGN = "another history"
    NO_MAIN = "no main branch"
    UNKNOWN = "could not compare"


@dataclass
class State:
    """What exists; ``None`` for a resource means it does not."""

    owner: Json
    project: Json | None = None
    repository: Json | None = None
    remote_head: str | None = None  # None: empty or no repository; "": no main
    branch: Branch = Branch.UNKNOWN
    branch_problem: str = ""
    environments: dict[str, Json | None] = field(default_factory=dict)
    approvals: dict[str, bool] = field(default_factory=dict)
    approver_ids: list[str] = field(default_factory=list)
    unknown_approvers: list[str] = field(default_factory=list)
    variable_group: Json | None = None
    storage_variables: Json = field(default_factory=dict)  # variable -> {"value", "isSecret"}
    endpoint: Json | None = None
    pipelines: dict[str, Json | None] = field(default_factory=dict)
    # Pipeline ids allowed to use a resource, by (resource type, resource id).
    permissions: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    policies: dict[str, Json] = field(default_factory=dict)  # by policy type id
    azure: AzureState | None = None  # None: the identity is not made by the tool
    ci_run: Json | None = None  # the CI pipeline's newest run
    azure_problem: str = ""  # why the Azure CLI gave no token for Resource Manager
    origin: str | None = None  # the local remote 'origin', if there is one


@dataclass(frozen=True)
class Use:
    """A resource the pipelines use: its label (shown), its action key, (type, id) once it
    exists, and the pipelines that use it."""

    label: str
    key: tuple[str, str]
    resource: tuple[str, str] | None
    pipelines: tuple[str, ...]


def uses(state: State, settings: Settings) -> list[Use]:
    """The resources the pipelines use, and which pipelines use each."""
    names = settings.names
    build, release = names.model_build_pipeline.name, names.release_pipeline.name

    def ref(kind: str, resource: Json | None) -> tuple[str, str] | None:
        return (kind, str(resource["id"])) if resource else None

    found = [
        Use(f"environment {name}", ("environment", name),
            ref("environment", state.environments.get(name)), (release,))
        for name in names.environments
    ]  # fmt: skip
    group, endpoint = names.variable_group, names.service_connection
    found.append(
        Use(f"variable group {group}", ("variable group", group),
            ref("variablegroup", state.variable_group), (build, release))
    )  # fmt: skip
    found.append(
        Use(f"service connection {endpoint}", ("service connection", endpoint),
            ref("endpoint", state.endpoint), (build, release))
    )  # fmt: skip
    repo, project = state.repository, state.project
    found.append(
        Use(f"repository {settings.repository}", ("repository", settings.repository),
            ("repository", f"{project['id']}.{repo['id']}") if repo and project else None,
            tuple(p.name for p in names.pipelines))
    )  # fmt: skip
    return found


def pipeline_ids(state: State, pipeline_names: tuple[str, ...]) -> set[int] | None:
    """Ids of these pipelines; None while one of them does not exist."""
    found = [state.pipelines.get(name) for name in pipeline_names]
    if any(pipeline is None for pipeline in found):
        return None
    return {pipeline["id"] for pipeline in found if pipeline}


class Lookup:
    """Reads the state of one project; ``poll_*`` pace the wait for a new project."""

    def __init__(
        self,
        settings: Settings,
        devops: AzureDevOps,
        git: Repository,
        *,
        azure: AzureResources | None = None,
        deployments: Deployments | None = None,
        on_wait: Callable[[str], None] = lambda message: None,
        poll_interval: float = 2.0,
        poll_timeout: float = 120.0,
        owner: Json | None = None,
    ) -> None:
        self.settings, self.devops, self.git, self.azure = settings, devops, git, azure
        self.owner = owner  # the token's owner, when a lookup of this run already knows it
        self.deployments = deployments
        self.on_wait = on_wait
        self.poll_interval, self.poll_timeout = poll_interval, poll_timeout

    def __call__(self) -> State:
        """The state now (GETs only)."""
        s, devops = self.settings, self.devops
        state = State(owner=self.owner or devops.owner())
        if not state.owner.get("id"):
            raise AzureDevOpsError("Azure DevOps did not say who owns the access token")
        repo, environments, group, endpoint, pipelines, state.azure = parallel(
            lambda: devops.repository(s.repository),
            devops.environments,
            lambda: devops.variable_group(s.names.variable_group),
            lambda: devops.endpoint(s.names.service_connection),
            devops.pipelines,
            lambda: self._lookup_azure(state),
        )
        if repo is None:
            project = devops.project()
            if project is not None and project.get("state") != WELL_FORMED:
                self.wait_until_well_formed(project)
                return self()
            state.project = project
        else:
            state.project = repo["project"]
        state.repository, state.variable_group, state.endpoint = repo, group, endpoint
        state.environments = {n: environments.get(n.lower()) for n in s.names.environments}
        state.pipelines = {p.name: pipelines.get(p.name.lower()) for p in s.names.pipelines}
        parallel(*self._second_lookups(state))
        state.origin = self.git.origin()
        self._compare_history(state)
        if not all(state.approvals.get(name) for name in s.names.environments):
            self._resolve_approvers(state)
        deploy = state.azure.deploy if state.azure else None
        deployed = (deploy.names.storage_account, deploy.names.container) if deploy else None
        state.storage_variables = s.storage_variables(deployed)  # reads secrets.json, once
        return state

    def _lookup_azure(self, state: State) -> AzureState | None:
        """The Azure side; None (and why) when the Azure CLI gives no token for it."""
        if self.azure is None:
            return None
        try:
            return lookup_azure(self.settings, self.azure, self.deployments)
        except SignInError as error:
            state.azure_problem = str(error)
            return None

    def wait_until_well_formed(self, project: Json) -> Json:
        """Poll the project until Azure DevOps says it is ``wellFormed``."""
        deadline = time.monotonic() + self.poll_timeout
        self.on_wait(f"project {project['name']!r} is still being created; waiting")
        delay = 0.25
        while project.get("state") != WELL_FORMED:
            if time.monotonic() > deadline:
                raise AzureDevOpsError(
                    f"project {project['name']!r} is still being created after "
                    f"{self.poll_timeout:.0f} s (state {project.get('state')!r}); "
                    "run provision again in a few minutes"
                )
            time.sleep(delay)
            delay = min(delay * 2, self.poll_interval)  # 0.25 s, 0.5 s, 1 s, then the interval
            project = self.devops.project() or project
        return project

    def _second_lookups(self, state: State) -> list[Callable[[], None]]:
        devops, repo = self.devops, state.repository
        lookups: list[Callable[[], None]] = []
        if repo is not None:
            lookups.append(lambda: setattr(state, "remote_head", self._remote_main(repo)))
            lookups.append(lambda: state.policies.update(devops.branch_policies(repo["id"], REF)))
        for name, env in state.environments.items():
            if env is not None:
                lookups.append(
                    lambda n=name, e=env: state.approvals.__setitem__(n, devops.has_approval(e))
                )
        ci = state.pipelines.get(self.settings.names.ci_pipeline.name)
        if ci is not None and self.settings.first_run:
            lookups.append(
                lambda: setattr(state, "ci_run", next(iter(devops.runs(ci["id"])), None))
            )
        for use in uses(state, self.settings):
            wanted = pipeline_ids(state, use.pipelines)
            if use.resource is not None and wanted is not None:
                lookups.append(lambda u=use, w=wanted: self._lookup_permission(state, u, w))
        return lookups

    def _lookup_permission(self, state: State, use: Use, wanted: set[int]) -> None:
        assert use.resource is not None
        resource = use.resource
        body = self.devops.pipeline_permissions(*resource)
        if (body.get("allPipelines") or {}).get("authorized"):
            state.permissions[resource] = wanted
        else:
            found = body.get("pipelines") or []
            state.permissions[resource] = {p["id"] for p in found if p.get("authorized")}

    def _remote_main(self, repository: Json) -> str | None:
        """The remote's ``main``: None if the repository is empty, '' if it has no main."""
        if "defaultBranch" not in repository and not repository.get("size"):
            return None  # Azure leaves defaultBranch out until the first push
        heads = self.devops.heads(repository["id"])
        return heads.get(REF, "") if heads else None

    def _compare_history(self, state: State) -> None:
        local = self.git.head()
        remote = state.remote_head
        if local is None:
            state.branch = Branch.NO_LOCAL
        elif remote is None:
            state.branch = Branch.ABSENT
        elif remote == "":
            state.branch = Branch.NO_MAIN
        elif remote == local:
            state.branch = Branch.SAME
        else:
            if not self.git.has_commit(remote):
                try:
                    assert state.repository is not None
                    self.git.fetch(clean_remote_url(state.repository["remoteUrl"]))
                except GitError as error:
                    state.branch, state.branch_problem = Branch.UNKNOWN, str(error)
                    return
            if not self.git.has_commit(remote):
                state.branch = Branch.FOREIGN
            elif self.git.is_ancestor(remote, local):
                state.branch = Branch.LOCAL_AHEAD
            elif self.git.is_ancestor(local, remote):
                state.branch = Branch.REMOTE_AHEAD
            elif self.git.merge_base(local, remote):
                state.branch = Branch.DIVERGED
            else:
                state.branch = Branch.FOREIGN

    def _resolve_approvers(self, state: State) -> None:
        if not self.settings.approvers:
            state.approver_ids = [state.owner["id"]]
            return
        found = parallel(
            *(lambda e=email: (e, self.devops.identity(e)) for email in self.settings.approvers)
        )
        state.unknown_approvers = [email for email, identity in found if identity is None]
        state.approver_ids = [identity for _, identity in found if identity]
