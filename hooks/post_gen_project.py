"""Finish the generated project: lay out the chosen SDK variant, make the first commit.

Cookiecutter deletes the project when this hook exits non-zero, so nothing
here may fail the bake: a step that cannot run says why and how to do it by
hand, and the hook still exits 0.

This file is plain Python: the only template expression sits inside a string
in ``main()``, so tests import it as it is and call its functions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Files that belong to one Azure ML SDK variant live under _variants/<sdk>/,
# laid out as in the project; the chosen one is laid over the project.
VARIANTS_DIR = "_variants"

FIRST_COMMIT_MESSAGE = "Initial commit from mlops-template"


def apply_variant(project_dir: Path, azureml_sdk: str) -> list[Path]:
    """Move the files of the chosen SDK variant into place; drop the others.

    Returns the files moved, as paths in the project.
    """
    variants = project_dir / VARIANTS_DIR
    chosen = variants / azureml_sdk
    moved = []
    if chosen.is_dir():
        for source in sorted(path for path in chosen.rglob("*") if path.is_file()):
            target = project_dir / source.relative_to(chosen)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
            moved.append(target)
    shutil.rmtree(variants, ignore_errors=True)
    return moved


def _git_environment(author_name: str, author_email: str) -> dict[str, str]:
    """Environment for the first commit: the author answers, no prompts."""
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME=author_name,
        GIT_AUTHOR_EMAIL=author_email,
        GIT_COMMITTER_NAME=author_name,
        GIT_COMMITTER_EMAIL=author_email,
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def init_git(project_dir: Path, author_name: str, author_email: str) -> str | None:
    """Create the repository on ``main`` with one commit of every file.

    Returns None on success, else a message saying what failed and how to
    finish by hand. The author answers sign this commit only; the user's git
    configuration is not changed.
    """
    by_hand = (
        f"cd {project_dir} && git init -b main && git add -A && "
        f'git commit -m "{FIRST_COMMIT_MESSAGE}"'
    )
    if shutil.which("git") is None:
        return f"git was not found on PATH. Install git, then run: {by_hand}"
    env = _git_environment(author_name, author_email)
    commands = (
        ["git", "init", "--quiet", "-b", "main"],
        ["git", "add", "--all"],
        # The user's signing and hook settings would need keys or tools the
        # bake cannot assume; this first commit is unsigned and hook-free.
        [
            "git",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            FIRST_COMMIT_MESSAGE,
        ],
    )
    for command in commands:
        result = subprocess.run(
            command,
            cwd=project_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip()
            return f"'{' '.join(command)}' failed: {reason}. To finish: {by_hand}"
    return None


def hand_over_to_provisioning(answers: dict[str, str], project_dir: Path) -> str:
    """Hand-over point to the Azure DevOps provisioning of the generated project.

    Returns the line to show the user. Provisioning runs only when an
    organization URL was given; it is not part of this template version yet,
    so the project is left ready for a later ``provision`` run.
    """
    org_url = answers.get("azure_devops_org_url", "")
    if not org_url:
        return (
            "Azure DevOps setup skipped: no organization URL was given. "
            f"The project is ready in {project_dir}."
        )
    return (
        f"Azure DevOps setup for {org_url} is not available in this template "
        f"version yet; the project is ready locally in {project_dir}."
    )


def main() -> int:
    """Run the post-generation steps; never fail the bake."""
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    project_dir = Path.cwd()
    apply_variant(project_dir, answers["azureml_sdk"])
    problem = init_git(project_dir, answers["author_name"], answers["author_email"])
    if problem:
        print(f"WARNING: the git repository was not created. {problem}")
    print(hand_over_to_provisioning(answers, project_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
