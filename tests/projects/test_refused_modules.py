"""The module names a package may not take cover the project's whole environment.

hooks/refused_module_names.txt is generated from the project's environments
(docs/scripts/refused_modules.py); this test builds them, for both Azure ML SDKs,
and fails when a dependency brings a top-level module the file lacks.
"""

from __future__ import annotations

from typing import Any

import pytest
import refused_modules
from conftest import COOKIECUTTER_JSON, load_hook
from project_env import project_environment

# Installs a v1 and a v2 project's full developer environment (its dev lock: every job's
# modules), from uv's cache.
pytestmark = pytest.mark.slow

pre_gen = load_hook("pre_gen_project")


@pytest.mark.parametrize("sdk", COOKIECUTTER_JSON["azureml_sdk"])
def test_every_module_of_the_projects_environment_is_refused(bake: Any, sdk: str) -> None:
    """A package named like any of them would shadow it once the project is installed.

    When this fails, run: python docs/scripts/refused_modules.py --keep <the venv>
    """
    python_version = COOKIECUTTER_JSON["python_version"][0]
    result = bake({"azureml_sdk": sdk, "python_version": python_version}, to_run=True)
    venv = project_environment(result.project_path, python_version, lock="dev")
    installed = refused_modules.environment_modules(venv)
    missing = installed - refused_modules.read_names()
    assert not missing, f"not in hooks/refused_module_names.txt: {sorted(missing)} ({venv})"
    assert installed <= pre_gen.REFUSED_MODULES
