from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.data_preprocessing import (
    DataPreprocessor,
    PreprocessingError,
    UnknownColumnError,
)

COLUMNS = ["sepal_length_cm", "petal_width_cm", "species"]
AVAILABLE = f"available columns: {COLUMNS!r}"


@pytest.fixture
def iris() -> pd.DataFrame:
    """Iris-like frame: one missing value per column, rows 1 and 5 identical."""
    return pd.DataFrame(
        {
            "sepal_length_cm": [5.1, 4.9, np.nan, 6.3, 5.8, 4.9],
            "petal_width_cm": [0.2, 0.2, 1.3, np.nan, 1.9, 0.2],
            "species": ["setosa", "setosa", "versicolor", "virginica", None, "setosa"],
        }
    )


@pytest.fixture
def pre(iris: pd.DataFrame) -> DataPreprocessor:
    return DataPreprocessor(iris)


# -- construction and state ----------------------------------------------------


def test_constructor_rejects_non_dataframe() -> None:
    with pytest.raises(TypeError, match="expects a pandas DataFrame, got dict"):
        DataPreprocessor({"a": [1]})


def test_get_df_without_steps_equals_input(iris: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(DataPreprocessor(iris).get_df(), iris)


def test_constructor_copies_input(iris: pd.DataFrame) -> None:
    saved = iris.copy()
    pre = DataPreprocessor(iris)
    iris.loc[0, "sepal_length_cm"] = 99.0
    pd.testing.assert_frame_equal(pre.get_df(), saved)


def test_get_df_mutation_does_not_affect_preprocessor(
    pre: DataPreprocessor, iris: pd.DataFrame
) -> None:
    df = pre.get_df()
    df.loc[0, "sepal_length_cm"] = 99.0
    df["extra"] = 1
    pd.testing.assert_frame_equal(pre.get_df(), iris)


def test_new_preprocessor_has_no_steps(pre: DataPreprocessor) -> None:
    assert pre.steps == ()


def test_repr_shows_shape_and_step_count(pre: DataPreprocessor) -> None:
    pre.drop_columns("species")
    assert repr(pre) == "DataPreprocessor(shape=(6, 2), steps=1)"


# -- the caller's DataFrame is never modified ----------------------------------

EVERY_STEP: dict[str, Callable[[DataPreprocessor], DataPreprocessor]] = {
    "drop_columns": lambda p: p.drop_columns("species"),
    "keep_columns": lambda p: p.keep_columns("species", "sepal_length_cm"),
    "remove_rows_based_on_value": lambda p: p.remove_rows_based_on_value(
        "species", ["setosa", np.nan]
    ),
    "rename_columns": lambda p: p.rename_columns({"species": "label"}),
    "fill_missing_value": lambda p: p.fill_missing(0.0, columns=["petal_width_cm"]),
    "fill_missing_mean": lambda p: p.fill_missing(
        strategy="mean", columns=["sepal_length_cm", "petal_width_cm"]
    ),
    "fill_missing_mode": lambda p: p.fill_missing(strategy="mode"),
    "drop_missing": lambda p: p.drop_missing(),
    "drop_duplicates": lambda p: p.drop_duplicates(),
    "filter_rows": lambda p: p.filter_rows("sepal_length_cm > 5"),
    "cast_types": lambda p: p.cast_types({"species": "category"}),
    "one_hot_encode": lambda p: p.one_hot_encode("species"),
    "reset_index": lambda p: p.drop_duplicates().reset_index(),
    "pipe": lambda p: p.pipe(lambda df: df.dropna()),
}


@pytest.mark.parametrize("step", EVERY_STEP.values(), ids=EVERY_STEP.keys())
def test_step_does_not_modify_callers_dataframe(
    iris: pd.DataFrame, step: Callable[[DataPreprocessor], DataPreprocessor]
) -> None:
    saved = iris.copy()
    step(DataPreprocessor(iris))
    pd.testing.assert_frame_equal(iris, saved)


@pytest.mark.parametrize("step", EVERY_STEP.values(), ids=EVERY_STEP.keys())
def test_step_returns_the_same_preprocessor(
    pre: DataPreprocessor, step: Callable[[DataPreprocessor], DataPreprocessor]
) -> None:
    assert step(pre) is pre


@pytest.mark.parametrize("step", EVERY_STEP.values(), ids=EVERY_STEP.keys())
def test_step_is_logged(
    pre: DataPreprocessor, step: Callable[[DataPreprocessor], DataPreprocessor]
) -> None:
    step(pre)
    assert len(pre.steps) >= 1


# -- unknown columns -----------------------------------------------------------

UNKNOWN_COLUMN_STEPS: dict[str, Callable[[DataPreprocessor], DataPreprocessor]] = {
    "drop_columns": lambda p: p.drop_columns("species", "x"),
    "keep_columns": lambda p: p.keep_columns(["x"]),
    "remove_rows_based_on_value": lambda p: p.remove_rows_based_on_value("x", 1),
    "rename_columns": lambda p: p.rename_columns({"x": "y"}),
    "fill_missing": lambda p: p.fill_missing(0, columns=["x"]),
    "fill_missing_mapping": lambda p: p.fill_missing({"x": 0}),
    "drop_missing": lambda p: p.drop_missing(columns=["x"]),
    "drop_duplicates": lambda p: p.drop_duplicates(columns=["x"]),
    "filter_rows": lambda p: p.filter_rows("x > 1"),
    "cast_types": lambda p: p.cast_types({"x": "int64"}),
    "one_hot_encode": lambda p: p.one_hot_encode(["x"]),
}


@pytest.mark.parametrize(
    ("step_name", "step"),
    UNKNOWN_COLUMN_STEPS.items(),
    ids=UNKNOWN_COLUMN_STEPS.keys(),
)
def test_unknown_column_error_lists_available_columns(
    pre: DataPreprocessor,
    step_name: str,
    step: Callable[[DataPreprocessor], DataPreprocessor],
) -> None:
    method = step_name.removesuffix("_mapping")
    with pytest.raises(UnknownColumnError) as info:
        step(pre)
    assert str(info.value) == f"unknown column(s) ['x'] in {method}; {AVAILABLE}"


def test_unknown_column_error_is_key_and_value_error(pre: DataPreprocessor) -> None:
    with pytest.raises(UnknownColumnError) as info:
        pre.drop_columns("x")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, PreprocessingError)
    assert isinstance(info.value, ValueError)


