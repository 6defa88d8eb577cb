"""Write the smoke test's payload from the training data.

``.azureml/test.json`` is what the smoke test sends to ``/score`` (locally and
after each deployment): a few rows of ``settings.TRAINING_DATA``, without the
target column. Generated from the data, never edited by hand:

    python -m {{ cookiecutter.module_name }}.devtools.sample_payload --write
    python -m {{ cookiecutter.module_name }}.devtools.sample_payload --check

An error with the data is one line and exit code 1 (``--debug`` shows its
traceback). ``--check`` exits 1 when the file does not match the data (the tests and the
pre-commit hook run it). Run ``--write`` after changing TRAINING_DATA,
TARGET_COLUMN or the data's columns.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..command_line import DEBUG_HINT
from ..data_ingestion import DataIngestor
from ..data_ingestion.errors import DataIngestionError
from ..model_building.train import TrainingError, prepare, training_source
from .environment_files import find_project_root, parse_write_or_check

PAYLOAD_FILE = Path(".azureml") / "test.json"
ROWS = 2
COMMAND = "python -m {{ cookiecutter.module_name }}.devtools.sample_payload"


def payload_from(df: pd.DataFrame, rows: int = ROWS) -> dict[str, Any]:
    """``{"data": [...]}``: the first ``rows`` rows of ``df``'s features, as objects.

    Rows with every value present come first; the target column is left out.
    """
    features, _ = prepare(df)
    complete = features.dropna()
    chosen = (complete if len(complete) >= rows else features).head(rows)
    # pandas writes numpy values and NaN (as null) as plain JSON, and dates as
    # ISO 8601 text, which the model's preparation reads back as dates.
    return {
        "data": json.loads(
            chosen.to_json(orient="records", date_format="iso", date_unit="s")
        )
    }


def render(payload: dict[str, Any]) -> str:
    """The text of the payload file."""
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def expected_payload(source: str | None = None) -> str:
    """The payload file's text for the training data (default: settings.TRAINING_DATA)."""
    return render(payload_from(DataIngestor(source or training_source()).get_df()))


def is_stale(root: Path, source: str | None = None) -> bool:
    """Whether ``root``'s payload file is missing or differs from the data's."""
    path = root / PAYLOAD_FILE
    return not path.is_file() or path.read_text(encoding="utf-8") != expected_payload(
        source
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--write`` regenerates the payload, ``--check`` reports drift."""
    args = parse_write_or_check(argv, __doc__.splitlines()[0], debug=True)
    root = find_project_root()
    try:
        if args.write:
            (root / PAYLOAD_FILE).write_text(expected_payload(), encoding="utf-8")
            print(f"wrote {PAYLOAD_FILE} from {training_source()}")
            return 0
        stale = is_stale(root)
    except (DataIngestionError, TrainingError) as error:
        if args.debug:
            raise
        # The data cannot be read or used: its message says what to do.
        print(f"error: {error}\n{DEBUG_HINT}", file=sys.stderr)
        return 1
    if stale:
        print(
            f"{PAYLOAD_FILE} does not match the training data ({training_source()}); "
            f"run: {COMMAND} --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
