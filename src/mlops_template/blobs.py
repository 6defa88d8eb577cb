"""The team's training data into the data container: the Blob service REST API, Entra sign-in.

* Get Blob Properties (``HEAD``), https://learn.microsoft.com/rest/api/storageservices/get-blob-properties;
* Put Blob (``PUT``, ``x-ms-blob-type: BlockBlob``),
  https://learn.microsoft.com/rest/api/storageservices/put-blob, with ``If-None-Match: *`` so
  that an existing blob is never overwritten, not even by a run racing this one ("Specifying
  conditional headers for Blob service operations", 409 ``BlobAlreadyExists``).

Signed in with an Entra token for ``https://storage.azure.com/`` from the Azure CLI, sent as
Bearer with ``x-ms-version`` ("Authorize access to blobs using Microsoft Entra ID",
https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory);
the signed-in user holds Storage Blob Data Contributor on the container (the template gives
it). The service's base is ``https://<account>.blob.core.windows.net`` unless
``AZURE_STORAGE_BLOB_URL`` names another (``{account}`` in it is replaced).

The local file is ``TRAINING_DATA`` of the project's ``settings.py`` (read as text with
``ast``, never imported).
"""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path
from typing import BinaryIO

import requests

from .auth import Credential
from .client import quote
from .error_translation import retry_after
from .pacing import MAX_WAIT, after

STORAGE_RESOURCE = "https://storage.azure.com/"
BLOB_API = "2023-11-03"
BLOB_URL_VARIABLE = "AZURE_STORAGE_BLOB_URL"
BLOB_PREFIX = "blob:"  # the generated project's marker of a blob name (data_ingestion.sources)
TIMEOUT = 300.0  # an upload of a large file
ATTEMPTS = 4


class BlobError(RuntimeError):
    """The Blob service refused or failed; says which blob and why (``status``: HTTP status)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def upload_command(account: str, container: str, name: str, path: Path) -> str:
    """The ``az`` command that uploads the file by hand (never over an existing blob)."""
    return (
        f"az storage blob upload --auth-mode login --account-name {account} --container-name "
        f"{container} --name {name} --file {path} --overwrite false"
    )


def training_data(project_dir: Path) -> Path | None:
    """The local file ``TRAINING_DATA`` names in ``src/*/settings.py``, if it is one."""
    for settings_file in sorted(project_dir.glob("src/*/settings.py")):
        try:
            tree = ast.parse(settings_file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "TRAINING_DATA" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                value = node.value.value
                if not value or value.startswith(BLOB_PREFIX) or "://" in value:
                    return None
                path = Path(value) if Path(value).is_absolute() else project_dir / value
                return path if path.is_file() else None
    return None


def _advice(status: int) -> str:
    """What to do about a refusal: the Blob service's own advice, never a PAT's."""
    if status == 401:
        return (
            " (the Blob service refused the Azure CLI's sign-in token, also once renewed: run "
            "'az login' as a user of the storage account's tenant, then run provision again)"
        )
    if status == 403:
        return (
            " (the signed-in user needs Storage Blob Data Contributor on the container; "
            "a new role assignment can take a few minutes to apply: run provision again)"
        )
    return ""


class BlobContainer:
    """One container of one storage account."""

    def __init__(self, credential: Credential, account: str, container: str) -> None:
        base = os.environ.get(BLOB_URL_VARIABLE) or "https://{account}.blob.core.windows.net"
        self.url = f"{base.format(account=account).rstrip('/')}/{quote(container)}"
        self.credential = credential
        self.requests = 0
        self.writes = 0

    def _send(
        self, method: str, name: str, headers: dict[str, str], data: BinaryIO | None = None
    ) -> requests.Response:
        """One call, retried on 429 and 5xx (``Retry-After`` honoured) and lost connections:
        both operations are idempotent here (a read; a put that never overwrites)."""
        url = f"{self.url}/{quote(name)}"
        renewed = False
        for attempt in range(ATTEMPTS):
            sent = {
                "Authorization": self.credential.authorization(),
                "x-ms-version": BLOB_API,
                **headers,
            }
            self.requests += 1
            self.writes += method != "HEAD"
            if data is not None:
                data.seek(0)
            try:
                response = requests.request(method, url, headers=sent, data=data, timeout=TIMEOUT)
            except requests.RequestException as error:
                if attempt == ATTEMPTS - 1:
                    raise BlobError(f"cannot reach {url} ({error.__class__.__name__})") from None
                time.sleep(2**attempt)
                continue
            if response.status_code == 401 and not renewed and attempt < ATTEMPTS - 1:
                if not self.credential.refresh():
                    return response  # the same token again: refused again
                renewed = True  # an Entra token that expired: nothing was done; send it again
                continue
            if response.status_code in (429, 500, 502, 503) and attempt < ATTEMPTS - 1:
                seconds = retry_after(response)  # None when it is not a number
                if seconds is not None and seconds > MAX_WAIT:  # inf, 1e14: never slept
                    raise BlobError(
                        f"the Blob service is throttling {url} and asked to wait {seconds:.0f} "
                        f"s; nothing more was sent. Run provision again {after(seconds)}",
                        response.status_code,
                    )
                time.sleep(2**attempt if seconds is None else seconds)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def exists(self, name: str) -> bool:
        """[Get Blob Properties]: whether a blob of that name is there (no container: False)."""
        response = self._send("HEAD", name, {})
        if response.status_code == 404:
            return False
        if response.status_code >= 300:
            raise BlobError(
                f"cannot read blob {name!r} in {self.url}: HTTP {response.status_code}"
                + _advice(response.status_code),
                response.status_code,
            )
        return True

    def upload(self, path: Path, name: str) -> bool:
        """[Put Blob], never over an existing blob; False when one was there already."""
        with path.open("rb") as data:
            headers = {"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"}
            response = self._send("PUT", name, headers, data)
        if response.status_code == 409 and "BlobAlreadyExists" in response.text:
            return False
        if response.status_code == 412:  # the If-None-Match refusal some services give
            return False
        if response.status_code >= 300:
            code = response.headers.get("x-ms-error-code", "")
            raise BlobError(
                f"uploading {path.name} to {self.url} failed: HTTP {response.status_code} {code}"
                + _advice(response.status_code),
                response.status_code,
            )
        return True
