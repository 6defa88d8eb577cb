"""Configurations the template is baked in, and helpers shared by the template tests."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "docs" / "scripts"))
from prompt_table import load_hook  # noqa: E402, F401  (the hook tests import it from here)

# The fixtures `fake` (the Azure DevOps double) and `baker` of the provisioning tests.
pytest_plugins = ["provisioning_env"]

COOKIECUTTER_JSON = json.loads((REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
# The template folder: the one folder whose name cookiecutter renders into the project's.
TEMPLATE_DIR = REPO_ROOT / "{{cookiecutter.project_slug}}"

# Answers that must survive rendering into TOML, JSON, Markdown and Python.
HOSTILE_ANSWERS = {
    "project_name": "Ünïcödé \"Quoted\" 'Single' \\back\\slash {braces} <tag> & 100%",
    # Characters beyond the Basic Multilingual Plane: an emoji, an emoji sequence.
    "description": 'Says "hi", \'bye\', C:\\path\\ {x} ¿qué? 数据 🚀 """triple""" \\',
    "author_name": 'Zoë O\'Brien "ZOB" 👩‍💻',
    "module_name": "a_rather_long_module_name_that_tests_line_wrapping",
}


SDKS = COOKIECUTTER_JSON["azureml_sdk"]
PYTHONS = COOKIECUTTER_JSON["python_version"]
DEFAULT_PYTHON = PYTHONS[0]


def _case(sdk: str, python: str) -> Any:
    return pytest.param({"azureml_sdk": sdk, "python_version": python}, id=f"{sdk}-py{python}")


# Every combination of the options that change what is generated: each is
# baked and checked by the fast tier.
CONFIGURATIONS = [_case(sdk, python) for sdk, python in itertools.product(SDKS, PYTHONS)] + [
    pytest.param(HOSTILE_ANSWERS, id="hostile-answers")
]
# The slow tier runs each SDK's whole suite once, on the default Python ...
WHOLE_SUITE = [_case(sdk, DEFAULT_PYTHON) for sdk in SDKS]
# ... and, on every other offered Python (with each SDK) and for the hostile
# answers, what can differ there: the install, the imports, the hooks and the
# tests that run the project's code on that interpreter.
OWN_INTERPRETER = [_case(sdk, python) for python, sdk in itertools.product(PYTHONS[1:], SDKS)] + [
    pytest.param(HOSTILE_ANSWERS, id="hostile-answers")
]


@pytest.fixture(scope="session")
def bake(cookies_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Bake once per distinct set of answers in the session; return the result.

    At the session's end the bakes' folders (each project with its
    environments and node_modules beside or inside it) are moved out of
    pytest-cookies' folder and deleted by a detached ``rm -rf``: deleting
    them in pytest-cookies' teardown took about a minute per bake on this
    machine, at the end of every worker's run.
    """
    results: dict[str, Any] = {}
    copies: dict[str, Any] = {}

    def _bake(extra_context: dict[str, str] | None = None, *, to_run: bool = False) -> Any:
        """The bake of ``extra_context``, as generated; with ``to_run``, a copy of it.

        The copy is for the tests that run commands in the project (its environment,
        ``npm ci``, training, the README's setup): they share it, and the bake the
        other tests read stays exactly as cookiecutter wrote it, whichever worker
        runs them in whatever order.
        """
        key = json.dumps(extra_context or {}, sort_keys=True)
        if key not in results:
            result = cookies_session.bake(extra_context=extra_context or {})
            assert result.exception is None, result.exception
            assert result.exit_code == 0
            results[key] = result
        if not to_run:
            return results[key]
        if key not in copies:
            source = results[key].project_path
            target = tmp_path_factory.mktemp("run-bake") / source.name
            shutil.copytree(source, target, symlinks=True)
            copies[key] = type(results[key])(project_dir=target, context=results[key].context)
        return copies[key]

    yield _bake
    dropped = tmp_path_factory.mktemp("dropped-bakes")
    for result in [*results.values(), *copies.values()]:
        folder = result.project_path.parent  # pytest-cookies' bakeNN folder, or run-bakeN
        if folder.exists():
            folder.rename(dropped / folder.name)
    # Not waited for: pytest's own tmp retention removes what a killed rm leaves.
    subprocess.Popen(
        ["rm", "-rf", str(dropped)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def git(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run git; its output."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


def commit_all(repo: Path, message: str) -> None:
    """Commit every change in ``repo`` as a throwaway author."""
    git(["add", "-A"], repo)
    git(["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", message], repo)


def committed_template(repo: Path) -> Path:
    """The template as it is in this checkout, committed in ``repo`` (cruft clones one)."""
    listing = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO_ROOT)
    for name in filter(None, listing.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(["init", "-q", "-b", "main"], repo)
    commit_all(repo, "template")
    return repo


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Collect the slow tests first, then the tool's, so that the workers start on
    the longest and the ones that mostly wait (on the tool's subprocess, its retries),
    and the bake tests, all CPU, fill the gaps (the order within each group is kept)."""
    tool = REPO_ROOT / "tests" / "tool"
    items.sort(
        key=lambda item: (item.get_closest_marker("slow") is None, tool not in item.path.parents)
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Two workers per core for ``--numprocesses=auto``.

    Much of a test's time is spent waiting: on the tool's subprocess, a double's answer,
    a retry's sleep. Measured on this 2-core machine, ``tests/tool -m "not slow"`` took
    130 s with 2 workers and 80 s with 4.
    """
    return 2 * (os.cpu_count() or 1)
