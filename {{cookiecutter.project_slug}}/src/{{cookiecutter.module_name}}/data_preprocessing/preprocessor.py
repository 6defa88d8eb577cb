"""Chainable, vectorized cleaning steps for a pandas DataFrame.

Example:
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "y", "y"]})
    >>> clean = (
    ...     DataPreprocessor(raw)
    ...     .fill_missing(strategy="mean", columns=["a"])
    ...     .filter_rows("b == 'y'")
    ...     .get_df()
    ... )
    >>> clean["a"].tolist()
    [2.0, 3.0]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Literal, Self

import pandas as pd
from pandas.api.types import is_bool_dtype, is_list_like, is_numeric_dtype

__all__ = ["DataPreprocessor", "PreprocessingError", "UnknownColumnError"]

FillStrategy = Literal["mean", "median", "mode"]
_FILL_STRATEGIES: tuple[str, ...] = ("mean", "median", "mode")
_UNDEFINED_NAME = re.compile(r"^name '(?P<name>.+)' is not defined$")


class PreprocessingError(ValueError):
    """A preprocessing step could not be applied to the data."""


class UnknownColumnError(PreprocessingError, KeyError):
    """A step named columns that the DataFrame does not have.

    Attributes:
        unknown: The column names that were not found.
        available: The columns of the DataFrame at that step.
        step: The name of the step that was called.
    """

    def __init__(
        self, unknown: Iterable[Hashable], available: Iterable[Hashable], step: str
    ) -> None:
        """Build the message from the unknown and the available columns."""
        self.unknown = list(unknown)
        self.available = list(available)
        self.step = step
        super().__init__(
            f"unknown column(s) {self.unknown!r} in {step}; "
            f"available columns: {self.available!r}"
        )

    def __str__(self) -> str:
        """Return the plain message (KeyError would wrap it in quotes)."""
        return str(self.args[0])


def _as_column_list(columns: Any) -> list[Hashable]:
    """Turn one column name or a list/tuple/Index of names into a list."""
    if isinstance(columns, (list, tuple, pd.Index)):
        return list(columns)
    return [columns]


def _describe_dtype(dtype: Any) -> str:
    """Name a dtype the way a user wrote it: ``int``, ``'int64'``, ``category``."""
    return dtype.__name__ if isinstance(dtype, type) else str(dtype)


class DataPreprocessor:
    """Apply cleaning steps to a private copy of a DataFrame.

    Every step returns ``self`` so steps chain, and replaces the internal frame
    with a new one; the DataFrame given to the constructor is never modified.
    Steps that take column names check them first and raise
    ``UnknownColumnError`` listing the available columns.

    Example:
        >>> df = pd.DataFrame({"a": [1, 2, 2], "b": ["x", "y", "y"]})
        >>> pre = DataPreprocessor(df).drop_duplicates().drop_columns("b")
        >>> pre.get_df()["a"].tolist()
        [1, 2]
        >>> pre.steps[-1]
        "drop_columns(['b'])"
    """

    def __init__(self, df: pd.DataFrame) -> None:
        """Keep a deep copy of ``df``.

        Raises:
            TypeError: If ``df`` is not a pandas DataFrame.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(
                f"DataPreprocessor expects a pandas DataFrame, got {type(df).__name__}"
            )
        self._df = df.copy()
        self._steps: list[str] = []

    def __repr__(self) -> str:
        """Show the current shape and how many steps were applied."""
        return (
            f"{type(self).__name__}(shape={self._df.shape}, steps={len(self._steps)})"
        )

    @property
    def steps(self) -> tuple[str, ...]:
        """Applied steps in order, e.g. ``("drop_columns(['a'])",)``."""
        return tuple(self._steps)

    def get_df(self) -> pd.DataFrame:
        """Return a copy of the current DataFrame; changing it changes nothing here."""
        return self._df.copy()

    # -- helpers ---------------------------------------------------------------

    def _check_columns(self, columns: Iterable[Hashable], step: str) -> None:
        """Raise ``UnknownColumnError`` if any of ``columns`` is missing."""
        unknown = []
        for column in columns:
            if not isinstance(column, Hashable):
                raise TypeError(
                    f"column names must be hashable, got {column!r} in {step}"
                )
            if column not in self._df.columns:
                unknown.append(column)
        if unknown:
            raise UnknownColumnError(unknown, self._df.columns, step)

    def _subset(self, columns: Any, step: str) -> list[Hashable] | None:
        """Check an optional ``columns`` argument; None means all columns."""
        if columns is None:
            return None
        subset = _as_column_list(columns)
        if not subset:
            raise PreprocessingError(
                f"{step} got an empty list of columns; pass None for all columns"
            )
        self._check_columns(subset, step)
        return subset

    def _commit(self, df: pd.DataFrame, description: str) -> Self:
        """Replace the internal frame and log the step."""
        self._df = df
        self._steps.append(description)
        return self

    # -- column steps ----------------------------------------------------------

    def drop_columns(self, *columns: Hashable) -> Self:
        """Drop columns, given as names or as one list: ``drop_columns("a", "b")``.

        Raises:
            UnknownColumnError: If a column does not exist.
        """
        names = _as_column_list(columns[0]) if len(columns) == 1 else list(columns)
        self._check_columns(names, "drop_columns")
        return self._commit(self._df.drop(columns=names), f"drop_columns({names!r})")

    def keep_columns(self, *columns: Hashable) -> Self:
        """Keep only these columns, in the given order; repeated names count once.

        Raises:
            PreprocessingError: If no column is given.
            UnknownColumnError: If a column does not exist.
        """
        names = _as_column_list(columns[0]) if len(columns) == 1 else list(columns)
        if not names:
            raise PreprocessingError("keep_columns needs at least one column")
        self._check_columns(names, "keep_columns")
        names = list(dict.fromkeys(names))
        return self._commit(self._df.loc[:, names], f"keep_columns({names!r})")

    def rename_columns(self, mapping: Mapping[Hashable, Hashable]) -> Self:
        """Rename columns with an ``{old: new}`` mapping.

        Raises:
            UnknownColumnError: If an old name does not exist.
            PreprocessingError: If a new name would duplicate another column.
        """
        if not isinstance(mapping, Mapping):
            raise TypeError(
                f"rename_columns expects a mapping, got {type(mapping).__name__}"
            )
        mapping = dict(mapping)
        self._check_columns(mapping, "rename_columns")
        renamed = self._df.rename(columns=mapping)
        duplicated = renamed.columns[renamed.columns.duplicated()].unique()
        clashes = [name for name in duplicated if name in set(mapping.values())]
        if clashes:
            raise PreprocessingError(
                f"rename_columns({mapping!r}) would create duplicate column(s) "
                f"{clashes!r}"
            )
        return self._commit(renamed, f"rename_columns({mapping!r})")

    def cast_types(self, mapping: Mapping[Hashable, Any]) -> Self:
        """Cast columns with a ``{column: dtype}`` mapping, e.g. ``{"n": "int64"}``.

        Raises:
            UnknownColumnError: If a column does not exist.
            PreprocessingError: If a column cannot be cast; names column and dtype.
        """
        if not isinstance(mapping, Mapping):
            raise TypeError(
                f"cast_types expects a mapping, got {type(mapping).__name__}"
            )
        mapping = dict(mapping)
        self._check_columns(mapping, "cast_types")
        df = self._df
        for column, dtype in mapping.items():
            try:
                df = df.astype({column: dtype})
            except (TypeError, ValueError, OverflowError) as exc:
                raise PreprocessingError(
                    f"cannot cast column {column!r} to dtype "
                    f"{_describe_dtype(dtype)!r}: {exc}"
                ) from exc
        described = {
            column: _describe_dtype(dtype) for column, dtype in mapping.items()
        }
        return self._commit(df, f"cast_types({described!r})")

    def one_hot_encode(
        self,
        columns: Hashable | list[Hashable],
        *,
        drop_first: bool = False,
        dtype: Any = int,
    ) -> Self:
        """Replace columns by indicator columns (``pd.get_dummies``).

        Other columns keep their order and values; the indicator columns, named
        ``<column>_<value>``, are appended after them. Missing values get all 0.

        Raises:
            UnknownColumnError: If a column does not exist.
            PreprocessingError: If an indicator name clashes with another column.
        """
        names = _as_column_list(columns)
        if not names:
            raise PreprocessingError("one_hot_encode needs at least one column")
        self._check_columns(names, "one_hot_encode")
        names = list(dict.fromkeys(names))
        encoded = pd.get_dummies(
            self._df, columns=names, drop_first=drop_first, dtype=dtype
        )
        duplicated = list(encoded.columns[encoded.columns.duplicated()].unique())
        if duplicated:
            raise PreprocessingError(
                f"one_hot_encode({names!r}) would create duplicate column(s) "
                f"{duplicated!r}"
            )
        return self._commit(
            encoded,
            f"one_hot_encode({names!r}, drop_first={drop_first!r}, "
            f"dtype={_describe_dtype(dtype)})",
        )

    # -- row steps -------------------------------------------------------------

    def remove_rows_based_on_value(
        self, column_name: Hashable, bad_values: Any
    ) -> Self:
        """Remove rows whose ``column_name`` value is one of ``bad_values``.

        ``bad_values`` is one value or a list-like of values (a string counts as
        one value). A NaN or None among them also removes missing values.

        Raises:
            UnknownColumnError: If the column does not exist.
        """
        self._check_columns([column_name], "remove_rows_based_on_value")
        values = list(bad_values) if is_list_like(bad_values) else [bad_values]
        missing = [not is_list_like(value) and bool(pd.isna(value)) for value in values]
        present = [value for value, na in zip(values, missing, strict=True) if not na]
        column = self._df[column_name]
        bad = column.isin(present)
        if any(missing):
            bad |= column.isna()
        return self._commit(
            self._df.loc[~bad],
            f"remove_rows_based_on_value({column_name!r}, {values!r})",
        )

    def filter_rows(self, query: str, /, **variables: Any) -> Self:
        """Keep the rows where ``query`` is true (``DataFrame.query`` syntax).

        Refer to Python values with ``@name`` and pass them as keywords:
        ``filter_rows("petal_width_cm > @cutoff", cutoff=0.5)``.

        Raises:
            UnknownColumnError: If the query uses a name that is not a column.
            PreprocessingError: If the query is invalid for any other reason.
        """
        if not isinstance(query, str):
            raise TypeError(f"filter_rows expects a string, got {type(query).__name__}")
        try:
            filtered = self._df.query(query, local_dict=variables, global_dict={})
        except Exception as exc:
            match = _UNDEFINED_NAME.match(str(exc))
            if isinstance(exc, NameError) and match is not None:
                raise UnknownColumnError(
                    [match["name"]], self._df.columns, "filter_rows"
                ) from exc
            hint = (
                " (pass @ variables as keywords)"
                if "local variable" in str(exc)
                else ""
            )
            raise PreprocessingError(f"invalid query {query!r}: {exc}{hint}") from exc
        if not isinstance(filtered, pd.DataFrame):
            raise PreprocessingError(f"query {query!r} did not select rows")
        return self._commit(filtered, f"filter_rows({query!r})")

    def drop_missing(
        self,
        columns: Hashable | list[Hashable] | None = None,
        how: Literal["any", "all"] = "any",
    ) -> Self:
        """Drop rows with missing values in ``columns`` (default: all columns).

        ``how="any"`` drops a row with at least one missing value, ``"all"`` only
        a row whose values are all missing.

        Raises:
            UnknownColumnError: If a column does not exist.
            PreprocessingError: If ``how`` is not "any" or "all".
        """
        if how not in ("any", "all"):
            raise PreprocessingError(f"how must be 'any' or 'all', got {how!r}")
        subset = self._subset(columns, "drop_missing")
        return self._commit(
            self._df.dropna(subset=subset, how=how),
            f"drop_missing(columns={subset!r}, how={how!r})",
        )

    def drop_duplicates(
        self,
        columns: Hashable | list[Hashable] | None = None,
        keep: Literal["first", "last", False] = "first",
    ) -> Self:
        """Drop rows repeating ``columns`` (default: whole rows).

        ``keep`` is "first", "last" or False (drop every copy).

        Raises:
            UnknownColumnError: If a column does not exist.
            PreprocessingError: If ``keep`` is not "first", "last" or False.
        """
        if keep not in ("first", "last") and keep is not False:
            raise PreprocessingError(
                f"keep must be 'first', 'last' or False, got {keep!r}"
            )
        subset = self._subset(columns, "drop_duplicates")
        return self._commit(
            self._df.drop_duplicates(subset=subset, keep=keep),
            f"drop_duplicates(columns={subset!r}, keep={keep!r})",
        )

    def reset_index(self) -> Self:
        """Number the rows 0..n-1 again, dropping the old index."""
        return self._commit(self._df.reset_index(drop=True), "reset_index()")

    # -- value steps -----------------------------------------------------------

    def fill_missing(
        self,
        value: Any = None,
        *,
        columns: Hashable | list[Hashable] | None = None,
        strategy: FillStrategy | None = None,
    ) -> Self:
        """Fill missing values in ``columns`` (default: all columns).

        Give exactly one of ``value`` (a constant, or a ``{column: value}``
        mapping) and ``strategy``: "mean" or "median" of each column (numeric
        columns only), or "mode" (the smallest most frequent value).

        Raises:
            UnknownColumnError: If a column does not exist.
            PreprocessingError: If both or neither of ``value`` and ``strategy``
                are given, the strategy is unknown, mean/median meet
                non-numeric columns, or a value does not fit a column.
        """
        if (value is None) == (strategy is None):
            raise PreprocessingError(
                "fill_missing needs exactly one of value and strategy"
            )
        if strategy is not None and strategy not in _FILL_STRATEGIES:
            raise PreprocessingError(
                f"unknown fill strategy {strategy!r}; use one of {_FILL_STRATEGIES!r}"
            )
        if isinstance(value, Mapping):
            if columns is not None:
                raise PreprocessingError(
                    "fill_missing takes columns or a value mapping, not both"
                )
            fill = dict(value)
            self._check_columns(fill, "fill_missing")
            description = f"fill_missing(value={fill!r})"
        else:
            subset = self._subset(columns, "fill_missing")
            selected = self._df if subset is None else self._df.loc[:, subset]
            if strategy is None:
                fill = dict.fromkeys(selected.columns, value)
                description = f"fill_missing(value={value!r}, columns={subset!r})"
            else:
                fill = self._strategy_values(selected, strategy)
                description = f"fill_missing(strategy={strategy!r}, columns={subset!r})"
        try:
            filled = self._df.fillna(fill)
        except (TypeError, ValueError) as exc:
            raise self._fill_error(fill, exc) from exc
        return self._commit(filled, description)

    def _fill_error(
        self, fill: Mapping[Hashable, Any], exc: Exception
    ) -> PreprocessingError:
        """Name the first column whose fill value does not fit its dtype."""
        for column, value in fill.items():
            try:
                self._df[column].fillna(value)
            except (TypeError, ValueError) as column_exc:
                return PreprocessingError(
                    f"cannot fill missing values of column {column!r} "
                    f"({self._df[column].dtype}) with {value!r}: {column_exc}"
                )
        return PreprocessingError(f"cannot fill missing values: {exc}")

    @staticmethod
    def _strategy_values(df: pd.DataFrame, strategy: str) -> dict[Hashable, Any]:
        """Compute one fill value per column of ``df`` for ``strategy``."""
        if strategy == "mode":
            modes = df.mode(dropna=True)
            if modes.empty:
                return {}
            return modes.iloc[0].to_dict()
        non_numeric = [
            column
            for column, dtype in df.dtypes.items()
            if not is_numeric_dtype(dtype) or is_bool_dtype(dtype)
        ]
        if non_numeric:
            raise PreprocessingError(
                f"fill strategy {strategy!r} needs numeric columns; non-numeric "
                f"column(s): {non_numeric!r} (choose columns=...)"
            )
        stats = df.mean() if strategy == "mean" else df.median()
        return stats.to_dict()

    # -- custom step -----------------------------------------------------------

    def pipe(
        self, func: Callable[..., pd.DataFrame], /, *args: Any, **kwargs: Any
    ) -> Self:
        """Apply ``func(df, *args, **kwargs)`` as a custom step.

        ``func`` gets a copy of the current DataFrame, so it cannot change this
        preprocessor's state, and must return a DataFrame.

        Raises:
            TypeError: If ``func`` is not callable or returns no DataFrame.
        """
        if not callable(func):
            raise TypeError(f"pipe expects a callable, got {type(func).__name__}")
        name = getattr(func, "__qualname__", None) or repr(func)
        result = func(self._df.copy(), *args, **kwargs)
        if not isinstance(result, pd.DataFrame):
            raise TypeError(
                f"pipe function {name} must return a DataFrame, "
                f"got {type(result).__name__}"
            )
        return self._commit(result.copy(), f"pipe({name})")