def test_unknown_column_error_has_structured_attributes(
    pre: DataPreprocessor,
) -> None:
    with pytest.raises(UnknownColumnError) as info:
        pre.drop_columns("x", "y")
    assert info.value.unknown == ["x", "y"]
    assert info.value.available == COLUMNS
    assert info.value.step == "drop_columns"


def test_unknown_column_error_leaves_state_unchanged(
    pre: DataPreprocessor, iris: pd.DataFrame
) -> None:
    with pytest.raises(UnknownColumnError):
        pre.drop_columns("species", "x")
    pd.testing.assert_frame_equal(pre.get_df(), iris)
    assert pre.steps == ()


def test_unhashable_column_name_raises_type_error(pre: DataPreprocessor) -> None:
    with pytest.raises(TypeError, match="column names must be hashable"):
        pre.drop_columns(["species"], ["x"])


# -- drop_columns / keep_columns / rename_columns ------------------------------


def test_drop_columns_removes_named_columns(pre: DataPreprocessor) -> None:
    df = pre.drop_columns("species", "petal_width_cm").get_df()
    assert list(df.columns) == ["sepal_length_cm"]


def test_drop_columns_accepts_a_list(pre: DataPreprocessor) -> None:
    df = pre.drop_columns(["species", "petal_width_cm"]).get_df()
    assert list(df.columns) == ["sepal_length_cm"]


def test_drop_columns_with_empty_list_changes_nothing(
    pre: DataPreprocessor, iris: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(pre.drop_columns([]).get_df(), iris)


def test_keep_columns_keeps_given_order(
    pre: DataPreprocessor, iris: pd.DataFrame
) -> None:
    df = pre.keep_columns("species", "sepal_length_cm").get_df()
    pd.testing.assert_frame_equal(df, iris[["species", "sepal_length_cm"]])


def test_keep_columns_accepts_a_list(pre: DataPreprocessor) -> None:
    df = pre.keep_columns(["petal_width_cm", "species"]).get_df()
    assert list(df.columns) == ["petal_width_cm", "species"]


def test_keep_columns_counts_repeated_names_once(pre: DataPreprocessor) -> None:
    df = pre.keep_columns("species", "species").get_df()
    assert list(df.columns) == ["species"]


def test_keep_columns_without_columns_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="at least one column"):
        pre.keep_columns()


