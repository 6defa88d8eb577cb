"""The tool's Blob client (``mlops_template.blobs``) against the Blob double: what the
service says never crashes it, and an expired storage token is renewed (issue 21, items 4
and 6). Its uploads against real Azurite: ``test_blob_upload_azurite.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes.az_stub import STORAGE, AzStub, install_az
from fakes.blobs import CONTRIBUTOR, FakeBlobStorage

from mlops_template import blobs as blob_client
from mlops_template.auth import AzureCli, EntraToken
from mlops_template.blobs import BLOB_URL_VARIABLE, BlobContainer, BlobError

CONTAINER_ID = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
    "/blobServices/default/containers/data"
)


class _OneContainer:
    """What the Blob double asks the ARM double: the container exists, the user is its
    Storage Blob Data Contributor."""

    def __init__(self, caller_id: str) -> None:
        self.caller_id = caller_id

    def resources(self) -> dict[str, dict]:
        kind = "Microsoft.Storage/storageAccounts/blobServices/containers"
        return {CONTAINER_ID: {"type": kind, "id": CONTAINER_ID}}

    def role_assignments(self) -> dict[str, dict]:
        role = f"/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
        properties = {"principalId": self.caller_id, "scope": CONTAINER_ID,
                      "roleDefinitionId": role}  # fmt: skip
        return {"assignment": {"properties": properties}}


@pytest.fixture
def signed_in_blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[AzStub, FakeBlobStorage]]:
    """The signed-in stub az and the Blob double of one container the user may write."""
    stub = install_az(tmp_path / "az", "signed-in")
    monkeypatch.setenv("PATH", stub.env()["PATH"])
    caller = stub.object_id
    with FakeBlobStorage(_OneContainer(caller), token="", caller_id=caller) as blobs:
        monkeypatch.setenv(BLOB_URL_VARIABLE, blobs.base)
        yield stub, blobs


def _blob_upload(stub: AzStub, blobs: FakeBlobStorage, tmp_path: Path) -> bool:
    """Upload a small file to acct/data, the first storage token expiring before the upload."""
    data = tmp_path / "churn.csv"
    data.write_bytes(b"a,b\n1,2\n")
    credential = EntraToken(AzureCli(), STORAGE)
    credential.authorization()  # the first token, cached for its hour
    blobs.token = stub.renew(STORAGE)  # ... which the service no longer takes
    return BlobContainer(credential, "acct", "data").upload(data, "churn.csv")


def test_a_blob_upload_whose_entra_token_expired_is_renewed_and_sent_again(
    tmp_path: Path, signed_in_blobs: tuple[AzStub, FakeBlobStorage]
) -> None:
    """The Blob service's 401 on an expired storage token renews it and uploads again, as
    REST and git do."""
    stub, blobs = signed_in_blobs
    assert _blob_upload(stub, blobs, tmp_path) is True
    assert [r.method for r in blobs.requests] == ["PUT", "PUT"]
    assert list(blobs.blobs) == [("acct", "data", "churn.csv")]


def test_the_blob_service_refusing_the_sign_in_says_az_login_not_a_pat(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signed_in_blobs: tuple[AzStub, FakeBlobStorage],
) -> None:
    """Refused again after one renewal: the Blob service's own advice (az login), not the
    PAT variable nor a role to add."""
    stub, blobs = signed_in_blobs
    monkeypatch.setattr(stub, "renew", lambda resource: "a token the service never issued")
    with pytest.raises(BlobError) as caught:
        _blob_upload(stub, blobs, tmp_path)
    message = str(caught.value)
    assert caught.value.status == 401
    assert "refused the Azure CLI's sign-in token" in message and "az login" in message, message
    assert "AZURE_DEVOPS_EXT_PAT" not in message and "Contributor" not in message


@pytest.mark.parametrize("seconds", [float("inf"), 1e14])
def test_an_absurd_retry_after_of_the_blob_service_is_a_wait_too_long_not_a_crash(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signed_in_blobs: tuple[AzStub, FakeBlobStorage],
    seconds: float,
) -> None:
    """``Retry-After: inf`` or ``1e14`` on a 503: the clear "too long" error, nothing sent
    again, no sleep (it was OverflowError for inf, and a sleep of 3 million years for 1e14)."""
    _, blobs = signed_in_blobs
    slept: list[float] = []
    monkeypatch.setattr(blob_client, "time", SimpleNamespace(sleep=slept.append))  # its sleeps only
    blobs.inject(503, method="PUT", retry_after=seconds)
    data = tmp_path / "churn.csv"
    data.write_bytes(b"a,b\n1,2\n")
    container = BlobContainer(EntraToken(AzureCli(), STORAGE), "acct", "data")
    with pytest.raises(BlobError, match=r"nothing more was sent\. Run provision again") as caught:
        container.upload(data, "churn.csv")
    assert caught.value.status == 503
    assert slept == [] and len(blobs.requests) == 1


def test_a_retry_after_of_the_blob_service_that_is_not_a_number_is_ignored(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signed_in_blobs: tuple[AzStub, FakeBlobStorage],
) -> None:
    """``Retry-After: nan`` is no wait at all (it was a ValueError): the usual back-off."""
    stub, blobs = signed_in_blobs
    slept: list[float] = []
    monkeypatch.setattr(blob_client, "time", SimpleNamespace(sleep=slept.append))  # its sleeps only
    blobs.inject(503, method="PUT", retry_after=float("nan"))
    blobs.token = stub.tokens[STORAGE]
    data = tmp_path / "churn.csv"
    data.write_bytes(b"a,b\n1,2\n")
    container = BlobContainer(EntraToken(AzureCli(), STORAGE), "acct", "data")
    assert container.upload(data, "churn.csv") is True
    assert slept == [1]
