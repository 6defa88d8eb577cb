"""The baked Azure Pipelines, in both SDK variants: schema-valid, and wired together."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from conftest import COOKIECUTTER_JSON

SCHEMA_CHECK = [
    "--builtin-schema",
    "vendor.azure-pipelines",
    "--regex-variant",
    "python",
    "--data-transform",
    "azure-pipelines",
]


def load_names(project: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "baked_names", project / "ops" / "azure_devops" / "names.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def pipeline(project: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((project / "pipelines" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("sdk", COOKIECUTTER_JSON["azureml_sdk"])
def test_every_pipeline_file_passes_the_azure_pipelines_schema(bake: Any, sdk: str) -> None:
    project = bake({"azureml_sdk": sdk}).project_path
    files = sorted(str(path) for path in (project / "pipelines").rglob("*.yml"))
    assert len(files) >= 3
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), *SCHEMA_CHECK, *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("sdk", COOKIECUTTER_JSON["azureml_sdk"])
def test_pipelines_are_wired_by_the_names_module(bake: Any, sdk: str) -> None:
    project = bake({"azureml_sdk": sdk}).project_path
    names = load_names(project)
    assert [p.yaml_path for p in names.PIPELINES] == [
        "pipelines/ci.yml",
        "pipelines/model-build.yml",
        "pipelines/release.yml",
    ]
    build = pipeline(project, "model-build.yml")
    module = bake({"azureml_sdk": sdk}).context["module_name"]
    assert f"src/{module}/model_building" in [
        path.rstrip("/") for path in build["trigger"]["paths"]["include"]
    ]
    release = pipeline(project, "release.yml")
    assert release["trigger"] == "none"
    (resource,) = release["resources"]["pipelines"]
    assert resource["source"] == names.MODEL_BUILD_PIPELINE
    stages = {stage["stage"]: stage for stage in release["stages"]}
    environments = [stage["jobs"][0]["parameters"]["environment"] for stage in stages.values()]
    assert environments == [names.QA_ENVIRONMENT, names.PROD_ENVIRONMENT]
    assert stages["Prod"]["dependsOn"] == "QA"
    deploy = (project / "pipelines" / "templates" / "deploy-stage.yml").read_text()
    if sdk == "v1":
        assert "--payload .azureml/test.json" in deploy
    else:  # deploy.py smoke-tests .azureml/test.json during its blue/green release
        assert "deployment.deploy --stage" in deploy
    assert "deployment: " in deploy
