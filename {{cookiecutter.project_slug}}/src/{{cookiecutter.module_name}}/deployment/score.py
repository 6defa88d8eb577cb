"""The scoring script that Azure ML's inference server runs.

The server loads this file by its path, calls ``init()`` once, then ``run()``
with the body of every ``POST /score``. It imports nothing from the package
itself; the model it loads does: its first step (``prepare``, from
``data_preprocessing.features``) prepares the raw records as in training, so
the deployment uploads ``src/`` with this file.

Requests::

    {"data": [[5.1, 3.5, 1.4, 0.2], ...]}            # values in training column order
    {"data": [{"sepal_length_cm": 5.1, ...}, ...]}   # one object per row

Objects may also hold the identifier columns the model ignores
(``settings.ID_COLUMNS`` at training); dates are ISO 8601 text.

Answer: ``{"predictions": [...]}``, one per row. With ``"probabilities": true``
in the request, a classifier's answer also holds ``"probabilities"``: one
object per row, class label -> probability. A request that cannot be
scored gets a 400 with ``{"error": "..."}`` saying what is wrong, in a short
message however large the request; more than ``MAX_ROWS_PER_REQUEST`` rows
(an environment variable, default 100,000; the deployment sets it from
settings.py) get a 413.

Missing values: ``null`` (and the non-standard ``NaN`` that Python's JSON
accepts) is a missing value, which the trained pipeline imputes; a row whose
values are all missing gets a 400. ``Infinity`` and ``-Infinity`` get a 400:
send finite numbers. An integer too large for a 64-bit float gets a 400 too. An
error body stays short (``ERROR_CHARS``), naming long column names by their start.

Data collection (SDK v2 deployments): where the deployment enables the
``model_inputs`` and ``model_outputs`` collections of Azure ML's data
collector (``data_collector`` in ``.azureml/deployment-<stage>.yml``), every
scored request's input frame and its predictions (one column named after
``$TARGET_COLUMN``) go to them, correlated, as Microsoft documents:
https://learn.microsoft.com/azure/machine-learning/how-to-collect-production-data
Locally, and wherever ``azureml-ai-monitoring`` is not installed or its
collector cannot start, collection is off and scoring is unchanged; a
collection failure is logged and never fails a request.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

try:
    # pydantic-core comes with the inference server and parses JSON about three
    # times faster than the standard library: most of run()'s own time on big
    # requests.
    from pydantic_core import from_json as parse_json
except ImportError:  # pragma: no cover - a server without pydantic
    from json import loads as parse_json

if TYPE_CHECKING:
    from azureml_inference_server_http.api.aml_response import AMLResponse

# Azure ML's data collector class (azureml-ai-monitoring, which the SDK v2
# deployment's scoring requirements bring; None without it): imported when
# init() first starts collection, so that the batch driver, which collects
# nothing, does not pay for its import.
_NOT_IMPORTED: Any = object()
Collector: Any = _NOT_IMPORTED

logger = logging.getLogger(__name__)

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"
MAX_ROWS_VARIABLE = "MAX_ROWS_PER_REQUEST"
DEFAULT_MAX_ROWS = 100_000
NAMES_IN_ERRORS = 5  # an error names at most this many columns
NAME_CHARS_IN_ERRORS = 40  # and at most this much of each name
ERROR_CHARS = 2000  # an error body stays this short, whatever the request holds
# The data collector's collections: the names in the deployment's data_collector.
INPUTS_COLLECTION = "model_inputs"
OUTPUTS_COLLECTION = "model_outputs"
# The predictions' column in the collected outputs: the target column's name
# (the deployment sets it from settings.py), so that a monitor compares them
# with the training data's target.
TARGET_COLUMN_VARIABLE = "TARGET_COLUMN"
DEFAULT_PREDICTION_COLUMN = "prediction"

model: Any = None
_features: list[str] = []
_feature_set: frozenset[str] = frozenset()
# Columns that requests may send and the model ignores (identifiers).
_ignored: frozenset[str] = frozenset()
_max_rows = DEFAULT_MAX_ROWS
# Whether the model takes rows as a plain array in training column order
# (no step selects columns by name): skips building a DataFrame per request.
_positional = False
# The inputs and outputs collectors, or None when collection is off.
_collectors: tuple[Any, Any] | None = None
_prediction_column = DEFAULT_PREDICTION_COLUMN


class ModelLoadError(RuntimeError):
    """The model file could not be found or loaded."""


class BadRequestError(ValueError):
    """The request cannot be scored; the message says why."""

    status = 400


class TooManyRowsError(BadRequestError):
    """The request has more rows than ``MAX_ROWS_PER_REQUEST``."""

    status = 413


def _short(name: str) -> str:
    """``name``, or its start and length when longer than NAME_CHARS_IN_ERRORS."""
    if len(name) <= NAME_CHARS_IN_ERRORS:
        return name
    return f"{name[:NAME_CHARS_IN_ERRORS]}... ({len(name)} characters)"


def _names(names: list[str]) -> str:
    """At most NAMES_IN_ERRORS of ``names`` (each shortened), and how many more there are."""
    shown = repr([_short(name) for name in names[:NAMES_IN_ERRORS]])
    more = len(names) - NAMES_IN_ERRORS
    return f"{shown} and {more} more" if more > 0 else shown


def _takes_arrays(estimator: Any) -> bool:
    """Whether ``estimator`` reads its input by position.

    Not when a step selects columns by name: a ColumnTransformer, or a step
    that is not scikit-learn's own (the model's record preparation).
    """
    if isinstance(estimator, ColumnTransformer):
        return False
    if isinstance(estimator, Pipeline):
        return all(_takes_arrays(step) for _, step in estimator.steps)
    return type(estimator).__module__.startswith("sklearn.")


def _ignored_columns(estimator: Any) -> frozenset[str]:
    """The identifier columns the model's first step drops (``ignored_columns_``)."""
    steps = getattr(estimator, "steps", None)
    first = steps[0][1] if steps else estimator
    return frozenset(str(name) for name in getattr(first, "ignored_columns_", ()))


