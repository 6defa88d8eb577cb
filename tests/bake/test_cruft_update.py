"""`cruft update` after a template change, with the real cruft and cookiecutter.

The template is copied into its own git repository, a project is made from
it (``cruft create``, or a plain ``cookiecutter`` bake that records
``.cruft.json``), the team commits a change of its own, the template commits
a change, and ``cruft update -y`` runs in the project. The change must land as
a working-tree change (HEAD unchanged, no ``.rej``), and cruft's temporary
bakes must have no side effect: no ``git init``, no commit, no request to the
organization URL, even with a token in the environment.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import commit_all, committed_template, git
from project_env import run

from mlops_template.organization import RULE

# Three projects, each baked three times (create, and cruft's two bakes): ~25 s.
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TEMPLATE_LINE = "Template change: this line came with `cruft update`."
TEAM_LINE = "# The team's own change."
# git subcommands that only the post-generation hook runs (cruft never does).
HOOK_GIT_COMMANDS = ("init", "fast-import", "push")


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """The template as it is in this checkout, committed in a repository of its own."""
    return committed_template(tmp_path / "template")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on 127.0.0.1 that records whether anything connected to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """cookiecutter and cruft with their own config, a git that logs its calls, TMPDIR set."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    real_git = shutil.which("git")
    assert real_git
    shim = shim_dir / "git"
    shim.write_text(
        f'#!/bin/sh\nprintf "%s\\t%s\\n" "$PWD" "$*" >> "{tmp_path / "git-calls.log"}"\n'
        f'exec {real_git} "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n"
    )
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "AZURE_DEVOPS_EXT_PAT"}
    env.update(
        PATH=f"{shim_dir}{os.pathsep}{BIN}{os.pathsep}{env['PATH']}",
        COOKIECUTTER_CONFIG=str(config),
        TMPDIR=str(temporary),
        GIT_AUTHOR_NAME="T",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="T",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env


def create(tool: str, template: Path, out: Path, answers: dict[str, str], env: dict) -> Path:
    """Make a project with ``cruft create`` or ``cookiecutter``, as the docs say."""
    out.mkdir()
    if tool == "cruft":
        command = [str(BIN / "cruft"), "create", "--no-input", str(template)]
        command += ["--output-dir", str(out), "--extra-context", json.dumps(answers)]
    else:
        command = [str(BIN / "cookiecutter"), "--no-input", "-o", str(out), str(template)]
        command += [f"{key}={value}" for key, value in answers.items()]
    run(command, out.parent, env)
    (project,) = out.iterdir()
    if tool == "cruft":  # cruft writes .cruft.json after the hook's first commit
        commit_all(project, "Link the project to its template")
    return project


@pytest.mark.parametrize(
    ("tool", "provisioning"),
    [("cruft", False), ("cruft", True), ("cookiecutter", True)],
    ids=["cruft-create", "cruft-create-with-organization", "cookiecutter-with-organization"],
)
def test_cruft_update_lands_a_template_change_without_side_effects(
    tmp_path: Path,
    template: Path,
    listener: socket.socket,
    environment: dict[str, str],
    tool: str,
    provisioning: bool,
) -> None:
    answers = {"project_name": "Churn Model"}
    if provisioning:
        port = listener.getsockname()[1]
        answers["azure_devops_org_url"] = f"http://127.0.0.1:{port}/contoso"
    project = create(tool, template, tmp_path / "out", answers, environment)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["commit"] == git(["rev-parse", "HEAD"], template).strip()
    # The team's own work, committed.
    settings = project / "src" / "churn_model" / "__init__.py"
    settings.write_text(settings.read_text(encoding="utf-8") + TEAM_LINE + "\n")
    commit_all(project, "Team change")
    head = git(["rev-parse", "HEAD"], project)
    # The template moves on.
    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{TEMPLATE_LINE}\n")
    commit_all(template, "Template change")
    (tmp_path / "git-calls.log").unlink()

    result = run(
        [str(BIN / "cruft"), "update", "-y"],
        project,
        {**environment, "AZURE_DEVOPS_EXT_PAT": "not-a-real-token"},
    )

    assert git(["rev-parse", "HEAD"], project) == head
    changed = sorted(line[3:] for line in git(["status", "--porcelain"], project).splitlines())
    assert changed == [".cruft.json", "README.md"], result.stdout + result.stderr
    assert TEMPLATE_LINE in (project / "README.md").read_text(encoding="utf-8")
    assert TEAM_LINE in settings.read_text(encoding="utf-8")
    assert not list(project.rglob("*.rej"))
    calls = (tmp_path / "git-calls.log").read_text().splitlines()
    hook_calls = [call for call in calls if call.split("\t")[1].split()[0] in HOOK_GIT_COMMANDS]
    assert hook_calls == [], hook_calls
    assert select.select([listener], [], [], 0)[0] == [], "the update bake made a request"
    assert "Azure DevOps" not in result.stdout + result.stderr
    new_state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert new_state["commit"] == git(["rev-parse", "HEAD"], template).strip()


def test_cruft_create_checks_the_organization_url_with_the_tools_rule(
    tmp_path: Path, template: Path, environment: dict[str, str]
) -> None:
    """cruft passes no ``_repo_dir``: the template's extension names the checkout instead."""
    out = tmp_path / "out"
    out.mkdir()
    answers = {"project_name": "Churn Model", "azure_devops_org_url": "https://github.com/contoso"}
    command = [str(BIN / "cruft"), "create", "--no-input", str(template)]
    command += ["--output-dir", str(out), "--extra-context", json.dumps(answers)]
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    url = answers["azure_devops_org_url"]
    assert f"ERROR: azure_devops_org_url={url!r} is not valid: it must be {RULE}" in result.stderr
    assert list(out.iterdir()) == []
