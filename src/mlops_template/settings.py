"""What to provision, and where: the generated project's ``azure-devops.json``, plus overrides.

The generated project keeps one data file, ``azure-devops.json`` at its root: the
organization, project, approvers and Azure ids given when it was generated, and every
name its pipelines use (pipelines, environments, variable group, service connection).
Its pipeline files and its own tests read the same names. A command-line option wins
over the file. Standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .organization import Organization, OrganizationUrlError, parse

SETTINGS_FILE = "azure-devops.json"
# Where the storage credentials are read from, relative to the project root.
SECRETS_FILE = "secrets.json"
# The project's one table of storage credential keys: each key's variable and whether it
# is secret. Its ingestor (data_ingestion/credentials.py) reads the same file.
STORAGE_TABLE = "src/*/data_ingestion/storage_credentials.json"
IDENTITY_URL_VARIABLE = "AZURE_DEVOPS_IDENTITY_URL"


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Pipeline:
    """An Azure DevOps YAML pipeline: its name and its file in the repository."""

    name: str
    yaml_path: str


@dataclass(frozen=True)
class Names:
    """Every Azure DevOps name of the project, as its settings file defines them."""

    slug: str
    ci_pipeline: Pipeline
    model_build_pipeline: Pipeline
    release_pipeline: Pipeline
    qa_environment: str
    prod_environment: str
    variable_group: str
    service_connection: str

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        """Upstream first: release.yml names the model build as its pipeline resource."""
        return (self.ci_pipeline, self.model_build_pipeline, self.release_pipeline)

    @property
    def environments(self) -> tuple[str, ...]:
        """QA, then Prod."""
        return (self.qa_environment, self.prod_environment)


@dataclass(frozen=True)
class Settings:
    """Everything provisioning needs to know, read-only."""

    organization_url: str
    project: str
    repository: str
    project_dir: Path
    names: Names
    create_project: bool = False
    approvers: tuple[str, ...] = ()
    azure_subscription_id: str = ""
    azure_tenant_id: str = ""
    azure_client_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    first_run: bool = True  # queue the CI pipeline's first run (--no-run: False)
    azure: dict[str, Any] = field(default_factory=dict)  # the Azure side's choices (template)

    @property
    def organization(self) -> Organization:
        """The organization and its service bases."""
        try:
            return parse(self.organization_url, os.environ.get(IDENTITY_URL_VARIABLE) or None)
        except OrganizationUrlError as error:
            raise ConfigurationError(str(error)) from None

    def can_create_service_connection(self) -> bool:
        """Whether there is enough to create the Azure Resource Manager connection."""
        return bool(self.azure_subscription_id and self.azure_tenant_id and self.azure_client_id)

    def storage_variables(self, deployed: tuple[str, str] | None = None) -> dict[str, Any]:
        """The variable group's storage variables, from the project's secrets.json (if any).

        Each key secrets.json gives a value goes under its variable in the project's
        storage table, ``{"value": ...}``, with ``"isSecret": true`` where the table says
        secret. ``deployed``, the storage account and container the tool deploys, name
        the storage when secrets.json names none: the pipelines then sign in as their
        identity.
        """
        secrets = self._secrets()
        if not secrets and deployed is None:
            return {}
        keys = storage_keys(self.project_dir)
        unknown = sorted(set(secrets) - set(keys))
        if unknown:
            raise ConfigurationError(
                f"{self.project_dir / SECRETS_FILE} has unknown key(s) {unknown}; the known "
                f"keys are {sorted(keys)} (see secrets.example.json)"
            )
        not_text = sorted(key for key, value in secrets.items() if not isinstance(value, str))
        if not_text:
            raise ConfigurationError(
                f"{self.project_dir / SECRETS_FILE}: the value(s) of {not_text} must be text"
            )
        given = {key: value for key, value in secrets.items() if value}
        names_storage = {"connection_string", "storage_account_name", "blob_endpoint"}
        if deployed is not None and not names_storage & set(given):
            given = {"storage_account_name": deployed[0], "container_name": deployed[1], **given}
        variables: dict[str, Any] = {}
        for key, value in given.items():
            entry: dict[str, Any] = {"value": value}
            if keys[key]["secret"]:
                entry["isSecret"] = True
            variables[keys[key]["variable"]] = entry
        return variables

    def _secrets(self) -> dict[str, Any]:
        """The project's secrets.json as a dict; empty when there is none."""
        path = self.project_dir / SECRETS_FILE
        if not path.is_file():
            return {}
        try:
            secrets = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"{path} is not valid JSON ({error.__class__.__name__}); "
                "fix it (see secrets.example.json) or remove it"
            ) from None
        if not isinstance(secrets, dict):
            raise ConfigurationError(f"{path} must hold a JSON object (see secrets.example.json)")
        return secrets


