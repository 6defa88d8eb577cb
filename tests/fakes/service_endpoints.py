"""The Azure DevOps double's service connections (Azure Resource Manager, workload identity).

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/serviceendpoint/endpoints/create
- https://learn.microsoft.com/rest/api/azure/devops/serviceendpoint/endpoints/get-service-endpoints-by-names
"""

from __future__ import annotations

import base64
import copy
import uuid
from typing import Any

from .records import (
    _ApiError,
    _bad_null,
    _Req,
    _Resp,
)

AZURE_DEVOPS_APP_ID = "499b84ac-1321-427f-aa17-267ca6975798"  # in WIF subjects

SECRET_ENDPOINT_PARAMETERS = {"serviceprincipalkey", "password", "apitoken", "accesstoken"}


class ServiceEndpointsMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("org", "POST", "serviceendpoint/endpoints", "_endpoint_create", False),
        ("project", "GET", "serviceendpoint/endpoints", "_endpoints_list", False),
    )

    def add_service_connection(self, project_name: str, name: str) -> dict[str, Any]:
        """An AzureRM (workload identity federation) endpoint shared into the project."""
        with self._lock:
            project = self._need_project(project_name)
            body = {
                "name": name,
                "type": "AzureRM",
                "url": "https://management.azure.com/",
                "owner": "library",
                "data": {
                    "environment": "AzureCloud",
                    "scopeLevel": "Subscription",
                    "subscriptionId": str(uuid.uuid4()),
                    "subscriptionName": "Seeded subscription",
                    "creationMode": "Manual",
                },
                "authorization": {
                    "scheme": "WorkloadIdentityFederation",
                    "parameters": {
                        "tenantid": str(uuid.uuid4()),
                        "serviceprincipalid": str(uuid.uuid4()),
                    },
                },
                "serviceEndpointProjectReferences": [
                    {"name": name, "projectReference": {"id": project["id"]}}
                ],
            }
            return self._endpoint_json(self._create_endpoint(body))

    def service_endpoints(self, project: str) -> dict[str, dict[str, Any]]:
        """Endpoint name -> ServiceEndpoint (secret parameters as stored)."""
        return self._in_project(
            project,
            self._endpoints,
            lambda e: self._endpoint_json(e, reveal=True),
            by_name=True,
            shared=True,
        )

    def _create_endpoint(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_null("endpoint")
        for field in ("name", "type", "url"):
            if not body.get(field):
                raise _bad_null(field)
        auth = body.get("authorization") or {}
        if not auth.get("scheme"):
            raise _bad_null("authorization")
        refs = []
        for ref in body.get("serviceEndpointProjectReferences") or []:
            pref = ref.get("projectReference") or {}
            project = self._need_project(pref.get("id") or pref.get("name") or "")
            refs.append(
                {
                    "project_id": project["id"],
                    "name": ref.get("name") or body["name"],
                    "description": ref.get("description") or "",
                }
            )
        if not refs:
            raise _bad_null("serviceEndpointProjectReferences")
        project_ids = {r["project_id"] for r in refs}
        for ep in self._endpoints.values():
            if ep["project_ids"] & project_ids and ep["name"].lower() == body["name"].lower():
                # unconfirmed: status; one public client saw 500 with this typeKey, 409 is sane
                raise _ApiError(
                    409,
                    "DuplicateServiceConnectionException",
                    f"A service connection with name {body['name']} already exists in the project.",
                )
        endpoint_id = str(uuid.uuid4())
        parameters = dict(auth.get("parameters") or {})
        if str(auth["scheme"]).lower() == "workloadidentityfederation":
            tenant = str(parameters.get("tenantid") or "")
            parameters["workloadIdentityFederationIssuer"] = (
                f"https://login.microsoftonline.com/{tenant}/v2.0"
            )

            def b64(guid: str) -> str:
                try:
                    raw = uuid.UUID(guid).bytes_le
                except ValueError:
                    raw = guid.encode()
                return base64.urlsafe_b64encode(raw).decode().rstrip("=")

            parameters["workloadIdentityFederationSubject"] = (
                f"/eid1/c/pub/t/{b64(tenant)}/a/{b64(AZURE_DEVOPS_APP_ID)}"
                f"/sc/{self.instance_id}/{endpoint_id}"
            )
        endpoint = {
            "id": endpoint_id,
            "name": body["name"],
            "type": body["type"],
            "url": body["url"],
            "description": body.get("description") or "",
            "owner": body.get("owner") or "library",
            "data": copy.deepcopy(body.get("data") or {}),
            "scheme": auth["scheme"],
            "parameters": parameters,
            "isShared": bool(body.get("isShared")),
            "refs": refs,
            "project_ids": project_ids,
        }
        self._endpoints[endpoint_id] = endpoint
        return endpoint

    def _endpoint_json(self, e: dict[str, Any], *, reveal: bool = False) -> dict[str, Any]:
        params = {
            k: (None if k.lower() in SECRET_ENDPOINT_PARAMETERS and not reveal else v)
            for k, v in e["parameters"].items()
        }
        refs = []
        for ref in e["refs"]:
            p = self._projects.get(ref["project_id"])
            refs.append(
                {
                    "projectReference": {"id": ref["project_id"], "name": p["name"] if p else None},
                    "name": ref["name"],
                    "description": ref["description"],
                }
            )
        return {
            "data": copy.deepcopy(e["data"]),
            "id": e["id"],
            "name": e["name"],
            "type": e["type"],
            "url": e["url"],
            "createdBy": self._identity_ref(),
            "description": e["description"],
            "authorization": {"parameters": params, "scheme": e["scheme"]},
            "isShared": e["isShared"],
            "isReady": True,
            "isOutdated": False,
            "operationStatus": {"state": "Ready", "statusMessage": ""},
            "owner": e["owner"],
            "serviceEndpointProjectReferences": refs,
        }

    def _endpoint_create(self, req: _Req) -> _Resp:
        return self._json(
            200, self._endpoint_json(self._create_endpoint(req.json())), req.api_version
        )

    def _endpoints_matching(self, req: _Req) -> list[dict[str, Any]]:
        assert req.project is not None
        names = {n.strip().lower() for n in (req.query.get("endpointNames") or "").split(",") if n}
        ids = {n.strip().lower() for n in (req.query.get("endpointIds") or "").split(",") if n}
        etype = (req.query.get("type") or "").lower()
        return [
            self._endpoint_json(e)
            for e in sorted(self._endpoints.values(), key=lambda e: e["name"].lower())
            if req.project["id"] in e["project_ids"]
            and (not names or e["name"].lower() in names)
            and (not ids or e["id"] in ids)
            and (not etype or e["type"].lower() == etype)
        ]

    def _endpoints_list(self, req: _Req) -> _Resp:
        return self._json(200, self._list(self._endpoints_matching(req)), req.api_version)