def test_rename_columns_renames_only_mapped_columns(pre: DataPreprocessor) -> None:
    df = pre.rename_columns({"species": "label"}).get_df()
    assert list(df.columns) == ["sepal_length_cm", "petal_width_cm", "label"]


def test_rename_columns_to_existing_name_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(
        PreprocessingError, match=r"duplicate column\(s\) \['species'\]"
    ):
        pre.rename_columns({"sepal_length_cm": "species"})


def test_rename_columns_rejects_non_mapping(pre: DataPreprocessor) -> None:
    with pytest.raises(TypeError, match="expects a mapping"):
        pre.rename_columns([("species", "label")])


# -- remove_rows_based_on_value --------------------------------------------------


def test_remove_rows_based_on_scalar_value(pre: DataPreprocessor) -> None:
    df = pre.remove_rows_based_on_value("species", "setosa").get_df()
    assert df.index.tolist() == [2, 3, 4]


def test_remove_rows_based_on_list_of_values(pre: DataPreprocessor) -> None:
    df = pre.remove_rows_based_on_value("species", ["setosa", "virginica"]).get_df()
    assert df.index.tolist() == [2, 4]


def test_remove_rows_based_on_numeric_values(pre: DataPreprocessor) -> None:
    df = pre.remove_rows_based_on_value("sepal_length_cm", {4.9, 6.3}).get_df()
    assert df.index.tolist() == [0, 2, 4]


def test_remove_rows_keeps_missing_values_unless_asked(pre: DataPreprocessor) -> None:
    df = pre.remove_rows_based_on_value("species", ["setosa"]).get_df()
    assert df["species"].isna().sum() == 1


def test_remove_rows_with_nan_in_bad_values_removes_missing(
    pre: DataPreprocessor,
) -> None:
    df = pre.remove_rows_based_on_value("species", ["setosa", np.nan]).get_df()
    assert df.index.tolist() == [2, 3]


def test_remove_rows_with_none_in_bad_values_removes_missing(
    pre: DataPreprocessor,
) -> None:
    df = pre.remove_rows_based_on_value("species", [None]).get_df()
    assert df.index.tolist() == [0, 1, 2, 3, 5]


def test_remove_rows_with_scalar_nan_removes_missing_numbers(
    pre: DataPreprocessor,
) -> None:
    df = pre.remove_rows_based_on_value("sepal_length_cm", np.nan).get_df()
    assert df.index.tolist() == [0, 1, 3, 4, 5]


# -- fill_missing ----------------------------------------------------------------


def test_fill_missing_value_fills_only_given_columns(pre: DataPreprocessor) -> None:
    df = pre.fill_missing(0.0, columns=["petal_width_cm"]).get_df()
    assert df.loc[3, "petal_width_cm"] == 0.0
    assert np.isnan(df.loc[2, "sepal_length_cm"])
    assert df["species"].isna().sum() == 1


def test_fill_missing_value_mapping_fills_per_column(pre: DataPreprocessor) -> None:
    df = pre.fill_missing({"species": "unknown", "sepal_length_cm": -1.0}).get_df()
    assert df.loc[4, "species"] == "unknown"
    assert df.loc[2, "sepal_length_cm"] == -1.0
    assert np.isnan(df.loc[3, "petal_width_cm"])


def test_fill_missing_mean(pre: DataPreprocessor) -> None:
    df = pre.fill_missing(strategy="mean", columns=["sepal_length_cm"]).get_df()
    assert df.loc[2, "sepal_length_cm"] == pytest.approx(5.4)


def test_fill_missing_median(pre: DataPreprocessor) -> None:
    df = pre.fill_missing(strategy="median", columns="sepal_length_cm").get_df()
    assert df.loc[2, "sepal_length_cm"] == pytest.approx(5.1)


