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
# Where the storage secret is read from, relative to the project root.
SECRETS_FILE = "secrets.json"
IDENTITY_URL_VARIABLE = "AZURE_DEVOPS_IDENTITY_URL"
# The variable group's secret, mapped into steps through `env:`.
STORAGE_SECRET = "AZURE_STORAGE_CONNECTION_STRING"


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

    def secret_variables(self) -> dict[str, str]:
        """Secrets for the variable group, from the project's secrets.json (if any).

        The storage connection string is taken as given, or built from the
        account name and key. Nothing else in the file is sent.
        """
        path = self.project_dir / SECRETS_FILE
        if not path.is_file():
            return {}
        try:
            secrets = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"{path} is not valid JSON ({error.__class__.__name__}); "
                "fix it (see secrets.example.json) or remove it"
            ) from None
        if not isinstance(secrets, dict):
            raise ConfigurationError(f"{path} must hold a JSON object (see secrets.example.json)")
        connection_string = str(secrets.get("connection_string") or "")
        account = str(secrets.get("storage_account_name") or "")
        key = str(secrets.get("storage_account_key") or "")
        if not connection_string and account and key:
            connection_string = (
                f"DefaultEndpointsProtocol=https;AccountName={account};"
                f"AccountKey={key};EndpointSuffix=core.windows.net"
            )
        return {STORAGE_SECRET: connection_string} if connection_string else {}


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