def storage_keys(project_dir: Path) -> dict[str, dict[str, Any]]:
    """The project's storage credential keys: secrets.json key -> its variable, and secret or not.

    Raises ConfigurationError when the project has no readable table.
    """
    found = sorted(Path(project_dir).glob(STORAGE_TABLE))
    if len(found) != 1:
        raise ConfigurationError(
            f"{project_dir} must hold one {STORAGE_TABLE}, found {len(found)}: restore it "
            "from the template (it defines the keys of secrets.json)"
        )
    try:
        keys = json.loads(found[0].read_text(encoding="utf-8"))["keys"]
        return {key: {"variable": s["variable"], "secret": s["secret"]} for key, s in keys.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigurationError(
            f"cannot read the storage table {found[0]} ({error.__class__.__name__}): restore "
            "it from the template"
        ) from None


def parse_approvers(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """E-mail addresses from a comma-separated answer or a list."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def find_project_dir(start: Path) -> Path | None:
    """The folder holding ``azure-devops.json``: ``start`` or one of its parents."""
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return None


def _names(raw: dict[str, Any], path: Path) -> Names:
    try:
        pipelines = raw["pipelines"]
        environments = raw["environments"]
        return Names(
            slug=raw["repository"],
            ci_pipeline=Pipeline(pipelines["ci"]["name"], pipelines["ci"]["yaml"]),
            model_build_pipeline=Pipeline(
                pipelines["model_build"]["name"], pipelines["model_build"]["yaml"]
            ),
            release_pipeline=Pipeline(pipelines["release"]["name"], pipelines["release"]["yaml"]),
            qa_environment=environments["qa"],
            prod_environment=environments["prod"],
            variable_group=raw["variable_group"],
            service_connection=raw["service_connection"],
        )
    except (KeyError, TypeError) as error:
        raise ConfigurationError(
            f"{path} lacks the name {error}: restore it from the template "
            "(every name the pipelines use is defined there)"
        ) from None


def load(project_dir: Path, **overrides: Any) -> Settings:
    """Settings from the project's ``azure-devops.json``; overrides that are not None win.

    Raises ConfigurationError when the file is missing or broken, or the organization
    URL or the project is missing or malformed.
    """
    path = Path(project_dir) / SETTINGS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"no {SETTINGS_FILE} in {project_dir}: run this from the root of a project "
            "generated by mlops-template"
        ) from None
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}") from None
    settings = Settings(
        organization_url=raw.get("organization_url", ""),
        project=raw.get("project", ""),
        repository=raw.get("repository", ""),
        project_dir=Path(project_dir),
        names=_names(raw, path),
        create_project=bool(raw.get("create_project", False)),
        approvers=parse_approvers(raw.get("release_approvers", "")),
        azure_subscription_id=raw.get("azure_subscription_id", ""),
        azure_tenant_id=raw.get("azure_tenant_id", ""),
        azure_client_id=raw.get("azure_client_id", ""),
        variables=dict(raw.get("variables", {})),
        azure=dict(raw.get("azure") or {}),
    )
    given = {key: value for key, value in overrides.items() if value is not None}
    if "approvers" in given:
        given["approvers"] = parse_approvers(given["approvers"])
    settings = replace(settings, **given)
    if not settings.organization_url:
        raise ConfigurationError(
            "no Azure DevOps organization URL: pass --organization https://dev.azure.com/<name> "
            f"or set organization_url in {SETTINGS_FILE}"
        )
    if not settings.project:
        raise ConfigurationError(f"no Azure DevOps project: pass --project or set it in {path}")
    settings.organization  # noqa: B018  (validates the URL now, not mid-way)
    return settings
