"""The pre-generation hook refuses bad answers before anything is written."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import COOKIECUTTER_JSON, REPO_ROOT, TEMPLATE_DIR, load_hook

pre_gen = load_hook("pre_gen_project")

# One bad value per rule: (answer, value, why it is bad).
BAD_ANSWERS = [
    ("project_name", "   ", "blank"),
    ("project_name", "Churn {{ 7*7 }}", "Jinja expression"),
    ("project_name", "Churn\tModel", "tab"),
    ("description", "Predicts {% if x %}churn{% endif %}", "Jinja statement"),
    ("description", "Two\nlines", "line break"),
    ("description", "Comment {# x #}", "Jinja comment"),
    ("author_name", "{{ cookiecutter.author_email }}", "Jinja expression"),
    ("project_slug", "My Project", "spaces and capitals"),
    ("project_slug", "9lives", "starts with a digit"),
    ("project_slug", "a--b", "double hyphen"),
    ("module_name", "class", "keyword"),
    ("module_name", "json", "shadows the standard library"),
    ("module_name", "pandas", "shadows a dependency"),
    ("module_name", "requests", "shadows what ops/ imports"),
    ("module_name", "werkzeug", "shadows a module of a transitive dependency"),
    ("module_name", "yaml", "shadows what the tests import"),
    ("module_name", "azureml", "shadows the Azure ML SDK v1"),
    ("module_name", "ops", "shadows the project's ops package"),
    ("module_name", "azurite_service", "shadows a test helper"),
    ("module_name", "my-module", "not an identifier"),
    ("module_name", "MyModule", "not lowercase"),
    ("author_name", "", "empty"),
    ("author_name", "Ada <ada>", "angle brackets"),
    ("author_email", "not-an-email", "no @"),
    ("author_email", "<ada@example.com>", "angle brackets"),
    ("python_version", "3.9", "not offered"),
    ("azureml_sdk", "v3", "not offered"),
    ("model_name", "-model", "starts with a hyphen"),
    ("model_name", "my model", "space"),
    ("azure_devops_org_url", "https://github.com/contoso", "not Azure DevOps"),
    ("azure_devops_org_url", "http://dev.azure.com/contoso", "not https"),
    ("azure_devops_org_url", "https://dev.azure.com/", "no organization"),
    ("azure_devops_project", "a/b", "slash"),
    ("azure_devops_project", "_hidden", "leading underscore"),
    ("azure_devops_create_project", "maybe", "not offered"),
    ("release_approvers", "ana@contoso.com; li@contoso.com", "semicolon"),
    ("release_approvers", "ana", "not an e-mail"),
    ("azure_subscription_id", "1234", "not a GUID"),
    ("azure_tenant_id", "contoso.onmicrosoft.com", "a domain, not a GUID"),
    ("azure_client_id", "my-app", "not a GUID"),
    ("azureml_resource_group", "rg.", "ends with a period"),
    ("azureml_workspace", "ws", "too short"),
    ("azureml_workspace", "-ws-name", "starts with a hyphen"),
    ("azure_service_connection", " padded ", "spaces around"),
    ("azure_service_connection", 'arm "prod"', "quotes"),
    ("storage_account", "My_Account", "capitals and underscore"),
    ("storage_account", "ab", "too short"),
    ("storage_account", "a" * 25, "too long"),
    ("storage_container", "Data", "capital"),
    ("storage_container", "da--ta", "double hyphen"),
    ("storage_container", "data-", "ends with a hyphen"),
    ("data_file", "data.xlsx", "unsupported extension"),
    ("data_file", "data", "no extension"),
]

GOOD_ANSWERS = [
    ("azure_devops_org_url", "https://dev.azure.com/contoso"),
    ("azure_devops_org_url", "https://contoso.visualstudio.com/"),
    ("azure_devops_org_url", "http://127.0.0.1:8123/contoso"),
    ("azure_devops_org_url", "http://localhost:8123/contoso"),
    ("azure_devops_project", "Churn Model (2026)"),
    ("azure_subscription_id", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
    ("release_approvers", "ana@contoso.com, li@contoso.com"),
    ("release_approvers", "ana@contoso.com"),
    ("azure_devops_create_project", "yes"),
    ("azureml_resource_group", "rg-ml(prod)"),
    ("data_file", "raw/2026/churn.csv.gz"),
    ("data_file", "features.parquet"),
    ("model_name", "churn.model_v2"),
    ("description", 'Churn 🚀 für das Team: 数据, "quoted" C:\\path {x}'),
    ("author_name", "Zoë 👩‍💻 O'Brien"),
    ("project_name", "Churn Model 🚀"),
    ("python_version", "3.13"),
    ("azure_service_connection", "Azure ML (prod) connection"),
]


def default_answers() -> dict[str, str]:
    """The answers of a default bake, as the hook receives them."""
    values = {key: value for key, value in COOKIECUTTER_JSON.items() if not key.startswith("_")}
    values = {key: value[0] if isinstance(value, list) else value for key, value in values.items()}
    values.update(
        project_slug="my-mlops-project",
        module_name="my_mlops_project",
        model_name="my-mlops-project-model",
        azure_devops_project="my-mlops-project",
        azureml_resource_group="my-mlops-project-rg",
        azureml_workspace="my-mlops-project-ws",
        azure_service_connection="my-mlops-project-azure",
        storage_account="mymlopsprojectdata",
    )
    return values


def test_default_answers_are_valid() -> None:
    assert pre_gen.validate(default_answers()) == []


def test_every_rule_has_a_bad_answer_case() -> None:
    assert {rule.answer for rule in pre_gen.RULES} == {answer for answer, _, _ in BAD_ANSWERS}


def test_every_prompted_answer_with_rules_is_validated() -> None:
    asked = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}
    assert {rule.answer for rule in pre_gen.RULES} == asked


@pytest.mark.parametrize(("answer", "value"), GOOD_ANSWERS)
def test_good_value_is_accepted(answer: str, value: str) -> None:
    assert pre_gen.validate({**default_answers(), answer: value}) == []


@pytest.mark.parametrize(
    ("answer", "value"),
    [(answer, value) for answer, value, _ in BAD_ANSWERS],
    ids=[f"{answer}-{why}" for answer, _, why in BAD_ANSWERS],
)
def test_bad_value_gives_one_error_line_naming_answer_rule_and_example(
    answer: str, value: str
) -> None:
    errors = pre_gen.validate({**default_answers(), answer: value})
    assert len(errors) == 1
    line = errors[0]
    assert "\n" not in line
    rule = next(rule for rule in pre_gen.RULES if rule.answer == answer)
    assert line.startswith(f"ERROR: {answer}=")
    assert rule.rule in line and repr(rule.example) in line


# Jinja markup reaches the hook as typed, at the prompt (tested below) and as
# extra context alike: the template's extension keeps cookiecutter from rendering it.
MARKUP_ANSWERS = [case for case in BAD_ANSWERS if any(m in case[1] for m in pre_gen.JINJA_MARKUP)]


@pytest.mark.parametrize(
    ("answer", "value"),
    [(answer, value) for answer, value, _ in BAD_ANSWERS],
    ids=[f"{answer}-{why}" for answer, _, why in BAD_ANSWERS],
)
def test_bake_is_refused_and_leaves_no_directory(
    cookies: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str], answer: str, value: str
) -> None:
    result = cookies.bake(extra_context={**default_answers(), answer: value})
    assert result.exit_code != 0
    assert result.project_path is None
    if isinstance(COOKIECUTTER_JSON[answer], list):
        # cookiecutter itself refuses a value outside a choice, before the hook.
        assert answer in str(result.exception)
    else:
        # The template's extension refuses in one line before the folder is created.
        (line,) = str(result.exception.code).splitlines()
        assert line.startswith(pre_gen.validate({**default_answers(), answer: value})[0])
        assert line.startswith(f"ERROR: {answer}={value!r}")
    output_dir = tmp_path / "cookies" / "bake00"
    assert not output_dir.exists() or list(output_dir.iterdir()) == []


def test_every_rule_example_is_itself_valid() -> None:
    for rule in pre_gen.RULES:
        assert rule.check(rule.example), rule.answer


def test_every_import_of_the_template_is_refused_as_a_module_name() -> None:
    """A module named like anything the generated project imports would shadow it."""
    template = TEMPLATE_DIR
    imported = set()
    for path in template.rglob("*.py"):
        if "node_modules" not in path.parts:
            text = path.read_text(encoding="utf-8")
            imported |= set(re.findall(r"^\s*(?:from|import) ([A-Za-z_]\w*)", text, re.M))
    imported -= {"__future__", "here"} | set(sys.stdlib_module_names)
    imported = {name for name in imported if "cookiecutter" not in name}
    assert imported <= pre_gen.REFUSED_MODULES, imported - pre_gen.REFUSED_MODULES
    helpers = {path.stem for path in (template / "tests").glob("*.py")}
    assert {name for name in helpers if not name.startswith("test_")} <= pre_gen.REFUSED_MODULES


# Accepted before issue 21, then the project's package shadowed a module its
# environment installs, or Python's own (`import <module>.settings` failed).
SHADOWING_MODULE_NAMES = [
    "test",
    "__main__",
    "__pycache__",
    "werkzeug",
    "inference_schema",
    "click",
    "threadpoolctl",
    "sqlalchemy",
    "jwt",
    "psutil",
    "dateutil",
]


@pytest.mark.parametrize("name", SHADOWING_MODULE_NAMES)
def test_a_module_name_that_shadows_the_environment_or_python_is_refused(name: str) -> None:
    """The refused set is the whole dependency closure: hooks/refused_module_names.txt."""
    (line,) = pre_gen.validate({**default_answers(), "module_name": name})
    assert line.startswith(f"ERROR: module_name={name!r} is not valid")


def test_the_project_name_test_is_refused_by_the_module_it_derives(cookies: Any) -> None:
    """``project_name=Test`` derives the package ``test``, Python's own test package."""
    result = cookies.bake(extra_context={"project_name": "Test"})
    assert result.exit_code != 0 and result.project_path is None
    (line,) = str(result.exception.code).splitlines()
    assert line.startswith("ERROR: module_name='test' is not valid")


