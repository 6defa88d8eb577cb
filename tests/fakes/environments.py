"""The Azure DevOps double's environments and the checks on them (Approval).

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/distributedtask/environments/list
- https://learn.microsoft.com/rest/api/azure/devops/distributedtask/environments/add
- https://learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/check-configurations/list
- https://learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/check-configurations/add
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .records import (
    _ApiError,
    _bad_null,
    _now,
    _Req,
    _Resp,
)

CHECK_TYPES = {  # the check type ids the Azure DevOps UI creates
    "8c6f20a7-a545-4486-9777-f762fafe0d4d": "Approval",
    "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7": "Task Check",
    "2ef31ad6-baa0-403a-8b45-2cbc9b4e5563": "ExclusiveLock",
    "4020e66e-b0f3-47e1-bc88-48f3cc59b5f3": "ExtendsCheck",
}


class EnvironmentsMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("project", "GET", "distributedtask/environments", "_envs_list", False),
        ("project", "POST", "distributedtask/environments", "_env_create", False),
        ("project", "GET", "pipelines/checks/configurations", "_checks_list", True),
        ("project", "POST", "pipelines/checks/configurations", "_check_create", True),
    )

    def environments(self, project: str) -> dict[str, dict[str, Any]]:
        """Environment name -> EnvironmentInstance."""
        return self._in_project(project, self._envs, self._env_json, by_name=True)

    def checks(self, project: str) -> dict[int, dict[str, Any]]:
        """Check configuration id -> CheckConfiguration (with settings)."""
        return self._in_project(project, self._checks, lambda c: self._check_json(c, settings=True))

    def _env_json(self, e: dict[str, Any]) -> dict[str, Any]:
        p = self._projects[e["project_id"]]
        return {
            "id": e["id"],
            "name": e["name"],
            "description": e["description"],
            "createdBy": self._identity_ref(),
            "createdOn": e["createdOn"],
            "lastModifiedBy": self._identity_ref(),
            "lastModifiedOn": e["lastModifiedOn"],
            "project": {"id": p["id"], "name": p["name"]},
            "resources": [],
        }

    def _check_env_name(self, req: _Req, name: str, exclude: int | None = None) -> None:
        assert req.project is not None
        if not name:
            raise _bad_null("Name")
        if len(name) > 128 or re.search(r'[,"/\\\[\]:|<>+=;?*]', name):
            raise _ApiError(
                400,
                "ArgumentException",
                f"Environment name '{name}' is invalid. It must be less than 128 characters and "
                'must not contain , " / \\ [ ] : | < > + = ; ? *',
            )
        for e in self._envs.values():
            if (
                e["project_id"] == req.project["id"]
                and e["name"].lower() == name.lower()
                and e["id"] != exclude
            ):
                raise _ApiError(
                    409,
                    "EnvironmentExistsException",
                    f"Environment '{name}' already exists in current project.",
                )

    def _envs_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        name = req.query.get("name")
        items = [
            self._env_json(e)
            for e in sorted(self._envs.values(), key=lambda e: e["id"])
            if e["project_id"] == req.project["id"]
            # unconfirmed: name filter semantics; exact, case-insensitive here
            and (not name or e["name"].lower() == name.lower())
        ]
        return self._paged(req, items)

    def _env_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        body = req.json() or {}
        name = (body.get("name") or "").strip()
        self._check_env_name(req, name)
        env_id = next(self._next["env"])
        now = _now()
        self._envs[env_id] = {
            "id": env_id,
            "project_id": req.project["id"],
            "name": name,
            "description": body.get("description") or "",
            "createdOn": now,
            "lastModifiedOn": now,
        }
        return self._json(200, self._env_json(self._envs[env_id]), req.api_version)

    def _resource_exists(self, project: dict[str, Any], rtype: str, rid: str) -> bool:
        rtype = rtype.lower()
        try:
            if rtype == "environment":
                env = self._envs.get(int(rid))
                return env is not None and env["project_id"] == project["id"]
            if rtype == "variablegroup":
                vg = self._vgs.get(int(rid))
                return vg is not None and project["id"] in vg["project_ids"]
        except ValueError:
            return False
        if rtype == "endpoint":
            ep = self._endpoints.get(rid.lower())
            return ep is not None and project["id"] in ep["project_ids"]
        if rtype == "repository":
            proj_id, _, repo_id = rid.lower().partition(".")
            repo = self._repos.get(repo_id)
            return repo is not None and repo["project_id"] == proj_id == project["id"]
        return False  # securefile and others are not modelled

    def _normalize_resource(self, rtype: str, rid: Any) -> tuple[str, str]:
        rtype = str(rtype or "").lower()
        rid = str(rid if rid is not None else "")
        if rtype in ("endpoint", "repository"):
            rid = rid.lower()
        return rtype, rid

    def _check_json(self, c: dict[str, Any], *, settings: bool) -> dict[str, Any]:
        url = f"{self.url}/{c['project_id']}/_apis/pipelines/checks/configurations/{c['id']}"
        out: dict[str, Any] = {}
        if settings:
            out["settings"] = copy.deepcopy(c["settings"])
        out.update(
            createdBy=self._identity_ref(),
            createdOn=c["createdOn"],
            modifiedBy=self._identity_ref(),
            modifiedOn=c["modifiedOn"],
            timeout=c["timeout"],
            _links={"self": {"href": url}},
            id=c["id"],
            version=c["version"],
            type={"id": c["type_id"], "name": CHECK_TYPES[c["type_id"]]},
            url=url,
            resource=dict(c["resource"]),
        )
        return out

    def _expand_settings(self, req: _Req) -> bool:
        return "settings" in (req.query.get("$expand") or "").lower()

    def _checks_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        rtype = (req.query.get("resourceType") or "").lower()
        rid = req.query.get("resourceId")
        items = [
            self._check_json(c, settings=self._expand_settings(req))
            for c in sorted(self._checks.values(), key=lambda c: c["id"])
            if c["project_id"] == req.project["id"]
            and (not rtype or c["resource"]["type"] == rtype)
            and (rid is None or c["resource"]["id"].lower() == rid.lower())
        ]
        return self._json(200, self._list(items), req.api_version)

    def _validate_check_body(self, req: _Req, body: Any) -> tuple[str, dict[str, Any]]:
        assert req.project is not None
        if not isinstance(body, dict):
            raise _bad_null("configuration")
        type_id = str((body.get("type") or {}).get("id") or "").lower()
        if type_id not in CHECK_TYPES:
            raise _ApiError(  # unconfirmed: status/typeKey of an unknown check type
                400, "InvalidCheckTypeException", f"Check type '{type_id}' is not valid."
            )
        res = body.get("resource") or {}
        rtype, rid = self._normalize_resource(res.get("type"), res.get("id"))
        if not rtype or not rid:
            raise _bad_null("resource")
        if not self._resource_exists(req.project, rtype, rid):
            raise _ApiError(  # unconfirmed: status of a missing resource
                404, "ResourceNotFoundException", f"Resource {rtype} with id {rid} not found."
            )
        resource = {"type": rtype, "id": rid}
        if res.get("name"):
            resource["name"] = res["name"]
        return type_id, resource

    def _check_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        body = req.json()
        type_id, resource = self._validate_check_body(req, body)
        cid = next(self._next["check"])
        now = _now()
        self._checks[cid] = {
            "id": cid,
            "project_id": req.project["id"],
            "type_id": type_id,
            "settings": copy.deepcopy(body.get("settings") or {}),
            "resource": resource,
            "timeout": body.get("timeout", 43200),
            "createdOn": now,
            "modifiedOn": now,
            "version": 1,
        }
        return self._json(200, self._check_json(self._checks[cid], settings=True), req.api_version)
