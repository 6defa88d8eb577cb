"""The Azure DevOps double's which pipelines may use a protected resource.

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/pipeline-permissions/get
- https://learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/pipeline-permissions/update-pipeline-permisions-for-resource
"""

from __future__ import annotations

from typing import Any

from .records import (
    _ApiError,
    _bad_null,
    _now,
    _Req,
    _Resp,
)


class PermissionsMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("project", "GET", "pipelines/pipelinepermissions/{type}/{id}", "_permissions_route", True),
        (
            "project",
            "PATCH",
            "pipelines/pipelinepermissions/{type}/{id}",
            "_permissions_route",
            True,
        ),
    )

    def pipeline_permissions(self, project: str) -> dict[tuple[str, str], dict[int, bool]]:
        """(resource_type, resource_id) -> {pipeline_id: authorized}.

        ``resource_type`` lower case; ``resource_id`` as in the URL (GUIDs lower case, a
        repository as ``{projectId}.{repositoryId}``).
        """
        with self._lock:
            p = self._need_project(project)
            return {
                (t, i): {pid: v["authorized"] for pid, v in d["pipelines"].items()}
                for (proj, t, i), d in self._permissions.items()
                if proj == p["id"]
            }

    def _permissions_json(self, key: tuple[str, str, str]) -> dict[str, Any]:
        state = self._permissions.get(key) or {"pipelines": {}}
        out: dict[str, Any] = {"resource": {"type": key[1], "id": key[2]}}
        out["pipelines"] = [
            {"id": pid, **{k: v for k, v in p.items()}}
            for pid, p in sorted(state["pipelines"].items())
        ]
        return out

    def _apply_permissions(self, req: _Req, rtype: str, rid: str, body: Any) -> dict[str, Any]:
        assert req.project is not None
        rtype, rid = self._normalize_resource(rtype, rid)
        if not self._resource_exists(req.project, rtype, rid):
            raise _ApiError(  # unconfirmed: status of a missing resource
                404, "ResourceNotFoundException", f"Resource {rtype} with id {rid} not found."
            )
        key = (req.project["id"], rtype, rid)
        if req.method == "PATCH":
            if not isinstance(body, dict):
                raise _bad_null("resourceAuthorization")
            updates = []
            for item in body.get("pipelines") or []:
                pipeline = self._need_pipeline(
                    req, item.get("id")
                )  # unknown id -> 404 unconfirmed:
                updates.append((pipeline["id"], bool(item.get("authorized"))))
            state = self._permissions.setdefault(key, {"pipelines": {}})
            stamp = {"authorizedBy": self._identity_ref(), "authorizedOn": _now()}
            for pid, authorized in updates:
                state["pipelines"][pid] = {"authorized": authorized, **stamp}
        return self._permissions_json(key)

    def _permissions_route(self, req: _Req) -> _Resp:
        body = req.json() if req.method == "PATCH" else None
        out = self._apply_permissions(req, req.params["type"], req.params["id"], body)
        return self._json(200, out, req.api_version)
