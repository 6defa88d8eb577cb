"""MLflow tracking of training runs, logged to a temporary store and read back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import mlflow.sklearn
import pandas as pd
import pytest
from conftest import IRIS_SETTINGS, use_template_settings
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from {{ cookiecutter.module_name }}.data_ingestion import (
    sample_data_path,
)
from {{ cookiecutter.module_name }}.model_building import (
    tracking,
    train,
)

# These tests train on the bundled iris sample, whatever data settings.py names.
pytestmark = pytest.mark.usefixtures("iris_settings")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store for one test."""
    uri = f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"
    (tmp_path / "runs").mkdir()
    monkeypatch.setenv(tracking.TRACKING_URI_VARIABLE, uri)
    monkeypatch.delenv(tracking.RUN_ID_VARIABLE, raising=False)
    return uri


@dataclass
class Trained:
    """One training run, logged to its own store."""

    folder: Path
    uri: str
    metrics: dict[str, Any]
    model_file: Path
    run: Run


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """train_and_save once (seed 3), logging to a store of this module."""
    folder = tmp_path_factory.mktemp("tracked")
    uri = f"sqlite:///{folder / 'runs' / 'mlflow.db'}"
    (folder / "runs").mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(tracking.TRACKING_URI_VARIABLE, uri)
        monkeypatch.delenv(tracking.RUN_ID_VARIABLE, raising=False)
        monkeypatch.chdir(folder)
        use_template_settings(monkeypatch, IRIS_SETTINGS)
        model_file = folder / "outputs" / "model.pkl"
        metrics = train.train_and_save(sample_data_path(), model_file, seed=3)
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(tracking.experiment_name())
        (run,) = client.search_runs([experiment.experiment_id])
        yield Trained(folder, uri, metrics, model_file, run)


def test_training_logs_its_parameters_and_metrics(trained: Trained) -> None:
    data = trained.run.data
    assert data.params == {"seed": "3", "data": str(sample_data_path())}
    assert data.metrics["accuracy"] == pytest.approx(trained.metrics["accuracy"])
    assert data.metrics["n_test"] == trained.metrics["n_test"]


def test_the_logged_model_predicts_like_the_saved_one(trained: Trained) -> None:
    mlflow.set_tracking_uri(trained.uri)
    logged = mlflow.sklearn.load_model(f"runs:/{trained.run.info.run_id}/model")
    rows = pd.read_csv(sample_data_path()).drop(columns="species").head(20)
    saved = joblib.load(trained.model_file)
    assert logged.predict(rows).tolist() == saved.predict(rows).tolist()


def test_artifacts_go_beside_the_sqlite_store(trained: Trained) -> None:
    artifacts = trained.folder / "runs" / "mlartifacts"
    assert trained.run.info.artifact_uri.startswith(artifacts.resolve().as_uri())
    assert list(artifacts.rglob("MLmodel"))
    assert not (trained.folder / "mlruns").exists()


def test_metrics_json_is_logged_whole(trained: Trained) -> None:
    mlflow.set_tracking_uri(trained.uri)
    uri = f"{trained.run.info.artifact_uri}/metrics.json"
    assert mlflow.artifacts.load_dict(uri) == trained.metrics


def test_two_runs_can_be_compared(store: str, tmp_path: Path) -> None:
    for seed in (0, 1):
        train.train_and_save(sample_data_path(), tmp_path / "model.pkl", seed=seed)

    mlflow.set_tracking_uri(store)
    runs = mlflow.search_runs(experiment_names=[tracking.experiment_name()])
    assert sorted(runs["params.seed"]) == ["0", "1"]
    assert runs["metrics.accuracy"].notna().all()


class _Records(logging.Handler):
    """Keeps every record a logger lets through (after the logger's filters)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_logging_the_model_emits_no_pickle_warning(
    store: str, iris: pd.DataFrame
) -> None:
    """MLflow warns about every pickled scikit-learn model (mlflow.sklearn's
    logger); training pickles on purpose, so that warning never reaches the
    user, and the logger is left as it was."""
    model, metrics = train.train_model(iris)
    logger = logging.getLogger("mlflow.sklearn")
    filters = list(logger.filters)
    seen = _Records()
    logger.addHandler(seen)
    try:
        tracking.log_training_run(model, metrics, {"seed": 0})
    finally:
        logger.removeHandler(seen)
    warnings = [r.getMessage() for r in seen.records if r.levelno >= logging.WARNING]
    assert not any("pickle" in message for message in warnings), warnings
    assert logger.filters == filters


def test_without_a_tracking_uri_runs_go_to_the_project_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(tracking.TRACKING_URI_VARIABLE)

    assert tracking.tracking_uri() == f"sqlite:///{tracking.LOCAL_STORE}"
    assert tracking.LOCAL_STORE.parent == Path(__file__).resolve().parents[1]


def test_a_sas_token_never_becomes_a_parameter() -> None:
    source = "https://acct.blob.core.windows.net/c/data.csv?sv=2024&sig=secret"

    assert (
        tracking.data_param(source) == "https://acct.blob.core.windows.net/c/data.csv"
    )


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("https://user:token@host/mlflow?sig=x", "https://host/mlflow"),
        ("azureml://westeurope.api.azureml.ms/mlflow/v1.0", None),
    ],
)
def test_logged_tracking_uris_hold_no_secret(uri: str, shown: str | None) -> None:
    assert tracking._safe(uri) == (shown or uri)
