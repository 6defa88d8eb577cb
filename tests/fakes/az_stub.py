"""A stub Azure CLI: an executable ``az`` on PATH that answers only what provisioning may ask.

Provisioning reaches the Azure CLI as a subprocess, and asks it only
``az account show --output json`` and ``az account get-access-token --resource <resource>
--output json`` (with ``--subscription`` / ``--tenant`` where needed). :func:`install_az`
writes an ``az`` that runs this file with those arguments, so the tool's real subprocess path
runs in tests. Its answers have the real CLI's shape (``az account get-access-token``: see
https://learn.microsoft.com/cli/azure/account#az-account-get-access-token; ``expires_on`` is a
POSIX timestamp and ``expiresOn`` a local time, as the CLI gives both since 2.54.0).

Modes: ``signed-in``; ``signed-out`` (exits 1 with the CLI's "Please run 'az login' to setup
account." on stderr); ``not-installed`` (no ``az`` on the PATH that :meth:`AzStub.env` gives).
Tokens are per resource (Azure DevOps ``499b84ac-1321-427f-aa17-267ca6975798``, Resource
Manager ``https://management.azure.com/``): give each double its own; :meth:`AzStub.renew`
issues a new one, as after an expiry. Any other command exits 2
and says so. Every call's argv is appended to a log (JSON lines) so tests can check that only
the allowed commands ran and that no token was ever on a command line.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shlex
import stat
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

AZURE_DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
RESOURCE_MANAGER = "https://management.azure.com/"
STORAGE = "https://storage.azure.com/"
MODES = ("signed-in", "signed-out", "not-installed")
SIGNED_OUT = "ERROR: Please run 'az login' to setup account."


def _same_resource(a: str, b: str) -> bool:
    """The CLI treats ``https://management.azure.com`` and ``…com/`` as one resource."""
    return a.rstrip("/").lower() == b.rstrip("/").lower()


# -- the stub program ------------------------------------------------------------------------


def _options(args: list[str], allowed: set[str]) -> dict[str, str] | None:
    """``--name value`` pairs, or None when anything else is there."""
    found: dict[str, str] = {}
    rest = list(args)
    while rest:
        name = rest.pop(0)
        if name not in allowed or not rest or name in found:
            return None
        found[name] = rest.pop(0)
    return found


def _refuse(argv: list[str]) -> int:
    print(f"stub az: not an allowed command: az {shlex.join(argv)}", file=sys.stderr)
    return 2


def main(config_path: str, argv: list[str]) -> int:
    """Run one ``az`` call as the configuration in ``config_path`` says."""
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    with open(config["log"], "a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\n")
    if argv[:2] == ["account", "show"]:
        options = _options(argv[2:], {"--output", "--subscription"})
    elif argv[:2] == ["account", "get-access-token"]:
        options = _options(argv[2:], {"--output", "--resource", "--subscription", "--tenant"})
        if options is not None and "--resource" not in options:
            options = None
    else:
        options = None
    if options is None or options.get("--output") != "json":
        return _refuse(argv)
    if config["mode"] == "signed-out":
        print(SIGNED_OUT, file=sys.stderr)
        return 1
    account = config["account"]
    subscription = options.get("--subscription", account["id"])
    if subscription.lower() not in (account["id"].lower(), account["name"].lower()):
        print(
            f"ERROR: Subscription '{subscription}' not found. Check the spelling and casing "
            "and try again.",
            file=sys.stderr,
        )
        return 1
    tenant = options.get("--tenant", account["tenantId"])
    if tenant.lower() != account["tenantId"].lower():
        print(
            f"ERROR: AADSTS50020: User account '{account['user']['name']}' from identity "
            f"provider does not exist in tenant '{tenant}'.",
            file=sys.stderr,
        )
        return 1
    if argv[1] == "show":
        print(json.dumps(account, indent=2))
        return 0
    resource = options["--resource"]
    token = next((t for r, t in config["tokens"].items() if _same_resource(r, resource)), None)
    if token is None:
        print(
            f"ERROR: AADSTS500011: The resource principal named {resource} was not found in "
            f"the tenant named {tenant}.",
            file=sys.stderr,
        )
        return 1
    expires_on = int(time.time()) + int(config["expires_in"])
    result = {
        "accessToken": token,
        "expiresOn": datetime.fromtimestamp(expires_on).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "expires_on": expires_on,
        "subscription": account["id"],
        "tenant": tenant,
        "tokenType": "Bearer",
    }
    print(json.dumps(result, indent=2))
    return 0


