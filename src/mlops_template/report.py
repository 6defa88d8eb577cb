"""Everything the user reads: the plan, progress, waits, the summary and failures (rich).

Display text lives here only; the other modules hand over values. What is printed while
``redact.hide_secrets`` holds shows every token the run holds as ``***``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .client import quote
from .follow_up import follow_up
from .git import REF
from .lookup import State
from .plan import Action, Plan, Verb
from .settings import Settings

_STYLE = {
    Verb.EXISTS: "green",
    Verb.KEEP: "green",
    Verb.CREATE: "yellow",
    Verb.UPDATE: "yellow",
    Verb.PUSH: "yellow",
    Verb.MANUAL: "red",
}
_LABEL = {
    Verb.EXISTS: "exists",
    Verb.KEEP: "exists, kept as it is",
    Verb.CREATE: "will create",
    Verb.UPDATE: "will update",
    Verb.PUSH: "will push",
    Verb.MANUAL: "not done",
}
_DONE = {Verb.CREATE: "created", Verb.UPDATE: "updated", Verb.PUSH: "pushed"}


def show_plan(console: Console, settings: Settings, plan: Plan) -> None:
    """The plan: each resource, whether it exists or what will be done."""
    table = Table(
        title=f"Azure DevOps: {settings.organization_url} / {settings.project}",
        title_justify="left",
    )
    table.add_column("What")
    table.add_column("Name")
    table.add_column("State")
    for action in plan.actions:
        style = _STYLE[action.verb]
        state = _LABEL[action.verb]
        if action.detail:
            state += f" ({action.detail})"
        table.add_row(action.kind, escape(action.name), f"[{style}]{escape(state)}[/{style}]")
    console.print(table)


def show_blockers(console: Console, blockers: list[str], resume: str) -> None:
    """Why nothing will be done, and the command to run once that is fixed."""
    console.print("[red]Nothing was changed:[/red]", highlight=False)
    for blocker in blockers:
        console.print(f"  - {escape(blocker)}", highlight=False, soft_wrap=True)
    console.print(f"Once that is fixed, run: {escape(resume)}", highlight=False, soft_wrap=True)


def show_wait(console: Console, message: str) -> None:
    """A wait the user should know about (throttling, a project being created, a lock)."""
    sentence = message[:1].upper() + message[1:]  # names keep their case
    console.print(f"[yellow]{escape(sentence)}[/yellow]", highlight=False)


def dry_run(console: Console, requests: int, writes: int) -> None:
    """The end of a dry run."""
    console.print(f"Dry run: nothing was changed ({requests} requests, {writes} writes).")


@contextmanager
def progress(console: Console, total: int) -> Iterator[Callable[[Action], None]]:
    """A progress bar; yields the callback that reports each finished action."""
    bar = Progress(
        TextColumn("Provisioning"), BarColumn(), MofNCompleteColumn(), console=console,
        transient=True,
    )  # fmt: skip
    task = bar.add_task("provisioning", total=max(total, 1))

    def advance(action: Action) -> None:
        done = _DONE.get(action.verb, action.verb.value)
        bar.console.print(f"  {done} {action.kind} {escape(action.name)}", highlight=False)
        bar.advance(task)

    with bar:
        yield advance


def show_result(
    console: Console, settings: Settings, state: State, requests: int, writes: int
) -> None:
    """Web addresses of what exists now, and what is left to do by hand."""
    console.print("[bold]Azure DevOps is set up:[/bold]", highlight=False)
    for what, url in web_urls(settings, state).items():
        console.print(f"  {escape(what)}: {escape(url)}", highlight=False, soft_wrap=True)
    if state.endpoint is not None:
        # The endpoint's isReady ("Endpoints - Get",
        # https://learn.microsoft.com/rest/api/azure/devops/serviceendpoint/endpoints/get).
        ready = "ready" if state.endpoint.get("isReady") else "not ready yet (isReady is false)"
        name = settings.names.service_connection
        console.print(f"  Service connection {escape(name)}: {ready}", highlight=False)
    for note in follow_up(settings, state):
        console.print(f"[yellow]To do:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    console.print(f"{requests} REST requests, {writes} of them writes.")


def show_failure(console: Console, error: BaseException, resume: str) -> None:
    """What failed and why, and the command that picks up from there."""
    console.print(
        f"[red]Azure DevOps setup failed:[/red] {escape(str(error))}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"Nothing already created is lost. To resume: {escape(resume)}",
        highlight=False,
        soft_wrap=True,
    )


def show_interrupted(console: Console, resume: str) -> None:
    """Ctrl-C: what was created is kept; the command that picks up from there."""
    console.print(
        f"[red]Interrupted.[/red] What was created is kept. To resume: {escape(resume)}",
        highlight=False,
        soft_wrap=True,
    )


def web_urls(settings: Settings, state: State) -> dict[str, str]:
    """Web addresses of what exists now."""
    project_url = f"{settings.organization.rest_url}/{quote(settings.project)}"
    urls = {"Project": project_url}
    repo = state.repository
    if repo:
        urls["Repository"] = repo.get("webUrl") or f"{project_url}/_git/{repo['id']}"
    for name, pipeline in state.pipelines.items():
        if pipeline:
            href = (pipeline.get("_links") or {}).get("web", {}).get("href")
            urls[f"Pipeline {name}"] = href or f"{project_url}/_build?definitionId={pipeline['id']}"
    for name, env in state.environments.items():
        if env:
            urls[f"Environment {name}"] = f"{project_url}/_environments/{env['id']}"
    if state.variable_group:
        urls["Variable group"] = (
            f"{project_url}/_library?itemType=VariableGroups&view=VariableGroupView"
            f"&variableGroupId={state.variable_group['id']}"
        )
    if state.endpoint:
        urls["Service connection"] = (
            f"{project_url}/_settings/adminservices?resourceId={state.endpoint['id']}"
        )
    if state.ci_run:
        urls["First CI run"] = str((state.ci_run.get("_links") or {}).get("web", {}).get("href"))
    if repo:
        urls["Branch policies"] = (
            f"{project_url}/_settings/repositories?repo={repo['id']}&_a=policiesMid&refs={REF}"
        )
    return urls