def _max_rows_setting() -> int:
    """``$MAX_ROWS_PER_REQUEST``, or DEFAULT_MAX_ROWS when it is not set."""
    value = os.environ.get(MAX_ROWS_VARIABLE, "").strip()
    if not value:
        return DEFAULT_MAX_ROWS
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ModelLoadError(
            f"{MAX_ROWS_VARIABLE} must be a whole number of rows above 0, got {value!r}"
        )
    return limit


class _CollectionErrors:
    """The collectors' ``on_error``: kept while they start, then logged, never raised."""

    def __init__(self) -> None:
        self.at_start: list[Exception] = []
        self.started = False

    def __call__(self, error: Exception) -> None:
        if self.started:
            _log_collection_error(error)
        else:
            self.at_start.append(error)


def _log_collection_error(error: Exception) -> None:
    logger.warning("Data collection failed (the request is still answered): %s", error)


def _data_collectors() -> tuple[Any, Any] | None:
    """The inputs and outputs collectors, or None when collection is off.

    Off without ``azureml-ai-monitoring``, and where the deployment does not
    enable both collections (locally): the collector says so, through its
    ``on_error``, when it is created.
    """
    global Collector
    if Collector is _NOT_IMPORTED:
        try:
            from azureml.ai.monitoring import Collector
        except ImportError:
            Collector = None
    if Collector is None:
        logger.info("Data collection is off: azureml-ai-monitoring is not installed")
        return None
    errors = _CollectionErrors()
    try:
        inputs = Collector(name=INPUTS_COLLECTION, on_error=errors)
        outputs = Collector(name=OUTPUTS_COLLECTION, on_error=errors)
    except Exception as error:  # a collector that cannot start leaves scoring alone
        logger.warning(
            "Data collection is off: the collector failed to start: %s", error
        )
        return None
    if errors.at_start:
        logger.info("Data collection is off: %s", errors.at_start[0])
        return None
    errors.started = True
    logger.info(
        "Data collection is on: %s and %s", INPUTS_COLLECTION, OUTPUTS_COLLECTION
    )
    return inputs, outputs


