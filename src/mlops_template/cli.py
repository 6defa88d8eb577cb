"""``mlops-template provision [--dry-run]``: set up Azure DevOps for a generated project.

Run it from the project's root folder (the one holding ``azure-devops.json``); the
post-generation hook runs the same code. Sign-in, first that applies: a personal access
token in ``AZURE_DEVOPS_EXT_PAT``; the Azure CLI's sign-in (``az login``); a hidden
prompt for a token when a terminal is attached. A token is never an argument. Exit
codes: 0 done, 1 failed (nothing created is lost; run it again), 2 bad usage or
settings, 3 done but something is left to do by hand.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from . import cli_teardown, report
from .apply import Apply, ProvisioningError
from .arm import AzureResources
from .auth import NO_SIGN_IN, Credential, PersonalAccessToken, sign_in
from .azure_devops import AzureDevOps
from .cli_azure import azure_sign_in, data_container, export
from .client import AzureDevOpsClient
from .deploy_apply import DeploymentError
from .deployments import Deployments
from .errors import AzureDevOpsError, header_safe
from .git import GitError, Repository
from .lock import project_lock
from .lookup import Lookup, State
from .plan import Plan, Verb, make_plan
from .redact import hide_secrets
from .settings import ConfigurationError, Settings, find_project_dir, load
from .shared_lock import SharedLock

PACKAGE_SOURCE = Path(__file__).resolve().parents[1]  # the folder holding mlops_template/

OK, FAILED, USAGE, INCOMPLETE = 0, 1, 2, 3


def resume_command(project_dir: Path) -> str:
    """The command that runs provisioning again, as it works from this install.

    ``mlops-template`` when that console script is on PATH and runs this code; else
    this interpreter with this package's folder on ``PYTHONPATH`` (a bake from a
    template checkout). It asks for the token, or reads ``AZURE_DEVOPS_EXT_PAT``.
    """
    script = shutil.which("mlops-template")
    if script and Path(script).resolve().parent == Path(sys.executable).resolve().parent:
        tool = "mlops-template provision"
    else:
        tool = (
            f"PYTHONPATH={shlex.quote(str(PACKAGE_SOURCE))} "
            f"{shlex.quote(sys.executable)} -m mlops_template provision"
        )
    return f"cd {shlex.quote(str(project_dir))} && {tool}"


def run(
    settings: Settings,
    pat: str | Credential,
    console: Console,
    *,
    dry_run: bool = False,
    export_template: Path | None = None,
) -> int:
    """Look up, plan, show the plan, then (unless dry-run) apply it. Returns an exit code."""
    credential = PersonalAccessToken(header_safe(pat)) if isinstance(pat, str) else pat
    console.print(f"Signed in to Azure DevOps with: {credential.description}", highlight=False)
    organization = settings.organization
    wait = lambda message: report.show_wait(console, message)  # noqa: E731
    client = AzureDevOpsClient(
        organization.rest_url, organization.identity_url, credential, on_wait=wait
    )
    devops = AzureDevOps(client, settings.project)
    git = Repository(settings.project_dir, credential)
    azure = azure_sign_in(settings, console)
    deployments = (
        Deployments(azure.client, settings.azure_subscription_id, on_event=wait) if azure else None
    )
    if export_template is not None:
        return export(settings, azure, deployments, export_template, console)
    if deployments is not None:
        deployments.blobs = data_container(settings)
    resume = resume_command(settings.project_dir)

    def secrets() -> list[str]:  # every token this run holds, renewed ones included
        held = credential.secrets()
        held += azure.client.credential.secrets() if azure is not None else []
        blobs = deployments.blobs if deployments is not None else None
        return held + (blobs.credential.secrets() if blobs is not None else [])

    with hide_secrets(console, secrets):
        return _run(
            settings, console, client, devops, git, azure, deployments, resume, dry_run=dry_run
        )


def _run(
    settings: Settings,
    console: Console,
    client: AzureDevOpsClient,
    devops: AzureDevOps,
    git: Repository,
    azure: AzureResources | None,
    deployments: Deployments | None,
    resume: str,
    *,
    dry_run: bool,
) -> int:
    organization = settings.organization
    wait = lambda message: report.show_wait(console, message)  # noqa: E731
    try:
        with project_lock(organization.name, settings.project, wait, timeout=900.0):
            with console.status("Looking up what exists in Azure DevOps..."):
                state = Lookup(
                    settings, devops, git, azure=azure, deployments=deployments, on_wait=wait
                )()
            plan = make_plan(state, settings)
            report.show_plan(console, settings, plan)
            if plan.blockers:
                report.show_blockers(console, plan.blockers, resume)
                return FAILED
            if dry_run:
                report.dry_run(console, client.counters.requests, client.counters.writes)
                return OK
            with report.progress(console, len(plan.changes)) as advance:
                if plan.changes:
                    # The project and repository first (Azure DevOps refuses each twice), then
                    # the rest under the project's lock, which lives in that repository.
                    first = Apply(settings, devops, git, state, plan, azure=azure,
                                  deployments=deployments, on_progress=advance)  # fmt: skip
                    first.run(FIRST_KINDS)
                    locked = _apply_locked(settings, console, devops, git, azure, first, wait)
                    if locked is None:
                        return FAILED
                    state, plan = locked
    except (
        ProvisioningError, AzureDevOpsError, GitError, ConfigurationError, TimeoutError,
        DeploymentError,
    ) as e:  # fmt: skip
        report.show_failure(console, e, resume)
        return FAILED
    except KeyboardInterrupt:
        report.show_interrupted(console, resume)
        return FAILED
    requests, writes = client.counters.requests, client.counters.writes
    if azure is not None:
        requests += azure.client.counters.requests
        writes += azure.client.counters.writes
    report.show_result(console, settings, state, requests, writes)
    manual = any(action.verb is Verb.MANUAL for action in plan.actions)
    deploy = state.azure.deploy if state.azure else None
    left = bool(state.azure and state.azure.manual) or bool(deploy and deploy.manual)
    return INCOMPLETE if manual or left else OK


# Created before the project's lock, which lives in the repository.
FIRST_KINDS = frozenset({"project", "repository"})


def _apply_locked(
    settings: Settings,
    console: Console,
    devops: AzureDevOps,
    git: Repository,
    azure: AzureResources | None,
    first: Apply,
    wait: Callable[[str], None],
) -> tuple[State, Plan] | None:
    """Under the project's lock, look up again (another run may have changed things since),
    then apply what is still missing; the state and plan. None when something now blocks
    (said why)."""
    repository = first.state.repository
    assert repository is not None
    holder = str(first.state.owner.get("providerDisplayName") or "someone")
    with SharedLock(devops, repository["id"], holder, on_wait=wait) as shared:
        state = Lookup(settings, devops, git, azure=azure, deployments=first.deployments,
                       on_wait=wait, owner=first.state.owner)()  # fmt: skip
        plan = make_plan(state, settings)
        if plan.blockers:
            report.show_blockers(console, plan.blockers, resume_command(settings.project_dir))
            return None
        Apply(settings, devops, git, state, plan, azure=azure, deployments=first.deployments,
              on_progress=first.on_progress, pending=shared).run()  # fmt: skip
    return state, plan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-template",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    provision = commands.add_parser(
        "provision", help="create what is missing in Azure DevOps (safe to run again)"
    )
    add = provision.add_argument
    add("--dry-run", action="store_true", help="show what exists and what would be done")
    add("--project-dir", type=Path, help="the generated project (default: the current folder)")
    add("--organization", help="organization URL (default: azure-devops.json)")
    add("--project", help="Azure DevOps project name")
    add("--repository", help="repository name (default: the project slug)")
    add("--create-project", action="store_true", default=None,
        help="create the Azure DevOps project if it does not exist")  # fmt: skip
    add("--approver", action="append", dest="approvers", metavar="EMAIL",
        help="release approver's e-mail (repeat; default: the token's owner)")  # fmt: skip
    add("--subscription-id", dest="azure_subscription_id")
    add("--tenant-id", dest="azure_tenant_id")
    add("--client-id", dest="azure_client_id",
        help="app registration / managed identity of the service connection")  # fmt: skip
    add(
        "--export-template",
        type=Path,
        metavar="FILE",
        help="write the Azure side's ARM template (literal values) to FILE; change nothing",
    )
    add("--no-run", action="store_true",
        help="do not queue the CI pipeline's first run")  # fmt: skip
    add("-v", "--verbose", action="store_true", help="log every retry")
    cli_teardown.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    console = Console()
    if args.command == "teardown":
        return cli_teardown.main(args, console)
    start = (args.project_dir or Path.cwd()).resolve()
    project_dir = find_project_dir(start) or start
    try:
        settings = load(
            project_dir,
            organization_url=args.organization,
            project=args.project,
            repository=args.repository,
            create_project=args.create_project,
            approvers=args.approvers,
            azure_subscription_id=args.azure_subscription_id,
            azure_tenant_id=args.azure_tenant_id,
            azure_client_id=args.azure_client_id,
            first_run=False if args.no_run else None,
        )
        credential, why = sign_in()
    except (ConfigurationError, ValueError) as error:
        console.print(f"[red]Error:[/red] {error}", highlight=False)
        return USAGE
    except (KeyboardInterrupt, EOFError):
        console.print(f"Interrupted. To run it again: {resume_command(project_dir)}")
        return FAILED
    if credential is None:
        console.print(f"[red]Error:[/red] {NO_SIGN_IN} ({why}).", highlight=False)
        return USAGE
    return run(
        settings, credential, console, dry_run=args.dry_run, export_template=args.export_template
    )
