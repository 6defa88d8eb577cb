"""The hooks reach the template's tool through the checkout its extension names, or refuse.

The pre-generation hook, rendered as cookiecutter renders it, imports
``mlops_template.hook_utils`` and ``mlops_template.organization`` from the checkout the
template's Jinja extension names (``template_checkout``); where that checkout does not hold
the tool, no answer is accepted unchecked. The extension keeps each bake's state in that
bake's own instance (mlops_template_answers.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
from conftest import REPO_ROOT, load_hook

pre_gen = load_hook("pre_gen_project")
VALID = {rule.answer: rule.example for rule in pre_gen.RULES}


def run_rendered_hook(tmp_path: Path, checkout: str, answers: dict[str, Any]) -> Any:
    """hooks/pre_gen_project.py rendered with these variables and run as cookiecutter runs it."""
    text = (REPO_ROOT / "hooks" / "pre_gen_project.py").read_text(encoding="utf-8")
    script = tmp_path / "pre_gen_project.py"
    rendered = jinja2.Environment().from_string(text)
    script.write_text(rendered.render(cookiecutter=answers, template_checkout=checkout))
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_the_rendered_hook_checks_answers_with_the_named_checkouts_tool(tmp_path: Path) -> None:
    """A URL only the tool's rule refuses is refused: the tool was found and used."""
    answers = {**VALID, "azure_devops_org_url": "https://github.com/contoso"}
    result = run_rendered_hook(tmp_path, str(REPO_ROOT), answers)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("ERROR: azure_devops_org_url='https://github.com/contoso'")


@pytest.mark.parametrize("named", [True, False], ids=["checkout-without-tool", "not-named"])
def test_without_the_tool_the_hook_refuses_every_bake_in_one_line(
    tmp_path: Path, named: bool
) -> None:
    """Fail closed: no organization URL (nor any answer) is accepted unchecked."""
    checkout = tmp_path / "template"
    checkout.mkdir()
    (checkout / "cookiecutter.json").write_text("{}")
    result = run_rendered_hook(tmp_path, str(checkout) if named else "", VALID)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("ERROR: the template checkout (")
    assert "src/mlops_template/hook_utils.py" in line and "Nothing was written." in line


def test_each_bake_in_a_process_keeps_its_own_prompt_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bake that skipped the Azure DevOps questions leaves nothing for the next bake
    in the same process: that one asks them, the one after skips and says so again."""
    from cookiecutter import prompt
    from cookiecutter.main import cookiecutter

    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(tmp_path / "config.yaml"))
    (tmp_path / "config.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    asked: list[str] = []
    url = {"value": ""}

    def typed(name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        if name == "azure_devops_org_url":
            return url["value"]
        return "data.txt" if name == "data_file" else default  # refused: nothing is written

    def chosen(name: str, options: list[str], *args: Any, **kwargs: Any) -> str:
        asked.append(name)
        return options[0]

    monkeypatch.setattr(prompt, "read_user_variable", typed)
    monkeypatch.setattr(prompt, "read_user_choice", chosen)
    for bake, value in enumerate(["", "https://dev.azure.com/contoso", ""]):
        asked.clear()
        url["value"] = value
        with pytest.raises(SystemExit) as refused:
            cookiecutter(str(REPO_ROOT), no_input=False, output_dir=str(tmp_path / "out"))
        assert str(refused.value.code).startswith("ERROR: data_file='data.txt'"), bake
        assert ("azure_devops_project" in asked) == bool(value), bake
        out = capsys.readouterr().out
        assert out.count("Azure DevOps is not set up now") == (0 if value else 1), bake
