"""The Azure DevOps names of this project, read from ``azure-devops.json`` (defined once there).

The pipeline files use these names; ``test_pipelines.py`` checks that they agree,
and ``mlops-template provision`` creates the resources under the same names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

SETTINGS = json.loads(
    (Path(__file__).resolve().parents[1] / "azure-devops.json").read_text(
        encoding="utf-8"
    )
)


class Pipeline(NamedTuple):
    """An Azure DevOps YAML pipeline: its name and its file in the repository."""

    name: str
    yaml_path: str


PROJECT_SLUG = SETTINGS["repository"]
# The Python package the pipelines run (`python -m <package>.…`).
MODULE_NAME = "{{ cookiecutter.module_name }}"

_PIPELINES = SETTINGS["pipelines"]
CI_PIPELINE = _PIPELINES["ci"]["name"]
MODEL_BUILD_PIPELINE = _PIPELINES["model_build"]["name"]
RELEASE_PIPELINE = _PIPELINES["release"]["name"]
# Upstream first: release.yml names the model build as its pipeline resource.
PIPELINES = tuple(
    Pipeline(_PIPELINES[key]["name"], _PIPELINES[key]["yaml"])
    for key in ("ci", "model_build", "release")
)

QA_ENVIRONMENT = SETTINGS["environments"]["qa"]
PROD_ENVIRONMENT = SETTINGS["environments"]["prod"]
ENVIRONMENTS = (QA_ENVIRONMENT, PROD_ENVIRONMENT)

SERVICE_CONNECTION = SETTINGS["service_connection"]
VARIABLE_GROUP = SETTINGS["variable_group"]
# Workspace ids: azureml_config.workspace_ids() reads them from the environment.
REQUIRED_VARIABLES = (
    "AZURE_SUBSCRIPTION_ID",
    "AZUREML_RESOURCE_GROUP",
    "AZUREML_WORKSPACE",
)
# Empty or absent: train on the build agent, on the bundled sample data.
OPTIONAL_VARIABLES = tuple(
    key for key in SETTINGS["variables"] if key not in REQUIRED_VARIABLES
)
SECRET_VARIABLES = tuple(SETTINGS["secret_variables"])
VARIABLES = (*REQUIRED_VARIABLES, *OPTIONAL_VARIABLES, *SECRET_VARIABLES)

MODEL_METADATA_ARTIFACT = SETTINGS["model_build"]["metadata_artifact"]
MODEL_METADATA_FILE = SETTINGS["model_build"]["metadata_file"]
# release.yml's alias of the model-build pipeline resource.
MODEL_BUILD_RESOURCE = SETTINGS["model_build"]["pipeline_resource"]
