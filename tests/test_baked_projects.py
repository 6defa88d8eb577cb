"""Inside each baked project, run what its users and its CI run.

Slow tier (``-m slow``): builds the project's environment from its own
requirements, installs Azurite with ``npm ci``, then runs its ruff, its
pre-commit hooks and its whole pytest suite with CI set, so nothing skips.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGURATIONS
from project_env import clean_environment, npm_ci, project_environment, run

pytestmark = pytest.mark.slow


def readme_setup_command(project: Path) -> str:
    """The one-command development setup the generated README gives."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Set up.*?```bash\n(.+?)\n```", readme, re.DOTALL)
    assert match, "the generated README has no setup command"
    return match.group(1)


def assert_all_passed(output: str) -> None:
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"=* ?\d+ passed in [\d.]+s( \([\d:]+\))? ?=*", summary), summary


def run_project_checks(project: Path, env_dir: Path) -> None:
    env = clean_environment(env_dir)
    python = str(env_dir / "bin" / "python")
    run([python, "-m", "ruff", "check", "."], project, env)
    run([python, "-m", "ruff", "format", "--check", "."], project, env)
    run([str(env_dir / "bin" / "pre-commit"), "run", "--all-files"], project, env)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert_all_passed(result.stdout)
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        == ""
    ), "running the checks changed tracked files"


def test_readme_setup_command_gives_a_working_project(bake: Any) -> None:
    """The default bake, set up exactly as its README says, passes its own checks."""
    project = bake().project_path
    run(["bash", "-c", readme_setup_command(project)], project, clean_environment())
    run_project_checks(project, project / ".venv")


@pytest.mark.parametrize("extra_context", CONFIGURATIONS)
def test_baked_project_passes_its_own_lint_and_tests(bake: Any, extra_context: dict) -> None:
    result = bake(extra_context)
    project = result.project_path
    env_dir = project_environment(project, result.context["python_version"])
    npm_ci(project)
    run_project_checks(project, env_dir)
