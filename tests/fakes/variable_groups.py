"""The Azure DevOps double's variable groups (secret values stored, never returned).

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/distributedtask/variablegroups/add
- https://learn.microsoft.com/rest/api/azure/devops/distributedtask/variablegroups/update
- https://learn.microsoft.com/rest/api/azure/devops/distributedtask/variablegroups/get-variable-groups
"""

from __future__ import annotations

from typing import Any

from .records import (
    _ApiError,
    _bad_null,
    _now,
    _Req,
    _Resp,
    _wildcard,
)


class VariableGroupsMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("org", "POST", "distributedtask/variablegroups", "_vg_create", False),
        ("org", "PUT", "distributedtask/variablegroups/{id}", "_vg_update", False),
        ("project", "GET", "distributedtask/variablegroups", "_vgs_list", False),
    )

    def variable_groups(self, project: str) -> dict[str, dict[str, Any]]:
        """Group name -> VariableGroup with the secret values AS STORED (the real secrets)."""
        return self._in_project(
            project, self._vgs, lambda g: self._vg_json(g, reveal=True), by_name=True, shared=True
        )

    def _vg_json(self, g: dict[str, Any], *, reveal: bool = False) -> dict[str, Any]:
        variables = {}
        for name, var in g["variables"].items():
            var = dict(var)
            if var.get("isSecret") and not reveal:
                var["value"] = None
            variables[name] = var
        refs = []
        for ref in g["refs"]:
            p = self._projects.get(ref["project_id"])
            refs.append(
                {
                    "projectReference": {"id": ref["project_id"], "name": p["name"] if p else None},
                    "name": ref["name"],
                    "description": ref["description"],
                }
            )
        out = {
            "variables": variables,
            "id": g["id"],
            "type": g["type"],
            "name": g["name"],
            "description": g["description"],
            "createdBy": self._identity_ref(),
            "createdOn": g["createdOn"],
            "modifiedBy": self._identity_ref(),
            "modifiedOn": g["modifiedOn"],
            "isShared": False,
            "variableGroupProjectReferences": refs,
        }
        if g.get("providerData") is not None:
            out["providerData"] = g["providerData"]
        return out

    def _vg_from_body(self, body: Any, existing: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_null("variableGroupParameters")
        name = (body.get("name") or "").strip()
        if not name:
            raise _bad_null("Name")
        refs = []
        for ref in body.get("variableGroupProjectReferences") or []:
            pref = ref.get("projectReference") or {}
            project = self._need_project(pref.get("id") or pref.get("name") or "")
            refs.append(
                {
                    "project_id": project["id"],
                    "name": ref.get("name") or name,
                    "description": ref.get("description") or body.get("description") or "",
                }
            )
        if not refs:
            raise _bad_null("variableGroupProjectReferences")
        old_vars = existing["variables"] if existing else {}
        variables = {}
        for vname, var in (body.get("variables") or {}).items():
            var = dict(var or {})
            old = old_vars.get(vname)
            if var.get("isSecret") and var.get("value") is None and old and old.get("isSecret"):
                # unconfirmed:: a PUT re-sending a secret as null keeps the stored value
                var["value"] = old.get("value")
            variables[vname] = var
        for g in self._vgs.values():
            if existing is not None and g["id"] == existing["id"]:
                continue
            shared = {r["project_id"] for r in refs} & g["project_ids"]
            if shared and g["name"].lower() == name.lower():
                raise _ApiError(
                    409,
                    "VariableGroupExistsException",
                    f"Variable group with name {name} already exists.",
                )
        return {
            "name": name,
            "description": body.get("description") or "",
            "type": body.get("type") or "Vsts",
            "variables": variables,
            "refs": refs,
            "project_ids": {r["project_id"] for r in refs},
            "providerData": body.get("providerData"),
        }

    def _need_vg(self, key: str, project: dict[str, Any] | None) -> dict[str, Any]:
        gid = self._int_id(key, "VariableGroupNotFoundException", "Variable group")
        group = self._vgs.get(gid)
        if group is None or (project is not None and project["id"] not in group["project_ids"]):
            raise _ApiError(
                404,
                "VariableGroupNotFoundException",
                f"Variable group with id {gid} does not exist.",
            )
        return group

    def _vg_create(self, req: _Req) -> _Resp:
        group = self._vg_from_body(req.json())
        gid = next(self._next["vg"])
        now = _now()
        group.update(id=gid, createdOn=now, modifiedOn=now)
        self._vgs[gid] = group
        return self._json(200, self._vg_json(group), req.api_version)

    def _vg_update(self, req: _Req) -> _Resp:
        group = self._need_vg(req.params["id"], None)
        group.update(self._vg_from_body(req.json(), existing=group), modifiedOn=_now())
        return self._json(200, self._vg_json(group), req.api_version)

    def _vgs_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        name = req.query.get("groupName")
        name_re = _wildcard(name) if name else None
        ids = {i.strip() for i in (req.query.get("groupIds") or "").split(",") if i.strip()}
        descending = (req.query.get("queryOrder") or "IdDescending").lower() == "iddescending"
        items = [
            self._vg_json(g)
            for g in sorted(self._vgs.values(), key=lambda g: g["id"], reverse=descending)
            if req.project["id"] in g["project_ids"]
            and (not name_re or name_re.fullmatch(g["name"]))
            and (not ids or str(g["id"]) in ids)
        ]
        return self._paged(req, items)
