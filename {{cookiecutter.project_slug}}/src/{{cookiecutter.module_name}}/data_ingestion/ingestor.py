"""``DataIngestor``: one data file, from Azure Blob Storage or a local path, to pandas."""

from __future__ import annotations

import errno
import os
import stat
from io import BytesIO
from pathlib import Path
from typing import IO, Any

import pandas as pd
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobServiceClient

from .. import settings
from .credentials import SecretsSource, StorageConfig, resolve_storage_config
from .errors import (
    BlobNotFoundError,
    ContainerNotFoundError,
    DataIngestionError,
    InvalidSecretsError,
    LocalFileError,
    LocalFileNotFoundError,
    MissingCredentialsError,
    StorageAuthenticationError,
    StorageConnectionError,
)
from .formats import detect_extension, read_frame
from .sources import blob_name, local_path, not_local_hint

# Parallel connections for large blobs; the SDK downloads in ranges past its
# first 32 MiB request.
DEFAULT_MAX_CONCURRENCY = 8

# A storage endpoint that cannot be reached, never answers, or answers with an
# error gets ATTEMPTS attempts in all, with one back-off between them. The keywords
# are those of the Azure Storage client's retry policy (ExponentialRetry: back-off
# number n waits initial_backoff + increment_base**n seconds, give or take
# random_jitter_range) and of its transport:
# https://learn.microsoft.com/azure/storage/blobs/storage-retry-policy-python
# With initial_backoff 0 and increment_base settings.STORAGE_RETRY_BACKOFF, the one
# back-off (n = 1) waits STORAGE_RETRY_BACKOFF seconds, give or take a third.
ATTEMPTS = 2


def backoff_bounds() -> tuple[float, float]:
    """The shortest and longest back-off between the two attempts, in seconds."""
    backoff = settings.STORAGE_RETRY_BACKOFF
    return backoff - backoff / 3, backoff + backoff / 3


def bounded_client_options(timeout: float) -> dict[str, Any]:
    """Client options under which a failing endpoint fails within ``timeout`` seconds.

    Two attempts in all (``retry_total=1``), whatever fails: a connection not made,
    an endpoint that stays silent, an HTTP 500. Each attempt may wait a quarter of
    ``timeout - back-off`` to connect, and as long for each read once connected (a
    download keeps going as long as data keeps coming); a refused connection fails
    at once and is retried once.
    """
    longest_backoff = backoff_bounds()[1]
    if timeout <= longest_backoff:
        raise DataIngestionError(
            f"timeout={timeout!r} is too short: give more than "
            f"{longest_backoff:g} seconds (default settings.STORAGE_TIMEOUT, "
            f"{settings.STORAGE_TIMEOUT:g} s)."
        )
    # Per attempt: a connection, then a read, each waited for at most this long.
    wait = (timeout - longest_backoff) / (2 * ATTEMPTS)
    return {
        "connection_timeout": wait,
        "read_timeout": wait,
        "retry_total": ATTEMPTS - 1,
        "initial_backoff": 0,
        "increment_base": settings.STORAGE_RETRY_BACKOFF,
        "random_jitter_range": settings.STORAGE_RETRY_BACKOFF / 3,
    }


def default_credential() -> Any:
    """``DefaultAzureCredential``, for an account or endpoint given without a key or SAS.

    In a pipeline's AzureCLI@2 step it signs in as the service connection's
    identity (its ``AzureCliCredential``); on an Azure ML cluster, as the
    cluster's managed identity; on a laptop, as the ``az login`` user:
    https://learn.microsoft.com/azure/developer/python/sdk/authentication/credential-chains#defaultazurecredential-overview

    Imported here so that nothing probes for credentials unless it is needed.
    """
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def blob_service_client(
    config: StorageConfig, credential: Any = None, **client_options: Any
) -> BlobServiceClient:
    """A ``BlobServiceClient`` for ``config``.

    ``credential`` is used only when the config has an account name or a blob
    endpoint but no connection string, key or SAS token; None means
    ``DefaultAzureCredential``.
    """
    try:
        if config.connection_string:
            return BlobServiceClient.from_connection_string(
                config.connection_string, **client_options
            )
        if config.account_key:
            auth: Any = AzureNamedKeyCredential(config.account_name, config.account_key)
        elif config.sas_token:
            auth = AzureSasCredential(config.sas_token.lstrip("?"))
        else:
            auth = credential if credential is not None else default_credential()
        return BlobServiceClient(config.account_url, credential=auth, **client_options)
    except ValueError as error:  # the SDK's message names no secret
        what = "connection_string" if config.connection_string else "blob_endpoint"
        raise InvalidSecretsError(
            f"the '{what}' in {config.source} cannot be used: {error} Copy the "
            "connection string from the Azure portal (storage account > Access keys), "
            "or give an endpoint such as https://<account>.blob.core.windows.net."
        ) from error


