"""A loopback double of Azure DevOps Services (one organization) for provisioning tests.

It serves the routes ``mlops-template provision`` calls, and nothing else (a test checks
both ways: ``tests/test_fake_routes.py``), one module per resource: ``identities``,
``projects``, ``repositories`` (with git smart HTTP through ``git http-backend``, see
``git_http``), ``pipelines``, ``environments`` (and their checks), ``permissions``,
``variable_groups``, ``service_endpoints`` and ``policies``. Each module cites the
Microsoft REST reference pages it follows. This module holds what they share: PAT
authentication ("Authenticate with personal access tokens",
https://learn.microsoft.com/azure/devops/integrate/get-started/authentication/pats), the
api-version rules and the ``{count, value}`` list envelope with continuation tokens
("Azure DevOps Services REST API Reference", https://learn.microsoft.com/rest/api/azure/devops/),
the error body, and the faults tests inject (throttling as in "Rate limits",
https://learn.microsoft.com/azure/devops/integrate/concepts/rate-limits).

Usage::

    with FakeAzureDevOps(tmp_path, pat="secret") as fake:
        fake.add_project("Demo")
        requests.get(f"{fake.url}/_apis/projects/Demo?api-version=7.1", auth=("", "secret"))

State accessors return deep copies of the stored records rendered like the REST API renders them
(plus the stored secrets for variable groups), keyed as documented on each method.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .environments import EnvironmentsMixin
from .identities import IdentitiesMixin
from .loopback import Fault, LoopbackHandler, LoopbackServer
from .permissions import PermissionsMixin
from .pipelines import PipelinesMixin
from .policies import PoliciesMixin
from .projects import ProjectsMixin
from .records import (
    LATEST_API_VERSION,
    _ApiError,
    _Req,
    _Resp,
    _type_name,
)
from .repositories import RepositoriesMixin
from .service_endpoints import ServiceEndpointsMixin
from .variable_groups import VariableGroupsMixin

# ---------------------------------------------------------------------------------------------
# The double
# ---------------------------------------------------------------------------------------------


class _Handler(LoopbackHandler):
    """Answers as ``Server: FakeAzureDevOps/1.0``, and OPTIONS too."""

    server_version = "FakeAzureDevOps/1.0"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    do_OPTIONS = LoopbackHandler._any


Route = tuple[str, str, tuple[str, ...], Callable[[_Req], _Resp], bool]


class FakeAzureDevOps(
    IdentitiesMixin,
    ProjectsMixin,
    RepositoriesMixin,
    PipelinesMixin,
    EnvironmentsMixin,
    PermissionsMixin,
    VariableGroupsMixin,
    ServiceEndpointsMixin,
    PoliciesMixin,
    LoopbackServer,
):
    """Azure DevOps Services on ``127.0.0.1`` for one organization; see the module docstring.

    Start and stop it as any :class:`~fakes.loopback.LoopbackServer` (or use it as a context
    manager); faults injected with :meth:`inject` apply to git smart HTTP too, and a 429
    carries ``Retry-After`` (default 1) and the ``X-RateLimit-*`` headers.
    Bare repositories live under ``root/repos/{projectId}/_git/{repositoryId}``.

    ``project_operation_polls`` (default 3, read at POST time): the POST answers ``notSet``;
    GET number n of the operation answers ``inProgress`` while n < polls and ``succeeded`` from
    then on, which is when the project (and its default repo) appears. 0: created at POST.

    ``served`` holds the routes that answered a request, ``unrouted`` the requests no
    route matched.
    """

    handler_class = _Handler

    def __init__(self, root: Path, *, pat: str, organization: str = "contoso") -> None:
        super().__init__()
        self.root = Path(root)
        self.repos_root = self.root / "repos"
        self.repos_root.mkdir(parents=True, exist_ok=True)
        self.organization = organization
        self._pat = pat
        # Entra access tokens accepted as Bearer ("Use Microsoft Entra tokens",
        # https://learn.microsoft.com/azure/devops/integrate/get-started/authentication/entra-oauth).
        self._bearer: set[str] = set()
        self.owner_id = str(uuid.uuid4())
        self.owner_email = "owner@example.com"
        self.owner_display_name = "Project Owner"
        self.instance_id = str(uuid.uuid4())  # the organization (collection) id
        self.project_operation_polls = 3
        self._ids = itertools.count(1)  # one counter per int-id kind, below
        self._next = {k: itertools.count(1) for k in ("pipeline", "env", "vg", "check", "policy")}
        self._next["run"] = itertools.count(1)
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
        # Routes served, and requests no route matched (the tool called what is not here).
        self.served: set[tuple[str, str, str]] = set()
        self.unrouted: list[str] = []
        self._stale: list[str] = []
        self._retry_after_ok: list[float] = []
        self._identities[self.owner_id] = {
            "id": self.owner_id,
            "email": self.owner_email,
            "displayName": self.owner_display_name,
        }
        self._routes = self._route_table()

    @property
    def url(self) -> str:
        """The REST base and the git base: ``http://127.0.0.1:{port}/{organization}``."""
        return f"{super().url}/{self.organization}"

    @property
    def identity_url(self) -> str:
        """The identities (vssps) base: ``http://127.0.0.1:{port}/_vssps/{organization}``."""
        return f"{super().url}/_vssps/{self.organization}"

    def stale_lists(self, path_contains: str, times: int = 1) -> None:
        """The next ``times`` matching GETs answer an empty list, as a lagging replica would.

        ``path_contains`` is looked for in the path and its query string.

        Azure DevOps reads may lag a write just made ("eventual consistency" of list
        queries is not promised away by the REST reference); this models the worst case.
        """
        with self._lock:
            self._stale.extend([path_contains.lower()] * times)

    def retry_after_on_success(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` 2xx responses carry ``Retry-After: seconds``."""
        with self._lock:
            self._retry_after_ok.extend([seconds] * times)

    def _is_write(self, method: str, path: str) -> bool:
        """Any but GET and HEAD, except ``POST …/git-upload-pack`` (a fetch) and
        ``POST …/preview`` (a dry run)."""
        low = path.lower().rstrip("/")
        return method not in ("GET", "HEAD") and not (
            method == "POST" and (low.endswith("/git-upload-pack") or low.endswith("/preview"))
        )

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        record = self._receive(h)
        split = urlsplit(h.path)
        try:
            resp = self._respond(
                record.method, split.path, split.query, record.query, h.headers, record.body
            )
        except Exception:  # a bug in the double: answer 500, say where
            traceback.print_exc(file=sys.stderr)
            resp = self._error(500, "VssServiceException", "TF400898: An Internal Error Occurred.")
        headers = [("ActivityId", str(uuid.uuid4()))]
        if resp.authenticated:
            headers.append(("X-VSS-UserData", f"{self.owner_id}:{self.owner_email}"))
        if resp.content_type:
            headers.append(("Content-Type", resp.content_type))
        self._reply(h, record, resp.status, headers + resp.headers, resp.body, resp.fault)

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
            resp.fault = fault
            return resp
        if git_target is not None:
            resp = self._git(method, git_target, raw_query, headers, body, user)
        else:
            resp = self._rest(method, raw_path, segs, query, headers, body)
        if fault:
            if fault.status:
                resp = self._fault_response(fault)
            resp.fault = fault
            return resp
        if method == "GET" and resp.status == 200:
            resp = self._maybe_stale(f"{unquote(raw_path)}?{unquote(raw_query)}", resp)
        if 200 <= resp.status < 300:
            with self._lock:
                if self._retry_after_ok:
                    resp.headers.append(("Retry-After", f"{self._retry_after_ok.pop(0):g}"))
        return resp

    def accept_bearer(self, token: str) -> None:
        """Accept ``token`` as ``Authorization: Bearer`` (an Entra token for Azure DevOps)."""
        with self._lock:
            self._bearer.add(token)

    def expire(self, token: str) -> None:
        """Refuse ``token`` from now on (401), as after its expiry."""
        with self._lock:
            self._bearer.discard(token)

    def _authenticate(self, headers: Any) -> str | None:
        """The Basic user name if the PAT is right (user ignored), "" for an accepted Bearer
        token, else None."""
        value = headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer":
            with self._lock:
                return "" if token.strip() in self._bearer else None
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
        if git or suppress:  # : 401 + WWW-Authenticate; git always
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

    def _maybe_stale(self, path: str, resp: _Resp) -> _Resp:
        with self._lock:
            match = next((p for p in self._stale if p in path.lower()), None)
            if match is None:
                return resp
            self._stale.remove(match)
        return self._json(200, self._list([]))

    def _fault_response(self, fault: Fault) -> _Resp:
        messages = {
            400: ("VssServiceException", "The request is invalid (injected fault)."),
            401: ("UnauthorizedRequestException",
                  "TF400813: The user '' is not authorized to access this resource."),
            403: ("UnauthorizedRequestException",
                  "TF400813: The user is not authorized to access this resource."),
            404: ("NotFoundException", "The resource cannot be found (injected fault)."),
            409: ("ConflictException", "The request conflicts with the server state (injected)."),
            # unconfirmed: typeKey of a rate-limit refusal; the message is 's
            429: ("RequestBlockedException",
                  "TF400733: The request has been canceled: Request was blocked due to exceeding "
                  "usage of resource 'ATCPU' in namespace 'User'."),
        }  # fmt: skip
        type_key, message = messages.get(
            fault.status,
            ("VssServiceException", "TF400898: An Internal Error Occurred (injected fault)."),
        )
        resp = self._error(fault.status, type_key, fault.message or message)
        retry_after = fault.retry_after
        if fault.status == 429:
            retry_after = 1 if retry_after is None else retry_after
            resp.headers += [
                ("X-RateLimit-Resource", "ATCPU"),
                ("X-RateLimit-Delay", "0.000"),
                ("X-RateLimit-Limit", "200"),
                ("X-RateLimit-Remaining", "0"),
                # Any Retry-After, however absurd, is served (a hostile service's "inf").
                ("X-RateLimit-Reset", f"{time.time() + float(retry_after):.0f}"),
            ]
        if fault.status == 401:
            resp.headers.append(("WWW-Authenticate", 'Basic realm="https://tfsprod.fake/"'))
        if retry_after is not None:
            resp.headers.append(("Retry-After", f"{retry_after:g}"))
        return resp

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
        with self._lock:
            self.unrouted.append(raw_path)
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

    def _route_table(self) -> list[Route]:
        """(scope, method, pattern, handler, preview_only) from each resource module's ROUTES."""
        routes: list[Route] = []
        for mixin in type(self).__mro__:
            for scope, method, pattern, name, preview in vars(mixin).get("ROUTES", ()):
                handler = getattr(self, name)
                routes.append((scope, method, tuple(pattern.split("/")), handler, preview))
        return routes

    @classmethod
    def route_keys(cls) -> set[tuple[str, str, str]]:
        """(scope, method, pattern) of every REST route the double serves."""
        return {
            (scope, method, pattern)
            for mixin in cls.__mro__
            for scope, method, pattern, _, _ in vars(mixin).get("ROUTES", ())
        }

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
            with self._lock:
                self.unrouted.append(f"{method} {raw_path}")
            return self._error(
                405,
                "VssMethodNotAllowedException",  # unconfirmed: typeKey
                f"The requested resource does not support http method '{method}'.",
            )
        (route, params) = chosen[0]
        r_scope, r_method, r_pattern, handler, preview_only = route
        with self._lock:
            self.served.add((r_scope, r_method, "/".join(r_pattern)))
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
                    # unconfirmed: a GET without a version gets the latest (preview-only too)
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
                "VssInvalidApiVersionException",  # unconfirmed: typeKey
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
