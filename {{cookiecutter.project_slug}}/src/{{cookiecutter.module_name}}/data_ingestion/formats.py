"""File formats ``DataIngestor`` reads, chosen from the file name's extension."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import IO, Any

import pandas as pd

from .errors import DataParseError, UnsupportedFormatError

Reader = Callable[..., pd.DataFrame]


def _read_csv_gz(stream: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    return pd.read_csv(stream, compression="gzip", **kwargs)


def _read_json(stream: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    # utf-8-sig: a byte-order mark (Windows editors write one) is read past, as
    # read_csv does by itself.
    return pd.read_json(stream, **{"encoding": "utf-8-sig", **kwargs})


def _read_jsonl(stream: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    return _read_json(stream, lines=True, **kwargs)


# Longest extensions first, so that ".csv.gz" wins over ".gz".
READERS: dict[str, Reader] = {
    ".csv.gz": _read_csv_gz,
    ".parquet": pd.read_parquet,
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".csv": pd.read_csv,
}
SUPPORTED_EXTENSIONS = tuple(sorted(READERS))

# What pandas, pyarrow, gzip and zlib raise on content that is not valid for
# its format (pandas' ParserError and EmptyDataError, and pyarrow's
# ArrowInvalid, are ValueErrors; gzip's BadGzipFile is an OSError).
_PARSE_ERRORS = (ValueError, UnicodeDecodeError, EOFError, OSError, zlib.error)


def detect_extension(name: str) -> str:
    """Return the supported extension ``name`` ends with, case-insensitively."""
    lowered = name.lower()
    for extension in READERS:
        if lowered.endswith(extension):
            return extension
    raise UnsupportedFormatError(
        f"cannot read {name!r}: its extension is not supported. Use a file "
        f"ending in one of {', '.join(SUPPORTED_EXTENSIONS)}."
    )


# Bytes read ahead to tell an empty (or blank) file from one with data.
_PEEK_SIZE = 64 * 1024


def _is_empty(stream: IO[bytes]) -> bool:
    """Whether ``stream`` holds nothing but whitespace; its position is kept.

    pandas reads an empty ``.jsonl`` as an empty DataFrame but refuses an
    empty ``.csv`` or ``.json``: every format is refused alike here.
    """
    start = stream.tell()
    head = stream.read(_PEEK_SIZE)
    stream.seek(start)
    return len(head) < _PEEK_SIZE and not head.strip()


def read_frame(
    stream: IO[bytes], extension: str, source: str, read_kwargs: dict[str, Any]
) -> pd.DataFrame:
    """Parse ``stream`` with the reader for ``extension``.

    ``source`` names the file in the error raised when the content cannot be
    parsed.
    """
    if _is_empty(stream):
        raise DataParseError(
            f"{source} is empty: it holds no {extension} data. Check that the "
            "file was written completely, or choose another file."
        )
    try:
        return READERS[extension](stream, **read_kwargs)
    except _PARSE_ERRORS as error:
        raise DataParseError(
            f"cannot parse {source} as {extension}: {error}. Check that the file "
            "is complete and that its extension matches its content."
        ) from error
