"""The Azure DevOps double's branch policies, and the pushes they block.

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/git/policy-configurations/get
- https://learn.microsoft.com/rest/api/azure/devops/policy/configurations/create
"""

from __future__ import annotations

import copy
from typing import Any

from .records import (
    _ApiError,
    _bad_null,
    _now,
    _Req,
    _Resp,
)

MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"

POLICY_TYPES = {  # policy/types/list
    MIN_REVIEWERS: "Minimum number of reviewers",
    "0609b952-1397-4640-95ec-e00a01b2c241": "Build",
    "fd2167ab-b0be-447a-8ec8-39368250530e": "Required reviewers",
    "40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e": "Work item linking",
    "fa4e907d-c16b-4a4c-9dfa-4916e5d171ab": "Require a merge strategy",
    "c6a1889d-b943-4856-b76f-9e46bb6b0df2": "Comment requirements",
    "cbdc66da-9728-4af8-aada-9a5a32e4a226": "Status",
}

# A blocking, enabled policy of one of these types on a ref makes direct pushes to it fail
# with TF402455 (only "Minimum number of reviewers" is modelled).
PUSH_BLOCKING_POLICY_TYPES = {MIN_REVIEWERS}

TF402455 = (
    "TF402455: Pushes to this branch are not permitted; "
    "you must use a pull request to update this branch."
)


class PoliciesMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("project", "GET", "git/policy/configurations", "_git_policies_list", False),
        ("project", "POST", "policy/configurations", "_policy_create", False),
    )

    def policies(self, project: str) -> dict[int, dict[str, Any]]:
        """Policy configuration id -> PolicyConfiguration."""
        return self._in_project(project, self._policies, self._policy_json)

    def _policy_json(self, c: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.url}/{c['project_id']}/_apis/policy"
        url = f"{base}/configurations/{c['id']}"
        type_url = f"{base}/types/{c['type_id']}"
        return {
            "createdBy": self._identity_ref(),
            "createdDate": c["createdDate"],
            "isEnabled": c["isEnabled"],
            "isBlocking": c["isBlocking"],
            "isDeleted": False,
            "settings": copy.deepcopy(c["settings"]),
            "isEnterpriseManaged": False,
            "_links": {
                "self": {"href": url},
                "policyType": {"href": type_url},
            },
            "revision": c["revision"],
            "id": c["id"],
            "url": url,
            "type": {
                "id": c["type_id"],
                "url": type_url,
                "displayName": POLICY_TYPES[c["type_id"]],
            },
        }

    def _policy_from_body(self, req: _Req, body: Any) -> dict[str, Any]:
        assert req.project is not None
        if not isinstance(body, dict):
            raise _bad_null("configuration")
        type_id = str((body.get("type") or {}).get("id") or "").lower()
        if type_id not in POLICY_TYPES:
            raise _ApiError(  # unconfirmed: status of an unknown policy type
                404, "PolicyTypeNotFoundException", f"Policy type {type_id} does not exist."
            )
        settings = copy.deepcopy(body.get("settings") or {})
        for scope in settings.get("scope") or []:
            kind = str(scope.get("matchKind") or "exact").lower()
            scope["matchKind"] = {"prefix": "Prefix", "defaultbranch": "DefaultBranch"}.get(
                kind, "Exact"
            )
            if scope.get("repositoryId"):
                self._need_repo(req.project, str(scope["repositoryId"]))
        return {
            "type_id": type_id,
            "isEnabled": bool(body.get("isEnabled", True)),
            "isBlocking": bool(body.get("isBlocking", False)),
            "settings": settings,
        }

    def _policy_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        fields = self._policy_from_body(req, req.json())
        pid = next(self._next["policy"])
        self._policies[pid] = {
            "id": pid,
            "project_id": req.project["id"],
            "revision": 1,
            "createdDate": _now(),
            **fields,
        }
        return self._json(200, self._policy_json(self._policies[pid]), req.api_version)

    def _git_policies_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        ptype = (req.query.get("policyType") or "").lower()
        repo_key = req.query.get("repositoryId")
        ref = req.query.get("refName")
        repo = self._need_repo(req.project, repo_key) if repo_key else None
        items = []
        for c in sorted(self._policies.values(), key=lambda c: c["id"]):
            if c["project_id"] != req.project["id"] or (ptype and c["type_id"] != ptype):
                continue
            scopes = c["settings"].get("scope") or [{}]
            if repo is not None or ref:
                probe = repo or {"id": "", "defaultBranch": None}
                if not any(self._scope_applies(s, probe, ref, repo is None) for s in scopes):
                    continue
            items.append(self._policy_json(c))
        return self._paged(req, items)

    def _scope_applies(
        self, scope: dict[str, Any], repo: dict[str, Any], ref: str | None, any_repo: bool
    ) -> bool:
        repo_id = scope.get("repositoryId")
        if not any_repo and repo_id and str(repo_id).lower() != repo["id"]:
            return False
        if not ref:
            return True
        return self._scope_matches({**scope, "repositoryId": None}, repo, ref)

    def _scope_matches(self, scope: dict[str, Any], repo: dict[str, Any], ref: str) -> bool:
        repo_id = scope.get("repositoryId")
        if repo_id and str(repo_id).lower() != repo["id"]:
            return False
        kind = (scope.get("matchKind") or "Exact").lower()
        if kind == "defaultbranch":
            return bool(repo["defaultBranch"]) and ref.lower() == repo["defaultBranch"].lower()
        scope_ref = scope.get("refName")
        if not scope_ref:
            return True
        if kind == "prefix":
            return ref.lower().startswith(scope_ref.lower())
        return ref.lower() == scope_ref.lower()
