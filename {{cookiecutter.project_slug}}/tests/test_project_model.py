"""The project's model on the project's data, as settings.py names them.

These tests read settings.TRAINING_DATA, TARGET_COLUMN and TASK: after a team
switches them to its own data (and runs the sample_payload command), they
check that data. The tests of the template's code train on the bundled iris
sample instead, whatever the settings say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from inference_server import InferenceServerError, run_inference_server
from prerequisites import missing

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.data_ingestion import (
    DataIngestor,
    MissingCredentialsError,
)
from {{ cookiecutter.module_name }}.deployment import (
    score,
    smoke_test,
)
from {{ cookiecutter.module_name }}.devtools import (
    sample_payload,
)
from {{ cookiecutter.module_name }}.model_building import (
    train,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def training_frame() -> pd.DataFrame:
    """settings.TRAINING_DATA, read as the training reads it."""
    try:
        return DataIngestor(train.training_source()).get_df()
    except MissingCredentialsError as error:
        missing(
            f"the training data {settings.TRAINING_DATA}",
            str(error),
            "storage credentials in secrets.json or AZURE_STORAGE_* variables",
        )
        raise


@pytest.fixture(scope="module")
def project_model_dir(
    training_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """model.pkl and metrics.json, trained on the project's data."""
    folder = tmp_path_factory.mktemp("project-model")
    train.train_and_save(train.training_source(), folder / "model.pkl")
    return folder


def test_payload_matches_the_training_data(training_frame: pd.DataFrame) -> None:
    expected = sample_payload.render(sample_payload.payload_from(training_frame))
    actual = (PROJECT_ROOT / sample_payload.PAYLOAD_FILE).read_text(encoding="utf-8")
    assert actual == expected, f"run: {sample_payload.COMMAND} --write"


def test_payload_leaves_out_the_target(training_frame: pd.DataFrame) -> None:
    payload = smoke_test.load_payload(PROJECT_ROOT / sample_payload.PAYLOAD_FILE)
    for row in payload["data"]:
        assert settings.TARGET_COLUMN not in row


def test_metrics_fit_the_task(project_model_dir: Path) -> None:
    metrics = json.loads((project_model_dir / "metrics.json").read_text("utf-8"))
    assert metrics["task"] == settings.TASK
    expected = (
        {"rmse", "mae", "r2"}
        if settings.TASK == "regression"
        else {
            "accuracy",
            "precision",
            "recall",
            "f1",
            "roc_auc",
            "f1_macro",
            "balanced_accuracy",
            "per_class",
            "confusion_matrix",
            "baseline",
        }
    )
    assert set(metrics) >= expected


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server of project_scoring_uri writes its output."""
    return tmp_path_factory.mktemp("gunicorn") / "server.log"


@pytest.fixture(scope="module")
def project_scoring_uri(project_model_dir: Path, server_log: Path) -> Any:
    """score.py with the project's model in gunicorn on 127.0.0.1."""
    log_path = server_log
    try:
        with run_inference_server(
            Path(score.__file__).resolve(), project_model_dir, log_path
        ) as uri:
            yield uri
    except InferenceServerError as error:
        pytest.fail(str(error))


def test_the_smoke_test_payload_scores_on_the_project_model(
    project_scoring_uri: str,
) -> None:
    payload = smoke_test.load_payload(PROJECT_ROOT / sample_payload.PAYLOAD_FILE)
    predictions = smoke_test.smoke_test(project_scoring_uri, payload, timeout=30)
    assert len(predictions) == len(payload["data"])


def test_the_server_log_has_no_false_extra_keys_warning(
    project_scoring_uri: str, server_log: Path
) -> None:
    """deployment.local_server drops the server's warning about the variables
    it reads itself (AZUREML_ENTRY_SCRIPT, AZUREML_MODEL_DIR)."""
    payload = smoke_test.load_payload(PROJECT_ROOT / sample_payload.PAYLOAD_FILE)
    smoke_test.smoke_test(project_scoring_uri, payload, timeout=30)
    log = server_log.read_text(errors="replace")
    assert "Starting gunicorn" in log and "extra keys" not in log, log


def test_probabilities_on_request_follow_the_task(project_scoring_uri: str) -> None:
    payload = smoke_test.load_payload(PROJECT_ROOT / sample_payload.PAYLOAD_FILE)
    answer = requests.post(
        project_scoring_uri, json={**payload, "probabilities": True}, timeout=30
    )
    if settings.TASK == "regression":
        assert answer.status_code == 400
        assert "no class probabilities" in answer.json()["error"]
        return
    assert answer.status_code == 200, answer.text
    for row in answer.json()["probabilities"]:
        assert sum(row.values()) == pytest.approx(1.0)
