"""A loopback double of Azure DevOps Services (one organization) for provisioning tests.

Faithful to ``/work/shared/reference/azure-devops-rest.md`` (cited below as §n): PAT auth (§1.6),
api-version rules (§1.2), the ``{count, value}`` envelope and the error body (§1.4), continuation
tokens (§1.5), the resources of §2-§8 and the route table of §11.2. Git smart HTTP goes through
``git http-backend`` (§11.3, see :mod:`git_http`).

Usage::

    with FakeAzureDevOps(tmp_path, pat="secret") as fake:
        fake.add_project("Demo")
        requests.get(f"{fake.url}/_apis/projects/Demo?api-version=7.1", auth=("", "secret"))

State accessors return deep copies of the stored records rendered like the REST API renders them
(plus the stored secrets for variable groups), keyed as documented on each method.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hmac
import itertools
import json
import re
import shutil
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from . import git_http

# ---------------------------------------------------------------------------------------------
# Constants from the reference
# ---------------------------------------------------------------------------------------------

PROCESSES = [  # §2.2
    ("b8a3a935-7e91-48b8-a94c-606d37c3e9f2", "Basic", True),
    ("adcc42ab-9882-485e-a3ed-7678f01f66bc", "Agile", False),
    ("6b724908-ef14-45cf-84f8-768b5384da45", "Scrum", False),
    ("27450541-8e31-4150-9947-dc59f998fc01", "CMMI", False),
]
CHECK_TYPES = {  # §5.2
    "8c6f20a7-a545-4486-9777-f762fafe0d4d": "Approval",
    "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7": "Task Check",
    "2ef31ad6-baa0-403a-8b45-2cbc9b4e5563": "ExclusiveLock",
    "4020e66e-b0f3-47e1-bc88-48f3cc59b5f3": "ExtendsCheck",
}
MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
POLICY_TYPES = {  # §8
    MIN_REVIEWERS: "Minimum number of reviewers",
    "0609b952-1397-4640-95ec-e00a01b2c241": "Build",
    "fd2167ab-b0be-447a-8ec8-39368250530e": "Required reviewers",
    "40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e": "Work item linking",
    "fa4e907d-c16b-4a4c-9dfa-4916e5d171ab": "Require a merge strategy",
    "c6a1889d-b943-4856-b76f-9e46bb6b0df2": "Comment requirements",
    "cbdc66da-9728-4af8-aada-9a5a32e4a226": "Status",
}
# A blocking, enabled policy of one of these types on a ref makes direct pushes to it fail with
# TF402455 (§3.5). The brief names Minimum reviewers; Azure Repos does the same for every
# "require a pull request" branch policy. ❓ (only Minimum reviewers is attested) — kept to it.
PUSH_BLOCKING_POLICY_TYPES = {MIN_REVIEWERS}
TF402455 = (
    "TF402455: Pushes to this branch are not permitted; "
    "you must use a pull request to update this branch."
)
AZURE_DEVOPS_APP_ID = "499b84ac-1321-427f-aa17-267ca6975798"  # for the WIF subject (§7.1)
LATEST_API_VERSION = (7, 2)
SECRET_ENDPOINT_PARAMETERS = {"serviceprincipalkey", "password", "apitoken", "accesstoken"}

_SE_NS = "Microsoft.VisualStudio.Services.ServiceEndpoints.WebApi"
TYPE_NAMES = {  # typeKey -> (namespace, assembly) for the typeName of the error body
    "ProjectDoesNotExistWithNameException": "Microsoft.TeamFoundation.Core.WebApi",
    "ProjectDoesNotExistException": "Microsoft.TeamFoundation.Core.WebApi",
    "ProjectAlreadyExistsException": "Microsoft.TeamFoundation.Core.WebApi",
    "ProjectBadRequestException": "Microsoft.TeamFoundation.Core.WebApi",
    "GitRepositoryNotFoundException": "Microsoft.TeamFoundation.SourceControl.WebServer",
    "GitRepositoryNameAlreadyExistsException": "Microsoft.TeamFoundation.SourceControl.WebServer",
    "DefinitionExistsException": "Microsoft.TeamFoundation.Build.WebApi",
    "DefinitionNotFoundException": "Microsoft.TeamFoundation.Build.WebApi",
    "UnsupportedConfigurationTypeException": "Microsoft.Azure.Pipelines.WebApi",
    "PipelineValidationException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "EnvironmentExistsException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "EnvironmentNotFoundException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "VariableGroupExistsException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "VariableGroupNotFoundException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "DuplicateServiceConnectionException": _SE_NS,
    "ServiceEndpointNotFoundException": _SE_NS,
    "PolicyConfigurationNotFoundException": "Microsoft.TeamFoundation.Policy.WebApi",
    "PolicyTypeNotFoundException": "Microsoft.TeamFoundation.Policy.WebApi",
    "CheckConfigurationNotFoundException": "Microsoft.Azure.Pipelines.Checks.WebApi",
    "ResourceNotFoundException": "Microsoft.Azure.Pipelines.Authorization.WebApi",
}


def _type_name(type_key: str) -> str:
    ns = TYPE_NAMES.get(type_key, "Microsoft.VisualStudio.Services.WebApi")
    return f"{ns}.{type_key}, {ns}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------------------------------------
# Public records
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Recorded:
    """One request as the double received it.

    ``path`` is the %-decoded URL path, ``query`` the last value of each query parameter,
    ``headers`` every request header except ``Authorization``, ``body`` the (de-chunked) body,
    ``status`` the status the double answered. ``is_write``: any non-GET/HEAD request except
    ``POST …/git-upload-pack`` (a fetch) and ``POST …/preview`` (a dry run).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int
    is_write: bool

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


@dataclasses.dataclass
class _Fault:
    status: int
    times: int
    method: str | None
    path_contains: str | None
    retry_after: float | None
    apply_first: bool
    skip: int
    drop: bool = False  # close the connection instead of answering
    delay: float = 0.0  # seconds to wait before answering

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path_contains or self.path_contains.lower() in path.lower()


@dataclasses.dataclass
class _Resp:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    authenticated: bool = True
    drop: bool = False
    delay: float = 0.0


class _ApiError(Exception):
    def __init__(self, status: int, type_key: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type_key, self.message = status, type_key, message


@dataclasses.dataclass
class _Req:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    body: bytes
    params: dict[str, str]
    api_version: str
    project: dict[str, Any] | None = None

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise _ApiError(
                400, "VssRequestContentException", f"The request body is not valid JSON: {exc}"
            ) from None


def _bad_null(param: str) -> _ApiError:
    return _ApiError(400, "ArgumentNullException", f"Value cannot be null. Parameter name: {param}")


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else re.escape(c) for c in pattern), re.IGNORECASE | re.DOTALL
    )


def _norm_folder(folder: str | None) -> str:
    folder = (folder or "\\").replace("/", "\\")
    if not folder.startswith("\\"):
        folder = "\\" + folder
    return folder.rstrip("\\") or "\\"


# ---------------------------------------------------------------------------------------------
# The double
# ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeAzureDevOps


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAzureDevOps/1.0"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    timeout = 30  # idle keep-alive connections end after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


Route = tuple[str, str, tuple[str, ...], Callable[[_Req], _Resp], bool]


