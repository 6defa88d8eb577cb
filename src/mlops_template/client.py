"""A small Azure DevOps REST client: authentication, api-versions, retries, errors.

The token (a personal access token as Basic, or an Entra token as Bearer: see ``auth``)
travels only in the ``Authorization`` header of each request; it never appears in a
URL, a message or a log line. A refused Entra token is renewed once and the request
sent again (a 401 means nothing was done). Reads and updates are retried on 429, 5xx and connection
errors, honouring ``Retry-After`` (which Azure DevOps also sends on a 200 to
slow the next call). Creates (POST) are never retried here: the caller looks
the resource up again first (see ``create_once``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from . import error_translation
from .auth import PAT_VARIABLE, Credential, PersonalAccessToken
from .errors import (
    AuthenticationError,
    AzureDevOpsError,
    ThrottledError,
    TransientError,
    header_safe,
    scopes_hint,
)
from .pacing import MAX_WAIT, Pace

log = logging.getLogger(__name__)

GA = "7.1"
# Resources Azure DevOps serves in preview only (their REST reference pages say "preview").
PREVIEW = "7.1-preview.1"

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})
# Seconds to wait for an answer (connect and read).
TIMEOUT = 30.0


@dataclass
class Counters:
    """Requests made by one client (for the summary and the benchmark)."""

    requests: int = 0
    writes: int = 0


class AzureDevOpsClient:
    """Calls the organization's REST API (``rest_url``) and identity API (``identity_url``).

    Paths are relative to those bases (``"{project}/_apis/..."``); names in
    paths must already be quoted (see ``quote``). Safe to share between threads.
    """

    SERVICE = "Azure DevOps"  # in messages
    # What to do when the service refuses the Azure CLI's sign-in (each service its own).
    SIGN_IN_ADVICE = (
        "Run 'az login' as a user with access (Project Administrator), or set "
        f"{PAT_VARIABLE} to a personal access token"
    )

    def __init__(
        self,
        rest_url: str,
        identity_url: str,
        pat: str | Credential,
        *,
        timeout: float | None = None,
        attempts: int = 6,
        max_delay: float = 30.0,
        max_wait: float = MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str], None] = lambda message: None,
    ) -> None:
        if not pat:
            raise AuthenticationError("no personal access token was given. " + scopes_hint())
        self.rest_url = rest_url.rstrip("/")
        self.identity_url = identity_url.rstrip("/")
        if isinstance(pat, str):
            try:
                pat = PersonalAccessToken(header_safe(pat))
            except ValueError as error:
                raise AuthenticationError(str(error)) from None
        self.credential: Credential = pat
        self._timeout = timeout or TIMEOUT
        self._attempts = attempts
        self._sleep = sleep
        self.pace = Pace(
            self.SERVICE, max_delay=max_delay, max_wait=max_wait, sleep=sleep, on_wait=on_wait
        )
        self._local = threading.local()
        self._lock = threading.Lock()
        self.counters = Counters()

    def __repr__(self) -> str:
        """Name the organization, never the token."""
        return f"AzureDevOpsClient({self.rest_url!r})"

    # -- public calls --------------------------------------------------------

    def get(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        api_version: str = GA,
        identity: bool = False,
    ) -> Any:
        """GET one resource or a raw list envelope."""
        return self.request("GET", path, params=params, api_version=api_version, identity=identity)

    def get_or_none(
        self, path: str, *, params: dict[str, Any] | None = None, api_version: str = GA
    ) -> Any | None:
        """GET one resource; None when Azure DevOps answers 404."""
        try:
            return self.get(path, params=params, api_version=api_version)
        except AzureDevOpsError as error:
            if error.status == 404:
                return None
            raise

    def list(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        api_version: str = GA,
        identity: bool = False,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a ``{count, value}`` list, following ``x-ms-continuationtoken``."""
        return list(self._pages(path, params or {}, api_version, identity, page_size))

    def post(
        self,
        path: str,
        body: Any,
        *,
        api_version: str = GA,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Create: sent once, never retried (look the resource up again instead)."""
        return self.request("POST", path, json_body=body, params=params, api_version=api_version)

    def put(self, path: str, body: Any, *, api_version: str = GA) -> Any:
        """Replace a resource (retried: a PUT is idempotent)."""
        return self.request("PUT", path, json_body=body, api_version=api_version)

    def patch(self, path: str, body: Any, *, api_version: str = GA) -> Any:
        """Update a resource (retried: these PATCHes set absolute values)."""
        return self.request("PATCH", path, json_body=body, api_version=api_version)

    # -- machinery -----------------------------------------------------------

    def _pages(
        self,
        path: str,
        params: dict[str, Any],
        api_version: str,
        identity: bool,
        page_size: int | None,
    ) -> Iterator[dict[str, Any]]:
        params = dict(params)
        if page_size:
            params["$top"] = page_size
        while True:
            body, headers = self._send("GET", path, params, None, api_version, identity)
            yield from (body or {}).get("value", [])
            token = headers.get("x-ms-continuationtoken")
            if not token:
                return
            params["continuationToken"] = token

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        api_version: str = GA,
        identity: bool = False,
    ) -> Any:
        """Send one call (retrying if it is idempotent) and return its JSON body."""
        body, _ = self._send(method, path, params or {}, json_body, api_version, identity)
        return body

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # With auth set, requests reads no .netrc, but still honours proxy
            # variables (HTTPS_PROXY, NO_PROXY).
            session.auth = HeaderAuth(self.credential)
            session.headers.update(
                {
                    "Accept": "application/json",
                    "X-TFS-FedAuthRedirect": "Suppress",
                    "X-VSS-ForceMsaPassThrough": "true",
                    "User-Agent": "mlops-template-provisioning",
                }
            )
            self._local.session = session
        return session

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        json_body: Any,
        api_version: str,
        identity: bool,
    ) -> tuple[Any, Any]:
        base = self.identity_url if identity else self.rest_url
        url = f"{base}/{path.lstrip('/')}"
        query = {**params, "api-version": api_version}
        retry = method in IDEMPOTENT_METHODS
        renewed = False
        for attempt in range(self._attempts):
            self.pace.wait_turn()
            with self._lock:
                self.counters.requests += 1
                self.counters.writes += method != "GET"
            try:
                response = self._session().request(
                    method,
                    url,
                    params=query,
                    json=json_body,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as error:
                reason = f"cannot reach {self.SERVICE} ({error.__class__.__name__})"
                if retry and attempt < self._attempts - 1:
                    log.info("%s %s: %s; retrying", method, url, reason)
                    self._sleep(self.pace.backoff(attempt, None))
                    continue
                raise TransientError(reason, method=method, url=url) from None
            retry_after = error_translation.retry_after(response)
            status = response.status_code
            if status == 401 and not renewed and self.credential.refresh():
                renewed = True  # an expired Entra token: nothing was done; send it again
                log.info("%s %s: HTTP 401; signed in again", method, url)
                continue
            if status in RETRYABLE_STATUS:
                throttled = status == 429
                if throttled or (retry and attempt < self._attempts - 1):
                    delay = self.pace.backoff(attempt, retry_after)
                    log.info("%s %s: HTTP %s; waiting %.1f s", method, url, status, delay)
                    self.pace.slow_down(delay, method, url)
                if retry and attempt < self._attempts - 1:
                    continue
                if throttled:  # waited out above, before the caller's lookup or re-send
                    self.pace.wait_turn()
                    raise error_translation.error(response, method, url, ThrottledError)
                raise error_translation.error(response, method, url, TransientError)
            if retry_after:
                self.pace.slow_down(retry_after, method, url)
            try:
                return error_translation.parse(response, method, url), response.headers
            except AuthenticationError as error:
                if isinstance(self.credential, PersonalAccessToken):
                    raise
                raise AuthenticationError(
                    f"{self.SERVICE} refused the Azure CLI's sign-in token (HTTP "
                    f"{error.status}): the signed-in user may lack access, or belong to "
                    f"another tenant. {self.SIGN_IN_ADVICE}",
                    status=error.status,
                    method=method,
                    url=url,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover


class HeaderAuth(requests.auth.AuthBase):
    """Sets ``Authorization`` from a credential on each request (a renewed token included)."""

    def __init__(self, credential: Credential) -> None:
        self.credential = credential

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.credential.authorization()
        return request


def quote(name: str) -> str:
    """A name as one URL path segment."""
    return requests.utils.quote(name, safe="")
