"""The template's Jinja extension, with the real cookiecutter command as a user runs it.

Answers are never evaluated as templates, not even by a context that drops the
extension; a refused answer stops the bake in one line before anything is written;
and the Azure DevOps questions after an empty organization URL are not asked
(mlops_template_answers.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COOKIECUTTER_JSON, REPO_ROOT, committed_template, load_hook

COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"
PROMPTS = COOKIECUTTER_JSON["__prompts__"]
ASKED = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
pre_gen = load_hook("pre_gen_project")
_spec = importlib.util.spec_from_file_location(
    "mlops_template_answers", REPO_ROOT / "mlops_template_answers.py"
)
assert _spec and _spec.loader
if _spec.name in sys.modules:  # imported by an earlier bake in this process
    extension = sys.modules[_spec.name]
else:  # registered before it runs: its dataclass looks its module up
    extension = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(extension)


def question(key: str) -> str:
    """The prompt's text after its group tag (rich may style the tag)."""
    prompt = PROMPTS[key]
    text = prompt["__prompt__"] if isinstance(prompt, dict) else prompt
    return text.split("] ", 1)[1]


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "AZURE_DEVOPS_EXT_PAT"}
    # A wide console, so that rich prints each question on one line.
    env.update(COOKIECUTTER_CONFIG=str(config), COLUMNS="400", TERM="dumb", NO_COLOR="1")
    return env


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The hook's ``ERROR:`` lines (not cookiecutter's own about the hook's exit status)."""
    return [
        line
        for line in result.stderr.splitlines()
        if line.startswith("ERROR:") and "pre_gen_project hook" not in line
    ]


