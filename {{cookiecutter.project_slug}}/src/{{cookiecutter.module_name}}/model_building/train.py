"""Train the model: a scikit-learn ``Pipeline`` predicting ``settings.TARGET_COLUMN``.

Run it as a module of this package (``python -m <package>.model_building.train``)::

    train                              # settings.TRAINING_DATA, here
    train --data data/local.csv        # a local file (or a file:// URL)
    train --data raw/data.csv          # else a blob in the storage container
    train --compute cpu-cluster        # the same script, as an Azure ML job
    train --compute cpu-cluster --wait # ... then wait and download its model

The task (``settings.TASK``) is classification or regression; the estimator
at the end of the pipeline is chosen in ``make_model``, the one place to edit
to try another model. It writes the fitted pipeline with ``joblib`` (default
``outputs/model.pkl``) and ``metrics.json`` beside it. With ``--compute`` alone it only submits the
job and prints its address; with ``--wait`` too it waits for the job, then
downloads the job's model.pkl and metrics.json to ``--output`` and its folder,
as if the training had run here (so ``deployment.register`` finds the model).
A job that does not complete exits with 1, its status and its address.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import sklearn
from pandas.api.types import is_integer_dtype, is_numeric_dtype
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from .. import settings
from ..azureml_config import PROJECT_DIR, quiet_azure_logging
from ..command_line import DEBUG_HINT, add_debug_option
from ..data_ingestion import DataIngestor
from ..data_ingestion.credentials import SecretsSource
from ..data_ingestion.errors import DataIngestionError
from ..data_ingestion.sources import BLOB_PREFIX
from ..data_preprocessing import DataPreprocessor, PreprocessingError
from ..data_preprocessing.features import (
    RecordPreparation,
    as_categories,
    as_text,
    column_roles,
)
from . import tracking

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
DEFAULT_OUTPUT = Path("outputs") / "model.pkl"
INSTALL_AZUREML = "pip install -r requirements/lock/dev.txt"


TASKS = ("classification", "regression")
# With BALANCE_CLASSES = "auto", classes are weighted when the smallest class
# has fewer rows than this share of the largest one.
IMBALANCE_RATIO = 0.2
# Words (and word pairs) a free-text column contributes at most.
TEXT_FEATURES = 5000


class TrainingError(ValueError):
    """The data cannot be used to train the model as it is."""


def make_model(
    task: str, seed: int = 0, *, balance_classes: bool = False
) -> BaseEstimator:
    """The estimator at the end of the pipeline: edit here to try another model.

    Any scikit-learn estimator works (``RandomForestClassifier``,
    ``HistGradientBoostingRegressor``, ...); a classifier should have
    ``predict_proba`` for ``/score``'s probabilities and the ROC-AUC.
    ``balance_classes`` weighs each class by the inverse of its size
    (``class_weight="balanced"``; see ``settings.BALANCE_CLASSES``).
    """
    if task == "regression":
        return Ridge()
    return LogisticRegression(
        max_iter=1000,
        random_state=seed,
        class_weight="balanced" if balance_classes else None,
    )


def balance_classes(target: pd.Series) -> bool:
    """Whether to weigh classes, from ``settings.BALANCE_CLASSES`` and ``target``.

    ``"auto"``: when the smallest class has fewer than IMBALANCE_RATIO (a
    fifth) of the largest class's rows. ``True``/``False``: always, never.

    Raises:
        TrainingError: The setting is none of these.
    """
    setting = getattr(settings, "BALANCE_CLASSES", "auto")
    if isinstance(setting, bool):
        return setting
    if setting != "auto":
        raise TrainingError(
            f'settings.BALANCE_CLASSES is {setting!r}; set it to "auto", True or '
            "False in settings.py."
        )
    counts = target.value_counts()
    return bool(len(counts) > 1 and counts.min() < IMBALANCE_RATIO * counts.max())


def configured_task() -> str:
    """``settings.TASK``, checked.

    Raises:
        TrainingError: It is neither "classification" nor "regression".
    """
    if settings.TASK not in TASKS:
        raise TrainingError(
            f"settings.TASK is {settings.TASK!r}; set it to one of {list(TASKS)} "
            "in settings.py."
        )
    return settings.TASK


def training_source() -> str:
    """Where ``settings.TRAINING_DATA`` is read from.

    A relative path to a file in the project folder is made absolute, so that
    it is found from any current folder (tests, notebooks); anything else is
    passed on as it is (see ``data_ingestion.sources``).
    """
    value = settings.TRAINING_DATA
    if value and not value.startswith(BLOB_PREFIX) and "://" not in value:
        in_project = PROJECT_DIR / value
        if in_project.is_file():
            return str(in_project)
    return value


def build_pipeline(
    feature_frame: pd.DataFrame,
    seed: int = 0,
    task: str = "classification",
    *,
    balance: bool = False,
) -> Pipeline:
    """An unfitted pipeline that takes raw records like ``feature_frame``.

    Its first step, ``prepare`` (``RecordPreparation``), drops
    ``settings.ID_COLUMNS``, runs the team's ``prepare_records`` and turns
    dates into numbers; then numeric (and boolean) columns are imputed with
    the median and scaled, ``settings.TEXT_COLUMNS`` become TF-IDF word
    counts, and other text and categorical columns are one-hot encoded
    (missing values as their own category; categories unseen in training
    are ignored). The estimator is ``make_model(task)``; the same data and
    seed give the same model.

    Raises:
        TrainingError: A column is neither numeric, datetime, boolean nor
            text/categorical, or a TEXT_COLUMNS name is not a feature.
    """
    preparation = RecordPreparation(id_columns=tuple(settings.ID_COLUMNS))
    prepared = preparation.fit(feature_frame).transform(feature_frame)
    roles = column_roles(prepared, settings.TEXT_COLUMNS)
    unknown_text = sorted(set(settings.TEXT_COLUMNS) - set(prepared.columns))
    if unknown_text:
        raise TrainingError(
            f"settings.TEXT_COLUMNS names {unknown_text}, which the prepared data "
            f"does not have; its columns are {list(prepared.columns)}. Fix "
            "TEXT_COLUMNS in settings.py."
        )
    if roles.other:
        raise TrainingError(
            f"cannot use column(s) {roles.other} as features: only numeric, boolean, "
            "datetime and text/categorical columns are supported. Convert them in "
            "data_preprocessing/preparation.py (DataPreprocessor.cast_types), or "
            "list them in ID_COLUMNS in settings.py to leave them out."
        )
    _warn_about_identifiers(feature_frame, roles.numeric + roles.categorical)
    transformers: list[tuple[str, Any, Any]] = []
    if roles.numeric:
        numeric_steps = [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]
        transformers.append(("numeric", Pipeline(numeric_steps), roles.numeric))
    if roles.categorical:
        categories = Pipeline(
            [
                ("as_text", FunctionTransformer(as_categories, validate=False)),
                ("encode", OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        transformers.append(("categorical", categories, roles.categorical))
    for column in roles.text:
        words = Pipeline(
            [
                ("as_text", FunctionTransformer(as_text, validate=False)),
                ("words", TfidfVectorizer(max_features=TEXT_FEATURES)),
            ]
        )
        # A single name (not a list) gives the vectorizer one column of text.
        transformers.append((f"text_{column}", words, column))
    return Pipeline(
        [
            ("prepare", preparation),
            ("features", ColumnTransformer(transformers)),
            ("model", make_model(task, seed, balance_classes=balance)),
        ]
    )


def _warn_about_identifiers(frame: pd.DataFrame, features: list[str]) -> None:
    """Log a warning for an integer or text feature with a new value in every row."""
    if len(frame) < 50:
        return
    for column in features:
        if column not in frame.columns:
            continue
        series = frame[column]
        maybe_key = is_integer_dtype(series) or not is_numeric_dtype(series)
        if maybe_key and series.nunique(dropna=True) == len(series):
            logger.warning(
                "column %r has a different value in every row: if it is an "
                "identifier, add it to ID_COLUMNS in settings.py",
                column,
            )


def prepare(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Split ``df`` into features and target, after dropping unusable rows.

    Drops duplicate rows and rows without a target value; the target is
    ``settings.TARGET_COLUMN``, the features are all the other columns.

    Raises:
        TrainingError: The target column is missing, not numeric for a
            regression, or nothing is left to learn.
    """
    target = settings.TARGET_COLUMN
    if target not in df.columns:
        raise TrainingError(
            f"the target column {target!r} is not in the data; available columns: "
            f"{list(df.columns)!r}. Set TARGET_COLUMN in settings.py to the column "
            "to predict."
        )
    clean = DataPreprocessor(df).drop_duplicates().drop_missing(columns=target).get_df()
    if clean.empty:
        raise TrainingError(
            f"no rows left to train on: all {len(df)} rows lack a value in {target!r}."
        )
    if len(clean.columns) < 2:
        raise TrainingError(
            f"the data has only the target column {target!r}; add feature columns."
        )
    if configured_task() == "regression" and not is_numeric_dtype(clean[target]):
        raise TrainingError(
            f"TASK is 'regression' but the target column {target!r} is not numeric "
            f'({clean[target].dtype}); set TASK = "classification" in settings.py, '
            "or convert the column to numbers."
        )
    return clean.drop(columns=target), clean[target]


