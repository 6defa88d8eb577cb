"""Azure ML's data collector in score.py, and the deployments that enable it.

score.py collects each scored request's input frame and its predictions with
``azureml-ai-monitoring``'s ``Collector`` where the deployment enables the
``model_inputs`` and ``model_outputs`` collections; elsewhere collection is
off and scoring is unchanged, and a failing collector never fails a request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
import pandas as pd
import pytest
from prerequisites import require_azureml_sdk

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.deployment import (
    score,
)

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
SCORE_STATE = (
    "model",
    "_features",
    "_feature_set",
    "_ignored",
    "_max_rows",
    "_positional",
    "_collectors",
    "_prediction_column",
)
# The environment variables through which Azure ML configures the collector.
MDC_VARIABLES = (
    "AZUREML_MDC_CONFIG_PATH",
    "AZUREML_MDC_ENABLED",
    "AZUREML_MDC_WORKER_DISABLED",
)


@pytest.fixture
def fresh_score(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The score module; its loaded model and collectors are restored after the test."""
    for name in SCORE_STATE:
        monkeypatch.setattr(score, name, getattr(score, name))
    for name in MDC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(score.TARGET_COLUMN_VARIABLE, "species")
    return score


def request(rows: list[list[float]] = ROWS) -> str:
    return json.dumps({"data": rows})


def expected_predictions(model_dir: Path, rows: list[list[float]] = ROWS) -> list[Any]:
    model = joblib.load(model_dir / "model.pkl")
    frame = pd.DataFrame(rows, columns=list(model.feature_names_in_))
    return np.asarray(model.predict(frame)).tolist()


class RecordingCollector:
    """Stands in for azureml.ai.monitoring.Collector: records what it is given."""

    collected: ClassVar[list[tuple[str, pd.DataFrame, Any]]] = []
    fail_collect: ClassVar[bool] = False

    def __init__(self, *, name: str, on_error: Any = None) -> None:
        self.name = name

    def collect(self, data: pd.DataFrame, correlation_context: Any = None) -> Any:
        if self.fail_collect:
            raise RuntimeError("the collector's queue is full")
        context = correlation_context or f"context-{len(self.collected)}"
        self.collected.append((self.name, data.copy(), correlation_context))
        return context


@pytest.fixture
def recording_collector(monkeypatch: pytest.MonkeyPatch) -> type[RecordingCollector]:
    """score.py's Collector replaced by RecordingCollector, with an empty record."""
    monkeypatch.setattr(RecordingCollector, "collected", [])
    monkeypatch.setattr(RecordingCollector, "fail_collect", False)
    monkeypatch.setattr(score, "Collector", RecordingCollector)
    return RecordingCollector


