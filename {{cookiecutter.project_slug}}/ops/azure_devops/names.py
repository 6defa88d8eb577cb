"""The Azure DevOps names of this project, defined once.

Derived from the answers given when the project was generated. The pipeline
files in ``pipelines/`` use these names (``tests/test_pipelines.py`` checks
that they agree), and whatever creates the Azure DevOps resources reads them
from here. Standard library only: importable without installing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
# The Python package the pipelines run (`python -m <package>.…`).
MODULE_NAME = "{{ cookiecutter.module_name }}"


@dataclass(frozen=True)
class Pipeline:
    """An Azure DevOps YAML pipeline: its name and its file in the repository."""

    name: str
    yaml_path: str


CI_PIPELINE = "{{ cookiecutter.project_slug }}-ci"
MODEL_BUILD_PIPELINE = "{{ cookiecutter.project_slug }}-model-build"
RELEASE_PIPELINE = "{{ cookiecutter.project_slug }}-release"

# Upstream first: release.yml names the model build as its pipeline resource
# (`source:`), so the model-build pipeline must exist before the release one.
PIPELINES: tuple[Pipeline, ...] = (
    Pipeline(CI_PIPELINE, "pipelines/ci.yml"),
    Pipeline(MODEL_BUILD_PIPELINE, "pipelines/model-build.yml"),
    Pipeline(RELEASE_PIPELINE, "pipelines/release.yml"),
)

# Deployment environments; their approvals and checks gate the release stages.
QA_ENVIRONMENT = "{{ cookiecutter.project_slug }}-qa"
PROD_ENVIRONMENT = "{{ cookiecutter.project_slug }}-prod"
ENVIRONMENTS: tuple[str, ...] = (QA_ENVIRONMENT, PROD_ENVIRONMENT)

# The Azure Resource Manager service connection of every Azure CLI step.
SERVICE_CONNECTION = "{{ cookiecutter.azure_service_connection }}"

# The variable group that model-build.yml and release.yml read.
VARIABLE_GROUP = "{{ cookiecutter.project_slug }}-settings"
# Workspace ids: azureml_config.workspace_ids() reads them from the environment.
REQUIRED_VARIABLES: tuple[str, ...] = (
    "AZURE_SUBSCRIPTION_ID",
    "AZUREML_RESOURCE_GROUP",
    "AZUREML_WORKSPACE",
)
# Empty or absent: train on the build agent, on the bundled sample data.
OPTIONAL_VARIABLES: tuple[str, ...] = ("TRAINING_COMPUTE", "TRAINING_DATA")
# Stored as secrets: never in a file, mapped into a step through `env:`.
SECRET_VARIABLES: tuple[str, ...] = ("AZURE_STORAGE_CONNECTION_STRING",)
VARIABLES: tuple[str, ...] = (
    *REQUIRED_VARIABLES,
    *OPTIONAL_VARIABLES,
    *SECRET_VARIABLES,
)

# The model build publishes this artifact, holding this file; the release
# reads it from $(Pipeline.Workspace)/<resource alias>/<artifact>/.
MODEL_METADATA_ARTIFACT = "model_metadata"
MODEL_METADATA_FILE = "model_metadata.json"
# release.yml's alias of the model-build pipeline resource.
MODEL_BUILD_RESOURCE = "model_build"

# What to create, upstream first: the pipelines reference the environments,
# the variable group and the service connection by name, and release.yml
# references the model-build pipeline.
CREATION_ORDER: tuple[tuple[str, str], ...] = (
    ("environment", QA_ENVIRONMENT),
    ("environment", PROD_ENVIRONMENT),
    ("variable_group", VARIABLE_GROUP),
    ("service_connection", SERVICE_CONNECTION),
    *(("pipeline", pipeline.name) for pipeline in PIPELINES),
)
