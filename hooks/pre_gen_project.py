"""Validate the answers before cookiecutter writes anything.

Each rule names the answer, what it must look like and a good example. A bad
answer prints one ``ERROR:`` line per rule broken and exits 1; cookiecutter
then removes the project folder, so nothing is left behind.

This file is plain Python: its template expressions sit inside strings (the
answers in ``main()``, the checkout in ``_template_source()``), so tests and the
docs generator import it as it is. The organization-URL rule is the tool's own
(``mlops_template.organization``), imported from the template checkout.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def _template_source() -> Path | None:
    """The template checkout's ``src/`` (the tool's organization-URL rule lives there).

    Cookiecutter (2.2 and later) renders ``_repo_dir`` below into the checkout it bakes
    from; cruft calls cookiecutter's ``generate_files`` without it, and there the
    template's own Jinja extension names the checkout (``template_checkout``,
    mlops_template_answers.py). Imported as is (tests, docs generator), this file's own
    checkout. None when neither is known.
    """
    rendered = r"""{{ cookiecutter._repo_dir | default(template_checkout | default("")) }}"""
    if rendered.startswith("{"):
        return Path(__file__).resolve().parents[1] / "src"
    source = Path(rendered) / "src"
    return source if rendered and (source / "mlops_template").is_dir() else None


_SOURCE = _template_source()
if _SOURCE is not None:
    sys.path.insert(0, str(_SOURCE))
try:
    from mlops_template import organization  # (from the template checkout)
except ImportError:  # the checkout is not known: the tool checks the URL when it runs
    organization = None

SUPPORTED_DATA_EXTENSIONS = (".csv", ".csv.gz", ".parquet", ".json", ".jsonl")
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
AZUREML_SDKS = ("v2", "v1")
YES_NO = ("no", "yes")

# Top-level names the generated project, its tools and its tests import, and
# packages of its dependencies that they load in turn: a package named like
# one of them would shadow it (tests/test_pre_gen_hook.py checks that every
# import in the template is listed).
DEPENDENCY_MODULES = frozenset(
    {
        # The project's own top-level folders and test helpers.
        "ops",
        "tests",
        "conftest",
        "azurite_service",
        "inference_server",
        "prerequisites",
        "azure_devops_names",
        "deployment_router",
        # Imported by the project (requirements/*.txt and the SDK variants).
        "azure",
        "azureml",
        "azureml_inference_server_http",
        "joblib",
        "matplotlib",
        "mlflow",
        "nbclient",
        "nbformat",
        "numpy",
        "packaging",
        "pandas",
        "pyarrow",
        "pydantic_core",
        "pytest",
        "requests",
        "rich",
        "scipy",
        "sklearn",
        "uv",
        "yaml",
        # Loaded by those, or run as tools in the project's environment.
        "_pytest",
        "check_jsonschema",
        "certifi",
        "coverage",
        "flask",
        "gunicorn",
        "ipykernel",
        "jinja2",
        "jsonschema",
        "marshmallow",
        "msal",
        "nbstripout",
        "pip",
        "pluggy",
        "pre_commit",
        "pydantic",
        "pytest_cov",
        "ruff",
        "setuptools",
        "typing_extensions",
        "urllib3",
    }
)

# Jinja markup. Cookiecutter renders every answer as a template, and `cruft
# update` renders the recorded ones again; the template's extension keeps them
# as typed (mlops_template_answers.py), but a cookiecutter it cannot wrap would
# not: an answer holding markup is refused rather than trusted to stay as typed.
# (Spelled in two halves: cookiecutter renders this file with Jinja first.)
JINJA_MARKUP = tuple("{" + second for second in ("{", "%", "#"))
_NO_MARKUP = "without " + ", ".join(repr(markup) for markup in JINJA_MARKUP)

# The project_slug that cookiecutter.json derives from a project_name with no
# letter or digit, and the folder name of an empty project_slug (the template
# folder's name), so that the folder exists and this hook can say so.
EMPTY_SLUG = "-"

_SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_MODULE = re.compile(r"[a-z_][a-z0-9_]*")
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_STORAGE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER = re.compile(r"(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*")
_BLOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,1023}")
_DEVOPS_PROJECT_FORBIDDEN = set("\\/:*?\"'<>;#$*{},+=[]|%&@")
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,32}")
_SERVICE_CONNECTION = re.compile(r"[A-Za-z0-9._()-]([A-Za-z0-9 ._()-]{0,98}[A-Za-z0-9._()-])?")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@dataclass(frozen=True)
class Rule:
    """One rule an answer must follow."""

    answer: str
    rule: str
    example: str
    check: Callable[[str], bool]

    def message(self, value: str) -> str:
        """The one-line error for a value that breaks this rule."""
        return (
            f"ERROR: {self.answer}={value!r} is not valid: it must be {self.rule}. "
            f"Answer again with a value such as {self.example!r}."
        )


def _full(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


def _optional(check: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda value: value == "" or check(value)


def _is_module_name(value: str) -> bool:
    return (
        _MODULE.fullmatch(value) is not None
        and not keyword.iskeyword(value)
        and value not in sys.stdlib_module_names
        and value not in DEPENDENCY_MODULES
    )


def _is_plain_text(value: str) -> bool:
    """One line of text without Jinja markup, safe in TOML, YAML and JSON strings.

    Letters from any plane (emoji, CJK) are welcome; control characters (line
    breaks, tabs) and lone surrogates are not.
    """
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in value) and not any(
        markup in value for markup in JINJA_MARKUP
    )


def empty_slug_error(answers: dict[str, object]) -> str | None:
    """The one error line for an empty folder name, given or derived from the project name."""
    slug = answers.get("project_slug")
    if slug == "":
        return (
            "ERROR: project_slug='' is empty: it must hold at least one letter. Answer "
            "again with a name such as 'churn-model', or leave project_slug out to derive "
            "it from project_name."
        )
    if slug != EMPTY_SLUG:
        return None
    return (
        f"ERROR: project_name={answers.get('project_name')!r} gives an empty folder name "
        "(project_slug): it must hold at least one letter or digit. Answer again with a "
        "name such as 'Churn Model', or give project_slug yourself."
    )


def _is_devops_project(value: str) -> bool:
    return (
        0 < len(value) <= 64
        and value == value.strip()
        and not value.startswith(("_", "."))
        and not value.endswith(".")
        and not set(value) & _DEVOPS_PROJECT_FORBIDDEN
        and value.isprintable()
    )


def _is_email_list(value: str) -> bool:
    addresses = [address.strip() for address in value.split(",")]
    return value.strip() == "" or all(_EMAIL.fullmatch(a) for a in addresses)


def _is_data_file(value: str) -> bool:
    return _BLOB_NAME.fullmatch(value) is not None and value.lower().endswith(
        SUPPORTED_DATA_EXTENSIONS
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "project_name",
        f"a non-empty name on one line, {_NO_MARKUP}",
        "Churn Model",
        lambda value: value.strip() != "" and _is_plain_text(value),
    ),
    Rule(
        "project_slug",
        "2 to 50 lowercase letters, digits and single hyphens, starting with a letter",
        "churn-model",
        lambda value: 2 <= len(value) <= 50 and _SLUG.fullmatch(value) is not None,
    ),
    Rule(
        "module_name",
        "a lowercase Python identifier that is not a keyword and does not shadow "
        "a standard-library module, a package the project imports (pandas, requests, "
        "rich, yaml, azureml, ...) or its own ops/ and test helpers",
        "churn_model",
        _is_module_name,
    ),
    Rule(
        "description",
        f"one line of text, {_NO_MARKUP}",
        "Churn prediction for the retail team",
        _is_plain_text,
    ),
    Rule(
        "author_name",
        f"a non-empty name on one line, without '<' or '>', {_NO_MARKUP} "
        "(it signs the first git commit)",
        "Data Science Team",
        lambda value: value.strip() != "" and _is_plain_text(value) and not set(value) & set("<>"),
    ),
    Rule(
        "author_email",
        "an e-mail address (it signs the first git commit)",
        "data-science@contoso.com",
        _full(_EMAIL),
    ),
    Rule(
        "python_version",
        "one of " + ", ".join(PYTHON_VERSIONS),
        "3.11",
        lambda value: value in PYTHON_VERSIONS,
    ),
    Rule(
        "azureml_sdk",
        "one of " + ", ".join(AZUREML_SDKS),
        "v2",
        lambda value: value in AZUREML_SDKS,
    ),
    Rule(
        "model_name",
        "an Azure ML model name: 1 to 255 letters, digits, '-', '_' or '.', "
        "starting with a letter or digit",
        "churn-model",
        _full(_MODEL),
    ),
    Rule(
        "azure_devops_org_url",
        organization.RULE if organization else "an Azure DevOps organization URL",
        organization.EXAMPLE if organization else "https://dev.azure.com/contoso",
        # Without the checkout (neither _repo_dir nor the extension), the tool checks it.
        _optional(organization.is_valid) if organization else (lambda value: True),
    ),
    Rule(
        "azure_devops_project",
        "an Azure DevOps project name: 1 to 64 characters, none of "
        "\\ / : * ? \" ' < > ; # $ { } , + = [ ] | % & @, "
        "not starting with '_' or '.', not ending with '.'",
        "Churn Model",
        _is_devops_project,
    ),
    Rule(
        "azure_devops_create_project",
        "one of " + ", ".join(YES_NO),
        "no",
        lambda value: value in YES_NO,
    ),
    Rule(
        "release_approvers",
        "empty (the owner of the access token approves) or e-mail addresses separated by commas",
        "ana@contoso.com, li@contoso.com",
        _is_email_list,
    ),
    Rule(
        "azure_subscription_id",
        "empty or a subscription id (GUID)",
        "00000000-0000-0000-0000-000000000000",
        _optional(_full(_GUID)),
    ),
    Rule(
        "azure_tenant_id",
        "empty or a Microsoft Entra tenant id (GUID)",
        "00000000-0000-0000-0000-000000000000",
        _optional(_full(_GUID)),
    ),
    Rule(
        "azure_client_id",
        "empty or the client id (GUID) of an app registration or managed identity",
        "00000000-0000-0000-0000-000000000000",
        _optional(_full(_GUID)),
    ),
    Rule(
        "azureml_resource_group",
        "1 to 90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'",
        "churn-model-rg",
        _full(_RESOURCE_GROUP),
    ),
    Rule(
        "azureml_workspace",
        "3 to 33 letters, digits, '-' or '_', starting with a letter or digit",
        "churn-model-ws",
        _full(_WORKSPACE),
    ),
    Rule(
        "azure_service_connection",
        "1 to 100 letters, digits, spaces, '.', '_', '-', '(' or ')', "
        "not starting or ending with a space",
        "churn-model-azure",
        _full(_SERVICE_CONNECTION),
    ),
    Rule(
        "storage_account",
        "3 to 24 lowercase letters and digits",
        "churnmodeldata",
        _full(_STORAGE_ACCOUNT),
    ),
    Rule(
        "storage_container",
        "3 to 63 lowercase letters, digits and single hyphens, "
        "starting and ending with a letter or digit",
        "training-data",
        _full(_CONTAINER),
    ),
    Rule(
        "data_file",
        "a blob name of letters, digits, '-', '_', '.' and '/', ending in one of "
        + ", ".join(SUPPORTED_DATA_EXTENSIONS),
        "raw/churn.csv",
        _is_data_file,
    ),
)


def validate(answers: dict[str, object]) -> list[str]:
    """Return one error line per answer that breaks its rule (empty when valid).

    A project name without a letter or digit gives one line only: every name
    derived from it would be wrong for that one reason.
    """
    empty = empty_slug_error(answers)
    if empty:
        return [empty]
    errors = []
    for rule in RULES:
        value = answers.get(rule.answer)
        if not isinstance(value, str) or not rule.check(value):
            errors.append(rule.message(str(value)))
    return errors


def rerun_hint(answers: dict[str, object]) -> str:
    """How to bake again without typing every answer again.

    Cookiecutter saves the answers in its replay file before this hook runs,
    named after the template's folder (cookiecutter/main.py).
    """
    template = str(answers.get("_template", "<template>"))
    repo_name = Path(str(answers.get("_repo_dir", template))).name
    replay = f"~/.cookiecutter_replay/{repo_name}.json"
    return (
        f"To try again without retyping the other answers: correct the answer in "
        f"{replay} (cookiecutter's replay file; elsewhere if your cookiecutter "
        f"config sets replay_dir), then run: cookiecutter --replay-file {replay} {template}"
    )


def main() -> int:
    """Validate the rendered answers; print the errors and return 1 if any."""
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    errors = validate(answers)
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        print(rerun_hint(answers), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
