"""A project baked from a clone names the template's home, not the clone's path.

The real ``cookiecutter .`` run inside a copy of this checkout (a git
repository with one commit): ``.cruft.json``, the README's provisioning
commands and the end-of-bake message name the clone's ``origin`` URL (without
credentials; a path becomes a ``file://`` URL), and the folder only when there is
no ``origin``, with a README line on pointing the project at the shared template.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"
SHARED = "https://github.com/contoso/mlops-template.git"
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".cache", "node_modules", "__pycache__", ".pytest_cache"
)


def clone_of_this_template(tmp_path: Path, origin: str | None) -> Path:
    """A copy of this checkout's files as a git repository, with ``origin`` if given."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO_ROOT, clone, ignore=IGNORED)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "template"]):
        subprocess.run([*git, *args], cwd=clone, check=True)
    if origin:
        subprocess.run(["git", "remote", "add", "origin", origin], cwd=clone, check=True)
    return clone


def bake_from(clone: Path, tmp_path: Path) -> tuple[Path, str]:
    """``cookiecutter --no-input -o <out> .`` in ``clone``; the project and stdout."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    env = {key: value for key, value in os.environ.items() if key != "AZURE_DEVOPS_EXT_PAT"}
    env["COOKIECUTTER_CONFIG"] = str(config)
    out = tmp_path / "out"
    result = subprocess.run(
        [str(COOKIECUTTER), "--no-input", "-o", str(out), "."],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return out / "my-mlops-project", result.stdout


def provision_lines(readme: str) -> list[str]:
    return re.findall(r"^pipx run --spec (\S+) mlops-template provision", readme, re.M)


@pytest.fixture(scope="module")
def baked_with_origin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One bake from a clone whose origin URL holds credentials (never copied)."""
    tmp_path = tmp_path_factory.mktemp("with-origin")
    origin = SHARED.replace("https://", "https://ana:s3cret-token@")
    return bake_from(clone_of_this_template(tmp_path, origin), tmp_path)


def test_cruft_json_names_the_origin_url_without_credentials(
    baked_with_origin: tuple[Path, str],
) -> None:
    """.cruft.json's template is origin's URL, not the clone's folder."""
    project, _ = baked_with_origin
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == SHARED
    assert state["context"]["cookiecutter"]["_template"] == SHARED


def test_readme_provisions_from_the_origin_url(baked_with_origin: tuple[Path, str]) -> None:
    """The README's commands install the tool from the shared template."""
    project, _ = baked_with_origin
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert set(provision_lines(readme)) == {f"git+{SHARED}"}
    assert "s3cret-token" not in readme and str(project.parent.parent) not in readme
    assert "author's machine" not in readme


def test_end_of_bake_message_gives_the_readme_command(
    baked_with_origin: tuple[Path, str],
) -> None:
    """The message after the bake runs the same command as the README."""
    _, stdout = baked_with_origin
    assert f"pipx run --spec git+{SHARED} mlops-template provision" in stdout
    assert "s3cret-token" not in stdout and "PYTHONPATH" not in stdout


def test_without_origin_the_folder_is_named_with_how_to_share(tmp_path: Path) -> None:
    """No origin: the clone's folder, and a README line on `cruft link`."""
    clone = clone_of_this_template(tmp_path, None)
    project, stdout = bake_from(clone, tmp_path)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == str(clone.resolve())
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert set(provision_lines(readme)) == {str(clone.resolve())}
    assert "cruft link <template URL>" in readme and "author's machine" in readme
    assert f"pipx run --spec {clone.resolve()} mlops-template provision" in stdout


def test_an_origin_on_disk_is_named_as_a_url_pip_installs_from(tmp_path: Path) -> None:
    """A bare repository as origin: the README installs it through git (file://).

    Given as a path, pip would look for a pyproject.toml in the bare repository
    and fail; this is how a clone of a repository on a share or a CI machine bakes.
    """
    bare = tmp_path / "shared" / "mlops-template.git"
    clone = clone_of_this_template(tmp_path, str(bare))
    subprocess.run(["git", "clone", "-q", "--bare", str(clone), str(bare)], check=True)
    project, stdout = bake_from(clone, tmp_path)
    readme = (project / "README.md").read_text(encoding="utf-8")
    (spec,) = set(provision_lines(readme))
    assert spec == f"git+{bare.resolve().as_uri()}"
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == bare.resolve().as_uri()  # the README's home, one fact
    assert f"pipx run --spec {spec} mlops-template provision" in stdout
    assert "author's machine" in readme  # a path is not the team's shared home
    report = subprocess.run(  # what pipx asks of pip: clone, build, name the tool
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-deps",
            "--quiet",
            "--report",
            "-",
            spec,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    (install,) = json.loads(report.stdout)["install"]
    assert install["metadata"]["name"] == "mlops-template"
