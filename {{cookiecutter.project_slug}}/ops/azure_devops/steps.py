"""The provisioning steps: look everything up, plan, then create only what is missing.

``Provisioner.plan()`` only reads (REST GETs, and a git fetch when the remote
history must be compared); ``apply()`` creates what the plan found missing,
in the order the resources depend on each other, overlapping the steps that
are independent. Every create is preceded by a lookup, and a create whose
answer was lost (throttled, 5xx, connection) is looked up again before it is
ever re-sent, so running this twice creates nothing twice. What to create and
how it is wired is decided here; how Azure DevOps is asked is in ``resources``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import names
from .client import AzureDevOpsClient, AzureDevOpsError, TransientError
from .config import Settings
from .git import REF, GitError, Repository, clean_remote_url
from .resources import BUILD_VALIDATION_POLICY, MIN_REVIEWERS_POLICY, AzureDevOps, Json

log = logging.getLogger(__name__)

APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60
DESCRIPTION = f"Created by mlops-template for {names.PROJECT_SLUG}"
POLICY_LABELS = {
    MIN_REVIEWERS_POLICY: "minimum reviewers",
    BUILD_VALIDATION_POLICY: "build validation",
}

# typeKeys that mean "it is there already": look it up instead.
ALREADY_EXISTS = frozenset(
    {
        "ProjectAlreadyExistsException",
        "GitRepositoryNameAlreadyExistsException",
        "DefinitionExistsException",
        "EnvironmentExistsException",
        "VariableGroupExistsException",
        "DuplicateServiceConnectionException",
    }
)

EXISTS, CREATE, UPDATE, PUSH, MANUAL = "exists", "create", "update", "push", "manual"
DONE = {CREATE: "created", UPDATE: "updated", PUSH: "pushed"}


class ProvisioningError(RuntimeError):
    """A step could not be done; says which, why, and what to do."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")


