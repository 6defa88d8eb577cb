"""The Azure DevOps double's identities: who the token belongs to, and look-up by e-mail.

As Microsoft documents them:
- location "connectionData": MicrosoftDocs/vsts-rest-api-specs,
  specification/location/7.1/location.json
- https://learn.microsoft.com/rest/api/azure/devops/ims/identities/read-identities
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from .records import (
    _Req,
    _Resp,
)


class IdentitiesMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("org", "GET", "connectiondata", "_connection_data", True),
        ("identity", "GET", "identities", "_identities_search", False),
    )

    def add_identity(self, email: str, display_name: str | None = None) -> str:
        """An identity found by the identities search; returns its id."""
        with self._lock:
            identity_id = str(uuid.uuid4())
            self._identities[identity_id] = {
                "id": identity_id,
                "email": email,
                "displayName": display_name or email.split("@")[0],
            }
            return identity_id

    def _identity_ref(self, identity_id: str | None = None) -> dict[str, Any]:
        ident = self._identities[identity_id or self.owner_id]
        return {
            "displayName": ident["displayName"],
            "url": f"{self.identity_url}/_apis/Identities/{ident['id']}",
            "id": ident["id"],
            "uniqueName": ident["email"],
            "descriptor": f"aad.{base64.b64encode(ident['id'].encode()).decode().rstrip('=')}",
        }

    def _identity_json(self, ident: dict[str, Any]) -> dict[str, Any]:
        def prop(v: str) -> dict[str, str]:
            return {"$type": "System.String", "$value": v}

        return {
            "id": ident["id"],
            "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;fake\\{ident['email']}",
            "subjectDescriptor": (
                f"aad.{base64.b64encode(ident['id'].encode()).decode().rstrip('=')}"
            ),
            "providerDisplayName": ident["displayName"],
            "isActive": True,
            "isContainer": False,
            "members": [],
            "memberOf": [],
            "memberIds": [],
            "properties": {
                "SchemaClassName": prop("User"),
                "Domain": prop("fake"),
                "Account": prop(ident["email"]),
                "Mail": prop(ident["email"]),
            },
            "resourceVersion": 2,
            "metaTypeId": 0,
        }

    def _connection_data(self, req: _Req) -> _Resp:
        user = self._identity_json(self._identities[self.owner_id])
        return self._json(
            200,
            {
                "authenticatedUser": user,
                "authorizedUser": user,
                "instanceId": self.instance_id,
                "deploymentId": self.instance_id,
                "deploymentType": "hosted",
                "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7"},
            },
            req.api_version,
        )

    def _identities_search(self, req: _Req) -> _Resp:
        value = (req.query.get("filterValue") or "").lower()
        search = (req.query.get("searchFilter") or "General").lower()
        ids = {i.strip().lower() for i in (req.query.get("identityIds") or "").split(",") if i}
        found = []
        for ident in self._identities.values():
            if ids:
                hit = ident["id"] in ids
            elif search == "displayname":
                hit = ident["displayName"].lower() == value
            elif search in ("mailaddress", "accountname"):
                hit = ident["email"].lower() == value
            else:  # General: e-mail or display name
                hit = value in (ident["email"].lower(), ident["displayName"].lower())
            if hit:
                found.append(self._identity_json(ident))
        return self._json(200, self._list(found), req.api_version)