def test_fill_missing_mode_fills_every_column(pre: DataPreprocessor) -> None:
    df = pre.fill_missing(strategy="mode").get_df()
    assert df.loc[2, "sepal_length_cm"] == pytest.approx(4.9)
    assert df.loc[3, "petal_width_cm"] == pytest.approx(0.2)
    assert df.loc[4, "species"] == "setosa"
    assert not df.isna().to_numpy().any()


def test_fill_missing_mode_on_empty_frame_changes_nothing(iris: pd.DataFrame) -> None:
    empty = iris.iloc[:0]
    df = DataPreprocessor(empty).fill_missing(strategy="mode").get_df()
    pd.testing.assert_frame_equal(df, empty)


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_fill_missing_numeric_strategy_names_non_numeric_columns(
    pre: DataPreprocessor, strategy: str
) -> None:
    with pytest.raises(
        PreprocessingError, match=r"non-numeric column\(s\): \['species'\]"
    ):
        pre.fill_missing(strategy=strategy)


def test_fill_missing_with_value_and_strategy_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="exactly one of value and strategy"):
        pre.fill_missing(0, strategy="mean")


def test_fill_missing_without_value_or_strategy_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="exactly one of value and strategy"):
        pre.fill_missing()


def test_fill_missing_unknown_strategy_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="unknown fill strategy 'max'"):
        pre.fill_missing(strategy="max")


def test_fill_missing_mapping_with_columns_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="not both"):
        pre.fill_missing({"species": "unknown"}, columns=["species"])


def test_fill_missing_empty_columns_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="empty list of columns"):
        pre.fill_missing(0, columns=[])


def test_fill_missing_value_that_does_not_fit_names_column() -> None:
    df = pd.DataFrame({"count": pd.array([1, None, 2], dtype="Int64")})
    with pytest.raises(PreprocessingError, match="column 'count' \\(Int64\\)"):
        DataPreprocessor(df).fill_missing(strategy="mean")


# -- drop_missing / drop_duplicates ------------------------------------------------


def test_drop_missing_drops_rows_with_any_missing_value(
    pre: DataPreprocessor,
) -> None:
    assert pre.drop_missing().get_df().index.tolist() == [0, 1, 5]


def test_drop_missing_checks_only_given_columns(pre: DataPreprocessor) -> None:
    df = pre.drop_missing(columns=["species"]).get_df()
    assert df.index.tolist() == [0, 1, 2, 3, 5]


def test_drop_missing_how_all_drops_only_fully_missing_rows() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [np.nan, np.nan, 2.0]})
    result = DataPreprocessor(df).drop_missing(how="all").get_df()
    assert result.index.tolist() == [0, 2]


def test_drop_missing_invalid_how_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="how must be 'any' or 'all'"):
        pre.drop_missing(how="some")


def test_drop_duplicates_keeps_first_of_identical_rows(
    pre: DataPreprocessor,
) -> None:
    assert pre.drop_duplicates().get_df().index.tolist() == [0, 1, 2, 3, 4]


def test_drop_duplicates_on_given_columns(pre: DataPreprocessor) -> None:
    df = pre.drop_duplicates(columns="species").get_df()
    assert df.index.tolist() == [0, 2, 3, 4]


def test_drop_duplicates_keep_last(pre: DataPreprocessor) -> None:
    df = pre.drop_duplicates(columns=["species"], keep="last").get_df()
    assert df.index.tolist() == [2, 3, 4, 5]


def test_drop_duplicates_keep_false_drops_every_copy(pre: DataPreprocessor) -> None:
    df = pre.drop_duplicates(keep=False).get_df()
    assert df.index.tolist() == [0, 2, 3, 4]


def test_drop_duplicates_invalid_keep_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="keep must be"):
        pre.drop_duplicates(keep="middle")


def test_reset_index_numbers_rows_again(pre: DataPreprocessor) -> None:
    df = pre.drop_missing().reset_index().get_df()
    assert df.index.tolist() == [0, 1, 2]


# -- filter_rows -----------------------------------------------------------------


def test_filter_rows_keeps_matching_rows(pre: DataPreprocessor) -> None:
    df = pre.filter_rows("sepal_length_cm > 5 and species != 'virginica'").get_df()
    assert df.index.tolist() == [0, 4]


