"""A loopback double of Azure Resource Manager (one subscription) for the pipelines' identity.

Serves only what provisioning needs, as Microsoft's REST specs and docs describe it (the specs
are vendored under ``tests/specs``; every request its tests send passes ``tests/rest_specs.py``):

- ``GET /subscriptions/{s}/resourcegroups/{rg}`` (Resource groups - Get, 2021-04-01);
- ``GET …/providers/Microsoft.MachineLearningServices/workspaces/{w}`` (Workspaces - Get);
- ``GET|PUT …/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`` and
  ``GET …/{name}/federatedIdentityCredentials``, ``PUT …/federatedIdentityCredentials/{fic}``
  (Managed identities, 2023-01-31), and ``GET /subscriptions/{s}/providers/
  Microsoft.ManagedIdentity/userAssignedIdentities`` (List By Subscription: finding the
  identity ``--client-id`` names);
- ``GET {scope}/providers/Microsoft.Authorization/roleAssignments`` (``$filter=principalId eq
  '…'`` or ``atScope()``) and ``PUT …/roleAssignments/{guid}`` (Authorization, 2022-04-01).

Errors have ARM's body ``{"error": {"code", "message"}}`` with the codes of
https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors
and https://learn.microsoft.com/azure/role-based-access-control/troubleshooting:
``ResourceGroupNotFound`` and ``ResourceNotFound`` (404), ``RoleAssignmentExists`` (409),
``AuthorizationFailed`` (403, see :meth:`FakeResourceManager.forbid`), ``PrincipalNotFound``
(400) while a just-created identity replicates, ``SubscriptionRequestsThrottled`` (429 with
``Retry-After``, see :meth:`FakeResourceManager.inject`), ``MissingApiVersionParameter``,
``AuthenticationFailed`` / ``InvalidAuthenticationToken`` / ``ExpiredAuthenticationToken`` (401
with ``WWW-Authenticate``; see :meth:`FakeResourceManager.expire`).

Replication: "If you create a new service principal and immediately try to assign a role to
that service principal, that role assignment can fail in some cases ... To address this
scenario, you should specify the principal type when creating the role assignment"
(https://learn.microsoft.com/azure/role-based-access-control/role-assignments-rest, "Create a
role assignment for a new service principal"; the error is ``PrincipalNotFound``, whose message
points to https://aka.ms/docs-principaltype). So here, without ``principalType``, the first
``replication_calls`` role assignment PUTs for a new identity's principal (or every one within
``replication_seconds`` of its creation) fail with ``PrincipalNotFound``; with
``principalType`` they succeed at once.

Usage::

    with FakeResourceManager(token="arm-token") as arm:
        arm.add_resource_group("rg", "westeurope")
        requests.get(f"{arm.url}/subscriptions/{arm.subscription_id}/resourcegroups/rg",
                     params={"api-version": "2021-04-01"},
                     headers={"Authorization": "Bearer arm-token"})
"""

from __future__ import annotations

import copy
import dataclasses
import hmac
import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from .deployments import DeploymentsDouble, deployment_routes
from .loopback import Fault, LoopbackServer