# -- the helper tests use ----------------------------------------------------------------------


@dataclasses.dataclass
class AzStub:
    """An installed stub: where it is, what it answers, what it was asked."""

    mode: str
    bin_dir: Path
    config_path: Path
    log_path: Path
    account: dict[str, Any]
    tokens: dict[str, str]
    object_id: str = ""  # the signed-in user's object id (the oid claim of its ARM token)

    @property
    def subscription_id(self) -> str:
        return self.account["id"]

    @property
    def tenant_id(self) -> str:
        return self.account["tenantId"]

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) with PATH starting at the stub's folder.

        ``not-installed``: PATH also loses every folder that holds another ``az``.
        """
        env = dict(os.environ if base is None else base)
        folders = [p for p in env.get("PATH", "").split(os.pathsep) if p]
        if self.mode == "not-installed":
            folders = [p for p in folders if not os.access(Path(p) / "az", os.X_OK)]
        env["PATH"] = os.pathsep.join([str(self.bin_dir), *folders])
        return env

    def calls(self) -> list[list[str]]:
        """The argv of every call so far, in order."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line]

    def renew(self, resource: str) -> str:
        """Issue a new token for ``resource`` from the next call on (as the CLI does when the
        cached one nears its expiry); returns it."""
        key = next(r for r in self.tokens if _same_resource(r, resource))
        self.tokens[key] = f"{self.tokens[key].rsplit('~', 1)[0]}~{uuid.uuid4().hex[:8]}"
        _write_config(self)
        return self.tokens[key]

    def set_mode(self, mode: str) -> None:
        """Sign in or out between calls (``not-installed`` only at install time)."""
        if mode not in ("signed-in", "signed-out") or self.mode == "not-installed":
            raise ValueError(f"cannot switch a {self.mode} stub to {mode}")
        self.mode = mode
        _write_config(self)


def _write_config(stub: AzStub, expires_in: int = 3600) -> None:
    if stub.config_path.exists():
        expires_in = json.loads(stub.config_path.read_text(encoding="utf-8"))["expires_in"]
    config = {
        "mode": stub.mode,
        "account": stub.account,
        "tokens": stub.tokens,
        "log": str(stub.log_path),
        "expires_in": expires_in,
    }
    stub.config_path.write_text(json.dumps(config), encoding="utf-8")


def jwt_like(claims: dict[str, Any]) -> str:
    """A token shaped as Entra's access tokens (header.claims.signature, base64url), unsigned:
    the tool reads who is signed in from its ``oid`` and ``tid`` claims; the doubles compare it
    as an opaque string."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.sig{uuid.uuid4().hex}"


def install_az(
    folder: Path,
    mode: str = "signed-in",
    *,
    tokens: dict[str, str] | None = None,
    subscription_id: str | None = None,
    tenant_id: str | None = None,
    user: str = "data.scientist@example.com",
    object_id: str | None = None,
    expires_in: int = 3600,
) -> AzStub:
    """Write a stub ``az`` into ``folder/bin`` (its configuration and log beside it).

    ``tokens``: resource -> access token (default: one made-up token per resource above; the
    Resource Manager one is JWT-shaped with the user's ``object_id`` and the tenant).
    Prepend ``folder/bin`` to PATH with :meth:`AzStub.env`.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {MODES}")
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    subscription_id = subscription_id or str(uuid.uuid4())
    tenant_id = tenant_id or str(uuid.uuid4())
    object_id = object_id or str(uuid.uuid4())
    stub = AzStub(
        mode=mode,
        bin_dir=bin_dir,
        config_path=folder / "az-stub.json",
        log_path=folder / "az-calls.jsonl",
        account={
            "environmentName": "AzureCloud",
            "homeTenantId": tenant_id,
            "id": subscription_id,
            "isDefault": True,
            "managedByTenants": [],
            "name": "Data Science Subscription",
            "state": "Enabled",
            "tenantId": tenant_id,
            "user": {"name": user, "type": "user"},
        },
        tokens=tokens
        or {
            AZURE_DEVOPS_RESOURCE: f"devops-token-{uuid.uuid4().hex}",
            RESOURCE_MANAGER: jwt_like({"oid": object_id, "tid": tenant_id}),
            STORAGE: f"storage-token-{uuid.uuid4().hex}",
        },
        object_id=object_id,
    )
    _write_config(stub, expires_in)
    if mode != "not-installed":
        script = bin_dir / "az"
        script.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))} "
            f'{shlex.quote(str(stub.config_path))} "$@"\n',
            encoding="utf-8",
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return stub


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
