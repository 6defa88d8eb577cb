"""Data ingestion: one file from Azure Blob Storage (or a local path) to pandas.

Example::

    from {{ cookiecutter.module_name }}.data_ingestion import DataIngestor

    df = DataIngestor("{{ cookiecutter.data_file }}").get_df()
"""

from ..sample_data import sample_data_path
from .credentials import ENVIRONMENT_VARIABLES, StorageConfig, resolve_storage_config
from .errors import (
    BlobNotFoundError,
    ContainerNotFoundError,
    DataIngestionError,
    DataParseError,
    InvalidSecretsError,
    InvalidSourceError,
    LocalFileError,
    LocalFileNotFoundError,
    MissingCredentialsError,
    StorageAuthenticationError,
    StorageConnectionError,
    StorageNotFoundError,
    UnsupportedFormatError,
)
from .formats import SUPPORTED_EXTENSIONS
from .ingestor import DataIngestor

__all__ = [
    "ENVIRONMENT_VARIABLES",
    "SUPPORTED_EXTENSIONS",
    "BlobNotFoundError",
    "ContainerNotFoundError",
    "DataIngestionError",
    "DataIngestor",
    "DataParseError",
    "InvalidSecretsError",
    "InvalidSourceError",
    "LocalFileError",
    "LocalFileNotFoundError",
    "MissingCredentialsError",
    "StorageAuthenticationError",
    "StorageConfig",
    "StorageConnectionError",
    "StorageNotFoundError",
    "UnsupportedFormatError",
    "resolve_storage_config",
    "sample_data_path",
]
