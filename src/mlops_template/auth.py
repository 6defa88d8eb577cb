"""Sign-in: the ``Authorization`` header every request carries, and where it comes from.

Two ways, tried in this order by ``sign_in``:

* a personal access token (``AZURE_DEVOPS_EXT_PAT`` or the hidden prompt): Basic
  authentication with an empty user name ("Authenticate with personal access tokens",
  https://learn.microsoft.com/azure/devops/integrate/get-started/authentication/pats);
* the Azure CLI's sign-in: an Entra access token for Azure DevOps (resource
  ``499b84ac-1321-427f-aa17-267ca6975798``) or Azure Resource Manager, from
  ``az account get-access-token --resource <resource> --output json``, sent as a Bearer
  token ("Use Microsoft Entra tokens",
  https://learn.microsoft.com/azure/devops/integrate/get-started/authentication/entra-oauth;
  https://learn.microsoft.com/cli/azure/account#az-account-get-access-token).

The Azure CLI is reached as a subprocess (``az`` on PATH) and asked only
``az account get-access-token --resource <resource> --output json`` (with ``--tenant`` when
the tenant is given): a signed-out CLI fails there, so no ``az account show`` is needed.
Tokens live in memory only: never in a file, an argument, an environment variable or a log line. An
Entra token lasts about an hour; it is asked for again a few minutes before it expires,
and when a service refuses it (``refresh``), so a long run does not fail half-way.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Protocol

from .errors import header_safe

PAT_VARIABLE = "AZURE_DEVOPS_EXT_PAT"
AZURE_DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
RESOURCE_MANAGER_RESOURCE = "https://management.azure.com/"
# Ask for a new token this long before the current one expires.
REFRESH_MARGIN = 300.0
AZ_TIMEOUT = 60.0


class SignInError(RuntimeError):
    """No token could be had; the message says why and what to do."""


class Credential(Protocol):
    """Where a request's ``Authorization`` header comes from."""

    description: str  # how the user signed in, for the plan

    def authorization(self) -> str:
        """The header's value now (a fresh token when the last one nears its expiry)."""
        ...

    def refresh(self) -> bool:
        """After a refusal: get a new token; whether it differs from the refused one."""
        ...

    def secrets(self) -> list[str]:
        """Every form of the secret that could show up in output (to blank it out)."""
        ...


class PersonalAccessToken:
    """A PAT, sent as Basic authentication with an empty user name."""

    description = "personal access token"
    kind = "pat"

    def __init__(self, pat: str) -> None:
        self._pat = pat

    def __repr__(self) -> str:
        """Never the token."""
        return "PersonalAccessToken(***)"

    def authorization(self) -> str:
        return "Basic " + base64.b64encode(f":{self._pat}".encode()).decode()

    def refresh(self) -> bool:
        return False  # a PAT is what it is

    def secrets(self) -> list[str]:
        return [self._pat, base64.b64encode(f":{self._pat}".encode()).decode()]


class AzureCli:
    """The Azure CLI on PATH, asked only the two questions provisioning needs."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("az")

    @property
    def installed(self) -> bool:
        return self.executable is not None

    def _run(self, *args: str) -> dict:
        if not self.executable:
            raise SignInError("the Azure CLI (az) is not installed")
        try:
            result = subprocess.run(
                [self.executable, *args, "--output", "json"],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=AZ_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            failure = error.__class__.__name__
            raise SignInError(f"az {args[0]} {args[1]} failed: {failure}") from None
        if result.returncode != 0:
            # az's own message (it never holds a token: only failures reach here).
            message = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise SignInError(f"az {args[0]} {args[1]}: {message}")
        try:
            answer = json.loads(result.stdout)
        except ValueError:
            raise SignInError(f"az {args[0]} {args[1]} did not answer JSON") from None
        if not isinstance(answer, dict):
            raise SignInError(f"az {args[0]} {args[1]} did not answer a JSON object")
        return answer

    def access_token(self, resource: str, tenant: str = "") -> tuple[str, float]:
        """A token for ``resource`` and when it expires (POSIX seconds)."""
        args = ["account", "get-access-token", "--resource", resource]
        if tenant:
            args += ["--tenant", tenant]
        answer = self._run(*args)
        token = str(answer.get("accessToken") or "")
        if not token:
            raise SignInError("az account get-access-token gave no token")
        expires = answer.get("expires_on")
        try:
            expires_on = float(expires) if expires is not None else time.time() + 3000
        except (TypeError, ValueError):
            expires_on = time.time() + 3000  # an older CLI: assume the usual hour, less a margin
        return token, expires_on


class EntraToken:
    """An Entra access token for one resource from the Azure CLI, renewed before it expires."""

    kind = "entra"

    description = "Azure CLI sign-in (az login)"

    def __init__(self, cli: AzureCli, resource: str, *, tenant: str = "") -> None:
        self._cli, self.resource, self.tenant = cli, resource, tenant
        self._token = ""
        self._expires_on = 0.0
        self._seen: list[str] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Never the token."""
        return f"EntraToken({self.resource!r})"

    def _fetch(self) -> None:
        self._token, self._expires_on = self._cli.access_token(self.resource, self.tenant)
        if self._token not in self._seen:
            self._seen.append(self._token)

    def token(self) -> str:
        with self._lock:
            if not self._token or self._expires_on - time.time() < REFRESH_MARGIN:
                self._fetch()
            return self._token

    def authorization(self) -> str:
        return f"Bearer {self.token()}"

    def refresh(self) -> bool:
        with self._lock:
            refused = self._token
            self._fetch()
            return self._token != refused

    def secrets(self) -> list[str]:
        with self._lock:
            return list(self._seen)


def azure_cli_sign_in(resource: str, tenant: str = "", *, now: bool = True) -> EntraToken:
    """A token source for ``resource`` from the signed-in Azure CLI; SignInError if none.

    ``now``: fetch the first token at once, so that a CLI that cannot give one is known
    here; else at the first request (overlapping other work).
    """
    cli = AzureCli()
    if not cli.installed:
        raise SignInError("the Azure CLI (az) is not installed")
    credential = EntraToken(cli, resource, tenant=tenant)
    if now:
        credential.token()
    return credential


def read_pat(interactive: bool | None = None) -> str | None:
    """The token from the environment, else a hidden prompt on a terminal, else None."""
    pat = os.environ.get(PAT_VARIABLE, "").strip()
    if pat:
        return pat
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        return None
    return getpass.getpass("Azure DevOps personal access token (input hidden): ").strip() or None


NO_SIGN_IN = (
    "no token: run 'az login' (the Azure CLI's sign-in is used when no token is set), "
    f"or set {PAT_VARIABLE} to a personal access token (or run this in a terminal to be "
    "asked for one)"
)


def sign_in(interactive: bool | None = None) -> tuple[Credential | None, str]:
    """How to sign in to Azure DevOps, first that applies, and why the Azure CLI was not used.

    ``AZURE_DEVOPS_EXT_PAT``; else an Entra token from a signed-in Azure CLI; else the
    hidden prompt on a terminal; else None.
    """
    pat = os.environ.get(PAT_VARIABLE, "").strip()
    if pat:
        return PersonalAccessToken(header_safe(pat)), ""
    try:
        return azure_cli_sign_in(AZURE_DEVOPS_RESOURCE), ""
    except SignInError as error:
        why = str(error)
    pat = read_pat(interactive)
    return (PersonalAccessToken(header_safe(pat)) if pat else None), why
