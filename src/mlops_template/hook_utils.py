"""What the template's hooks and its Jinja extension share: the facts of ``cookiecutter.json``.

``cookiecutter.json`` is the one place for the template's choice lists, the length limits its
derived names keep to (private ``__<answer>_max_length`` variables, which its defaults slice
by) and the order of its questions. ``hooks/pre_gen_project.py`` imports this module from
the template checkout its Jinja extension names (``template_checkout``), as
cookiecutter-data-science's hooks import ``ccds.hook_utils``; the extension
(``mlops_template_answers.py``) loads this file from its own checkout. Standard library
only, and nothing imported from this package, so that either can load it by itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Jinja markup: cookiecutter renders every answer as a template (mlops_template_answers.py).
JINJA_MARKUP = ("{{", "{%", "{#")
# The answer whose emptiness skips the Azure DevOps questions asked after it.
ORGANIZATION_URL = "azure_devops_org_url"
_MAX_LENGTH = "_max_length"


@dataclass(frozen=True)
class TemplateFacts:
    """The facts of one ``cookiecutter.json``."""

    choices: dict[str, tuple[str, ...]]
    max_lengths: dict[str, int]
    setup_only: tuple[str, ...]


def template_facts(checkout: Path) -> TemplateFacts:
    """Read the checkout's ``cookiecutter.json``: choices, length limits, setup-only questions.

    The setup-only questions are those asked after the organization URL: at the prompt, an
    empty URL skips them (mlops_template_answers.py).
    """
    variables = json.loads((checkout / "cookiecutter.json").read_text(encoding="utf-8"))
    asked = [name for name in variables if not name.startswith("_")]
    return TemplateFacts(
        choices={
            name: tuple(variables[name]) for name in asked if isinstance(variables[name], list)
        },
        max_lengths={
            name[2 : -len(_MAX_LENGTH)]: int(value)
            for name, value in variables.items()
            if name.startswith("__") and name.endswith(_MAX_LENGTH)
        },
        setup_only=tuple(asked[asked.index(ORGANIZATION_URL) + 1 :]),
    )
