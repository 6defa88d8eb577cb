"""Batch scoring: files of records in, one prediction per row out, in chunks.

The same model, the same input checks and the same predictions as the online
``score.py`` (this module calls its ``init`` and ``frame_input``), for data
too big for one request. Each file is read a chunk of rows at a time
(``--chunk-rows``, or ``$BATCH_CHUNK_ROWS``; default 50,000), so a file
needs memory for one chunk, never for all of it.

On this machine::

    python -m {{ cookiecutter.module_name }}.deployment.batch INPUT OUTPUT [--model-dir DIR]

INPUT is a file (``.csv``, ``.csv.gz``, ``.parquet``, ``.jsonl``) or a folder
of such files (searched recursively, hidden files left out); OUTPUT is one
``.csv``, ``.parquet`` or ``.jsonl`` file that does not exist yet
(``--overwrite`` replaces it). The model is the one ``*.pkl`` under
``--model-dir``, else ``$AZUREML_MODEL_DIR``, else ``outputs/``.

OUTPUT's columns: ``file`` (the input file, relative to INPUT's folder),
``row`` (the row's number in that file, from 0), the identifier columns the
model ignores (``settings.ID_COLUMNS`` at training) when the file has them,
and ``predictions``, as score.py answers them. OUTPUT appears only when every
file is scored: a file that cannot be scored stops the run with one error
naming it, and leaves no partial OUTPUT.

In Azure ML, this file is the scoring script of the batch deployment
(``batch_endpoint.py``, SDK v2): its ``init()`` loads the model once and
``run(mini_batch)`` scores a list of files and returns their rows as one
DataFrame, which the deployment appends to its ``predictions.csv``
(https://learn.microsoft.com/azure/machine-learning/how-to-batch-scoring-script).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if not __package__:
    # Loaded by its path (Azure ML's batch runtime imports the scoring script
    # as a file): the package is the src/ folder uploaded with it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from {{ cookiecutter.module_name }}.deployment import (
    score,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS_VARIABLE = "BATCH_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 50_000
DEFAULT_MODEL_DIR = "outputs"
# Input formats, by the file name's ending (longest first: ".csv.gz" wins).
INPUT_FORMATS = (".csv.gz", ".parquet", ".jsonl", ".csv")
OUTPUT_FORMATS = (".csv", ".parquet", ".jsonl")
PARQUET_BUFFER_BYTES = 256 * 1024
PREDICTIONS = "predictions"  # the column, named as score.py's answer names them


class BatchScoringError(RuntimeError):
    """A file or a setting that stops batch scoring; the message says what to do."""


def _input_format(path: Path) -> str:
    """The ending of INPUT_FORMATS that ``path`` has, case-insensitively."""
    name = path.name.lower()
    for ending in INPUT_FORMATS:
        if name.endswith(ending):
            return ending
    raise BatchScoringError(
        f"cannot score {path}: batch scoring reads {', '.join(INPUT_FORMATS)} "
        "files (a .json file is one document: write it as JSON Lines, .jsonl)"
    )


def chunk_rows_setting() -> int:
    """``$BATCH_CHUNK_ROWS``, or DEFAULT_CHUNK_ROWS when it is not set."""
    value = os.environ.get(CHUNK_ROWS_VARIABLE, "").strip()
    if not value:
        return DEFAULT_CHUNK_ROWS
    return _positive_rows(value, CHUNK_ROWS_VARIABLE)


def _positive_rows(value: str, name: str) -> int:
    try:
        rows = int(value)
    except ValueError:
        rows = 0
    if rows < 1:
        raise BatchScoringError(
            f"{name} must be a whole number of rows above 0, got {value!r}"
        )
    return rows


def read_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``path``, ``chunk_rows`` at a time, as DataFrames.

    Parquet through pyarrow's ``ParquetFile.iter_batches`` (a row group is
    read at a time, not the file); CSV and JSON Lines through pandas'
    ``chunksize`` readers.
    """
    ending = _input_format(path)
    if ending == ".parquet":
        import pyarrow.parquet as pq

        # Buffered reads of each column chunk, on one thread: about 20 MB less
        # than pyarrow's defaults on a file of row groups of a million rows,
        # as fast (benchmarks/batch.py).
        with pq.ParquetFile(
            path, buffer_size=PARQUET_BUFFER_BYTES, pre_buffer=False
        ) as parquet:
            for batch in parquet.iter_batches(batch_size=chunk_rows, use_threads=False):
                yield batch.to_pandas()
        return
    if ending == ".jsonl":
        reader = pd.read_json(
            path, lines=True, chunksize=chunk_rows, encoding="utf-8-sig"
        )
    else:
        reader = pd.read_csv(path, chunksize=chunk_rows)
    with reader:
        yield from reader


