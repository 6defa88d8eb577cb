"""The baked Azure Pipelines, in both SDK variants: schema-valid, and wired together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import COOKIECUTTER_JSON

from mlops_template import settings
from mlops_template.settings import Names

SCHEMA_CHECK = [
    "--builtin-schema",
    "vendor.azure-pipelines",
    "--regex-variant",
    "python",
    "--data-transform",
    "azure-pipelines",
]


def load_names(project: Path) -> Names:
    """The names the tool reads from the baked project's azure-devops.json."""
    return settings.load(project, organization_url="https://dev.azure.com/contoso").names


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
def test_pipelines_are_wired_by_the_settings_file(bake: Any, sdk: str) -> None:
    project = bake({"azureml_sdk": sdk}).project_path
    names = load_names(project)
    assert [p.yaml_path for p in names.pipelines] == [
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
    assert resource["source"] == names.model_build_pipeline.name
    stages = {stage["stage"]: stage for stage in release["stages"]}
    environments = [stage["jobs"][0]["parameters"]["environment"] for stage in stages.values()]
    assert environments == [names.qa_environment, names.prod_environment]
    assert stages["Prod"]["dependsOn"] == "QA"
    deploy = (project / "pipelines" / "templates" / "deploy-stage.yml").read_text()
    if sdk == "v1":
        assert "--payload .azureml/test.json" in deploy
    else:  # deploy.py smoke-tests .azureml/test.json during its blue/green release
        assert "deployment.deploy --stage" in deploy
    assert "deployment: " in deploy


def test_sdk_v2_model_build_also_retrains_weekly_on_main(bake: Any) -> None:
    """SDK v2's model-build runs on a weekly schedule on main, even without a code change."""
    build = pipeline(bake({"azureml_sdk": "v2"}).project_path, "model-build.yml")

    (schedule,) = build["schedules"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*")
    assert minute.isdigit() and hour.isdigit() and weekday.isdigit()
    assert schedule["branches"]["include"] == ["main"]
    assert schedule["always"] == "true"


def test_sdk_v1_model_build_has_no_schedule(bake: Any) -> None:
    """SDK v1 stays as it was: model-build runs on code changes only."""
    build = pipeline(bake({"azureml_sdk": "v1"}).project_path, "model-build.yml")

    assert "schedules" not in build


def test_sdk_v2_release_sets_the_prod_monitor_after_the_prod_deploy(bake: Any) -> None:
    """The v2 deploy script runs deployment.monitor after deploy, for the prod stage only."""
    project = bake({"azureml_sdk": "v2"}).project_path
    script = (project / "pipelines" / "templates" / "deploy-stage.yml").read_text()

    deploy_at = script.index("deployment.deploy --stage")
    prod_only = script.index('if [ "$STAGE" = prod ]; then', deploy_at)
    assert script.index("deployment.monitor --model-version", prod_only) > prod_only
