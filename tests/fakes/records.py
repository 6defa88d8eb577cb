"""The double's records and plumbing types: what was received, faults, answers, errors."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loopback import Fault

LATEST_API_VERSION = (7, 2)

_SE_NS = "Microsoft.VisualStudio.Services.ServiceEndpoints.WebApi"
TYPE_NAMES = {  # typeKey -> (namespace, assembly) for the typeName of the error body
    "ProjectDoesNotExistWithNameException": "Microsoft.TeamFoundation.Core.WebApi",
    "ProjectAlreadyExistsException": "Microsoft.TeamFoundation.Core.WebApi",
    "ProjectBadRequestException": "Microsoft.TeamFoundation.Core.WebApi",
    "GitRepositoryNotFoundException": "Microsoft.TeamFoundation.SourceControl.WebServer",
    "GitRepositoryNameAlreadyExistsException": "Microsoft.TeamFoundation.SourceControl.WebServer",
    "DefinitionExistsException": "Microsoft.TeamFoundation.Build.WebApi",
    "DefinitionNotFoundException": "Microsoft.TeamFoundation.Build.WebApi",
    "UnsupportedConfigurationTypeException": "Microsoft.Azure.Pipelines.WebApi",
    "EnvironmentExistsException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "VariableGroupExistsException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "VariableGroupNotFoundException": "Microsoft.TeamFoundation.DistributedTask.WebApi",
    "DuplicateServiceConnectionException": _SE_NS,
    "PolicyTypeNotFoundException": "Microsoft.TeamFoundation.Policy.WebApi",
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
class _Resp:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    authenticated: bool = True
    fault: Fault | None = None  # the injected fault this answers: its delay and drop


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
