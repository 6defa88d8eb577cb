"""The model's first step: raw records in, feature columns out.

``RecordPreparation`` is a scikit-learn transformer that the training puts at
the head of the model's pipeline, so ``model.pkl`` takes raw records: it drops
the identifier columns (``settings.ID_COLUMNS``), runs the team's
``preparation.prepare_records``, turns datetime columns (datetime values, or
ISO 8601 text such as JSON requests carry) into numbers (year, month,
weekday, hour) and booleans into 0/1. ``column_roles`` sorts the prepared
columns into numeric, categorical and text columns for the pipeline's
encoders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_object_dtype,
    is_string_dtype,
)
from sklearn.base import BaseEstimator, TransformerMixin

from . import preparation

# The parts of a date and time that become features.
DATETIME_PARTS = ("year", "month", "weekday", "hour")
# Text that starts like an ISO 8601 date: 2024-05-17, 2024-05-17T08:30:00Z ...
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SAMPLE = 200  # values looked at to tell whether a text column holds dates


class PreparationError(ValueError):
    """The team's preparation broke a rule (see ``preparation``)."""


def as_is(df: pd.DataFrame) -> pd.DataFrame:
    """No preparation: the records as they are (the tests of the template's code)."""
    return df


def _looks_like_dates(series: pd.Series) -> bool:
    """Whether a text column holds ISO 8601 dates (all of a sample of its values)."""
    values = series.dropna().head(_SAMPLE)
    if values.empty or not all(isinstance(value, str) for value in values):
        return False
    if not all(_ISO_DATE.match(value) for value in values):
        return False
    parsed = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    return bool(parsed.notna().all())


def _as_datetime(series: pd.Series) -> pd.Series:
    """``series`` as UTC datetimes; what is not a date becomes missing."""
    if is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is None:
            return series.dt.tz_localize("UTC")
        return series.dt.tz_convert("UTC")
    return pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)


def datetime_parts(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` with each datetime column replaced by its year, month, weekday, hour."""
    parts: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column not in columns:
            parts[column] = frame[column]
            continue
        values = _as_datetime(frame[column])
        for part in DATETIME_PARTS:
            # pandas 3 deprecates .dt.weekday; .dt.day_of_week is the same number.
            number = (
                values.dt.day_of_week if part == "weekday" else getattr(values.dt, part)
            )
            parts[f"{column}_{part}"] = number.astype("float64")
    return pd.DataFrame(parts, index=frame.index)


def _booleans_as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Boolean columns (also with missing values) as 1.0/0.0/NaN."""
    converted = {}
    for column in frame.columns:
        series = frame[column]
        values = series.dropna()
        if is_bool_dtype(series) or (
            is_object_dtype(series)
            and not values.empty
            and values.map(type).isin([bool, np.bool_]).all()
        ):
            converted[column] = series.astype("float64")
    return frame.assign(**converted) if converted else frame


class RecordPreparation(TransformerMixin, BaseEstimator):
    """Raw records in, the model's feature columns out (see the module).

    ``fit`` learns the column layout only: which columns are needed
    (``feature_names_in_``), which identifier columns are ignored when
    present (``ignored_columns_``) and which columns hold dates; and it keeps
    the preparation function of that moment (``prepare_``: normally
    ``preparation.prepare_records``, pickled by its name, so a loaded model
    runs the installed package's code).

    Args:
        id_columns: Columns that are never features: dropped when present.
    """

    def __init__(self, id_columns: Sequence[str] = ()) -> None:
        """Keep the identifier columns (scikit-learn's parameter convention)."""
        self.id_columns = id_columns

    def _prepared(self, frame: pd.DataFrame) -> pd.DataFrame:
        features = frame.drop(columns=list(self.id_columns), errors="ignore")
        prepared = self.prepare_(features)
        if not isinstance(prepared, pd.DataFrame) or len(prepared) != len(features):
            raise PreparationError(
                "prepare_records in data_preprocessing/preparation.py must return a "
                f"DataFrame with one row per input row ({len(features)}); it returned "
                f"{type(prepared).__name__} with {len(prepared)} rows. Keep row "
                "filters out of it (they belong in the training data)."
            )
        return prepared

    def fit(self, X: pd.DataFrame, y: Any = None) -> RecordPreparation:
        """Learn the columns of the raw records ``X`` (a DataFrame)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("RecordPreparation takes a pandas DataFrame of records")
        self.prepare_ = preparation.prepare_records
        ignored = set(self.id_columns)
        self.ignored_columns_ = [str(c) for c in X.columns if c in ignored]
        self.feature_names_in_ = np.array(
            [c for c in X.columns if c not in ignored], dtype=object
        )
        self.n_features_in_ = len(self.feature_names_in_)
        prepared = self._prepared(X)
        self.datetime_columns_ = [
            column
            for column in prepared.columns
            if is_datetime64_any_dtype(prepared[column])
            or (
                (is_object_dtype(prepared[column]) or is_string_dtype(prepared[column]))
                and _looks_like_dates(prepared[column])
            )
        ]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The prepared feature columns of the raw records ``X``."""
        prepared = self._prepared(X)
        prepared = datetime_parts(prepared, self.datetime_columns_)
        return _booleans_as_numbers(prepared)


@dataclass(frozen=True)
class ColumnRoles:
    """The prepared columns by how the model encodes them."""

    numeric: list[str]
    categorical: list[str]
    text: list[str]
    other: list[str]


def column_roles(prepared: pd.DataFrame, text_columns: Sequence[str]) -> ColumnRoles:
    """Sort ``prepared``'s columns: numbers, categories, free text, unusable.

    ``text_columns`` (settings.TEXT_COLUMNS) are free text; other text and
    categorical columns are categories; numbers and booleans are numeric.
    """
    roles = ColumnRoles([], [], [], [])
    text = set(text_columns)
    for column in prepared.columns:
        series = prepared[column]
        if column in text:
            roles.text.append(column)
        elif is_numeric_dtype(series):
            roles.numeric.append(column)
        elif (
            is_object_dtype(series)
            or is_string_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)
        ):
            roles.categorical.append(column)
        else:
            roles.other.append(f"{column} ({series.dtype})")
    return roles


def as_text(values: Any) -> np.ndarray:
    """One free-text column as strings for a vectorizer (missing -> "")."""
    series = pd.Series(np.asarray(values, dtype=object).ravel())
    return series.where(series.notna(), "").astype(str).to_numpy()


def as_categories(values: Any) -> np.ndarray:
    """Category columns as text, missing values as their own category."""
    frame = pd.DataFrame(values).astype(object)
    return frame.where(frame.notna(), "(missing)").astype(str).to_numpy()
