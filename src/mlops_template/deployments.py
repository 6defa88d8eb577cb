"""One Azure Resource Manager deployment: its resource group, what-if, start, progress, result.

Each method is one operation of Microsoft's published spec (Azure/azure-rest-api-specs,
resources/resource-manager/Microsoft.Resources/stable/2021-04-01), api-version ``2021-04-01``:

* Resource Groups - Create Or Update;
* Deployments - Get / Create Or Update / What If (at resource group scope), and
  Deployment Operations - List.

Long operations follow ARM's asynchronous pattern ("Track asynchronous Azure operations",
https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations):
what-if answers 202 with a ``Location`` to poll until it answers the result; a deployment
answers 201 with ``Azure-AsyncOperation``, whose ``status`` is polled until it is
``Succeeded``, ``Failed`` or ``Canceled``. ``Retry-After`` sets the pace (the client honours
it on every answer, 429 included). A deployment found running (a resume after Ctrl-C or a
crash) is waited for through Deployments - Get, never started again.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from .arm import ArmClient
from .client import quote
from .errors import AzureDevOpsError, ThrottledError

Json = dict[str, Any]
RESOURCES_API = "2021-04-01"
MODE = "Incremental"
DONE = frozenset({"Succeeded", "Failed", "Canceled"})
POLL_INTERVAL = 5.0  # when ARM names no Retry-After
WHAT_IF_ATTEMPTS = 4
TIMEOUT = 3600.0  # a workspace takes minutes; a whole deployment rarely more than half an hour


class DeploymentFailed(RuntimeError):
    """The deployment ended Failed or Canceled: which resource, and ARM's own error.

    ``failures``: (resource type, resource name, ARM's error code) of each failed operation.
    """

    def __init__(self, message: str, failures: list[tuple[str, str, str]] | None = None):
        super().__init__(message)
        self.failures = failures or []


def claims(authorization: str) -> Json:
    """The claims of a Bearer JWT (``oid``, ``tid``), unverified; {} when it is not one.

    Used only to know who is signed in (the token already went to ARM, which checks it);
    "Access token claims reference", https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference.
    """
    token = authorization.partition(" ")[2]
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        found = json.loads(payload)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def arm_error(error: Any) -> str:
    """ARM's ``{"code", "message", "details"}`` as one line, innermost detail first."""
    if not isinstance(error, dict):
        return str(error or "no error given")
    details = [arm_error(detail) for detail in error.get("details") or []]
    own = f"{error.get('code', 'Error')}: {error.get('message', '')}".strip()
    return "; ".join([*details, own]) if details else own


class Deployments:
    """Deployments to the resource groups of one subscription."""

    def __init__(
        self,
        client: ArmClient,
        subscription_id: str,
        *,
        on_event: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = POLL_INTERVAL,
        timeout: float = TIMEOUT,
    ) -> None:
        self.client = client
        self.subscription = f"/subscriptions/{quote(subscription_id)}"
        self.on_event, self.sleep = on_event, sleep
        self.poll_interval, self.timeout = poll_interval, timeout
        self.blobs: Any = None  # the data container (blobs.BlobContainer), when signed in to it

    def group_path(self, group: str) -> str:
        return f"{self.subscription}/resourcegroups/{quote(group)}"

    def path(self, group: str, name: str) -> str:
        return f"{self.group_path(group)}/providers/Microsoft.Resources/deployments/{quote(name)}"

    def create_group(self, group: str, location: str, tags: dict[str, str]) -> Json:
        """[Resource Groups - Create Or Update] (a PUT: sending it again changes nothing)."""
        body = {"location": location, "tags": tags}
        return self.client.put(self.group_path(group), body, api_version=RESOURCES_API)

    def get(self, group: str, name: str) -> Json | None:
        """[Deployments - Get], or None."""
        return self.client.get_or_none(self.path(group, name), api_version=RESOURCES_API)

    def operations(self, group: str, name: str) -> list[Json]:
        """[Deployment Operations - List]: each resource's provisioning state."""
        path = f"{self.group_path(group)}/deployments/{quote(name)}/operations"
        return self.client.list(path, api_version=RESOURCES_API)

    def what_if(self, group: str, name: str, template: Json) -> list[Json]:
        """[Deployments - What If]: ARM's prediction, resource by resource (changes nothing)."""
        body = {"properties": {"mode": MODE, "template": template}}
        for attempt in range(WHAT_IF_ATTEMPTS):  # a POST the client does not resend itself
            try:
                answer, headers = self.client.send(
                    "POST", f"{self.path(group, name)}/whatIf", body=body,
                    api_version=RESOURCES_API, read_only=True,
                )  # fmt: skip
                break
            except ThrottledError:  # its Retry-After is waited out already; it changes nothing
                if attempt == WHAT_IF_ATTEMPTS - 1:
                    raise
        deadline = time.monotonic() + self.timeout
        while not (answer or {}).get("status") and headers.get("Location"):
            if time.monotonic() > deadline:
                raise DeploymentFailed(f"ARM's what-if gave no result in {self.timeout:.0f} s")
            if not headers.get("Retry-After"):
                self.sleep(self.poll_interval / 5)
            answer, headers = self.client.send(
                "GET", headers["Location"], api_version=RESOURCES_API
            )
        if (answer or {}).get("status") == "Failed":
            raise DeploymentFailed(f"ARM's what-if failed: {arm_error(answer.get('error'))}")
        return list(((answer or {}).get("properties") or {}).get("changes") or [])

    def start(self, group: str, name: str, template: Json, tags: dict[str, str]) -> str:
        """[Deployments - Create Or Update], incremental; the URL its status is polled at."""
        body = {"properties": {"mode": MODE, "template": template}, "tags": tags}
        try:
            _, headers = self.client.send(
                "PUT", self.path(group, name), body=body, api_version=RESOURCES_API
            )
        except AzureDevOpsError as error:
            if error.type_key != "DeploymentActive":
                raise
            # A re-send after a lost answer: the first one started it; wait for that one
            # ("DeploymentActive", https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
            return ""
        return str(headers.get("Azure-AsyncOperation") or "")

    def wait(self, group: str, name: str, status_url: str = "") -> None:
        """Until the deployment ends; each resource's state is told as it changes.

        Raises DeploymentFailed naming the failing resource(s) and quoting ARM's error.
        """
        deadline = time.monotonic() + self.timeout
        told: dict[str, str] = {}
        while True:
            if status_url:
                answer, headers = self.client.send("GET", status_url, api_version=RESOURCES_API)
                status = str((answer or {}).get("status") or "")
            else:
                answer, headers = self.client.send(
                    "GET", self.path(group, name), api_version=RESOURCES_API
                )
                status = str(((answer or {}).get("properties") or {}).get("provisioningState"))
            operations = self.operations(group, name)
            self._tell(operations, told)
            if status in DONE:
                break
            if time.monotonic() > deadline:
                raise DeploymentFailed(
                    f"deployment {name!r} is still running after {self.timeout:.0f} s; it goes "
                    "on in Azure: run provision again later to wait for it"
                )
            if not headers.get("Retry-After"):
                self.sleep(self.poll_interval)
        if status != "Succeeded":
            failures = [
                (
                    str(target.get("resourceType", "")),
                    str(target.get("resourceName", "")),
                    str(((p.get("statusMessage") or {}).get("error") or {}).get("code", "")),
                )
                for p in (o.get("properties") or {} for o in operations)
                if p.get("provisioningState") == "Failed"
                for target in [p.get("targetResource") or {}]
            ]
            raise DeploymentFailed(self._failure(name, status, operations, answer), failures)

    def _tell(self, operations: list[Json], told: dict[str, str]) -> None:
        for operation in operations:
            properties = operation.get("properties") or {}
            target = properties.get("targetResource") or {}
            what = f"{target.get('resourceType', '?')} {target.get('resourceName', '?')}"
            state = str(properties.get("provisioningState") or "")
            if target and told.get(what) != state:
                told[what] = state
                self.on_event(f"{what}: {state}")

    @staticmethod
    def _failure(name: str, status: str, operations: list[Json], answer: Any) -> str:
        failed = []
        for operation in operations:
            properties = operation.get("properties") or {}
            if properties.get("provisioningState") != "Failed":
                continue
            target = properties.get("targetResource") or {}
            error = (properties.get("statusMessage") or {}).get("error")
            failed.append(
                f"{target.get('resourceType', '?')} {target.get('resourceName', '?')}: "
                f"{arm_error(error)}"
            )
        if not failed:
            error = (answer or {}).get("error") or ((answer or {}).get("properties") or {}).get(
                "error"
            )
            failed.append(arm_error(error))
        return f"deployment {name!r} {status.lower()}: " + "; ".join(failed)
