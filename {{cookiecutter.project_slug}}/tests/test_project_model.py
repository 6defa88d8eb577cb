"""The project's model on the project's data, as settings.py names them.

These tests read settings.TRAINING_DATA, TARGET_COLUMN and TASK: after a team
switches them to its own data (and runs the sample_payload command), they
check that data. The tests of the template's code train on the bundled iris
sample instead, whatever the settings say.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import requests

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.deployment import (
    smoke_test,
)
from {{ cookiecutter.module_name }}.devtools import (
    sample_payload,
)

# training_frame, project_model_dir and project_scoring_uri (its server started
# with the session's first test) are in conftest.py.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


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


def test_the_smoke_test_payload_scores_on_the_project_model(
    project_scoring_uri: str,
) -> None:
    payload = smoke_test.load_payload(PROJECT_ROOT / sample_payload.PAYLOAD_FILE)
    predictions = smoke_test.smoke_test(project_scoring_uri, payload, timeout=30)
    assert len(predictions) == len(payload["data"])


def test_the_server_log_has_no_false_extra_keys_warning(
    project_scoring_uri: str, project_server_log: Path
) -> None:
    """deployment.local_server drops the server's warning about the variables
    it reads itself (AZUREML_ENTRY_SCRIPT, AZUREML_MODEL_DIR)."""
    payload = smoke_test.load_payload(PROJECT_ROOT / sample_payload.PAYLOAD_FILE)
    smoke_test.smoke_test(project_scoring_uri, payload, timeout=30)
    log = project_server_log.read_text(errors="replace")
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