def _collect(features: pd.DataFrame | np.ndarray, predictions: list[Any]) -> None:
    """Send the input frame and its predictions to the collectors, correlated.

    Any failure is logged: the request is answered all the same.
    """
    inputs, outputs = _collectors
    try:
        frame = (
            features
            if isinstance(features, pd.DataFrame)
            else pd.DataFrame(features, columns=_features)
        )
        context = inputs.collect(frame)
        outputs.collect(pd.DataFrame({_prediction_column: predictions}), context)
    except Exception as error:  # collection never fails a request
        _log_collection_error(error)


def find_model_file(model_dir: str | os.PathLike[str]) -> Path:
    """The one ``*.pkl`` file under ``model_dir``, searched recursively.

    Raises:
        ModelLoadError: The folder is missing, or holds no or several ``*.pkl``.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ModelLoadError(
            f"model folder {folder} does not exist; set {MODEL_DIR_VARIABLE} to the "
            "folder that holds the registered model.pkl"
        )
    found = sorted(path for path in folder.rglob("*.pkl") if path.is_file())
    if not found:
        raise ModelLoadError(
            f"no *.pkl file under {folder}; register the model.pkl written by "
            "model_building.train and deploy that model version"
        )
    if len(found) > 1:
        names = ", ".join(str(path.relative_to(folder)) for path in found)
        raise ModelLoadError(
            f"several *.pkl files under {folder} ({names}); register a model "
            "that holds exactly one"
        )
    return found[0]


def init(
    model_dir: str | os.PathLike[str] | None = None, *, collect: bool = True
) -> None:
    """Load the model once: the one ``*.pkl`` under ``$AZUREML_MODEL_DIR``.

    Args:
        model_dir: The folder to search instead of ``$AZUREML_MODEL_DIR``.
        collect: Start data collection where the deployment enables it (the
            batch driver, which never calls run(), passes False).

    Raises:
        ModelLoadError: No model folder, no or several ``*.pkl`` files, or a
            model that was not fitted on a DataFrame (no ``feature_names_in_``).
    """
    global model, _features, _feature_set, _ignored, _max_rows, _positional
    global _collectors, _prediction_column
    if model_dir is None:
        model_dir = os.environ.get(MODEL_DIR_VARIABLE)
        if not model_dir:
            raise ModelLoadError(
                f"{MODEL_DIR_VARIABLE} is not set; the inference server sets it to "
                "the registered model's folder (locally: set it to the folder of "
                "model.pkl)"
            )
    path = find_model_file(model_dir)
    loaded = joblib.load(path)
    names = getattr(loaded, "feature_names_in_", None)
    if names is None:
        raise ModelLoadError(
            f"{path} has no feature_names_in_: fit the model on a pandas DataFrame "
            "of the feature columns (model_building.train does)"
        )
    _max_rows = _max_rows_setting()
    _prediction_column = (
        os.environ.get(TARGET_COLUMN_VARIABLE, "").strip() or DEFAULT_PREDICTION_COLUMN
    )
    _collectors = _data_collectors() if collect else None
    model = loaded
    _features = [str(name) for name in names]
    _feature_set = frozenset(_features)
    _ignored = _ignored_columns(loaded)
    _positional = _takes_arrays(loaded)
    if _positional:
        # Rows go to the model as an array whose columns run() checked against
        # feature_names_in_: scikit-learn's warning about the missing names is
        # expected here.
        warnings.filterwarnings(
            "ignore",
            message="X does not have valid feature names",
            category=UserWarning,
        )
    logger.info("Loaded model %s with features %s", path, _features)


def _error(message: str, status: int = 400) -> AMLResponse:
    # The class that `azureml.contrib.services.aml_response` names inside the
    # server, imported from its home so that this file also works outside the
    # server; on the first refusal only (the batch driver never needs it).
    from azureml_inference_server_http.api.aml_response import AMLResponse

    if len(message) > ERROR_CHARS:
        message = message[: ERROR_CHARS - 15] + "... (shortened)"
    return AMLResponse({"error": message}, status, json_str=True)


TOO_LARGE = (
    "data holds a number too large for a 64-bit float (beyond about 1.8e308); send "
    "numbers within that range"
)


def _check_values(values: np.ndarray) -> None:
    """Refuse infinite values and rows without any value (float rows only)."""
    finite = np.isfinite(values)
    if finite.all():
        return
    _check_finite(values, _features)
    _check_not_empty((~finite).all(axis=1))


def _check_finite(values: np.ndarray, columns: list[str]) -> None:
    """Refuse the first infinite value in ``values`` (floats), naming its place."""
    infinite = np.argwhere(np.isinf(values))
    if len(infinite):
        row, column = infinite[0]
        raise BadRequestError(
            f"row {row} of data has an infinite value in {columns[column]!r}; "
            "send finite numbers (null for a missing value)"
        )


def _check_not_empty(empty: np.ndarray) -> None:
    """Refuse the rows flagged in ``empty`` (all values missing)."""
    if empty.any():
        rows = np.flatnonzero(empty)
        more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
        raise BadRequestError(
            f"row {rows[0]} of data has no values, all are null{more}; send at "
            "least one feature value per row"
        )


def _rows_input(data: list[Any]) -> pd.DataFrame | np.ndarray:
    """The model's input from rows of values in training column order.

    Numbers go to a model that reads by position as an array, without a
    DataFrame; other models and rows with text get a DataFrame.
    """
    width = len(_features)
    try:
        values = np.array(data, dtype=float)
    except (ValueError, TypeError):
        # Text values or rows of unequal length: keep them as objects and let
        # the shape check (or the model) decide.
        values = np.array(data, dtype=object)
    if values.ndim != 2 or values.shape[1] != width:
        raise BadRequestError(
            f"each row of data must hold {width} values, in this order: "
            f"{_names(_features)}"
        )
    if values.dtype == object:
        frame = pd.DataFrame(values, columns=_features).infer_objects()
        _check_not_empty(frame.isna().to_numpy().all(axis=1))
        return frame
    _check_values(values)
    return values if _positional else pd.DataFrame(values, columns=_features)


def _records_frame(data: list[Any]) -> pd.DataFrame:
    """A frame from one object per row, keyed by column name."""
    if set(map(type, data)) != {dict}:
        raise BadRequestError(
            "data mixes objects with other values; send every row as an object "
            f"with the columns {_features}"
        )
    frame = _known_columns(pd.DataFrame.from_records(data))
    if _ignored:
        data = [
            {key: value for key, value in row.items() if key not in _ignored}
            for row in data
        ]
    if min(map(len, data)) < len(_features):
        index, row = next(
            (index, row) for index, row in enumerate(data) if len(row) < len(_features)
        )
        missing = [name for name in _features if name not in row]
        raise BadRequestError(
            f"row {index} of data lacks the columns {_names(missing)}"
        )
    return _checked_values(frame)


def frame_input(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input from a frame of records, checked as a request's objects are.

    Batch scoring (``batch.py``) gives its files' rows this way: the same
    columns (identifiers dropped), the same checks, the same errors.

    Raises:
        BadRequestError: Missing or unknown columns, an infinite value, or a
            row without any value.
    """
    return _checked_values(_known_columns(frame))


