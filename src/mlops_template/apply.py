"""Carry out a plan: each action once its ``needs`` are done, independent ones together.

``Apply.run()`` goes in waves: every action whose needs are met runs, overlapped with
the others of its wave; the state is updated with what was created, so later actions
use the new ids. Every create goes through ``create_once.create_once``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import bodies
from .actions import ProvisioningError
from .apply_azure import AzureSteps
from .arm import AzureResources
from .azure_devops import AzureDevOps
from .bodies import Json
from .create_once import Pending, create_once
from .deploy_apply import DeploymentError
from .deployments import Deployments
from .errors import AzureDevOpsError
from .git import REF, GitError, Repository, clean_remote_url
from .lookup import State, parallel, pipeline_ids, uses
from .plan import Action, Key, Plan, Verb
from .settings import Settings

APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60


class Apply(AzureSteps):
    """Runs one plan against one project; ``done`` maps each finished action to its verb."""

    def __init__(
        self,
        settings: Settings,
        devops: AzureDevOps,
        git: Repository,
        state: State,
        plan: Plan,
        *,
        azure: AzureResources | None = None,
        deployments: Deployments | None = None,
        on_progress: Callable[[Action], None] = lambda action: None,
        poll_interval: float = 2.0,
        poll_timeout: float = 120.0,
        pending: Pending | None = None,
    ) -> None:
        self.settings, self.devops, self.git = settings, devops, git
        self.state, self.plan, self.azure = state, plan, azure
        self.pending = pending
        self.deployments = deployments
        self.on_progress = on_progress
        self.poll_interval, self.poll_timeout = poll_interval, poll_timeout
        self.description = f"Created by mlops-template for {settings.names.slug}"
        self.done: dict[Key, Action] = {}

    def run(self, kinds: frozenset[str] | None = None) -> None:
        """Carry out every change of the plan (of these ``kinds``), in dependency order."""
        if self.plan.blockers:
            raise ProvisioningError("Plan", "; ".join(self.plan.blockers))
        pending = [a for a in self.plan.changes if kinds is None or a.kind in kinds]
        changing = {action.key for action in pending}
        while pending:
            ready = [
                a for a in pending if all(n not in changing or n in self.done for n in a.needs)
            ]
            if not ready:  # pragma: no cover - the plan's needs form no cycle
                raise ProvisioningError("Plan", "actions wait on each other")
            parallel(*(lambda a=action: self._run(a) for action in ready))
            pending = [action for action in pending if action not in ready]

    def _run(self, action: Action) -> None:
        handler = getattr(self, "_" + action.kind.replace(" ", "_"))
        step = f"{action.verb.value.capitalize()} {action.kind} {action.name}"
        try:
            handler(action)
        except ProvisioningError:
            raise
        except (AzureDevOpsError, GitError, DeploymentError) as error:
            raise ProvisioningError(step, str(error)) from error
        self.done[action.key] = action
        self.on_progress(action)

    # -- one handler per kind -----------------------------------------------------------

    def _project(self, action: Action) -> None:
        devops = self.devops
        operation = create_once(
            f"project {action.name!r}",
            devops.project,
            lambda: devops.create_project(self.description),
            refused_twice=True,
        )
        if "status" in operation and "name" not in operation:  # an operation, not the project
            self._wait_for(operation)
        project = devops.project()
        if project is None:
            raise ProvisioningError("Create the project", "Azure DevOps did not create it")
        self.state.project = project

    def _wait_for(self, operation: Json) -> None:
        deadline = time.monotonic() + self.poll_timeout
        delay = 0.25
        while operation.get("status") != "succeeded":
            status = operation.get("status")
            if status in ("failed", "cancelled"):
                reason = operation.get("resultMessage") or f"operation {status}"
                raise ProvisioningError("Create the project", reason)
            if time.monotonic() > deadline:
                raise ProvisioningError(
                    "Create the project",
                    f"not created after {self.poll_timeout:.0f} s; run provision again later",
                )
            time.sleep(delay)
            delay = min(delay * 2, self.poll_interval)  # 0.25 s, 0.5 s, 1 s, then the interval
            operation = self.devops.operation(operation["id"])

    def _repository(self, action: Action) -> None:
        devops, name = self.devops, action.name
        self.state.repository = create_once(
            f"repository {name!r}",
            lambda: devops.repository(name),
            lambda: devops.create_repository(name),
            refused_twice=True,
        )
        self.git.set_origin(self._git_url())

    def _branch(self, action: Action) -> None:
        self.git.set_origin(self._git_url())
        if action.verb is Verb.PUSH:
            self._push()
        repo = self.state.repository
        assert repo is not None
        if repo.get("defaultBranch") != REF:
            self.state.repository = self.devops.set_default_branch(repo["id"], REF)

    def _push(self) -> None:
        try:
            self.git.push()
        except GitError as error:
            if "TF402455" not in str(error):
                raise
            raise ProvisioningError(
                "Push main",
                f"'main' of {self.settings.repository!r} is protected by its branch policies: "
                "push your commits to a branch and open a pull request",
            ) from None

    def _git_url(self) -> str:
        assert self.state.repository is not None
        return clean_remote_url(self.state.repository["remoteUrl"])

    def _environment(self, action: Action) -> None:
        name = action.name
        self.state.environments[name] = create_once(
            f"environment {name!r}",
            lambda: self.devops.environments().get(name.lower()),
            lambda: self.devops.create_environment(name, self.description),
            refused_twice=True,
        )

    def _approval(self, action: Action) -> None:
        env = self.state.environments[action.name]
        assert env is not None
        stage = "QA" if action.name == self.settings.names.qa_environment else "Prod"
        create_once(
            f"the Approval check of environment {action.name!r}",
            lambda: {"id": env["id"]} if self.devops.has_approval(env) else None,
            lambda: self.devops.add_approval(
                env,
                self.state.approver_ids,
                f"Approve the deployment of the model to {stage}.",
                APPROVAL_TIMEOUT_MINUTES,
            ),
            refused_twice=False,
            pending=self.pending,
        )
        self.state.approvals[action.name] = True

    def _variable_group(self, action: Action) -> None:
        devops, group, name = self.devops, self.state.variable_group, action.name
        project = self.state.project
        assert project is not None
        if group is None:
            body = bodies.variable_group(name, self.description, self.plan.variables, project)
            self.state.variable_group = create_once(
                f"variable group {name!r}",
                lambda: devops.variable_group(name),
                lambda: devops.create_variable_group(body),
                refused_twice=True,
            )
            return
        # Add what is missing; never overwrite what someone changed in Azure DevOps.
        variables = {**(group.get("variables") or {})}
        variables.update({key: self.plan.variables[key] for key in self.plan.missing_variables})
        body = bodies.variable_group(name, self.description, variables, project)
        self.state.variable_group = devops.update_variable_group(group["id"], body)

    def _service_connection(self, action: Action) -> None:
        s, devops, project = self.settings, self.devops, self.state.project
        assert project is not None
        client_id, tenant_id = s.azure_client_id, s.azure_tenant_id
        if self.state.azure is not None and self.state.azure.identity is not None:
            identity = self.state.azure.identity.get("properties") or {}
            client_id, tenant_id = identity["clientId"], identity["tenantId"]
        if not client_id:
            return  # no identity could be made: the steps to create it by hand are printed
        self.state.endpoint = create_once(
            f"service connection {action.name!r}",
            lambda: devops.endpoint(action.name),
            lambda: devops.create_endpoint(
                bodies.federated_endpoint(
                    action.name,
                    self.description,
                    project,
                    subscription_id=s.azure_subscription_id,
                    tenant_id=tenant_id,
                    client_id=client_id,
                )
            ),
            refused_twice=True,
        )

    def _pipeline(self, action: Action) -> None:
        repo = self.state.repository
        assert repo is not None
        (pipeline,) = (p for p in self.settings.names.pipelines if p.name == action.name)
        self.state.pipelines[pipeline.name] = create_once(
            f"pipeline {pipeline.name!r}",
            lambda: self.devops.pipelines().get(pipeline.name.lower()),
            lambda: self.devops.create_pipeline(pipeline.name, pipeline.yaml_path, repo),
            refused_twice=True,
        )

    def _permission(self, action: Action) -> None:
        (use,) = (u for u in uses(self.state, self.settings) if u.key == action.subject)
        wanted = pipeline_ids(self.state, use.pipelines)
        if use.resource is None or wanted is None:
            return
        missing = wanted - self.state.permissions.get(use.resource, set())
        if missing:
            self.devops.authorize_pipelines(*use.resource, missing)
            self.state.permissions[use.resource] = wanted

    def _first_run(self, action: Action) -> None:
        ci = self.state.pipelines[action.name]
        assert ci is not None
        self.state.ci_run = create_once(
            f"the first run of {action.name!r}",
            lambda: next(iter(self.devops.runs(ci["id"])), None),
            lambda: self.devops.run_pipeline(ci["id"], REF),
            refused_twice=False,  # a second run would be queued: never re-sent
            pending=self.pending,
        )

    def _branch_policy(self, action: Action) -> None:
        repo = self.state.repository
        ci = self.state.pipelines[self.settings.names.ci_pipeline.name]
        assert repo is not None and ci is not None
        assert action.subject is not None
        policy_type = action.subject[1]
        self.state.policies[policy_type] = create_once(
            f"the {action.name} branch policy on 'main'",
            lambda: self.devops.branch_policies(repo["id"], REF).get(policy_type),
            lambda: self.devops.create_branch_policy(bodies.branch_policy(policy_type, repo, ci)),
            refused_twice=False,
            pending=self.pending,
        )
