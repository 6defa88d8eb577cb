"""The training data's upload (``mlops_template.blobs``) against real Azurite, signed in with Entra.

Azurite (npm ``azurite`` 3.35.0, the version the generated project pins) runs on 127.0.0.1
with ``--oauth basic``, which takes Bearer tokens only over HTTPS: the fixture makes a
self-signed certificate for 127.0.0.1 (``openssl``) and has ``requests`` trust it through
``REQUESTS_CA_BUNDLE``. Azurite checks a token's audience, issuer and lifetime, not its
signature, so the test's JWT-shaped token is enough. Azurite knows one account,
``devstoreaccount1``, which ``AZURE_STORAGE_BLOB_URL`` names.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mlops_template.blobs import BLOB_API, BLOB_URL_VARIABLE, BlobContainer, BlobError

AZURITE = "azurite@3.35.0"
ACCOUNT = "devstoreaccount1"
START_SECONDS = 120  # npx may fetch the package first


def _part(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def storage_token(audience: str = "https://storage.azure.com") -> str:
    tenant, now = str(uuid.uuid4()), int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "oid": str(uuid.uuid4()),
        "tid": tenant,
    }
    return f"{_part({'typ': 'JWT', 'alg': 'RS256'})}.{_part(claims)}.signature"


class Token:
    """A credential as ``auth.EntraToken`` is one, with a fixed token."""

    description = "test"

    def __init__(self, token: str) -> None:
        self.token = token

    def authorization(self) -> str:
        return f"Bearer {self.token}"

    def refresh(self) -> bool:
        return False

    def secrets(self) -> list[str]:
        return [self.token]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Azurite's blob endpoint over HTTPS with OAuth, and the certificate to trust."""
    for tool in ("npx", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run Azurite with HTTPS here; install it")
    folder = tmp_path_factory.mktemp("azurite")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    process = subprocess.Popen(
        ["npx", "--yes", "--package", AZURITE, "azurite-blob", "--disableTelemetry",
         "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--oauth", "basic", "--cert", str(cert), "--key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Azurite did not start on 127.0.0.1:{port}")
            time.sleep(0.2)
        yield f"https://127.0.0.1:{port}/{ACCOUNT}", cert
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the group this fixture started, by its id
        process.wait(timeout=30)


@pytest.fixture
def container(azurite: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> BlobContainer:
    """A new container, and the tool's client for it (signed in with a storage token)."""
    base, cert = azurite
    monkeypatch.setenv(BLOB_URL_VARIABLE, base)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    name = f"data{uuid.uuid4().hex[:8]}"
    token = Token(storage_token())
    created = requests.put(
        f"{base}/{name}",
        params={"restype": "container"},
        headers={"Authorization": token.authorization(), "x-ms-version": BLOB_API},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return BlobContainer(token, "churnmodeldata", name)


def read(container: BlobContainer, name: str) -> bytes:
    answer = requests.get(
        f"{container.url}/{name}",
        headers={"Authorization": container.credential.authorization(), "x-ms-version": BLOB_API},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.content


def test_the_file_is_uploaded_under_its_name(container: BlobContainer, tmp_path: Path) -> None:
    """Put Blob with a Bearer token: the file's bytes are in the container under that name."""
    data = tmp_path / "churn.csv"
    data.write_bytes(b"a,b\n1,2\n")
    assert container.exists("churn.csv") is False
    assert container.upload(data, "churn.csv") is True
    assert container.exists("churn.csv") is True
    assert read(container, "churn.csv") == b"a,b\n1,2\n"


def test_an_existing_blob_is_never_overwritten(container: BlobContainer, tmp_path: Path) -> None:
    """If-None-Match: * makes the service refuse a second upload; the first one stays."""
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(b"the team's own")
    second.write_bytes(b"something else")
    assert container.upload(first, "train.csv") is True
    assert container.upload(second, "train.csv") is False
    assert read(container, "train.csv") == b"the team's own"


def test_a_token_for_another_audience_is_refused(container: BlobContainer, tmp_path: Path) -> None:
    """A token that is not for storage is refused (403), named as an error with its status."""
    data = tmp_path / "churn.csv"
    data.write_bytes(b"x")
    container.credential = Token(storage_token("https://management.azure.com/"))
    with pytest.raises(BlobError) as refused:
        container.upload(data, "churn.csv")
    assert refused.value.status == 403
