"""One fact, one place: cookiecutter.json holds the template's choices, limits and derived names.

The pre-generation hook reads its choice lists and length limits from cookiecutter.json
(``mlops_template.hook_utils``), the derived names are private variables there, and the
template's files use them by name: changing a fact in one place only fails a test here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import COOKIECUTTER_JSON, HOSTILE_ANSWERS, REPO_ROOT, TEMPLATE_DIR, load_hook

pre_gen = load_hook("pre_gen_project")
ASKED = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
# Azure ML online endpoint names: 3 to 32 characters, a letter first, then letters, digits
# and hyphens, not ending with a hyphen ("Azure Machine Learning online endpoints and batch
# endpoints", https://learn.microsoft.com/azure/machine-learning/how-to-manage-quotas).
ENDPOINT = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]")


def derived(monkeypatch: pytest.MonkeyPatch, **answers: str) -> dict[str, Any]:
    """cookiecutter.json rendered by cookiecutter itself, as a --no-input bake does."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    monkeypatch.syspath_prepend(str(REPO_ROOT))  # the extension, as cookiecutter adds it
    context = generate_context(str(REPO_ROOT / "cookiecutter.json"), extra_context=answers)
    return dict(prompt_for_config(context, no_input=True))


def valid_answers() -> dict[str, Any]:
    """The rules' examples: a set of answers every rule accepts."""
    return {rule.answer: rule.example for rule in pre_gen.RULES}


# The longest slugs the hook accepts, with a hyphen where each slice ends.
LONG_SLUGS = ["a" * 50, "ab-" * 16 + "ab", "a" * 26 + "-" + "b" * 23, "a" * 29 + "-bc-" + "d" * 17]


@pytest.mark.parametrize("slug", LONG_SLUGS, ids=["letters", "hyphens", "hyphen-27", "hyphen-30"])
def test_names_derived_from_the_longest_slug_keep_their_limits(
    monkeypatch: pytest.MonkeyPatch, slug: str
) -> None:
    """The defaults slice project_slug by the limits the hook checks the answers with."""
    answers = derived(monkeypatch, project_slug=slug)
    assert pre_gen.validate(answers) == []
    limit = int(answers["__endpoint_max_length"])
    for name in (answers["__qa_endpoint"], answers["__prod_endpoint"], answers["__batch_endpoint"]):
        assert len(name) <= limit and ENDPOINT.fullmatch(name), name
    assert len(answers["storage_account"]) == pre_gen.MAX_LENGTHS["storage_account"]


def test_the_hook_limits_are_cookiecutter_jsons() -> None:
    """A limit restated in the hook (or a limit variable it misses) would drift."""
    limits = {
        key[2 : -len("_max_length")]: int(value)
        for key, value in COOKIECUTTER_JSON.items()
        if key.endswith("_max_length")
    }
    assert limits == pre_gen.MAX_LENGTHS
    # Azure's own limits: storage account names 3-24 characters, Azure ML workspace names
    # 3-33, online endpoint names 3-32 (https://learn.microsoft.com/azure/
    # azure-resource-manager/management/resource-name-rules, and the endpoint rule above).
    assert limits == {"storage_account": 24, "azureml_workspace": 33, "endpoint": 32}
    assert pre_gen._STORAGE_ACCOUNT.fullmatch("a" * limits["storage_account"])
    assert not pre_gen._STORAGE_ACCOUNT.fullmatch("a" * (limits["storage_account"] + 1))
    assert pre_gen._WORKSPACE.fullmatch("a" * limits["azureml_workspace"])
    assert not pre_gen._WORKSPACE.fullmatch("a" * (limits["azureml_workspace"] + 1))


def test_the_hook_choices_are_cookiecutter_jsons() -> None:
    choices = {key: tuple(value) for key, value in COOKIECUTTER_JSON.items() if key in ASKED}
    assert choices["python_version"] == pre_gen.PYTHON_VERSIONS
    assert choices["azureml_sdk"] == pre_gen.AZUREML_SDKS
    assert choices["azure_devops_create_project"] == pre_gen.YES_NO
    for key in ("python_version", "azureml_sdk", "azure_devops_create_project"):
        for value in choices[key]:
            assert pre_gen.validate({**valid_answers(), key: value}) == []