def test_filter_rows_with_keyword_variable(pre: DataPreprocessor) -> None:
    df = pre.filter_rows("petal_width_cm >= @cutoff", cutoff=1.0).get_df()
    assert df.index.tolist() == [2, 4]


def test_filter_rows_unknown_name_raises_unknown_column_error(
    pre: DataPreprocessor,
) -> None:
    with pytest.raises(UnknownColumnError) as info:
        pre.filter_rows("sepal_width_cm > 3")
    assert str(info.value) == (
        f"unknown column(s) ['sepal_width_cm'] in filter_rows; {AVAILABLE}"
    )


def test_filter_rows_syntax_error_quotes_query(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="invalid query 'sepal_length_cm >'"):
        pre.filter_rows("sepal_length_cm >")


def test_filter_rows_empty_query_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="invalid query ''"):
        pre.filter_rows("")


def test_filter_rows_undefined_variable_is_not_a_column_error(
    pre: DataPreprocessor,
) -> None:
    with pytest.raises(
        PreprocessingError, match="pass @ variables as keywords"
    ) as info:
        pre.filter_rows("sepal_length_cm > @cutoff")
    assert not isinstance(info.value, UnknownColumnError)


def test_filter_rows_does_not_see_module_internals(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError):
        pre.filter_rows("sepal_length_cm > @self")


def test_filter_rows_rejects_non_string(pre: DataPreprocessor) -> None:
    with pytest.raises(TypeError, match="expects a string"):
        pre.filter_rows(lambda df: df["sepal_length_cm"] > 5)


# -- cast_types ------------------------------------------------------------------


def test_cast_types_changes_dtypes(pre: DataPreprocessor) -> None:
    df = pre.cast_types({"species": "category", "petal_width_cm": "float32"}).get_df()
    assert isinstance(df["species"].dtype, pd.CategoricalDtype)
    assert df["petal_width_cm"].dtype == np.float32
    assert df["sepal_length_cm"].dtype == np.float64


def test_cast_types_failure_names_column_and_dtype(pre: DataPreprocessor) -> None:
    with pytest.raises(
        PreprocessingError, match="cannot cast column 'species' to dtype 'float64'"
    ):
        pre.cast_types({"species": "float64"})


def test_cast_types_missing_values_to_int_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(
        PreprocessingError, match="cannot cast column 'sepal_length_cm' to dtype 'int'"
    ):
        pre.cast_types({"sepal_length_cm": int})


def test_cast_types_unknown_dtype_raises(pre: DataPreprocessor) -> None:
    with pytest.raises(PreprocessingError, match="to dtype 'no_such_type'"):
        pre.cast_types({"species": "no_such_type"})


def test_cast_types_failure_leaves_state_unchanged(
    pre: DataPreprocessor, iris: pd.DataFrame
) -> None:
    with pytest.raises(PreprocessingError):
        pre.cast_types({"petal_width_cm": "float32", "species": "float64"})
    pd.testing.assert_frame_equal(pre.get_df(), iris)


# -- one_hot_encode --------------------------------------------------------------


def test_one_hot_encode_adds_indicator_columns(pre: DataPreprocessor) -> None:
    df = pre.one_hot_encode("species").get_df()
    assert list(df.columns) == [
        "sepal_length_cm",
        "petal_width_cm",
        "species_setosa",
        "species_versicolor",
        "species_virginica",
    ]
    assert df["species_setosa"].tolist() == [1, 1, 0, 0, 0, 1]
    assert df.loc[4, ["species_setosa", "species_versicolor"]].tolist() == [0, 0]


def test_one_hot_encode_leaves_other_columns_untouched(
    pre: DataPreprocessor, iris: pd.DataFrame
) -> None:
    df = pre.one_hot_encode(["species"]).get_df()
    pd.testing.assert_frame_equal(
        df[["sepal_length_cm", "petal_width_cm"]],
        iris[["sepal_length_cm", "petal_width_cm"]],
    )


def test_one_hot_encode_drop_first(pre: DataPreprocessor) -> None:
    df = pre.one_hot_encode("species", drop_first=True).get_df()
    assert "species_setosa" not in df.columns
    assert {"species_versicolor", "species_virginica"} <= set(df.columns)


def test_one_hot_encode_dtype(pre: DataPreprocessor) -> None:
    df = pre.one_hot_encode("species", dtype=bool).get_df()
    assert df["species_setosa"].dtype == bool


