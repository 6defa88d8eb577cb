"""Your preparation of raw records: the one place to edit.

``prepare_records`` runs inside the saved model, as its first step, on every
table the model sees: the training rows, the notebooks' rows, each request to
``score.py`` and the smoke test's payload. So whatever you write here is done
the same way in training and in serving, and the model takes raw records.

Column roles that settings can say are set in ``settings.py``:
``ID_COLUMNS`` (identifiers, never features; accepted and ignored in
requests) and ``TEXT_COLUMNS`` (free text, a bag of words). Datetime columns
become numbers (year, month, weekday, hour) and booleans 0/1 after this
function, by themselves. Write here only what settings cannot say, as a
``DataPreprocessor`` chain. For example::

    return (
        DataPreprocessor(df)
        .fill_missing(strategy="median", columns=["age"])
        .cast_types({"zip_code": "string"})  # a number that is a category
        .drop_columns("internal_notes")
        .get_df()
    )

Rules: one row in, one row out (do not drop or reorder rows: the model scores
every row it gets); learn nothing from the data (no means of this table: the
model's own steps impute and scale, from the training rows); do not use the
target column (requests do not have it). A column the function may not find
in a request is safer left alone; it is given the request's columns only.
"""

from __future__ import annotations

import pandas as pd

from .preprocessor import DataPreprocessor


def prepare_records(df: pd.DataFrame) -> pd.DataFrame:
    """The raw records ``df`` (without ID_COLUMNS), prepared for the model."""
    return DataPreprocessor(df).get_df()
