"""``mlops-template teardown [--yes] [--delete-data]``: the command around ``teardown``.

Shows what would be deleted and what is kept, asks the user to type the resource group's
name (unless ``--yes``), then deletes. Exit codes as ``provision``: 0 done, 1 failed (run it
again: it resumes), 2 bad usage, 3 done but something is left for someone with more rights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from . import report, teardown
from .arm import ArmClient
from .auth import RESOURCE_MANAGER_RESOURCE, SignInError, azure_cli_sign_in
from .errors import AzureDevOpsError
from .redact import hide_secrets
from .settings import SETTINGS_FILE, find_project_dir, load
from .template import AzureNames, azure_names

OK, FAILED, USAGE, INCOMPLETE = 0, 1, 2, 3


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "teardown",
        help="delete the Azure resources provisioning deployed (keeps the data unless told)",
    )
    add = parser.add_argument
    add("--project-dir", type=Path, help="the generated project (default: the current folder)")
    add("--subscription-id", dest="azure_subscription_id")
    add("--tenant-id", dest="azure_tenant_id")
    add("--yes", action="store_true", help="do not ask for the resource group's name")
    add("--delete-data", action="store_true", help="delete the storage account too")


def _short(resource_id: str) -> str:
    return resource_id.split("/providers/", 1)[-1]


def main(args: argparse.Namespace, console: Console) -> int:
    """Look up, show, confirm, delete."""
    start = (args.project_dir or Path.cwd()).resolve()
    project_dir = find_project_dir(start) or start
    try:
        # Azure DevOps is never touched here: its settings may be empty.
        raw = json.loads((project_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
        settings = load(
            project_dir,
            organization_url=raw.get("organization_url") or "https://dev.azure.com/unused",
            project=raw.get("project") or "unused",
            azure_subscription_id=args.azure_subscription_id,
            azure_tenant_id=args.azure_tenant_id,
        )
    except (OSError, ValueError) as error:
        console.print(f"[red]Error:[/red] {escape(str(error))}", highlight=False)
        return USAGE
    names = azure_names(settings)
    if not (names.subscription and names.group):
        console.print("[red]Error:[/red] no subscription id or resource group in the settings.")
        return USAGE
    try:
        credential = azure_cli_sign_in(RESOURCE_MANAGER_RESOURCE, settings.azure_tenant_id)
    except SignInError as error:
        console.print(f"[red]Teardown failed:[/red] {escape(str(error))}", highlight=False)
        return FAILED
    wait = lambda message: report.show_wait(console, message)  # noqa: E731
    # What Resource Manager says may quote the token: printed as *** (as provision does).
    with hide_secrets(console, credential.secrets):
        return _teardown(args, console, names, ArmClient(credential, on_wait=wait))


def _teardown(
    args: argparse.Namespace, console: Console, names: AzureNames, client: ArmClient
) -> int:
    try:
        found = teardown.lookup(client, names)
    except AzureDevOpsError as error:
        console.print(f"[red]Teardown failed:[/red] {escape(str(error))}", highlight=False)
        return FAILED
    chosen = teardown.plan(found, delete_data=args.delete_data)
    console.print(
        f"Resource group {names.group}: resources tagged {teardown.TAG}={names.slug}",
        highlight=False,
    )
    for resource in chosen.delete:
        console.print(f"  [red]delete[/red] {escape(_short(resource['id']))}", highlight=False)
    for resource, why in chosen.keep:
        console.print(f"  [green]keep[/green]   {escape(_short(resource['id']))}: {why}")
    console.print(
        "Kept in any case: resources without that tag, the resource group, the pipelines' "
        "identity and the Azure DevOps project and repository.",
        highlight=False,
    )
    if not chosen.delete:
        console.print("Nothing to delete.")
        return OK
    if not args.yes:
        if not sys.stdin.isatty():
            console.print("[red]Error:[/red] not a terminal: pass --yes to confirm.")
            return USAGE
        typed = input(f"Type the resource group's name ({names.group}) to delete these: ")
        if typed.strip() != names.group:
            console.print("Not confirmed: nothing was deleted.")
            return FAILED
    done = lambda r: console.print(f"  deleted {escape(_short(r['id']))}")  # noqa: E731
    try:
        refused = teardown.apply(client, chosen, on_done=done)
    except AzureDevOpsError as error:
        console.print(
            f"[red]Teardown failed:[/red] {escape(str(error))}. Run 'mlops-template "
            "teardown' again: what is deleted stays deleted.",
            highlight=False,
        )
        return FAILED
    for command in refused:
        console.print(f"[yellow]To do:[/yellow] {escape(command)}", highlight=False)
    return INCOMPLETE if refused else OK