class FakeAzureDevOps:
    """Azure DevOps Services on ``127.0.0.1`` for one organization; see the module docstring.

    The socket is bound in ``__init__`` (so :attr:`url` is known before :meth:`start`);
    :meth:`start` serves it from a daemon thread, :meth:`stop` closes it.
    Bare repositories live under ``root/repos/{projectId}/_git/{repositoryId}``.

    ``project_operation_polls`` (default 3, read at POST time): the POST answers ``notSet``;
    GET number n of the operation answers ``inProgress`` while n < polls and ``succeeded`` from
    then on, which is when the project (and its default repo) appears. 0: created at POST.

    Extras beyond the brief: ``runs(project)``, ``complete_run(run_id, result)``,
    ``all_pipelines_permissions(project)``, ``POST …/pushes``, ``POST build/definitions``,
    ``DELETE _apis/projects/{id}``, ``DELETE _apis/serviceendpoint/endpoints/{id}``,
    batch ``PATCH pipelines/pipelinepermissions``, ``Recorded.json()``.
    """

    def __init__(self, root: Path, *, pat: str, organization: str = "contoso") -> None:
        self.root = Path(root)
        self.repos_root = self.root / "repos"
        self.repos_root.mkdir(parents=True, exist_ok=True)
        self.organization = organization
        self._pat = pat
        self.owner_id = str(uuid.uuid4())
        self.owner_email = "owner@example.com"
        self.owner_display_name = "Project Owner"
        self.instance_id = str(uuid.uuid4())  # the organization (collection) id
        self.project_operation_polls = 3
        self.latency = 0.0
        self._lock = threading.RLock()
        self._ids = itertools.count(1)  # one counter per int-id kind, below
        self._next = {k: itertools.count(1) for k in ("pipeline", "env", "vg", "check", "policy")}
        self._next["run"] = itertools.count(1)
        self._next["queue"] = itertools.count(11)
        self._projects: dict[str, dict[str, Any]] = {}
        self._operations: dict[str, dict[str, Any]] = {}
        self._repos: dict[str, dict[str, Any]] = {}
        self._pipelines: dict[int, dict[str, Any]] = {}
        self._runs: dict[int, dict[str, Any]] = {}
        self._envs: dict[int, dict[str, Any]] = {}
        self._checks: dict[int, dict[str, Any]] = {}
        self._vgs: dict[int, dict[str, Any]] = {}
        self._endpoints: dict[str, dict[str, Any]] = {}
        self._policies: dict[int, dict[str, Any]] = {}
        self._permissions: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._identities: dict[str, dict[str, Any]] = {}
        self._requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        self._stale: list[str] = []
        self._received: list[float] = []
        self._retry_after_ok: list[float] = []
        self._identities[self.owner_id] = {
            "id": self.owner_id,
            "email": self.owner_email,
            "displayName": self.owner_display_name,
        }
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self._routes = self._route_table()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The REST base and the git base: ``http://127.0.0.1:{port}/{organization}``."""
        return f"http://127.0.0.1:{self.port}/{self.organization}"

    @property
    def identity_url(self) -> str:
        """The identities (vssps) base: ``http://127.0.0.1:{port}/_vssps/{organization}``."""
        return f"http://127.0.0.1:{self.port}/_vssps/{self.organization}"

    def start(self) -> FakeAzureDevOps:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"FakeAzureDevOps:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeAzureDevOps:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- seeding (not recorded) ------------------------------------------------------------------

    def add_project(self, name: str, *, description: str = "") -> dict[str, Any]:
        """A wellFormed project holding an empty git repo named like it; returns TeamProject."""
        with self._lock:
            if self._find_project(name):
                raise ValueError(f"project {name!r} exists")
            project = self._create_project(name, description, "private", PROCESSES[0][0])
            return self._project_json(project, full=True)

    def add_identity(self, email: str, display_name: str | None = None) -> str:
        """An identity found by the identities search (§5.3); returns its id."""
        with self._lock:
            identity_id = str(uuid.uuid4())
            self._identities[identity_id] = {
                "id": identity_id,
                "email": email,
                "displayName": display_name or email.split("@")[0],
            }
            return identity_id

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

    def add_repository(self, project_name: str, name: str) -> dict[str, Any]:
        """An empty repository in the project; returns GitRepository."""
        with self._lock:
            project = self._need_project(project_name)
            if self._find_repo(project, name):
                raise ValueError(f"repository {name!r} exists")
            return self._repo_json(self._create_repo(project, name), full=True)

    # -- state for assertions --------------------------------------------------------------------

    def projects(self) -> dict[str, dict[str, Any]]:
        """Project name -> TeamProject (with capabilities)."""
        with self._lock:
            return {p["name"]: self._project_json(p, full=True) for p in self._projects.values()}

    def _in_project(
        self,
        project: str,
        items: dict[Any, dict[str, Any]],
        render: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        by_name: bool = False,
        shared: bool = False,
    ) -> dict[Any, dict[str, Any]]:
        """The project's items, rendered, keyed by name or by id (a snapshot).

        ``shared``: the item lists its projects in ``project_ids`` (variable groups,
        endpoints) instead of one ``project_id``.
        """
        with self._lock:
            pid = self._need_project(project)["id"]
            return {
                (item["name"] if by_name else key): render(item)
                for key, item in items.items()
                if (pid in item["project_ids"] if shared else item["project_id"] == pid)
            }

    def repositories(self, project: str) -> dict[str, dict[str, Any]]:
        """Repository name -> GitRepository."""
        return self._in_project(
            project, self._repos, lambda r: self._repo_json(r, full=True), by_name=True
        )

    def bare_repo(self, project: str, repo: str) -> Path:
        """The bare repository on disk."""
        with self._lock:
            r = self._find_repo(self._need_project(project), repo)
            if r is None:
                raise KeyError(repo)
            return r["dir"]

    def pipelines(self, project: str) -> dict[int, dict[str, Any]]:
        """Pipeline id -> Pipeline (with configuration)."""
        return self._in_project(
            project, self._pipelines, lambda d: self._pipeline_json(d, full=True)
        )

    def runs(self, project: str) -> dict[int, dict[str, Any]]:
        """Run id -> Run."""
        return self._in_project(project, self._runs, self._run_json)

    def complete_run(self, run_id: int, result: str = "succeeded") -> None:
        """Flip a run to ``state: completed`` with ``result``."""
        with self._lock:
            run = self._runs[run_id]
            run.update(state="completed", result=result, finishedDate=_now())

    def environments(self, project: str) -> dict[str, dict[str, Any]]:
        """Environment name -> EnvironmentInstance."""
        return self._in_project(project, self._envs, self._env_json, by_name=True)

    def checks(self, project: str) -> dict[int, dict[str, Any]]:
        """Check configuration id -> CheckConfiguration (with settings)."""
        return self._in_project(project, self._checks, lambda c: self._check_json(c, settings=True))

    def variable_groups(self, project: str) -> dict[str, dict[str, Any]]:
        """Group name -> VariableGroup with the secret values AS STORED (the real secrets)."""
        return self._in_project(
            project, self._vgs, lambda g: self._vg_json(g, reveal=True), by_name=True, shared=True
        )

    def service_endpoints(self, project: str) -> dict[str, dict[str, Any]]:
        """Endpoint name -> ServiceEndpoint (secret parameters as stored)."""
        return self._in_project(
            project,
            self._endpoints,
            lambda e: self._endpoint_json(e, reveal=True),
            by_name=True,
            shared=True,
        )

    def pipeline_permissions(self, project: str) -> dict[tuple[str, str], dict[int, bool]]:
        """(resource_type, resource_id) -> {pipeline_id: authorized}.

        ``resource_type`` lower case; ``resource_id`` as in the URL (GUIDs lower case, a
        repository as ``{projectId}.{repositoryId}``). "All pipelines" grants are in
        :meth:`all_pipelines_permissions`.
        """
        with self._lock:
            p = self._need_project(project)
            return {
                (t, i): {pid: v["authorized"] for pid, v in d["pipelines"].items()}
                for (proj, t, i), d in self._permissions.items()
                if proj == p["id"]
            }

    def all_pipelines_permissions(self, project: str) -> dict[tuple[str, str], bool]:
        """(resource_type, resource_id) -> the ``allPipelines.authorized`` flag, where set."""
        with self._lock:
            p = self._need_project(project)
            return {
                (t, i): d["allPipelines"]["authorized"]
                for (proj, t, i), d in self._permissions.items()
                if proj == p["id"] and d.get("allPipelines")
            }

    def policies(self, project: str) -> dict[int, dict[str, Any]]:
        """Policy configuration id -> PolicyConfiguration."""
        return self._in_project(project, self._policies, self._policy_json)

    # -- recording ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Every request (REST and git) in arrival order (copies)."""
        with self._lock:
            return [dataclasses.replace(r, query=dict(r.query)) for r in self._requests]

    @property
    def writes(self) -> list[Recorded]:
        """The requests with ``is_write``."""
        return [r for r in self.requests if r.is_write]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: float | None = None,
        apply_first: bool = False,
        skip: int = 0,
        drop: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` matching requests (after ``skip`` matching ones) ``status``.

        Matching: ``method`` (any if None) and ``path_contains`` (case-insensitive substring of
        the decoded path). 429 carries ``Retry-After`` (default 1) and the ``X-RateLimit-*``
        headers. ``apply_first``: perform the request (state changes), then answer the fault.
        ``status`` 0 answers what the request really gets (with ``apply_first``). ``drop``:
        close the connection without an answer (a lost answer); ``delay``: wait that long
        before answering (an answer that comes after the client's timeout).
        Faults are checked after authentication and apply to git smart HTTP too.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    status, times, method, path_contains, retry_after, apply_first, skip, drop,
                    delay,
                )
            )  # fmt: skip

    def stale_lists(self, path_contains: str, times: int = 1) -> None:
        """The next ``times`` matching GETs answer an empty list, as a lagging replica would.

        Azure DevOps reads may lag a write just made ("eventual consistency" of list
        queries is not promised away by the REST reference); this models the worst case.
        """
        with self._lock:
            self._stale.extend([path_contains.lower()] * times)

    @property
    def received_times(self) -> list[float]:
        """When (``time.monotonic()``) each request of :attr:`requests` was received."""
        with self._lock:
            return list(self._received)

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

    def retry_after_on_success(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` 2xx responses carry ``Retry-After: seconds``."""
        with self._lock:
            self._retry_after_ok.extend([seconds] * times)

    # ===========================================================================================
    # HTTP plumbing
    # ===========================================================================================

    def _serve(self, h: _Handler) -> None:
        body = git_http.read_body(h.headers, h.rfile)
        if self.latency:
            time.sleep(self.latency)
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        method = h.command.upper()
        low = path.lower().rstrip("/")
        is_write = method not in ("GET", "HEAD") and not (
            method == "POST" and (low.endswith("/git-upload-pack") or low.endswith("/preview"))
        )
        headers = {k: v for k, v in h.headers.items() if k.lower() != "authorization"}
        record = Recorded(method, path, query, headers, body, 0, is_write)
        with self._lock:
            self._requests.append(record)
            self._received.append(time.monotonic())
        try:
            resp = self._respond(method, split.path, split.query, query, h.headers, body)
        except Exception:  # a bug in the double: answer 500, say where
            traceback.print_exc(file=sys.stderr)
            resp = self._error(500, "VssServiceException", "TF400898: An Internal Error Occurred.")
        with self._lock:
            record.status = resp.status
        if resp.delay:
            time.sleep(resp.delay)
        if resp.drop:
            h.close_connection = True
            return
        h.send_response(resp.status)
        h.send_header("ActivityId", str(uuid.uuid4()))
        if resp.authenticated:
            h.send_header("X-VSS-UserData", f"{self.owner_id}:{self.owner_email}")
        if resp.content_type:
            h.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(resp.body)))
        h.end_headers()
        if method != "HEAD" and resp.body:
            h.wfile.write(resp.body)

    def _respond(
        self, method: str, raw_path: str, raw_query: str, query: dict[str, str], headers: Any,
        body: bytes,
    ) -> _Resp:  # fmt: skip
        segs = [unquote(s) for s in raw_path.split("/")[1:]]
        if segs and segs[-1] == "":
            segs.pop()
        git_target = self._git_target(segs)
        user = self._authenticate(headers)
        if user is None:
            return self._unauthorized(git=git_target is not None, headers=headers)
        fault = self._take_fault(method, unquote(raw_path))
        if fault and not fault.apply_first:
            resp = self._fault_response(fault)
            resp.drop, resp.delay = fault.drop, fault.delay
            return resp
        if git_target is not None:
            resp = self._git(method, git_target, raw_query, headers, body, user)
        else:
            resp = self._rest(method, raw_path, segs, query, headers, body)
        if fault:
            if fault.status:
                resp = self._fault_response(fault)
            resp.drop, resp.delay = fault.drop, fault.delay
            return resp
        if method == "GET" and resp.status == 200:
            resp = self._maybe_stale(unquote(raw_path), resp)
        if 200 <= resp.status < 300:
            with self._lock:
                if self._retry_after_ok:
                    resp.headers.append(("Retry-After", f"{self._retry_after_ok.pop(0):g}"))
        return resp

    def _authenticate(self, headers: Any) -> str | None:
        """The Basic user name if the PAT is right (user ignored), else None."""
        value = headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = (
                base64.b64decode(token.strip(), validate=True).decode().partition(":")
            )
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(password.encode(), self._pat.encode()):
            return None
        return user

    def _unauthorized(self, *, git: bool, headers: Any) -> _Resp:
        suppress = (headers.get("X-TFS-FedAuthRedirect") or "").lower() == "suppress"
        if git or suppress:  # §1.6: 401 + WWW-Authenticate; git always
            return _Resp(
                401,
                b"Access Denied: The Personal Access Token used has expired or is invalid.",
                "text/plain; charset=utf-8",
                [("WWW-Authenticate", 'Basic realm="https://tfsprod.fake/"')],
                authenticated=False,
            )
        page = (
            "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
            "<body><h1>Sign in</h1><p>Sign in to your account to continue.</p></body></html>"
        )
        return _Resp(203, page.encode(), "text/html; charset=utf-8", authenticated=False)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    self._faults = [f for f in self._faults if f.times > 0]
                    return fault
        return None

    def _maybe_stale(self, path: str, resp: _Resp) -> _Resp:
        with self._lock:
            match = next((p for p in self._stale if p in path.lower()), None)
            if match is None:
                return resp
            self._stale.remove(match)
        return self._json(200, self._list([]))

    def _fault_response(self, fault: _Fault) -> _Resp:
        messages = {
            400: ("VssServiceException", "The request is invalid (injected fault)."),
            401: ("UnauthorizedRequestException",
                  "TF400813: The user '' is not authorized to access this resource."),
            403: ("UnauthorizedRequestException",
                  "TF400813: The user is not authorized to access this resource."),
            404: ("NotFoundException", "The resource cannot be found (injected fault)."),
            409: ("ConflictException", "The request conflicts with the server state (injected)."),
            # ❓ typeKey of a rate-limit refusal; the message is §1.7's
            429: ("RequestBlockedException",
                  "TF400733: The request has been canceled: Request was blocked due to exceeding "
                  "usage of resource 'ATCPU' in namespace 'User'."),
        }  # fmt: skip
        type_key, message = messages.get(
            fault.status,
            ("VssServiceException", "TF400898: An Internal Error Occurred (injected fault)."),
        )
        resp = self._error(fault.status, type_key, message)
        retry_after = fault.retry_after
        if fault.status == 429:
            retry_after = 1 if retry_after is None else retry_after
            resp.headers += [
                ("X-RateLimit-Resource", "ATCPU"),
                ("X-RateLimit-Delay", "0.000"),
                ("X-RateLimit-Limit", "200"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(int(time.time() + float(retry_after)))),
            ]
        if fault.status == 401:
            resp.headers.append(("WWW-Authenticate", 'Basic realm="https://tfsprod.fake/"'))
        if retry_after is not None:
            resp.headers.append(("Retry-After", f"{retry_after:g}"))
        return resp

    # -- responses -------------------------------------------------------------------------------

    def _json(self, status: int, obj: Any, api_version: str = "7.1") -> _Resp:
        body = json.dumps(obj).encode()
        return _Resp(status, body, f"application/json; charset=utf-8; api-version={api_version}")

    def _error(self, status: int, type_key: str, message: str) -> _Resp:
        return self._json(
            status,
            {
                "$id": "1",
                "innerException": None,
                "message": message,
                "typeName": _type_name(type_key),
                "typeKey": type_key,
                "errorCode": 0,
                "eventId": 3000,
            },
        )

    def _controller_404(self, raw_path: str) -> _Resp:
        text = (
            f"The controller for path '{raw_path}' was not found or does not implement IController."
        )
        return _Resp(404, text.encode(), "text/plain; charset=utf-8")

    def _list(self, items: list[Any]) -> dict[str, Any]:
        return {"count": len(items), "value": items}

    def _paged(self, req: _Req, items: list[Any]) -> _Resp:
        """``$top`` + ``continuationToken`` (an opaque offset); next in x-ms-continuationtoken."""
        try:
            start = int(req.query.get("continuationToken") or 0)
            top = int(req.query["$top"]) if req.query.get("$top") else None
        except ValueError:
            raise _ApiError(
                400, "InvalidArgumentValueException", "The continuation token or $top is invalid."
            ) from None
        page = items[start:] if top is None else items[start : start + top]
        resp = self._json(200, self._list(page), req.api_version)
        if top is not None and start + top < len(items):
            resp.headers.append(("x-ms-continuationtoken", str(start + top)))
        return resp

    # ===========================================================================================
    # REST dispatch
    # ===========================================================================================

    def _route_table(self) -> list[Route]:
        """(scope, method, pattern, handler, preview_only); scope org|project|identity."""
        r: list[Route] = []

        def add(scope: str, method: str, pattern: str, fn: Callable[[_Req], _Resp],
                preview: bool = False) -> None:  # fmt: skip
            r.append((scope, method, tuple(pattern.split("/")), fn, preview))

        add("org", "GET", "connectiondata", self._connection_data, True)
        add("org", "GET", "projects", self._projects_list)
        add("org", "POST", "projects", self._projects_create)
        add("org", "GET", "projects/{p}", self._project_get)
        add("org", "DELETE", "projects/{p}", self._project_delete)
        add("org", "GET", "operations/{id}", self._operation_get)
        add("org", "GET", "process/processes", self._processes)
        add("org", "POST", "distributedtask/variablegroups", self._vg_create)
        add("org", "PUT", "distributedtask/variablegroups/{id}", self._vg_update)
        add("org", "DELETE", "distributedtask/variablegroups/{id}", self._vg_delete)
        add("org", "POST", "serviceendpoint/endpoints", self._endpoint_create)
        add("org", "GET", "serviceendpoint/endpoints/{id}", self._endpoint_get)
        add("org", "DELETE", "serviceendpoint/endpoints/{id}", self._endpoint_delete)
        add("identity", "GET", "identities", self._identities_search)
        add("project", "GET", "git/repositories", self._repos_list)
        add("project", "POST", "git/repositories", self._repo_create)
        add("project", "GET", "git/repositories/{r}", self._repo_get)
        add("project", "PATCH", "git/repositories/{r}", self._repo_update)
        add("project", "DELETE", "git/repositories/{r}", self._repo_delete)
        add("project", "GET", "git/repositories/{r}/refs", self._refs)
        add("project", "POST", "git/repositories/{r}/pushes", self._push_api)
        add("project", "GET", "git/policy/configurations", self._git_policies_list)
        add("project", "GET", "pipelines", self._pipelines_list)
        add("project", "POST", "pipelines", self._pipeline_create)
        add("project", "GET", "pipelines/{id}", self._pipeline_get)
        add("project", "GET", "pipelines/{id}/runs", self._runs_list)
        add("project", "POST", "pipelines/{id}/runs", self._run_create)
        add("project", "GET", "pipelines/{id}/runs/{run}", self._run_get)
        add("project", "POST", "pipelines/{id}/preview", self._preview)
        add("project", "GET", "build/definitions", self._build_definitions)
        add("project", "POST", "build/definitions", self._build_definition_create)
        add("project", "GET", "distributedtask/queues", self._queues)
        add("project", "GET", "distributedtask/environments", self._envs_list)
        add("project", "POST", "distributedtask/environments", self._env_create)
        add("project", "GET", "distributedtask/environments/{id}", self._env_get)
        add("project", "PATCH", "distributedtask/environments/{id}", self._env_update)
        add("project", "DELETE", "distributedtask/environments/{id}", self._env_delete)
        for method, fn in (("GET", self._checks_list), ("POST", self._check_create)):
            add("project", method, "pipelines/checks/configurations", fn, True)
        for method, fn in (
            ("GET", self._check_get),
            ("PATCH", self._check_update),
            ("DELETE", self._check_delete),
        ):
            add("project", method, "pipelines/checks/configurations/{id}", fn, True)
        add("project", "GET", "distributedtask/variablegroups", self._vgs_list)
        add("project", "GET", "distributedtask/variablegroups/{id}", self._vg_get)
        for method in ("GET", "PATCH"):
            add("project", method, "pipelines/pipelinepermissions/{type}/{id}",
                self._permissions_route, True)  # fmt: skip
        add("project", "PATCH", "pipelines/pipelinepermissions", self._permissions_batch, True)
        add("project", "GET", "serviceendpoint/endpoints", self._endpoints_list)
        add("project", "POST", "serviceendpoint/endpoints", self._endpoints_refresh)
        add("project", "GET", "serviceendpoint/endpoints/{id}", self._endpoint_get)
        add("project", "GET", "policy/configurations", self._policies_list)
        add("project", "POST", "policy/configurations", self._policy_create)
        add("project", "GET", "policy/configurations/{id}", self._policy_get)
        add("project", "PUT", "policy/configurations/{id}", self._policy_update)
        add("project", "DELETE", "policy/configurations/{id}", self._policy_delete)
        return r

    def _api_version(self, query: dict[str, str], headers: Any) -> str | None:
        if query.get("api-version"):
            return query["api-version"]
        m = re.search(r"api-version\s*=\s*([^;,\s]+)", headers.get("Accept") or "", re.IGNORECASE)
        return m.group(1) if m else None

    def _rest(
        self, method: str, raw_path: str, segs: list[str], query: dict[str, str], headers: Any,
        body: bytes,
    ) -> _Resp:  # fmt: skip
        org = self.organization.lower()
        if len(segs) >= 3 and segs[0].lower() == "_vssps" and segs[1].lower() == org:
            rest, scope = segs[2:], "identity"
        elif segs and segs[0].lower() == org:
            rest, scope = segs[1:], "org"
        else:
            return self._controller_404(raw_path)
        project_seg = None
        if rest and rest[0].lower() == "_apis":
            apis = rest[1:]
        elif scope == "org" and len(rest) >= 2 and rest[1].lower() == "_apis":
            project_seg, apis, scope = rest[0], rest[2:], "project"
        else:
            return self._controller_404(raw_path)
        lowered = [s.lower() for s in apis]
        best: list[tuple[Route, dict[str, str]]] = []
        best_score = -1
        for route in self._routes:
            r_scope, _, pattern, _, _ = route
            if r_scope != scope or len(pattern) != len(apis):
                continue
            params: dict[str, str] = {}
            score = 0
            for pat, seg, low in zip(pattern, apis, lowered, strict=True):
                if pat.startswith("{"):
                    params[pat[1:-1]] = seg
                elif pat == low:
                    score += 1
                else:
                    break
            else:
                if score > best_score:
                    best, best_score = [(route, params)], score
                elif score == best_score:
                    best.append((route, params))
        if not best:
            return self._controller_404(raw_path)
        chosen = [
            (rt, p) for rt, p in best if rt[1] == method or (method == "HEAD" and rt[1] == "GET")
        ]
        if not chosen:
            return self._error(
                405,
                "VssMethodNotAllowedException",  # ❓ typeKey
                f"The requested resource does not support http method '{method}'.",
            )
        (route, params) = chosen[0]
        _, _, _, handler, preview_only = route
        version = self._api_version(query, headers)
        with self._lock:
            try:
                if version is None:
                    if method not in ("GET", "HEAD"):
                        raise _ApiError(
                            400,
                            "VssVersionNotSpecifiedException",
                            f'No api-version was supplied for the "{method}" request. The version '
                            "must be supplied either as part of the Accept header (e.g. "
                            '"application/json; api-version=1.0") or as a query parameter '
                            '(e.g. "?api-version=1.0").',
                        )
                    # ❓ a GET without a version gets the latest version (preview-only too)
                    version = "7.1-preview.1" if preview_only else "7.1"
                self._check_version(version, preview_only)
                req = _Req(method, raw_path, query, headers, body, params, version)
                if project_seg is not None:
                    req.project = self._need_project(project_seg)
                resp = handler(req)
            except _ApiError as err:
                resp = self._error(err.status, err.type_key, err.message)
        if method == "HEAD":
            resp.body = b""
        return resp

    def _check_version(self, version: str, preview_only: bool) -> None:
        m = re.fullmatch(r"(\d+)\.(\d+)(-preview(\.\d+)?)?", version.strip(), re.IGNORECASE)
        if not m:
            raise _ApiError(
                400,
                "VssInvalidApiVersionException",  # ❓ typeKey
                f"The api-version '{version}' is not valid.",
            )
        if (int(m.group(1)), int(m.group(2))) > LATEST_API_VERSION:
            raise _ApiError(
                400,
                "VssVersionOutOfRangeException",
                f"The requested REST API version of {m.group(1)}.{m.group(2)} is out of range for "
                "this server. The latest REST API version this server supports is 7.2.",
            )
        if preview_only and not m.group(3):
            raise _ApiError(
                400,
                "VssInvalidPreviewVersionException",
                f'The requested version "{version}" of the resource is under preview. The -preview'
                " flag must be supplied in the api-version for such requests. For example: "
                f'"{version}-preview"',
            )

    # -- lookups (caller holds the lock) ---------------------------------------------------------

    def _find_project(self, key: str) -> dict[str, Any] | None:
        low = key.lower()
        for p in self._projects.values():
            if p["id"] == low or p["name"].lower() == low:
                return p
        return None

    def _need_project(self, key: str) -> dict[str, Any]:
        project = self._find_project(key)
        if project is None:
            raise _ApiError(
                404,
                "ProjectDoesNotExistWithNameException",
                f"TF200016: The following project does not exist: {key}. Verify that the name of "
                "the project is correct and that the project exists on the specified Azure DevOps "
                "Server.",
            )
        return project

    def _find_repo(self, project: dict[str, Any], key: str) -> dict[str, Any] | None:
        low = key.lower()
        for r in self._repos.values():
            if r["project_id"] == project["id"] and (r["id"] == low or r["name"].lower() == low):
                return r
        return None

    def _need_repo(self, project: dict[str, Any], key: str) -> dict[str, Any]:
        repo = self._find_repo(project, key)
        if repo is None:
            raise _ApiError(
                404,
                "GitRepositoryNotFoundException",
                f"TF401019: The Git repository with name or identifier {key} does not exist or you "
                "do not have permissions for the operation you are attempting.",
            )
        return repo

    def _int_id(self, value: Any, type_key: str, what: str) -> int:
        try:
            return int(str(value))
        except ValueError:
            raise _ApiError(404, type_key, f"{what} {value} not found.") from None

    def _need_in_project(
        self, req: _Req, items: dict[int, dict[str, Any]], key: Any, type_key: str, message: str
    ) -> dict[str, Any]:
        """The project's item ``key`` (an int id) of ``items``; else 404 ``message``.

        ``message`` may use ``{id}`` and ``{project}``.
        """
        assert req.project is not None
        item_id = self._int_id(key, type_key, type_key.removesuffix("NotFoundException"))
        item = items.get(item_id)
        if item is None or item["project_id"] != req.project["id"]:
            raise _ApiError(404, type_key, message.format(id=item_id, project=req.project["name"]))
        return item

    def _identity_ref(self, identity_id: str | None = None) -> dict[str, Any]:
        ident = self._identities[identity_id or self.owner_id]
        return {
            "displayName": ident["displayName"],
            "url": f"{self.identity_url}/_apis/Identities/{ident['id']}",
            "id": ident["id"],
            "uniqueName": ident["email"],
            "descriptor": f"aad.{base64.b64encode(ident['id'].encode()).decode().rstrip('=')}",
        }

    # -- connectionData, identities --------------------------------------------------------------

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

    # -- projects, operations, processes ---------------------------------------------------------

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
            "queue_id": next(self._next["queue"]),
            "team_id": str(uuid.uuid4()),
        }
        self._projects[project["id"]] = project
        self._create_repo(project, name)  # §2.2: a new project holds a repo named like it
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

    def _projects_list(self, req: _Req) -> _Resp:
        items = sorted(self._projects.values(), key=lambda p: p["name"].lower())
        return self._paged(req, [self._project_json(p) for p in items])

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

    def _project_delete(self, req: _Req) -> _Resp:
        """202 + an operation that has already succeeded (tests only, §2.2)."""
        project = self._need_project(req.params["p"])
        pid = project["id"]
        for repo in [r for r in self._repos.values() if r["project_id"] == pid]:
            del self._repos[repo["id"]]
        shutil.rmtree(self.repos_root / pid, ignore_errors=True)
        for store in (self._pipelines, self._runs, self._envs, self._checks, self._policies):
            for key in [k for k, v in store.items() if v["project_id"] == pid]:
                del store[key]
        for key in [k for k in self._permissions if k[0] == pid]:
            del self._permissions[key]
        for store in (self._vgs, self._endpoints):
            for key, value in list(store.items()):
                value["refs"] = [r for r in value["refs"] if r["project_id"] != pid]
                value["project_ids"].discard(pid)
                if not value["refs"]:
                    del store[key]
        del self._projects[pid]
        op_id = str(uuid.uuid4())
        self._operations[op_id] = {"id": op_id, "name": project["name"], "done": True}
        url = f"{self.url}/_apis/operations/{op_id}"
        return self._json(202, {"id": op_id, "status": "succeeded", "url": url}, req.api_version)

    def _projects_create(self, req: _Req) -> _Resp:
        body = req.json() or {}
        name = (body.get("name") or "").strip()
        caps = body.get("capabilities") or {}
        process_id = str(((caps.get("processTemplate") or {}).get("templateTypeId")) or "").lower()
        scm = (caps.get("versioncontrol") or {}).get("sourceControlType")
        # ❓ the exact validation; Azure refuses a body without these capabilities
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
                "ProcessTemplateNotFoundException",  # ❓
                f"The process template {process_id} does not exist.",
            )
        pending = {o["name"].lower() for o in self._operations.values() if not o["done"]}
        if self._find_project(name) or name.lower() in pending:
            # ❓ the status of a duplicate project; 409 is the reasonable one
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

    # -- git repositories ------------------------------------------------------------------------

    def _create_repo(self, project: dict[str, Any], name: str) -> dict[str, Any]:
        repo_id = str(uuid.uuid4())
        repo_dir = self.repos_root / project["id"] / "_git" / repo_id
        git_http.init_bare(repo_dir)
        repo = {
            "id": repo_id,
            "name": name,
            "project_id": project["id"],
            "defaultBranch": None,
            "dir": repo_dir,
        }
        self._repos[repo_id] = repo
        return repo

    def _repo_json(self, r: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
        p = self._projects[r["project_id"]]
        host = f"127.0.0.1:{self.port}"
        path = f"{quote(self.organization)}/{quote(p['name'])}/_git/{quote(r['name'])}"
        url = f"{self.url}/{p['id']}/_apis/git/repositories/{r['id']}"
        out: dict[str, Any] = {
            "id": r["id"],
            "name": r["name"],
            "url": url,
            "project": {
                "id": p["id"],
                "name": p["name"],
                "url": f"{self.url}/_apis/projects/{p['id']}",
                "state": "wellFormed",
                "revision": p["revision"],
                "visibility": p["visibility"],
                "lastUpdateTime": p["lastUpdateTime"],
            },
        }
        if r["defaultBranch"]:  # absent on an empty repo (§3.1)
            out["defaultBranch"] = r["defaultBranch"]
        out.update(
            size=0,
            remoteUrl=f"http://{quote(self.organization)}@{host}/{path}",
            sshUrl=f"git@ssh.127.0.0.1:v3/{self.organization}/{quote(p['name'])}/{quote(r['name'])}",
            webUrl=f"http://{host}/{path}",
            isDisabled=False,
            isInMaintenance=False,
        )
        if full:
            out["_links"] = {
                "self": {"href": url},
                "project": {"href": out["project"]["url"]},
                "web": {"href": out["webUrl"]},
                "refs": {"href": f"{url}/refs"},
            }
        return out

    def _repos_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        items = [
            self._repo_json(r)
            for r in sorted(self._repos.values(), key=lambda r: r["name"].lower())
            if r["project_id"] == req.project["id"]
        ]
        return self._json(200, self._list(items), req.api_version)

    def _repo_get(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        return self._json(200, self._repo_json(repo, full=True), req.api_version)

    def _repo_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        body = req.json() or {}
        name = (body.get("name") or "").strip()
        if not name:
            raise _bad_null("name")
        project_ref = (body.get("project") or {}).get("id")
        project = self._need_project(project_ref) if project_ref else req.project
        if self._find_repo(project, name):
            raise _ApiError(
                409,
                "GitRepositoryNameAlreadyExistsException",
                f"TF400948: A Git repository with the name {name} already exists.",
            )
        return self._json(201, self._repo_json(self._create_repo(project, name)), req.api_version)

    def _repo_update(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        body = req.json() or {}
        new_name = (body.get("name") or "").strip()
        if new_name.lower() not in ("", repo["name"].lower()) and self._find_repo(
            req.project, new_name
        ):
            raise _ApiError(
                409,
                "GitRepositoryNameAlreadyExistsException",
                f"TF400948: A Git repository with the name {new_name} already exists.",
            )
        if new_name:
            repo["name"] = new_name
        branch = body.get("defaultBranch")
        if branch:
            # ❓ Azure may refuse a branch that does not exist; the double accepts it
            branch = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
            repo["defaultBranch"] = branch
            git_http.git(["symbolic-ref", "HEAD", branch], cwd=repo["dir"])
        return self._json(200, self._repo_json(repo, full=True), req.api_version)

    def _repo_delete(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        del self._repos[repo["id"]]
        shutil.rmtree(repo["dir"], ignore_errors=True)
        return _Resp(204)

    def _read_refs(self, repo: dict[str, Any]) -> list[tuple[str, str]]:
        out = git_http.git(["for-each-ref", "--format=%(refname) %(objectname)"], cwd=repo["dir"])
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]

    def _refs(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        prefix = "refs/" + (req.query.get("filter") or "").removeprefix("refs/")
        url = f"{self.url}/{req.project['id']}/_apis/git/repositories/{repo['id']}/refs"
        items = [
            {
                "name": name,
                "objectId": oid,
                "creator": self._identity_ref(),
                "url": f"{url}?filter={quote(name.removeprefix('refs/'))}",
            }
            for name, oid in self._read_refs(repo)
            if name.startswith(prefix)
        ]
        return self._paged(req, items)

    def _push_api(self, req: _Req) -> _Resp:
        """POST …/pushes (§3.4 D): commits of add/edit/delete changes onto one ref."""
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        body = req.json()
        if not isinstance(body, dict) or not body.get("refUpdates"):
            raise _bad_null("refUpdates")
        update = body["refUpdates"][0]
        ref = update.get("name") or ""
        if not ref.startswith("refs/"):
            raise _bad_null("refUpdates.name")
        old = (update.get("oldObjectId") or git_http.ZERO_OID).lower()
        current = dict(self._read_refs(repo)).get(ref, git_http.ZERO_OID)
        if current != old:
            raise _ApiError(
                409,
                "GitReferenceStaleException",
                f"TF401028: The reference '{ref}' has already been updated by another client, so "
                "you cannot update it. Please try again.",
            )
        if self._push_blocked(repo, ref):
            raise _ApiError(403, "GitPushRejectedByPolicyException", TF402455)  # ❓ status/typeKey
        ident = self._identities[self.owner_id]
        when = datetime.now(UTC)
        env = {
            "GIT_AUTHOR_NAME": ident["displayName"],
            "GIT_AUTHOR_EMAIL": ident["email"],
            "GIT_COMMITTER_NAME": ident["displayName"],
            "GIT_COMMITTER_EMAIL": ident["email"],
            "GIT_INDEX_FILE": str(self.root / f"index-{uuid.uuid4()}"),
        }
        cwd = repo["dir"]
        parent = None if old == git_http.ZERO_OID else old
        made = []
        try:
            for commit in body.get("commits") or []:
                git_http.git_bytes(["read-tree", parent or "--empty"], cwd, env=env)
                for change in commit.get("changes") or []:
                    kind = str(change.get("changeType") or "").lower()
                    path = str((change.get("item") or {}).get("path") or "").lstrip("/")
                    if not path:
                        raise _bad_null("item.path")
                    if kind in ("add", "edit"):
                        content = change.get("newContent") or {}
                        text = content.get("content") or ""
                        if str(content.get("contentType") or "").lower() == "base64encoded":
                            data = base64.b64decode(text)
                        else:
                            data = text.encode()
                        oid = git_http.git_bytes(
                            ["hash-object", "-w", "--stdin"], cwd, stdin=data, env=env
                        ).decode()
                        git_http.git_bytes(
                            ["update-index", "--add", "--cacheinfo", f"100644,{oid},{path}"],
                            cwd,
                            env=env,
                        )
                    elif kind == "delete":
                        git_http.git_bytes(["update-index", "--force-remove", path], cwd, env=env)
                    else:  # ❓ rename and the rest are not modelled
                        raise _ApiError(
                            400, "ArgumentException", f"Change type {kind} is not supported."
                        )
                tree = git_http.git_bytes(["write-tree"], cwd, env=env).decode()
                args = ["commit-tree", tree, "-m", commit.get("comment") or "Commit"]
                if parent:
                    args += ["-p", parent]
                parent = git_http.git_bytes(args, cwd, env=env).decode()
                made.append((parent, commit.get("comment") or "Commit"))
        finally:
            Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
        if not made:
            raise _bad_null("commits")
        git_http.git_bytes(["update-ref", ref, parent or "", old], cwd)
        self._after_push(repo, [(old, parent or "", ref)])
        base = f"{self.url}/{req.project['id']}/_apis/git/repositories/{repo['id']}"
        person = {"name": ident["displayName"], "email": ident["email"], "date": _now()}
        push_id = next(self._ids)
        out = {
            "commits": [
                {
                    "commitId": oid,
                    "author": person,
                    "committer": person,
                    "comment": comment,
                    "url": f"{base}/commits/{oid}",
                }
                for oid, comment in made
            ],
            "refUpdates": [
                {"repositoryId": repo["id"], "name": ref, "oldObjectId": old, "newObjectId": parent}
            ],
            "repository": self._repo_json(repo),
            "pushedBy": self._identity_ref(),
            "pushId": push_id,
            "date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "url": f"{base}/pushes/{push_id}",
        }
        return self._json(201, out, req.api_version)

    # -- git smart HTTP --------------------------------------------------------------------------

    def _git_target(self, segs: list[str]) -> tuple[str, str, str] | None:
        """(project, repo, service) for ``/{org}/{project}/_git/{repo}/{service}``."""
        if len(segs) < 5 or segs[0].lower() != self.organization.lower():
            return None
        if segs[2].lower() != "_git":
            return None
        service = "/".join(segs[4:]).lower()
        if service not in git_http.SERVICES:
            return None
        return segs[1], segs[3], service

    def _git(
        self, method: str, target: tuple[str, str, str], raw_query: str, headers: Any,
        body: bytes, user: str,
    ) -> _Resp:  # fmt: skip
        project_key, repo_key, service = target
        with self._lock:
            project = self._find_project(project_key)
            repo = self._find_repo(project, repo_key) if project else None
            if repo is None:
                text = (
                    f"TF401019: The Git repository with name or identifier {repo_key} does not "
                    "exist or you do not have permissions for the operation you are attempting."
                )
                return _Resp(404, text.encode(), "text/plain; charset=utf-8")
            assert project is not None
            commands: list[tuple[str, str, str]] = []
            if service == "git-receive-pack" and method == "POST":
                commands, caps = git_http.receive_pack_commands(
                    body, headers.get("Content-Encoding")
                )
                blocked = {ref: TF402455 for _, _, ref in commands if self._push_blocked(repo, ref)}
                if blocked:
                    payload = git_http.receive_pack_rejection(commands, caps, blocked)
                    return _Resp(
                        200,
                        payload,
                        "application/x-git-receive-pack-result",
                        [("Cache-Control", "no-cache")],
                    )
        path_info = f"/{project['id']}/_git/{repo['id']}/{service}"
        status, cgi_headers, payload = git_http.http_backend(
            self.repos_root, path_info, method, raw_query, headers, body, user
        )
        content_type = None
        extra = []
        for name, value in cgi_headers:
            if name.lower() == "content-type":
                content_type = value
            elif name.lower() != "content-length":
                extra.append((name, value))
        if commands and status == 200:
            with self._lock:
                self._after_push(repo, commands)
        return _Resp(status, payload, content_type, extra)

    def _after_push(self, repo: dict[str, Any], commands: list[tuple[str, str, str]]) -> None:
        """First push into a repo without a default branch: HEAD and defaultBranch follow it."""
        if repo["defaultBranch"] or repo["id"] not in self._repos:
            return
        existing = {name for name, _ in self._read_refs(repo)}
        pushed = [
            ref
            for old, new, ref in commands
            if ref.startswith("refs/heads/") and new != git_http.ZERO_OID and ref in existing
        ]
        if not pushed:
            return
        branch = "refs/heads/main" if "refs/heads/main" in pushed else pushed[0]
        repo["defaultBranch"] = branch
        git_http.git(["symbolic-ref", "HEAD", branch], cwd=repo["dir"])

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

    def _push_blocked(self, repo: dict[str, Any], ref: str) -> bool:
        for policy in self._policies.values():
            if (
                policy["project_id"] == repo["project_id"]
                and policy["isEnabled"]
                and policy["isBlocking"]
                and policy["type_id"] in PUSH_BLOCKING_POLICY_TYPES
                and any(
                    self._scope_matches(s, repo, ref)
                    for s in policy["settings"].get("scope") or [{}]
                )
            ):
                return True
        return False

    # -- pipelines -------------------------------------------------------------------------------

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
        # ❓ the list omits configuration (the single GET and the create answer carry it)
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

    def _pipeline_get(self, req: _Req) -> _Resp:
        pipeline = self._need_pipeline(req, req.params["id"])
        return self._json(200, self._pipeline_json(pipeline, full=True), req.api_version)

    def _check_pipeline_name(self, project: dict[str, Any], name: str, folder: str) -> None:
        for d in self._pipelines.values():
            if (
                d["project_id"] == project["id"]
                and d["name"].lower() == name.lower()
                and d["folder"].lower() == folder.lower()
            ):
                # ❓ status in the cloud (400 per the Server 2022 exception mapper)
                raise _ApiError(
                    400,
                    "DefinitionExistsException",
                    f"Build pipeline {name} already exists for project {project['name']}.",
                )

    def _build_definition_create(self, req: _Req) -> _Resp:
        """POST build/definitions (§4.3, what ``az pipelines create`` sends): a YAML pipeline."""
        assert req.project is not None
        body = req.json()
        if not isinstance(body, dict):
            raise _bad_null("definition")
        name = (body.get("name") or "").strip()
        if not name:
            raise _bad_null("Name")
        process = body.get("process") or {}
        if process.get("type") != 2 or not process.get("yamlFilename"):
            # ❓ designer (type 1) definitions are not modelled
            raise _bad_null("process.yamlFilename")
        repo_ref = body.get("repository") or {}
        repo = self._need_repo(req.project, repo_ref.get("id") or repo_ref.get("name") or "")
        folder = _norm_folder(body.get("path"))
        self._check_pipeline_name(req.project, name, folder)
        pid = next(self._next["pipeline"])
        yaml_path = str(process["yamlFilename"])
        self._pipelines[pid] = {
            "id": pid,
            "project_id": req.project["id"],
            "name": name,
            "folder": folder,
            "revision": 1,
            "path": yaml_path if yaml_path.startswith("/") else f"/{yaml_path}",
            "repo_id": repo["id"],
            "createdDate": _now(),
        }
        base = f"{self.url}/{req.project['id']}"
        out = {
            "_links": {
                "self": {"href": f"{base}/_apis/build/Definitions/{pid}"},
                "web": {"href": f"{base}/_build/definition?definitionId={pid}"},
            },
            "id": pid,
            "name": name,
            "path": folder,
            "revision": 1,
            "url": f"{base}/_apis/build/Definitions/{pid}?revision=1",
            "uri": f"vstfs:///Build/Definition/{pid}",
            "type": "build",
            "quality": "definition",
            "queueStatus": "enabled",
            "process": {"yamlFilename": process["yamlFilename"], "type": 2},
            "repository": {
                "id": repo["id"],
                "type": "TfsGit",
                "name": repo["name"],
                "url": self._repo_json(repo)["remoteUrl"],
                "defaultBranch": repo["defaultBranch"] or "refs/heads/main",
            },
            "queue": {"id": req.project["queue_id"], "name": "Azure Pipelines"},
            "triggers": [
                {"triggerType": "continuousIntegration", "settingsSourceType": 2}
                for _ in body.get("triggers") or []
            ],
            "project": self._project_json(req.project),
            "authoredBy": self._identity_ref(),
            "createdDate": self._pipelines[pid]["createdDate"],
        }
        return self._json(200, out, req.api_version)

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
            "folder": folder,  # ❓ missing folders are created implicitly
            "revision": 1,
            "path": path if path.startswith("/") else f"/{path}",
            "repo_id": repo["id"],
            "createdDate": _now(),
        }
        return self._json(
            200, self._pipeline_json(self._pipelines[pid], full=True), req.api_version
        )

    def _build_definitions(self, req: _Req) -> _Resp:
        assert req.project is not None
        name = req.query.get("name")
        path = req.query.get("path")
        name_re = _wildcard(name) if name else None
        items = []
        for d in sorted(self._pipelines.values(), key=lambda d: (d["name"].lower(), d["id"])):
            if d["project_id"] != req.project["id"]:
                continue
            if name_re and not name_re.fullmatch(d["name"]):
                continue
            if path and _norm_folder(path).lower() != d["folder"].lower():
                continue
            base = f"{self.url}/{d['project_id']}"
            items.append(
                {
                    "_links": {
                        "self": {"href": f"{base}/_apis/build/Definitions/{d['id']}"},
                        "web": {"href": f"{base}/_build/definition?definitionId={d['id']}"},
                    },
                    "quality": "definition",
                    "queueStatus": "enabled",
                    "id": d["id"],
                    "name": d["name"],
                    "url": f"{base}/_apis/build/Definitions/{d['id']}?revision={d['revision']}",
                    "uri": f"vstfs:///Build/Definition/{d['id']}",
                    "path": d["folder"],
                    "type": "build",
                    "revision": d["revision"],
                    "createdDate": d["createdDate"],
                    "project": self._project_json(req.project),
                    "authoredBy": self._identity_ref(),
                }
            )
        return self._paged(req, items)

    def _queues(self, req: _Req) -> _Resp:
        assert req.project is not None
        wanted = req.query.get("queueName")
        queue = {
            "id": req.project["queue_id"],
            "projectId": req.project["id"],
            "name": "Azure Pipelines",
            "pool": {
                "id": 9,
                "scope": self.instance_id,
                "name": "Azure Pipelines",
                "isHosted": True,
                "poolType": "automation",
                "size": 1,
                "isLegacy": False,
                "options": "none",
            },
        }
        items = [queue] if not wanted or _wildcard(wanted).fullmatch(queue["name"]) else []
        return self._json(200, self._list(items), req.api_version)

    # -- runs and preview ------------------------------------------------------------------------

    def _run_json(self, run: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipelines.get(run["pipeline_id"]) or run["pipeline_snapshot"]
        base = f"{self.url}/{run['project_id']}"
        url = f"{base}/_apis/pipelines/{run['pipeline_id']}/runs/{run['id']}"
        out = {
            "_links": {
                "self": {"href": url},
                "web": {"href": f"{base}/_build/results?buildId={run['id']}"},
                "pipeline.web": {
                    "href": f"{base}/_build/definition?definitionId={run['pipeline_id']}"
                },
                "pipeline": {"href": f"{base}/_apis/pipelines/{run['pipeline_id']}"},
            },
            "pipeline": {
                "url": f"{base}/_apis/pipelines/{pipeline['id']}?revision={pipeline['revision']}",
                "id": pipeline["id"],
                "revision": pipeline["revision"],
                "name": pipeline["name"],
                "folder": pipeline["folder"],
            },
            "state": run["state"],
            "createdDate": run["createdDate"],
            "url": url,
            "resources": run["resources"],
            "id": run["id"],
            "name": run["name"],
        }
        if run.get("result"):
            out["result"] = run["result"]
            out["finishedDate"] = run["finishedDate"]
        if run.get("templateParameters"):
            out["templateParameters"] = run["templateParameters"]
        return out

    def _runs_list(self, req: _Req) -> _Resp:
        pipeline = self._need_pipeline(req, req.params["id"])
        runs = [r for r in self._runs.values() if r["pipeline_id"] == pipeline["id"]]
        runs.sort(key=lambda r: r["id"], reverse=True)
        return self._json(200, self._list([self._run_json(r) for r in runs]), req.api_version)

    def _run_get(self, req: _Req) -> _Resp:
        pipeline = self._need_pipeline(req, req.params["id"])
        run_id = self._int_id(req.params["run"], "PipelineRunNotFoundException", "Run")
        run = self._runs.get(run_id)
        if run is None or run["pipeline_id"] != pipeline["id"]:
            raise _ApiError(
                404, "PipelineRunNotFoundException", f"Pipeline run {run_id} not found."
            )
        return self._json(200, self._run_json(run), req.api_version)

    def _run_create(self, req: _Req) -> _Resp:
        pipeline = self._need_pipeline(req, req.params["id"])
        body = req.json() or {}
        if body.get("previewRun") or body.get("yamlOverride"):
            return self._preview(req)
        repo = self._repos.get(pipeline["repo_id"])
        self_res = ((body.get("resources") or {}).get("repositories") or {}).get("self") or {}
        ref = self_res.get("refName") or (repo and repo["defaultBranch"]) or "refs/heads/main"
        version = self_res.get("version")
        if version is None and repo is not None:
            version = dict(self._read_refs(repo)).get(ref)
        run_id = next(self._next["run"])
        self._runs[run_id] = {
            "id": run_id,
            "project_id": pipeline["project_id"],
            "pipeline_id": pipeline["id"],
            "pipeline_snapshot": dict(pipeline),
            "state": "inProgress",
            "createdDate": _now(),
            "name": f"{datetime.now(UTC):%Y%m%d}.{run_id}",
            "templateParameters": body.get("templateParameters") or {},
            "resources": {
                "repositories": {
                    "self": {
                        "repository": {"id": pipeline["repo_id"], "type": "azureReposGit"},
                        "refName": ref,
                        "version": version,
                    }
                }
            },
        }
        return self._json(200, self._run_json(self._runs[run_id]), req.api_version)

    def _preview(self, req: _Req) -> _Resp:
        pipeline = self._need_pipeline(req, req.params["id"])
        body = req.json() or {}
        override = body.get("yamlOverride")
        if override and not body.get("previewRun"):
            # ❓ status (400 is the reference's stand-in); also on .../preview (as the brief says)
            raise _ApiError(
                400,
                "PipelineValidationException",
                "The request specifies YAML override content but that is allowed only for dry "
                "run builds.",
            )
        path = pipeline["path"]
        if override is None:
            repo = self._repos.get(pipeline["repo_id"])
            ref = (repo and repo["defaultBranch"]) or "refs/heads/main"
            text = None
            if repo is not None:
                with contextlib.suppress(RuntimeError):
                    text = git_http.git(["show", f"{ref}:{path.lstrip('/')}"], cwd=repo["dir"])
            if text is None:
                sha = dict(self._read_refs(repo)).get(ref, "") if repo else ""
                raise _ApiError(
                    400,
                    "PipelineValidationException",
                    "An error occurred while loading the YAML build pipeline. File "
                    f"{path} not found in repository {repo['name'] if repo else '?'} branch "
                    f"{ref} version {sha}.",
                )
        else:
            text = str(override)
        import yaml  # PyYAML: a dev requirement of the template repository

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (Line: {mark.line + 1}, Col: {mark.column + 1})" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise _ApiError(
                400, "PipelineValidationException", f"{path}{where}: {problem}"
            ) from None
        if not isinstance(doc, dict):
            raise _ApiError(
                400,
                "PipelineValidationException",
                f"{path} (Line: 1, Col: 1): A mapping was expected at the root of the document.",
            )
        if not {"stages", "jobs", "steps", "extends"} & set(doc):
            # ❓ the wording; Azure refuses a pipeline without jobs
            raise _ApiError(
                400,
                "PipelineValidationException",
                f"{path}: The pipeline must contain at least one job with no errors.",
            )
        final = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
        if req.path.lower().rstrip("/").endswith("/preview"):
            return self._json(200, {"finalYaml": final}, req.api_version)
        # POST .../runs with previewRun: a Run object carrying finalYaml, nothing created
        run = {
            "id": -1,
            "project_id": pipeline["project_id"],
            "pipeline_id": pipeline["id"],
            "pipeline_snapshot": dict(pipeline),
            "state": "unknown",
            "createdDate": "0001-01-01T00:00:00",
            "name": "",
            "resources": {},
        }
        out = self._run_json(run)
        out["finalYaml"] = final
        return self._json(200, out, req.api_version)

    # -- environments ----------------------------------------------------------------------------

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

    def _need_env(self, req: _Req) -> dict[str, Any]:
        return self._need_in_project(
            req,
            self._envs,
            req.params["id"],
            "EnvironmentNotFoundException",
            "Environment {id} not found.",
        )

    def _check_env_name(self, req: _Req, name: str, exclude: int | None = None) -> None:
        assert req.project is not None
        if not name:
            raise _bad_null("Name")
        if len(name) > 128 or re.search(r'[,"/\\\[\]:|<>+=;?*]', name):  # §5.1
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
            # ❓ name filter semantics; exact, case-insensitive here
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

    def _env_get(self, req: _Req) -> _Resp:
        return self._json(200, self._env_json(self._need_env(req)), req.api_version)

    def _env_update(self, req: _Req) -> _Resp:
        env = self._need_env(req)
        body = req.json() or {}
        if body.get("name"):
            self._check_env_name(req, body["name"].strip(), exclude=env["id"])
            env["name"] = body["name"].strip()
        if "description" in body:
            env["description"] = body["description"] or ""
        env["lastModifiedOn"] = _now()
        return self._json(200, self._env_json(env), req.api_version)

    def _env_delete(self, req: _Req) -> _Resp:
        env = self._need_env(req)
        del self._envs[env["id"]]
        return _Resp(204)

    # -- protected resources (checks, permissions) -----------------------------------------------

    def _resource_exists(self, project: dict[str, Any], rtype: str, rid: str) -> bool:
        rtype = rtype.lower()
        try:
            if rtype == "environment":
                env = self._envs.get(int(rid))
                return env is not None and env["project_id"] == project["id"]
            if rtype == "variablegroup":
                vg = self._vgs.get(int(rid))
                return vg is not None and project["id"] in vg["project_ids"]
            if rtype == "queue":
                return int(rid) == project["queue_id"]
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

    def _need_check(self, req: _Req) -> dict[str, Any]:
        return self._need_in_project(
            req,
            self._checks,
            req.params["id"],
            "CheckConfigurationNotFoundException",
            "Check configuration with id {id} not found.",
        )

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
            raise _ApiError(  # ❓ status/typeKey of an unknown check type
                400, "InvalidCheckTypeException", f"Check type '{type_id}' is not valid."
            )
        res = body.get("resource") or {}
        rtype, rid = self._normalize_resource(res.get("type"), res.get("id"))
        if not rtype or not rid:
            raise _bad_null("resource")
        if not self._resource_exists(req.project, rtype, rid):
            raise _ApiError(  # ❓ status of a missing resource
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

    def _check_get(self, req: _Req) -> _Resp:
        check = self._need_check(req)
        return self._json(
            200, self._check_json(check, settings=self._expand_settings(req)), req.api_version
        )

    def _check_update(self, req: _Req) -> _Resp:
        check = self._need_check(req)
        body = req.json()
        type_id, resource = self._validate_check_body(req, body)
        check.update(
            type_id=type_id,
            resource=resource,
            settings=copy.deepcopy(body.get("settings") or {}),
            timeout=body.get("timeout", check["timeout"]),
            modifiedOn=_now(),
            version=check["version"] + 1,
        )
        return self._json(200, self._check_json(check, settings=True), req.api_version)

    def _check_delete(self, req: _Req) -> _Resp:
        check = self._need_check(req)
        del self._checks[check["id"]]
        return _Resp(204)

    def _permissions_json(self, key: tuple[str, str, str]) -> dict[str, Any]:
        state = self._permissions.get(key) or {"pipelines": {}}
        out: dict[str, Any] = {"resource": {"type": key[1], "id": key[2]}}
        if state.get("allPipelines"):
            out["allPipelines"] = dict(state["allPipelines"])
        out["pipelines"] = [
            {"id": pid, **{k: v for k, v in p.items()}}
            for pid, p in sorted(state["pipelines"].items())
        ]
        return out

    def _apply_permissions(self, req: _Req, rtype: str, rid: str, body: Any) -> dict[str, Any]:
        assert req.project is not None
        rtype, rid = self._normalize_resource(rtype, rid)
        if not self._resource_exists(req.project, rtype, rid):
            raise _ApiError(  # ❓ status of a missing resource
                404, "ResourceNotFoundException", f"Resource {rtype} with id {rid} not found."
            )
        key = (req.project["id"], rtype, rid)
        if req.method == "PATCH":
            if not isinstance(body, dict):
                raise _bad_null("resourceAuthorization")
            updates = []
            for item in body.get("pipelines") or []:
                pipeline = self._need_pipeline(req, item.get("id"))  # unknown id -> 404 ❓
                updates.append((pipeline["id"], bool(item.get("authorized"))))
            state = self._permissions.setdefault(key, {"pipelines": {}})
            stamp = {"authorizedBy": self._identity_ref(), "authorizedOn": _now()}
            for pid, authorized in updates:
                state["pipelines"][pid] = {"authorized": authorized, **stamp}
            if isinstance(body.get("allPipelines"), dict):
                state["allPipelines"] = {
                    "authorized": bool(body["allPipelines"].get("authorized")),
                    **stamp,
                }
        return self._permissions_json(key)

    def _permissions_route(self, req: _Req) -> _Resp:
        body = req.json() if req.method == "PATCH" else None
        out = self._apply_permissions(req, req.params["type"], req.params["id"], body)
        return self._json(200, out, req.api_version)

    def _permissions_batch(self, req: _Req) -> _Resp:
        body = req.json()
        if not isinstance(body, list):
            raise _bad_null("resourceAuthorizations")
        out = []
        for item in body:
            resource = item.get("resource") or {}
            out.append(self._apply_permissions(req, resource.get("type"), resource.get("id"), item))
        return self._json(200, self._list(out), req.api_version)

    # -- variable groups -------------------------------------------------------------------------

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
                # ❓ (§6.2): a PUT re-sending a secret as null keeps the stored value
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

    def _vg_delete(self, req: _Req) -> _Resp:
        group = self._need_vg(req.params["id"], None)
        ids = [i.strip().lower() for i in (req.query.get("projectIds") or "").split(",") if i]
        if not ids:
            raise _bad_null("projectIds")
        project_ids = {self._need_project(i)["id"] for i in ids}
        group["refs"] = [r for r in group["refs"] if r["project_id"] not in project_ids]
        group["project_ids"] -= project_ids
        if not group["refs"]:
            del self._vgs[group["id"]]
        return _Resp(204)

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

    def _vg_get(self, req: _Req) -> _Resp:
        group = self._need_vg(req.params["id"], req.project)
        return self._json(200, self._vg_json(group), req.api_version)

    # -- service endpoints -----------------------------------------------------------------------

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
                # ❓ status: one public client saw 500 with this typeKey; 409 is the sane one
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

    def _endpoint_get(self, req: _Req) -> _Resp:
        ep = self._endpoints.get(req.params["id"].lower())
        if ep is None or (req.project is not None and req.project["id"] not in ep["project_ids"]):
            # ❓ Azure may answer 200 with an empty body for an unknown id; 404 here
            raise _ApiError(
                404,
                "ServiceEndpointNotFoundException",
                f"Service connection with id {req.params['id']} not found.",
            )
        return self._json(200, self._endpoint_json(ep), req.api_version)

    def _endpoint_delete(self, req: _Req) -> _Resp:
        ep = self._endpoints.get(req.params["id"].lower())
        if ep is None:
            raise _ApiError(
                404,
                "ServiceEndpointNotFoundException",
                f"Service connection with id {req.params['id']} not found.",
            )
        ids = [i.strip().lower() for i in (req.query.get("projectIds") or "").split(",") if i]
        if not ids:
            raise _bad_null("projectIds")
        project_ids = {self._need_project(i)["id"] for i in ids}
        ep["refs"] = [r for r in ep["refs"] if r["project_id"] not in project_ids]
        ep["project_ids"] -= project_ids
        if not ep["refs"]:
            del self._endpoints[ep["id"]]
        return _Resp(204)

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

    def _endpoints_refresh(self, req: _Req) -> _Resp:
        # §7.1 gotcha: POST on the project route is "get endpoints with refreshed authentication"
        if not req.query.get("endpointIds"):
            raise _bad_null("endpointIds")
        return self._json(200, self._list(self._endpoints_matching(req)), req.api_version)

    # -- policies --------------------------------------------------------------------------------

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
            raise _ApiError(  # ❓ status of an unknown policy type
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

    def _need_policy(self, req: _Req) -> dict[str, Any]:
        return self._need_in_project(
            req,
            self._policies,
            req.params["id"],
            "PolicyConfigurationNotFoundException",
            "TF401019: Policy configuration with ID {id} does not exist.",
        )

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

    def _policy_update(self, req: _Req) -> _Resp:
        assert req.project is not None
        policy = self._need_policy(req)
        policy.update(self._policy_from_body(req, req.json()))
        policy["revision"] += 1
        return self._json(200, self._policy_json(policy), req.api_version)

    def _policy_delete(self, req: _Req) -> _Resp:
        assert req.project is not None
        policy = self._need_policy(req)
        del self._policies[policy["id"]]
        return _Resp(204)

    def _policy_get(self, req: _Req) -> _Resp:
        return self._json(200, self._policy_json(self._need_policy(req)), req.api_version)

    def _policies_list(self, req: _Req) -> _Resp:
        assert req.project is not None
        ptype = (req.query.get("policyType") or "").lower()
        items = [
            self._policy_json(c)
            for c in sorted(self._policies.values(), key=lambda c: c["id"])
            if c["project_id"] == req.project["id"] and (not ptype or c["type_id"] == ptype)
        ]
        return self._paged(req, items)

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
