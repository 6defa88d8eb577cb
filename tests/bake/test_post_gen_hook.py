"""The post-generation hook as a module: SDK variant, first commit, hand-over, no failure."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import load_hook

post_gen = load_hook("post_gen_project")


@pytest.fixture
def no_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine whose git has no user.name or user.email anywhere."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "nonexistent"))
    for variable in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "EMAIL"):
        monkeypatch.delenv(variable, raising=False)


def make_project(root: Path) -> Path:
    """A project as rendered: a common file and a file per SDK variant."""
    project = root / "project"
    for sdk in ("v1", "v2"):
        variant_file = project / post_gen.VARIANTS_DIR / sdk / "src" / "pkg" / "deploy.py"
        variant_file.parent.mkdir(parents=True)
        variant_file.write_text(f"SDK = {sdk!r}\n")
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "src" / "pkg" / "__init__.py").write_text("")
    (project / "README.md").write_text("# project\n")
    return project


@pytest.mark.parametrize("chosen", ["v1", "v2"])
def test_apply_variant_lays_the_chosen_files_over_the_project(tmp_path: Path, chosen: str) -> None:
    project = make_project(tmp_path)
    moved = post_gen.apply_variant(project, chosen)
    assert moved == [project / "src" / "pkg" / "deploy.py"]
    assert (project / "src" / "pkg" / "deploy.py").read_text() == f"SDK = {chosen!r}\n"
    assert (project / "src" / "pkg" / "__init__.py").exists()
    assert not (project / post_gen.VARIANTS_DIR).exists()


def test_init_git_commits_without_a_git_identity(tmp_path: Path, no_git_identity: None) -> None:
    project = make_project(tmp_path)
    assert post_gen.init_git(project, "Ada Lovelace", "ada@example.com") is None
    log = subprocess.run(
        ["git", "log", "--format=%an <%ae> %s"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert log == f"Ada Lovelace <ada@example.com> {post_gen.FIRST_COMMIT_MESSAGE}"


def test_init_git_leaves_the_git_configuration_unchanged(
    tmp_path: Path, no_git_identity: None
) -> None:
    project = make_project(tmp_path)
    post_gen.init_git(project, "Ada Lovelace", "ada@example.com")
    config = (project / ".git" / "config").read_text()
    assert "Ada" not in config and "ada@example.com" not in config
    assert not (tmp_path / "home" / ".gitconfig").exists()


def test_init_git_ignores_signing_and_hooks_of_the_user(
    tmp_path: Path, no_git_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    global_config = tmp_path / "home" / "gitconfig"
    hooks = tmp_path / "home" / "hooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    (hooks / "pre-commit").chmod(0o755)
    global_config.write_text(
        f"[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n[core]\n\thooksPath = {hooks}\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    project = make_project(tmp_path)
    assert post_gen.init_git(project, "Ada", "ada@example.com") is None


def test_init_git_without_git_says_how_to_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    project = make_project(tmp_path)
    message = post_gen.init_git(project, "Ada", "ada@example.com")
    assert message is not None
    assert "git was not found" in message and "git init -b main" in message
    assert not (project / ".git").exists()


def test_failed_git_step_names_the_command(tmp_path: Path, no_git_identity: None) -> None:
    project = make_project(tmp_path)
    (project / ".git").write_text("not a repository")  # git init cannot create it
    message = post_gen.init_git(project, "Ada", "ada@example.com")
    assert message is not None and message.startswith("'git init --quiet -b main' failed")
    assert "git init -b main && git add -A" in message


def test_first_commit_is_one_pack_not_loose_objects(tmp_path: Path, no_git_identity: None) -> None:
    project = make_project(tmp_path)
    assert post_gen.init_git(project, "Ada", "ada@example.com") is None
    objects = project / ".git" / "objects"
    loose = [path for path in objects.glob("??/*") if path.is_file()]
    assert loose == [] and list((objects / "pack").glob("*.pack"))
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""


def test_executable_files_keep_their_mode(tmp_path: Path, no_git_identity: None) -> None:
    project = make_project(tmp_path)
    script = project / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert post_gen.init_git(project, "Ada", "ada@example.com") is None
    tree = subprocess.run(
        ["git", "ls-tree", "HEAD", "run.sh"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert tree.stdout.startswith("100755 ")


def test_main_keeps_the_project_and_exits_zero_when_git_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    monkeypatch.chdir(project)
    answers: dict[str, Any] = {
        "azureml_sdk": "v2",
        "author_name": "Ada",
        "author_email": "ada@example.com",
        "azure_devops_org_url": "",
    }
    steps: list[str] = []
    monkeypatch.setattr(post_gen.json, "loads", lambda _: answers)
    monkeypatch.setattr(post_gen, "apply_variant", lambda *args: steps.append("variant") or [])
    monkeypatch.setattr(post_gen, "init_git", lambda *args: steps.append("git") or "git broke")
    assert post_gen.main() == 0
    assert steps == ["variant", "git"]
    output = capsys.readouterr().out
    assert "WARNING: the git repository was not created. git broke" in output
    assert "Azure DevOps setup skipped" in output
    assert (project / "README.md").exists()


def test_hand_over_skips_without_an_organization_url(tmp_path: Path) -> None:
    line = post_gen.hand_over_to_provisioning({"azure_devops_org_url": ""}, tmp_path)
    assert line is not None
    assert "Azure DevOps setup skipped: no organization URL was given" in line
    assert str(tmp_path) in line and "mlops_template provision" in line


def test_next_steps_name_the_folder_and_the_readme_setup_command(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# P\n\n## Set up\n\nOne command:\n\n"
        "```bash\npython3 -m venv .venv && pip install -e .\n```\n"
    )
    assert post_gen.next_steps(tmp_path).splitlines()[0] == (
        f"Next: cd {tmp_path} && python3 -m venv .venv && pip install -e ."
    )


def write_provisioning_stub(checkout: Path, run_body: str) -> dict[str, str]:
    """A template checkout whose mlops_template.cli runs ``run_body``; the answers to bake with."""
    package = checkout / "src" / "mlops_template"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text("def load(project_dir):\n    return project_dir\n")
    (package / "cli.py").write_text(
        "PAT_VARIABLE = 'AZURE_DEVOPS_EXT_PAT'\n"
        "NO_SIGN_IN = 'no token: run az login or set AZURE_DEVOPS_EXT_PAT'\n"
        "def sign_in(interactive):\n    return ('token' if interactive else None), ''\n"
        "def resume_command(project_dir):\n    return f'cd {project_dir} && provision'\n"
        f"def run(settings, pat, console):\n    {run_body}\n"
    )
    return {"azure_devops_org_url": "https://dev.azure.com/contoso"}


def _tool_modules() -> list[str]:
    return [n for n in sys.modules if n == "mlops_template" or n.startswith("mlops_template.")]


@pytest.fixture
def fresh_tool_import(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test imports its own checkout's tool; the real one is back afterwards."""
    monkeypatch.delenv("AZURE_DEVOPS_EXT_PAT", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in _tool_modules():
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in _tool_modules():
        del sys.modules[name]


def test_hand_over_skips_without_a_token(tmp_path: Path, fresh_tool_import: None) -> None:
    answers = write_provisioning_stub(tmp_path / "t", "raise AssertionError('must not run')")
    line = post_gen.hand_over_to_provisioning(answers, tmp_path, False, tmp_path / "t")
    assert line is not None and "Azure DevOps setup skipped: no token" in line
    assert "AZURE_DEVOPS_EXT_PAT" in line and f"cd {tmp_path} && provision" in line


@pytest.mark.parametrize(
    ("run_body", "expected"),
    [
        ("raise RuntimeError('a bug')", "Azure DevOps setup failed (RuntimeError: a bug)"),
        ("raise KeyboardInterrupt", "Azure DevOps setup interrupted"),
    ],
    ids=["crash", "interrupt"],
)
def test_hand_over_keeps_the_project_whatever_provisioning_does(
    tmp_path: Path, fresh_tool_import: None, run_body: str, expected: str
) -> None:
    answers = write_provisioning_stub(tmp_path / "t", run_body)
    line = post_gen.hand_over_to_provisioning(answers, tmp_path, True, tmp_path / "t")
    assert line is not None and expected in line
    assert f"To resume: cd {tmp_path} && provision" in line


def test_a_failed_setup_also_names_the_readmes_command(
    tmp_path: Path, fresh_tool_import: None
) -> None:
    """After a failure the README's provisioning command is named too (issue 20, item 4)."""
    answers = write_provisioning_stub(tmp_path / "t", "raise RuntimeError('a bug')")
    readme = "pipx run --spec git+https://example.com/mlops-template.git mlops-template provision"
    (tmp_path / "README.md").write_text(f"Set it up:\n\n{readme} --organization x\n")
    line = post_gen.hand_over_to_provisioning(answers, tmp_path, True, tmp_path / "t")
    assert line is not None
    assert f"The README's command resumes it too: cd {tmp_path} && {readme}" in line


def test_hand_over_runs_provisioning_with_the_token(
    tmp_path: Path, fresh_tool_import: None
) -> None:
    answers = write_provisioning_stub(tmp_path / "t", "assert pat == 'token'; return 0")
    assert post_gen.hand_over_to_provisioning(answers, tmp_path, True, tmp_path / "t") is None


def cruft_update_bake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A project folder where `cruft update` bakes: straight in a new tmp* folder."""
    monkeypatch.setattr(post_gen.tempfile, "gettempdir", lambda: str(tmp_path))
    project = tmp_path / "tmpa1b2c3d4" / "churn-model"
    project.mkdir(parents=True)
    return project


def test_cruft_temporary_bake_is_an_update_bake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = cruft_update_bake(monkeypatch, tmp_path)
    assert post_gen.is_update_bake({"_commit": "abc", "_template": "t"}, project)


def test_cookiecutter_bake_in_a_temporary_folder_is_not_an_update_bake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = cruft_update_bake(monkeypatch, tmp_path)
    answers = {"_template": "t", "_output_dir": str(project.parent)}
    assert not post_gen.is_update_bake(answers, project)


def test_cruft_create_in_a_chosen_folder_is_not_an_update_bake(tmp_path: Path) -> None:
    project = tmp_path / "projects" / "churn-model"
    project.mkdir(parents=True)
    assert not post_gen.is_update_bake({"_commit": "abc", "_template": "t"}, project)


def test_main_in_an_update_bake_makes_no_repository_and_provisions_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = cruft_update_bake(monkeypatch, tmp_path)
    make_project(project.parent / "staging").rename(project / "staged")
    monkeypatch.chdir(project)
    answers = {"azureml_sdk": "v2", "_commit": "abc", "azure_devops_org_url": "https://x"}
    monkeypatch.setattr(post_gen.json, "loads", lambda _: answers)
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "token")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("no side effect in cruft's temporary bake")

    monkeypatch.setattr(post_gen, "init_git", fail)
    monkeypatch.setattr(post_gen, "hand_over_to_provisioning", fail)
    monkeypatch.setattr(post_gen, "record_template_source", fail)
    assert post_gen.main() == 0
    assert not (project / ".git").exists()


def template_checkout(tmp_path: Path) -> tuple[Path, str]:
    """A template folder that is a git repository with one commit."""
    template = tmp_path / "template"
    template.mkdir()
    (template / "cookiecutter.json").write_text("{}")
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=template, check=True)
    subprocess.run([*git, "add", "-A"], cwd=template, check=True)
    subprocess.run([*git, "commit", "-qm", "template"], cwd=template, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=template, capture_output=True, text=True, check=True
    ).stdout.strip()
    return template, head


def test_plain_bake_records_the_template_source_for_cruft(tmp_path: Path) -> None:
    template, head = template_checkout(tmp_path)
    project = make_project(tmp_path)
    answers = {
        "project_name": "Churn",
        "_template": str(template),
        "_repo_dir": str(template),
        "_output_dir": str(tmp_path),
    }
    assert post_gen.record_template_source(answers, project)
    state = json.loads((project / post_gen.CRUFT_FILE).read_text())
    assert state["template"] == str(template.resolve())
    assert state["commit"] == head
    assert state["context"]["cookiecutter"] == {
        "project_name": "Churn",
        "_template": str(template.resolve()),
        "_commit": head,
    }


def test_cloned_template_is_recorded_by_its_home(tmp_path: Path) -> None:
    """The template's home as the extension names it (origin's URL) is recorded, not the folder."""
    template, head = template_checkout(tmp_path)
    url = "https://github.com/contoso/mlops-template.git"
    project = make_project(tmp_path)
    answers = {"_template": "gh:contoso/mlops-template", "_repo_dir": str(template)}
    assert post_gen.record_template_source(answers, project, str(template), url)
    state = json.loads((project / post_gen.CRUFT_FILE).read_text())
    assert (state["template"], state["commit"]) == (url, head)


def test_template_that_is_not_a_git_checkout_records_nothing(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    project = make_project(tmp_path)
    answers = {"_template": str(template), "_repo_dir": str(template)}
    assert not post_gen.record_template_source(answers, project)
    assert not (project / post_gen.CRUFT_FILE).exists()


def test_main_over_an_existing_repository_keeps_it_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    (project / ".git").mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setattr(post_gen.json, "loads", lambda _: {"azureml_sdk": "v2"})

    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the existing repository must be kept")

    monkeypatch.setattr(post_gen, "init_git", fail)
    assert post_gen.main() == 0
    out = capsys.readouterr().out
    assert "is kept as it was" in out and "WARNING" not in out
