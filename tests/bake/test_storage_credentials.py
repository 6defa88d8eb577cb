"""Storage credentials, one table: every form travels from secrets.json to the step that reads data.

The chain, for each form: the baked project's ``secrets.json`` -> the variable group the tool
writes (``Settings.storage_variables``, through the plan) -> the environment Azure Pipelines
gives model-build's training step (from the baked ``pipelines/model-build.yml``) -> the baked
project's own ``resolve_storage_config``, run in that environment. The last link runs the
project's ``credentials.py`` in a subprocess with the package registered but its
``data_ingestion/__init__`` not run (it imports pandas and the Azure SDK, which the
template's environment lacks); the reads against Azurite are the project's own tests
(``tests/test_data_ingestion_azurite.py``).

How the agent builds a step's environment, per "Define variables"
(https://learn.microsoft.com/azure/devops/pipelines/process/variables#environment-variables,
#macro-syntax-variables) and "Set secret variables"
(https://learn.microsoft.com/azure/devops/pipelines/process/set-secret-variables): a
non-secret variable of the group is an environment variable of every step (name upper-cased,
``.`` as ``_``); a secret one only where a step's ``env:`` maps it; a ``$(name)`` macro of an
undefined variable is left as it is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from provisioning_env import STORAGE_KEYS

from mlops_template import settings as config
from mlops_template.lookup import State
from mlops_template.plan import make_plan

ACCOUNT = "churndata"
KEY = "a2V5LW5vdC1hLXJlYWwtb25l"  # base64, as account keys are
SAS = "?sv=2024-11-04&sr=c&sp=r&sig=c2lnbmF0dXJl"
CONNECTION_STRING = (
    f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey={KEY};"
    "EndpointSuffix=core.windows.net"
)
PRIVATE_ENDPOINT = f"https://{ACCOUNT}.privatelink.blob.core.windows.net/"

# Each supported form: secrets.json, and what the ingestor must resolve from the step's
# environment (None: absent). "sign in": DefaultAzureCredential (the step's Azure CLI login).
FORMS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "connection string": (
        {"connection_string": CONNECTION_STRING, "container_name": "raw"},
        {"connection_string": CONNECTION_STRING, "container_name": "raw", "sign_in": False},
    ),
    "account key": (
        {"storage_account_name": ACCOUNT, "storage_account_key": KEY},
        {
            "account_key": KEY,
            "account_url": f"https://{ACCOUNT}.blob.core.windows.net",
            "sign_in": False,
        },
    ),
    "SAS token": (
        {"storage_account_name": ACCOUNT, "sas_token": SAS},
        {"sas_token": SAS, "account_url": f"https://{ACCOUNT}.blob.core.windows.net"},
    ),
    "blob endpoint": (
        {"blob_endpoint": PRIVATE_ENDPOINT, "sas_token": SAS},
        {"sas_token": SAS, "account_url": PRIVATE_ENDPOINT.rstrip("/"), "account": ACCOUNT},
    ),
    "identity": (
        {"storage_account_name": ACCOUNT},
        {"account_url": f"https://{ACCOUNT}.blob.core.windows.net", "sign_in": True},
    ),
    "identity, sovereign cloud": (
        {"storage_account_name": ACCOUNT, "endpoint_suffix": "core.chinacloudapi.cn"},
        {"account_url": f"https://{ACCOUNT}.blob.core.chinacloudapi.cn", "sign_in": True},
    ),
    "identity, endpoint only": (
        {"blob_endpoint": PRIVATE_ENDPOINT},
        {"account_url": PRIVATE_ENDPOINT.rstrip("/"), "account": ACCOUNT, "sign_in": True},
    ),
}

# Runs the baked project's credentials.py: argv = the project's src folder, its module name.
RESOLVE = """
import dataclasses, importlib, importlib.util, json, sys
from pathlib import Path

src, module = Path(sys.argv[1]), sys.argv[2]
package = src / module
for name, folder in ((module, package), (module + ".data_ingestion", package / "data_ingestion")):
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if name == module:
        spec.loader.exec_module(package)
