"""Upload a data file to the storage container: Azure, or Azurite on your machine.

    python -m {{ cookiecutter.module_name }}.devtools.upload_data data/churn.csv
    python -m {{ cookiecutter.module_name }}.devtools.upload_data data/churn.csv --blob raw/churn.csv

The storage account and container are found as ``DataIngestor`` finds them
(``secrets.json`` here or in the project folder, else the ``AZURE_STORAGE_*``
environment variables; the container defaults to settings.STORAGE_CONTAINER).
The container is created when it is missing, and a blob of that name is
replaced. It prints the ``TRAINING_DATA`` value that reads the blob back. An error is
one line and exit code 1 (``--debug`` shows its traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from azure.core.exceptions import AzureError, ResourceExistsError

from .. import settings
from ..command_line import DEBUG_HINT, add_debug_option
from ..data_ingestion import resolve_storage_config
from ..data_ingestion.errors import DataIngestionError
from ..data_ingestion.ingestor import blob_service_client, bounded_client_options
from ..data_ingestion.sources import BLOB_PREFIX


def upload(path: Path, blob: str) -> str:
    """Upload ``path`` as ``blob``; return where it went (account and container).

    Raises:
        DataIngestionError: No usable credentials (see ``resolve_storage_config``).
        AzureError: The storage service refused or could not be reached.
    """
    config = resolve_storage_config()
    options = bounded_client_options(settings.STORAGE_TIMEOUT)
    container = blob_service_client(config, **options).get_container_client(
        config.container_name
    )
    with contextlib.suppress(ResourceExistsError):  # the usual case
        container.create_container()
    with path.open("rb") as stream:
        container.upload_blob(blob, stream, overwrite=True)
    return f"container {config.container_name!r} of {config.account}"


def main(argv: list[str] | None = None) -> int:
    """Command line: upload one file; one line on success or error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the local file to upload")
    parser.add_argument(
        "--blob", help="the blob name (default: the file's name, such as churn.csv)"
    )
    add_debug_option(parser)
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.exit(1, f"error: {args.file} is not a file; give the file to upload\n")
    blob = args.blob or args.file.name
    try:
        where = upload(args.file, blob)
    except DataIngestionError as error:
        if args.debug:
            raise
        parser.exit(1, f"error: {error}\n{DEBUG_HINT}\n")
    except AzureError as error:
        if args.debug:
            raise
        first = next(iter(str(error).strip().splitlines()), type(error).__name__)
        parser.exit(
            1, f"error: cannot upload {args.file} as {blob!r}: {first}\n{DEBUG_HINT}\n"
        )
    print(f"uploaded {args.file} to {where} as {blob!r}")
    print(f'read it with TRAINING_DATA = "{BLOB_PREFIX}{blob}" in settings.py')
    return 0


if __name__ == "__main__":
    sys.exit(main())