@dataclass
class Item:
    """One thing provisioning looks after, and what it will do (or did) with it."""

    kind: str
    name: str
    action: str
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(kind, name): what identifies the item."""
        return (self.kind, self.name)


@dataclass(frozen=True)
class Use:
    """A resource the pipelines use, and so must be authorized to use."""

    label: str
    resource_type: str
    resource_id: str | None  # None: not created yet
    pipelines: tuple[str, ...]


@dataclass
class Plan:
    """What exists and what is missing; filled by ``Provisioner.plan()``."""

    owner: Json = field(default_factory=dict)
    project: Json | None = None
    repository: Json | None = None
    remote_head: str | None = None
    push: bool = False
    environments: dict[str, Json | None] = field(default_factory=dict)
    approvals: dict[str, bool] = field(default_factory=dict)
    approver_ids: list[str] = field(default_factory=list)
    variable_group: Json | None = None
    variables: Json = field(default_factory=dict)  # what the group should hold
    missing_variables: list[str] = field(default_factory=list)
    endpoint: Json | None = None
    pipelines: dict[str, Json | None] = field(default_factory=dict)
    permissions: dict[str, set[int]] = field(default_factory=dict)  # by Use.label
    policies: dict[str, Json] = field(default_factory=dict)  # by policy type
    items: list[Item] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    def item(self, kind: str, name: str) -> Item:
        """The item of this kind and name."""
        return next(item for item in self.items if item.key == (kind, name))

    @property
    def changes(self) -> list[Item]:
        """The items that will be created, updated or pushed."""
        return [item for item in self.items if item.action not in (EXISTS, MANUAL)]

    def pipeline_ids(self, pipeline_names: tuple[str, ...]) -> set[int] | None:
        """Ids of these pipelines; None while one of them does not exist."""
        found = [self.pipelines.get(name) for name in pipeline_names]
        if any(pipeline is None for pipeline in found):
            return None
        return {pipeline["id"] for pipeline in found if pipeline}


@dataclass
class Result:
    """What a provisioning run did."""

    items: list[Item]
    web_urls: dict[str, str]
    follow_up: list[str]
    requests: int
    writes: int

    @property
    def complete(self) -> bool:
        """Whether nothing is left to do by hand."""
        return not any(item.action == MANUAL for item in self.items)


def _id(resource: Json | None) -> str | None:
    return None if resource is None else str(resource["id"])


class Provisioner:
    """Provisions one generated project in Azure DevOps, idempotently."""

    def __init__(
        self,
        settings: Settings,
        client: AzureDevOpsClient,
        repository: Repository,
        *,
        on_progress: Callable[[Item], None] | None = None,
        workers: int = 8,
        poll_interval: float = 2.0,
        poll_timeout: float = 120.0,
    ) -> None:
        self.settings = settings
        self.client = client
        self.devops = AzureDevOps(client, settings.project)
        self.git = repository
        self.on_progress = on_progress or (lambda item: None)
        self._workers = workers
        self._poll_interval = poll_interval
        self._poll_timeout = poll_timeout

    # -- plan -------------------------------------------------------------------------

    def plan(self) -> Plan:
        """Look everything up (no writes) and decide what to create."""
        s, devops = self.settings, self.devops
        plan = Plan(owner=self._step("Check the access token", self._owner))
        # Independent lookups, overlapped.
        repo, environments, group, endpoint, pipelines = self._parallel(
            lambda: devops.repository(s.repository),
            devops.environments,
            lambda: devops.variable_group(names.VARIABLE_GROUP),
            lambda: devops.endpoint(names.SERVICE_CONNECTION),
            devops.pipelines,
        )
        plan.repository, plan.variable_group, plan.endpoint = repo, group, endpoint
        plan.project = repo["project"] if repo else None
        plan.environments = {n: environments.get(n.lower()) for n in names.ENVIRONMENTS}
        plan.pipelines = {
            p.name: pipelines.get(p.name.lower()) for p in names.PIPELINES
        }
        # Lookups that need the first ones' ids, overlapped too.
        self._parallel(*self._second_lookups(plan))

        if plan.project is None and not s.create_project:
            plan.blockers.append(
                f"project {s.project!r} does not exist in {s.organization_url}: create it in "
                "Azure DevOps, or run provision with --create-project (needs a full-access token)"
            )
        self._plan_history(plan)
        if not all(plan.approvals.get(name) for name in names.ENVIRONMENTS):
            plan.approver_ids = self._resolve_approvers(plan)
        plan.variables = self._variables()  # reads secrets.json, once
        if group is not None:
            have = {key.lower() for key in group.get("variables", {})}
            plan.missing_variables = [
                k for k in plan.variables if k.lower() not in have
            ]
        plan.items = self._items(plan)
        return plan

    def _owner(self) -> Json:
        owner = self.devops.owner()
        if not owner.get("id"):
            raise ProvisioningError(
                "Check the access token", "Azure DevOps did not say who owns it"
            )
        return owner

    def _second_lookups(self, plan: Plan) -> list[Callable[[], None]]:
        devops, repo = self.devops, plan.repository
        lookups: list[Callable[[], None]] = []
        if repo is None:
            lookups.append(lambda: setattr(plan, "project", devops.project()))
        else:
            lookups.append(
                lambda: setattr(plan, "remote_head", self._remote_main(repo))
            )
            lookups.append(
                lambda: plan.policies.update(devops.branch_policies(repo["id"], REF))
            )
        for name, env in plan.environments.items():
            if env is not None:
                lookups.append(
                    lambda n=name, e=env: plan.approvals.__setitem__(
                        n, devops.has_approval(e)
                    )
                )
        for use in self._uses(plan):
            wanted = plan.pipeline_ids(use.pipelines)
            if use.resource_id is not None and wanted is not None:
                lookups.append(
                    lambda u=use, w=wanted: self._lookup_permission(plan, u, w)
                )
        return lookups

    def _lookup_permission(self, plan: Plan, use: Use, wanted: set[int]) -> None:
        assert use.resource_id is not None
        body = self.devops.pipeline_permissions(use.resource_type, use.resource_id)
        if (body.get("allPipelines") or {}).get("authorized"):
            plan.permissions[use.label] = wanted
        else:
            pipelines = body.get("pipelines") or []
            plan.permissions[use.label] = {
                p["id"] for p in pipelines if p.get("authorized")
            }

    def _remote_main(self, repository: Json) -> str | None:
        """The remote's ``main`` commit: None if the repository is empty, '' if it has no main."""
        if "defaultBranch" not in repository and not repository.get("size"):
            return None  # Azure leaves defaultBranch out until the first push
        heads = self.devops.heads(repository["id"])
        return heads.get(REF, "") if heads else None

    def _resolve_approvers(self, plan: Plan) -> list[str]:
        if not self.settings.approvers:
            return [plan.owner["id"]]
        found = self._parallel(
            *(
                lambda e=email: (e, self.devops.identity(e))
                for email in self.settings.approvers
            )
        )
        missing = [email for email, identity in found if identity is None]
        if missing:
            plan.blockers.append(
                f"release approver(s) {', '.join(missing)} not found in organization "
                f"{self.settings.organization.name}: check the address or add the user to the "
                "organization, or pass --approver with another address"
            )
        return [identity for _, identity in found if identity]

    def _plan_history(self, plan: Plan) -> None:
        """Decide whether to push ``main``; refuse a remote whose history is not ours."""
        local = self.git.head()
        if local is None:
            plan.blockers.append(
                f"the project in {self.git.path} has no commit on 'main': "
                "run 'git init -b main && git add -A && git commit -m \"Initial commit\"' first"
            )
            return
        remote, repo_name = plan.remote_head, self.settings.repository
        if remote is None:
            plan.push = True
            return
        foreign = (
            f"repository {repo_name!r} already holds a history that is not this project's; "
            "nothing was pushed. Use another repository name (--repository), or clone that "
            "repository instead of this project"
        )
        if remote == local:
            return
        if remote and not self.git.has_commit(remote):
            try:
                self.git.fetch(self._git_url(plan))
            except GitError as error:
                plan.blockers.append(f"could not compare with {repo_name!r}: {error}")
                return
        if remote and self.git.is_ancestor(remote, local):
            plan.push = True  # local commits on top of the remote's
        elif not remote or not self.git.is_ancestor(local, remote):
            plan.blockers.append(foreign)

    def _uses(self, plan: Plan) -> list[Use]:
        """The resources the pipelines use, and which pipelines use each."""
        build, release = names.MODEL_BUILD_PIPELINE, names.RELEASE_PIPELINE
        uses = [
            Use(
                f"environment {name}",
                "environment",
                _id(plan.environments.get(name)),
                (release,),
            )
            for name in names.ENVIRONMENTS
        ]
        uses.append(
            Use(
                f"variable group {names.VARIABLE_GROUP}",
                "variablegroup",
                _id(plan.variable_group),
                (build, release),
            )
        )
        if plan.endpoint is not None or self.settings.can_create_service_connection():
            uses.append(
                Use(
                    f"service connection {names.SERVICE_CONNECTION}",
                    "endpoint",
                    _id(plan.endpoint),
                    (build, release),
                )
            )
        repo, project = plan.repository, plan.project
        uses.append(
            Use(
                f"repository {self.settings.repository}",
                "repository",
                f"{project['id']}.{repo['id']}" if repo and project else None,
                tuple(pipeline.name for pipeline in names.PIPELINES),
            )
        )
        return uses

    def _items(self, plan: Plan) -> list[Item]:
        """What the plan shows: each resource, and whether it exists or will be made."""
        s = self.settings

        def state(exists: object) -> str:
            return EXISTS if exists else CREATE

        items = [
            Item("token", plan.owner.get("providerDisplayName") or "owner", EXISTS),
            Item("project", s.project, state(plan.project)),
            Item("repository", s.repository, state(plan.repository)),
            Item(
                "branch",
                "main",
                PUSH if plan.push else EXISTS,
                "" if plan.push else "up to date",
            ),
        ]
        items += [
            Item("environment", n, state(e)) for n, e in plan.environments.items()
        ]
        items += [
            Item("approval", n, state(plan.approvals.get(n)))
            for n in names.ENVIRONMENTS
        ]
        group_action = state(plan.variable_group)
        if plan.variable_group is not None and plan.missing_variables:
            group_action = UPDATE
        items.append(
            Item(
                "variable group",
                names.VARIABLE_GROUP,
                group_action,
                ", ".join(plan.missing_variables),
            )
        )
        if plan.endpoint is not None:
            items.append(Item("service connection", names.SERVICE_CONNECTION, EXISTS))
        elif s.can_create_service_connection():
            detail = "workload identity federation, manual"
            items.append(
                Item("service connection", names.SERVICE_CONNECTION, CREATE, detail)
            )
        else:
            detail = "see the instructions at the end"
            items.append(
                Item("service connection", names.SERVICE_CONNECTION, MANUAL, detail)
            )
        items += [Item("pipeline", n, state(p)) for n, p in plan.pipelines.items()]
        for use in self._uses(plan):
            wanted = plan.pipeline_ids(use.pipelines)
            done = wanted is not None and wanted <= plan.permissions.get(
                use.label, set()
            )
            items.append(Item("permission", use.label, state(done)))
        items += [
            Item("branch policy", label, state(plan.policies.get(policy)))
            for policy, label in POLICY_LABELS.items()
        ]
        return items

    # -- apply ------------------------------------------------------------------------

    def apply(self, plan: Plan) -> Result:
        """Create what the plan found missing; return what was done."""
        if plan.blockers:
            raise ProvisioningError("Plan", "; ".join(plan.blockers))
        if plan.project is None:
            plan.project = self._step("Create the project", self._create_project)
            self._done(plan, "project", self.settings.project, CREATE)
        self._step("Repository", lambda: self._repository(plan))
        self._parallel(
            *(
                lambda n=name: self._step(
                    f"Environment {n}", lambda: self._environment(plan, n)
                )
                for name in names.ENVIRONMENTS
            ),
            lambda: self._step("Variable group", lambda: self._variable_group(plan)),
            lambda: self._step(
                "Service connection", lambda: self._service_connection(plan)
            ),
            lambda: self._step("Pipelines", lambda: self._pipelines(plan)),
        )
        self._parallel(
            *(
                lambda n=name: self._step(
                    f"Approval for {n}", lambda: self._approval(plan, n)
                )
                for name in names.ENVIRONMENTS
            ),
            *(
                lambda u=use: self._step(
                    f"Pipeline permissions for {u.label}",
                    lambda: self._permission(plan, u),
                )
                for use in self._uses(plan)
            ),
            lambda: self._step("Branch policies", lambda: self._policies(plan)),
        )
        return self._result(plan)

    def _create_project(self) -> Json:
        devops = self.devops
        operation = self._create(
            devops.project, lambda: devops.create_project(DESCRIPTION)
        )
        if (
            "status" in operation and "name" not in operation
        ):  # an operation, not the project
            self._wait_for(operation)
        project = devops.project()
        if project is None:
            raise ProvisioningError(
                "Create the project", "Azure DevOps did not create it"
            )
        return project

    def _wait_for(self, operation: Json) -> None:
        deadline = time.monotonic() + self._poll_timeout
        delay = 0.25
        while operation.get("status") != "succeeded":
            status = operation.get("status")
            if status in ("failed", "cancelled"):
                reason = operation.get("resultMessage") or f"operation {status}"
                raise ProvisioningError("Create the project", reason)
            if time.monotonic() > deadline:
                raise ProvisioningError(
                    "Create the project",
                    f"not created after {self._poll_timeout:.0f} s; run provision again later",
                )
            time.sleep(delay)
            # 0.25 s, 0.5 s, 1 s, then every poll_interval.
            delay = min(delay * 2, self._poll_interval)
            operation = self.devops.operation(operation["id"])

    def _repository(self, plan: Plan) -> None:
        s, devops = self.settings, self.devops
        if plan.repository is None:
            plan.repository = self._create(
                lambda: devops.repository(s.repository),
                lambda: devops.create_repository(s.repository),
            )
            self._done(plan, "repository", s.repository, CREATE)
        self.git.set_origin(self._git_url(plan))
        if plan.push:
            try:
                self.git.push()
            except GitError as error:
                if "TF402455" not in str(error):
                    raise
                raise ProvisioningError(
                    "Push main",
                    f"'main' of {s.repository!r} is protected by its branch policies: push "
                    "your commits to a branch and open a pull request",
                ) from None
            self._done(plan, "branch", "main", PUSH)
        if plan.repository.get("defaultBranch") != REF:
            plan.repository = devops.set_default_branch(plan.repository["id"], REF)

    def _git_url(self, plan: Plan) -> str:
        assert plan.repository is not None
        return clean_remote_url(plan.repository["remoteUrl"])

    def _environment(self, plan: Plan, name: str) -> None:
        if plan.environments.get(name) is not None:
            return
        plan.environments[name] = self._create(
            lambda: self.devops.environments().get(name.lower()),
            lambda: self.devops.create_environment(name, DESCRIPTION),
        )
        self._done(plan, "environment", name, CREATE)

    def _variables(self) -> Json:
        """The variable group's variables: the answers, and secrets from secrets.json."""
        variables: Json = {
            key: {"value": value} for key, value in self.settings.variables.items()
        }
        for key, value in self.settings.secret_variables().items():
            variables[key] = {"value": value, "isSecret": True}
        return variables

    def _variable_group(self, plan: Plan) -> None:
        devops, group, name = self.devops, plan.variable_group, names.VARIABLE_GROUP
        assert plan.project is not None
        if group is None:
            body = devops.variable_group_body(
                name, DESCRIPTION, plan.variables, plan.project
            )
            plan.variable_group = self._create(
                lambda: devops.variable_group(name),
                lambda: devops.create_variable_group(body),
            )
            self._done(plan, "variable group", name, CREATE)
        elif plan.missing_variables:
            # Add what is missing; never overwrite what someone changed in Azure DevOps.
            variables = {**(group.get("variables") or {})}
            variables.update(
                {key: plan.variables[key] for key in plan.missing_variables}
            )
            body = devops.variable_group_body(
                name, DESCRIPTION, variables, plan.project
            )
            plan.variable_group = devops.update_variable_group(group["id"], body)
            self._done(plan, "variable group", name, UPDATE)

    def _service_connection(self, plan: Plan) -> None:
        s, devops = self.settings, self.devops
        if plan.endpoint is not None or not s.can_create_service_connection():
            return
        assert plan.project is not None
        project = plan.project
        plan.endpoint = self._create(
            lambda: devops.endpoint(names.SERVICE_CONNECTION),
            lambda: devops.create_federated_endpoint(
                names.SERVICE_CONNECTION,
                DESCRIPTION,
                project,
                subscription_id=s.azure_subscription_id,
                tenant_id=s.azure_tenant_id,
                client_id=s.azure_client_id,
            ),
        )
        self._done(plan, "service connection", names.SERVICE_CONNECTION, CREATE)

    def _pipelines(self, plan: Plan) -> None:
        repo = plan.repository
        assert repo is not None
        for (
            pipeline
        ) in names.PIPELINES:  # upstream first: release.yml names the model build
            if plan.pipelines.get(pipeline.name) is not None:
                continue
            plan.pipelines[pipeline.name] = self._create(
                lambda n=pipeline.name: self.devops.pipelines().get(n.lower()),
                lambda p=pipeline: self.devops.create_pipeline(
                    p.name, p.yaml_path, repo
                ),
            )
            self._done(plan, "pipeline", pipeline.name, CREATE)

    def _approval(self, plan: Plan, name: str) -> None:
        if plan.approvals.get(name):
            return
        env = plan.environments[name]
        assert env is not None
        stage = "QA" if name == names.QA_ENVIRONMENT else "Prod"
        instructions = f"Approve the deployment of the model to {stage}."
        self._create(
            lambda: {"id": env["id"]} if self.devops.has_approval(env) else None,
            lambda: self.devops.add_approval(
                env, plan.approver_ids, instructions, APPROVAL_TIMEOUT_MINUTES
            ),
        )
        plan.approvals[name] = True
        self._done(plan, "approval", name, CREATE)

    def _permission(self, plan: Plan, use: Use) -> None:
        wanted = plan.pipeline_ids(use.pipelines)
        if use.resource_id is None or wanted is None:
            return  # the resource is missing (a service connection to create by hand)
        missing = wanted - plan.permissions.get(use.label, set())
        if not missing:
            return
        self.devops.authorize_pipelines(use.resource_type, use.resource_id, missing)
        plan.permissions[use.label] = wanted
        self._done(plan, "permission", use.label, CREATE)

    def _policies(self, plan: Plan) -> None:
        repo, ci = plan.repository, plan.pipelines[names.CI_PIPELINE]
        assert repo is not None and ci is not None
        scope = [{"repositoryId": repo["id"], "refName": REF, "matchKind": "exact"}]
        wanted = {
            MIN_REVIEWERS_POLICY: {
                "minimumApproverCount": 1,
                "creatorVoteCounts": False,
                "allowDownvotes": False,
                "resetOnSourcePush": True,
                "scope": scope,
            },
            BUILD_VALIDATION_POLICY: {
                "buildDefinitionId": ci["id"],
                "displayName": names.CI_PIPELINE,
                "queueOnSourceUpdateOnly": True,
                "manualQueueOnly": False,
                "validDuration": 720,
                "scope": scope,
            },
        }
        for policy_type, settings in wanted.items():
            if plan.policies.get(policy_type) is not None:
                continue
            plan.policies[policy_type] = self._create(
                lambda t=policy_type: self.devops.branch_policies(repo["id"], REF).get(
                    t
                ),
                lambda t=policy_type, s=settings: self.devops.create_branch_policy(
                    t, s
                ),
            )
            self._done(plan, "branch policy", POLICY_LABELS[policy_type], CREATE)

    # -- result -------------------------------------------------------------------------

    def _result(self, plan: Plan) -> Result:
        project_url = f"{self.settings.organization.rest_url}/{self.devops.p}"
        urls = {"Project": project_url}
        repo = plan.repository
        if repo:
            urls["Repository"] = (
                repo.get("webUrl") or f"{project_url}/_git/{repo['id']}"
            )
        for name, pipeline in plan.pipelines.items():
            if pipeline:
                href = (pipeline.get("_links") or {}).get("web", {}).get("href")
                urls[f"Pipeline {name}"] = (
                    href or f"{project_url}/_build?definitionId={pipeline['id']}"
                )
        for name, env in plan.environments.items():
            if env:
                urls[f"Environment {name}"] = f"{project_url}/_environments/{env['id']}"
        if plan.variable_group:
            urls["Variable group"] = (
                f"{project_url}/_library?itemType=VariableGroups&view=VariableGroupView"
                f"&variableGroupId={plan.variable_group['id']}"
            )
        if plan.endpoint:
            urls["Service connection"] = (
                f"{project_url}/_settings/adminservices?resourceId={plan.endpoint['id']}"
            )
        if repo:
            urls["Branch policies"] = (
                f"{project_url}/_settings/repositories?repo={repo['id']}&_a=policiesMid&refs={REF}"
            )
        counters = self.client.counters
        return Result(
            plan.items, urls, self._follow_up(plan), counters.requests, counters.writes
        )

    def _follow_up(self, plan: Plan) -> list[str]:
        """What is left for a person to do, outside Azure DevOps or without the token."""
        s, name = self.settings, names.SERVICE_CONNECTION
        if plan.endpoint is None:
            missing = [
                option
                for option, value in (
                    ("--subscription-id", s.azure_subscription_id),
                    ("--tenant-id", s.azure_tenant_id),
                    ("--client-id", s.azure_client_id),
                )
                if not value
            ]
            return [
                f"Create the service connection {name!r}: in Azure DevOps, Project settings > "
                "Service connections > New > Azure Resource Manager > Workload identity "
                f"federation, with exactly that name; or run provision with {', '.join(missing)} "
                "(an app registration or managed identity) to create it. Run provision again "
                "afterwards to authorize the pipelines to use it."
            ]
        parameters = (plan.endpoint.get("authorization") or {}).get("parameters") or {}
        issuer = parameters.get("workloadIdentityFederationIssuer")
        subject = parameters.get("workloadIdentityFederationSubject")
        if not (issuer and subject):
            return []
        client_id = (
            parameters.get("serviceprincipalid") or s.azure_client_id or "<client id>"
        )
        credential = json.dumps(
            {
                "name": f"{names.PROJECT_SLUG}-azure-devops",
                "issuer": issuer,
                "subject": subject,
                "audiences": ["api://AzureADTokenExchange"],
            }
        )
        return [
            f"Entra step for {name!r}: give the identity {client_id} a federated credential "
            f"with issuer {issuer} and subject {subject} (audience api://AzureADTokenExchange), "
            f"e.g. az ad app federated-credential create --id {client_id} --parameters "
            f"'{credential}'; then give it a role (e.g. Contributor) on the Azure ML resource "
            "group."
        ]

    # -- helpers ------------------------------------------------------------------------

    def _done(self, plan: Plan, kind: str, name: str, action: str) -> None:
        item = plan.item(kind, name)
        item.action = DONE[action]
        self.on_progress(item)

    def _step(self, step: str, call: Callable[[], Any]) -> Any:
        """Run one step; turn service and git failures into ProvisioningError naming it."""
        try:
            return call()
        except ProvisioningError:
            raise
        except (AzureDevOpsError, GitError) as error:
            raise ProvisioningError(step, str(error)) from error

    def _parallel(self, *calls: Callable[[], Any]) -> list[Any]:
        """Run independent calls together; wait for all, then raise the first failure."""
        if len(calls) <= 1:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            futures = [pool.submit(call) for call in calls]
        errors = [future.exception() for future in futures if future.exception()]
        if errors:
            raise errors[0]
        return [future.result() for future in futures]

    def _create(
        self, lookup: Callable[[], Any], create: Callable[[], Any], attempts: int = 3
    ) -> Any:
        """Create something once: a lost or refused create is looked up before any re-send."""
        for attempt in range(attempts):
            try:
                return create()
            except TransientError as error:
                log.info("create failed (%s); looking it up before trying again", error)
                if attempt == attempts - 1:
                    raise
            except AzureDevOpsError as error:
                if error.status != 409 and error.type_key not in ALREADY_EXISTS:
                    raise
            found = lookup()
            if found is not None:
                return found
        raise ProvisioningError(
            "Create",
            f"Azure DevOps refused the create {attempts} times, and the lookup does not find "
            "it; run provision again",
        )