def test_without_the_package_collection_is_off_and_scoring_unchanged(
    fresh_score: Any, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where azureml-ai-monitoring is missing (v1, a bare laptop), run() answers as before."""
    monkeypatch.setattr(fresh_score, "Collector", None)

    fresh_score.init(trained_model_dir)

    assert fresh_score._collectors is None
    assert fresh_score.run(request()) == {
        "predictions": expected_predictions(trained_model_dir)
    }


def test_where_the_deployment_enables_no_collection_the_real_collector_is_off(
    fresh_score: Any, trained_model_dir: Path
) -> None:
    """Locally (no data_collector configured), the real Collector turns collection off."""
    fresh_score.init(trained_model_dir)

    assert fresh_score.Collector is not None  # the package is installed here
    assert fresh_score._collectors is None
    assert fresh_score.run(request()) == {
        "predictions": expected_predictions(trained_model_dir)
    }


def test_enabled_collection_gets_the_input_frame_and_predictions_correlated(
    fresh_score: Any,
    trained_model_dir: Path,
    recording_collector: type[RecordingCollector],
) -> None:
    """The inputs go to model_inputs; the predictions, with that call's context, to model_outputs."""
    fresh_score.init(trained_model_dir)

    answer = fresh_score.run(request())

    predictions = expected_predictions(trained_model_dir)
    assert answer == {"predictions": predictions}
    (inputs_name, inputs, no_context), (outputs_name, outputs, context) = (
        recording_collector.collected
    )
    assert (inputs_name, outputs_name) == ("model_inputs", "model_outputs")
    assert no_context is None
    assert context == "context-0"  # what the inputs' collect() returned
    features = list(joblib.load(trained_model_dir / "model.pkl").feature_names_in_)
    pd.testing.assert_frame_equal(
        inputs, pd.DataFrame(ROWS, columns=features), check_dtype=False
    )
    assert list(outputs.columns) == ["species"]
    assert outputs["species"].tolist() == predictions


def test_records_are_collected_as_the_features_in_training_order(
    fresh_score: Any,
    trained_model_dir: Path,
    recording_collector: type[RecordingCollector],
) -> None:
    """Objects per row are collected as the model's features, in training order."""
    fresh_score.init(trained_model_dir)
    features = fresh_score._features
    records = [
        dict(zip(reversed(features), reversed(row), strict=True)) for row in ROWS
    ]

    fresh_score.run(json.dumps({"data": records}))

    _, inputs, _ = recording_collector.collected[0]
    assert list(inputs.columns) == features
    assert inputs.to_numpy().tolist() == ROWS


def test_a_refused_request_is_not_collected(
    fresh_score: Any,
    trained_model_dir: Path,
    recording_collector: type[RecordingCollector],
) -> None:
    """Only scored requests are collected: a 400 sends nothing."""
    fresh_score.init(trained_model_dir)

    answer = fresh_score.run('{"data": []}')

    assert answer.status_code == 400
    assert recording_collector.collected == []


def test_a_failing_collector_never_fails_a_request(
    fresh_score: Any,
    trained_model_dir: Path,
    recording_collector: type[RecordingCollector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A collect() that raises is logged; the request still gets its predictions."""
    fresh_score.init(trained_model_dir)
    recording_collector.fail_collect = True

    with caplog.at_level(logging.WARNING, logger=fresh_score.__name__):
        answer = fresh_score.run(request())

    assert answer == {"predictions": expected_predictions(trained_model_dir)}
    assert "Data collection failed" in caplog.text
    assert "queue is full" in caplog.text


def test_a_collector_that_cannot_start_leaves_collection_off(
    fresh_score: Any, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Collector() that raises at init() turns collection off; the model still loads."""

    def broken(**_: Any) -> None:
        raise OSError("no collector sidecar")

    monkeypatch.setattr(fresh_score, "Collector", broken)

    fresh_score.init(trained_model_dir)

    assert fresh_score._collectors is None
    assert fresh_score.run(request()) == {
        "predictions": expected_predictions(trained_model_dir)
    }


@pytest.fixture
def enabled_real_collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """azureml-ai-monitoring enabled by its environment variables, its sender off.

    The payloads stay in the package's in-memory queue (nothing is sent);
    the package's process-wide state is torn down afterwards.
    """
    from azureml.ai.monitoring import init as mdc
    from azureml.ai.monitoring.queue import get_queue

    monkeypatch.setenv("AZUREML_MDC_ENABLED", "true")
    monkeypatch.setenv("AZUREML_MDC_WORKER_DISABLED", "true")
    mdc.teardown()
    yield get_queue
    mdc.teardown()


def test_the_real_collector_enabled_queues_correlated_inputs_and_outputs(
    fresh_score: Any, trained_model_dir: Path, enabled_real_collector: Any
) -> None:
    """With Microsoft's Collector enabled, one request queues two payloads of one correlation id."""
    fresh_score.init(trained_model_dir)
    assert fresh_score._collectors is not None

    answer = fresh_score.run(request())

    assert answer == {"predictions": expected_predictions(trained_model_dir)}
    queue = enabled_real_collector()
    assert queue.length() == 2
    inputs, _ = queue.dequeue()
    outputs, _ = queue.dequeue()
    assert (inputs.designation(), outputs.designation()) == (
        "model_inputs",
        "model_outputs",
    )
    assert inputs.correlation_id() == outputs.correlation_id()
    assert json.loads(inputs.content())[0] == dict(
        zip(fresh_score._features, ROWS[0], strict=True)
    )
    assert [row["species"] for row in json.loads(outputs.content())] == answer[
        "predictions"
    ]


# --- the deployments that enable it ------------------------------------------

require_azureml_sdk()

from {{ cookiecutter.module_name }}.deployment import (  # noqa: E402
    deploy,
)


@pytest.mark.azureml
@pytest.mark.usefixtures("azureml_variables_cleared")
@pytest.mark.parametrize("stage", ["qa", "prod"])
def test_deployments_enable_the_inputs_and_outputs_collections(stage: str) -> None:
    """QA's and Prod's deployments turn on model_inputs and model_outputs, and name the target."""
    deployment = deploy.build_deployment(stage, "12")

    collections = deployment.data_collector.collections
    assert {name: collections[name].enabled for name in collections} == {
        "model_inputs": "true",
        "model_outputs": "true",
    }
    assert deployment.environment_variables["TARGET_COLUMN"] == settings.TARGET_COLUMN
