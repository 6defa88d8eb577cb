"""The generated project's locks (requirements/lock/) against its requirements.

Without resolving again (PyPI moves): every requirement of a job is pinned in
its lock inside its specifier, the job locks agree with the full one, and the
baked conda files carry the locks' pins. `scripts/lock_project.py` writes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TEMPLATE = REPO_ROOT / "{{cookiecutter.project_slug}}"
VARIANTS = ("v1", "v2")
FULL = "dev"
JOBS = {
    "dev": ("base", "serving", "tracking", "test", "notebooks", "azureml", "devtools"),
    "ci": ("base", "serving", "tracking", "test", "azureml"),
    "deploy": ("base", "azureml"),
    "training": ("base", "tracking"),
    "scoring": ("base", "serving"),
}
CONDA_LOCKS = {
    "environment.yml": "dev",
    ".azureml/conda_dependencies.yml": "scoring",
    ".azureml/conda_training.yml": "training",
}


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of ``path``, without comments (which may hold Jinja)."""
    lines = (line.split(" #", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def requirement_file(sdk: str, name: str) -> Path:
    variant = TEMPLATE / "_variants" / sdk / "requirements" / f"{name}.txt"
    return variant if variant.is_file() else TEMPLATE / "requirements" / f"{name}.txt"


def pins(sdk: str, lock: str) -> dict[str, set[str]]:
    """Package name -> pinned versions (one per environment marker) of a lock."""
    path = TEMPLATE / "_variants" / sdk / "requirements" / "lock" / f"{lock}.txt"
    found: dict[str, set[str]] = {}
    for line in requirement_lines(path):
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{path}: {line!r} is not an exact pin"
        found.setdefault(canonicalize_name(requirement.name), set()).add(spec.version)
    return found


@pytest.mark.parametrize("sdk", VARIANTS)
@pytest.mark.parametrize("lock", sorted(JOBS))
def test_lock_pins_every_requirement_of_its_job_inside_its_specifier(sdk: str, lock: str) -> None:
    """Each requirement of the job is in its lock, at versions its specifier allows."""
    pinned = pins(sdk, lock)
    for name in JOBS[lock]:
        for line in requirement_lines(requirement_file(sdk, name)):
            requirement = Requirement(line)
            versions = pinned.get(canonicalize_name(requirement.name))
            assert versions, f"{sdk} {lock}.txt lacks {line!r} ({name}.txt)"
            assert all(requirement.specifier.contains(v, prereleases=True) for v in versions), (
                f"{sdk} {lock}.txt pins {sorted(versions)}, outside {line!r}"
            )


@pytest.mark.parametrize("sdk", VARIANTS)
@pytest.mark.parametrize("lock", sorted(set(JOBS) - {FULL}))
def test_job_lock_agrees_with_the_full_lock(sdk: str, lock: str) -> None:
    """Every version a job lock pins is the one the full lock (dev.txt) pins."""
    full = pins(sdk, FULL)
    for name, versions in pins(sdk, lock).items():
        assert versions <= full.get(name, set()), f"{sdk} {lock}.txt: {name}"


@pytest.mark.parametrize("sdk", VARIANTS)
@pytest.mark.parametrize("conda_file", sorted(CONDA_LOCKS))
def test_baked_conda_file_carries_the_lock_pins(bake: Any, sdk: str, conda_file: str) -> None:
    """The rendered conda file (and so the Azure ML environment) installs the lock."""
    project = bake({"azureml_sdk": sdk}).project_path
    conda = yaml.safe_load((project / conda_file).read_text(encoding="utf-8"))
    lock = project / "requirements" / "lock" / f"{CONDA_LOCKS[conda_file]}.txt"
    assert conda["dependencies"][-1]["pip"] == requirement_lines(lock)


@pytest.mark.parametrize("sdk", VARIANTS)
def test_baked_project_finds_its_locks_and_conda_files_in_sync(bake: Any, sdk: str) -> None:
    """The project's own checks (its pre-commit hooks) pass on a fresh bake."""
    project = bake({"azureml_sdk": sdk, "project_name": "Other Name"}).project_path
    module = project.name.replace("-", "_")
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    for tool in ("lock", "environment_files"):
        result = subprocess.run(
            [sys.executable, "-m", f"{module}.devtools.{tool}", "--check"],
            cwd=project, env=environment, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
