"""What the user sees: the plan, progress, and the summary, drawn with rich."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .config import Settings
from .steps import CREATE, EXISTS, MANUAL, PUSH, UPDATE, Item, Plan, Result

_STYLE = {
    EXISTS: "green",
    CREATE: "yellow",
    UPDATE: "yellow",
    PUSH: "yellow",
    MANUAL: "red",
}
_LABEL = {
    EXISTS: "exists",
    CREATE: "will create",
    UPDATE: "will update",
    PUSH: "will push",
    MANUAL: "missing",
}


def show_plan(console: Console, settings: Settings, plan: Plan) -> None:
    """The plan: each resource, whether it exists or will be created."""
    table = Table(
        title=f"Azure DevOps: {settings.organization_url} / {settings.project}",
        title_justify="left",
    )
    table.add_column("What")
    table.add_column("Name")
    table.add_column("State")
    for item in plan.items:
        style = _STYLE.get(item.action, "")
        state = _LABEL.get(item.action, item.action)
        if item.detail:
            state += f" ({item.detail})"
        table.add_row(
            item.kind, escape(item.name), f"[{style}]{escape(state)}[/{style}]"
        )
    console.print(table)


def show_blockers(console: Console, blockers: list[str], resume: str) -> None:
    """Why nothing will be done, and the command to run once that is fixed."""
    console.print("[red]Nothing was changed:[/red]", highlight=False)
    for blocker in blockers:
        console.print(f"  - {escape(blocker)}", highlight=False, soft_wrap=True)
    console.print(
        f"Once that is fixed, run: {escape(resume)}", highlight=False, soft_wrap=True
    )


@contextmanager
def progress(console: Console, total: int) -> Iterator[Callable[[Item], None]]:
    """A progress bar; yields the callback that reports each finished item."""
    bar = Progress(
        TextColumn("Provisioning"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("provisioning", total=max(total, 1))

    def advance(item: Item) -> None:
        bar.console.print(
            f"  {item.action} {item.kind} {escape(item.name)}", highlight=False
        )
        bar.advance(task)

    with bar:
        yield advance


def show_result(console: Console, result: Result) -> None:
    """Web addresses of what exists now, and what is left to do by hand."""
    console.print("[bold]Azure DevOps is set up:[/bold]", highlight=False)
    for what, url in result.web_urls.items():
        console.print(
            f"  {escape(what)}: {escape(url)}", highlight=False, soft_wrap=True
        )
    for note in result.follow_up:
        console.print(
            f"[yellow]To do:[/yellow] {escape(note)}", highlight=False, soft_wrap=True
        )
    console.print(f"{result.requests} REST requests, {result.writes} of them writes.")


def show_failure(console: Console, error: Exception, resume: str) -> None:
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