def score_chunk(frame: pd.DataFrame) -> np.ndarray:
    """The predictions for the rows of ``frame``, checked as score.py checks a request.

    Raises:
        score.BadRequestError: Rows that score.py would refuse.
    """
    features = score.frame_input(frame)
    return np.asarray(score.model.predict(features))


def score_file(path: Path, chunk_rows: int, name: str) -> Iterator[pd.DataFrame]:
    """The output rows of the file ``path`` (shown as ``name``), chunk by chunk.

    Raises:
        BatchScoringError: The file cannot be read or a chunk cannot be
            scored; the message names the file and the chunk's rows.
    """
    start = 0
    chunks = read_chunks(path, chunk_rows)
    while True:
        try:
            frame = next(chunks)
        except StopIteration:
            return
        except (ValueError, OSError, UnicodeDecodeError) as error:
            # pandas' ParserError and pyarrow's ArrowInvalid are ValueErrors.
            raise BatchScoringError(
                f"cannot read {path} after row {start}: {error!s:.300}. "
                "Check that the file is complete and in its format."
            ) from None
        stop = start + len(frame)
        try:
            predictions = score_chunk(frame)
        except OverflowError:
            message = score.TOO_LARGE
        except score.BadRequestError as error:
            message = str(error)
        except (ValueError, TypeError) as error:
            message = f"the model could not score them: {error!s:.300}"
        else:
            yield _output(frame, predictions, name, start)
            start = stop
            continue
        raise BatchScoringError(_chunk_error(path, start, stop, message))


def _chunk_error(path: Path, start: int, stop: int, message: str) -> str:
    return (
        f"cannot score rows {start} to {stop - 1} of {path} (rows count from 0, "
        f"'row N of data' from the first of them): {message}"
    )


def _output(
    frame: pd.DataFrame, predictions: np.ndarray, name: str, start: int
) -> pd.DataFrame:
    """The output rows: file, row, the identifier columns present, predictions."""
    columns: dict[str, Any] = {
        # One name per chunk: a categorical, not a string per row.
        "file": pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [name]),
        "row": np.arange(start, start + len(frame), dtype=np.int64),
    }
    for column in frame.columns:
        if column in score._ignored:
            columns[str(column)] = frame[column].to_numpy()
    columns[PREDICTIONS] = predictions
    return pd.DataFrame(columns)


def input_files(source: Path) -> list[Path]:
    """``source`` itself, or the files under the folder ``source``, sorted.

    Raises:
        BatchScoringError: ``source`` does not exist, or its folder holds no
            files, or files of another format.
    """
    if source.is_file():
        _input_format(source)
        return [source]
    if not source.is_dir():
        raise BatchScoringError(
            f"{source} does not exist; give a {', '.join(INPUT_FORMATS)} file "
            "or a folder of them"
        )
    files = sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(source).parts)
    )
    if not files:
        raise BatchScoringError(f"the folder {source} holds no files to score")
    others = [path for path in files if not path.name.lower().endswith(INPUT_FORMATS)]
    if others:
        names = ", ".join(str(path.relative_to(source)) for path in others[:5])
        raise BatchScoringError(
            f"the folder {source} holds files batch scoring cannot read ({names}); "
            f"keep only {', '.join(INPUT_FORMATS)} files in it"
        )
    return files


class _Writer:
    """Appends output frames to one CSV, Parquet or JSON Lines file."""

    def __init__(self, path: Path, ending: str) -> None:
        self.path = path
        self.ending = ending
        self.parquet: Any = None
        self.started = False

    def write(self, frame: pd.DataFrame) -> None:
        if self.ending == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, table.schema)
            self.parquet.write_table(table.cast(self.parquet.schema))
        elif self.ending == ".jsonl":
            with self.path.open("a" if self.started else "w", encoding="utf-8") as out:
                frame.to_json(out, orient="records", lines=True)
        else:
            frame.to_csv(
                self.path,
                mode="a" if self.started else "w",
                header=not self.started,
                index=False,
            )
        self.started = True

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
            self.parquet = None