def test_no_template_file_slices_the_slug_itself() -> None:
    """Names cut from project_slug are cookiecutter.json's private variables, used by name."""
    sliced = re.compile(r"project_slug\s*(\|[^}]*)?\)?\s*\[")
    found = [
        str(path.relative_to(REPO_ROOT))
        for path in TEMPLATE_DIR.rglob("*")
        if path.is_file()
        and "node_modules" not in path.parts
        and path.suffix in {".py", ".yml", ".yaml", ".json", ".md", ".toml", ".txt"}
        and sliced.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_markup_the_hook_refuses_is_the_extensions() -> None:
    import mlops_template_answers as extension

    assert pre_gen.JINJA_MARKUP == extension.JINJA_MARKUP != ()


def test_the_endpoint_names_are_one_value_across_the_project(
    bake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """settings.py and the Azure ML YAML files name the endpoints cookiecutter.json derives,
    cut to the limit (the hostile answers' slug is longer than an endpoint name may be)."""
    project = Path(bake(HOSTILE_ANSWERS).project_path)
    answers = derived(monkeypatch, **HOSTILE_ANSWERS)
    (settings,) = project.glob("src/*/settings.py")
    text = settings.read_text(encoding="utf-8")
    for stage in ("qa", "prod"):
        expected = answers[f"__{stage}_endpoint"]
        assert len(expected) <= int(answers["__endpoint_max_length"]) < len(answers["project_slug"])
        assert f'{stage.upper()}_ENDPOINT_NAME = "{expected}"' in text
        azureml = project / ".azureml"
        endpoint = yaml.safe_load((azureml / f"endpoint-{stage}.yml").read_text("utf-8"))
        deployment = yaml.safe_load((azureml / f"deployment-{stage}.yml").read_text("utf-8"))
        assert endpoint["name"] == deployment["endpoint_name"] == expected, stage


def test_derived_names_follow_the_answers_not_a_recorded_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replay file whose project_slug was corrected still holds the old derived names:
    the extension derives them again before anything is written."""
    from cookiecutter.environment import StrictEnvironment

    monkeypatch.syspath_prepend(str(REPO_ROOT))
    answers = derived(monkeypatch, project_slug="churn-model")
    recorded = {**answers, "__endpoint_stem": "old", "__qa_endpoint": "old-qa"}
    environment = StrictEnvironment(context={"cookiecutter": recorded})
    (own,) = [e for e in environment.extensions.values() if type(e).__name__ == "AnswersAsTyped"]
    again = own.derive(environment, recorded)
    assert again["__qa_endpoint"] == "churn-model-qa" == answers["__qa_endpoint"]
    assert again["__prod_endpoint"] == "churn-model-prod"


@pytest.mark.parametrize("slug", LONG_SLUGS, ids=["letters", "hyphens", "hyphen-27", "hyphen-30"])
def test_the_tools_storage_account_fallback_is_the_templates_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slug: str
) -> None:
    """An azure-devops.json that names no storage account (a project baked before it did)
    gets from the tool the account cookiecutter.json derives from the same slug."""
    from provisioning_env import write_settings

    from mlops_template.settings import load
    from mlops_template.template import azure_names

    write_settings(
        tmp_path, repository=slug, organization_url="https://dev.azure.com/contoso", azure={}
    )
    expected = derived(monkeypatch, project_slug=slug)["storage_account"]
    assert azure_names(load(tmp_path)).storage_account == expected


def _pins(path: Path) -> dict[str, str]:
    """A requirements file's lines by distribution name (comments and blanks left out)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower(): line for line in lines if line}


@pytest.mark.parametrize("sdk", ["v1", "v2"])
def test_a_variant_requirements_file_restates_the_shared_floors_exactly(sdk: str) -> None:
    """A variant's requirements file replaces the shared one of its name: a requirement both
    list carries the same specifier (a floor raised in one only would be lost for that SDK)."""
    for variant in (TEMPLATE_DIR / "_variants" / sdk / "requirements").glob("*.txt"):
        shared = TEMPLATE_DIR / "requirements" / variant.name
        if shared.is_file():
            ours, theirs = _pins(variant), _pins(shared)
            for name in ours.keys() & theirs.keys():
                assert ours[name] == theirs[name], (variant.name, ours[name], theirs[name])
