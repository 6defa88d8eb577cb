"""A loopback double of the Blob service for the data container the ARM double deployed.

Serves ``/{account}/{container}/{blob}`` as the tool reaches it through
``AZURE_STORAGE_BLOB_URL=http://127.0.0.1:<port>/{account}``:

- ``HEAD`` (Get Blob Properties,
  https://learn.microsoft.com/rest/api/storageservices/get-blob-properties): 200 with
  ``Content-Length``, or 404 (``x-ms-error-code: BlobNotFound`` / ``ContainerNotFound``);
- ``PUT`` (Put Blob, https://learn.microsoft.com/rest/api/storageservices/put-blob): needs
  ``x-ms-blob-type: BlockBlob``; with ``If-None-Match: *`` an existing blob is refused with
  409 ``BlobAlreadyExists``; 201 otherwise.

Every request needs ``x-ms-version`` (400 ``MissingRequiredHeader``) and ``Authorization:
Bearer <token>`` with the double's storage token (401 ``NoAuthenticationInformation`` /
``InvalidAuthenticationInfo``); the caller must hold Storage Blob Data Contributor (writes)
or Reader (reads) on the container in the ARM double (403 ``AuthorizationPermissionMismatch``),
as "Authorize access to blobs using Microsoft Entra ID" describes
(https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory).
The container exists when the ARM double holds it. It stands in for the Blob service in the
bakes, where the storage account is the one the ARM double deployed (RBAC on it included);
the tool's Blob client itself is tested against real Azurite with OAuth over HTTPS
(``tests/test_blob_upload_azurite.py``).
"""

from __future__ import annotations

import hmac
from http.server import BaseHTTPRequestHandler
from typing import Any

from .loopback import LoopbackServer

CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


class FakeBlobStorage(LoopbackServer):
    """The Blob service of the ARM double's storage accounts; ``token`` is the only one taken,
    as the caller ``caller_id`` (the user's object id in the ARM double)."""

    def __init__(self, arm: Any, *, token: str, caller_id: str) -> None:
        super().__init__()
        self.arm, self.token, self.caller_id = arm, token, caller_id
        self.blobs: dict[tuple[str, str, str], bytes] = {}

    @property
    def base(self) -> str:
        """What ``AZURE_STORAGE_BLOB_URL`` is set to."""
        return f"{self.url}/{{account}}"

    def add_blob(self, account: str, container: str, name: str, data: bytes) -> None:
        with self._lock:
            self.blobs[(account, container, name)] = data

    def _is_write(self, method: str, path: str) -> bool:
        return method not in ("GET", "HEAD")

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        record = self._receive(h)
        # An injected fault (LoopbackServer.inject): ``message`` is the error code it answers.
        fault = self._take_fault(record.method, record.path)
        if fault is not None:
            status, code = fault.status, fault.message or "InternalError"
        else:
            status, code = self._answer(record.method, record.path, h.headers, record.body)
        headers = [("x-ms-request-id", "fake"), ("x-ms-version", "2023-11-03")]
        if fault is not None and fault.retry_after is not None:
            headers.append(("Retry-After", f"{fault.retry_after:g}"))
        body = b""
        if code:
            headers.append(("x-ms-error-code", code))
            if record.method != "HEAD":
                body = (
                    f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
                    f"<Message>{code}</Message></Error>"
                ).encode()
        self._reply(h, record, status, headers, body, fault)

    def _container_roles(self, account: str, container: str) -> set[str]:
        suffix = f"/storageaccounts/{account}/blobservices/default/containers/{container}".lower()
        roles = set()
        for assignment in self.arm.role_assignments().values():
            props = assignment["properties"]
            if props["principalId"] == self.caller_id and props["scope"].lower().endswith(suffix):
                roles.add(props["roleDefinitionId"].rsplit("/", 1)[-1])
        return roles

    def _answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str]:
        parts = path.strip("/").split("/", 2)
        if len(parts) != 3 or method not in ("HEAD", "PUT"):
            return 400, "UnsupportedHttpVerb" if len(parts) == 3 else "InvalidUri"
        account, container, name = parts
        if not headers.get("x-ms-version"):
            return 400, "MissingRequiredHeader"
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if not token:
            return 401, "NoAuthenticationInformation"
        if scheme != "Bearer" or not hmac.compare_digest(token, self.token):
            return 401, "InvalidAuthenticationInfo"
        exists = any(
            r["type"] == "Microsoft.Storage/storageAccounts/blobServices/containers"
            and r["id"]
            .lower()
            .endswith(f"/{account}/blobservices/default/containers/{container}".lower())
            for r in self.arm.resources().values()
        )
        if not exists:
            return 404, "ContainerNotFound"
        roles = self._container_roles(account, container)
        allowed = {CONTRIBUTOR} if method == "PUT" else {CONTRIBUTOR, READER}
        if not roles & allowed:
            return 403, "AuthorizationPermissionMismatch"
        key = (account, container, name)
        with self._lock:
            if method == "HEAD":
                return (200, "") if key in self.blobs else (404, "BlobNotFound")
            if headers.get("x-ms-blob-type") != "BlockBlob":
                return 400, "MissingRequiredHeader"
            if headers.get("If-None-Match") == "*" and key in self.blobs:
                return 409, "BlobAlreadyExists"
            self.blobs[key] = body
        return 201, ""
