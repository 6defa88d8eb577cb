"""The documentation matches what it documents."""

from __future__ import annotations

import re

import prompt_table
import pytest
import storage_table
from conftest import COOKIECUTTER_JSON, REPO_ROOT

ASKED = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_prompt_tables_are_generated_from_cookiecutter_json() -> None:
    assert prompt_table.main(["--check"]) == 0, "run: python docs/scripts/prompt_table.py"


def test_storage_table_readme_secrets_example_and_pipeline_env_are_generated() -> None:
    """The README's and docs' key table, secrets.example.json and model-build.yml's env:
    mapping are what storage_credentials.json gives."""
    assert storage_table.main(["--check"]) == 0, "run: python docs/scripts/storage_table.py"


def test_storage_table_has_a_row_per_key() -> None:
    keys = storage_table.load_keys()
    table = storage_table.render_table(keys)
    assert [re.match(r"\| `(\w+)`", row).group(1) for row in table.splitlines()[2:]] == list(keys)


def test_prompt_table_has_a_row_per_asked_variable() -> None:
    table = prompt_table.render_table(COOKIECUTTER_JSON)
    assert [re.match(r"\| `(\w+)`", row).group(1) for row in table.splitlines()[2:]] == ASKED


@pytest.mark.parametrize("name", ASKED)
def test_every_asked_variable_has_a_prompt(name: str) -> None:
    prompt = COOKIECUTTER_JSON["__prompts__"][name]
    if isinstance(COOKIECUTTER_JSON[name], list):
        assert prompt["__prompt__"]
        assert all(prompt[choice] for choice in COOKIECUTTER_JSON[name]), "a choice has no label"
    else:
        assert isinstance(prompt, str) and prompt


def test_no_secret_is_a_variable() -> None:
    for name in COOKIECUTTER_JSON:
        assert not re.search(r"pat|token|key|secret|password", name), name


def first_screen_commands() -> list[str]:
    block = re.search(r"```bash\n(.+?)\n```", README, re.DOTALL)
    assert block and block.start() < 1500, "the commands must be on the README's first screen"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_first_screen_has_the_generate_and_test_commands() -> None:
    commands = first_screen_commands()
    assert any(command.startswith("./scripts/new-project") for command in commands)
    assert "./scripts/test" in commands


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == "./scripts/test"


@pytest.mark.parametrize("page", sorted((REPO_ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_relative_links_resolve(page) -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text(encoding="utf-8")):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (REPO_ROOT / target).exists(), target