def test_one_hot_encode_default_dtype_is_int(pre: DataPreprocessor) -> None:
    df = pre.one_hot_encode("species").get_df()
    assert pd.api.types.is_integer_dtype(df["species_virginica"])


# -- pipe ------------------------------------------------------------------------


def add_ratio(df: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
    return df.assign(ratio=df["sepal_length_cm"] / df["petal_width_cm"] * scale)


def test_pipe_applies_function_with_arguments(pre: DataPreprocessor) -> None:
    df = pre.pipe(add_ratio, scale=10.0).get_df()
    assert df.loc[0, "ratio"] == pytest.approx(255.0)


def test_pipe_function_gets_a_copy(pre: DataPreprocessor, iris: pd.DataFrame) -> None:
    def mutate_and_fail(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[:, "sepal_length_cm"] = 0.0
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        pre.pipe(mutate_and_fail)
    pd.testing.assert_frame_equal(pre.get_df(), iris)


def test_pipe_result_is_not_shared(pre: DataPreprocessor) -> None:
    outside = pd.DataFrame({"a": [1, 2]})
    pre.pipe(lambda df: outside)
    outside.loc[0, "a"] = 99
    assert pre.get_df()["a"].tolist() == [1, 2]


def test_pipe_non_dataframe_result_raises_type_error(pre: DataPreprocessor) -> None:
    with pytest.raises(TypeError, match="must return a DataFrame, got Series"):
        pre.pipe(lambda df: df["species"])


def test_pipe_non_callable_raises_type_error(pre: DataPreprocessor) -> None:
    with pytest.raises(TypeError, match="expects a callable"):
        pre.pipe("dropna")


# -- chaining and the steps log ----------------------------------------------------


def test_chained_steps_produce_expected_frame(iris: pd.DataFrame) -> None:
    df = (
        DataPreprocessor(iris)
        .remove_rows_based_on_value("species", [None])
        .drop_duplicates()
        .fill_missing(strategy="median", columns=["sepal_length_cm", "petal_width_cm"])
        .rename_columns({"species": "label"})
        .filter_rows("label != 'virginica'")
        .reset_index()
        .get_df()
    )
    expected = pd.DataFrame(
        {
            "sepal_length_cm": [5.1, 4.9, 5.1],
            "petal_width_cm": [0.2, 0.2, 1.3],
            "label": ["setosa", "setosa", "versicolor"],
        }
    )
    pd.testing.assert_frame_equal(df, expected)


def identity(df: pd.DataFrame) -> pd.DataFrame:
    return df


def test_steps_log_records_steps_in_order(pre: DataPreprocessor) -> None:
    pre.drop_columns("petal_width_cm").remove_rows_based_on_value(
        "species", ["virginica", None]
    ).fill_missing(strategy="mean", columns=["sepal_length_cm"]).cast_types(
        {"sepal_length_cm": "float32"}
    ).one_hot_encode("species").pipe(identity)
    assert pre.steps == (
        "drop_columns(['petal_width_cm'])",
        "remove_rows_based_on_value('species', ['virginica', None])",
        "fill_missing(strategy='mean', columns=['sepal_length_cm'])",
        "cast_types({'sepal_length_cm': 'float32'})",
        "one_hot_encode(['species'], drop_first=False, dtype=int)",
        "pipe(identity)",
    )


def test_steps_log_records_defaults(pre: DataPreprocessor) -> None:
    pre.drop_missing().drop_duplicates(columns="species").filter_rows("species > 'a'")
    assert pre.steps == (
        "drop_missing(columns=None, how='any')",
        "drop_duplicates(columns=['species'], keep='first')",
        "filter_rows(\"species > 'a'\")",
    )


def test_failed_step_is_not_logged(pre: DataPreprocessor) -> None:
    pre.drop_columns("species")
    with pytest.raises(PreprocessingError):
        pre.fill_missing()
    assert pre.steps == ("drop_columns(['species'])",)


def test_steps_is_an_immutable_snapshot(pre: DataPreprocessor) -> None:
    steps = pre.steps
    pre.drop_columns("species")
    assert steps == ()
    assert isinstance(pre.steps, tuple)
