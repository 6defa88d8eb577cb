"""The one rule that tells a local file from a blob name.

``DataIngestor``, ``train --data``, ``settings.TRAINING_DATA`` and the model
build pipeline's ``TRAINING_DATA`` variable all follow it:

- a path object, a ``file://`` URL, an absolute path, or a path starting with
  ``./`` or ``../`` is a local file;
- a name starting with ``blob:`` is a blob (``blob:raw/churn.csv``);
- any other name is a local file if one exists at that path (relative to the
  current folder), else a blob name in the storage container.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from .errors import DataIngestionError, InvalidSourceError

BLOB_PREFIX = "blob:"


def local_path(source: str | os.PathLike[str]) -> Path | None:
    """The local file ``source`` names, or None if it names a blob (see above).

    Raises:
        InvalidSourceError: ``source`` holds a NUL character, which no file or blob
            name may hold.
    """
    if "\0" in os.fspath(source):
        raise InvalidSourceError(
            f"cannot read {os.fspath(source)!r:.200}: a file or blob name cannot hold a "
            "NUL character (\\x00). Give the name of a data file."
        )
    if isinstance(source, os.PathLike):
        return Path(source)
    if source.startswith(BLOB_PREFIX):
        return None
    if source.startswith("file://"):
        parts = urlsplit(source)
        if parts.netloc not in ("", "localhost"):
            raise DataIngestionError(
                f"cannot read {source!r}: only file:// URLs on this machine "
                "(file:///path/to/file.csv) are supported."
            )
        return Path(url2pathname(unquote(parts.path)))
    if os.path.isabs(source) or source.startswith(("./", "../", ".\\", "..\\")):
        return Path(source)
    return Path(source) if Path(source).is_file() else None


def blob_name(source: str | os.PathLike[str]) -> str:
    """The blob name ``source`` gives, without the ``blob:`` prefix."""
    name = os.fspath(source)
    return name.removeprefix(BLOB_PREFIX)


def not_local_hint(source: str | os.PathLike[str]) -> str:
    """For a blob that could not be read: where else was looked, and how to choose.

    Empty when ``source`` was forced to be a blob with ``blob:``.
    """
    name = os.fspath(source)
    if name.startswith(BLOB_PREFIX):
        return ""
    return (
        f" No local file {Path(name).absolute()} exists either. For a local file, "
        f"give its path from the current folder (./{name}) or an absolute path; "
        f"to read only the blob, write {BLOB_PREFIX}{name}."
    )