def _known_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the ignored columns; refused unless the rest are the features."""
    if _ignored:
        frame = frame.drop(columns=list(_ignored), errors="ignore")
    columns = set(frame.columns)
    if columns != _feature_set:
        missing = [name for name in _features if name not in columns]
        unknown = sorted(str(name) for name in columns - _feature_set)
        raise BadRequestError(
            f"data objects must have exactly the columns {_names(_features)}; "
            f"missing: {_names(missing)}, unknown: {_names(unknown)}"
        )
    return frame


def _checked_values(frame: pd.DataFrame) -> pd.DataFrame:
    """The features of ``frame`` in training order; refuses infinities and empty rows."""
    frame = frame[_features]
    numeric = frame.select_dtypes("number")
    _check_finite(numeric.to_numpy(dtype=float), [str(c) for c in numeric.columns])
    _check_not_empty(frame.isna().to_numpy().all(axis=1))
    return frame


def _body(raw: str | bytes) -> dict[str, Any]:
    """The request body, parsed: a JSON object with a "data" key."""
    try:
        body = parse_json(raw)
    except ValueError as error:
        raise BadRequestError(f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict) or "data" not in body:
        raise BadRequestError(
            'the body must be a JSON object with a "data" key: '
            '{"data": [[...], ...]} or {"data": [{"column": value, ...}, ...]}'
        )
    return body


def _wants_probabilities(body: dict[str, Any]) -> bool:
    """Whether the request asks for class probabilities (``"probabilities": true``)."""
    wanted = body.get("probabilities", False)
    if not isinstance(wanted, bool):
        raise BadRequestError('"probabilities" must be true or false')
    if wanted and not hasattr(model, "predict_proba"):
        raise BadRequestError(
            "this model gives no class probabilities (a regression, or a classifier "
            'without predict_proba); leave out "probabilities"'
        )
    return wanted


def _model_input(body: dict[str, Any]) -> pd.DataFrame | np.ndarray:
    """The request's data as the model's input: its features, checked."""
    data = body["data"]
    if not isinstance(data, list) or not data:
        raise BadRequestError(
            '"data" must be a non-empty list of rows (lists of values) or of '
            "objects (column: value)"
        )
    if len(data) > _max_rows:
        raise TooManyRowsError(
            f"data has {len(data)} rows; at most {_max_rows} rows are scored in one "
            f"request ({MAX_ROWS_VARIABLE}): send them in smaller requests"
        )
    first = data[0]
    if isinstance(first, list):
        return _rows_input(data)
    if isinstance(first, dict):
        return _records_frame(data)
    raise BadRequestError(
        f"each entry of data must be a row of {len(_features)} values or an object "
        f"with the columns {_names(_features)}; got {type(first).__name__} "
        f"{first!r:.50}"
    )


def _probabilities(features: pd.DataFrame | np.ndarray) -> list[dict[str, float]]:
    """Per row, each class label (as text) with its probability."""
    labels = [str(label) for label in model.classes_]
    return [
        dict(zip(labels, row, strict=True))
        for row in model.predict_proba(features).tolist()
    ]


def run(raw: str) -> dict[str, list[Any]] | AMLResponse:
    """Score one request body.

    Args:
        raw: The request body, JSON text.

    Returns:
        ``{"predictions": [...]}`` with one prediction per row (and
        ``"probabilities"`` if asked for), or a 400
        (413 for too many rows) response ``{"error": "..."}`` for a request
        that cannot be scored.

    Raises:
        ModelLoadError: ``init()`` has not loaded a model.
    """
    if model is None:
        raise ModelLoadError("no model loaded: call init() before run()")
    try:
        body = _body(raw)
        features = _model_input(body)
        with_probabilities = _wants_probabilities(body)
    except OverflowError:  # numpy's or pandas' float conversion of a huge integer
        return _error(TOO_LARGE)
    except BadRequestError as error:
        return _error(str(error), error.status)
    try:
        answer = {"predictions": np.asarray(model.predict(features)).tolist()}
        if with_probabilities:
            answer["probabilities"] = _probabilities(features)
    except OverflowError:  # the model's own float conversion
        return _error(TOO_LARGE)
    except (ValueError, TypeError) as error:
        return _error(f"the model could not score data: {error!s:.300}")
    if _collectors is not None:
        _collect(features, answer["predictions"])
    return answer
