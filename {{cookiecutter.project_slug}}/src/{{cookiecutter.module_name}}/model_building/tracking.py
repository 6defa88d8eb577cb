"""Log training runs to MLflow: parameters, metrics and the fitted model.

Where runs go: ``$MLFLOW_TRACKING_URI`` when it is set (an Azure ML job sets
it to its workspace; the model-build pipeline sets it to the workspace's with
``--workspace-uri`` below), else ``mlflow.db`` in the project folder, a SQLite
store with the artifacts in ``mlartifacts/`` beside it (both git-ignored; no
server needed). SQLite is MLflow's default store since 3.7; its ./mlruns file
store is legacy: https://mlflow.org/docs/latest/self-hosting/architecture/backend-store

Compare runs with ``mlflow.search_runs`` (``experiment_nbs/02_train_model.ipynb``)
or in a browser with the full MLflow (the README says how).

    python -m {{ cookiecutter.module_name }}.model_building.tracking --workspace-uri

prints the workspace's MLflow tracking URI (for ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import settings
from ..azureml_config import PROJECT_DIR, WorkspaceConfigurationError

logger = logging.getLogger(__name__)

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
# Set by Azure ML in a job: the job's own run, which the training logs to.
RUN_ID_VARIABLE = "MLFLOW_RUN_ID"
LOCAL_STORE = PROJECT_DIR / "mlflow.db"
SQLITE_PREFIX = "sqlite:///"
MODEL_ARTIFACT = "model"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, or the project's local SQLite store."""
    return os.environ.get(TRACKING_URI_VARIABLE) or f"{SQLITE_PREFIX}{LOCAL_STORE}"


def experiment_name() -> str:
    """The MLflow experiment of the project's runs: its slug, as its Azure ML jobs."""
    return settings.PROJECT_SLUG


def _use_experiment(mlflow: Any, uri: str) -> None:
    """Make the project's experiment the active one, creating it if needed.

    In a SQLite store, a new experiment keeps its artifacts in ``mlartifacts/``
    beside the database (MLflow would pick a folder under the current one).
    """
    name = experiment_name()
    if uri.startswith(SQLITE_PREFIX) and mlflow.get_experiment_by_name(name) is None:
        database = Path(uri.removeprefix(SQLITE_PREFIX))
        artifacts = database.parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=artifacts.resolve().as_uri())
    mlflow.set_experiment(name)


def log_training_run(
    model: Any, metrics: Mapping[str, Any], params: Mapping[str, Any]
) -> str:
    """Log one training run: ``params``, the numeric ``metrics``, the model.

    The model is logged in MLflow's scikit-learn flavour, and all of
    ``metrics`` (lists included) as ``metrics.json``. Inside an Azure ML job
    the run is the job's own.

    Returns:
        The run id.
    """
    import mlflow
    import mlflow.sklearn
    import sklearn

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if not os.environ.get(RUN_ID_VARIABLE):
        _use_experiment(mlflow, uri)
    numeric = {
        name: float(value)
        for name, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    with mlflow.start_run() as run:
        mlflow.log_params(dict(params))
        mlflow.log_metrics(numeric)
        mlflow.log_dict(dict(metrics), "metrics.json")
        # The requirements are given: inferring them loads the model again.
        # Pickled like the registered model.pkl (joblib): skops, the default
        # of newer MLflow versions, refuses the pipeline's numpy types.
        # MLflow warns about every pickled model; this one is pickled on
        # purpose (above), so its warning would only hide real ones.
        mlflow_sklearn_logger = logging.getLogger("mlflow.sklearn")
        mlflow_sklearn_logger.addFilter(_drop_pickle_warning)
        try:
            mlflow.sklearn.log_model(
                model,
                name=MODEL_ARTIFACT,
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            )
        finally:
            mlflow_sklearn_logger.removeFilter(_drop_pickle_warning)
    logger.info("logged MLflow run %s to %s", run.info.run_id, _safe(uri))
    return run.info.run_id


def _drop_pickle_warning(record: logging.LogRecord) -> bool:
    """Logging filter: False for MLflow's warning about pickled scikit-learn models."""
    return "pickle or cloudpickle format" not in record.getMessage()


def _safe(uri: str) -> str:
    """``uri`` without a query string or user info (no secret reaches a log)."""
    head = uri.split("?", 1)[0]
    scheme, _, rest = head.partition("://")
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}" if rest else head


def data_param(source: str | os.PathLike[str]) -> str:
    """The training data as a run parameter: without a query string (a SAS token)."""
    return str(source).split("?", 1)[0]


def main(argv: list[str] | None = None) -> int:
    """Command line: print the workspace's MLflow tracking URI."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workspace-uri",
        action="store_true",
        required=True,
        help="print the MLflow tracking URI of the Azure ML workspace",
    )
    parser.parse_args(argv)
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        from ..azureml_workspace import mlflow_tracking_uri

        uri = mlflow_tracking_uri()
    except WorkspaceConfigurationError as error:
        parser.exit(1, f"error: {error}\n")
    print(uri)
    return 0


if __name__ == "__main__":
    sys.exit(main())
