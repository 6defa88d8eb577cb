"""Inside each baked project, run what its users and its CI run.

Slow tier (``-m slow``): installs the project's environment from its own lock
file, installs Azurite with ``npm ci``, then runs its ruff, its pre-commit
hooks and its pytest suite with CI set, so nothing skips: the whole suite once
per SDK, and on every other offered Python (and for the hostile answers) the
parts that can differ there. Every configuration's lint runs in the fast tier
(``tests/test_bake.py``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import OWN_INTERPRETER, WHOLE_SUITE
from project_env import clean_environment, free_port, npm_ci, project_environment, run

pytestmark = pytest.mark.slow

# A pytest run in which every test ran and passed (under CI nothing skips).
PASSED = re.compile(
    r"=* ?\d+ passed(, \d+ deselected)?(, \d+ warnings?)? in [\d.]+s( \([\d:]+\))? ?=*"
)
# What runs on the other interpreters: all but the notebooks (they run the
# same package through a kernel of the same environment).
INTERPRETER_TESTS = ("-m", "not notebook")


def readme_commands(project: Path, section: str) -> list[str]:
    """The bash commands of one section of the generated README, in order."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    body = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert body, f"the generated README has no section {section!r}"
    commands = re.findall(r"```bash\n(.+?)\n```", body.group(1), re.S)
    assert commands, f"the README section {section!r} has no command"
    return commands


def readme_setup_command(project: Path) -> str:
    """The one-command development setup the generated README gives."""
    return readme_commands(project, "Set up")[0]


def pytest_summary(output: str) -> str:
    return output.strip().splitlines()[-1]


def run_project_checks(project: Path, env_dir: Path) -> None:
    """Lint, hooks and the whole suite, with CI set: every test runs, none skips."""
    env = clean_environment(env_dir)
    python = str(env_dir / "bin" / "python")
    run([python, "-m", "ruff", "check", "."], project, env)
    run([python, "-m", "ruff", "format", "--check", "."], project, env)
    run([str(env_dir / "bin" / "pre-commit"), "run", "--all-files"], project, env)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    summary = pytest_summary(result.stdout)
    assert PASSED.fullmatch(summary) and "deselected" not in summary, summary
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


def run_readme_serve_and_smoke_test(project: Path, env: dict[str, str]) -> None:
    """The README's serve command (on a free port) and its smoke test against it.

    The server's log must hold no error trace: serving locally is quiet.
    """
    serve, smoke = readme_commands(project, "Serve it locally and smoke-test it")
    port = str(free_port())
    server = subprocess.Popen(
        ["bash", "-c", serve.replace("5001", port)],  # ends in exec: terminate() stops gunicorn
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answer = run(["bash", "-c", smoke.replace("5001", port)], project, env)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "127.0.0.1:" + port in output, output
    assert "Traceback" not in output and "Error while" not in output, output
    assert answer.returncode == 0


def test_readme_setup_command_gives_a_working_project(bake: Any) -> None:
    """The default bake, set up exactly as its README says (the full developer
    setup from requirements/lock/dev.txt, with pip): it installs without
    resolving, JupyterLab is there, the notebooks run, and ruff passes. (The
    whole suite runs on the CI lock, whose pins are the same.)"""
    project = bake(to_run=True).project_path
    env = clean_environment()
    del env["CI"]  # a data scientist's own machine
    setup = run(["bash", "-c", readme_setup_command(project)], project, env)
    assert "This is taking longer than usual" not in setup.stdout + setup.stderr
    venv = project / ".venv"
    env = clean_environment(venv)
    del env["CI"]
    run([str(venv / "bin" / "jupyter"), "lab", "--version"], project, env)
    result = run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m",
         "notebook"],
        project,
        env,
    )  # fmt: skip
    assert PASSED.fullmatch(pytest_summary(result.stdout)), result.stdout[-2000:]
    run([str(venv / "bin" / "ruff"), "check", "."], project, env)


@pytest.mark.parametrize("extra_context", WHOLE_SUITE)
def test_baked_project_passes_its_own_lint_and_tests(bake: Any, extra_context: dict) -> None:
    """Each SDK on the default Python, installed as its CI pipeline installs it
    (its lock file): lint, hooks and the whole suite, nothing skipped."""
    result = bake(extra_context, to_run=True)
    project = result.project_path
    env_dir = project_environment(project, result.context["python_version"])
    npm_ci(project)
    run_project_checks(project, env_dir)


@pytest.mark.parametrize("extra_context", OWN_INTERPRETER)
def test_baked_project_runs_on_its_own_interpreter(bake: Any, extra_context: dict) -> None:
    """Every other offered Python with each SDK, and the hostile answers: the
    locked environment installs on that interpreter, the package and its SDK
    import there, and the tests that run the project's code pass (the
    notebooks and the schema checks, which do not depend on the interpreter,
    run once per SDK above)."""
    result = bake(extra_context, to_run=True)
    project = result.project_path
    env_dir = project_environment(project, result.context["python_version"])
    npm_ci(project)
    env = clean_environment(env_dir)
    python = str(env_dir / "bin" / "python")
    version = run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], project, env)
    assert version.stdout.strip() == result.context["python_version"]
    run([str(env_dir / "bin" / "pre-commit"), "run", "--all-files"], project, env)
    outcome = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *INTERPRETER_TESTS], project, env
    )
    assert PASSED.fullmatch(pytest_summary(outcome.stdout)), outcome.stdout[-2000:]


@pytest.mark.parametrize("sdk", ["v1", "v2"])
def test_readme_commands_train_serve_and_smoke_test(bake: Any, sdk: str) -> None:
    """The README's train, serve and smoke-test commands, run as written
    (but for a free port), pass in a fresh bake of each SDK variant."""
    result = bake({"azureml_sdk": sdk}, to_run=True)
    project = result.project_path
    env_dir = project_environment(project, result.context["python_version"])
    env = clean_environment(env_dir)
    (train,) = readme_commands(project, "Train a model")
    run(["bash", "-c", train], project, env)
    assert (project / "outputs" / "model.pkl").is_file()
    run_readme_serve_and_smoke_test(project, env)
