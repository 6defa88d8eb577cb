"""The scoring script that Azure ML's inference server runs.

The server loads this file by its path, calls ``init()`` once, then ``run()``
with the body of every ``POST /score``. It therefore imports nothing from the
package, only what ``.azureml/conda_dependencies.yml`` installs.

Requests::

    {"data": [[5.1, 3.5, 1.4, 0.2], ...]}            # values in training column order
    {"data": [{"sepal_length_cm": 5.1, ...}, ...]}   # one object per row

Answer: ``{"predictions": [...]}``, one per row. With ``"probabilities": true``
in the request, a classifier's answer also holds ``"probabilities"``: one
object per row, class label -> probability. A request that cannot be scored
gets a 400 with ``{"error": "..."}`` saying what is wrong.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

# The class that `azureml.contrib.services.aml_response` names inside the server;
# imported from its home so that this file also works outside the server.
from azureml_inference_server_http.api.aml_response import AMLResponse

try:
    # pydantic-core comes with the inference server and parses JSON about three
    # times faster than the standard library: most of run()'s own time on big
    # requests.
    from pydantic_core import from_json as parse_json
except ImportError:  # pragma: no cover - a server without pydantic
    from json import loads as parse_json

logger = logging.getLogger(__name__)

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"

model: Any = None
_features: list[str] = []
_feature_set: frozenset[str] = frozenset()


class ModelLoadError(RuntimeError):
    """The model file could not be found or loaded."""


class BadRequestError(ValueError):
    """The request cannot be scored; the message says why."""


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


def init(model_dir: str | os.PathLike[str] | None = None) -> None:
    """Load the model once: the one ``*.pkl`` under ``$AZUREML_MODEL_DIR``.

    Args:
        model_dir: The folder to search instead of ``$AZUREML_MODEL_DIR``.

    Raises:
        ModelLoadError: No model folder, no or several ``*.pkl`` files, or a
            model that was not fitted on a DataFrame (no ``feature_names_in_``).
    """
    global model, _features, _feature_set
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
    model = loaded
    _features = [str(name) for name in names]
    _feature_set = frozenset(_features)
    logger.info("Loaded model %s with features %s", path, _features)


def _error(message: str) -> AMLResponse:
    return AMLResponse({"error": message}, 400, json_str=True)


def _rows_frame(data: list[Any]) -> pd.DataFrame:
    """A frame from rows of values in training column order."""
    width = len(_features)
    try:
        values = np.array(data, dtype=float)
    except (ValueError, TypeError):
        # Text values or rows of unequal length: keep them as objects and let
        # the shape check (or the model) decide.
        values = np.array(data, dtype=object)
    if values.ndim != 2 or values.shape[1] != width:
        raise BadRequestError(
            f"each row of data must hold {width} values, in this order: {_features}"
        )
    frame = pd.DataFrame(values, columns=_features)
    return frame if values.dtype != object else frame.infer_objects()


def _records_frame(data: list[Any]) -> pd.DataFrame:
    """A frame from one object per row, keyed by column name."""
    if set(map(type, data)) != {dict}:
        raise BadRequestError(
            "data mixes objects with other values; send every row as an object "
            f"with the columns {_features}"
        )
    frame = pd.DataFrame.from_records(data)
    columns = set(frame.columns)
    if columns != _feature_set:
        missing = [name for name in _features if name not in columns]
        unknown = sorted(str(name) for name in columns - _feature_set)
        raise BadRequestError(
            f"data objects must have exactly the columns {_features}; "
            f"missing: {missing}, unknown: {unknown}"
        )
    if min(map(len, data)) < len(_features):
        index, row = next(
            (index, row) for index, row in enumerate(data) if len(row) < len(_features)
        )
        missing = [name for name in _features if name not in row]
        raise BadRequestError(f"row {index} of data lacks the columns {missing}")
    return frame[_features]


def _body(raw: str | bytes) -> dict[str, Any]:
    """The request body, parsed."""
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


def _frame(body: dict[str, Any]) -> pd.DataFrame:
    """The request's data as a DataFrame of the model's features."""
    data = body["data"]
    if not isinstance(data, list) or not data:
        raise BadRequestError(
            '"data" must be a non-empty list of rows (lists of values) or of '
            "objects (column: value)"
        )
    first = data[0]
    if isinstance(first, list):
        return _rows_frame(data)
    if isinstance(first, dict):
        return _records_frame(data)
    raise BadRequestError(
        f"each entry of data must be a row of {len(_features)} values or an object "
        f"with the columns {_features}; got {type(first).__name__} {first!r:.50}"
    )


def _probabilities(frame: pd.DataFrame) -> list[dict[str, float]]:
    """Per row, each class label (as text) with its probability."""
    labels = [str(label) for label in model.classes_]
    return [
        dict(zip(labels, row, strict=True))
        for row in model.predict_proba(frame).tolist()
    ]


def run(raw: str) -> dict[str, list[Any]] | AMLResponse:
    """Score one request body.

    Args:
        raw: The request body, JSON text.

    Returns:
        ``{"predictions": [...]}`` with one prediction per row (and
        ``"probabilities"`` if asked for), or a 400 response
        ``{"error": "..."}`` for a request that cannot be scored.

    Raises:
        ModelLoadError: ``init()`` has not loaded a model.
    """
    if model is None:
        raise ModelLoadError("no model loaded: call init() before run()")
    try:
        body = _body(raw)
        frame = _frame(body)
        with_probabilities = _wants_probabilities(body)
    except BadRequestError as error:
        return _error(str(error))
    try:
        answer = {"predictions": np.asarray(model.predict(frame)).tolist()}
        if with_probabilities:
            answer["probabilities"] = _probabilities(frame)
    except (ValueError, TypeError) as error:
        return _error(f"the model could not score data: {error}")
    return answer