credentials = importlib.import_module(module + ".data_ingestion.credentials")
resolved = credentials.resolve_storage_config(None)
found = dataclasses.asdict(resolved)
found.update(account=resolved.account, account_url=resolved.account_url)
found["sign_in"] = not (resolved.connection_string or resolved.account_key or resolved.sas_token)
print(json.dumps(found))
"""


def project_copy(bake: Any, tmp_path: Path) -> tuple[Path, str]:
    """The default bake, copied (the bake is shared): its folder and module name."""
    result = bake()
    project = tmp_path / "project"
    shutil.copytree(result.project_path, project, ignore=shutil.ignore_patterns(".git"))
    return project, result.context["module_name"]


def group_variables(project: Path, deployed: tuple[str, str] | None = None) -> dict[str, Any]:
    """The variable group the tool's plan writes for ``project`` (storage variables only)."""
    settings = config.load(project, organization_url="https://dev.azure.com/contoso")
    state = State(owner={"id": "x"}, storage_variables=settings.storage_variables(deployed))
    plan = make_plan(state, replace(settings, variables={}))
    return plan.variables


def training_step(project: Path) -> dict[str, Any]:
    """model-build's step that runs the training (and reads TRAINING_DATA)."""
    build = yaml.safe_load((project / "pipelines" / "model-build.yml").read_text("utf-8"))
    (step,) = (s for s in build["steps"] if "model_building.train" in str(s.get("inputs")))
    return step


def step_environment(step: dict[str, Any], group: dict[str, Any]) -> dict[str, str]:
    """The environment the agent gives ``step`` from the variable group ``group``."""
    environment = {
        re.sub(r"\W", "_", name).upper(): entry["value"]
        for name, entry in group.items()
        if not entry.get("isSecret")
    }

    def expand(value: str) -> str:
        return re.sub(
            r"\$\(([\w.]+)\)",
            lambda m: group[m[1]]["value"] if m[1] in group else m[0],
            value,
        )

    environment.update({name: expand(str(value)) for name, value in step["env"].items()})
    return environment


def resolve_in_step(project: Path, module: str, environment: dict[str, str]) -> dict[str, Any]:
    """``resolve_storage_config(None)`` of the project, run with ``environment``."""
    workdir = project.parent / "agent"  # no secrets.json, no pyproject.toml above it
    workdir.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", RESOLVE, str(project / "src"), module],
        cwd=workdir,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_reaches_the_training_step(bake: Any, tmp_path: Path, form: str) -> None:
    """secrets.json -> the tool's variable group -> model-build's training step -> the
    ingestor resolves the same credentials there; secrets are isSecret in the group and
    reach the step only through its env: mapping."""
    secrets, expected = FORMS[form]
    project, module = project_copy(bake, tmp_path)
    (project / "secrets.json").write_text(json.dumps(secrets), encoding="utf-8")
    group = group_variables(project)
    for key, value in secrets.items():
        entry = group[STORAGE_KEYS[key]["variable"]]
        assert entry["value"] == value
        assert entry.get("isSecret", False) is STORAGE_KEYS[key]["secret"], key
    step = training_step(project)
    found = resolve_in_step(project, module, step_environment(step, group))
    assert {name: found[name] for name in expected} == expected
    absent = {"connection_string", "account_key", "sas_token"} - set(expected)
    assert all(found[name] is None for name in absent), found


def test_the_storage_the_tool_deploys_is_read_as_the_pipelines_identity(
    bake: Any, tmp_path: Path
) -> None:
    """No secrets.json, a deployed account: the step signs in (issue 18's upload is read)."""
    project, module = project_copy(bake, tmp_path)
    group = group_variables(project, deployed=(ACCOUNT, "data"))
    found = resolve_in_step(project, module, step_environment(training_step(project), group))
    assert found["account_name"] == ACCOUNT and found["container_name"] == "data"
    assert found["sign_in"] is True


def test_the_step_that_reads_data_has_the_service_connections_login(bake: Any) -> None:
    """DefaultAzureCredential's AzureCliCredential signs in as the service connection there."""
    project = bake().project_path
    step = training_step(project)
    assert step["task"] == "AzureCLI@2"
    service_connection = config.load(project, organization_url="https://dev.azure.com/c")
    assert step["inputs"]["azureSubscription"] == service_connection.names.service_connection


def test_no_secret_variable_is_set_in_any_pipeline_file(bake: Any) -> None:
    """Secrets reach a step only as $(NAME) in env:, never as a value or in a script."""
    project = bake().project_path
    secret = {spec["variable"] for spec in STORAGE_KEYS.values() if spec["secret"]}
    for path in (project / "pipelines").rglob("*.yml"):
        text = path.read_text(encoding="utf-8")
        for name in secret:
            uses = re.findall(rf"^.*\b{name}\b.*$", text, re.MULTILINE)
            assert all(line.strip() == f"{name}: $({name})" for line in uses), (path, uses)