@contextmanager
def _output_file(output: Path, overwrite: bool) -> Iterator[_Writer]:
    """A writer to a file beside ``output`` that becomes ``output`` on success."""
    ending = next(
        (ending for ending in OUTPUT_FORMATS if output.name.lower().endswith(ending)),
        None,
    )
    if ending is None:
        raise BatchScoringError(
            f"cannot write {output}: name an output file ending in "
            f"{', '.join(OUTPUT_FORMATS)}"
        )
    if output.exists() and not overwrite:
        raise BatchScoringError(
            f"{output} exists already; name a new output file, or pass --overwrite "
            "to replace it"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    writer = _Writer(partial, ending)
    try:
        yield writer
        writer.close()
        if not writer.started:
            _Writer(partial, ending).write(_empty_output())
        partial.replace(output)
    finally:
        writer.close()
        partial.unlink(missing_ok=True)


def _empty_output() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": pd.Series(dtype=str),
            "row": pd.Series(dtype=np.int64),
            PREDICTIONS: pd.Series(dtype=object),
        }
    )


def score_files(
    source: Path, output: Path, *, chunk_rows: int, overwrite: bool = False
) -> int:
    """Score ``source`` (a file or a folder) into ``output``; return the row count.

    Raises:
        BatchScoringError: A file or the output cannot be used; nothing is
            written to ``output`` then.
    """
    if score.model is None:
        raise score.ModelLoadError("no model loaded: call score.init() first")
    files = input_files(source)
    base = source if source.is_dir() else source.parent
    rows = 0
    with _output_file(output, overwrite) as writer:
        for path in files:
            name = path.relative_to(base).as_posix()
            logger.info("Scoring %s", name)
            for frame in score_file(path, chunk_rows, name):
                writer.write(frame)
                rows += len(frame)
    return rows


# --- Azure ML batch deployment: the scoring script's init() and run() --------

_chunk_rows = DEFAULT_CHUNK_ROWS


def init() -> None:
    """Load the model once (``$AZUREML_MODEL_DIR``, as score.py does) and the chunk size."""
    global _chunk_rows
    score.init(collect=False)  # a batch job collects nothing
    _chunk_rows = chunk_rows_setting()


def run(mini_batch: list[str]) -> pd.DataFrame:
    """Score the files of one mini-batch; return all their output rows.

    ``file`` holds each file's name: the rows of every mini-batch land in one
    output file, in no particular order.

    Raises:
        BatchScoringError: A file cannot be read or scored (Azure ML retries
            the mini-batch, then counts it as failed).
    """
    frames = [
        frame
        for path in map(Path, mini_batch)
        for frame in score_file(path, _chunk_rows, path.name)
    ]
    return pd.concat(frames, ignore_index=True) if frames else _empty_output()


# --- Command line ------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Score INPUT into OUTPUT; print the row count."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}", description=__doc__.splitlines()[0]
    )
    parser.add_argument("input", type=Path, help="a file, or a folder of files")
    parser.add_argument(
        "output", type=Path, help="the .csv, .parquet or .jsonl to write"
    )
    parser.add_argument(
        "--model-dir",
        help=f"folder of model.pkl (default: ${score.MODEL_DIR_VARIABLE}, else "
        f"{DEFAULT_MODEL_DIR}/)",
    )
    parser.add_argument(
        "--chunk-rows",
        help=f"rows read and scored at a time (default: ${CHUNK_ROWS_VARIABLE}, "
        f"else {DEFAULT_CHUNK_ROWS})",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace OUTPUT if it exists"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model_dir = (
        args.model_dir or os.environ.get(score.MODEL_DIR_VARIABLE) or DEFAULT_MODEL_DIR
    )
    try:
        chunk_rows = (
            _positive_rows(args.chunk_rows, "--chunk-rows")
            if args.chunk_rows
            else chunk_rows_setting()
        )
        score.init(model_dir, collect=False)
        rows = score_files(
            args.input, args.output, chunk_rows=chunk_rows, overwrite=args.overwrite
        )
    except (BatchScoringError, score.ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Scored {rows} rows into {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
