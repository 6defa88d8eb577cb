"""``python -m ops.azure_devops provision [--dry-run]``: set up Azure DevOps for this project.

Run from the project root (the post-generation hook runs the same code). The
personal access token comes from ``AZURE_DEVOPS_EXT_PAT`` or, when a terminal
is attached, a hidden prompt; it is never an argument.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shlex
import sys
from pathlib import Path

from rich.console import Console

from . import config, report
from .client import AzureDevOpsClient, AzureDevOpsError
from .git import GitError, Repository
from .steps import Provisioner, ProvisioningError

PAT_VARIABLE = "AZURE_DEVOPS_EXT_PAT"
PROJECT_DIR = Path(__file__).resolve().parents[2]

OK, FAILED, USAGE, INCOMPLETE = 0, 1, 2, 3


def resume_command(
    project_dir: Path = PROJECT_DIR, python: str = sys.executable
) -> str:
    """The command that runs provisioning again (it picks up where it stopped)."""
    return (
        f"cd {shlex.quote(str(project_dir))} && "
        f"{PAT_VARIABLE}=<token> {shlex.quote(python)} -m ops.azure_devops provision"
    )


def read_pat(interactive: bool | None = None) -> str | None:
    """The token from the environment, else a hidden prompt on a terminal, else None."""
    pat = os.environ.get(PAT_VARIABLE, "").strip()
    if pat:
        return pat
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        return None
    return (
        getpass.getpass("Azure DevOps personal access token (input hidden): ").strip()
        or None
    )


def run(
    settings: config.Settings,
    pat: str,
    console: Console,
    *,
    dry_run: bool = False,
) -> int:
    """Plan, show the plan, then (unless dry-run) apply it with progress. Returns an exit code."""
    organization = settings.organization
    client = AzureDevOpsClient(organization.rest_url, organization.identity_url, pat)
    provisioner = Provisioner(settings, client, Repository(settings.project_dir, pat))
    try:
        with console.status("Looking up what exists in Azure DevOps..."):
            plan = provisioner.plan()
        report.show_plan(console, settings, plan)
        if plan.blockers:
            report.show_blockers(
                console, plan.blockers, resume_command(settings.project_dir)
            )
            return FAILED
        if dry_run:
            console.print(
                f"Dry run: nothing was changed ({client.counters.requests} requests, "
                f"{client.counters.writes} writes)."
            )
            return OK
        with report.progress(console, len(plan.changes)) as advance:
            provisioner.on_progress = advance
            result = provisioner.apply(plan)
    except (
        ProvisioningError,
        AzureDevOpsError,
        GitError,
        config.ConfigurationError,
    ) as error:
        report.show_failure(console, error, resume_command(settings.project_dir))
        return FAILED
    report.show_result(console, result)
    return OK if result.complete else INCOMPLETE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.azure_devops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    provision = commands.add_parser(
        "provision", help="create what is missing in Azure DevOps (safe to run again)"
    )
    provision.add_argument(
        "--dry-run",
        action="store_true",
        help="show what exists and what would be created; change nothing",
    )
    provision.add_argument(
        "--organization", help="organization URL (default: settings.json)"
    )
    provision.add_argument("--project", help="Azure DevOps project name")
    provision.add_argument(
        "--repository", help="repository name (default: the project slug)"
    )
    provision.add_argument(
        "--create-project",
        action="store_true",
        default=None,
        help="create the Azure DevOps project if it does not exist",
    )
    provision.add_argument(
        "--approver",
        action="append",
        dest="approvers",
        metavar="EMAIL",
        help="release approver's e-mail (repeat for several; "
        "default: the token's owner)",
    )
    provision.add_argument("--subscription-id", dest="azure_subscription_id")
    provision.add_argument("--tenant-id", dest="azure_tenant_id")
    provision.add_argument(
        "--client-id",
        dest="azure_client_id",
        help="app registration / managed identity of the service connection",
    )
    provision.add_argument(
        "-v", "--verbose", action="store_true", help="log every retry"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    console = Console()
    try:
        settings = config.load(
            PROJECT_DIR,
            organization_url=args.organization,
            project=args.project,
            repository=args.repository,
            create_project=args.create_project,
            approvers=args.approvers,
            azure_subscription_id=args.azure_subscription_id,
            azure_tenant_id=args.azure_tenant_id,
            azure_client_id=args.azure_client_id,
        )
    except config.ConfigurationError as error:
        console.print(f"[red]Error:[/red] {error}", highlight=False)
        return USAGE
    pat = read_pat()
    if not pat:
        console.print(
            f"[red]Error:[/red] no personal access token: set {PAT_VARIABLE} "
            "(or run this in a terminal to be asked for it).",
            highlight=False,
        )
        return USAGE
    return run(settings, pat, console, dry_run=args.dry_run)