def _open_regular_file(path: Path) -> IO[bytes]:
    """``path`` opened for reading, refused unless it is a regular file.

    Opened without blocking, so that a named pipe (FIFO) is refused at once
    instead of waiting forever for a writer.

    Raises:
        OSError: It cannot be opened, or it is a folder, a pipe or a device.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(
                errno.EINVAL, "it is not a regular file (a folder, a pipe or a device)"
            )
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _code(error: AzureError) -> str:
    """The status and storage error code of ``error`` as plain text."""
    code = getattr(error, "error_code", None)
    text = str(getattr(code, "value", code) or getattr(error, "reason", None) or error)
    status = getattr(error, "status_code", None)
    return f"{status} {text}" if status else text


class DataIngestor:
    """Reads one data file into a pandas DataFrame.

    The file is a blob in Azure Blob Storage, or a local file for offline work
    (see ``sources``: the rule that tells them apart). Its format follows its extension: ``.csv``,
    ``.csv.gz``, ``.parquet``, ``.json`` or ``.jsonl``.

    Example:
        >>> df = DataIngestor("raw/churn.csv").get_df(sep=";")

    Args:
        filename: Blob name in the container, or a local source.
        secrets: Storage credentials: a dict, a path to a JSON file, or None
            to use ``./secrets.json`` or the project root's when present, else
            the environment variables ``AZURE_STORAGE_*`` (see ``credentials``).
        container_name: Overrides the container named by the secrets.
        credential: An Azure credential to use when the secrets give an
            account name or a blob endpoint with neither key nor SAS token;
            default ``DefaultAzureCredential``.
        max_concurrency: Parallel connections for large blobs.
        timeout: Seconds after which a storage endpoint that cannot be reached
            or does not answer fails with ``StorageConnectionError``, and one
            that answers with errors with ``DataIngestionError`` (see
            ``bounded_client_options``); default ``settings.STORAGE_TIMEOUT``.
        client_options: Passed to ``BlobServiceClient`` (for example
            ``max_single_get_size``, ``max_chunk_get_size``, or its retry
            keywords, which replace the bounded ones).

    Raises:
        UnsupportedFormatError: The extension is not supported.
        InvalidSourceError: The name holds a NUL character.
        MissingCredentialsError: A blob is named but no credentials are found.
        InvalidSecretsError: The credentials found cannot be used as they are.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        secrets: SecretsSource = None,
        *,
        container_name: str | None = None,
        credential: Any = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        timeout: float = settings.STORAGE_TIMEOUT,
        **client_options: Any,
    ) -> None:
        self.filename = filename
        self.extension = detect_extension(os.fspath(filename))
        self.path = local_path(filename)
        self.max_concurrency = max_concurrency
        self._credential = credential
        self._client_options = client_options
        if not any(key.startswith("retry_") for key in client_options):
            bounded = bounded_client_options(timeout)
            self._client_options = {**bounded, **client_options}
        self.storage: StorageConfig | None = None
        if self.path is None:
            try:
                self.storage = resolve_storage_config(secrets, container_name)
            except MissingCredentialsError as error:
                raise MissingCredentialsError(
                    f"{error}{not_local_hint(filename)}"
                ) from None

    def __repr__(self) -> str:
        """Name the source without any secret."""
        return f"DataIngestor({self.source!r})"

    @property
    def source(self) -> str:
        """Where the file is read from, for messages and logs."""
        if self.storage is None:
            return str(self.path)
        return (
            f"blob {blob_name(self.filename)} in container {self.storage.container_name!r} "
            f"of storage account {self.storage.account!r}"
        )

    def get_df(self, **read_kwargs: Any) -> pd.DataFrame:
        """Read the file into a DataFrame.

        Args:
            read_kwargs: Passed to the pandas reader of the format
                (``read_csv``, ``read_parquet`` or ``read_json``).

        Raises:
            DataParseError: The content is not valid for the format.
            LocalFileNotFoundError: A local source does not exist.
            LocalFileError: A local source cannot be read (a directory, say).
            ContainerNotFoundError, BlobNotFoundError: Not in the storage account.
            StorageAuthenticationError: The account rejected the credentials.
            StorageConnectionError: The storage endpoint cannot be reached.
        """
        if self.storage is None:
            try:
                with _open_regular_file(self.path) as stream:
                    return read_frame(stream, self.extension, self.source, read_kwargs)
            except FileNotFoundError as error:
                raise LocalFileNotFoundError(
                    f"the local file {self.path.absolute()} does not exist. Check "
                    "the path; a blob name must not start with './' or '/'."
                ) from error
            except OSError as error:  # a symlink loop, no permission, ...
                raise LocalFileError(
                    f"cannot read the local file {self.path.absolute()}: "
                    f"{error.strerror or error}. Give the path of a data file."
                ) from error
        stream = self._download(self.storage)
        return read_frame(stream, self.extension, self.source, read_kwargs)

    def _download(self, storage: StorageConfig) -> IO[bytes]:
        """Stream the blob into memory, in parallel ranges when it is large."""
        client = blob_service_client(
            storage, self._credential, **self._client_options
        ).get_blob_client(storage.container_name, blob_name(self.filename))
        buffer = BytesIO()
        try:
            client.download_blob(max_concurrency=self.max_concurrency).readinto(buffer)
        except AzureError as error:
            raise self._translate(error, storage) from error
        buffer.seek(0)
        return buffer

    def _translate(
        self, error: AzureError, storage: StorageConfig
    ) -> DataIngestionError:
        """The typed, actionable error for an Azure SDK error; no secret in it."""
        account = repr(storage.account)
        if isinstance(error, (ServiceRequestError, ServiceResponseError)):
            return StorageConnectionError(
                f"cannot reach the blob endpoint of storage account {account}: "
                f"{error}. Check the account name, the endpoint and the network."
            )
        status = getattr(error, "status_code", None)
        if isinstance(error, ClientAuthenticationError) and status is None:
            # No token: the credential itself failed before any request.
            reason = (error.message or str(error)).strip().splitlines()[0]
            return StorageAuthenticationError(
                f"could not sign in to storage account {account}: {reason}. Sign in "
                "(for example `az login`), or give a key, a SAS token or a "
                f"connection string in {storage.source}."
            )
        if isinstance(error, ClientAuthenticationError) or status in (401, 403):
            return StorageAuthenticationError(
                f"storage account {account} refused access with the credentials "
                f"from {storage.source} ({_code(error)}). Check the key, SAS token "
                "or connection string (not expired, with read permission), or the "
                "role of the signed-in identity."
            )
        if not isinstance(error, ResourceNotFoundError):
            return DataIngestionError(f"reading {self.source} failed: {_code(error)}.")
        where = f"container {storage.container_name!r} of storage account {account}"
        if error.error_code == "ContainerNotFound":
            return ContainerNotFoundError(
                f"the {where} does not exist. Check 'container_name' in "
                f"{storage.source} (or AZURE_STORAGE_CONTAINER)."
            )
        return BlobNotFoundError(
            f"no blob {blob_name(self.filename)} in the {where}. Check the file "
            f"name and upload the file if it is missing.{not_local_hint(self.filename)}"
        )