@pytest.mark.parametrize("name", ["requests", "!!!", "🚀"])
def test_project_name_behind_a_refused_slug_or_module_gives_one_error_line(
    cookies: Any, capfd: pytest.CaptureFixture[str], name: str
) -> None:
    """The derived answers are left to cookiecutter.json, as in a real bake."""
    result = cookies.bake(extra_context={"project_name": name})
    assert result.exit_code != 0
    errors = str(result.exception.code).splitlines()
    assert len(errors) == 1, errors
    expected = "ERROR: module_name='requests'" if name == "requests" else "empty folder name"
    assert expected in errors[0]


def test_an_empty_project_slug_gives_one_error_line(
    cookies: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Refused by the extension before the folder name renders empty: one line that
    names project_slug and how to bake again, not cookiecutter's "already exists"."""
    result = cookies.bake(extra_context={"project_slug": ""})
    assert result.exit_code != 0 and result.project_path is None
    (line,) = str(result.exception.code).splitlines()
    assert line.startswith(pre_gen.empty_slug_error({"project_slug": ""}))
    assert "Nothing was written." in line and "cookiecutter --replay-file" in line
    assert "already exists" not in capfd.readouterr().err
    output_dir = tmp_path / "cookies" / "bake00"
    assert not output_dir.exists() or list(output_dir.iterdir()) == []


def test_an_emoji_slug_gives_one_error_line_naming_the_project_name() -> None:
    answers = {**default_answers(), "project_name": "🚀", "project_slug": pre_gen.EMPTY_SLUG}
    assert pre_gen.validate(answers) == [pre_gen.empty_slug_error(answers)]
    assert "project_name='🚀'" in pre_gen.validate(answers)[0]


@pytest.mark.parametrize(
    ("answer", "value"),
    [(answer, value) for answer, value, _ in MARKUP_ANSWERS],
    ids=[f"{answer}-{why}" for answer, _, why in MARKUP_ANSWERS],
)
def test_jinja_typed_at_the_prompt_is_refused_not_evaluated(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    answer: str,
    value: str,
) -> None:
    """An interactive bake where the user types Jinja markup as one answer."""
    from cookiecutter import prompt
    from cookiecutter.main import cookiecutter

    def typed(name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        return value if name == answer else default

    monkeypatch.setattr(prompt, "read_user_variable", typed)
    monkeypatch.setattr(prompt, "read_user_choice", lambda name, options, *a, **k: options[0])
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(tmp_path / "none.yaml"))
    (tmp_path / "none.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    with pytest.raises(SystemExit) as refused:
        cookiecutter(str(REPO_ROOT), no_input=False, output_dir=str(tmp_path / "out"))
    (line,) = str(refused.value.code).splitlines()
    assert line.startswith(pre_gen.validate({**default_answers(), answer: value})[0])
    assert repr(value) in line
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_bad_answer_says_how_to_bake_again_from_the_replay_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from cookiecutter.main import cookiecutter

    replay_dir = tmp_path / "replay"
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {replay_dir}\ncookiecutters_dir: {tmp_path / 'cc'}\n")
    output = tmp_path / "out"
    with pytest.raises(SystemExit) as refused:
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            extra_context={"project_name": "Churn Model", "storage_account": "Bad!"},
            output_dir=str(output),
            config_file=str(config),
        )
    (hint,) = str(refused.value.code).splitlines()
    replay = replay_dir / f"{REPO_ROOT.name}.json"
    assert hint.startswith("ERROR: storage_account='Bad!'")
    assert f"~/.cookiecutter_replay/{replay.name}" in hint
    assert f"cookiecutter --replay-file ~/.cookiecutter_replay/{replay.name} {REPO_ROOT}" in hint
    # The replay file holds every answer: correct the bad one and bake again.
    saved = json.loads(replay.read_text(encoding="utf-8"))
    saved["cookiecutter"]["storage_account"] = "churnmodeldata"
    replay.write_text(json.dumps(saved), encoding="utf-8")
    project = cookiecutter(
        str(REPO_ROOT), replay=str(replay), output_dir=str(output), config_file=str(config)
    )
    assert Path(project).name == "churn-model"
