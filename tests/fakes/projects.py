"""The Azure DevOps double's projects, their creation operations and the processes.

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/core/projects/get
- https://learn.microsoft.com/rest/api/azure/devops/core/projects/create
- https://learn.microsoft.com/rest/api/azure/devops/operations/operations/get
- https://learn.microsoft.com/rest/api/azure/devops/core/processes/list
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from .records import (
    _ApiError,
    _now,
    _Req,
    _Resp,
)

PROCESSES = [  # core/processes/list: the four system processes
    ("b8a3a935-7e91-48b8-a94c-606d37c3e9f2", "Basic", True),
    ("adcc42ab-9882-485e-a3ed-7678f01f66bc", "Agile", False),
    ("6b724908-ef14-45cf-84f8-768b5384da45", "Scrum", False),
    ("27450541-8e31-4150-9947-dc59f998fc01", "CMMI", False),
]


class ProjectsMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("org", "POST", "projects", "_projects_create", False),
        ("org", "GET", "projects/{p}", "_project_get", False),
        ("org", "GET", "operations/{id}", "_operation_get", False),
        ("org", "GET", "process/processes", "_processes", False),
    )

    def add_project(self, name: str, *, description: str = "") -> dict[str, Any]:
        """A wellFormed project holding an empty git repo named like it; returns TeamProject."""
        with self._lock:
            if self._find_project(name):
                raise ValueError(f"project {name!r} exists")
            project = self._create_project(name, description, "private", PROCESSES[0][0])
            return self._project_json(project, full=True)

    def add_pending_project(self, name: str, *, reads: int = 3) -> None:
        """A project whose creation was queued: ``createPending`` for ``reads`` project GETs.

        Until then its repository, environments and the rest do not exist (TF200016);
        its creation operation is unknown to the caller (as after an interrupted run).
        """
        op_id = str(uuid.uuid4())
        with self._lock:
            self._operations[op_id] = {
                "id": op_id, "name": name, "description": "", "visibility": "private",
                "process_id": PROCESSES[0][0], "polls": 0, "needed": reads, "done": False,
            }  # fmt: skip

    def projects(self) -> dict[str, dict[str, Any]]:
        """Project name -> TeamProject (with capabilities)."""
        with self._lock:
            return {p["name"]: self._project_json(p, full=True) for p in self._projects.values()}

    def _create_project(
        self, name: str, description: str, visibility: str, process_id: str
    ) -> dict[str, Any]:
        project = {
            "id": str(uuid.uuid4()),
            "name": name,
            "description": description,
            "visibility": visibility,
            "process_id": process_id,
            "revision": next(self._ids) + 400,
            "lastUpdateTime": _now(),
            "team_id": str(uuid.uuid4()),
        }
        self._projects[project["id"]] = project
        self._create_repo(project, name)  # : a new project holds a repo named like it
        return project

    def _project_json(self, p: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
        url = f"{self.url}/_apis/projects/{p['id']}"
        out: dict[str, Any] = {
            "id": p["id"],
            "name": p["name"],
            "description": p["description"],
            "url": url,
            "state": "wellFormed",
            "revision": p["revision"],
            "visibility": p["visibility"],
            "lastUpdateTime": p["lastUpdateTime"],
        }
        if full:
            out["_links"] = {
                "self": {"href": url},
                "collection": {"href": f"{self.url}/_apis/projectCollections/{self.instance_id}"},
                "web": {"href": f"{self.url}/{quote(p['name'])}"},
            }
            out["defaultTeam"] = {
                "id": p["team_id"],
                "name": f"{p['name']} Team",
                "url": f"{url}/teams/{p['team_id']}",
            }
            process_name = next(n for i, n, _ in PROCESSES if i == p["process_id"])
            out["capabilities"] = {
                "processTemplate": {
                    "templateName": process_name,
                    "templateTypeId": p["process_id"],
                },
                "versioncontrol": {
                    "sourceControlType": "Git",
                    "gitEnabled": "True",
                    "tfvcEnabled": "False",
                },
            }
        return out

    def _pending_project(self, key: str) -> dict[str, Any] | None:
        """A project being created, as Projects - Get shows it (state createPending)."""
        with self._lock:
            op = next(
                (o for o in self._operations.values()
                 if not o["done"] and o["name"].lower() == key.lower()),
                None,
            )  # fmt: skip
            if op is None:
                return None
            op["polls"] += 1
            if op["polls"] >= op["needed"]:
                self._finish_operation(op)
                return None
        return {"id": op["id"], "name": op["name"], "state": "createPending", "revision": 0,
                "visibility": op["visibility"]}  # fmt: skip

    def _project_get(self, req: _Req) -> _Resp:
        pending = self._pending_project(req.params["p"])
        if pending is not None:
            return self._json(200, pending, req.api_version)
        project = self._find_project(req.params["p"])
        if project is None:
            raise _ApiError(
                404,
                "ProjectDoesNotExistWithNameException",
                f"TF200016: The following project does not exist: {req.params['p']}. Verify that "
                "the name of the project is correct and that the project exists on the specified "
                "Azure DevOps Server.",
            )
        out = self._project_json(project, full=True)
        if (req.query.get("includeCapabilities") or "").lower() != "true":
            out.pop("capabilities")
        return self._json(200, out, req.api_version)

    def _projects_create(self, req: _Req) -> _Resp:
        body = req.json() or {}
        name = (body.get("name") or "").strip()
        caps = body.get("capabilities") or {}
        process_id = str(((caps.get("processTemplate") or {}).get("templateTypeId")) or "").lower()
        scm = (caps.get("versioncontrol") or {}).get("sourceControlType")
        # unconfirmed: the exact validation; Azure refuses a body without these capabilities
        if not name or not scm or not process_id:
            raise _ApiError(
                400,
                "ProjectBadRequestException",
                "The project information supplied to project create is not valid. You must "
                "provide all and only these properties/capabilities: name, description, "
                "visibility, capabilities.versioncontrol.sourceControlType, "
                "capabilities.processTemplate.templateTypeId.",
            )
        if process_id not in {i for i, _, _ in PROCESSES}:
            raise _ApiError(
                400,
                "ProcessTemplateNotFoundException",  # unconfirmed:
                f"The process template {process_id} does not exist.",
            )
        pending = {o["name"].lower() for o in self._operations.values() if not o["done"]}
        if self._find_project(name) or name.lower() in pending:
            # unconfirmed: the status of a duplicate project; 409 is the reasonable one
            raise _ApiError(
                409,
                "ProjectAlreadyExistsException",
                f"TF200019: The following project already exists on the Azure DevOps Server: "
                f"{name}. Project names must be unique in a collection.",
            )
        op_id = str(uuid.uuid4())
        operation = {
            "id": op_id,
            "name": name,
            "description": body.get("description") or "",
            "visibility": body.get("visibility") or "private",
            "process_id": process_id,
            "polls": 0,
            "needed": self.project_operation_polls,
            "done": False,
        }
        self._operations[op_id] = operation
        if operation["needed"] <= 0:
            self._finish_operation(operation)
        url = f"{self.url}/_apis/operations/{op_id}"
        status = "succeeded" if operation["done"] else "notSet"
        return self._json(202, {"id": op_id, "status": status, "url": url}, req.api_version)

    def _finish_operation(self, operation: dict[str, Any]) -> None:
        operation["done"] = True
        project = self._create_project(
            operation["name"],
            operation["description"],
            operation["visibility"],
            operation["process_id"],
        )
        operation["project_id"] = project["id"]

    def _operation_get(self, req: _Req) -> _Resp:
        op = self._operations.get(req.params["id"].lower())
        if op is None:
            raise _ApiError(
                404,
                "OperationNotFoundException",
                f"The operation with id {req.params['id']} does not exist.",
            )
        if not op["done"]:
            op["polls"] += 1
            if op["polls"] >= op["needed"]:
                self._finish_operation(op)
        url = f"{self.url}/_apis/operations/{op['id']}"
        out = {
            "id": op["id"],
            "status": "succeeded" if op["done"] else "inProgress",
            "url": url,
            "_links": {"self": {"href": url}},
        }
        if op["done"]:
            out["resultMessage"] = None
        return self._json(200, out, req.api_version)

    def _processes(self, req: _Req) -> _Resp:
        items = [
            {
                "id": pid,
                "description": f"This template is the {name} process.",
                "isDefault": default,
                "type": "system",
                "url": f"{self.url}/_apis/process/processes/{pid}",
                "name": name,
            }
            for pid, name, default in PROCESSES
        ]
        return self._json(200, self._list(items), req.api_version)
