"""Errors raised by ``DataIngestor``; each says what went wrong and what to do."""


class DataIngestionError(Exception):
    """Base class of every error ``DataIngestor`` raises."""


class MissingCredentialsError(DataIngestionError):
    """No storage credentials were found in any of the places looked at."""


class InvalidSecretsError(DataIngestionError):
    """A secrets file or dict exists but cannot be used as it is."""


class UnsupportedFormatError(DataIngestionError, ValueError):
    """The file name does not end in a supported extension."""


class DataParseError(DataIngestionError):
    """The file was read but its content is not valid for its format."""


class InvalidSourceError(DataIngestionError, ValueError):
    """The file name cannot name a file or a blob (a NUL character, say)."""


class LocalFileError(DataIngestionError, OSError):
    """A local source (path or file:// URL) cannot be read: a directory, say."""


class LocalFileNotFoundError(LocalFileError, FileNotFoundError):
    """A local source (path or file:// URL) does not exist."""


class StorageNotFoundError(DataIngestionError):
    """The storage container or blob does not exist."""


class ContainerNotFoundError(StorageNotFoundError):
    """The storage container does not exist."""


class BlobNotFoundError(StorageNotFoundError):
    """The blob does not exist in its container."""


class StorageAuthenticationError(DataIngestionError):
    """The storage account rejected the credentials."""


class StorageConnectionError(DataIngestionError):
    """The storage endpoint could not be reached."""