def bake(
    tmp_path: Path, env: dict[str, str], args: list[str], typed: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``cookiecutter [options] <template> [key=value ...]``; at the prompt, ``typed`` or Enter.

    The answers are read in cookiecutter.json's order; a skipped question reads none.
    """
    options = [arg for arg in args if arg.startswith("-")]
    answers = [arg for arg in args if not arg.startswith("-")]
    command = [str(COOKIECUTTER), "-o", str(tmp_path / "out"), *options, str(REPO_ROOT), *answers]
    lines = []
    skipping = False
    for key in ASKED:
        if skipping and key in extension.SETUP_ONLY:
            continue
        lines.append((typed or {}).get(key, ""))
        skipping = key == extension.ORGANIZATION_URL and not lines[-1]
    return subprocess.run(
        command,
        input="\n".join(lines) + "\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_functions_it_wraps_are_in_this_cookiecutter() -> None:
    """A cookiecutter without them would quietly evaluate answers and ask everything."""
    from cookiecutter import generate, prompt

    for name in ("render_variable", "read_user_variable", "read_user_choice"):
        assert callable(getattr(prompt, name, None)), name
    assert callable(getattr(generate, "render_and_create_dir", None))


def test_setup_only_questions_come_after_the_organization_url() -> None:
    position = ASKED.index(extension.ORGANIZATION_URL)
    assert set(extension.SETUP_ONLY) == {key for key in ASKED[position + 1 :]}


def test_without_an_organization_the_azure_devops_questions_are_not_asked(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    result = bake(tmp_path, environment, [])
    assert result.returncode == 0, result.stdout + result.stderr
    assert question(extension.ORGANIZATION_URL) in result.stdout
    for key in extension.SETUP_ONLY:
        assert question(key) not in result.stdout, key
    assert result.stdout.count("Azure DevOps is not set up now") == 1
    (project,) = (tmp_path / "out").iterdir()
    settings = json.loads((project / "azure-devops.json").read_text(encoding="utf-8"))
    assert settings["project"] == settings["repository"] == project.name
    assert settings["service_connection"] == f"{project.name}-azure"
    assert settings["create_project"] is False and settings["release_approvers"] == ""


def test_with_an_organization_every_azure_devops_question_is_asked(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """A bad client id stops the bake in the pre-generation hook, before any provisioning."""
    typed = {
        extension.ORGANIZATION_URL: "https://dev.azure.com/contoso",
        "azure_client_id": "not-a-guid",
    }
    result = bake(tmp_path, environment, [], typed)
    assert result.returncode != 0
    for key in extension.SETUP_ONLY:
        assert question(key) in result.stdout, key
    assert "Azure DevOps is not set up now" not in result.stdout
    (line,) = errors(result)
    assert line.startswith("ERROR: azure_client_id='not-a-guid'")


@pytest.mark.parametrize("value", ["{{ 7*7 }}", "{% if missing %}x{% endif %}", "{# a comment #}"])
def test_markup_on_the_command_line_is_kept_as_typed_and_refused_in_one_line(
    tmp_path: Path, environment: dict[str, str], value: str
) -> None:
    result = bake(tmp_path, environment, ["--no-input", f"description={value}"])
    assert result.returncode != 0
    rule = next(rule for rule in pre_gen.RULES if rule.answer == "description")
    (line,) = errors(result)
    assert line.startswith(rule.message(value))
    assert "49" not in result.stderr and "Unable to render" not in result.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_an_expression_in_an_answer_never_runs(tmp_path: Path, environment: dict[str, str]) -> None:
    """Cookiecutter's Jinja is not sandboxed: an evaluated answer could run any command."""
    marker = tmp_path / "ran"
    expression = "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    result = bake(tmp_path, environment, ["--no-input", f"author_name={expression}"])
    assert result.returncode != 0
    assert not marker.exists()
    (line,) = errors(result)
    assert line.startswith(f"ERROR: author_name={expression!r}")


def test_derived_defaults_are_still_rendered(tmp_path: Path, environment: dict[str, str]) -> None:
    result = bake(tmp_path, environment, ["--no-input", "project_name=Churn Model"])
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "churn-model"
    settings = json.loads((project / "azure-devops.json").read_text(encoding="utf-8"))
    assert settings["variables"]["AZUREML_WORKSPACE"] == "churn-model-ws"
    assert (project / "src" / "churn_model").is_dir()


def run_cruft(
    tmp_path: Path, env: dict[str, str], context: dict[str, object], from_file: bool = False
) -> subprocess.CompletedProcess[str]:
    """``cruft create --no-input`` of this checkout, the context given inline or as a file."""
    template = committed_template(tmp_path / "template")
    command = [str(COOKIECUTTER.parent / "cruft"), "create", "--no-input", str(template)]
    command += ["--output-dir", str(tmp_path / "out")]
    if from_file:
        (tmp_path / "context.json").write_text(json.dumps(context), encoding="utf-8")
        command += ["--extra-context-file", str(tmp_path / "context.json")]
    else:
        command += ["--extra-context", json.dumps(context)]
    (tmp_path / "out").mkdir()
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def output(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Every line the person sees, stdout then stderr."""
    return result.stdout.splitlines() + result.stderr.splitlines()


def nothing_written(tmp_path: Path) -> bool:
    return not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def command_payload(marker: Path) -> str:
    """The issue's expression: it creates ``marker`` if cookiecutter ever evaluates it."""
    return "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"


def test_a_config_that_drops_the_extension_stops_the_bake_in_one_line(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """``default_context`` in the cookiecutter config sets ``_extensions: []``: nothing runs."""
    marker = tmp_path / "PWNED"
    config = Path(environment["COOKIECUTTER_CONFIG"])
    description = json.dumps(command_payload(marker))
    config.write_text(
        config.read_text() + f"default_context:\n  _extensions: []\n  description: {description}\n"
    )
    result = bake(tmp_path, environment, ["--no-input"])
    assert not marker.exists()
    assert result.returncode == 1
    assert output(result) == [extension.EXTENSION_REQUIRED]
    assert nothing_written(tmp_path)


@pytest.mark.parametrize("from_file", [False, True], ids=["extra-context", "extra-context-file"])
def test_cruft_extra_context_that_drops_the_extension_stops_the_bake_in_one_line(
    tmp_path: Path, environment: dict[str, str], from_file: bool
) -> None:
    """``cruft create --extra-context``/``--extra-context-file`` with ``_extensions: []``."""
    marker = tmp_path / "PWNED"
    context = {"_extensions": [], "description": command_payload(marker)}
    result = run_cruft(tmp_path, environment, context, from_file)
    assert not marker.exists()
    assert result.returncode == 1
    assert output(result) == [extension.EXTENSION_REQUIRED]
    assert nothing_written(tmp_path)


def test_the_python_api_extra_context_that_drops_the_extension_raises_before_writing(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """``cookiecutter(..., extra_context={"_extensions": []})``: a typed error, nothing run."""
    from cookiecutter.main import cookiecutter

    marker = tmp_path / "PWNED"
    with pytest.raises(extension.AnswersRefused) as refused:
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            extra_context={"_extensions": [], "description": command_payload(marker)},
            output_dir=str(tmp_path / "out"),
            config_file=environment["COOKIECUTTER_CONFIG"],
        )
    assert not marker.exists()
    assert refused.value.code == extension.EXTENSION_REQUIRED
    assert nothing_written(tmp_path)


def test_an_invalid_slug_is_one_line_naming_it_and_how_to_bake_again(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """Not one line per answer derived from it, nor cookiecutter's traceback after the hook."""
    result = bake(tmp_path, environment, ["--no-input", "project_slug=My Project"])
    assert result.returncode == 1
    (line,) = output(result)
    assert line.startswith("ERROR: project_slug='My Project' is not valid")
    assert f"cookiecutter --replay-file ~/.cookiecutter_replay/{REPO_ROOT.name}.json" in line
    assert nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("answer", "value", "named"),
    [
        ("project_name", "A" * 300, "project_slug"),
        ("module_name", "a" * 300, "module_name"),
        ("project_slug", "a" * 300, "project_slug"),
    ],
    ids=["project_name", "module_name", "project_slug"],
)
def test_a_name_too_long_for_a_folder_is_one_line_and_leaves_nothing(
    tmp_path: Path, environment: dict[str, str], answer: str, value: str, named: str
) -> None:
    """Refused before cookiecutter creates a folder: no OSError, no half-rendered project."""
    result = bake(tmp_path, environment, ["--no-input", f"{answer}={value}"])
    assert result.returncode == 1
    (line,) = output(result)
    assert line.startswith(f"ERROR: {named}=") and "(300 characters)" in line
    assert nothing_written(tmp_path)


def test_cruft_create_refuses_a_bad_answer_in_one_line_without_a_replay_file(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """cruft writes no replay file: the line says to run cruft create again instead."""
    result = run_cruft(tmp_path, environment, {"storage_account": "Bad!"})
    assert result.returncode == 1
    (line,) = output(result)
    assert line.startswith("ERROR: storage_account='Bad!' is not valid")
    assert "cruft create" in line and "replay" not in line
    assert nothing_written(tmp_path)
