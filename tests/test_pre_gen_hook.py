"""The pre-generation hook refuses bad answers before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import COOKIECUTTER_JSON, load_hook

pre_gen = load_hook("pre_gen_project")

# One bad value per rule: (answer, value, why it is bad).
BAD_ANSWERS = [
    ("project_name", "   ", "blank"),
    ("project_slug", "My Project", "spaces and capitals"),
    ("project_slug", "9lives", "starts with a digit"),
    ("project_slug", "a--b", "double hyphen"),
    ("module_name", "class", "keyword"),
    ("module_name", "json", "shadows the standard library"),
    ("module_name", "pandas", "shadows a dependency"),
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
    free_text = {"description"}
    assert {rule.answer for rule in pre_gen.RULES} == asked - free_text


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
        error_lines = [
            line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")
        ]
        assert len(error_lines) == 1 and error_lines[0].startswith(f"ERROR: {answer}=")
    output_dir = tmp_path / "cookies" / "bake00"
    assert not output_dir.exists() or list(output_dir.iterdir()) == []


def test_every_rule_example_is_itself_valid() -> None:
    for rule in pre_gen.RULES:
        assert rule.check(rule.example), rule.answer


def test_a_bad_answer_says_how_to_bake_again_from_the_replay_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from conftest import REPO_ROOT
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    replay_dir = tmp_path / "replay"
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {replay_dir}\ncookiecutters_dir: {tmp_path / 'cc'}\n")
    output = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            extra_context={"project_name": "Churn Model", "storage_account": "Bad!"},
            output_dir=str(output),
            config_file=str(config),
        )
    hint = capfd.readouterr().err.splitlines()[-1]
    replay = replay_dir / f"{REPO_ROOT.name}.json"
    assert hint.startswith("To try again without retyping the other answers")
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
