"""Every lower bound in a generated project's requirements installs and imports.

A floor such as ``azure-ai-ml>=1.20`` lets a resolver pick an old release
with its dependencies' newest versions (azure-ai-ml 1.23.1 with marshmallow 4,
and ``import azure.ai.ml`` fails). For each SDK the project's requirement files
are resolved twice with uv, with the lowest direct versions
(``--resolution lowest-direct``: each requirement at its floor, everything
else at its newest) and with the newest (``--resolution highest``); each
resolution is installed and every requirement's module imported in it.

Cost, measured on the 2-core machine (shared with other runs, ``nice -n 10``,
uv's cache warm): 51 s for v2 and 33 s for v1 in one run, each building its
own dev-lock environment. Both resolutions are compiled at once (mostly
waiting for PyPI), each install links from uv's cache in about 2 s, and
importing every module takes 15 to 20 s per environment. The newest
resolution reuses the dev-lock environment (the one
tests/projects/test_refused_modules.py builds, when it ran on the same
worker) whenever its pins are the lock's, since the lock is itself a newest
resolution; it is installed on its own only after a newer release.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import COOKIECUTTER_JSON, DEFAULT_PYTHON
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from project_env import _uv, clean_environment, interpreter_for, project_environment, run

pytestmark = pytest.mark.slow

# The module each requirement of the generated project is imported by: the one
# the project imports (a requirement missing here fails the test).
MODULES = {
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "scikit-learn": "sklearn",
    "joblib": "joblib",
    "azure-storage-blob": "azure.storage.blob",
    "azure-identity": "azure.identity",
    "requests": "requests",
    "azureml-inference-server-http": "azureml_inference_server_http.server.create_app",
    "azureml-ai-monitoring": "azureml.ai.monitoring",
    "mlflow-skinny": "mlflow.sklearn",
    "sqlalchemy": "sqlalchemy",
    "alembic": "alembic",
    "azureml-mlflow": "azureml.mlflow",
    "pytest": "pytest",
    "pytest-cov": "pytest_cov",
    "ruff": "ruff",
    "pre-commit": "pre_commit",
    "nbstripout": "nbstripout",
    "packaging": "packaging",
    "pyyaml": "yaml",
    "check-jsonschema": "check_jsonschema",
    "nbformat": "nbformat",
    "matplotlib": "matplotlib.pyplot",
    "jupyterlab": "jupyterlab",
    "ipykernel": "ipykernel",
    "azureml-core": "azureml.core",
    "azure-ai-ml": "azure.ai.ml.entities",
    "uv": "uv",
}

RESOLUTIONS = ("lowest-direct", "highest")

# Imports each module in turn; prints {module: error} for those that fail.
IMPORT_ALL = """
import importlib, json, sys, traceback, warnings
warnings.simplefilter("ignore")
failed = {}
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
    except BaseException:
        failed[module] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""


def requirements(project: Path) -> list[Requirement]:
    """The requirements of every job's file in ``project/requirements``."""
    found = []
    for path in sorted((project / "requirements").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                found.append(Requirement(line))
    return found


def pins(text: str) -> dict[str, str]:
    """``name: version`` of each ``name==version`` line of a compiled requirements file."""
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)", text, re.M)
    }


def imports_failing(python: Path, modules: list[str], project: Path) -> dict[str, str]:
    """The modules that do not import with ``python``, with their errors."""
    env = clean_environment(python.parent.parent)
    result = run([str(python), "-c", IMPORT_ALL, *modules], project.parent, env)
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("sdk", COOKIECUTTER_JSON["azureml_sdk"])
def test_requirements_install_and_import_at_their_floors_and_newest(
    bake: Any, sdk: str, tmp_path: Path
) -> None:
    """Resolved at the lowest direct versions and at the newest, the generated
    requirements of this SDK install and every requirement imports."""
    result = bake({"azureml_sdk": sdk, "python_version": DEFAULT_PYTHON}, to_run=True)
    project = result.project_path
    wanted = requirements(project)
    names = {canonicalize_name(requirement.name) for requirement in wanted}
    assert names <= set(MODULES), f"say how to import {sorted(names - set(MODULES))}"
    modules = sorted({MODULES[name] for name in names})
    uv = _uv()
    interpreter = interpreter_for(DEFAULT_PYTHON)
    environment = clean_environment(UV_NO_CONFIG="1")
    files = [str(path) for path in sorted((project / "requirements").glob("*.txt"))]
    compiled = {resolution: tmp_path / f"{resolution}.txt" for resolution in RESOLUTIONS}
    compile_command = [uv, "pip", "compile", "--quiet", "--python", interpreter, *files]
    # Both resolutions at once: compiling mostly waits for PyPI's answers.
    compiling = {
        resolution: subprocess.Popen(
            [*compile_command, "--resolution", resolution, "-o", str(compiled[resolution])],
            cwd=project,
            env=environment,
            stderr=subprocess.PIPE,
            text=True,
        )
        for resolution in RESOLUTIONS
    }
    for resolution, process in compiling.items():
        _, errors = process.communicate(timeout=600)
        assert process.returncode == 0, f"uv could not resolve {resolution}: {errors}"
    failures = {}
    for resolution in RESOLUTIONS:
        resolved = pins(compiled[resolution].read_text(encoding="utf-8"))
        locked = pins((project / "requirements" / "lock" / "dev.txt").read_text("utf-8"))
        if resolution == "highest" and all(locked.get(n) == v for n, v in resolved.items()):
            # The lock is this resolution: its environment is shared.
            python = project_environment(project, DEFAULT_PYTHON, lock="dev") / "bin" / "python"
        else:
            venv = tmp_path / resolution
            run([uv, "venv", "--quiet", "--python", interpreter, str(venv)], project, environment)
            python = venv / "bin" / "python"
            run(
                [uv, "pip", "sync", "--quiet", "--python", str(python), str(compiled[resolution])],
                project,
                environment,
            )
        failing = imports_failing(python, modules, project)
        if failing:
            floors = {name: resolved.get(canonicalize_name(name)) for name in names}
            failures[resolution] = {"versions": floors, "failing": failing}
    assert not failures, json.dumps(failures, indent=1)