# Built-in roles (id, name) from
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
BUILT_IN_ROLES = [
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("f6c7c914-8db3-469d-8ca1-694a8f32e121", "AzureML Data Scientist"),
    ("e503ece1-11d0-4e8e-8e2c-7a6c3bf38815", "AzureML Compute Operator"),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
    ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader"),
    ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor"),
]
API_VERSIONS = {  # the versions this double answers, per kind of route (a subset of ARM's)
    "resourceGroups": {"2021-04-01", "2022-09-01", "2024-03-01"},
    "workspaces": {"2024-04-01", "2024-10-01"},
    "identities": {"2023-01-31", "2024-11-30"},
    "authorization": {"2022-04-01"},
    "deployments": {"2021-04-01"},
    "providers": {"2020-02-02", "2022-10-01", "2023-05-01", "2023-07-01", "2024-04-01"},
}
PROVIDER_TYPES = {
    "resourceGroups": "Microsoft.Resources/resourceGroups",
    "workspaces": "Microsoft.MachineLearningServices/workspaces",
    "identities": "Microsoft.ManagedIdentity/userAssignedIdentities",
    "authorization": "Microsoft.Authorization/roleAssignments",
    "deployments": "Microsoft.Resources/deployments",
    "providers": "the template's resource types",
}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_WS = _RG + r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
_MI = _RG + r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/(?P<mi>[^/]+)"
_AUTHZ = r"(?P<scope>/.+?)/providers/Microsoft\.Authorization"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ArmError(Exception):
    """An error answer: status and ARM's ``{"error": {"code", "message"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict | None = None,
        fault: Fault | None = None,  # the injected fault this answers, if any
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.fault = fault


@dataclasses.dataclass
class _Call:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    caller: str  # object id of the token's owner

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be "
                "deserialized: the body is not JSON.",
            ) from None


class FakeResourceManager(DeploymentsDouble, LoopbackServer):
    """Azure Resource Manager on ``127.0.0.1`` for one subscription; see the module docstring.

    ``token``: the only Bearer token accepted (as its caller ``caller_id``); more callers with
    :meth:`add_caller`. ``url`` stands for ``https://management.azure.com``; start and stop
    as any :class:`~fakes.loopback.LoopbackServer` (or use it as a context manager).
    """

    def __init__(
        self,
        *,
        token: str,
        subscription_id: str | None = None,
        tenant_id: str | None = None,
        caller_id: str | None = None,
        replication_calls: int = 2,
        replication_seconds: float = 0.0,
        principal_type_skips_replication: bool = True,
    ) -> None:
        super().__init__()
        self.subscription_id = subscription_id or str(uuid.uuid4())
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.caller_id = caller_id or str(uuid.uuid4())
        self.replication_calls = replication_calls
        self.replication_seconds = replication_seconds
        # False: a principal that has not replicated yet is refused even with principalType
        # (the delay Microsoft's page warns of can outlast it), so the caller's retry runs.
        self.principal_type_skips_replication = principal_type_skips_replication
        self._tokens = {token: self.caller_id}
        self._expired: set[str] = set()
        self._groups: dict[str, dict[str, Any]] = {}  # lower-case name -> group
        self._workspaces: dict[tuple[str, str], dict[str, Any]] = {}
        self._identities: dict[tuple[str, str], dict[str, Any]] = {}
        self._credentials: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._assignments: dict[str, dict[str, Any]] = {}  # name -> assignment
        self._principals: dict[str, dict[str, Any]] = {}  # id -> {created, refusals}
        self._forbidden: list[tuple[str, str | None, str | None]] = []
        self._init_deployments()
        self._routes = self._route_table()

    # -- seeding and state (not recorded) ---------------------------------------------------

    def add_caller(self, token: str, object_id: str | None = None) -> str:
        """Accept another Bearer token, as the caller with this object id (returned)."""
        object_id = object_id or str(uuid.uuid4())
        with self._lock:
            self._tokens[token] = object_id
        return object_id

    def expire(self, token: str) -> None:
        """From now on ``token`` answers 401 ``ExpiredAuthenticationToken`` (it outlived its
        hour); accept its successor with :meth:`add_caller` (same object id)."""
        with self._lock:
            self._expired.add(token)

    def add_resource_group(self, name: str, location: str = "westeurope") -> dict[str, Any]:
        group = {
            "id": f"/subscriptions/{self.subscription_id}/resourceGroups/{name}",
            "name": name,
            "type": PROVIDER_TYPES["resourceGroups"],
            "location": location,
            "properties": {"provisioningState": "Succeeded"},
        }
        with self._lock:
            self._groups[name.lower()] = group
        return copy.deepcopy(group)

    def add_workspace(self, group: str, name: str) -> dict[str, Any]:
        """An Azure ML workspace in an existing resource group (its location)."""
        with self._lock:
            rg = self._groups[group.lower()]
            workspace = {
                "id": f"{rg['id']}/providers/{PROVIDER_TYPES['workspaces']}/{name}",
                "name": name,
                "type": PROVIDER_TYPES["workspaces"],
                "location": rg["location"],
                "kind": "Default",
                "properties": {"provisioningState": "Succeeded", "friendlyName": name},
            }
            self._workspaces[(group.lower(), name.lower())] = workspace
        return copy.deepcopy(workspace)

    def add_identity(self, group: str, name: str) -> dict[str, Any]:
        """A user-assigned identity someone else made (replicated) in an existing group."""
        with self._lock:
            rg = self._groups[group.lower()]
            principal = str(uuid.uuid4())
            identity = {
                "id": f"{rg['id']}/providers/{PROVIDER_TYPES['identities']}/{name}",
                "name": name,
                "type": PROVIDER_TYPES["identities"],
                "location": rg["location"],
                "tags": {},
                "properties": {
                    "tenantId": self.tenant_id,
                    "principalId": principal,
                    "clientId": str(uuid.uuid4()),
                },
            }
            self._identities[(group.lower(), name.lower())] = identity
            self._principals[principal] = {"created": 0.0, "refusals": self.replication_calls}
        return copy.deepcopy(identity)

    def add_principal(self, principal_id: str | None = None) -> str:
        """A principal that exists in the directory (replicated), e.g. an app registration."""
        principal_id = principal_id or str(uuid.uuid4())
        with self._lock:
            self._principals[principal_id] = {"created": 0.0, "refusals": self.replication_calls}
        return principal_id

    def identities(self) -> dict[str, dict[str, Any]]:
        """User-assigned identities by resource id."""
        with self._lock:
            return {i["id"]: copy.deepcopy(i) for i in self._identities.values()}

    def federated_credentials(self, identity_id: str) -> dict[str, dict[str, Any]]:
        """The identity's federated credentials by name."""
        with self._lock:
            return {
                c["name"]: copy.deepcopy(c)
                for c in self._credentials.values()
                if c["id"].lower().startswith(identity_id.lower() + "/")
            }

    def role_assignments(self) -> dict[str, dict[str, Any]]:
        """Role assignments by id."""
        with self._lock:
            return {a["id"]: copy.deepcopy(a) for a in self._assignments.values()}

    def role_definition_id(self, role_name: str) -> str:
        """The subscription-scoped id of a built-in role."""
        guid = next(g for g, name in BUILT_IN_ROLES if name.lower() == role_name.lower())
        return self._role_definition_id(guid)

    # -- faults (see also LoopbackServer.inject) ---------------------------------------------

    def forbid(
        self, action: str, *, caller: str | None = None, scope_prefix: str | None = None
    ) -> None:
        """403 ``AuthorizationFailed`` for ``action`` (e.g. ``Microsoft.Authorization/
        roleAssignments/write``) for one caller's object id (any if None), at scopes starting
        with ``scope_prefix`` (any if None)."""
        with self._lock:
            self._forbidden.append((action.lower(), caller, scope_prefix))

    # -- HTTP -------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        record = self._receive(h)
        method, path, query, body = record.method, record.path, record.query, record.body
        extra: dict[str, str] = {}
        fault = None
        try:
            status, payload, fault, extra = self._answer(method, path, query, h.headers, body)
        except ArmError as error:
            status, extra, fault = error.status, error.headers, error.fault
            payload = {"error": {"code": error.code, "message": error.message}}
        except Exception:  # a bug in the double: say where
            traceback.print_exc(file=sys.stderr)
            status = 500
            payload = {"error": {"code": "InternalServerError", "message": "Fake ARM failed."}}
        data = json.dumps(payload).encode() if payload is not None else b""
        headers = [
            ("x-ms-request-id", str(uuid.uuid4())),
            ("x-ms-correlation-request-id", str(uuid.uuid4())),
            *extra.items(),
        ]
        if data:
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        self._reply(h, record, status, headers, data, fault)

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any, Fault | None, dict[str, str]]:
        """Status, payload, the injected fault taken (None if none) and headers, or ArmError."""
        caller = self._caller(headers)
        fault = self._take_fault(method, path)
        if fault and not fault.apply_first:
            raise self._fault_error(fault)
        kind, action, handler, match = self._route(method, path)
        self._check_api_version(kind, query)
        self._check_subscription(path)
        scope = (
            path.split("/providers/Microsoft.Authorization/")[0]
            if kind == "authorization"
            else path
        )
        self._authorize(caller, action, scope)
        with self._lock:
            status, payload, *more = handler(_Call(method, path, query, body, caller), match)
        if fault and fault.status:
            raise self._fault_error(fault)
        return status, payload, fault, (more[0] if more else {})

    def _is_write(self, method: str, path: str) -> bool:
        """What-if changes nothing: not a write."""
        return method not in ("GET", "HEAD") and not path.lower().endswith("/whatif")

    @staticmethod
    def _error(status: int, code: str, message: str) -> ArmError:
        return ArmError(status, code, message)

    def _route(self, method: str, path: str) -> tuple[str, str, Callable, re.Match]:
        for verb, pattern, kind, action, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and verb == method:
                return kind, action, handler, match
        raise ArmError(
            404,
            "InvalidResourceType" if "/providers/" in path else "NotFound",
            f"The fake serves no {method} {path}.",
        )

    def _caller(self, headers: Any) -> str:
        value = headers.get("Authorization")
        challenge = {
            "WWW-Authenticate": f'Bearer authorization_uri="https://login.microsoftonline.com/'
            f'{self.tenant_id}", error="invalid_token", error_description="The authentication '
            "failed because of missing 'Authorization' header.\""
        }
        if not value:
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                challenge,
            )
        scheme, _, token = value.partition(" ")
        known = (
            next((k for k in self._tokens if hmac.compare_digest(token.strip(), k)), None)
            if scheme.lower() == "bearer"
            else None
        )
        if known is not None and known not in self._expired:
            return self._tokens[known]
        challenge["WWW-Authenticate"] = challenge["WWW-Authenticate"].replace(
            "missing 'Authorization' header", "invalid access token"
        )
        if known is not None:
            raise ArmError(
                401,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
                challenge,
            )
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge)

    def _check_api_version(self, kind: str, query: dict[str, str]) -> None:
        version = query.get("api-version")
        if not version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        supported = API_VERSIONS[kind]
        if version not in supported:
            listed = ", ".join(sorted(supported))
            raise ArmError(
                400,
                "InvalidApiVersionParameter"
                if kind == "resourceGroups"
                else "NoRegisteredProviderFound",
                f"No registered resource provider found for API version '{version}' and type "
                f"'{PROVIDER_TYPES[kind]}'. The supported api-versions are '{listed}'.",
            )

    def _authorize(self, caller: str, action: str, scope: str) -> None:
        for forbidden, who, prefix in self._forbidden:
            if (
                forbidden == action.lower()
                and who in (None, caller)
                and (prefix is None or scope.lower().startswith(prefix.lower()))
            ):
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    f"The client '{caller}' with object id '{caller}' does not have "
                    f"authorization to perform action '{action}' over scope '{scope}' or the "
                    "scope is invalid. If access was recently granted, please refresh your "
                    "credentials.",
                )

    def _fault_error(self, fault: Fault) -> ArmError:
        codes = {
            400: ("BadRequest", "The request is invalid (injected fault)."),
            403: ("AuthorizationFailed", "The client does not have authorization (injected)."),
            404: ("ResourceNotFound", "The resource was not found (injected fault)."),
            409: ("Conflict", "The request conflicts with the state of the resource (injected)."),
            429: (
                "SubscriptionRequestsThrottled",
                f"Number of requests for subscription '{self.subscription_id}' exceeded. "
                "Please try again after additional tokens are available. Refer to "
                "https://aka.ms/arm-throttling for additional information.",
            ),
            503: ("ServiceUnavailable", "The service is unavailable (injected fault)."),
        }
        code, message = codes.get(
            fault.status, ("InternalServerError", "An internal error occurred (injected fault).")
        )
        message = fault.message or message  # what a hostile service might say
        retry_after = fault.retry_after
        if fault.status == 429 and retry_after is None:
            retry_after = 1
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return ArmError(fault.status, code, message, headers, fault)

    # -- routes -----------------------------------------------------------------------------

    def _route_table(self) -> list[tuple[str, re.Pattern, str, str, Callable]]:
        routes = [
            ("GET", _RG, "resourceGroups", "Microsoft.Resources/subscriptions/resourceGroups/read", self._get_group),  # noqa: E501
            ("GET", _WS, "workspaces", "Microsoft.MachineLearningServices/workspaces/read", self._get_workspace),  # noqa: E501
            ("GET", _SUB + r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities", "identities", "Microsoft.ManagedIdentity/userAssignedIdentities/read", self._list_identities),  # noqa: E501
            ("GET", _MI, "identities", "Microsoft.ManagedIdentity/userAssignedIdentities/read", self._get_identity),  # noqa: E501
            ("PUT", _MI, "identities", "Microsoft.ManagedIdentity/userAssignedIdentities/write", self._put_identity),  # noqa: E501
            ("GET", _MI + "/federatedIdentityCredentials", "identities", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read", self._list_credentials),  # noqa: E501
            ("PUT", _MI + "/federatedIdentityCredentials/(?P<fic>[^/]+)", "identities", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", self._put_credential),  # noqa: E501
            ("GET", _AUTHZ + "/roleAssignments", "authorization", "Microsoft.Authorization/roleAssignments/read", self._list_assignments),  # noqa: E501
            ("PUT", _AUTHZ + "/roleAssignments/(?P<name>[^/]+)", "authorization", "Microsoft.Authorization/roleAssignments/write", self._put_assignment),  # noqa: E501
            *deployment_routes(self),
        ]  # fmt: skip
        return [(m, re.compile(p, re.IGNORECASE), k, a, f) for m, p, k, a, f in routes]

    def _group(self, match: re.Match) -> dict[str, Any]:
        group = self._groups.get(match["rg"].lower())
        if group is None:
            raise ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{match['rg']}' could not be found."
            )
        return group

    @staticmethod
    def _not_found(kind: str, name: str, group: str) -> ArmError:
        return ArmError(
            404,
            "ResourceNotFound",
            f"The Resource '{kind}/{name}' under resource group '{group}' was not found. For "
            "more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )

    def _get_group(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._group(match))

    def _workspace(self, match: re.Match) -> dict[str, Any]:
        group = self._group(match)
        workspace = self._workspaces.get((match["rg"].lower(), match["ws"].lower()))
        if workspace is None:
            raise self._not_found(PROVIDER_TYPES["workspaces"], match["ws"], group["name"])
        return workspace

    def _get_workspace(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._workspace(match))

    def _identity(self, match: re.Match) -> dict[str, Any]:
        group = self._group(match)
        identity = self._identities.get((match["rg"].lower(), match["mi"].lower()))
        if identity is None:
            raise self._not_found(PROVIDER_TYPES["identities"], match["mi"], group["name"])
        return identity

    def _get_identity(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._identity(match))

    def _list_identities(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        """User Assigned Identities - List By Subscription (one page)."""
        return 200, {"value": copy.deepcopy(list(self._identities.values()))}

    def _put_identity(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        group = self._group(match)
        body = call.json() or {}
        if not isinstance(body, dict) or not body.get("location"):
            raise ArmError(
                400,
                "LocationRequired",
                "The location property is required for this definition.",
            )
        key = (match["rg"].lower(), match["mi"].lower())
        existing = self._identities.get(key)
        if existing is not None:
            if body["location"].lower() != existing["location"].lower():
                raise ArmError(
                    400,
                    "InvalidResourceLocation",
                    f"The resource '{match['mi']}' already exists in location "
                    f"'{existing['location']}' in resource group '{group['name']}'. A resource "
                    "with the same name cannot be created in location "
                    f"'{body['location']}'. Please select a new resource name.",
                )
            existing["tags"] = dict(body.get("tags") or {})
            return 200, copy.deepcopy(existing)
        principal = str(uuid.uuid4())
        identity = {
            "id": f"{group['id']}/providers/{PROVIDER_TYPES['identities']}/{match['mi']}",
            "name": match["mi"],
            "type": PROVIDER_TYPES["identities"],
            "location": body["location"],
            "tags": dict(body.get("tags") or {}),
            "properties": {
                "tenantId": self.tenant_id,
                "principalId": principal,
                "clientId": str(uuid.uuid4()),
            },
        }
        self._identities[key] = identity
        self._principals[principal] = {"created": time.monotonic(), "refusals": 0}
        return 201, copy.deepcopy(identity)

    def _list_credentials(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        prefix = self._identity(match)["id"].lower() + "/"
        items = [c for c in self._credentials.values() if c["id"].lower().startswith(prefix)]
        return 200, {"value": copy.deepcopy(items)}

    def _put_credential(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        identity = self._identity(match)
        name = match["fic"]
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}", name):
            raise ArmError(
                400,
                "BadRequest",
                f"The federated identity credential name '{name}' is invalid: it must start "
                "with a letter or digit and have 3 to 120 letters, digits, '-' or '_'.",
            )
        props = (call.json() or {}).get("properties") or {}
        missing = [k for k in ("issuer", "subject", "audiences") if not props.get(k)]
        if missing:
            raise ArmError(
                400, "BadRequest", f"The property '{missing[0]}' is required and cannot be empty."
            )
        key = (identity["id"].lower(), name.lower(), "")
        for other_key, other in self._credentials.items():
            same = (other["properties"]["issuer"], other["properties"]["subject"]) == (
                props["issuer"],
                props["subject"],
            )
            if other_key[0] == key[0] and other_key != key and same:
                raise ArmError(
                    409,
                    "Conflict",
                    f"A federated identity credential with issuer '{props['issuer']}' and subject "
                    f"'{props['subject']}' already exists on this identity ('{other['name']}').",
                )
        created = key not in self._credentials
        self._credentials[key] = {
            "id": f"{identity['id']}/federatedIdentityCredentials/{name}",
            "name": name,
            "type": PROVIDER_TYPES["identities"] + "/federatedIdentityCredentials",
            "properties": {
                "issuer": props["issuer"],
                "subject": props["subject"],
                "audiences": list(props["audiences"]),
            },
        }
        return (201 if created else 200), copy.deepcopy(self._credentials[key])

    def _check_subscription(self, path: str) -> None:
        named = re.match(r"/subscriptions/([^/]+)", path, re.IGNORECASE)
        if named and named.group(1).lower() != self.subscription_id.lower():
            raise ArmError(
                404,
                "SubscriptionNotFound",
                f"The subscription '{named.group(1)}' could not be found.",
            )

    def _check_scope(self, scope: str) -> None:
        """A scope under a missing resource group or workspace: the same 404 ARM gives."""
        if scope.rstrip("/").lower() == f"/subscriptions/{self.subscription_id}".lower():
            return
        for pattern in (_WS, _RG):
            match = re.fullmatch(pattern, scope.rstrip("/"), re.IGNORECASE)
            if match:
                if match.groupdict().get("ws"):
                    self._workspace(match)
                else:
                    self._group(match)
                return
        if not re.match(_RG + "/providers/", scope, re.IGNORECASE):
            raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")

    def _list_assignments(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        scope = match["scope"].rstrip("/")
        self._check_scope(scope)
        wanted = call.query.get("$filter", "").strip()
        principal = None
        at_scope = False
        if wanted:
            by_principal = re.fullmatch(r"principalId\s+eq\s+'([^']+)'", wanted, re.IGNORECASE)
            if by_principal:
                principal = by_principal.group(1)
            elif re.fullmatch(r"atScope\(\)", wanted, re.IGNORECASE):
                at_scope = True
            else:
                raise ArmError(400, "UnsupportedQuery", f"The filter '{wanted}' is not supported.")
        items = []
        for assignment in self._assignments.values():
            theirs = assignment["properties"]["scope"].lower()
            above = scope.lower() == theirs or scope.lower().startswith(theirs + "/")
            below = theirs.startswith(scope.lower() + "/")
            if not (above or (below and not at_scope)):
                continue
            if principal and assignment["properties"]["principalId"].lower() != principal.lower():
                continue
            items.append(copy.deepcopy(assignment))
        return 200, {"value": items}

    def _put_assignment(self, call: _Call, match: re.Match) -> tuple[int, Any]:
        scope, name = match["scope"].rstrip("/"), match["name"]
        if not _GUID.match(name):
            raise ArmError(
                400,
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{name}' is not valid. The role assignment ID must be a "
                "GUID.",
            )
        self._check_scope(scope)
        props = (call.json() or {}).get("properties") or {}
        role_id, principal = props.get("roleDefinitionId") or "", props.get("principalId") or ""
        guid = role_id.rstrip("/").rsplit("/", 1)[-1]
        if not any(g == guid.lower() for g, _ in BUILT_IN_ROLES):
            raise ArmError(
                400,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{guid}' does not exist.",
            )
        if not props.get("principalType") or not self.principal_type_skips_replication:
            self._principal_replicated(principal)
        wanted = (guid.lower(), principal.lower(), scope.lower())
        existing = self._assignments.get(name.lower())
        for other in self._assignments.values():
            p = other["properties"]
            theirs = (
                p["roleDefinitionId"].rsplit("/", 1)[-1].lower(),
                p["principalId"].lower(),
                p["scope"].lower(),
            )
            if theirs == wanted and other is not existing:
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        if existing is not None:
            p = existing["properties"]
            if (
                p["roleDefinitionId"].rsplit("/", 1)[-1].lower(),
                p["principalId"].lower(),
                p["scope"].lower(),
            ) != wanted:
                raise ArmError(
                    400,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be "
                    "updated.",
                )
            return 201, copy.deepcopy(existing)
        now = _now()
        assignment = {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name,
            "type": PROVIDER_TYPES["authorization"],
            "properties": {
                "roleDefinitionId": self._role_definition_id(guid.lower()),
                "principalId": principal,
                "principalType": props.get("principalType") or "ServicePrincipal",
                "scope": scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": now,
                "updatedOn": now,
                "createdBy": call.caller,
                "updatedBy": call.caller,
                "delegatedManagedIdentityResourceId": None,
                "description": props.get("description"),
            },
        }
        self._assignments[name.lower()] = assignment
        return 201, copy.deepcopy(assignment)

    def _principal_replicated(self, principal: str) -> None:
        """Raise PrincipalNotFound for an unknown principal or one still replicating."""
        state = self._principals.get(principal)
        replicating = state is not None and (
            state["refusals"] < self.replication_calls
            or time.monotonic() - state["created"] < self.replication_seconds
        )
        if state is None or replicating:
            if state is not None:
                state["refusals"] += 1
            raise ArmError(
                400,
                "PrincipalNotFound",
                f"Principal {principal.replace('-', '')} does not exist in the directory "
                f"{self.tenant_id}. Check that you have the correct principal ID. If you are "
                "creating this principal and then immediately assigning a role, this error "
                "might be related to a replication delay. In this case, set the role "
                "assignment principalType property to a value, such as ServicePrincipal, "
                "User, or Group.  See https://aka.ms/docs-principaltype",
            )

    def _role_definition_id(self, guid: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/providers/"
            f"Microsoft.Authorization/roleDefinitions/{guid}"
        )
