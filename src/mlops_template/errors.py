"""What can go wrong talking to Azure DevOps: one exception per kind, and the token's needs.

The REST client raises these; the CLI and the report turn them into messages.
Standard library only.
"""

from __future__ import annotations

# What the token must be allowed to do (names as in the token dialog).
REQUIRED_SCOPES = (
    "Project and team (read; read, write and manage to create the project)",
    "Code (read, write and manage)",
    "Build (read and execute)",
    "Environment (read and manage)",
    "Variable Groups (read, create and manage)",
    "Service Endpoints (read, query and manage)",
    "Pipeline Resources (use and manage)",
    "Identity (read)",
)

# typeKeys that mean "it is there already": the caller looks it up instead.
ALREADY_EXISTS_TYPE_KEYS = frozenset(
    {
        "ProjectAlreadyExistsException",
        "GitRepositoryNameAlreadyExistsException",
        "DefinitionExistsException",
        "EnvironmentExistsException",
        "VariableGroupExistsException",
        "DuplicateServiceConnectionException",
    }
)


class AzureDevOpsError(RuntimeError):
    """Azure DevOps answered with an error; carries its typeKey and ActivityId."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type_key: str = "",
        activity_id: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.type_key = type_key
        self.activity_id = activity_id
        self.method = method
        self.url = url
        self.service_message = message
        parts = [f"{method} {url}".strip()]
        if status is not None:
            parts.append(f"HTTP {status}")
        if type_key:
            parts.append(type_key)
        detail = f"{message} [{', '.join(p for p in parts if p)}"
        if activity_id:
            detail += f", ActivityId {activity_id}"
        super().__init__(detail + "]")


class AuthenticationError(AzureDevOpsError):
    """The token was refused (401, or a 203 / non-JSON sign-in page)."""


class PermissionDeniedError(AzureDevOpsError):
    """The token's owner is authenticated but not allowed to do this (403)."""


class TransientError(AzureDevOpsError):
    """Throttling, a server error or a lost connection, after every retry.

    ``answered`` is False when the request may have been carried out although no
    answer came (a timeout, a dropped connection, a 5xx); a 429 is a refusal.
    """

    answered = False


class ThrottledError(TransientError):
    """Azure DevOps refused the request with 429; the delay it asked for has passed."""

    answered = True


class AlreadyExistsError(AzureDevOpsError):
    """A create was refused because a resource of that name exists (409 or its typeKey)."""


class TooLongThrottledError(AzureDevOpsError):
    """Azure DevOps asked to wait longer than the client waits; says when to retry."""


def header_safe(pat: str) -> str:
    """The token, if HTTP headers can carry it; else a ValueError that says why.

    A header value is ISO-8859-1 text without control characters (RFC 9110 §5.5);
    a token pasted with a line break or a non-Latin character would fail mid-run.
    """
    bad = [c for c in pat if ord(c) < 0x20 or ord(c) == 0x7F or ord(c) > 0xFF]
    if bad:
        raise ValueError(
            "the personal access token holds characters an HTTP header cannot carry "
            f"({len(bad)} of them, e.g. line breaks or non-Latin letters): copy it again "
            "from Azure DevOps (User settings > Personal access tokens)"
        )
    return pat


def scopes_hint() -> str:
    """The token scopes provisioning needs, for error messages."""
    return "The token needs these scopes: " + "; ".join(REQUIRED_SCOPES) + "."
