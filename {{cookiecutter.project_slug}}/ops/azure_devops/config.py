"""What to provision, and where: the answers given at generation, plus overrides.

``settings.json`` beside this file holds the answers (edit it, or override a
value on the command line). The organization URL may take any of the forms
Azure DevOps uses; REST calls go to its canonical base, and identities to the
organization's identity service (``AZURE_DEVOPS_IDENTITY_URL`` overrides it).
Standard library only: the post-generation hook imports this module.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import names

SETTINGS_FILE = Path(__file__).with_name("settings.json")
# Where the storage secret is read from, relative to the project root.
SECRETS_FILE = "secrets.json"
IDENTITY_URL_VARIABLE = "AZURE_DEVOPS_IDENTITY_URL"

_ORG = r"(?P<org>[A-Za-z0-9]([A-Za-z0-9-]{0,48}[A-Za-z0-9])?)"
_DEV_AZURE = re.compile(rf"https://dev\.azure\.com/{_ORG}/?")
_VISUALSTUDIO = re.compile(rf"https://{_ORG}\.visualstudio\.com(/DefaultCollection)?/?")
# A loopback service (the template's test double): identities under the same base.
_LOOPBACK = re.compile(rf"(?P<base>https?://(127\.0\.0\.1|localhost):[0-9]+)/{_ORG}/?")


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Organization:
    """An Azure DevOps organization and the two service bases it is called on."""

    name: str
    rest_url: str
    identity_url: str


def parse_organization_url(url: str, identity_url: str | None = None) -> Organization:
    """Organization name, REST base and identity base from an organization URL.

    ``https://dev.azure.com/{org}`` and the legacy ``https://{org}.visualstudio.com``
    both call REST on ``https://dev.azure.com/{org}`` and identities on
    ``https://vssps.dev.azure.com/{org}``; a loopback base (tests) is used as
    given, identities under ``<base>/_vssps/{org}``.
    """
    url = url.strip()
    for pattern in (_DEV_AZURE, _VISUALSTUDIO):
        match = pattern.fullmatch(url)
        if match:
            org = match["org"]
            rest, identity = (
                f"https://dev.azure.com/{org}",
                f"https://vssps.dev.azure.com/{org}",
            )
            break
    else:
        match = _LOOPBACK.fullmatch(url)
        if not match:
            raise ConfigurationError(
                f"organization URL {url!r} is not valid: use https://dev.azure.com/<organization> "
                "(or https://<organization>.visualstudio.com)"
            )
        org = match["org"]
        rest = f"{match['base']}/{org}"
        identity = f"{match['base']}/_vssps/{org}"
    return Organization(org, rest, (identity_url or identity).rstrip("/"))


@dataclass(frozen=True)
class Settings:
    """Everything the provisioning steps need to know, read-only."""

    organization_url: str
    project: str
    repository: str
    project_dir: Path
    create_project: bool = False
    approvers: tuple[str, ...] = ()
    azure_subscription_id: str = ""
    azure_tenant_id: str = ""
    azure_client_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def organization(self) -> Organization:
        """The organization and its service bases."""
        return parse_organization_url(
            self.organization_url, os.environ.get(IDENTITY_URL_VARIABLE) or None
        )

    def can_create_service_connection(self) -> bool:
        """Whether there is enough to create the Azure Resource Manager connection."""
        return bool(
            self.azure_subscription_id and self.azure_tenant_id and self.azure_client_id
        )

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
            raise ConfigurationError(
                f"{path} must hold a JSON object (see secrets.example.json)"
            )
        connection_string = str(secrets.get("connection_string") or "")
        account = str(secrets.get("storage_account_name") or "")
        key = str(secrets.get("storage_account_key") or "")
        if not connection_string and account and key:
            connection_string = (
                f"DefaultEndpointsProtocol=https;AccountName={account};"
                f"AccountKey={key};EndpointSuffix=core.windows.net"
            )
        if not connection_string:
            return {}
        return {names.SECRET_VARIABLES[0]: connection_string}


def parse_approvers(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """E-mail addresses from a comma-separated answer or a list."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def load(project_dir: Path, **overrides: Any) -> Settings:
    """Settings from ``settings.json``; overrides that are not None win.

    Raises ConfigurationError when the organization URL is missing or malformed.
    """
    try:
        raw = json.loads(SETTINGS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read {SETTINGS_FILE}: {error}") from None
    settings = Settings(
        organization_url=raw.get("organization_url", ""),
        project=raw.get("project", ""),
        repository=raw.get("repository", names.PROJECT_SLUG),
        project_dir=Path(project_dir),
        create_project=bool(raw.get("create_project", False)),
        approvers=parse_approvers(raw.get("release_approvers", "")),
        azure_subscription_id=raw.get("azure_subscription_id", ""),
        azure_tenant_id=raw.get("azure_tenant_id", ""),
        azure_client_id=raw.get("azure_client_id", ""),
        variables=dict(raw.get("variables", {})),
    )
    given = {key: value for key, value in overrides.items() if value is not None}
    if "approvers" in given:
        given["approvers"] = parse_approvers(given["approvers"])
    settings = replace(settings, **given)
    if not settings.organization_url:
        raise ConfigurationError(
            "no Azure DevOps organization URL: pass --organization https://dev.azure.com/<name> "
            f"or set organization_url in {SETTINGS_FILE.name}"
        )
    if not settings.project:
        raise ConfigurationError(
            f"no Azure DevOps project: pass --project or set it in {SETTINGS_FILE.name}"
        )
    settings.organization  # noqa: B018  (validates the URL now, not mid-way)
    return settings
