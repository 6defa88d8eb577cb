"""Where ``DataIngestor`` finds its storage settings and credentials.

Order: the ``secrets`` argument (a dict or a JSON file path); else
``./secrets.json`` if present; else the project root's ``secrets.json`` (the
nearest folder above with a ``pyproject.toml``: notebooks run in
``experiment_nbs/``); else environment variables. The container
falls back to the answer given when the project was generated.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import settings
from .errors import InvalidSecretsError, MissingCredentialsError

DEFAULT_SECRETS_FILE = "secrets.json"

# secrets.json key -> environment variable.
ENVIRONMENT_VARIABLES = {
    "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
    "storage_account_name": "AZURE_STORAGE_ACCOUNT_NAME",
    "storage_account_key": "AZURE_STORAGE_ACCOUNT_KEY",
    "sas_token": "AZURE_STORAGE_SAS_TOKEN",
    "container_name": "AZURE_STORAGE_CONTAINER",
    "blob_endpoint": "AZURE_STORAGE_BLOB_ENDPOINT",
}
KNOWN_KEYS = frozenset(ENVIRONMENT_VARIABLES)
# A storage account name: 3 to 24 lower-case letters and digits, per
# https://learn.microsoft.com/azure/storage/common/storage-account-overview#storage-account-name
ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")

SecretsSource = Mapping[str, Any] | str | os.PathLike[str] | None


@dataclass(frozen=True)
class StorageConfig:
    """Resolved storage settings; secret values are kept out of ``repr``."""

    container_name: str
    source: str
    connection_string: str | None = field(default=None, repr=False)
    account_name: str | None = None
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    blob_endpoint: str | None = None

    @property
    def account(self) -> str:
        """The storage account name, for messages."""
        if self.account_name:
            return self.account_name
        return (
            _connection_string_account(self.connection_string or "")
            or "<account from the connection string>"
        )

    @property
    def account_url(self) -> str:
        """Blob endpoint of the account, unless a connection string is used."""
        if self.blob_endpoint:
            return self.blob_endpoint.rstrip("/")
        return f"https://{self.account_name}.blob.core.windows.net"


def _read_secrets_file(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: editors on Windows may start the file with a byte-order mark.
        content = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as error:
        raise InvalidSecretsError(
            f"the secrets file {path} does not exist. Create it from "
            "secrets.example.json, or pass secrets=None to use environment variables."
        ) from error
    except OSError as error:  # a directory, no permission, ...
        raise InvalidSecretsError(
            f"cannot read the secrets file {path}: {error.strerror or error}. "
            "Give the path of a JSON file like secrets.example.json."
        ) from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidSecretsError(
            f"the secrets file {path} is not valid JSON ({error}). "
            "Compare it with secrets.example.json."
        ) from error
    if not isinstance(content, dict):
        raise InvalidSecretsError(
            f"the secrets file {path} must hold a JSON object with keys such as "
            f"{sorted(KNOWN_KEYS)}; it holds a {type(content).__name__}."
        )
    return content


def _connection_string_account(connection_string: str) -> str | None:
    """The ``AccountName`` of a connection string, or None when it has none."""
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "accountname":
            return value.strip()
    return None


def _from_environment() -> dict[str, str]:
    return {
        key: os.environ[variable]
        for key, variable in ENVIRONMENT_VARIABLES.items()
        if os.environ.get(variable)
    }


def _load(secrets: SecretsSource) -> tuple[dict[str, Any], str, list[str]]:
    """Return the raw settings, a name for their source and every place looked."""
    if isinstance(secrets, Mapping):
        return dict(secrets), "the secrets argument", ["the secrets argument"]
    if secrets is not None:
        path = Path(secrets).expanduser().absolute()
        return _read_secrets_file(path), f"secrets file {path}", [str(path)]
    candidates = default_secrets_files()
    for default in candidates:
        if default.exists():  # a folder of that name is an error, not a miss
            content = _read_secrets_file(default)
            return content, f"secrets file {default}", [str(default)]
    looked = [f"{path} (not found)" for path in candidates]
    looked.append("environment variables " + ", ".join(ENVIRONMENT_VARIABLES.values()))
    return _from_environment(), "environment variables", looked


def default_secrets_files() -> list[Path]:
    """Where ``secrets.json`` is looked for: here, then in the project root.

    The project root is the nearest folder at or above the current one that
    holds a ``pyproject.toml``, so notebooks (run in ``experiment_nbs/``),
    tests and commands find the same file wherever they run.
    """
    here = Path.cwd().resolve()
    candidates = [here / DEFAULT_SECRETS_FILE]
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            if folder != here:
                candidates.append(folder / DEFAULT_SECRETS_FILE)
            break
    return candidates


def resolve_storage_config(
    secrets: SecretsSource = None, container_name: str | None = None
) -> StorageConfig:
    """Find the storage credentials and container for a blob download.

    Args:
        secrets: A dict, a path to a JSON file, or None to look for
            ``./secrets.json`` and then the environment variables.
        container_name: Overrides the container found in the secrets.

    Raises:
        MissingCredentialsError: No connection string or account name anywhere.
        InvalidSecretsError: The secrets cannot be used as they are.
    """
    raw, source, looked = _load(secrets)
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise InvalidSecretsError(
            f"{source} has unknown key(s) {sorted(unknown)}; "
            f"the known keys are {sorted(KNOWN_KEYS)}."
        )
    values = {key: value for key, value in raw.items() if value not in (None, "")}
    not_text = sorted(
        key for key, value in values.items() if not isinstance(value, str)
    )
    if not_text:
        raise InvalidSecretsError(f"{source}: the value(s) of {not_text} must be text.")
    if "connection_string" not in values and "storage_account_name" not in values:
        raise MissingCredentialsError(
            "no Azure Storage credentials found. Looked in: "
            + "; ".join(looked)
            + ". Provide 'connection_string', or 'storage_account_name' with "
            "'storage_account_key' or 'sas_token' (or neither, to sign in with "
            "DefaultAzureCredential): copy secrets.example.json to secrets.json, "
            "or set the environment variables."
        )
    account = values.get("storage_account_name")
    if account is None:
        account = _connection_string_account(values.get("connection_string", ""))
    if account is not None and not ACCOUNT_NAME.fullmatch(account):
        raise InvalidSecretsError(
            f"{source}: the storage account name {account!r:.100} is not valid: it must "
            "be 3 to 24 lower-case letters and digits (the name in "
            "https://<name>.blob.core.windows.net). Give the account's name, such as "
            f"{settings.STORAGE_ACCOUNT!r}."
        )
    if "storage_account_key" in values and "sas_token" in values:
        raise InvalidSecretsError(
            f"{source} has both 'storage_account_key' and 'sas_token'; keep one."
        )
    return StorageConfig(
        container_name=container_name
        or values.get("container_name")
        or settings.STORAGE_CONTAINER,
        source=source,
        connection_string=values.get("connection_string"),
        account_name=values.get("storage_account_name"),
        account_key=values.get("storage_account_key"),
        sas_token=values.get("sas_token"),
        blob_endpoint=values.get("blob_endpoint"),
    )
