"""Error translation: an Azure DevOps answer becomes its JSON body or one of ``errors``' types.

The error body is ``{"message", "typeKey", ...}``; a refused token comes back as 401, or
as a 203 sign-in page when ``X-TFS-FedAuthRedirect: Suppress`` is missing
("Authenticate with personal access tokens",
https://learn.microsoft.com/azure/devops/integrate/get-started/authentication/pats).
"""

from __future__ import annotations

import json
import math
from typing import Any

import requests

from .errors import (
    ALREADY_EXISTS_TYPE_KEYS,
    AlreadyExistsError,
    AuthenticationError,
    AzureDevOpsError,
    PermissionDeniedError,
    scopes_hint,
)


def retry_after(response: requests.Response) -> float | None:
    """Seconds from ``Retry-After`` (None when absent or not a number, ``nan`` included).

    An absurd value (``inf``, ``1e14``) is kept: the client refuses it as too long a wait.
    """
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value else math.nan
    except ValueError:
        return None
    return None if math.isnan(seconds) else max(seconds, 0.0)


def parse(response: requests.Response, method: str, url: str) -> Any:
    """The JSON body of a success; the matching error for anything else."""
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    if (
        status == 401
        or status == 203
        or (200 <= status < 300 and response.content and "application/json" not in content_type)
    ):
        raise AuthenticationError(
            "Azure DevOps refused the personal access token (expired, revoked, made for another "
            "organization, or missing a scope). " + scopes_hint(),
            status=status,
            method=method,
            url=url,
            activity_id=response.headers.get("ActivityId", ""),
        )
    if status == 403:
        raise error(response, method, url, PermissionDeniedError)
    if status >= 300:
        refused = error(response, method, url, AzureDevOpsError)
        if method == "POST" and (status == 409 or refused.type_key in ALREADY_EXISTS_TYPE_KEYS):
            raise error(response, method, url, AlreadyExistsError)
        raise refused
    if not response.content:
        return None
    return response.json()


def error(
    response: requests.Response, method: str, url: str, kind: type[AzureDevOpsError]
) -> AzureDevOpsError:
    """An error of type ``kind`` with the service's message and typeKey."""
    message, type_key = response.reason or "error", ""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        text = response.text.strip()
        if text and len(text) < 500:
            message = text
    else:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            # Azure Resource Manager: {"error": {"code", "message"}} (its code as the typeKey).
            message = body["error"].get("message") or message
            type_key = body["error"].get("code") or ""
        elif isinstance(body, dict):
            message = body.get("message") or message
            type_key = body.get("typeKey") or ""
    return kind(
        message,
        status=response.status_code,
        type_key=type_key,
        activity_id=response.headers.get("ActivityId", ""),
        method=method,
        url=url,
    )
