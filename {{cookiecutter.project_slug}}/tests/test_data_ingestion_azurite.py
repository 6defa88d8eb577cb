"""Integration tests of DataIngestor against real Blob storage (Azurite on 127.0.0.1)."""

from __future__ import annotations

import io
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from azure.storage.blob import (
    BlobServiceClient,
    ContainerSasPermissions,
    generate_container_sas,
)
from azurite_service import AZURITE_ACCOUNT, AZURITE_KEY, Azurite

from {{ cookiecutter.module_name }}.data_ingestion import (
    BlobNotFoundError,
    ContainerNotFoundError,
    DataIngestor,
    DataParseError,
    StorageAuthenticationError,
)

pytestmark = pytest.mark.azurite


def _gzip_csv(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_csv(buffer, index=False, compression="gzip")
    return buffer.getvalue()


SERIALIZERS: dict[str, Callable[[pd.DataFrame], bytes]] = {
    "csv": lambda df: df.to_csv(index=False).encode(),
    "csv.gz": _gzip_csv,
    "parquet": lambda df: df.to_parquet(index=False),
    "json": lambda df: df.to_json(orient="records").encode(),
    "jsonl": lambda df: df.to_json(orient="records", lines=True).encode(),
}


@pytest.fixture
def container(azurite: Azurite) -> str:
    """A new, empty container for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    BlobServiceClient.from_connection_string(
        azurite.connection_string
    ).create_container(name)
    return name


def upload(azurite: Azurite, container: str, name: str, data: bytes) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.get_blob_client(container, name).upload_blob(data, overwrite=True)


def connection_secrets(azurite: Azurite, container: str) -> dict[str, str]:
    return {"connection_string": azurite.connection_string, "container_name": container}


def account_key_secrets(azurite: Azurite, container: str, key: str) -> dict[str, str]:
    return {
        "storage_account_name": AZURITE_ACCOUNT,
        "storage_account_key": key,
        "blob_endpoint": azurite.blob_endpoint,
        "container_name": container,
    }


@pytest.mark.parametrize("extension", sorted(SERIALIZERS))
def test_reads_each_format_from_blob_storage(
    extension: str, azurite: Azurite, container: str, iris: pd.DataFrame
) -> None:
    name = f"folder/iris.{extension}"
    upload(azurite, container, name, SERIALIZERS[extension](iris))
    df = DataIngestor(name, connection_secrets(azurite, container)).get_df()
    pd.testing.assert_frame_equal(df, iris)


def test_large_blob_is_downloaded_in_parallel_ranges(
    azurite: Azurite, container: str
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200_000, 4)), columns=list("abcd"))
    data = frame.to_csv(index=False).encode()
    upload(azurite, container, "big.csv", data)
    # Small range sizes force many ranged GETs over several connections.
    ingestor = DataIngestor(
        "big.csv",
        connection_secrets(azurite, container),
        max_concurrency=4,
        max_single_get_size=1024 * 1024,
        max_chunk_get_size=512 * 1024,
    )
    assert len(data) > 8 * 1024 * 1024
    pd.testing.assert_frame_equal(ingestor.get_df(), pd.read_csv(io.BytesIO(data)))


def test_account_key_secrets_with_blob_endpoint(
    azurite: Azurite, container: str, iris: pd.DataFrame
) -> None:
    upload(azurite, container, "iris.csv", SERIALIZERS["csv"](iris))
    secrets = account_key_secrets(azurite, container, AZURITE_KEY)
    pd.testing.assert_frame_equal(DataIngestor("iris.csv", secrets).get_df(), iris)


def test_sas_token_from_environment_variables(
    azurite: Azurite,
    container: str,
    iris: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(azurite, container, "iris.parquet", SERIALIZERS["parquet"](iris))
    token = generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT)
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "?" + token)
    monkeypatch.setenv("AZURE_STORAGE_BLOB_ENDPOINT", azurite.blob_endpoint)
    monkeypatch.setenv("AZURE_STORAGE_CONTAINER", container)
    pd.testing.assert_frame_equal(DataIngestor("iris.parquet").get_df(), iris)


def test_missing_blob_names_account_container_and_blob(
    azurite: Azurite, container: str
) -> None:
    ingestor = DataIngestor("nothere.csv", connection_secrets(azurite, container))
    with pytest.raises(BlobNotFoundError) as raised:
        ingestor.get_df()
    message = str(raised.value)
    assert "nothere.csv" in message
    assert repr(container) in message
    assert repr(AZURITE_ACCOUNT) in message


def test_missing_blob_also_names_the_local_file_looked_for(
    azurite: Azurite, container: str
) -> None:
    ingestor = DataIngestor("data/nothere.csv", connection_secrets(azurite, container))
    with pytest.raises(BlobNotFoundError) as raised:
        ingestor.get_df()
    message = str(raised.value)
    assert f"no blob data/nothere.csv in the container {container!r}" in message
    assert str(Path("data/nothere.csv").resolve()) in message
    assert "./data/nothere.csv" in message and "blob:data/nothere.csv" in message


def test_blob_prefix_reads_the_blob_even_beside_a_local_file(
    azurite: Azurite, container: str, iris: pd.DataFrame, tmp_path: Path
) -> None:
    upload(azurite, container, "iris.csv", SERIALIZERS["csv"](iris))
    (tmp_path / "iris.csv").write_text("a,b\n1,2\n")  # the current folder
    secrets = connection_secrets(azurite, container)
    pd.testing.assert_frame_equal(DataIngestor("blob:iris.csv", secrets).get_df(), iris)
    assert list(DataIngestor("iris.csv", secrets).get_df().columns) == ["a", "b"]


def test_missing_container_names_account_and_container(azurite: Azurite) -> None:
    ingestor = DataIngestor("any.csv", connection_secrets(azurite, "no-such-container"))
    with pytest.raises(
        ContainerNotFoundError, match=r"'no-such-container'.*'devstoreaccount1'"
    ):
        ingestor.get_df()


def test_wrong_account_key_is_an_authentication_error(
    azurite: Azurite, container: str, iris: pd.DataFrame
) -> None:
    upload(azurite, container, "iris.csv", SERIALIZERS["csv"](iris))
    secrets = account_key_secrets(azurite, container, "d3Jvbmcga2V5")
    with pytest.raises(StorageAuthenticationError, match="refused access") as raised:
        DataIngestor("iris.csv", secrets).get_df()
    assert "d3Jvbmcga2V5" not in "".join(traceback.format_exception(raised.value))


def test_unparsable_blob_names_the_blob(azurite: Azurite, container: str) -> None:
    upload(azurite, container, "broken.parquet", b"not parquet")
    ingestor = DataIngestor("broken.parquet", connection_secrets(azurite, container))
    with pytest.raises(DataParseError, match=r"broken\.parquet.*'devstoreaccount1'"):
        ingestor.get_df()
