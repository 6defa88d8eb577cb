"""The Azure DevOps double's yAML pipelines.

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/pipelines/pipelines/list
- https://learn.microsoft.com/rest/api/azure/devops/pipelines/pipelines/create
- https://learn.microsoft.com/rest/api/azure/devops/pipelines/runs/list
- https://learn.microsoft.com/rest/api/azure/devops/pipelines/runs/run-pipeline
"""

from __future__ import annotations

from typing import Any

from .records import (
    _ApiError,
    _bad_null,
    _norm_folder,
    _now,
    _Req,
    _Resp,
)


class PipelinesMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("project", "GET", "pipelines", "_pipelines_list", False),
        ("project", "POST", "pipelines", "_pipeline_create", False),
        ("project", "GET", "pipelines/{p}/runs", "_runs_list", False),
        ("project", "POST", "pipelines/{p}/runs", "_run_create", False),
    )

    def runs(self, project: str) -> dict[int, dict[str, Any]]:
        """Run id -> Run, every pipeline of the project."""
        return self._in_project(project, self._runs, self._run_json)

    def _run_json(self, r: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipelines[r["pipeline_id"]]
        base = f"{self.url}/{r['project_id']}"
        return {
            "_links": {"web": {"href": f"{base}/_build/results?buildId={r['id']}"}},
            "pipeline": {"id": pipeline["id"], "name": pipeline["name"]},
            "state": "inProgress",
            "createdDate": r["createdDate"],
            "url": f"{base}/_apis/pipelines/{pipeline['id']}/runs/{r['id']}",
            "id": r["id"],
            "name": r["name"],
            "resources": {"repositories": {"self": {"refName": r["ref"]}}},
        }

    def _runs_list(self, req: _Req) -> _Resp:
        pipeline = self._need_pipeline(req, req.params["p"])
        items = [r for r in self._runs.values() if r["pipeline_id"] == pipeline["id"]]
        items.sort(key=lambda r: -r["id"])  # newest first
        return self._json(
            200, {"count": len(items), "value": [self._run_json(r) for r in items]}, req.api_version
        )

    def _run_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        pipeline = self._need_pipeline(req, req.params["p"])
        body = req.json() or {}
        ref = (((body.get("resources") or {}).get("repositories") or {}).get("self") or {}).get(
            "refName"
        ) or "refs/heads/main"
        run_id = next(self._next["run"])
        self._runs[run_id] = {
            "id": run_id,
            "project_id": req.project["id"],
            "pipeline_id": pipeline["id"],
            "name": f"{_now()[:10].replace('-', '')}.{run_id}",
            "ref": ref,
            "createdDate": _now(),
        }
        return self._json(200, self._run_json(self._runs[run_id]), req.api_version)

    def pipelines(self, project: str) -> dict[int, dict[str, Any]]:
        """Pipeline id -> Pipeline (with configuration)."""
        return self._in_project(
            project, self._pipelines, lambda d: self._pipeline_json(d, full=True)
        )

    def _need_pipeline(self, req: _Req, key: str | int) -> dict[str, Any]:
        return self._need_in_project(
            req,
            self._pipelines,
            key,
            "DefinitionNotFoundException",
            "Pipeline with id {id} does not exist in project {project}.",
        )

    def _pipeline_json(self, d: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
        base = f"{self.url}/{d['project_id']}"
        url = f"{base}/_apis/pipelines/{d['id']}?revision={d['revision']}"
        out: dict[str, Any] = {
            "_links": {
                "self": {"href": f"{base}/_apis/pipelines/{d['id']}?revision={d['revision']}"},
                "web": {"href": f"{base}/_build/definition?definitionId={d['id']}"},
            },
            "url": url,
            "id": d["id"],
            "revision": d["revision"],
            "name": d["name"],
            "folder": d["folder"],
        }
        # unconfirmed: the list omits configuration (the single GET and the create answer carry it)
        if full:
            out["configuration"] = {
                "path": d["path"],
                "repository": {"id": d["repo_id"], "type": "azureReposGit"},
                "type": "yaml",
            }
        return out

    def _pipelines_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        order = (req.query.get("orderBy") or "name asc").lower().split()
        items = [d for d in self._pipelines.values() if d["project_id"] == req.project["id"]]
        items.sort(
            key=lambda d: d["id"] if order[0] == "id" else (d["name"].lower(), d["folder"]),
            reverse=len(order) > 1 and order[1] == "desc",
        )
        return self._paged(req, [self._pipeline_json(d) for d in items])

    def _check_pipeline_name(self, project: dict[str, Any], name: str, folder: str) -> None:
        for d in self._pipelines.values():
            if (
                d["project_id"] == project["id"]
                and d["name"].lower() == name.lower()
                and d["folder"].lower() == folder.lower()
            ):
                # unconfirmed: status in the cloud (400 per the Server 2022 exception mapper)
                raise _ApiError(
                    400,
                    "DefinitionExistsException",
                    f"Build pipeline {name} already exists for project {project['name']}.",
                )

    def _pipeline_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        body = req.json()
        if not isinstance(body, dict):
            raise _bad_null("inputParameters")
        name = (body.get("name") or "").strip()
        if not name:
            raise _bad_null("Name")
        config = body.get("configuration")
        if not isinstance(config, dict):
            raise _bad_null("Configuration")
        ctype = str(config.get("type") or "unknown")
        if ctype.lower() != "yaml":
            pretty = {"designerjson": "DesignerJson", "justintime": "JustInTime"}.get(
                ctype.lower(), ctype[:1].upper() + ctype[1:]
            )
            raise _ApiError(
                400,
                "UnsupportedConfigurationTypeException",
                f"This API does not support creating pipelines of configuration type {pretty}.",
            )
        path = config.get("path")
        if not path:
            raise _bad_null("Path")
        repo_ref = config.get("repository") or {}
        if not repo_ref.get("id") and not repo_ref.get("name"):
            raise _bad_null("Repository")
        repo = self._need_repo(req.project, repo_ref.get("id") or repo_ref.get("name"))
        folder = _norm_folder(body.get("folder"))
        self._check_pipeline_name(req.project, name, folder)
        pid = next(self._next["pipeline"])
        self._pipelines[pid] = {
            "id": pid,
            "project_id": req.project["id"],
            "name": name,
            "folder": folder,  # unconfirmed: missing folders are created implicitly
            "revision": 1,
            "path": path if path.startswith("/") else f"/{path}",
            "repo_id": repo["id"],
            "createdDate": _now(),
        }
        return self._json(
            200, self._pipeline_json(self._pipelines[pid], full=True), req.api_version
        )