def split_data(
    features: pd.DataFrame,
    target: pd.Series,
    *,
    seed: int = 0,
    test_size: float = 0.2,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The seeded train/test split ``train_model`` uses (stratified by class).

    A regression's split is not stratified.

    Returns:
        ``(X_train, X_test, y_train, y_test)``.

    Raises:
        TrainingError: ``test_size`` is not in (0, 1), or a class has fewer
            than two rows (a stratified split needs one on each side).
    """
    if not 0 < test_size < 1:
        raise TrainingError(f"test_size must be between 0 and 1, got {test_size!r}.")
    if configured_task() == "regression":
        x_train, x_test, y_train, y_test = train_test_split(
            features, target, test_size=test_size, random_state=seed
        )
        return x_train, x_test, y_train, y_test
    counts = target.value_counts()
    rare = counts[counts < 2]
    if not rare.empty:
        raise TrainingError(
            f"class(es) {rare.index.tolist()!r} have fewer than 2 rows; a "
            "stratified split needs at least 2 per class. Add rows or remove "
            "those classes."
        )
    try:
        parts = train_test_split(
            features,
            target,
            test_size=test_size,
            random_state=seed,
            stratify=target,
        )
    except ValueError as error:
        raise TrainingError(
            f"cannot split {len(target)} rows with {len(counts)} classes into "
            f"train and test sets (test_size={test_size}): {error}. Use more "
            "rows or another test_size."
        ) from error
    x_train, x_test, y_train, y_test = parts
    return x_train, x_test, y_train, y_test


def evaluate(
    model: Pipeline, features: pd.DataFrame, target: pd.Series
) -> dict[str, Any]:
    """The metrics of ``model`` on held-out rows.

    Classification: accuracy, precision, recall, F1 and ROC-AUC, for the
    positive class (``classes[1]``) of a binary target, else macro-averaged
    (ROC-AUC one-vs-rest); ROC-AUC needs ``predict_proba`` and both kinds of
    rows. Also macro F1, balanced accuracy, per-class precision, recall and
    F1, the confusion matrix and the majority-class baseline (see
    ``_class_report``). Regression: RMSE, MAE and R².
    """
    predicted = model.predict(features)
    if configured_task() == "regression":
        return {
            "rmse": float(root_mean_squared_error(target, predicted)),
            "mae": float(mean_absolute_error(target, predicted)),
            "r2": float(r2_score(target, predicted)),
        }
    classes = model.classes_.tolist()
    binary = len(classes) == 2
    options: dict[str, Any] = (
        {"average": "binary", "pos_label": classes[1]}
        if binary
        else {"average": "macro"}
    )
    metrics: dict[str, Any] = {
        "accuracy": float(accuracy_score(target, predicted)),
        "precision": float(
            precision_score(target, predicted, zero_division=0, **options)
        ),
        "recall": float(recall_score(target, predicted, zero_division=0, **options)),
        "f1": float(f1_score(target, predicted, zero_division=0, **options)),
        "f1_macro": float(
            f1_score(target, predicted, average="macro", zero_division=0)
        ),
        "average": options["average"],
        "classes": classes,
        "roc_auc": None,
    }
    metrics.update(_class_report(target, predicted, classes))
    if hasattr(model, "predict_proba") and target.nunique() == len(classes):
        scores = model.predict_proba(features)
        metrics["roc_auc"] = float(
            roc_auc_score(target, scores[:, 1])
            if binary
            else roc_auc_score(
                target, scores, multi_class="ovr", average="macro", labels=classes
            )
        )
    return metrics


def _class_report(
    target: pd.Series, predicted: Any, classes: list[Any]
) -> dict[str, Any]:
    """Balanced accuracy, per-class scores, confusion matrix, majority baseline.

    The baseline always predicts the class most frequent in ``target``: a
    model is only useful where it beats it (on macro F1 especially).
    """
    precision, recall, f1, support = precision_recall_fscore_support(
        target, predicted, labels=classes, zero_division=0
    )
    majority = target.value_counts().idxmax()
    always_majority = [majority] * len(target)
    return {
        "balanced_accuracy": float(balanced_accuracy_score(target, predicted)),
        "per_class": {
            str(label): {
                "precision": float(precision[index]),
                "recall": float(recall[index]),
                "f1": float(f1[index]),
                "support": int(support[index]),
            }
            for index, label in enumerate(classes)
        },
        # Rows: true class, columns: predicted class, both in the order of labels.
        "confusion_matrix": {
            "labels": classes,
            "matrix": confusion_matrix(target, predicted, labels=classes).tolist(),
        },
        "baseline": {
            "strategy": "always the majority class",
            "class": majority.item() if hasattr(majority, "item") else majority,
            "accuracy": float(accuracy_score(target, always_majority)),
            "balanced_accuracy": float(
                balanced_accuracy_score(target, always_majority)
            ),
            "f1_macro": float(
                f1_score(
                    target,
                    always_majority,
                    labels=classes,
                    average="macro",
                    zero_division=0,
                )
            ),
        },
    }


def train_model(
    df: pd.DataFrame, *, seed: int = 0, test_size: float = 0.2
) -> tuple[Pipeline, dict[str, Any]]:
    """Fit the pipeline on a seeded, stratified train split of ``df``.

    Args:
        df: The data, with the target column ``settings.TARGET_COLUMN``.
        seed: Seeds the split and the model; a seed gives the same model.
        test_size: Share of the rows held out to compute the metrics.

    Returns:
        The fitted pipeline and its metrics on the held-out rows (see
        ``evaluate``), with task, n_train, n_test, features, seed and
        sklearn_version.

    Raises:
        TrainingError: The data cannot be used (see ``prepare`` and
            ``split_data``).
    """
    features, target = prepare(df)
    x_train, x_test, y_train, y_test = split_data(
        features, target, seed=seed, test_size=test_size
    )
    task = configured_task()
    balance = task == "classification" and balance_classes(y_train)
    model = build_pipeline(x_train, seed=seed, task=task, balance=balance)
    model.fit(x_train, y_train)
    metrics = {
        "task": task,
        **evaluate(model, x_test, y_test),
        "n_train": len(x_train),
        "n_test": len(x_test),
        "features": [str(column) for column in model.feature_names_in_],
        "ignored_columns": list(model.named_steps["prepare"].ignored_columns_),
        "balanced_classes": balance,
        "seed": seed,
        "sklearn_version": sklearn.__version__,
    }
    logger.info("trained on %d rows; %s", metrics["n_train"], _headline(metrics))
    return model, metrics


def train_and_save(
    source: str | os.PathLike[str],
    output: Path,
    *,
    seed: int = 0,
    secrets: SecretsSource = None,
) -> dict[str, Any]:
    """Read ``source``, train, and write the model and ``metrics.json``.

    Args:
        source: A local file, or a blob name in the storage container (see
            ``data_ingestion.sources``).
        output: Where to write the pipeline with ``joblib.dump``; its folder
            is created, and ``metrics.json`` is written beside it.
        seed: Seeds the split and the classifier.
        secrets: Storage credentials for a blob (see ``DataIngestor``).

    Returns:
        The metrics, as written to ``metrics.json``.
    """
    df = DataIngestor(source, secrets).get_df()
    model, metrics = train_model(df, seed=seed)
    # Where the model learnt from: registration tags the model with it, and the
    # model monitor (SDK v2) compares Prod's data with it.
    metrics["training_data"] = tracking.data_param(source)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, output)
    metrics_path = output.with_name(METRICS_FILE)
    metrics_path.write_text(
        json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    logger.info("wrote %s and %s", output, metrics_path)
    params = {"seed": seed, "data": tracking.data_param(source)}
    tracking.log_training_run(model, metrics, params)  # MLflow: see tracking.py
    return metrics


def _headline(metrics: dict[str, Any]) -> str:
    """The main metric and the number of held-out rows it was measured on."""
    if "rmse" in metrics:
        score = f"RMSE {metrics['rmse']:.4g}, R² {metrics['r2']:.3f}"
    else:
        baseline = metrics.get("baseline") or {}
        score = f"accuracy {metrics['accuracy']:.3f}"
        if "f1_macro" in metrics and baseline:  # not in an older job's metrics
            score = (
                f"macro F1 {metrics['f1_macro']:.3f} (majority-class baseline "
                f"{baseline['f1_macro']:.3f}), {score} (baseline "
                f"{baseline['accuracy']:.3f})"
            )
    return f"{score} on {metrics['n_test']} held-out rows"


def _summary(metrics: dict[str, Any], output: Path) -> str:
    """One line on the trained model: its main metric and where it was written."""
    return (
        f"{_headline(metrics)}; "
        f"model: {output}, metrics: {output.with_name(METRICS_FILE)}"
    )


def _submit(compute: str, data: str, seed: int, *, wait: bool, output: Path) -> int:
    """Train as an Azure ML job on ``compute``; print its address (and summary).

    With ``wait``, wait for the job and download its model to ``output``.
    """
    try:
        from .azureml_job import (
            TrainingJobError,
            run_training_job,
            submit_training_job,
        )
    except ModuleNotFoundError as error:
        package = __name__.split(".")[0]
        if error.name == package or (error.name or "").startswith(package + "."):
            raise  # a module of this package is missing, not the SDK
        print(
            f"--compute needs the Azure ML SDK ({settings.AZUREML_SDK}), which is "
            f"not installed ({error}). Install it: {INSTALL_AZUREML}",
            file=sys.stderr,
        )
        return 2
    if not wait:
        job = submit_training_job(compute, data, seed=seed)
        print(f"submitted the training job on {compute}: {job}")
        return 0
    try:
        job = run_training_job(compute, data, seed=seed, output=output)
    except TrainingJobError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    metrics = json.loads(output.with_name(METRICS_FILE).read_text(encoding="utf-8"))
    print(f"the training job on {compute} completed: {job}")
    print(_summary(metrics, output))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: train here, or submit the training to an Azure ML cluster."""
    parser = argparse.ArgumentParser(
        description="Train the model and write model.pkl and metrics.json, or "
        "submit the training to an Azure ML compute cluster."
    )
    parser.add_argument(
        "--data",
        default=None,
        help="a local file (data/churn.csv, /abs/data.csv, file:// URL) or, if no "
        "such file exists, a blob name in the storage container (blob:NAME forces "
        "a blob) (default: settings.TRAINING_DATA)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the model; metrics.json goes beside it "
        f"(default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds the split and the model"
    )
    parser.add_argument(
        "--compute",
        metavar="CLUSTER",
        help="submit this training as an Azure ML job on this compute cluster "
        f"(for example {settings.TRAINING_COMPUTE_NAME}) instead of training here",
    )
    add_debug_option(parser)
    parser.add_argument(
        "--wait",
        action="store_true",
        help="with --compute: wait for the job to finish, then download its "
        "model.pkl and metrics.json to --output and its folder",
    )
    args = parser.parse_args(argv)
    if args.wait and not args.compute:
        parser.error("--wait waits for a job on a cluster: add --compute CLUSTER.")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    # The Azure SDKs log every HTTP request at INFO (a blob download, a job
    # submission): keep only their warnings.
    quiet_azure_logging()
    if args.compute:
        return _submit(
            args.compute,
            args.data or training_source(),
            args.seed,
            wait=args.wait,
            output=args.output,
        )
    try:
        metrics = train_and_save(
            args.data or training_source(), args.output, seed=args.seed
        )
    except (TrainingError, DataIngestionError, PreprocessingError) as error:
        if args.debug:
            raise
        # A problem with the data or the settings: its message says what to do.
        print(f"error: {error}\n{DEBUG_HINT}", file=sys.stderr)
        return 1
    print(_summary(metrics, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
